"""Negative controls for a project's own tests, which `tests/projects/test_project.py`
runs in an installed project: a project is rendered into a temp dir and its tests run
from the sources in this process (tests/helpers/projects.run_project_tests), after a
deliberate break of the algorithm: they must fail. (The runtime's whole runs, killed
and resumed, on several processes, are tested in tests/runtime/.)
"""

from __future__ import annotations

import re

import pytest

from tests.helpers.projects import break_file, run_project_tests, write_project


@pytest.mark.slow
def test_named_outputs_parity_detects_lost_per_output_loss_trackers(tmp_path):
    """A subclassed project with two named inputs and outputs: its parity test
    (per-output weights, `NAME_loss` logs, the regression output's target scaling
    set from data) passes, and fails when the step's loss skips the model's
    `compute_loss` (no target scaling), or when the step drops the metric state
    `compute_loss` returns (the per-output loss trackers live there; the total loss
    and the weights stay right)."""
    project = write_project(
        tmp_path,
        "named_probe",
        model_type="subclassed",
        outputs=("label:sparse_categorical_crossentropy", "box:mse:0.5"),
        inputs=("features:6", "image:4,3"),
        metrics=("label:accuracy", "box:mae"),
    )
    test = "tests/test_parity.py::test_same_as_builtin_steps_with_weights_per_output"
    code, output = run_project_tests(project, test, "-x")
    assert code == 0, output[-3000:]
    # The box head's target scaling (set from the data by the test's `build_with`):
    # a step whose loss skips the model's `compute_loss` (`TargetScaling`: the loss
    # on standardized targets) trains on the targets' units, and the test sees it.
    steps = project / "src" / "named_probe" / "steps.py"
    original = steps.read_text()
    break_file(
        steps, "loss = self.compute_loss(", "loss = keras.Model.compute_loss(self, "
    )
    code, output = run_project_tests(project, test, "-x")
    assert code == 1, output[-3000:]
    assert "Not equal to tolerance" in output, output[-3000:]
    steps.write_text(original)
    break_file(
        steps,
        "        ]\n        metrics_variables = [scope.get_current_value(v) "
        "for v in self.metrics_variables]\n\n        unscaled_loss",
        "        ]\n        metrics_variables = list(metrics_variables)"
        "\n\n        unscaled_loss",
    )
    code, output = run_project_tests(project, test, "-x")
    assert code == 1, output[-3000:]
    assert "1 failed" in output and "Not equal to tolerance" in output, output[-3000:]
    assert re.search(r"\b(label|box)_loss\b", output), output[-3000:]

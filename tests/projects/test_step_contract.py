"""A project's tests/test_step_contract.py: it passes on a fresh project of every kind
of recipe, and fails on a planted mistake (tests/helpers/check_plants.py) in the
project's steps.py or model.py, in that check's test only (a warning's plant passes
with a pytest warning); its determinism and save/load tests fail on their own mistakes.

The project's tests run in this process (pytest.main, its src on sys.path); the recipe
projects' whole suites, the contract included, run installed in tests/generated/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from keras_jax_scaffold.runtime import contract

from tests.helpers.check_plants import NEEDS, PLANT_INDEX, planted
from tests.helpers.projects import break_file, run_project_tests, write_project


def run_contract_tests(project: Path, *args: str, test: str = "") -> tuple[int, str]:
    """pytest on the project's tests/test_step_contract.py (its function ``test``
    only, if given): (exit code, output)."""
    node = "tests/test_step_contract.py" + (f"::{test}" if test else "")
    return run_project_tests(project, node, *args)


@pytest.mark.slow
# The other recipes' projects run their whole suites installed, the step contract
# included: tests/generated/test_recipes.py (gradient-accumulation, clip-gradients, sam,
# custom-trackers), test_multi_network_recipes.py (gan, vae, distillation, wgan-gp),
# test_mixup_adversarial.py (mixup, adversarial) and test_optax.py.
@pytest.mark.parametrize("recipe", ["default"])
def test_a_fresh_project_passes_its_step_contract(tmp_path, recipe):
    name = f"contract_{recipe}"
    project = write_project(tmp_path, name, recipe=recipe, **NEEDS.get(recipe, {}))
    code, output = run_contract_tests(project)
    assert code == 0, output
    assert "failed" not in output and "warning" not in output.lower(), output


# Every plant (19, at least one per check) is caught by the same contract code in
# tests/runtime/test_contract.py, in this process, naming its check. What a project
# adds is its test file: one test per check id, which fails on that check's errors
# only and turns its warnings into pytest warnings. Three plants show it: an error in
# steps.py, an error in model.py, a warning.
PROJECT_PLANTS = tuple(
    PLANT_INDEX[name]
    for name in ("step-raises", "copy-shares-a-buffer", "gradient-zeroed")
)


def test_the_project_plants_cover_both_files_and_severities():
    assert {(plant.file, plant.severity) for plant in PROJECT_PLANTS} == {
        ("steps", "error"),
        ("model", "error"),
        ("steps", "warning"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("plant", PROJECT_PLANTS, ids=lambda plant: plant.name)
def test_the_step_contract_fails_on_a_planted_mistake(tmp_path, plant):
    name = f"planted_{plant.name.replace('-', '_')}"
    project = write_project(tmp_path, name)
    path = project / "src" / name / f"{plant.file}.py"
    path.write_text(planted(path.read_text(encoding="utf-8"), plant), encoding="utf-8")
    code, output = run_contract_tests(project, test="test_step_contract")
    checks = len(contract.CHECKS)
    summary = output.strip().splitlines()[-1]
    if plant.severity == "warning":
        assert code == 0, output
        assert f"[{plant.check}]" in output and "warning" in output, output
        assert summary.startswith(f"{checks} passed, 1 warning"), output
    else:
        # Its own check's test fails, and only that one.
        assert code == 1, output
        failed = re.findall(
            r"^_+ test_step_contract\[(\S+)\] _+$", output, re.MULTILINE
        )
        assert failed == [plant.check], output
        assert summary.startswith(f"1 failed, {checks - 1} passed"), output


@pytest.mark.slow
def test_determinism_and_save_load_tests_fail_on_their_mistakes(tmp_path):
    name = "unseeded"
    project = write_project(tmp_path, name)
    steps = project / "src" / name / "steps.py"
    # Randomness that keras.utils.set_random_seed does not seed (it seeds np.random).
    source = planted(steps.read_text(), PLANT_INDEX["numpy-randomness-in-the-step"])
    steps.write_text(
        source.replace("np.random.normal(", "np.random.default_rng().normal(")
    )
    # A model class Keras cannot find when loading.
    break_file(
        project / "src" / name / "model.py",
        f'@keras.saving.register_keras_serializable(package="{name}")\n',
        "",
    )
    code, output = run_contract_tests(project, "-k", "seed or round_trip")
    assert code == 1, output
    assert "2 failed" in output, output

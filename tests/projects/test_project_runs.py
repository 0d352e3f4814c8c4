"""A generated project's training runs (issue 13): negative controls for the project's
own tests, which `tests/projects/test_project.py` runs in an installed project.

A project is rendered into a temp dir and its tests run from the sources
(`PYTHONPATH=src`) in a subprocess, after a deliberate break of the algorithm: they
must fail.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SCRIPTS
from tests.helpers.projects import break_file, write_project


def run_project_tests(project: Path, *selection: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = str(project / "src")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        + ["-p", "no:xdist", "-p", "no:randomly", *selection],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_steps_per_execution_parity_detects_a_wrong_scan(tmp_path):
    """Scanning the batches of an execution in reverse order is caught."""
    project = write_project(tmp_path)
    break_file(
        project / "src" / "runs_probe" / "model.py",
        "jax.lax.scan(body, state, stacked)",
        "jax.lax.scan(body, state, stacked, reverse=True)",
    )
    completed = run_project_tests(
        project,
        "tests/test_parity.py::test_same_as_builtin_with_steps_per_execution[4]",
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "1 failed" in output and "Not equal to tolerance" in output, output[-3000:]


@pytest.mark.slow
def test_named_outputs_parity_detects_lost_per_output_loss_trackers(tmp_path):
    """A subclassed project with two named inputs and outputs: its parity test
    (per-output weights, `NAME_loss` logs) passes, and fails when the step drops
    the metric state `compute_loss` returns (the per-output loss trackers live
    there; the total loss and the weights stay right)."""
    project = write_project(
        tmp_path,
        "named_probe",
        model_type="subclassed",
        outputs=("label:sparse_categorical_crossentropy", "box:mse:0.5"),
        inputs=("features:6", "image:4,3"),
        metrics=("label:accuracy", "box:mae"),
    )
    test = "tests/test_parity.py::test_same_as_builtin_steps_with_weights_per_output"
    completed = run_project_tests(project, test)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    break_file(
        project / "src" / "named_probe" / "steps.py",
        "        ]\n        metrics_variables = [scope.get_current_value(v) "
        "for v in self.metrics_variables]\n\n        unscaled_loss",
        "        ]\n        metrics_variables = list(metrics_variables)"
        "\n\n        unscaled_loss",
    )
    completed = run_project_tests(project, test)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "1 failed" in output and "Not equal to tolerance" in output, output[-3000:]
    assert re.search(r"\b(label|box)_loss\b", output), output[-3000:]


# `train.main` of the project `runs_probe`, with hooks that SIGKILL it (see the script).
KILLABLE_RUN = SCRIPTS / "killable_run.py"


def train_command(work: Path, *extra: str) -> list[str]:
    # 36 samples in batches of 8: 5 steps per epoch, the last batch has 4 samples.
    return [
        sys.executable, str(KILLABLE_RUN), "--epochs", "2", "--batch-size", "8",
        "--num-samples", "36", "--steps-per-execution", "1", "--verbose", "0",
        "--backup-every", "2", "--backup-dir", str(work / "backup"), *extra,
    ]  # fmt: skip


def run_train(project: Path, command: list[str], **env_extra: str):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", **env_extra)
    env["PYTHONPATH"] = str(project / "src")
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=600, check=False
    )


def backup_arrays(work: Path) -> dict:
    """Every array of the newest backup: it must always be a complete file."""
    import numpy as np

    with np.load(work / "backup" / "backup.npz") as archive:
        return {name: archive[name] for name in archive.files}


@pytest.mark.slow
def test_shard_workers_parity_detects_keras_enqueuer_order(tmp_path):
    """Reading with Keras's own `PyDataset(workers=2)` enqueuer instead of the
    project's read-ahead threads is caught by the project's shard test: the enqueuer
    serves batches read before a stop first after the next start."""
    project = write_project(tmp_path)
    break_file(
        project / "src" / "runs_probe" / "data.py",
        "super().__init__()",
        "super().__init__(workers=max(workers, 1))",
    )
    completed = run_project_tests(
        project,
        "tests/test_smoke.py::test_npy_shards_train_like_the_same_data_in_memory",
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "1 failed" in output and "workers" in output, output[-3000:]
    assert "Mismatched elements" in output, output[-3000:]


@pytest.mark.slow
def test_killed_runs_resume_exactly(tmp_path):
    """Killed at several points and resumed, with `--workers 2` reading ahead: the
    final state equals an uninterrupted run's without workers."""
    import numpy as np

    project = write_project(tmp_path)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    done = run_train(
        project, train_command(clean), FINAL_STATE=str(clean / "final.npz")
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (clean / "backup" / "backup.npz").exists()  # removed when complete

    # Killed after step 3 (newest backup: epoch 1 after step 2); then halfway
    # through the 2nd backup of the rerun (the epoch-end one; newest: step 4);
    # then at the 4th step of the next rerun (epoch 2, step 3; newest: step 2).
    for hook, value, newest in (
        ("KILL_AT_STEP", "3", (0, 2)),
        ("KILL_IN_WRITE", "2", (0, 4)),
        ("KILL_AT_STEP", "4", (1, 2)),
    ):
        result = run_train(
            project,
            train_command(killed, "--workers", "2"),
            **{hook: value, "FINAL_STATE": "unused"},
        )
        assert result.returncode == -9, (hook, result.stderr[-3000:])
        arrays = backup_arrays(killed)
        assert (int(arrays["epoch"]), int(arrays["step"])) == newest, hook
        if hook == "KILL_IN_WRITE":  # the torn write is there, but not the newest
            assert (killed / "backup" / ".backup.npz.partial").exists()
    final = killed / "final.npz"
    result = run_train(
        project, train_command(killed, "--workers", "2"), FINAL_STATE=str(final)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from" in result.stdout and "epoch 2, after step 2" in result.stdout

    with np.load(clean / "final.npz") as a, np.load(final) as b:
        assert sorted(a.files) == sorted(b.files)
        assert any(name.startswith("non_trainable") for name in a.files)
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.slow
def test_resume_negative_control_restarting_the_epoch_differs(tmp_path):
    """Restarting the interrupted epoch from its first batch (what Keras's
    BackupAndRestore does) is detected: the final weights differ."""
    import numpy as np

    project = write_project(tmp_path)
    break_file(
        project / "src" / "runs_probe" / "train.py",
        "initial_epoch, first_batch = restored",
        "initial_epoch, first_batch = restored[0], 0",
    )
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    done = run_train(
        project, train_command(clean), FINAL_STATE=str(clean / "final.npz")
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = run_train(
        project, train_command(killed), KILL_AT_STEP="3", FINAL_STATE="x"
    )
    assert result.returncode == -9
    final = killed / "final.npz"
    result = run_train(project, train_command(killed), FINAL_STATE=str(final))
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(clean / "final.npz") as a, np.load(final) as b:
        assert not np.array_equal(a["optimizer_0"], b["optimizer_0"])  # iterations
        assert not np.array_equal(a["trainable_0"], b["trainable_0"])


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_the_last_good_backup(tmp_path):
    import numpy as np

    project = write_project(tmp_path)
    sys.path.insert(0, str(project / "src"))
    work = tmp_path / "nan"
    work.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(36, 16)).astype("float32")
    y = rng.integers(0, 3, size=36).astype("int32")
    # The sample that comes first in the 3rd batch (steps 1 and 2 are fine).
    order = np.random.default_rng([0, 0]).permutation(36)
    x[order[16], 0] = np.nan
    np.savez(work / "data.npz", x=x, y=y)
    command = train_command(work, "--data", str(work / "data.npz"))
    result = run_train(project, command, FINAL_STATE="unused")
    assert result.returncode == 1, result.stderr[-3000:]
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: the loss became nan in epoch 1 (by batch 3)"), error
    assert str(work / "backup" / "backup.npz") in error
    arrays = backup_arrays(work)
    assert (int(arrays["epoch"]), int(arrays["step"])) == (0, 2)
    assert all(np.all(np.isfinite(arrays[n])) for n in arrays if n.startswith("train"))


def test_non_finite_stop_watches_the_losses_the_recipe_logs(tmp_path):
    """The gan logs `d_loss` and `g_loss` and no `loss`: a non-finite one of them
    stops training (the stop used to watch only `loss`, which it never saw)."""
    import importlib
    import types

    project = write_project(
        tmp_path,
        "nan_gan",
        recipe="gan",
        model_type="functional",
        loss="bce",
        metrics=(),
    )
    sys.path.insert(0, str(project / "src"))
    try:
        train = importlib.import_module("nan_gan.train")
    finally:
        sys.path.remove(str(project / "src"))
    assert train.LOSS_LOGS == ["d_loss", "g_loss"]
    guard = train.StopOnNonFinite()
    guard.set_model(types.SimpleNamespace(stop_training=False))
    guard.on_epoch_begin(1)
    guard.on_train_batch_end(0, {"d_loss": 0.7, "g_loss": 0.6})
    assert guard.stopped is None and not guard.model.stop_training
    guard.on_train_batch_end(1, {"d_loss": 0.7, "g_loss": float("nan")})
    assert guard.model.stop_training
    epoch, batch, key, loss = guard.stopped
    assert (epoch, batch, key) == (1, 1, "g_loss") and math.isnan(loss)

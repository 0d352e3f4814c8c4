"""`runtime.backup` through a rendered default project's `train`: killed with SIGKILL
at several points (also halfway through writing a backup) and run again, training goes
on exactly as if never interrupted; restarting the interrupted epoch from its first
batch, as Keras's `BackupAndRestore` does, is caught (negative control). The runs are
fresh processes (`tests/scripts/killable_run.py`); a backup of another run, or one
that cannot be read, is one error line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from keras_jax_scaffold.runtime.backup import Backup, StopOnNonFinite

from tests.helpers import SCRIPTS
from tests.helpers.projects import break_file, write_project

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
    with np.load(work / "backup" / "backup.npz") as archive:
        return {name: archive[name] for name in archive.files}


def uninterrupted(project: Path, work: Path) -> Path:
    """The final state of the run never killed; the backup is gone at its end."""
    done = run_train(project, train_command(work), FINAL_STATE=str(work / "final.npz"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (work / "backup" / "backup.npz").exists()  # removed when complete
    return work / "final.npz"


@pytest.mark.slow
def test_killed_runs_resume_exactly(tmp_path):
    """Killed at several points and resumed, with `--workers 2` reading ahead: the
    final state equals an uninterrupted run's without workers."""
    project = write_project(tmp_path)
    clean, killed = uninterrupted(project, tmp_path / "clean"), tmp_path / "killed"
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

    with np.load(clean) as a, np.load(final) as b:
        assert sorted(a.files) == sorted(b.files)
        assert any(name.startswith("non_trainable") for name in a.files)
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.slow
def test_resume_negative_control_restarting_the_epoch_differs(tmp_path):
    """Restarting the interrupted epoch from its first batch (what Keras's
    BackupAndRestore does) is detected: the final weights differ."""
    project = write_project(tmp_path)
    break_file(
        project / "src" / "runs_probe" / "runtime" / "run.py",
        "initial_epoch, first_batch = self.restored",
        "initial_epoch, first_batch = self.restored[0], 0",
    )
    clean, killed = uninterrupted(project, tmp_path / "clean"), tmp_path / "killed"
    result = run_train(
        project, train_command(killed), KILL_AT_STEP="3", FINAL_STATE="x"
    )
    assert result.returncode == -9
    final = killed / "final.npz"
    result = run_train(project, train_command(killed), FINAL_STATE=str(final))
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(clean) as a, np.load(final) as b:
        assert not np.array_equal(a["optimizer_0"], b["optimizer_0"])  # iterations
        assert not np.array_equal(a["trainable_0"], b["trainable_0"])


def test_a_backup_of_another_run_or_unreadable_is_one_error_line(tmp_path):
    options = {"seed": 0, "batch_size": 8, "epochs": 2}
    backup = Backup(tmp_path, 2, options, StopOnNonFinite())
    assert backup.read() is None  # nothing to resume
    np.savez(
        tmp_path / "backup.npz",
        epoch=np.int64(1),
        step=np.int64(3),
        option_seed=np.int64(0),
        option_batch_size=np.int64(16),
        option_epochs=np.int64(2),
    )
    with pytest.raises(SystemExit) as exit_info:
        backup.read()
    assert exit_info.value.code == (
        f"error: {tmp_path / 'backup.npz'} is a backup of a run with --batch-size 16, "
        "not 8; run with the same options or use another --backup-dir"
    )
    assert Backup(tmp_path, 2, {**options, "batch_size": 16}, None).read() == (1, 3)
    (tmp_path / "backup.npz").write_bytes(b"PK\x03\x04 torn")
    with pytest.raises(SystemExit) as exit_info:
        backup.read()
    text = exit_info.value.code
    assert text.startswith(f"error: {tmp_path / 'backup.npz'}: cannot read the backup")
    assert text.endswith("remove it to start over") and "\n" not in text

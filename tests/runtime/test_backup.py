"""`runtime.backup` through a rendered default project's `train`: killed with SIGKILL
at several points (also halfway through writing a backup) and run again, training goes
on exactly as if never interrupted; restarting the interrupted epoch from its first
batch, as Keras's `BackupAndRestore` does, is caught (negative control). The runs are
fresh processes (`tests/scripts/killable_run.py`); a backup of another run, or one
that cannot be read, is one error line. In-process: the StopIteration a backup after
an epoch's last step caused, resuming from every boundary of an epoch (bit-identical
to the uninterrupted run, CSV log included), backups at exact steps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras_jax_scaffold.runtime.backup import Backup, StopOnNonFinite

from tests.helpers import SCRIPTS, small_model
from tests.helpers.projects import break_file, write_project

# `train.main` of the project `runs_probe`, with hooks that SIGKILL it (see the script).
KILLABLE_RUN = SCRIPTS / "killable_run.py"


def train_command(work: Path, *extra: str) -> list[str]:
    # 36 samples in batches of 8: 5 steps per epoch, the last batch has 4 samples.
    return [
        sys.executable, str(KILLABLE_RUN), "--epochs", "2", "--batch-size", "8",
        "--num-samples", "36", "--steps-per-execution", "1", "--verbose", "0",
        "--backup-every", "2", "--backup-dir", str(work / "backup"),
        "--output-dir", str(work / "run"), *extra,
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
    assert not (work / "backup").exists()  # removed when complete
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


# In-process resumes (no kill: the backups an uninterrupted run wrote are put back
# one at a time) from every boundary of an epoch.


def backup_run(output, *argv, restore=None):
    """A run of the small model (36 samples in batches of 8: 5 steps per epoch, the
    last of 4 samples; 12 validation samples; 2 epochs) with a backup every step;
    `restore`: `(backup bytes, CSV text or None)` put in place first, as a killed
    run leaves them. Returns the final state, the CSV log and every backup written,
    by `(epoch, step)`, with the CSV log as it was then."""
    from keras_jax_scaffold.runtime import run

    args = small_model.options(
        "--epochs", 2, "--batch-size", 8, "--verbose", 0, "--backup-every", 1,
        "--output-dir", output, "--validation-data", "given", *argv,
    )  # fmt: skip
    if restore is not None:
        args.backup_dir.mkdir(parents=True)
        (args.backup_dir / "backup.npz").write_bytes(restore[0])
        if restore[1] is not None:
            args.csv_log.write_text(restore[1])
    written = {}
    save = Backup.save

    def record(self, epoch, step):
        save(self, epoch, step)
        log = args.csv_log.read_text() if args.csv_log.is_file() else None
        written[(epoch, step)] = (self.path.read_bytes(), log)

    Backup.save = record
    try:
        keras.backend.clear_session()
        model = small_model.build()
        training = run.TrainingRun(args)
        training.fit(
            model, small_model.make_data(36), small_model.make_data(12, seed=5),
            0, training.callbacks(),
        )  # fmt: skip
        training.finish(model)
    finally:
        Backup.save = save
    assert not (args.backup_dir / "backup.npz").exists()
    return small_model.state(model), args.csv_log.read_text(), written


def as_last_step_of_epoch_one(backup):
    """The epoch-end backup of epoch 1 rewritten as the backup after its last step
    (epoch 0, step 5): what `Backup` wrote before the fix, when a kill came before
    the epoch-end backup replaced it."""
    import io

    with np.load(io.BytesIO(backup)) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["epoch"], arrays["step"] = np.int64(0), np.int64(5)
    del arrays["stopped"]  # nor had it this
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_the_crash_a_backup_after_an_epochs_last_step_resumed_no_batch():
    """The mechanism of the reported StopIteration: resuming epoch 1 after its
    last step (5 of 5) leaves the epoch no batch, and `fit` fails."""
    from keras_jax_scaffold.runtime.batches import EpochBatches

    batches = EpochBatches(small_model.make_data(36), 8, 0, first_batch=5)
    assert batches.num_batches == 0
    with pytest.raises(StopIteration):
        small_model.build().fit(batches, epochs=1, verbose=0)


@pytest.mark.slow
def test_resume_from_every_boundary_is_bit_identical(tmp_path, capsys):
    """From a backup after the first step, in the middle of an epoch, after an
    epoch's last step (the old backup), at an epoch's end and at the last epoch's
    end: the final state and the CSV log are those of the uninterrupted run."""
    state, log, written = backup_run(tmp_path / "whole")
    # No backup is written after an epoch's last step: the epoch-end one follows.
    assert sorted(written) == [(0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 1),
                               (1, 2), (1, 3), (1, 4), (2, 0)]  # fmt: skip
    header, _, second = log.splitlines()
    boundaries = {
        "first step": written[(0, 1)],
        "mid-epoch": written[(0, 3)],
        "last step of an epoch": (as_last_step_of_epoch_one(written[(1, 0)][0]), None),
        "epoch end": written[(1, 0)],
        "last epoch's end": written[(2, 0)],
    }
    for name, restore in boundaries.items():
        capsys.readouterr()
        mine, my_log, _ = backup_run(tmp_path / name, restore=restore)
        for key, value in state.items():
            np.testing.assert_array_equal(mine[key], value, err_msg=f"{name}: {key}")
        out = capsys.readouterr().out
        if name == "last step of an epoch":
            # Epoch 1's training is complete, its validation and log row are not.
            assert my_log.splitlines() == [header, second], name
            assert "note: the backup was written after the last step of epoch 1" in out
        else:
            assert my_log == log, name
        assert "resuming from" in out, name


@pytest.mark.slow
def test_backups_at_exact_steps_keep_the_weights(tmp_path):
    """--backup-every 3 with --steps-per-execution 4 (9 steps per epoch): backups
    after steps 3 and 6 and at the epoch end, the steps per execution become 3, and
    the weights are those of a run with 4 and no backup. Negative control: with 4
    steps per execution, the backups land at 4 and 8."""
    from keras_jax_scaffold.runtime import run

    def one_epoch(output, *argv, unaligned=False):
        args = small_model.options(
            "--epochs", 1, "--batch-size", 4, "--verbose", 0,
            "--steps-per-execution", 4, "--output-dir", output, *argv,
        )  # fmt: skip
        if unaligned:
            args.steps_per_execution = 4
        steps = []
        save = Backup.save

        def record(self, epoch, step):
            steps.append((epoch, step))
            save(self, epoch, step)

        Backup.save = record
        try:
            keras.backend.clear_session()
            model = small_model.build(steps_per_execution=args.steps_per_execution)
            training = run.TrainingRun(args)
            training.fit(model, small_model.make_data(36), None, 0)
        finally:
            Backup.save = save
        return steps, small_model.state(model), args

    steps, state, args = one_epoch(tmp_path / "a", "--backup-every", "3")
    assert steps == [(0, 3), (0, 6), (1, 0)] and args.steps_per_execution == 3
    plain_steps, plain, _ = one_epoch(tmp_path / "b")
    assert plain_steps == []
    for key, value in plain.items():
        np.testing.assert_array_equal(state[key], value, err_msg=key)
    steps, _, _ = one_epoch(tmp_path / "c", "--backup-every", "3", unaligned=True)
    assert steps == [(0, 4), (0, 8), (1, 0)]


@pytest.mark.slow
def test_negative_control_a_restore_only_when_an_epoch_begins_misses_a_run_over(
    tmp_path,
):
    """Restoring a backup only when an epoch begins (as before): the backup of the
    last epoch's end (no epoch left to run) leaves the fresh model's weights."""
    state, _, written = backup_run(tmp_path / "whole")
    original = Backup.on_train_begin
    Backup.on_train_begin = keras.callbacks.Callback.on_train_begin
    try:
        mine, _, _ = backup_run(tmp_path / "over", restore=written[(2, 0)])
    finally:
        Backup.on_train_begin = original
    assert not np.array_equal(mine["trainable_0"], state["trainable_0"])

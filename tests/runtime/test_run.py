"""`runtime.run`: the callbacks the options ask for, resuming from a checkpoint, the
training run (`TrainingRun.fit`: the epochs' batches, a non-finite loss) and its
closing summary."""

from __future__ import annotations

import argparse

import keras
import numpy as np
import pytest
from keras_jax_scaffold.runtime import options, run
from keras_jax_scaffold.runtime.backup import StopOnNonFinite

from tests.helpers import small_model

DEFAULTS = {
    "prog": "net-train",
    "description": "Train Net.",
    "learning_rate": 0.01,
    "steps_per_execution": 1,
    "dtype_policy": "float32",
}


def parse(*argv):
    return options.parse_args([str(a) for a in argv], **DEFAULTS)


def test_option_callbacks(tmp_path):
    assert run.option_callbacks(parse(), validation=False) == []
    args = parse("--early-stopping", "2", "--checkpoint-dir", tmp_path / "ck")
    args.csv_log = tmp_path / "logs" / "train.csv"
    checkpoint, log, stopping = run.option_callbacks(args, validation=True)
    assert checkpoint.filepath == str(tmp_path / "ck" / "epoch_{epoch:03d}.keras")
    assert (tmp_path / "ck").is_dir() and (tmp_path / "logs").is_dir()
    assert not log.append
    assert stopping.monitor == "val_loss" and stopping.patience == 2
    assert stopping.restore_best_weights
    _, _, stopping = run.option_callbacks(args, validation=False)
    assert stopping.monitor == "loss"
    # The CSV log goes on with a resumed run: from a checkpoint or from a backup.
    assert run.option_callbacks(args, True, resuming=True)[1].append
    args.resume = tmp_path / "epoch_003.keras"
    assert run.option_callbacks(args, True)[1].append


def test_resuming_from_a_checkpoint(tmp_path):
    model = small_model.build()
    model.save(tmp_path / "epoch_003.keras")
    args = parse("--resume", tmp_path / "epoch_003.keras", "--epochs", "5")
    args.steps_per_execution, args.learning_rate = 4, 0.5
    loaded, epoch = run.load_checkpoint(args)
    assert epoch == 3 and loaded.steps_per_execution == 4
    assert float(loaded.optimizer.learning_rate) == 0.5
    args.initial_epoch = 1
    assert run.load_checkpoint(args)[1] == 1
    model.save(tmp_path / "other.keras")
    assert run.resume_epoch(parse("--resume", tmp_path / "other.keras")) == 0

    cases = [
        (("--epochs", "3"), "epoch_003.keras is at epoch 3; pass --epochs greater"),
        (("--resume", tmp_path / "nothing.keras"), "nothing.keras: no such checkpoint"),
    ]
    for argv, message in cases:
        args = parse("--resume", tmp_path / "epoch_003.keras", *argv)
        with pytest.raises(SystemExit) as exit_info:
            run.load_checkpoint(args)
        assert exit_info.value.code.startswith("error: ")
        assert message in exit_info.value.code


def test_report(capsys, tmp_path):
    history = keras.callbacks.History()
    history.epoch = [0, 1]
    history.history = {"val_loss": [2.0, 1.5], "loss": [1.0, 0.25], "acc": [0.5, 0.75]}
    args = parse("--checkpoint-dir", tmp_path)
    run.TrainingRun(args).report(history)
    assert capsys.readouterr().out.splitlines() == [
        "epoch 2: loss=0.2500 acc=0.7500 val_loss=1.5000",
        f"checkpoints: {tmp_path}",
    ]


def test_non_finite_loss_stops_on_the_losses_the_model_logs():
    """A gan logs `d_loss` and `g_loss` and no `loss`: the stop watches those."""
    guard = StopOnNonFinite(["d_loss", "g_loss"])
    guard.set_model(argparse.Namespace(stop_training=False))
    guard.on_epoch_begin(1)
    guard.on_train_batch_end(0, {"d_loss": 0.7, "g_loss": 0.6, "loss": float("nan")})
    assert guard.stopped is None and not guard.model.stop_training
    guard.on_train_batch_end(1, {"d_loss": 0.7, "g_loss": float("inf")})
    assert guard.model.stop_training
    assert guard.stopped == (1, 1, "g_loss", float("inf"))


@pytest.mark.slow
def test_training_run_stops_on_a_non_finite_loss_and_keeps_the_last_good_backup(
    tmp_path,
):
    """A NaN in the 3rd batch stops `fit` after it, with a one-line error naming the
    last good backup (after step 2: a backup every 2 steps), which stays whole."""
    x, y, _ = small_model.make_data(36)
    order = np.random.default_rng([0, 0]).permutation(36)  # epoch 0, seed 0
    x[order[16], 0] = np.nan  # the first sample of the 3rd batch
    args = parse("--batch-size", 8, "--epochs", 2, "--verbose", 0)
    model = small_model.build()
    with pytest.raises(SystemExit) as exit_info:
        run.TrainingRun(args).fit(model, (x, y, None))
    assert exit_info.value.code == (
        "error: the loss became nan in epoch 1 (by batch 3); stopped, no backup was "
        "written (see --backup-every)"
    )
    assert int(model.optimizer.iterations.numpy()) == 3

    keras.backend.clear_session()
    args = parse("--batch-size", 8, "--epochs", 2, "--verbose", 0)
    args.backup_every, args.backup_dir = 2, tmp_path
    with pytest.raises(SystemExit) as exit_info:
        run.TrainingRun(args).fit(small_model.build(), (x, y, None))
    assert exit_info.value.code.endswith(
        f"stopped, the last good backup is {tmp_path / 'backup.npz'}"
    )
    with np.load(tmp_path / "backup.npz") as backup:
        assert (int(backup["epoch"]), int(backup["step"])) == (0, 2)
        assert all(np.all(np.isfinite(backup[name])) for name in backup.files)


@pytest.mark.slow
def test_training_run_feeds_the_epochs_batches():
    """`TrainingRun.fit` trains on each epoch's order of (seed, epoch), with the
    validation data as given: the same as `fit` on those batches by hand."""
    from keras_jax_scaffold.runtime.batches import EpochBatches, EpochOrder

    x, y, weights = small_model.make_data(40)
    args = parse("--batch-size", "8", "--epochs", "3", "--verbose", "0", "--seed", 4)
    validation = small_model.make_data(8, seed=2)
    history = run.TrainingRun(args).fit(
        small_model.build(), (x, y, weights), validation
    )
    mine = small_model.state(history.model)

    keras.backend.clear_session()
    model = small_model.build()
    batches = EpochBatches((x, y, weights), 8, seed=4)
    by_hand = model.fit(
        batches, epochs=3, validation_data=validation, shuffle=False, verbose=0,
        callbacks=[EpochOrder(batches)],
    )  # fmt: skip
    assert history.history == by_hand.history
    for name, value in small_model.state(model).items():
        np.testing.assert_array_equal(mine[name], value, name)

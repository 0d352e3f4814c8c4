"""`runtime.run`: the callbacks the options ask for, resuming from a checkpoint, the
training run (`TrainingRun.fit`: the epochs' batches, a non-finite loss). Its files
and closing summary: test_results.py."""

from __future__ import annotations

import argparse

import keras
import numpy as np
import pytest
from keras_jax_scaffold.runtime import run
from keras_jax_scaffold.runtime.backup import StopOnNonFinite

from tests.helpers import small_model


def parse(*argv):
    return small_model.options(*argv)


def test_the_callbacks_of_the_options(tmp_path):
    """The CSV log always; checkpoints with --checkpoint-every; the best model with
    validation (or --monitor, --early-stopping), then early stopping watches it."""
    output = ("--output-dir", tmp_path)
    (log,) = run.TrainingRun(parse(*output)).callbacks()
    assert log.path == tmp_path / "history.csv"
    args = parse(*output, "--early-stopping", 2, "--checkpoint-every", 3,
                 "--validation-split", 0.2)  # fmt: skip
    best, checkpoints, log = run.TrainingRun(args).callbacks()
    assert (checkpoints.directory, checkpoints.every) == (tmp_path / "checkpoints", 3)
    assert (best.monitor, best.mode, best.patience) == ("val_loss", "auto", 2)
    assert best.path == tmp_path / "best.keras"
    best, _ = run.TrainingRun(parse(*output, "--monitor", "acc:max")).callbacks()
    assert (best.monitor, best.mode, best.patience) == ("acc", "max", None)


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
    args = parse("--resume", tmp_path / "other.keras", "--epochs", "5")
    assert run.load_checkpoint(args)[1] == 0

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
    args = parse("--batch-size", 8, "--epochs", 2, "--verbose", 0,
                 "--output-dir", tmp_path)  # fmt: skip
    model = small_model.build()
    with pytest.raises(SystemExit) as exit_info:
        run.TrainingRun(args).fit(model, (x, y, None))
    assert exit_info.value.code == (
        "error: the loss became nan in epoch 1 (by batch 3); stopped, no backup was "
        "written (see --backup-every)"
    )
    assert int(model.optimizer.iterations.numpy()) == 3

    keras.backend.clear_session()
    args = parse("--batch-size", 8, "--epochs", 2, "--verbose", 0,
                 "--output-dir", tmp_path)  # fmt: skip
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
def test_training_run_feeds_the_epochs_batches(tmp_path):
    """`TrainingRun.fit` trains on each epoch's order of (seed, epoch), with the
    validation data as given: the same as `fit` on those batches by hand."""
    from keras_jax_scaffold.runtime.batches import EpochBatches, EpochOrder

    x, y, weights = small_model.make_data(40)
    args = parse("--batch-size", "8", "--epochs", "3", "--verbose", "0", "--seed", 4,
                 "--output-dir", tmp_path)  # fmt: skip
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

"""`runtime.results` and `runtime.curves`: what a run leaves. The best epoch and
early stopping against Keras's own `EarlyStopping` (negative control: a patience off
by one), the monitor's direction, the CSV log counted from 1, `--resume`'s epoch of
final.keras, the curves picture (and its one-line note without matplotlib), and a
whole run through `TrainingRun`: final and best models that `load_model` reads back, a
test score equal to the best model's own evaluation, results.json and the summary."""

from __future__ import annotations

import json
import sys

import keras
import numpy as np
import pytest
from keras_jax_scaffold.runtime import curves, results, run

from tests.helpers import small_model

# Scripted values of a monitored log, epoch by epoch, for the early stopping rules:
# a stop, no stop (the best is the last), ties (not improvements), patience 0.
SCRIPTS = [
    ([1.0, 0.8, 0.9, 0.85, 0.95, 0.7], 2),
    ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5], 1),
    ([0.5, 0.5, 0.5, 0.4, 0.6, 0.6, 0.6], 2),
    ([0.9, 0.95, 0.8, 0.85], 0),
    ([0.9, 0.8, 0.85, 0.7, 0.75, 0.72, 0.71], 3),
]


def parse(*argv):
    return small_model.options(*argv)


def drive(callback, model, values):
    """Run `callback` over epochs whose monitored `score` is `values`, as `fit`
    would, the weights set to the epoch number at each epoch's end; returns the
    epochs run and the weights left (the epoch whose weights they are)."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        callback.on_epoch_end(epoch, {"score": value, "loss": 1.0})
        epochs += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return epochs, float(model.get_weights()[0].flat[0])


@pytest.mark.parametrize(("values", "patience"), SCRIPTS)
def test_best_epoch_stops_and_restores_like_keras_early_stopping(values, patience):
    model = small_model.build()
    keras_own = keras.callbacks.EarlyStopping(
        monitor="score", mode="min", patience=patience, restore_best_weights=True
    )
    mine = results.BestEpoch("score", "min", path=None, patience=patience)
    assert drive(mine, model, values) == drive(keras_own, model, values)
    assert mine.best_epoch == keras_own.best_epoch


def test_negative_control_a_patience_off_by_one_is_caught():
    class Late(results.BestEpoch):
        def observe(self, epoch, value):
            improved = super().observe(epoch, value)
            if self.stopped_epoch == epoch and self.wait == self.patience:
                self.stopped_epoch = None  # stops one epoch later
            return improved

    model = small_model.build()
    differ = []
    for values, patience in SCRIPTS:
        keras_own = keras.callbacks.EarlyStopping(
            monitor="score", mode="min", patience=patience, restore_best_weights=True
        )
        late = Late("score", "min", path=None, patience=patience)
        differ.append(drive(late, model, values) != drive(keras_own, model, values))
    assert any(differ) and not all(differ)


def test_a_resumed_run_replays_the_best_epoch_and_patience():
    """The epochs before a resume (from the CSV log) give the same best epoch,
    patience and stop as the uninterrupted run; with `patience_again`, patience
    starts over."""
    values = [1.0, 0.8, 0.9, 0.85, 0.95, 0.7]
    model = small_model.build()
    whole = results.BestEpoch("score", "min", patience=2)
    drive(whole, model, values)
    for patience_again, stopped in ((False, True), (True, False)):
        resumed = results.BestEpoch("score", "min", patience=2)
        resumed.replay({1: 1.0, 2: 0.8, 3: 0.9, 4: 0.85}, patience_again)
        resumed.set_model(model)
        resumed.on_train_begin()
        assert (resumed.best, resumed.best_epoch) == (0.8, 1)
        assert resumed.stopped is stopped and whole.stopped_epoch == 3
        assert resumed.wait == (0 if patience_again else 2)


def test_the_monitor_direction():
    model = small_model.build()
    x, y, _ = small_model.make_data(8)
    model.evaluate(x, y, verbose=0)  # builds the compiled metrics
    for monitor, mode in [
        ("loss", "min"),
        ("val_loss", "min"),
        ("val_label_loss", "min"),
        ("val_accuracy", "max"),  # Keras's metric says: up
        ("label_accuracy", "max"),
        ("val_r2_score", "max"),
        ("box_mean_absolute_error", "min"),
    ]:
        assert results.monitor_mode(model, monitor) == mode, monitor
    with pytest.raises(SystemExit) as exit_info:
        results.monitor_mode(model, "val_novelty")
    assert exit_info.value.code == (
        "error: --monitor val_novelty: no metric of this model is called 'novelty' "
        "(its metrics: loss, accuracy; with val_ for validation); for a log of "
        "your own, say whether lower or higher is better: val_novelty:min or "
        "val_novelty:max"
    )


def test_the_csv_log_counts_epochs_from_one_and_goes_on_after_a_resume(tmp_path):
    log = results.EpochLog(tmp_path / "history.csv")
    log.start(0, resuming=False)
    for epoch in range(3):
        logs = {"loss": np.float32(1.0 / (epoch + 3)), "acc": 0.5}
        if epoch == 2:
            logs["val_loss"] = 0.25  # a log that appears later gets its column
        log.on_epoch_end(epoch, logs)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,acc,loss,val_loss"
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]
    assert lines[1] == f"1,0.5,{float(np.float32(1 / 3))!r},"  # exact values
    assert log.values("loss")[2] == float(np.float32(0.25))
    # Resumed after epoch 2: the row of epoch 3 (to be trained again) goes.
    resumed = results.EpochLog(tmp_path / "history.csv")
    resumed.start(2, resuming=True)
    assert (tmp_path / "history.csv").read_text().splitlines() == [
        "epoch,acc,loss",
        *(line.removesuffix(",") for line in lines[1:3]),
    ]
    # A new run starts an empty log.
    fresh = results.EpochLog(tmp_path / "history.csv")
    fresh.start(0, resuming=False)
    assert fresh.rows == []


def test_resume_goes_on_after_the_epoch_a_model_holds(tmp_path):
    assert results.resume_epoch(tmp_path / "epoch_012.keras") == 12
    assert results.resume_epoch(tmp_path / "epoch_012.keras", initial_epoch=3) == 3
    assert results.resume_epoch(tmp_path / "final.keras") == 0  # no results.json
    (tmp_path / "results.json").write_text(
        json.dumps(
            {
                "models": {
                    "final": {"path": "runs/latest/final.keras", "epoch": 9},
                    "best": {"path": "runs/latest/best.keras", "epoch": 6},
                }
            }
        )
    )
    assert results.resume_epoch(tmp_path / "final.keras") == 9
    assert results.resume_epoch(tmp_path / "best.keras") == 6
    (tmp_path / "results.json").write_text("{torn")
    assert results.resume_epoch(tmp_path / "best.keras") == 0


ROWS = [
    {"epoch": epoch, "loss": repr(1.0 / epoch), "val_loss": repr(1.2 / epoch),
     "accuracy": repr(1 - 0.5 / epoch), "f1": "[0.5, 0.25]"}
    for epoch in range(1, 6)
]  # fmt: skip


def test_the_curves_picture(tmp_path):
    from matplotlib import image  # a dev dependency (the projects' `plots` extra)

    plots = curves.panels(curves.series(ROWS))
    assert [(name, [label for label, _ in lines]) for name, lines in plots] == [
        ("loss", ["training", "validation"]),
        ("accuracy", ["training"]),  # a log of arrays (f1) is not drawn
    ]
    path = curves.draw(tmp_path / "history.csv", ROWS)
    assert path == tmp_path / "history.png" and path.is_file()
    pixels = image.imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 2 * pixels.shape[0] * 0.9
    assert pixels[..., :3].std() > 0.05  # something is drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.png"]
    assert curves.draw(tmp_path / "empty.csv", []) is None


def test_without_matplotlib_the_curves_are_one_note(tmp_path, monkeypatch, capsys):
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    assert curves.draw(tmp_path / "history.csv", ROWS) is None
    assert capsys.readouterr().out == (
        "note: no learning curves picture: matplotlib is not installed (pip install "
        f"-e .[plots]); the logs are in {tmp_path / 'history.csv'}\n"
    )
    assert not list(tmp_path.iterdir())


def train_run(tmp_path, *argv, test=None):
    """A whole run through `TrainingRun` on the small model (36 training samples,
    12 validation samples with a validation file); `(args, history, results)`."""
    data = small_model.make_data(36)
    validation = small_model.make_data(12, seed=5)
    args = parse(
        "--batch-size", 8, "--verbose", 0, "--output-dir", tmp_path / "run",
        "--validation-data", tmp_path / "val.npz", *argv,
    )  # fmt: skip
    model = small_model.build()
    model.optimizer.learning_rate = args.learning_rate or 0.01
    training = run.TrainingRun(args)
    history = training.fit(model, data, validation, 0, training.callbacks())
    return args, history, training.finish(model, test)


@pytest.mark.slow
def test_a_run_saves_final_and_best_models_and_scores_the_test_data(tmp_path, capsys):
    """Early stopping with a high learning rate: the best epoch is not the last;
    final.keras holds the restored best weights, best.keras the best model, and the
    test score is the best model's own evaluation (`load_model`, `evaluate`)."""
    test = small_model.make_data(20, seed=9)
    args, history, found = train_run(
        tmp_path, "--epochs", 12, "--learning-rate", 0.3, "--early-stopping", 2,
        test=test,
    )  # fmt: skip
    best_epoch = found["models"]["best"]["epoch"]
    last = found["epochs"]
    assert best_epoch < last <= 12 and found["stopped_early"] == (last < 12)
    assert found["models"]["final"]["weights_of_epoch"] == best_epoch
    out = capsys.readouterr().out.splitlines()
    val_losses = history.history["val_loss"]
    assert found["models"]["best"]["val_loss"] == min(val_losses)
    assert val_losses.index(min(val_losses)) + 1 == best_epoch

    final = keras.saving.load_model(args.save)
    best = keras.saving.load_model(args.best)
    for mine, theirs in zip(final.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(mine, theirs)  # the restored best weights
    x, y, weights = test
    expected = best.evaluate(x, y, sample_weight=weights, batch_size=8, verbose=0)
    assert found["test"]["model"] == "best" and found["test"]["epoch"] == best_epoch
    assert [found["test"]["logs"][k] for k in ("loss", "accuracy")] == expected

    written = json.loads(args.results.read_text())
    assert written == json.loads(json.dumps(found))
    assert written["files"]["curves"] == str(tmp_path / "run" / "history.png")
    rows = args.csv_log.read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == [
        str(e) for e in range(1, last + 1)
    ]
    stop = f"ended training after epoch {last} and " if found["stopped_early"] else ""
    assert (
        f"best: epoch {best_epoch}, val_loss={min(val_losses):.4f}; early stopping "
        f"{stop}restored its weights"
    ) in out
    assert any(line.startswith("test: loss=") and "(best model" in line for line in out)
    assert out[-6:] == [
        "saved:",
        f"  final model  {args.save} (weights of epoch {best_epoch})",
        f"  best model   {args.best} (epoch {best_epoch})",
        f"  log          {args.csv_log}",
        f"  curves       {tmp_path / 'run' / 'history.png'}",
        f"  results      {args.results}",
    ]


@pytest.mark.slow
def test_without_a_kept_best_model_the_test_score_is_the_final_models(tmp_path):
    """No validation, no --monitor: no best.keras; the test data is scored with the
    final weights, which equal final.keras's own evaluation. A new run in the same
    directory removes the earlier run's best.keras and checkpoints."""
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "best.keras").write_text("an earlier run's")
    (tmp_path / "run" / "checkpoints" / "epoch_009.keras").write_text("earlier")
    test = small_model.make_data(20, seed=9)
    data = small_model.make_data(36)
    args = parse("--batch-size", 8, "--epochs", 2, "--verbose", 0,
                 "--output-dir", tmp_path / "run", "--checkpoint-every", 2)  # fmt: skip
    model = small_model.build()
    training = run.TrainingRun(args)
    training.fit(model, data, None, 0, training.callbacks())
    found = training.finish(model, test)
    assert "best" not in found["models"] and found["test"]["model"] == "final"
    assert not (tmp_path / "run" / "best.keras").exists()
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == [
        "epoch_002.keras"
    ]
    final = keras.saving.load_model(args.save)
    x, y, weights = test
    expected = final.evaluate(x, y, sample_weight=weights, batch_size=8, verbose=0)
    assert [found["test"]["logs"][k] for k in ("loss", "accuracy")] == expected

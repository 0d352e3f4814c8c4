# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""What a run of `train` leaves: the CSV log (`EpochLog`), checkpoints every N epochs
(`EpochCheckpoints`), the best model and early stopping (`BestEpoch`), and at the end
(`Results`) the final model, the test score, `results.json`, the learning curves and
the closing summary.

Epochs are counted from 1 everywhere a user sees them: the CSV's `epoch` column,
`epoch_NNN.keras` (the model after epoch NNN; `--resume` goes on after it), the
messages and `results.json` (Keras's callbacks get the index, from 0).

A resumed run (`--resume`, or a backup of `--backup-every`) goes on with the files
of the run it continues: the log keeps the epochs before the one it starts with, and
the best epoch so far (with early stopping's patience) is read back from it, so a
resumed run chooses the same best model as one never interrupted. Every file is
written whole and then renamed into place: a kill never leaves half a file.
"""

import csv
import json
import math
import os
import tempfile
from pathlib import Path

import jax
import keras
import numpy as np

from . import curves
from .arrays import num_samples, trim_to_devices
from .distribute import validation_part
from .options import CHECKPOINT_EPOCH, CHECKPOINT_NAME, OUTPUT_FILES, fail, flag

# Metric names whose higher values are better, when the metric does not say (Keras's
# `_direction`); losses and errors are better lower.
HIGHER_IS_BETTER = ("accuracy", "acc", "auc", "precision", "recall", "iou", "r2", "f1")


def writes_files():
    """Only the first of several processes writes the run's files."""
    return jax.process_index() == 0


def replace_file(path, write):
    """`write(partial_path)`, then rename the whole file to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras saves only to names ending in .keras: keep the suffix.
    partial = path.with_name(f".partial.{path.name}")
    write(partial)
    os.replace(partial, path)


def save_model(model, path):
    """`model.save(path)`, written whole before it replaces an older file. With
    several processes every one saves (saving reads variables laid out over all of
    them: every process must take part), the first to `path`, the others to a
    temporary file they remove."""
    if writes_files():
        replace_file(path, model.save)
        return
    with tempfile.TemporaryDirectory() as directory:
        model.save(Path(directory) / Path(path).name)


def scalar(value):
    """A log value as a float, or None when it is not one number."""
    value = np.asarray(value)
    return float(value) if value.size == 1 else None


def log_text(value):
    """A log value as the CSV and results.json write it: a float's exact repr."""
    number = scalar(value)
    return repr(number) if number is not None else str(np.asarray(value).tolist())


def monitor_mode(model, monitor):
    """ "min" or "max" for the log `monitor`: losses and errors lower, metrics by
    their own direction (as Keras's callbacks infer it) or accuracy-like names
    higher; a one-line error when it cannot be told."""
    name = monitor.removeprefix("val_")
    if name.endswith("loss"):
        return "min"
    metrics = []
    for metric in model.metrics:
        metrics.extend(getattr(metric, "metrics", None) or [metric])
    for metric in metrics:
        direction = getattr(metric, "_direction", None)
        if direction in ("up", "down") and name in (
            metric.name,
            *(f"{output}_{metric.name}" for output in model.output_names),
        ):
            return "max" if direction == "up" else "min"
    words = name.lower().split("_")
    if any(word in HIGHER_IS_BETTER for word in words):
        return "max"
    if any(word.endswith(("error", "crossentropy", "hinge")) for word in words):
        return "min"
    known = ", ".join(["loss", *sorted({m.name for m in metrics} - {"loss"})])
    fail(
        f"--monitor {monitor}: no metric of this model is called {name!r} (its "
        f"metrics: {known}; with val_ for validation); for a log of your own, say "
        f"whether lower or higher is better: {monitor}:min or {monitor}:max"
    )


class EpochLog(keras.callbacks.Callback):
    """The CSV log: one row per epoch, `epoch` counted from 1, then the logs by
    sorted name (as `keras.callbacks.CSVLogger`, which counts from 0). Values are
    written exactly (a float's repr). `start(epoch)` keeps the rows of the epochs
    before `epoch` (a resumed run) or none (a new run); the file is written again,
    whole, after every epoch, with a column for every log seen."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.rows = []  # {"epoch": int, log: text}, in epoch order

    def start(self, epoch, resuming):
        """Keep the logged epochs up to `epoch` (counted from 1) of a resumed run."""
        self.rows = []
        if resuming and self.path.is_file():
            with open(self.path, newline="") as file:
                self.rows = [
                    {**{k: v for k, v in row.items() if v}, "epoch": int(row["epoch"])}
                    for row in csv.DictReader(file)
                    if row.get("epoch", "").isdigit() and int(row["epoch"]) <= epoch
                ]
            self.write()

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append(
            {"epoch": epoch + 1, **{k: log_text(v) for k, v in (logs or {}).items()}}
        )
        self.write()

    def columns(self):
        names = {name for row in self.rows for name in row} - {"epoch"}
        return ["epoch", *sorted(names)]

    def write(self):
        if not writes_files():
            return
        columns = self.columns()

        def write(partial):
            with open(partial, "w", newline="") as file:
                writer = csv.DictWriter(file, columns, restval="")
                writer.writeheader()
                writer.writerows(self.rows)

        replace_file(self.path, write)

    def values(self, name):
        """`{epoch: value}` of the log `name` (floats; epochs counted from 1)."""
        found = {}
        for row in self.rows:
            try:
                found[row["epoch"]] = float(row.get(name) or "nan")
            except ValueError:
                continue
        return {epoch: value for epoch, value in found.items() if not math.isnan(value)}


class EpochCheckpoints(keras.callbacks.Callback):
    """Saves the model every `every` epochs as `directory/epoch_NNN.keras` (NNN the
    epoch, from 1)."""

    def __init__(self, directory, every):
        super().__init__()
        self.directory = Path(directory)
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            path = self.directory / CHECKPOINT_NAME.format(epoch=epoch + 1)
            save_model(self.model, path)


class BestEpoch(keras.callbacks.Callback):
    """The best epoch by the log `monitor` (`mode` "min", "max" or "auto": inferred,
    `monitor_mode`): its model is saved to `path` (None: not saved) and its weights
    kept; with `patience` (not None), training stops after `patience` epochs without
    improvement and the best weights are restored at the end, exactly as
    `keras.callbacks.EarlyStopping(monitor, patience=patience,
    restore_best_weights=True)` does (tests/runtime/ compares them).

    `replay(values)` goes through the epochs of the run before a resume (from the
    CSV log) to get the same best epoch and patience as an uninterrupted run.
    """

    def __init__(self, monitor, mode="auto", path=None, patience=None):
        super().__init__()
        self.monitor = monitor
        self.mode = mode
        self.path = None if path is None else Path(path)
        self.patience = patience
        self.best = None  # the best value so far
        self.best_epoch = None  # its epoch, counted from 0
        self.best_weights = None  # its weights, when seen in this process
        self.wait = 0
        self.stopped_epoch = None
        self.last_epoch = None
        self.restored = False  # the best weights were put back at the end

    def improves(self, value):
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def observe(self, epoch, value):
        """EarlyStopping's rule for one epoch's value; True if it is the best."""
        self.last_epoch = epoch
        self.wait += 1
        if self.improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return True
        if self.patience is not None and self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
        return False

    def replay(self, values, patience_again=False):
        """The epochs before a resume, `{epoch counted from 1: value}`, gone
        through when `fit` starts (the mode may need the model's metrics);
        `patience_again`: early stopping's patience starts over."""
        self.earlier = (values, patience_again)

    def on_train_begin(self, logs=None):
        if self.mode == "auto":
            self.mode = monitor_mode(self.model, self.monitor)
        values, patience_again = getattr(self, "earlier", ({}, False))
        self.earlier = ({}, False)
        for epoch in sorted(values):
            self.observe(epoch - 1, values[epoch])
        self.best_weights = None  # of the run before: in `path`, not in memory
        if patience_again:
            self.wait, self.stopped_epoch = 0, None

    @property
    def stopped(self):
        return self.stopped_epoch is not None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            fail(
                f"--monitor {self.monitor} is not a log of this run; its logs are "
                f"{', '.join(sorted(logs))}"
            )
        if self.observe(epoch, scalar(logs[self.monitor])):
            self.best_weights = self.model.get_weights()
            if self.path is not None:
                save_model(self.model, self.path)
        if self.stopped:
            self.model.stop_training = True

    def weights(self):
        """The best epoch's weights: kept in memory, or from the saved model."""
        if self.best_weights is not None:
            return self.best_weights
        if self.path is None or not self.path.is_file():
            return None
        return keras.saving.load_model(self.path).get_weights()

    def on_train_end(self, logs=None):
        if self.patience is None or self.best_epoch in (None, self.last_epoch):
            return
        weights = self.weights()
        if weights is None:
            print(
                f"warning: the weights of the best epoch {self.best_epoch + 1} are "
                f"gone ({self.path} is missing): keeping the last epoch's"
            )
            return
        self.model.set_weights(weights)
        self.restored = True


def resume_epoch(path, initial_epoch=None):
    """The epoch (counted from 1) a saved model holds: `--initial-epoch`, the NNN of
    `epoch_NNN.keras`, else what results.json beside it says of it (final.keras,
    best.keras), else 0."""
    if initial_epoch is not None:
        return initial_epoch
    match = CHECKPOINT_EPOCH.search(path.name)
    if match:
        return int(match.group(1))
    results = path.parent / OUTPUT_FILES["results"]
    try:
        models = json.loads(results.read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    for model in models.values():
        if isinstance(model, dict) and Path(str(model.get("path"))).name == path.name:
            return int(model.get("epoch") or 0)
    return 0


def earlier_files(args):
    """The files of an earlier run in --output-dir that a new run replaces."""
    directory = args.output_dir
    names = [OUTPUT_FILES[key] for key in ("save", "best", "csv_log", "results")]
    names.append(curves.picture_path(Path(OUTPUT_FILES["csv_log"])).name)
    found = [directory / name for name in names if (directory / name).is_file()]
    checkpoints = directory / OUTPUT_FILES["checkpoint_dir"]
    found += sorted(checkpoints.glob("epoch_*.keras"))
    return found


class Results:
    """The callbacks of a run's files (`callbacks`), the start of a run (`start`:
    a new run replaces an earlier one's files, a resumed one goes on with them) and
    its end (`finish`: the final model, the test score, results.json, the curves,
    the summary). `args`: the checked options (runtime/options.py); `loss_logs`:
    the log keys of the model's losses (the default monitor when it logs no
    `loss`)."""

    def __init__(self, args, loss_logs=("loss",)):
        self.args = args
        self.log = EpochLog(args.csv_log)
        self.best = None
        if not args.monitor_given and "loss" not in loss_logs:
            # A model that logs no `loss` (a gan: d_loss, g_loss) watches its first.
            prefix = "val_" if args.monitor.startswith("val_") else ""
            args.monitor = f"{prefix}{loss_logs[0]}"
        if args.keep_best:
            self.best = BestEpoch(
                args.monitor, args.monitor_mode, args.best, args.early_stopping
            )
        self.checkpoints = None
        if args.checkpoint_every is not None:
            self.checkpoints = EpochCheckpoints(
                args.checkpoint_dir, args.checkpoint_every
            )

    def callbacks(self):
        """The best model, the checkpoints and the log, in the order they run (a
        --monitor that is not logged stops before the log has a row); a backup,
        after them, never records an epoch they have not written."""
        return [c for c in (self.best, self.checkpoints, self.log) if c is not None]

    def start(self, epoch, resuming, patience_again=False):
        """Before `fit`: `epoch` (counted from 0) is the first to train. A new run
        removes the files an earlier one left in --output-dir; a resumed one reads
        back its log and the best epoch so far (in one process: several would have
        to read the same file); `patience_again`: early stopping's patience starts
        over (`--resume`: train more) instead of going on (a backup: the same run).
        """
        if not resuming:
            removed = earlier_files(self.args)
            if removed and writes_files():
                for path in removed:
                    path.unlink()
                print(
                    f"{self.args.output_dir}: replacing an earlier run's files "
                    f"({len(removed)}; use another {flag('output_dir')} to keep them)"
                )
        self.log.start(epoch, resuming)
        if self.best is not None and jax.process_count() == 1:
            self.best.replay(self.log.values(self.best.monitor), patience_again)

    def finish(self, model, test=None, batch_size=32):
        """After `fit`: save the final model, evaluate `test` (`(x, y,
        sample_weight)` or None), write results.json and the curves, print the
        summary. Returns the results (as in results.json)."""
        args, best = self.args, self.best
        save_model(model, args.save)
        last = self.log.rows[-1] if self.log.rows else None
        final_epoch = last["epoch"] if last else 0
        models = {"final": {"path": str(args.save), "epoch": final_epoch}}
        if best is not None and best.best_epoch is not None:
            models["best"] = {
                "path": str(args.best),
                "epoch": best.best_epoch + 1,
                args.monitor: best.best,
            }
            if best.restored:
                models["final"]["weights_of_epoch"] = best.best_epoch + 1
        results = {
            "epochs": final_epoch,
            "monitor": {"log": args.monitor, "mode": best.mode if best else None},
            "stopped_early": bool(best and best.stopped),
            "last_epoch": {
                key: number(text)
                for key, text in (last or {}).items()
                if key != "epoch"
            },
            "models": models,
        }
        if test is not None:
            results["test"] = self.evaluate(model, test, batch_size, models)
        files = {"log": str(args.csv_log), "results": str(args.results)}
        if writes_files():
            picture = curves.draw(args.csv_log, self.log.rows)
            if picture is not None:
                files["curves"] = str(picture)
        if self.checkpoints is not None:
            files["checkpoints"] = str(args.checkpoint_dir)
        results["files"] = files
        if writes_files():
            replace_file(
                args.results,
                lambda partial: Path(partial).write_text(
                    json.dumps(results, indent=2) + "\n"
                ),
            )
            self.print_summary(results)
        return results

    def evaluate(self, model, test, batch_size, models):
        """The test logs with the best model's weights (when one is kept) or the
        final ones; the model keeps its final weights."""
        use_best = "best" in models and models["best"]["epoch"] != (
            models["final"].get("weights_of_epoch", models["final"]["epoch"])
        )
        chosen = "best" if "best" in models else "final"
        final_weights = None
        if use_best:
            weights = self.best.weights()
            if weights is None:
                chosen = "final"
            else:
                final_weights = model.get_weights()
                model.set_weights(weights)
        distribution = keras.distribution.distribution()
        if distribution is not None:
            mesh = distribution.device_mesh
            replicas = mesh.shape[mesh.axis_names.index(distribution.batch_dim_name)]
            test = trim_to_devices(test, replicas, "test")
        data = validation_part(test, batch_size)
        if isinstance(data, tuple):
            x, y, *weights = data
            logs = model.evaluate(
                x, y, sample_weight=weights[0] if weights else None,
                batch_size=batch_size, verbose=0, return_dict=True,
            )  # fmt: skip
        else:
            logs = model.evaluate(data, verbose=0, return_dict=True)
        if final_weights is not None:
            model.set_weights(final_weights)
        return {
            "model": chosen,
            "epoch": models[chosen].get("weights_of_epoch", models[chosen]["epoch"]),
            "data": str(self.args.test_data or "the test data"),
            "samples": num_samples(test),
            "logs": {key: scalar(value) for key, value in logs.items()},
        }

    def print_summary(self, results):
        """The closing lines: the last epoch, the best one, the test score, the
        files."""
        args, models = self.args, results["models"]
        if results["last_epoch"]:
            print(f"epoch {results['epochs']}: {shown_logs(results['last_epoch'])}")
        if "best" in models:
            best = models["best"]
            note = ""
            if results["stopped_early"]:
                note = (
                    f"; early stopping ended training after epoch {results['epochs']}"
                )
            if "weights_of_epoch" in models["final"]:
                note += f"{' and' if note else '; early stopping'} restored its weights"
            print(
                f"best: epoch {best['epoch']}, {args.monitor}="
                f"{best[args.monitor]:.4f}{note}"
            )
        if "test" in results:
            test = results["test"]
            print(
                f"test: {shown_logs(test['logs'])} ({test['model']} model, epoch "
                f"{test['epoch']}; {test['samples']} samples of {test['data']})"
            )
        final = models["final"]
        weights = final.get("weights_of_epoch", final["epoch"])
        lines = [("final model", f"{final['path']} (weights of epoch {weights})")]
        if "best" in models:
            lines.append(
                (
                    "best model",
                    f"{models['best']['path']} (epoch {models['best']['epoch']})",
                )
            )
        files = results["files"]
        lines.append(("log", files["log"]))
        if "curves" in files:
            lines.append(("curves", files["curves"]))
        if "checkpoints" in files:
            lines.append(
                (
                    "checkpoints",
                    f"{files['checkpoints']} (every {args.checkpoint_every} epochs)",
                )
            )
        lines.append(("results", files["results"]))
        print("saved:")
        for label, text in lines:
            print(f"  {label:<12} {text}")


def number(text):
    """A logged value read back: a float, or the text of one that is not a number."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def shown_logs(logs):
    """`loss=0.1234 accuracy=0.9000 ...`: "loss" first, then by name; numbers only."""
    return " ".join(
        f"{key}={float(logs[key]):.4f}"
        for key in sorted(logs, key=lambda key: (key != "loss", key))
        if isinstance(number(logs[key]), float)
    )

# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""Exact backup and resume (`Backup`, `--backup-every`) and the stop on a loss that
is not finite (`StopOnNonFinite`): callbacks of `fit`."""

import math
import os
import zipfile
from pathlib import Path

import keras
import numpy as np

from .options import BACKUP_NAME, fail, flag


def state_variables(model):
    """The whole training state, in a fixed order: what `fit` carries from step to
    step (weights, non-trainable variables with the seed generator states, optimizer
    variables, metric variables)."""
    return {
        "trainable": model.trainable_variables,
        "non_trainable": model.non_trainable_variables,
        "optimizer": model.optimizer.variables,
        "metrics": model.metrics_variables,
    }


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops `fit` after the first execution with a loss (one of `loss_logs`, the
    log keys of the model's losses) that is not finite (NaN or infinite) and records
    which and where (`stopped`); `Backup` then writes nothing more."""

    def __init__(self, loss_logs=("loss",)):
        super().__init__()
        self.loss_logs = tuple(loss_logs)
        self.epoch = 0
        self.stopped = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key in self.loss_logs:
            loss = float(np.asarray((logs or {}).get(key, 0.0)))
            if not math.isfinite(loss):
                self.stopped = (self.epoch, batch, key, loss)
                self.model.stop_training = True
                return


class Backup(keras.callbacks.Callback):
    """Writes the whole training state every `every` steps of an epoch (at the end of
    the execution that reaches them: `options.align_executions` makes executions end
    there) and at every epoch end, and puts it back when `fit` starts again; resumed
    training is exact. An epoch's last step is never backed up on its own: the
    epoch-end backup, after the epoch's validation and logs, takes its place.

    Not `keras.callbacks.BackupAndRestore`: in Keras 3.15 it restarts an interrupted
    epoch from its first batch (applying those batches twice), saves weights files
    that do not restore seed generator states (dropout would differ) and overwrites
    its files in place. Here the state is saved variable by variable
    (`state_variables`), a backup becomes `DIR/backup.npz` by an atomic rename once
    completely written, and the resumed epoch starts after the last applied batch
    (`EpochBatches(first_batch=...)`); the sample order is a function of
    (seed, epoch) and the seed generator states come back exactly. `options`: the
    options (by `args` name) a backup must have been written with to be resumed;
    `guard`: the `StopOnNonFinite` of the run.
    """

    def __init__(self, directory, every, options, guard):
        super().__init__()
        self.path = Path(directory) / BACKUP_NAME
        self.every = every
        self.options = options
        self.guard = guard
        self.restore = None  # the state to put back when `fit` starts
        self.restore_metrics = True  # False: the restored epoch starts afresh
        self.stopped = False  # the backup read was written after training stopped
        self.epoch = 0
        self.first_batch = 0
        self.batches_per_epoch = 0
        self.last_saved = 0

    def read(self):
        """`(epoch, step)` of an existing backup (and keep it to restore), or None."""
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            fail(
                f"{self.path}: cannot read the backup ({error}); remove it to start over"
            )
        for name, value in self.options.items():
            if int(arrays[f"option_{name}"]) != value:
                fail(
                    f"{self.path} is a backup of a run with {flag(name)} "
                    f"{int(arrays[f'option_{name}'])}, not {value}; run with the same "
                    "options or use another --backup-dir"
                )
        self.restore = arrays
        # Training had stopped (early stopping) when this backup was written.
        self.stopped = bool(arrays.get("stopped", 0))
        return int(arrays["epoch"]), int(arrays["step"])

    def start(self, first_batch, batches_per_epoch):
        """Called before each `fit`: the batch its first epoch starts at."""
        self.first_batch = first_batch
        self.batches_per_epoch = batches_per_epoch

    def on_train_begin(self, logs=None):
        # `fit` has built the model, its optimizer and metrics, and reads the
        # variables when its first epoch starts (if it has one: the backup of a run
        # that was over restores the model all the same).
        if self.restore is None:
            return
        arrays = self.restore
        # The metrics too: a run that was over keeps those of its last epoch (an
        # epoch that starts resets them).
        for group, variables in state_variables(self.model).items():
            self._assign(variables, arrays, group)
        self.last_saved = self._global_step(int(arrays["epoch"]), int(arrays["step"]))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.restore is None:
            return
        arrays, self.restore = self.restore, None
        # `fit` resets the metrics as an epoch starts: a backup of the middle of an
        # epoch puts back what its steps had accumulated.
        if int(arrays["step"]) > 0 and self.restore_metrics:
            self._assign(state_variables(self.model)["metrics"], arrays, "metrics")

    @staticmethod
    def _assign(variables, arrays, group):
        for index, variable in enumerate(variables):
            variable.assign(arrays[f"{group}_{index:04d}"])

    def on_train_batch_end(self, batch, logs=None):
        applied = min(self.first_batch + batch + 1, self.batches_per_epoch)
        if applied == self.batches_per_epoch:
            # The epoch's last step: the epoch-end backup takes its place, after the
            # epoch's validation and logs. A backup here would resume an epoch with
            # no step left to run.
            return
        if self._global_step(self.epoch, applied) - self.last_saved >= self.every:
            self.save(self.epoch, applied)

    def on_epoch_end(self, epoch, logs=None):
        self.first_batch = 0
        self.save(epoch + 1, 0)

    def _global_step(self, epoch, step):
        return epoch * self.batches_per_epoch + step

    def save(self, epoch, step):
        if self.guard.stopped is not None:
            return  # never back up a state with a non-finite loss
        arrays = {"epoch": np.int64(epoch), "step": np.int64(step)}
        arrays["stopped"] = np.int64(bool(self.model.stop_training))
        for name, value in self.options.items():
            arrays[f"option_{name}"] = np.int64(value)
        for group, variables in state_variables(self.model).items():
            for index, variable in enumerate(variables):
                arrays[f"{group}_{index:04d}"] = np.asarray(variable.numpy())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial")
        with open(partial, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.path)  # the newest backup is always a whole one
        self.last_saved = self._global_step(epoch, step)

    def remove(self):
        """The run is complete: its backup goes, and its directory if nothing else
        is in it."""
        self.path.unlink(missing_ok=True)
        try:
            self.path.parent.rmdir()
        except OSError:  # not empty (or already gone)
            pass

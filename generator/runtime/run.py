# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""A training run of a project's `train`: the model `--resume` names
(`load_checkpoint`), the callbacks the options ask for (`option_callbacks`), and
`TrainingRun`, which runs `fit` on the epochs' batches, resumes a backup exactly,
stops on a loss that is not finite and prints the closing summary."""

import argparse

import jax
import keras
import numpy as np

from .backup import Backup, StopOnNonFinite
from .batches import EpochBatches, EpochOrder
from .distribute import fit_verbosity, process_part, validation_part
from .options import CHECKPOINT_EPOCH, CHECKPOINT_NAME, fail

# A backup resumes only the run it came from: these options must match.
BACKUP_OPTIONS = ("seed", "batch_size", "epochs")


def resume_epoch(args):
    """The epoch training continues from with `--resume`."""
    if args.initial_epoch is not None:
        return args.initial_epoch
    match = CHECKPOINT_EPOCH.search(args.resume.name)
    return int(match.group(1)) if match else 0


def load_checkpoint(args):
    """The model `--resume` names, with this run's `--steps-per-execution` (and
    `--learning-rate`, if given); `(model, initial_epoch)`. The module of the model
    class must be imported (it registers the class, so Keras finds it)."""
    if not args.resume.is_file():
        fail(f"{args.resume}: no such checkpoint")
    model = keras.saving.load_model(args.resume)
    model.steps_per_execution = args.steps_per_execution
    if args.learning_rate is not None:
        model.optimizer.learning_rate = args.learning_rate
    initial_epoch = resume_epoch(args)
    if initial_epoch >= args.epochs:
        fail(
            f"{args.resume} is at epoch {initial_epoch}; pass --epochs greater than "
            f"{initial_epoch} to train more"
        )
    return model, initial_epoch


def option_callbacks(args, validation, resuming=False):
    """The callbacks the options ask for (`--checkpoint-dir`, `--csv-log`,
    `--early-stopping`); `validation`: there is validation data; `resuming`: a
    backup is being restored."""
    callbacks = []
    if jax.process_index() != 0:
        # Several processes: the first one writes the files.
        args = argparse.Namespace(
            **{**vars(args), "checkpoint_dir": None, "csv_log": None}
        )
    if args.checkpoint_dir is not None:
        args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        callbacks.append(
            keras.callbacks.ModelCheckpoint(str(args.checkpoint_dir / CHECKPOINT_NAME))
        )
    if args.csv_log is not None:
        args.csv_log.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(
            keras.callbacks.CSVLogger(
                str(args.csv_log), append=resuming or args.resume is not None
            )
        )
    if args.early_stopping is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if validation else "loss",
                patience=args.early_stopping,
                restore_best_weights=True,
            )
        )
    return callbacks


class TrainingRun:
    """One run of `train` with the options `args`: reads the backup to resume
    (`--backup-every`; `resuming`), then `fit` trains and `report` prints.

    `loss_logs`: the log keys of the model's losses (`loss`; a gan's `d_loss` and
    `g_loss`): training stops when one is not finite (`StopOnNonFinite`).
    """

    def __init__(self, args, loss_logs=("loss",)):
        self.args = args
        self.guard = StopOnNonFinite(loss_logs)
        self.backup = self.restored = None
        if args.backup_every is not None:
            options = {name: getattr(args, name) for name in BACKUP_OPTIONS}
            self.backup = Backup(
                args.backup_dir, args.backup_every, options, self.guard
            )
            self.restored = self.backup.read()
        if self.restored is not None:
            epoch, step = self.restored
            print(
                f"resuming from {self.backup.path}: epoch {epoch + 1}, after step {step}"
            )

    @property
    def resuming(self):
        """A backup is restored: the run goes on where it was killed."""
        return self.restored is not None

    def fit(self, model, train, validation=None, initial_epoch=0, callbacks=()):
        """Train `model` on `train` (`(x, y, sample_weight)`) from `initial_epoch`
        (or where the backup was) up to `--epochs`, with `callbacks`; returns the
        `keras.callbacks.History` of the whole run. Stops with a one-line error when
        a loss becomes NaN or infinite."""
        args, backup = self.args, self.backup
        first_batch = 0
        if self.restored is not None:
            initial_epoch, first_batch = self.restored
        validation = validation_part(validation, args.batch_size)
        callbacks = [self.guard, *callbacks]
        if backup is not None:
            callbacks.append(backup)  # last: backs up after the others' epoch ends
        # The epoch a backup stopped in runs on its own from the batch after the last
        # one applied; then the full epochs. Both `fit`s share the callbacks.
        parts = [(initial_epoch, first_batch)]
        if first_batch and initial_epoch + 1 < args.epochs:
            parts.append((initial_epoch + 1, 0))
        history = None
        for start_epoch, start_batch in parts:
            batches = EpochBatches(
                train,
                args.batch_size,
                args.seed,
                first_batch=start_batch,
                workers=args.workers,
            )
            if backup is not None:
                backup.start(start_batch, batches.batches_per_epoch)
            part = model.fit(
                process_part(batches),
                epochs=start_epoch + 1 if start_batch else args.epochs,
                initial_epoch=start_epoch,
                shuffle=False,
                validation_data=validation,
                callbacks=[EpochOrder(batches), *callbacks],
                verbose=fit_verbosity(args),
            )
            batches.close()
            history = join_histories(history, part)
            if self.guard.stopped is not None or model.stop_training:
                break
        if self.guard.stopped is not None:
            self.stop()
        if backup is not None:
            backup.remove()
        return history

    def stop(self):
        """The one-line error of a loss that is not finite."""
        epoch, batch, key, loss = self.guard.stopped
        kept = (
            f"the last good backup is {self.backup.path}"
            if self.backup is not None and self.backup.path.is_file()
            else "no backup was written (see --backup-every)"
        )
        fail(
            f"the {key} became {loss} in epoch {epoch + 1} (by batch {batch + 1}); "
            f"stopped, {kept}"
        )

    def report(self, history):
        """Print the last epoch's logs (`epoch N: loss=... metric=...`, "loss"
        first) and where the checkpoints went."""
        if history.epoch:
            logs = {key: values[-1] for key, values in history.history.items()}
            shown = " ".join(
                f"{key}={np.asarray(logs[key]).item():.4f}"
                for key in sorted(logs, key=lambda key: (key != "loss", key))
                if np.size(logs[key]) == 1
            )
            print(f"epoch {history.epoch[-1] + 1}: {shown}")
        if self.args.checkpoint_dir is not None:
            print(f"checkpoints: {self.args.checkpoint_dir}")


def join_histories(first, second):
    """One `History` for both `fit`s of a resumed run."""
    if first is None:
        return second
    second.epoch = first.epoch + second.epoch
    for key, values in first.history.items():
        second.history[key] = values + second.history.get(key, [])
    return second

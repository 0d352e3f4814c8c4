# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""A training run of a project's `train`: the model `--resume` names
(`load_checkpoint`) and `TrainingRun`, which runs `fit` on the epochs' batches with
the callbacks of the run's files (runtime/results.py), resumes a backup exactly,
stops on a loss that is not finite and, at the end, saves the final model, scores the
test data and prints the closing summary."""

import math

import jax
import keras

from .arrays import num_samples
from .backup import Backup, StopOnNonFinite
from .batches import EpochBatches, EpochOrder
from .distribute import fit_verbosity, process_part, validation_part
from .options import fail
from .results import Results, resume_epoch

# A backup resumes only the run it came from: these options must match.
BACKUP_OPTIONS = ("seed", "batch_size", "epochs")


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
    initial_epoch = resume_epoch(args.resume, args.initial_epoch)
    if initial_epoch >= args.epochs:
        fail(
            f"{args.resume} is at epoch {initial_epoch}; pass --epochs greater than "
            f"{initial_epoch} to train more"
        )
    return model, initial_epoch


class TrainingRun:
    """One run of `train` with the options `args`: reads the backup to resume
    (`--backup-every`; `resuming`), then `fit` trains and `finish` saves and
    reports.

    `loss_logs`: the log keys of the model's losses (`loss`; a gan's `d_loss` and
    `g_loss`): training stops when one is not finite (`StopOnNonFinite`).
    `results`: the run's files (`Results`: log, checkpoints, best model).
    """

    def __init__(self, args, loss_logs=("loss",)):
        self.args = args
        self.guard = StopOnNonFinite(loss_logs)
        self.results = Results(args, loss_logs)
        self.backup = self.restored = None
        if args.execution_note and jax.process_index() == 0:
            print(f"note: {args.execution_note}")
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

    def callbacks(self):
        """The callbacks of the run's files: the CSV log, the checkpoints, the best
        model and early stopping (runtime/results.py)."""
        return self.results.callbacks()

    def fit(self, model, train, validation=None, initial_epoch=0, callbacks=()):
        """Train `model` on `train` (`(x, y, sample_weight)`) from `initial_epoch`
        (or where the backup was) up to `--epochs`, with `callbacks`; returns the
        `keras.callbacks.History` of this process's epochs. Stops with a one-line
        error when a loss becomes NaN or infinite."""
        args, backup = self.args, self.backup
        first_batch = 0
        if self.restored is not None:
            initial_epoch, first_batch = self.restored
        if first_batch >= math.ceil(num_samples(train) / args.batch_size):
            # A backup after the last step of an epoch (written by runtime versions
            # before the epoch-end backup took that place): the epoch's training is
            # done, but its validation and logs are not; go on with the next one.
            print(
                f"note: the backup was written after the last step of epoch "
                f"{initial_epoch + 1}, before its end: going on with epoch "
                f"{initial_epoch + 2}; epoch {initial_epoch + 1} has no log row"
            )
            initial_epoch, first_batch = initial_epoch + 1, 0
            backup.restore_metrics = False
        # A backup goes on with the same run; `--resume` trains more (early
        # stopping's patience starts over).
        self.results.start(
            initial_epoch,
            resuming=self.resuming or args.resume is not None,
            patience_again=not self.resuming,
        )
        done = self.resuming and backup.stopped
        validation = validation_part(validation, args.batch_size)
        callbacks = [self.guard, *callbacks]
        if backup is not None:
            callbacks.append(backup)  # last: backs up after the others' epoch ends
        # The epoch a backup stopped in runs on its own from the batch after the last
        # one applied; then the full epochs. Both `fit`s share the callbacks. A run
        # already over (the backup of its last epoch, or of an early stop) runs no
        # epoch: `fit` restores the backup and ends.
        epochs = initial_epoch if done else args.epochs
        parts = [(initial_epoch, first_batch)]
        if first_batch and initial_epoch + 1 < epochs:
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
                epochs=start_epoch + 1 if start_batch else epochs,
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

    def finish(self, model, test=None):
        """After `fit`: save the final model, score `test` (`(x, y,
        sample_weight)` or None), write results.json and the learning curves, print
        the summary (runtime/results.py); then the backup, no longer needed, is
        removed. Returns the results."""
        results = self.results.finish(model, test, self.args.batch_size)
        if self.backup is not None:
            self.backup.remove()
        return results


def join_histories(first, second):
    """One `History` for both `fit`s of a resumed run."""
    if first is None:
        return second
    second.epoch = first.epoch + second.epoch
    for key, values in first.history.items():
        second.history[key] = values + second.history.get(key, [])
    return second

# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""`ScannedExecution`: the train steps of one `steps_per_execution` as one compiled
loop, a mixin of the project's model class."""

import itertools

import jax
import jax.numpy as jnp
import keras
import numpy as np

from .batches import EpochBatches


class ScannedExecution:
    """Runs the `steps_per_execution` train steps of one execution of `fit` as one
    jitted loop over the stacked batches (`jax.lax.fori_loop`, a `while` loop in the
    compiled program), instead of one dispatch per step.

    A mixin of a Keras model class, first among its bases (`class Net(
    ScannedExecution, StatelessSteps, keras.Model)`). The same `train_step` runs on
    the same batches in the same order as in Keras's own loop, so the weights and
    logs are the same; callbacks see every execution and every epoch.

    Two compiled programs at most, as in Keras's own loop: the loop, which also runs
    an execution of fewer full batches (the end of an epoch: its number of steps is
    an argument of the program, the batches padded to `steps_per_execution` and the
    padding never run), and one step for a short last batch. When `fit` trains on
    an `EpochBatches` (runtime/batches.py) whose arrays are in memory
    (`EpochBatches.on_device`), the arrays stay on the device and each execution
    sends only the sample indices of its batches (gathered inside the compiled
    program): no batch goes through Keras's data adapter. Under a `keras.distribution` (data or model parallel, several
    processes) the batches come from Keras's data adapter and the state keeps every
    variable's layout, as in Keras's own train function. With
    `steps_per_execution=1`, `run_eagerly` or without `jit_compile`, Keras's own
    train function runs.
    """

    def fit(self, x=None, *args, **kwargs):
        # The batches of this `fit`, if the scan can gather them on the device.
        self.scan_feed = on_device_batches(x)
        try:
            return super().fit(x, *args, **kwargs)
        finally:
            self.scan_feed = None

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return
        if self.steps_per_execution == 1 or self.run_eagerly or not self.jit_compile:
            super().make_train_function(force=force)
            return
        steps = self.steps_per_execution
        traced = []  # the programs compiled: one entry per trace
        # Traced once per batch shape, inlined into the programs below.
        train_step = jax.jit(self.train_step)

        def scan_steps(state, batches, count):
            """`(logs, state)` after `train_step` on each of the first `count` of the
            `steps` stacked `batches`, in order (the others pad: never run); logs of
            the last. `count` is traced: one program for every count."""
            traced.append("scan")
            first = jax.tree.map(lambda array: array[0], batches)
            # The logs' shapes, from the trace the loop's body then reuses.
            shapes = train_step.eval_shape(state, first)[0]

            def body(index, carry):
                state, _ = carry
                batch = jax.tree.map(lambda array: array[index], batches)
                logs, state = train_step(state, batch)
                return state, logs

            logs = jax.tree.map(jnp.zeros_like, shapes)
            state, logs = jax.lax.fori_loop(0, count, body, (state, logs))
            return logs, state

        def one_step(state, batch):
            traced.append("step")
            return self.train_step(state, batch)

        def stack_and_scan(state, batches, count):
            stacked = jax.tree.map(lambda *arrays: jnp.stack(arrays), *batches)
            return scan_steps(state, stacked, count)

        def gather_and_scan(state, arrays, indices, count):
            return scan_steps(state, gather(arrays, indices), count)

        def gather_and_step(state, arrays, indices):
            return one_step(state, gather(arrays, indices))

        out_shardings = None
        if keras.distribution.distribution() is not None:
            # As Keras does: the new state has the layouts of the variables.
            out_shardings = (None, self.state_shardings())

        def compiled(function):
            return jax.jit(function, donate_argnums=0, out_shardings=out_shardings)

        stack_and_scan, one_step_jit = compiled(stack_and_scan), compiled(one_step)
        gather_and_scan, gather_and_step = (
            compiled(gather_and_scan),
            compiled(gather_and_step),
        )

        scan_shapes = []  # the shapes of the batches the scan takes: the first's

        def train_function(state, iterator):
            feed = getattr(self, "scan_feed", None)
            if feed is not None:
                return train_on_device(state, feed)
            batches = list(itertools.islice(iterator, steps))
            if not batches:
                raise StopIteration
            # The leading batches shaped like the first of `fit` go through the
            # scan; the rest (a short last batch) one at a time.
            shapes = [tree_shapes(batch) for batch in batches]
            if not scan_shapes:
                scan_shapes.append(shapes[0])
            scanned = next(
                (i for i, shape in enumerate(shapes) if shape != scan_shapes[0]),
                len(batches),
            )
            logs = None
            if scanned:
                padding = [batches[scanned - 1]] * (steps - scanned)
                logs, state = stack_and_scan(
                    state, batches[:scanned] + padding, np.int32(scanned)
                )
            for batch in batches[scanned:]:
                logs, state = one_step_jit(state, batch)
            return logs, state

        def train_on_device(state, feed):
            """The next execution's batches gathered from `feed`'s arrays on the
            device: the full batches by the scan, a short last one by one step."""
            full, short = feed.take(steps)
            if not len(full) and short is None:
                raise StopIteration
            logs, arrays = None, feed.on_device()
            if len(full):
                padding = np.repeat(full[-1:], steps - len(full), axis=0)
                logs, state = gather_and_scan(
                    state, arrays, np.concatenate([full, padding]), np.int32(len(full))
                )
            if short is not None:
                logs, state = gather_and_step(state, arrays, short)
            return logs, state

        train_function.traced = traced
        self.train_function = train_function

    def state_shardings(self):
        """The shardings of `fit`'s train state: `(trainable_variables,
        non_trainable_variables, optimizer_variables, metrics_variables)`."""
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables,
            self.metrics_variables,
        )
        return tuple([v.value.sharding for v in variables] for variables in groups)


def tree_shapes(batch):
    """The shapes of the arrays of a batch."""
    return [jnp.shape(array) for array in jax.tree.leaves(batch)]


def gather(arrays, indices):
    """The rows `indices` of every array of `arrays` (inside the compiled program)."""
    return jax.tree.map(lambda array: array[indices], arrays)


def on_device_batches(data):
    """`data` (what `fit` trains on) if the scan can gather its batches on the
    device: an `EpochBatches` in memory (see its `on_device`), one process, no
    `keras.distribution`; else None (the batches come from Keras's data adapter)."""
    if keras.distribution.distribution() is not None or jax.process_count() > 1:
        return None
    if not isinstance(data, EpochBatches) or not data.fits_on_device():
        return None
    return data

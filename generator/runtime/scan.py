# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""`ScannedExecution`: the train steps of one `steps_per_execution` as one
`jax.lax.scan`, a mixin of the project's model class."""

import itertools

import jax
import jax.numpy as jnp
import keras


class ScannedExecution:
    """Runs the `steps_per_execution` train steps of one execution of `fit` as one
    jitted `jax.lax.scan` over the stacked batches, instead of one dispatch per step.

    A mixin of a Keras model class, first among its bases (`class Net(
    ScannedExecution, StatelessSteps, keras.Model)`). The same `train_step` runs on
    the same batches in the same order as in Keras's own loop, so the weights and
    logs are the same; callbacks see every execution and every epoch. An execution
    with fewer full batches (the end of an epoch, a short last batch) runs them one
    jitted step at a time. Under a `keras.distribution` (data or model parallel,
    several processes) the state keeps every variable's layout, as in Keras's own
    train function. With `steps_per_execution=1`, `run_eagerly` or without
    `jit_compile`, Keras's own train function runs.
    """

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return
        if self.steps_per_execution == 1 or self.run_eagerly or not self.jit_compile:
            super().make_train_function(force=force)
            return
        steps = self.steps_per_execution

        def scan_steps(state, batches):
            """`(logs, state)` after one `train_step` per batch; logs of the last."""
            stacked = jax.tree.map(lambda *arrays: jnp.stack(arrays), *batches)

            def body(state, data):
                logs, state = self.train_step(state, data)
                return state, logs

            state, logs = jax.lax.scan(body, state, stacked)
            return jax.tree.map(lambda values: values[-1], logs), state

        out_shardings = None
        if keras.distribution.distribution() is not None:
            # As Keras does: the new state has the layouts of the variables.
            out_shardings = (None, self.state_shardings())
        scan_steps = jax.jit(scan_steps, donate_argnums=0, out_shardings=out_shardings)
        one_step = jax.jit(
            self.train_step, donate_argnums=0, out_shardings=out_shardings
        )

        def train_function(state, iterator):
            batches = list(itertools.islice(iterator, steps))
            if not batches:
                raise StopIteration
            shapes = [
                [jnp.shape(array) for array in jax.tree.leaves(batch)]
                for batch in batches
            ]
            if len(batches) == steps and all(shape == shapes[0] for shape in shapes):
                return scan_steps(state, batches)
            for batch in batches:
                logs, state = one_step(state, batch)
            return logs, state

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

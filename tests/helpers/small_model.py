"""A small model and its data for the runtime's tests (tests/runtime/): Dense with an
L2 regularizer, BatchNormalization and Dropout (state that must come back exactly),
three classes. Importing this module imports no keras; the functions that need it do.
"""

from __future__ import annotations

import numpy as np


def make_data(count, seed=0):
    """`(x, y, sample_weight)`: 4 features, integer labels 0..2, per-sample weights."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0.5).astype("int32")
    weights = rng.uniform(0.5, 2.0, size=count).astype("float32")
    return x, y, weights


def build(cls=None, steps_per_execution=1, seed=7):
    """A compiled functional model of class `cls` (default `keras.Model`)."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(
        8, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3)
    )(inputs)
    hidden = keras.layers.BatchNormalization()(hidden)
    hidden = keras.layers.Dropout(0.3, seed=1)(hidden)
    outputs = keras.layers.Dense(3, activation="softmax")(hidden)
    model = (cls or keras.Model)(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def state(model):
    """Every variable `fit` carries (weights, BatchNorm statistics, seed states,
    optimizer and metric variables), as arrays."""
    from keras_jax_scaffold.runtime.backup import state_variables

    return {
        f"{group}_{index}": np.asarray(variable.numpy())
        for group, variables in state_variables(model).items()
        for index, variable in enumerate(variables)
    }


# The defaults a project's train.py passes to `options.parse_args`, for the runtime's
# tests of whole runs (one step per execution, float32).
OPTION_DEFAULTS = {
    "prog": "net-train",
    "description": "Train Net.",
    "learning_rate": 0.01,
    "steps_per_execution": 1,
    "dtype_policy": "float32",
}


def options(*argv):
    """The checked options of a project's train for the command line `argv`."""
    from keras_jax_scaffold.runtime.options import parse_args

    return parse_args([str(a) for a in argv], **OPTION_DEFAULTS)

"""A small model and data for the runtime's tests: Dense with an L2 regularizer,
BatchNormalization and Dropout (state that must come back exactly), three classes."""

from __future__ import annotations

import sys

import numpy as np
import pytest


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


@pytest.fixture
def small():
    """The helpers above, for a test: `small.build`, `small.make_data`, `small.state`."""

    class Small:
        pass

    for function in (build, make_data, state):
        setattr(Small, function.__name__, staticmethod(function))
    return Small


@pytest.fixture(autouse=True)
def fresh_keras():
    """A fresh Keras state (names, dtype policy) for every test that uses Keras."""
    yield
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()
        keras.config.set_dtype_policy("float32")

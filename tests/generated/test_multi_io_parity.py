"""The generated steps stay exact for a model with two named inputs and two named
outputs: dict inputs and targets, `loss={...}`, `loss_weights={...}` and metrics per
output, against Keras's built-in JAX steps (rtol 1e-6), with per-output loss logs
(`NAME_loss`) and per-output metric logs (`NAME_METRIC`).

The model is the one `new --output ... --input ...` generates for each model type
that allows named inputs and outputs (a Sequential model cannot have them), and, for
the add_loss path (an activity regularizer), a hand-written two-input, two-output
model built from the generated class.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

from tests.helpers import support
from tests.helpers.parity import TWO_IO
from tests.helpers.support import assert_same, compare, fit_and_evaluate

MULTI_IO_MODEL_TYPES = ("functional", "subclassed")
INPUT_SHAPES = {"features": (6,), "image": (4, 3)}
NUM_CLASSES = 3
LOSSES = {
    "label": keras.losses.SparseCategoricalCrossentropy,
    "box": keras.losses.MeanSquaredError,
}
LOSS_WEIGHTS = {"label": 1.0, "box": 0.5}


def _metrics():
    return {
        "label": [
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top_2"),
        ],
        "box": [keras.metrics.MeanAbsoluteError(name="mae")],
    }


def _layers():
    return {
        "flatten": keras.layers.Flatten(),
        "merge": keras.layers.Concatenate(),
        "dense": keras.layers.Dense(
            16,
            activation="relu",
            kernel_regularizer=keras.regularizers.L2(1e-2),
            activity_regularizer=keras.regularizers.L1(1e-3),
        ),
        "batch_norm": keras.layers.BatchNormalization(),
        "dropout": keras.layers.Dropout(0.2),
        "label": keras.layers.Dense(NUM_CLASSES, activation="softmax"),
        "box": keras.layers.Dense(2),
    }


def _forward(layers, inputs, training=None):
    kwargs = {} if training is None else {"training": training}
    merged = layers["merge"]([inputs["features"], layers["flatten"](inputs["image"])])
    hidden = layers["dense"](merged)
    hidden = layers["batch_norm"](hidden, **kwargs)
    hidden = layers["dropout"](hidden, **kwargs)
    return {"label": layers["label"](hidden), "box": layers["box"](hidden)}


def build_two_io(model_type, cls):
    """A compiled two-input, two-output model of class ``cls`` (the generated class or
    its built-in twin)."""
    inputs = {
        name: keras.Input(shape=shape, name=name)
        for name, shape in INPUT_SHAPES.items()
    }
    if model_type == "functional":
        model = cls(inputs=inputs, outputs=_forward(_layers(), inputs))
    else:

        class TwoInTwoOut(cls):
            def __init__(self, **kwargs):
                keras.Model.__init__(self, **kwargs)  # not the generated layers
                self.parts = _layers()

            def call(self, inputs, training=False):
                return _forward(self.parts, inputs, training)

        model = TwoInTwoOut()
        model(inputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss={name: loss() for name, loss in LOSSES.items()},
        loss_weights=LOSS_WEIGHTS,
        metrics=_metrics(),
    )
    return model


def make_two_io_dataset(num_samples, seed):
    rng = np.random.default_rng(seed)
    x = {
        name: rng.normal(size=(num_samples, *shape)).astype("float32")
        for name, shape in INPUT_SHAPES.items()
    }
    y = {
        "label": rng.integers(0, NUM_CLASSES, size=(num_samples,)).astype("int32"),
        "box": rng.normal(size=(num_samples, 2)).astype("float32"),
    }
    return x, y


def _module(tmp_path, model_type):
    """The generated two-input, two-output module."""
    return support.generate(tmp_path, model_type=model_type, **TWO_IO)


def _compare(module, model_type, fit_kwargs, build=None, **kwargs):
    x, y = module.make_dataset(num_samples=37, seed=1)
    return compare(module, x, y, fit_kwargs, build=build, **kwargs)


EXPECTED_LOGS = {
    "loss",
    "label_loss",
    "box_loss",
    "label_accuracy",
    "label_sparse_top_k_categorical_accuracy",
    "box_mae",
}


@pytest.mark.parametrize("model_type", MULTI_IO_MODEL_TYPES)
def test_generated_model_takes_and_gives_dicts(tmp_path, model_type):
    module = _module(tmp_path, model_type)
    x, y = module.make_dataset(num_samples=5, seed=0)
    assert {k: v.shape for k, v in x.items()} == {
        "features": (5, 6),
        "image": (5, 4, 3),
    }
    assert {k: (v.shape, str(v.dtype)) for k, v in y.items()} == {
        "label": ((5,), "int32"),
        "box": ((5, 2), "float32"),
    }
    assert module.INPUT_SHAPES == {"features": (6,), "image": (4, 3)}
    keras.backend.clear_session()
    model = module.build_model()
    predictions = model.predict(x, verbose=0)
    assert {k: v.shape for k, v in predictions.items()} == {
        "label": (5, module.NUM_CLASSES),
        "box": (5, 2),
    }
    assert model.compiled
    assert model.get_compile_config()["loss_weights"] == {"label": 1.0, "box": 0.5}


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MULTI_IO_MODEL_TYPES)
def test_sample_weights_short_last_batch_validation(tmp_path, model_type):
    """37 samples in batches of 8, one weight per sample for both outputs in `fit`,
    one weight array per output in `evaluate`, validation data."""
    module = _module(tmp_path, model_type)
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.2, 3.0, size=(37,)).astype("float32")
    per_output = {
        name: rng.uniform(0.2, 3.0, size=(37,)).astype("float32") for name in LOSSES
    }
    x_val, y_val = module.make_dataset(num_samples=11, seed=2)
    result = _compare(
        module,
        model_type,
        {
            "batch_size": 8,
            "epochs": 2,
            "sample_weight": weights,
            "validation_data": (x_val, y_val),
        },
        eval_kwargs={"batch_size": 8, "sample_weight": per_output},
    )
    history = result["history"]
    assert set(history) == EXPECTED_LOGS | {f"val_{key}" for key in EXPECTED_LOGS}
    assert set(result["evaluate"]) == EXPECTED_LOGS
    assert history["label_loss"][0] != history["box_loss"][0]
    assert history["loss"][0] != history["loss"][1]


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MULTI_IO_MODEL_TYPES)
def test_per_output_sample_weights(tmp_path, model_type):
    module = _module(tmp_path, model_type)
    rng = np.random.default_rng(4)
    per_output = {
        name: rng.uniform(0.2, 3.0, size=(37,)).astype("float32") for name in LOSSES
    }
    _compare(
        module,
        model_type,
        {"batch_size": 8, "epochs": 2, "sample_weight": per_output},
    )


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MULTI_IO_MODEL_TYPES)
def test_mixed_float16(tmp_path, model_type):
    module = _module(tmp_path, model_type)

    def build(cls):
        keras.mixed_precision.set_global_policy("mixed_float16")
        model = support.build_with(module, cls)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        return model

    try:
        _compare(module, model_type, {"batch_size": 8, "epochs": 2}, build=build)
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MULTI_IO_MODEL_TYPES)
def test_regularizers_add_loss_path(tmp_path, model_type):
    """A hand-written two-input, two-output model of the generated class with an
    activity regularizer (the add_loss path), an L2 kernel, BatchNorm and Dropout."""
    module = _module(tmp_path, model_type)
    x, y = make_two_io_dataset(37, seed=1)
    compare(
        module,
        x,
        y,
        {"batch_size": 8, "epochs": 2},
        build=lambda cls: build_two_io(model_type, cls),
    )


def test_class_weight_is_refused_by_keras_for_several_outputs(tmp_path):
    """Keras allows `class_weight` for one output only; the built-in and the generated
    steps meet the same refusal (the parity for one output is in test_parity.py)."""
    module = _module(tmp_path, "functional")
    generated_cls, builtin_cls = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=16, seed=1)
    for cls in (generated_cls, builtin_cls):
        model = support.build_with(module, cls)
        with pytest.raises(ValueError, match="only supported for Models with a single"):
            model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)


@pytest.mark.slow
def test_a_step_that_drops_sample_weights_is_detected(tmp_path):
    """Negative control: a generated class whose loss ignores the per-output sample
    weights trains differently, and the comparison above fails on it."""
    module = _module(tmp_path, "functional")
    generated_cls, builtin_cls = support.builtin_twin(module)

    class DropsWeights(generated_cls):
        def compute_loss(self, x, y, y_pred, sample_weight=None, training=True):
            return super().compute_loss(x, y, y_pred, None, training=training)

    x, y = module.make_dataset(num_samples=37, seed=1)
    rng = np.random.default_rng(4)
    fit = {
        "batch_size": 8,
        "epochs": 2,
        "sample_weight": {
            name: rng.uniform(0.2, 3.0, size=(37,)).astype("float32") for name in LOSSES
        },
    }
    broken = fit_and_evaluate(
        lambda: support.build_with(module, DropsWeights), x, y, fit
    )
    builtin = fit_and_evaluate(
        lambda: support.build_with(module, builtin_cls), x, y, fit
    )
    with pytest.raises(AssertionError):
        assert_same(broken, builtin)


@pytest.mark.slow
def test_data_parallel_four_cpu_devices(tmp_path):
    """keras.distribution.DataParallel over 4 simulated CPU devices, both model types
    (one fresh process)."""
    stdout = support.run_check_script(
        "dataparallel_check.py", tmp_path, "multi_io", *MULTI_IO_MODEL_TYPES,
        timeout=600,
    )  # fmt: skip
    for model_type in MULTI_IO_MODEL_TYPES:
        assert f"dataparallel-ok {model_type} " in stdout, stdout

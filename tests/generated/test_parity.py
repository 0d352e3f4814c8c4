"""The generated steps train exactly like Keras's built-in JAX steps.

Each test generates a module, builds the generated model and a twin that uses
`keras.Model.train_step/test_step/predict_step` (the JAXTrainer reference), trains both
from the same seed on the same data, and compares history, evaluate results, predictions
and every weight (BatchNorm statistics and RNG seed state included).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

from tests.helpers import support
from tests.helpers.parity import CONFIGS
from tests.helpers.support import assert_same, compare, fit_and_evaluate

MODEL_TYPES = ("sequential", "functional", "subclassed")


# The sparse classifier on every model type, each other loss on one: a loss and its
# metrics are compiled the same way whatever model computes y_pred (every model type
# is also proven with class weights, regularizers, mixed precision and DataParallel).
SAMPLE_WEIGHT_CASES = [
    *(("sparse", model_type) for model_type in MODEL_TYPES),
    ("binary", "functional"),
    ("regression", "subclassed"),
    ("onehot", "sequential"),
]


def test_sample_weight_cases_cover_every_config_and_model_type():
    assert {config for config, _ in SAMPLE_WEIGHT_CASES} == set(CONFIGS)
    for model_type in MODEL_TYPES:
        assert sum(m == model_type for _, m in SAMPLE_WEIGHT_CASES) >= 2, model_type


@pytest.mark.slow
@pytest.mark.parametrize("config, model_type", SAMPLE_WEIGHT_CASES)
def test_sample_weight_short_last_batch_and_validation(tmp_path, model_type, config):
    """37 samples in batches of 8 (last batch 5), per-sample weights, validation data."""
    module = support.generate(tmp_path, model_type=model_type, **CONFIGS[config])
    x, y = module.make_dataset(num_samples=37, seed=1)
    x_val, y_val = module.make_dataset(num_samples=11, seed=2)
    sample_weight = (
        np.random.default_rng(3).uniform(0.2, 3.0, size=(37,)).astype("float32")
    )
    result = compare(
        module,
        x,
        y,
        {
            "batch_size": 8,
            "epochs": 2,
            "sample_weight": sample_weight,
            "validation_data": (x_val, y_val),
        },
        eval_kwargs={"batch_size": 8, "sample_weight": sample_weight},
    )
    losses = result["history"]["loss"]
    assert np.all(np.isfinite(losses)) and losses[0] != losses[1]


# One parity check stays in the fast tier (`-m "not slow"`): the functional model.
@pytest.mark.parametrize(
    "model_type",
    [
        pytest.param(m, marks=[] if m == "functional" else [pytest.mark.slow])
        for m in MODEL_TYPES
    ],
)
def test_class_weight(tmp_path, model_type):
    module = support.generate(tmp_path, model_type=model_type, **CONFIGS["sparse"])
    x, y = module.make_dataset(num_samples=40, seed=1)
    compare(
        module,
        x,
        y,
        {"batch_size": 16, "epochs": 2, "class_weight": {0: 0.5, 1: 2.0, 2: 1.0}},
    )


def _regularized_layers(module):
    """Activity and kernel regularizers, BatchNorm and Dropout (the add_loss path)."""
    return [
        keras.layers.Dense(
            16,
            activation="relu",
            kernel_regularizer=keras.regularizers.L2(1e-2),
            activity_regularizer=keras.regularizers.L1(1e-2),
        ),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(module.OUTPUT_UNITS, activation="softmax"),
    ]


@pytest.mark.slow
@pytest.mark.usefixtures("xla_optimizations")
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_regularizers_dropout_batchnorm(tmp_path, model_type):
    """Losses from add_loss (activity regularizers) and weight regularizers are trained
    on and logged; Dropout's seed and BatchNorm's statistics come out of the step.
    Compiled with XLA's optimisations on, as users run it (the suite turns them off)."""
    module = support.generate(tmp_path, model_type=model_type, **CONFIGS["sparse"])

    def build(cls):
        if model_type == "sequential":
            model = cls(
                [keras.Input(shape=module.INPUT_SHAPE), *_regularized_layers(module)]
            )
        elif model_type == "functional":
            inputs = keras.Input(shape=module.INPUT_SHAPE)
            x = inputs
            for layer in _regularized_layers(module):
                x = layer(x)
            model = cls(inputs=inputs, outputs=x)
        else:

            class WithAddLoss(cls):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.dense = _regularized_layers(module)[0]

                def call(self, inputs, training=False):
                    outputs = super().call(inputs, training=training)
                    self.add_loss(1e-2 * keras.ops.mean(keras.ops.square(outputs)))
                    return outputs

            model = WithAddLoss()
            model(keras.Input(shape=module.INPUT_SHAPE))
        return module.compile_model(model)

    x, y = module.make_dataset(num_samples=48, seed=1)
    compare(module, x, y, {"batch_size": 16, "epochs": 2}, build=build)


def test_dropout_rng_state_advances(tmp_path):
    """The seed generator state is carried out of the step (not constant under jit)."""
    module = support.generate(tmp_path, model_type="sequential", **CONFIGS["sparse"])
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = module.build_model()
    seeds_before = [
        np.asarray(v) for v in model.non_trainable_variables if "seed" in v.path
    ]
    assert seeds_before, "the default model has a Dropout layer with a seed generator"
    x, y = module.make_dataset(num_samples=32, seed=0)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    seeds_after = [
        np.asarray(v) for v in model.non_trainable_variables if "seed" in v.path
    ]
    assert any(not np.array_equal(a, b) for a, b in zip(seeds_before, seeds_after))


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_mixed_float16_loss_scaling(tmp_path, model_type):
    """Under mixed_float16 the optimizer is a LossScaleOptimizer: the generated step
    scales the loss like Keras (else gradients would be ~2**15 too small)."""
    module = support.generate(tmp_path, model_type=model_type, **CONFIGS["sparse"])
    x, y = module.make_dataset(num_samples=37, seed=1)

    def build(cls):
        keras.mixed_precision.set_global_policy("mixed_float16")
        model = support.build_with(module, cls)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        return model

    try:
        compare(module, x, y, {"batch_size": 8, "epochs": 2}, build=build)
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_mixed_bfloat16(tmp_path, model_type):
    """Under mixed_bfloat16 (bfloat16 compute, float32 variables, no loss scaling) the
    generated step trains exactly like Keras's."""
    module = support.generate(tmp_path, model_type=model_type, **CONFIGS["sparse"])
    x, y = module.make_dataset(num_samples=37, seed=1)

    def build(cls):
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        model = support.build_with(module, cls)
        assert model.compute_dtype == "bfloat16"
        assert not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        return model

    try:
        compare(module, x, y, {"batch_size": 8, "epochs": 2}, build=build)
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
def test_dtype_policy_answer_trains_like_keras_global_policy(tmp_path):
    """`--dtype-policy mixed_bfloat16`: the module's build_model builds under it and
    sets Keras's global policy back; it trains exactly like Keras's built-in steps on
    the same model built under Keras's own global policy (the negative control below
    shows float32 and mixed_bfloat16 are told apart)."""
    policy = "mixed_bfloat16"
    module = support.generate(
        tmp_path, model_type="functional", dtype_policy=policy, **CONFIGS["sparse"]
    )
    assert module.DTYPE_POLICY == policy
    generated_cls, builtin_cls = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=37, seed=1)

    def generated():
        model = support.build_with(module, generated_cls)
        assert model.dtype_policy.name == policy
        assert model.compute_dtype == policy.removeprefix("mixed_")
        assert keras.config.dtype_policy().name == "float32"  # set back
        return model

    def builtin():
        # The undecorated build_model under Keras's own global policy.
        keras.mixed_precision.set_global_policy(policy)
        original = module.build_model
        module.build_model = original.__wrapped__
        try:
            return support.build_with(module, builtin_cls)
        finally:
            module.build_model = original
            keras.mixed_precision.set_global_policy("float32")

    fit = {"batch_size": 8, "epochs": 2}
    result = fit_and_evaluate(generated, x, y, fit)
    assert_same(result, fit_and_evaluate(builtin, x, y, fit))
    assert np.all(np.isfinite(result["history"]["loss"]))


# The functional model stays in the fast tier; a multi-network build (build_model
# calls the networks' builders) is covered by the gan.
@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(
            {"model_type": m}, marks=[] if m == "functional" else [pytest.mark.slow]
        )
        for m in MODEL_TYPES
    ]
    + [
        pytest.param(
            {"recipe": "gan", "loss": "bce", "metrics": ()}, marks=pytest.mark.slow
        )
    ],
    ids=[*MODEL_TYPES, "gan"],
)
def test_dtype_policy_answer_mixed_float16_scales_the_loss(tmp_path, answers):
    """`--dtype-policy mixed_float16`: the model is built under it (float16 compute,
    float32 variables, a LossScaleOptimizer from compile), Keras's global policy
    untouched; a float32 answer writes no policy code (the model follows the global
    policy)."""
    keras.backend.clear_session()
    module = support.generate(tmp_path, dtype_policy="mixed_float16", **answers)
    model = module.build_model()
    weighted = [layer for layer in model._flatten_layers() if layer.weights]
    assert model.dtype_policy.name == "mixed_float16"
    policies = [layer.dtype_policy.name for layer in weighted]
    if "recipe" in answers:  # the networks' output layers are float32 on purpose
        assert policies.count("mixed_float16") == len(policies) - 2, policies
    else:
        assert policies == ["mixed_float16"] * len(policies), policies
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.weights[0].dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"
    assert "--dtype-policy mixed_float16" in module.__doc__
    plain = support.generate(tmp_path / "plain", **answers)
    assert not hasattr(plain, "DTYPE_POLICY") and "--dtype-policy" not in plain.__doc__


@pytest.mark.slow
def test_mixed_bfloat16_parity_sees_the_policy(tmp_path):
    """Guard for the test above: the same training in float32 is told apart from
    mixed_bfloat16, so the parity test can see a step that ignores the policy."""
    module = support.generate(tmp_path, model_type="functional", **CONFIGS["sparse"])
    generated_cls, builtin_cls = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=32, seed=1)

    def build(cls, policy):
        keras.mixed_precision.set_global_policy(policy)
        return support.build_with(module, cls)

    fit = {"batch_size": 8, "epochs": 2}
    try:
        in_float32 = fit_and_evaluate(
            lambda: build(generated_cls, "float32"), x, y, fit
        )
        builtin = fit_and_evaluate(
            lambda: build(builtin_cls, "mixed_bfloat16"), x, y, fit
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")
    with pytest.raises(AssertionError):
        assert_same(in_float32, builtin)


@pytest.mark.slow
def test_step_without_loss_scaling_differs(tmp_path):
    """Guard for the test above: dropping `scale_loss` changes the mixed-precision
    result, so the parity test can see a missing loss scale."""
    module = support.generate(tmp_path, model_type="functional", **CONFIGS["sparse"])
    generated_cls, builtin_cls = support.builtin_twin(module)

    class NoScaling(generated_cls):
        def forward_and_loss(self, *args, **kwargs):
            optimizer = self.optimizer
            original = optimizer.scale_loss
            optimizer.scale_loss = lambda loss: loss
            try:
                return super().forward_and_loss(*args, **kwargs)
            finally:
                optimizer.scale_loss = original

    x, y = module.make_dataset(num_samples=32, seed=1)

    def build(cls):
        keras.mixed_precision.set_global_policy("mixed_float16")
        return support.build_with(module, cls)

    fit = {"batch_size": 8, "epochs": 2}
    try:
        unscaled = fit_and_evaluate(lambda: build(NoScaling), x, y, fit)
        builtin = fit_and_evaluate(lambda: build(builtin_cls), x, y, fit)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    with pytest.raises(AssertionError):
        assert_same(unscaled, builtin)


def test_generated_helpers_do_not_shadow_keras(tmp_path):
    """Helper methods of the generated class must not override Keras internals."""
    module = support.generate(tmp_path, model_type="subclassed")
    generated_cls, _ = support.builtin_twin(module)
    own = set(vars(generated_cls)) - {"__module__", "__doc__", "__init__", "call"}
    overridden = {"train_step", "test_step", "predict_step", "__qualname__"}
    helpers = sorted(
        name
        for name in own - overridden
        if not name.startswith("__") and callable(getattr(generated_cls, name))
    )
    assert helpers == ["forward_and_loss", "update_metrics"]
    for name in helpers:
        assert not hasattr(keras.Model, name), f"{name} shadows keras.Model.{name}"


def test_keras_private_loss_tracker_contract():
    """The one private name generated code uses. If Keras renames or changes it, this
    fails loudly: see `_loss_tracker` in templates/module.py.jinja."""
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(loss="mse", metrics=["mae"])
    tracker = model._loss_tracker
    assert isinstance(tracker, keras.metrics.Mean)
    assert tracker.name == "loss"
    assert model.metrics[0] is tracker


@pytest.mark.slow
def test_data_parallel_four_cpu_devices(tmp_path):
    """keras.distribution.DataParallel over 4 simulated CPU devices, every model type
    (one fresh process)."""
    stdout = support.run_check_script(
        "dataparallel_check.py", tmp_path, "single", *MODEL_TYPES, timeout=600
    )
    for model_type in MODEL_TYPES:
        assert f"dataparallel-ok {model_type} " in stdout, stdout


def _sparse_rows(module, nonzeros_per_row):
    """A scipy CSR input with `nonzeros_per_row[i]` stored values in row i; `fit`
    hands each batch to the step as a JAX BCOO array."""
    import scipy.sparse

    x, y = module.make_dataset(num_samples=len(nonzeros_per_row), seed=1)
    mask = np.zeros(x.shape, dtype=bool)
    for row, count in enumerate(nonzeros_per_row):
        mask[row, :count] = True
    return scipy.sparse.csr_matrix(np.where(mask, x, 0.0).astype("float32")), y


@pytest.mark.slow
def test_sparse_inputs_loss_weighted_by_rows(tmp_path):
    """Two batches of 8 rows with 8 and 32 stored values: the loss mean is weighted
    by rows (as Keras does), not by stored values, in fit and evaluate."""
    module = support.generate(tmp_path, model_type="subclassed", **CONFIGS["sparse"])
    x, y = _sparse_rows(module, [1] * 8 + [4] * 8)
    assert [x[:8].nnz, x[8:].nnz] == [8, 32]
    compare(module, x, y, {"batch_size": 8, "epochs": 2}, eval_kwargs={"batch_size": 8})


@pytest.mark.slow
def test_sparse_inputs_weighted_by_stored_values_differs(tmp_path):
    """Guard for the test above: a step that counts a sparse batch by its stored
    values (JAX's `tree_leaves(x)[0]`, the old bug) logs a different loss."""
    import jax

    module = support.generate(tmp_path, model_type="subclassed", **CONFIGS["sparse"])
    generated_cls, builtin_cls = support.builtin_twin(module)

    class StoredValueCount(generated_cls):
        def update_metrics(self, metrics_variables, loss, x, y, y_pred, sw):
            stored_values = jax.tree_util.tree_leaves(x)[0]
            return super().update_metrics(
                metrics_variables, loss, stored_values, y, y_pred, sw
            )

    x, y = _sparse_rows(module, [1] * 8 + [4] * 8)
    fit = {"batch_size": 8, "epochs": 2}
    wrong = fit_and_evaluate(
        lambda: support.build_with(module, StoredValueCount), x, y, fit
    )
    builtin = fit_and_evaluate(
        lambda: support.build_with(module, builtin_cls), x, y, fit
    )
    with pytest.raises(AssertionError, match="loss"):
        assert_same(wrong, builtin)


def _compute_loss_override(base, with_training):
    """`base` with `compute_loss` and `call` overrides, with or without the `training`
    argument (overrides written before Keras 3.3 have none in `compute_loss`)."""
    if with_training:

        class Override(base):
            def compute_loss(
                self, x=None, y=None, y_pred=None, sample_weight=None, training=True
            ):
                loss = super().compute_loss(
                    x, y, y_pred, sample_weight, training=training
                )
                return loss * 3.0 if training else loss

    else:

        class Override(base):
            def call(self, inputs):
                return super().call(inputs)

            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
                return 3.0 * super().compute_loss(x, y, y_pred, sample_weight)

    return Override


@pytest.mark.slow
@pytest.mark.parametrize("with_training", [False, True])
def test_compute_loss_override(tmp_path, with_training):
    """`compute_loss` and `call` overrides get `training=` only when they accept it
    (without the argument the step used to raise TypeError), and then the right value.
    """
    module = support.generate(tmp_path, model_type="subclassed", **CONFIGS["sparse"])
    generated_cls, builtin_cls = support.builtin_twin(module)
    generated_cls = _compute_loss_override(generated_cls, with_training)
    builtin_cls = _compute_loss_override(builtin_cls, with_training)
    x, y = module.make_dataset(num_samples=24, seed=1)
    fit = {"batch_size": 8, "epochs": 2, "validation_data": (x, y)}
    generated = fit_and_evaluate(
        lambda: support.build_with(module, generated_cls), x, y, fit
    )
    builtin = fit_and_evaluate(
        lambda: support.build_with(module, builtin_cls), x, y, fit
    )
    assert_same(generated, builtin)
    # The override ran: with `training`, training losses are 3x the evaluation ones.
    history = generated["history"]
    ratio = np.asarray(history["loss"]) / np.asarray(history["val_loss"])
    assert np.all(ratio > 2.0) if with_training else np.all(ratio < 2.0)

"""`runtime.scaling`: the scaling layers are set from the training data only (their
mean and variance, also from memory-mapped shards read in chunks), change nothing as
built, are saved and loaded with the model, and a regression on inputs and targets of
scale 100 reaches the R² of the same data standardized by hand. Negative controls:
the loss computed in the targets' units, and no scaling at all, do not."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras_jax_scaffold import context
from keras_jax_scaffold.runtime import scaling
from keras_jax_scaffold.runtime.arrays import ShardedArray
from keras_jax_scaffold.runtime.batches import EpochBatches, EpochOrder
from keras_jax_scaffold.runtime.scan import ScannedExecution

# |R² raw - R² standardized by hand| allowed. The two runs compute the same numbers
# but for float32 rounding: the model standardizes x in float32, the hand-made data
# was standardized in float64 then rounded; measured 1.2e-7 (R²) and 1.2e-7 (largest
# weight difference) after 20 epochs. A loss computed in the targets' units instead
# (the negative control) moves R² by about 1e-4 through Adam's epsilon and the
# relative weight of the L2 penalty, ten times this tolerance.
R2_TOLERANCE = 1e-5


class Scaled(scaling.TargetScaling, ScannedExecution, keras.Model):
    """The classes of a generated regression project's model (Keras's own steps)."""


class Unscaled(ScannedExecution, keras.Model):
    """Negative control: the same without `TargetScaling` (loss in target units)."""


def build(cls=Scaled, features=4, seed=0):
    """A generated regression project's functional model, smaller: input scaling,
    Dense (L2) -> BatchNorm -> Dropout -> Dense(1), target scaling; Adam, mse."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((features,))
    x = keras.layers.Normalization(dtype="float32", name="input_scaling")(inputs)
    x = keras.layers.Dense(
        16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4)
    )(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.Dense(1)(x)
    x = keras.layers.Normalization(invert=True, dtype="float32", name="target_scaling")(
        x
    )
    model = cls(inputs=inputs, outputs=x)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"],
        steps_per_execution=8,
    )  # fmt: skip
    return model


def make_data(count=480, features=4, seed=0):
    """`(x, y)` of scale 100 (features with offsets up to ±300, targets around 300)
    and the same standardized with the first 320 samples' (training) statistics."""
    rng = np.random.default_rng(seed)
    standard = rng.normal(size=(count, features))
    target = np.tanh(standard @ rng.normal(size=features) / 2) * 2
    target = target + 0.3 * rng.normal(size=count)
    x = standard * rng.uniform(50, 150, features) + rng.uniform(-300, 300, features)
    y = (100 * target + 300)[:, None]
    train = slice(0, 320)
    x_hand = (x - x[train].mean(axis=0)) / x[train].std(axis=0)
    y_hand = (y - y[train].mean(axis=0)) / y[train].std(axis=0)
    as32 = [array.astype("float32") for array in (x, y, x_hand, y_hand)]
    return as32[:2], as32[2:]


def r2(y, predicted):
    return 1.0 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2)


def fit_and_score(data, cls=Scaled, adapt=True, epochs=20):
    """Train on the first 320 samples (32 per batch), R² on the other 160."""
    x, y = data
    model = build(cls, x.shape[1])
    if adapt:
        scaling.adapt(model, (x[:320], y[:320], None))
    batches = EpochBatches((x[:320], y[:320], None), batch_size=32, seed=1)
    history = model.fit(
        batches, epochs=epochs, shuffle=False, callbacks=[EpochOrder(batches)],
        verbose=0,
    )  # fmt: skip
    score = r2(y[320:], np.asarray(model.predict(x[320:], verbose=0)))
    return score, history.history, model


def test_adapt_sets_the_layers_from_the_data_it_is_given():
    (x, y), _ = make_data()
    model = build()
    scaling.adapt(model, (x[:320], y[:320], None))
    layers = scaling.scaling_layers(model)
    assert sorted(layers) == ["input_scaling", "target_scaling"]
    for name, array in (("input_scaling", x[:320]), ("target_scaling", y[:320])):
        wide = array.astype(np.float64)
        np.testing.assert_allclose(layers[name].adapt_mean.numpy(), wide.mean(axis=0))
        np.testing.assert_allclose(layers[name].adapt_variance.numpy(), wide.var(0))
    # Standardized training inputs have mean 0 and variance 1 inside the model.
    standardized = np.asarray(layers["input_scaling"](x[:320]))
    np.testing.assert_allclose(standardized.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(standardized.var(axis=0), 1.0, rtol=1e-4)


def test_statistics_are_read_in_chunks_also_from_shards(monkeypatch):
    rng = np.random.default_rng(2)
    array = (rng.normal(size=(1000, 3)) * [1, 100, 1e4] + 5e3).astype("float32")
    shards = [array[:300], array[300:301], array[301:]]
    monkeypatch.setattr(scaling, "CHUNK_ROWS", 128)
    layer = keras.layers.Normalization()
    layer.build((None, 3))
    mean, variance = scaling.moments(ShardedArray(shards, "float32"), layer)
    np.testing.assert_allclose(mean, array.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(variance, array.astype(np.float64).var(0), rtol=1e-10)


def test_as_built_the_layers_change_nothing_bit_for_bit():
    (x, y), _ = make_data()
    model = build()
    layers = scaling.scaling_layers(model)
    np.testing.assert_array_equal(np.asarray(layers["input_scaling"](x)), x)
    np.testing.assert_array_equal(np.asarray(layers["target_scaling"](y)), y)
    np.testing.assert_array_equal(np.asarray(scaling.standardize_targets(model, y)), y)


def test_named_inputs_and_outputs_get_their_own_layers():
    model_inputs = {"a": keras.Input((2,), name="a"), "b": keras.Input((3,), name="b")}
    a = keras.layers.Normalization(name="input_scaling_a")(model_inputs["a"])
    merged = keras.layers.Concatenate()([a, model_inputs["b"]])
    outputs = {
        "value": keras.layers.Normalization(invert=True, name="target_scaling_value")(
            keras.layers.Dense(1)(merged)
        ),
        "label": keras.layers.Dense(3, activation="softmax")(merged),
    }
    model = Scaled(inputs=model_inputs, outputs=outputs)
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(5, 2, (50, 2)), "b": rng.normal(size=(50, 3))}
    y = {"value": rng.normal(300, 100, (50, 1)), "label": rng.integers(0, 3, 50)}
    scaling.adapt(model, (x, y, None))
    layers = scaling.scaling_layers(model)
    assert sorted(layers) == ["input_scaling_a", "target_scaling_value"]
    np.testing.assert_allclose(layers["input_scaling_a"].adapt_mean, x["a"].mean(0))
    standardized = scaling.standardize_targets(model, y)
    np.testing.assert_array_equal(standardized["label"], y["label"])
    np.testing.assert_allclose(
        np.asarray(standardized["value"]),
        (y["value"] - y["value"].mean()) / y["value"].std(),
        rtol=1e-5,
        atol=1e-5,
    )


def test_saved_and_loaded_with_the_model(tmp_path):
    (x, y), _ = make_data()
    model = build()
    scaling.adapt(model, (x[:320], y[:320], None))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(
        path, custom_objects={"Scaled": Scaled}, compile=False
    )
    np.testing.assert_array_equal(
        np.asarray(loaded.predict(x, verbose=0)),
        np.asarray(model.predict(x, verbose=0)),
    )
    assert float(np.mean(np.asarray(loaded.predict(x, verbose=0)))) > 100  # units


@pytest.mark.slow
def test_targets_of_scale_100_reach_the_r2_of_data_standardized_by_hand():
    """Inputs and targets of scale 100 with the scaling layers set from the training
    data, against the same data standardized by hand (training statistics) and the
    layers left as built: the same R², loss and weights but for float32 rounding
    (see R2_TOLERANCE). Negative controls: the loss computed in the targets' units
    moves R² by more than the tolerance, no scaling at all leaves R² far below."""
    raw, by_hand = make_data()
    scaled, history, model = fit_and_score(raw)
    reference, reference_history, reference_model = fit_and_score(by_hand, adapt=False)
    assert reference > 0.5
    assert abs(scaled - reference) <= R2_TOLERANCE, (scaled, reference)
    # The loss is on the standardized scale: the same numbers in both runs.
    np.testing.assert_allclose(history["loss"], reference_history["loss"], rtol=1e-4)
    for mine, theirs in zip(model.trainable_weights, reference_model.trainable_weights):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-5)
    # Metrics are in the targets' units: mae about 100 times the standardized one.
    assert history["mae"][-1] > 20 * reference_history["mae"][-1]
    in_target_units, _, _ = fit_and_score(raw, cls=Unscaled)
    assert abs(in_target_units - reference) > R2_TOLERANCE
    unscaled, _, _ = fit_and_score(raw, cls=Unscaled, adapt=False)
    assert unscaled < reference - 0.5


def test_layer_names_agree_with_the_generator():
    assert context.INPUT_SCALING == scaling.INPUT_SCALING
    assert context.TARGET_SCALING == scaling.TARGET_SCALING

# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""The scaling inside the model: its `keras.layers.Normalization` layers, set from the
training data by `adapt` (`train` does, unless `--no-scaling`), and `TargetScaling`,
the model class's mixin that computes the loss on the standardized targets.

`build_model` (model.py) puts the layers in, found here by their names:

* `input_scaling` (one input) or `input_scaling_NAME` (the named input NAME): each
  feature of a vector input becomes `(x - mean) / std` with the mean and standard
  deviation of the training data, so inputs of any scale reach the first layer at
  unit scale;
* `target_scaling` (one output) or `target_scaling_NAME` (the named output NAME), an
  inverted `Normalization` after a regression head: the head learns standardized
  targets, the model predicts `z * std + mean` in the targets' units.

Their mean and variance are weights of the model: `save`, `load_model` and `predict`
carry them. As built (mean 0, variance 1) they change nothing, bit for bit. The loss
compares targets and predictions on the standardized scale (`TargetScaling`): the
same numbers, the same gradients and the same optimizer behaviour (learning rate,
clipping, L2 weights, Huber's delta) as for targets standardized by hand; the
metrics (`mae`, ...), `evaluate` and `predict` are in the targets' own units.
"""

import keras
import numpy as np

INPUT_SCALING = "input_scaling"
TARGET_SCALING = "target_scaling"
# Rows read at a time when computing the statistics (memory-mapped shards too).
CHUNK_ROWS = 1 << 16


def layer_name(kind, name=None):
    """The scaling layer of kind `INPUT_SCALING` or `TARGET_SCALING`, for the named
    input or output `name` (None: the one input or output)."""
    return kind if name is None else f"{kind}_{name}"


def scaling_layers(model):
    """`{layer name: layer}` of the model's scaling layers."""
    return {
        layer.name: layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Normalization)
        and any(
            layer.name == kind or layer.name.startswith(f"{kind}_")
            for kind in (INPUT_SCALING, TARGET_SCALING)
        )
    }


def arrays_of(kind, data, layers):
    """`{layer name: array}`: the arrays of `data` (`x` for inputs, `y` for targets;
    an array, or a dict of named arrays) the scaling layers of `kind` learn from."""
    if data is None:
        return {}
    if isinstance(data, dict):
        named = {layer_name(kind, name): array for name, array in data.items()}
        return {name: array for name, array in named.items() if name in layers}
    return {kind: data} if kind in layers else {}


def adapt(model, data):
    """Set the model's scaling layers from the training data `(x, y, sample_weight)`
    (only the training part: never validation or test data): every layer's mean and
    variance per feature (the last axis), over all samples, unweighted. A model
    without scaling layers is left as it is. Before `fit` compiles the steps: the
    layers' statistics are constants of the compiled programs."""
    layers = scaling_layers(model)
    x, y = data[0], data[1]
    chosen = arrays_of(INPUT_SCALING, x, layers) | arrays_of(TARGET_SCALING, y, layers)
    for name, array in chosen.items():
        set_statistics(layers[name], *moments(array, layers[name]))


def moments(array, layer):
    """`(mean, variance)` of `array` per feature of `layer` (its last axis), computed
    in float64, `CHUNK_ROWS` samples at a time (Chan et al.'s pairwise update)."""
    features = tuple(layer.adapt_mean.shape)
    count, mean, squares = 0, np.zeros(features), np.zeros(features)
    for start in range(0, len(array), CHUNK_ROWS):
        rows = np.arange(start, min(start + CHUNK_ROWS, len(array)))
        part = np.asarray(array[rows], dtype=np.float64).reshape(-1, *features)
        part_mean = part.mean(axis=0)
        part_squares = ((part - part_mean) ** 2).sum(axis=0)
        total = count + len(part)
        delta = part_mean - mean
        mean = mean + delta * len(part) / total
        squares = squares + part_squares + delta**2 * count * len(part) / total
        count = total
    return mean, squares / max(count, 1)


def set_statistics(layer, mean, variance):
    """A `Normalization` layer's mean and variance, as `adapt` would set them."""
    layer.adapt_mean.assign(mean.astype(layer.adapt_mean.dtype))
    layer.adapt_variance.assign(variance.astype(layer.adapt_variance.dtype))
    layer.finalize_state()


def standardize(layer, values):
    """`values` (targets or predictions) as `layer` (an inverted `Normalization`)
    standardized them: `(values - mean) / std`, the inverse of the layer."""
    mean = keras.ops.reshape(layer.mean, (-1,))
    std = keras.ops.maximum(
        keras.ops.sqrt(keras.ops.reshape(layer.variance, (-1,))),
        keras.backend.epsilon(),
    )
    return (keras.ops.cast(values, mean.dtype) - mean) / std


def standardize_targets(model, values):
    """Targets or predictions `values` (an array, or a dict by output name)
    standardized by the model's target scaling layers; those without one as they are."""
    layers = scaling_layers(model)
    if isinstance(values, dict):
        return {
            name: (
                standardize(layers[layer_name(TARGET_SCALING, name)], value)
                if layer_name(TARGET_SCALING, name) in layers
                else value
            )
            for name, value in values.items()
        }
    if TARGET_SCALING in layers and values is not None:
        return standardize(layers[TARGET_SCALING], values)
    return values


class TargetScaling:
    """A mixin of the model class, first among its bases: the loss compares targets
    and predictions standardized with the model's target scaling layers (the scale
    the regression head learns on); metrics, `evaluate` and `predict` keep the
    targets' units. `compute_loss` is what Keras's steps and the generated steps
    both call, so the steps are unchanged."""

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        return super().compute_loss(
            x,
            standardize_targets(self, y),
            standardize_targets(self, y_pred),
            sample_weight,
            training=training,
        )

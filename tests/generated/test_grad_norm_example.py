"""examples/custom_templates/grad_norm: a tracker created in the model's constructor
(`init_state`), updated from the gradients in the train step (`train_metrics`) and left
out of evaluation (`extra_test_logs`). One template directory, for the module and the
project, for the three model types.

The value is checked against Keras's built-in step: with plain SGD, one epoch of one
batch moves the weights by ``-lr * grads``, so the gradient's global norm is the norm of
that move divided by ``lr``.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_jax_scaffold import catalog
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

from scripts.regen_examples import EXAMPLES_DIR
from tests.helpers import support

TEMPLATES = EXAMPLES_DIR / "custom_templates" / "grad_norm"
LEARNING_RATE = 0.05


def _answers(name: str, model_type: str) -> Answers:
    return Answers(
        name=name,
        model_type=model_type,
        loss="sparse_categorical_crossentropy",
        metrics=("sparse_categorical_accuracy",),
    )


def _module(directory, name, model_type, templates=TEMPLATES):
    spec = build_spec(_answers(name, model_type))
    directory.mkdir(parents=True, exist_ok=True)
    for relative, source in render_spec(spec, (templates,)).items():
        (directory / relative).write_text(source)
    module = support.import_path(directory / f"{name}.py")
    module.TEST_CLASS_NAME = spec.class_name
    return module


def _project(directory, name, model_type):
    """The project's package, imported from its src/ (no install needed)."""

    spec = build_spec(_answers(name, model_type))
    for relative, source in render_spec(spec, (TEMPLATES,), layout="project").items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return support.import_project(directory, name)


def _check_tracking(build_model, make_dataset, path):
    """grad_norm: in fit's history, once per epoch; not in validation or evaluate;
    the model saves, loads and keeps tracking."""
    import keras

    keras.utils.set_random_seed(0)
    x, y = make_dataset(num_samples=64, seed=0)
    model = build_model()
    history = model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=0)
    assert len(history.history["grad_norm"]) == 2
    assert all(v > 0 for v in history.history["grad_norm"])
    assert "val_grad_norm" not in history.history
    assert "val_loss" in history.history
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(results) == {"loss", "sparse_categorical_accuracy"}
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    again = loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert again.history["grad_norm"][0] > 0


@pytest.mark.slow
@pytest.mark.parametrize("model_type", catalog.MODEL_TYPES)
def test_module_tracks_grad_norm(tmp_path, model_type):
    module = _module(tmp_path, f"gn_module_{model_type}", model_type)
    _check_tracking(module.build_model, module.make_dataset, tmp_path / "m.keras")


@pytest.mark.slow
@pytest.mark.parametrize("model_type", catalog.MODEL_TYPES)
def test_project_tracks_grad_norm(tmp_path, model_type):
    model, data = _project(tmp_path, f"gn_project_{model_type}", model_type)
    _check_tracking(model.build_model, data.make_dataset, tmp_path / "p.keras")


def _epoch_norms(module, cls, x, y, loss_scaling):
    """Per epoch (one batch each): grad_norm as logged, and the norm of the weights'
    move divided by the learning rate."""
    import keras

    keras.utils.set_random_seed(0)
    model = support.build_with(module, cls)
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE)
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy()
    )
    moves = []

    class Moves(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.before = [
                keras.ops.convert_to_numpy(v) for v in model.trainable_variables
            ]

        def on_epoch_end(self, epoch, logs=None):
            after = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
            squares = sum(
                np.sum((a - b).astype("float64") ** 2)
                for a, b in zip(after, self.before)
            )
            moves.append(float(np.sqrt(squares)) / LEARNING_RATE)

    history = model.fit(
        x, y, batch_size=len(x), epochs=2, shuffle=False, callbacks=[Moves()], verbose=0
    )
    return history.history.get("grad_norm"), moves


@pytest.mark.slow
@pytest.mark.parametrize("loss_scaling", [False, True], ids=["float32", "loss-scale"])
def test_grad_norm_is_the_epoch_norm_of_the_true_gradients(tmp_path, loss_scaling):
    """Against Keras's built-in step: each epoch's value is that epoch's gradient norm
    (reset every epoch: the second value is not the mean over both), and under loss
    scaling the norm of the unscaled gradients."""
    module = _module(tmp_path, "gn_oracle", "functional")
    generated, builtin = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=32, seed=1)
    logged, _ = _epoch_norms(module, generated, x, y, loss_scaling)
    _, oracle = _epoch_norms(module, builtin, x, y, loss_scaling)
    assert oracle[0] != pytest.approx(oracle[1], rel=1e-3)  # a reset shows
    np.testing.assert_allclose(logged, oracle, rtol=1e-4)


@pytest.mark.slow
def test_negative_control_a_tracker_that_ignores_the_loss_scale_is_detected(tmp_path):
    """The same check fails for a copy of the template that forgets to divide the
    gradients by the loss scale."""
    broken = tmp_path / "broken" / "partials"
    broken.mkdir(parents=True)
    source = (TEMPLATES / "partials" / "steps.py.jinja").read_text(encoding="utf-8")
    assert "grad_norm / loss_scale" in source
    (broken / "steps.py.jinja").write_text(
        source.replace("grad_norm / loss_scale", "grad_norm")
    )
    module = _module(tmp_path, "gn_broken", "functional", templates=broken.parent)
    generated, builtin = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=32, seed=1)
    logged, _ = _epoch_norms(module, generated, x, y, loss_scaling=True)
    _, oracle = _epoch_norms(module, builtin, x, y, loss_scaling=True)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(logged, oracle, rtol=1e-4)

"""examples/custom_templates: the clipping template renders to the committed file, the
result trains, and one step really clips the update to ``learning_rate * clip_norm``."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import build_spec

from scripts.regen_examples import CUSTOM_EXAMPLES, EXAMPLES_DIR, render_custom_examples
from tests.helpers import support
from tests.helpers.cli import assert_golden, invoke

ANSWERS, TEMPLATE_DIR, OUTPUT = CUSTOM_EXAMPLES[0]
CLIP_NORM = float(dict(ANSWERS.variables)["clip_norm"])
COMMITTED = EXAMPLES_DIR / OUTPUT / f"{ANSWERS.name}.py"
LEARNING_RATE = 0.1


def test_committed_example_matches_the_templates():
    rendered = render_custom_examples()
    expected = [f"{output}/{answers.name}.py" for answers, _, output in CUSTOM_EXAMPLES]
    assert sorted(rendered) == sorted(expected)
    for name in expected:
        assert_golden(
            EXAMPLES_DIR / name, rendered[name], "python scripts/regen_examples.py"
        )


def test_cli_renders_the_committed_example():
    """The command in the README gives the committed file byte for byte (a dry run
    into examples/: the header names the template directory relative to it)."""
    result = invoke(
        "new",
        ANSWERS.name,
        "--no-input",
        "--model-type",
        ANSWERS.model_type,
        "--loss",
        ANSWERS.loss,
        "--metric",
        ",".join(ANSWERS.metrics),
        "--template-dir",
        str(EXAMPLES_DIR / TEMPLATE_DIR),
        "--var",
        f"clip_norm={dict(ANSWERS.variables)['clip_norm']}",
        "-o",
        str(EXAMPLES_DIR / OUTPUT),
        "--dry-run",
    )
    assert result.exit_code == 0, result.output
    *taken, written = result.stdout.splitlines()
    assert taken == [
        f"templates from {EXAMPLES_DIR / TEMPLATE_DIR}: partials/steps.py.jinja"
    ]
    assert written.split() == ["identical", str(COMMITTED), "(dry", "run)"]
    readme = (EXAMPLES_DIR / OUTPUT / "README.md").read_text(encoding="utf-8")
    assert f"--template-dir examples/{TEMPLATE_DIR} --var clip_norm=" in readme
    header = f"--var clip_norm=1.0 --template-dir {Path(TEMPLATE_DIR).name}\n"
    assert header in COMMITTED.read_text(encoding="utf-8")


def test_only_transform_gradients_changes():
    """The override replaces one block: outside it the module is the built-in one."""
    # The built-ins read no --var: render them without it (the header's command
    # differs by the --var only).
    plain = render_spec(build_spec(dataclasses.replace(ANSWERS, variables=())))
    builtin = [
        (
            line + " --var clip_norm=1.0"
            if line.startswith("    keras-jax-scaffold ")
            else line
        )
        for line in plain[COMMITTED.name].splitlines()
    ]
    text = COMMITTED.read_text(encoding="utf-8")
    record = (
        f"\nCustom templates (not the built-ins):\n    {TEMPLATE_DIR.split('/')[-1]}/"
    )
    assert record in text  # the header says which templates were used
    custom = re.sub(r"\nCustom templates .*:\n(    .*\n)+", "", text).splitlines()
    # The header's command names the template directory too.
    suffix = f" --template-dir {Path(TEMPLATE_DIR).name}"
    custom = [line.removesuffix(suffix) for line in custom]
    start = next(i for i, line in enumerate(custom) if "clip the" in line)
    end = next(
        i for i, line in enumerate(custom) if line.strip().startswith("grads = [")
    )
    assert custom[:start] + custom[end + 1 :] == builtin[:start] + builtin[start + 2 :]


@pytest.fixture(scope="module")
def module():
    imported = support.import_path(COMMITTED)
    imported.TEST_CLASS_NAME = build_spec(
        ANSWERS
    ).class_name  # for support.builtin_twin
    return imported


@pytest.mark.slow
def test_example_trains(module):
    import keras

    keras.utils.set_random_seed(0)
    x, y = module.make_dataset(num_samples=256, seed=0)
    model = module.build_model()
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert all(math.isfinite(v) for v in losses), losses
    assert losses[-1] < losses[0], losses


def _sgd_step(cls, module, x, y, sample_weight=None, loss_scaling=False):
    """How one SGD step of a ``cls`` model on ``(x, y)`` moves its trainable variables.

    Every model starts from the same weights and Dropout seeds. With ``loss_scaling``
    the optimizer is a LossScaleOptimizer (the loss, hence the gradients inside
    ``train_step``, multiplied by 2**15), as under mixed precision.
    """
    import keras

    keras.utils.set_random_seed(0)
    model = support.build_with(module, cls)
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE)
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy()
    )
    before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    model.train_on_batch(x, y, sample_weight=sample_weight)
    after = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    return [a - b for a, b in zip(after, before)]


def _global_norm(arrays) -> float:
    return float(np.sqrt(sum(np.sum(np.square(a.astype("float64"))) for a in arrays)))


def _large_gradient_batch(module):
    x, y = module.make_dataset(num_samples=64, seed=3)
    return x * 20.0, y  # the global norm of the gradient exceeds clip_norm


@pytest.mark.slow
def test_clipping_limits_the_update(module):
    """With plain SGD, weights move by -lr * clipped grads: global norm lr * clip_norm.
    Keras's built-in step (no clipping) moves them by lr * |grads| > lr * clip_norm."""
    generated, builtin = support.builtin_twin(module)
    x, y = _large_gradient_batch(module)
    delta_builtin = _sgd_step(builtin, module, x, y)
    delta_clipped = _sgd_step(generated, module, x, y)

    unclipped = _global_norm(delta_builtin)
    assert unclipped > 2 * LEARNING_RATE * CLIP_NORM, unclipped  # the case under test
    assert _global_norm(delta_clipped) == pytest.approx(
        LEARNING_RATE * CLIP_NORM, rel=1e-4
    )
    # Same direction: the clipped update is the built-in one, scaled down.
    factor = LEARNING_RATE * CLIP_NORM / unclipped
    for clipped, full in zip(delta_clipped, delta_builtin):
        np.testing.assert_allclose(clipped, full * factor, rtol=1e-3, atol=1e-6)


@pytest.mark.slow
def test_clipping_applies_to_the_unscaled_gradients(module):
    """Under loss scaling the gradients in train_step are 2**15 times too large; the
    clipping still limits the true update to lr * clip_norm (not lr * clip_norm / 2**15).
    """
    generated, _ = support.builtin_twin(module)
    x, y = _large_gradient_batch(module)
    plain = _sgd_step(generated, module, x, y)
    scaled = _sgd_step(generated, module, x, y, loss_scaling=True)
    assert _global_norm(scaled) == pytest.approx(LEARNING_RATE * CLIP_NORM, rel=1e-4)
    for a, b in zip(scaled, plain):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


@pytest.mark.slow
def test_small_gradients_are_not_clipped(module):
    """Below clip_norm the step is Keras's built-in step, exactly."""
    generated, builtin = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=64, seed=3)
    small = np.full(len(x), 0.1, dtype="float32")  # scales the loss and its gradient
    delta_builtin = _sgd_step(builtin, module, x, y, sample_weight=small)
    delta_clipped = _sgd_step(generated, module, x, y, sample_weight=small)
    assert _global_norm(delta_builtin) < LEARNING_RATE * CLIP_NORM
    for clipped, full in zip(delta_clipped, delta_builtin):
        np.testing.assert_allclose(clipped, full, rtol=1e-5, atol=1e-7)

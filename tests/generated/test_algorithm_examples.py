"""The worked examples of docs/own-algorithm.md (examples/custom_templates/): mixup, an
EMA of the weights, an input-gradient penalty and FGSM adversarial training, each a
template override built on the step blocks (`transform_batch`, `after_update`,
`evaluation_weights`, `extra_loss`) and the named state views (`values_by_path`).

Each example has two proofs, each with a negative control (a copy of its template
with a deliberate mistake fails the same assertion):

* strength zero: with its strength setting at 0 (`MIXUP_ALPHA`, `EMA_MOMENTUM`,
  `INPUT_GRADIENT_PENALTY`, `FGSM_EPSILON`) the example trains exactly like Keras's
  built-in steps; at its default strength it does not;
* a property against an oracle computed another way: mixup against its draws
  replayed outside the step and Keras's step on the batch mixed in numpy; the EMA
  against `Adam(use_ema=True)` with `keras.callbacks.SwapEMAWeights`; the penalty
  against one computed by an independent function; FGSM against Keras's step on an
  adversarial batch computed by an independent function.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from keras_jax_scaffold import catalog
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import build_spec

from scripts.regen_examples import CUSTOM_EXAMPLES, EXAMPLES_DIR
from tests.helpers import support

# Name -> (answers, template directory): the four committed examples.
EXAMPLES = {
    template_dir.rsplit("/", 1)[-1]: (answers, EXAMPLES_DIR / template_dir)
    for answers, template_dir, _ in CUSTOM_EXAMPLES
    if template_dir.rsplit("/", 1)[-1]
    in ("mixup", "ema", "input_gradient_penalty", "fgsm")
}
# The strength setting of each: 0 turns the algorithm off.
STRENGTHS = {
    "mixup": "MIXUP_ALPHA",
    "ema": "EMA_MOMENTUM",
    "input_gradient_penalty": "INPUT_GRADIENT_PENALTY",
    "fgsm": "FGSM_EPSILON",
}
RTOL, ATOL = support.RTOL, support.ATOL


def _render(directory, example, model_type=None, templates=None, layout="module"):
    """Render ``example`` (its answers, another model type or template directory)
    into ``directory``; the module, or the project's ``(model, data)`` modules."""
    answers, template_dir = EXAMPLES[example]
    name = f"{example}_{model_type or answers.model_type}_{layout}"
    answers = dataclasses.replace(
        answers, name=name, model_type=model_type or answers.model_type
    )
    spec = build_spec(answers)
    files = render_spec(spec, (templates or template_dir,), layout=layout)
    for relative, source in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    if layout == "module":
        module = support.import_path(directory / f"{name}.py")
        module.TEST_CLASS_NAME = spec.class_name
        return module
    model, data = support.import_project(directory, name)
    model.TEST_CLASS_NAME = spec.class_name
    model.make_dataset = data.make_dataset
    return model


def _broken(tmp_path, example, old, new):
    """A copy of ``example``'s template directory with ``old`` replaced by ``new``."""
    source = EXAMPLES[example][1] / "partials" / "steps.py.jinja"
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    broken = tmp_path / f"broken_{example}"
    (broken / "partials").mkdir(parents=True)
    (broken / "partials" / "steps.py.jinja").write_text(
        text.replace(old, new), encoding="utf-8"
    )
    return broken


def _twins(module, **settings):
    """The generated class with ``settings`` (class attributes) and Keras's
    built-in steps on the same class (its constructor, hence its state, alike)."""
    generated, builtin = support.builtin_twin(module)
    mine = type(f"Set{generated.__name__}", (generated,), dict(settings))
    return mine, builtin


def _values(variables):
    import keras

    return [keras.ops.convert_to_numpy(v.value) for v in variables]


def _assert_close(actual, expected, what):
    assert len(actual) == len(expected), what
    for i, (a, e) in enumerate(zip(actual, expected)):
        np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL, err_msg=f"{what} {i}")


def _assert_logs(actual, expected):
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_allclose(
            actual[key], value, rtol=RTOL, atol=ATOL, err_msg=key
        )


# ------------------------------------------------------------------- rendering


def test_every_example_uses_the_blocks_it_documents():
    """The examples double as the blocks' documentation: each overrides the blocks
    docs/own-algorithm.md names for it, and none looks state up by `id()`."""
    uses = {
        "mixup": ("init_state", "extra_methods", "transform_batch"),
        "ema": ("init_state", "extra_methods", "after_update", "evaluation_weights"),
        "input_gradient_penalty": ("extra_methods", "extra_loss"),
        "fgsm": ("extra_methods", "transform_batch"),
    }
    for example, blocks in uses.items():
        text = (EXAMPLES[example][1] / "partials" / "steps.py.jinja").read_text()
        found = {
            line.split()[2]
            for line in text.splitlines()
            if line.startswith("{% block ")
        }
        assert found == set(blocks), example
        assert f"{STRENGTHS[example]} = " in text
        assert "id(" not in text and "np.random" not in text
        assert ".assign(" not in text


@pytest.mark.parametrize("model_type", catalog.MODEL_TYPES)
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_examples_render_for_every_model_type(example, model_type):
    """Rendering formats and compiles the code (the pipeline checks it); the
    strength setting lands in the class. (Projects render in the slow tests.)"""
    answers, template_dir = EXAMPLES[example]
    spec = build_spec(dataclasses.replace(answers, model_type=model_type))
    (text,) = render_spec(spec, (template_dir,)).values()
    assert f"    {STRENGTHS[example]} = " in text
    assert f"Custom algorithm (examples/custom_templates/{example})" in text


def test_ema_refuses_a_model_without_weights_in_its_constructor(tmp_path):
    """The EMA copies need the weights in the constructor: a subclassed model gets a
    clear error instead of an empty average."""
    module = _render(tmp_path, "ema", model_type="subclassed")
    with pytest.raises(ValueError, match="only a functional model has there"):
        module.build_model()


# --------------------------------------------------------------- strength zero


def _strength_zero(module, example, strength, x, y):
    """Train the example with its strength setting at ``strength`` and Keras's
    built-in steps alike (fit with validation, evaluate, predict); assert they agree.
    The EMA's own variables are left out of the weights (Keras has none)."""
    mine, builtin = _twins(module, **{STRENGTHS[example]: strength})
    fit_kwargs = {"batch_size": 16, "epochs": 2, "validation_split": 0.25}
    results = [
        support.fit_and_evaluate(
            lambda cls=cls: support.build_with(module, cls), x, y, fit_kwargs
        )
        for cls in (mine, builtin)
    ]
    for result in results:
        result["weights"] = [
            (path, value)
            for path, value in result["weights"]
            if not path.endswith("_ema")
        ]
    support.assert_same(*results)


@pytest.mark.slow
@pytest.mark.parametrize(
    "example,model_type",
    [
        *[("mixup", model_type) for model_type in catalog.MODEL_TYPES],
        ("ema", "functional"),
        ("input_gradient_penalty", "subclassed"),
        ("fgsm", "sequential"),
    ],
)
def test_strength_zero_is_keras_step_exactly(tmp_path, example, model_type):
    """At strength 0 the example is Keras's step: history, evaluation, predictions
    and every weight (BatchNorm statistics and seed states included) agree. Mixup
    (the `transform_batch` scope and a seed generator from `init_state`) for every
    model type; the properties below train the others on every model type."""
    module = _render(tmp_path, example, model_type=model_type)
    x, y = module.make_dataset(num_samples=64, seed=0)
    _strength_zero(module, example, 0.0, x, y)


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_negative_control_the_default_strength_is_not_keras_step(tmp_path, example):
    """The same comparison fails at the example's own (default) strength: the
    parity test can see the algorithm."""
    module = _render(tmp_path, example)
    x, y = module.make_dataset(num_samples=64, seed=0)
    default = getattr(getattr(module, module.TEST_CLASS_NAME), STRENGTHS[example])
    assert default > 0
    with pytest.raises(AssertionError):
        _strength_zero(module, example, default, x, y)


@pytest.mark.slow
@pytest.mark.parametrize("example", ["mixup", "ema"])
def test_strength_zero_in_a_project(tmp_path, example):
    """The same templates in a project (the steps and `values_by_path` in steps.py,
    the state in model.py): strength zero is Keras's step there too."""
    model = _render(tmp_path, example, layout="project")
    x, y = model.make_dataset(num_samples=64, seed=0)
    _strength_zero(model, example, 0.0, x, y)


# --------------------------------------------------------------------- mixup


def _mixup_steps(module, cls, x, y, batch_size=16, seed=0):
    """Train a ``cls`` model (from ``seed``) batch by batch; per step, the step's
    draws replayed outside it from the seed generator's state, its logs and its
    weights: ``(lambda, permutation, logs, weights)``."""
    import keras

    keras.utils.set_random_seed(seed)
    model = support.build_with(module, cls)
    steps = []
    for start in range(0, len(x), batch_size):
        # The replay: a seed generator in the state the model's has before the step,
        # drawing what the step draws, in the same order.
        replay = keras.random.SeedGenerator(0)
        replay.state.assign(model.mixup_seed_generator.state.value)
        alpha = cls.MIXUP_ALPHA
        lam = float(keras.random.beta((), alpha, alpha, seed=replay))
        permutation = np.asarray(
            keras.random.shuffle(keras.ops.arange(batch_size), seed=replay)
        )
        logs = model.train_on_batch(
            x[start : start + batch_size],
            y[start : start + batch_size],
            return_dict=True,
        )
        steps.append((lam, permutation, logs, _values(model.weights)))
    return steps


def _assert_mixup_is_keras_on_mixed_batches(module, mine, builtin, x, y, batch_size=16):
    """Per step: Keras's built-in step on the batch mixed in numpy with the replayed
    draws gives the generated step's logs and weights."""
    import keras

    steps = _mixup_steps(module, mine, x, y, batch_size)
    keras.utils.set_random_seed(0)
    oracle = support.build_with(module, builtin)
    for i, (lam, permutation, logs, weights) in enumerate(steps):
        xb = x[i * batch_size : (i + 1) * batch_size]
        yb = y[i * batch_size : (i + 1) * batch_size]
        lam32 = np.float32(lam)
        mixed_x = lam32 * xb + (np.float32(1) - lam32) * xb[permutation]
        mixed_y = lam32 * yb + (np.float32(1) - lam32) * yb[permutation]
        expected = oracle.train_on_batch(mixed_x, mixed_y, return_dict=True)
        _assert_logs(logs, expected)
        # The oracle's seed generator never draws: compare the weights without it.
        same = [
            (a, b)
            for a, b, variable in zip(weights, _values(oracle.weights), oracle.weights)
            if "seed_generator" not in variable.path
        ]
        _assert_close(*zip(*same), f"weights after step {i}")
    return [lam for lam, *_ in steps]


@pytest.mark.slow
def test_mixup_is_keras_step_on_the_replayed_mixed_batch(tmp_path):
    """The draws replayed outside the step, the batch mixed in numpy, Keras's
    built-in step on it: exactly the generated step's logs and weights, step by
    step. lambda varies from step to step, and the same seed gives the same draws
    and weights again (a different seed, different draws)."""
    module = _render(tmp_path, "mixup")
    mine, builtin = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=64, seed=0)
    lams = _assert_mixup_is_keras_on_mixed_batches(module, mine, builtin, x, y)
    assert len(set(lams)) == len(lams) == 4, lams
    assert all(0.0 <= lam <= 1.0 for lam in lams), lams

    first, again = (_mixup_steps(module, mine, x, y) for _ in range(2))
    assert [step[0] for step in first] == [step[0] for step in again] == lams
    _assert_close(again[-1][3], first[-1][3], "weights of a rerun")
    other = [step[0] for step in _mixup_steps(module, mine, x, y, seed=1)]
    assert len(set(other) & set(lams)) == 0, (other, lams)


@pytest.mark.slow
def test_negative_control_mixup_that_forgets_the_targets_is_caught(tmp_path):
    """A copy of the template that mixes the inputs only fails the same check."""
    broken = _broken(
        tmp_path, "mixup", "    y = keras.tree.map_structure(mix, y)\n", ""
    )
    module = _render(tmp_path, "mixup", templates=broken)
    mine, builtin = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=64, seed=0)
    with pytest.raises(AssertionError):
        _assert_mixup_is_keras_on_mixed_batches(module, mine, builtin, x, y)


def test_mixup_refuses_integer_targets(tmp_path):
    """Integer labels cannot be mixed: a clear error when the step is traced."""
    import keras

    module = _render(tmp_path, "mixup")
    model = module.build_model()
    x, y = module.make_dataset(num_samples=16, seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="one-hot or other float arrays"):
        model.fit(x, np.argmax(y, axis=1), batch_size=16, verbose=0)
    keras.backend.clear_session()


# ----------------------------------------------------------------------- EMA


def _ema_run(module, cls, x, y, use_ema, momentum):
    """fit (with validation) / evaluate / predict of a fresh ``cls`` model compiled
    with Adam; with ``use_ema``, Keras's own EMA (``momentum``) and `SwapEMAWeights`."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    model = support.build_with(module, cls)
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=0.01, use_ema=use_ema, ema_momentum=momentum
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    callbacks = [keras.callbacks.SwapEMAWeights()] if use_ema else []
    history = model.fit(
        x[:48],
        y[:48],
        batch_size=16,
        epochs=3,
        validation_data=(x[48:], y[48:]),
        shuffle=False,
        callbacks=callbacks,
        verbose=0,
    )
    return model, {
        "history": history.history,
        "evaluate": model.evaluate(x, y, verbose=0, return_dict=True),
        "predict": model.predict(x, verbose=0, batch_size=16),
    }


def _assert_ema_is_keras_ema(module, mine, builtin, x, y):
    """The example's EMA against Keras's `use_ema=True` + `SwapEMAWeights` on the
    built-in steps: the history (validation with the averages), evaluate and predict
    after fit (Keras's model then holds the averages), the averages themselves, and
    the rest of the state."""
    momentum = mine.EMA_MOMENTUM
    model, ours = _ema_run(module, mine, x, y, False, momentum)
    oracle, theirs = _ema_run(module, builtin, x, y, True, momentum)
    assert ours["history"].keys() == theirs["history"].keys()
    for key in theirs["history"]:
        _assert_close(ours["history"][key], theirs["history"][key], key)
    _assert_logs(ours["evaluate"], theirs["evaluate"])
    _assert_close([ours["predict"]], [theirs["predict"]], "predict")
    _assert_close(
        _values(model.ema_variables), _values(oracle.trainable_variables), "EMA"
    )
    others = [
        (a, b)
        for a, b, variable in zip(
            _values(model.non_trainable_variables),
            _values(oracle.non_trainable_variables),
            model.non_trainable_variables,
        )
        if not variable.path.endswith("_ema")
    ]
    _assert_close(*zip(*others), "BatchNorm statistics and seeds")


@pytest.mark.slow
def test_ema_equals_keras_use_ema_with_swap_ema_weights(tmp_path):
    module = _render(tmp_path, "ema")
    mine, builtin = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=64, seed=0)
    _assert_ema_is_keras_ema(module, mine, builtin, x, y)


@pytest.mark.slow
def test_negative_control_ema_without_the_first_step_rule_is_caught(tmp_path):
    """Keras's average is the weights after the first update (momentum 0 there);
    an average that starts from the initial weights fails the same check."""
    broken = _broken(
        tmp_path,
        "ema",
        "keras.ops.where(step > 1, self.EMA_MOMENTUM, 0.0)",
        "self.EMA_MOMENTUM",
    )
    module = _render(tmp_path, "ema", templates=broken)
    mine, builtin = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=64, seed=0)
    with pytest.raises(AssertionError):
        _assert_ema_is_keras_ema(module, mine, builtin, x, y)


@pytest.mark.slow
def test_ema_survives_save_and_load(tmp_path):
    """The averages are model variables: `save`/`load_model` keep them, and the
    loaded model evaluates with them."""
    import keras

    module = _render(tmp_path, "ema")
    x, y = module.make_dataset(num_samples=64, seed=0)
    keras.utils.set_random_seed(0)
    model = module.build_model()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    path = tmp_path / "ema.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    _assert_close(_values(loaded.ema_variables), _values(model.ema_variables), "EMA")
    _assert_logs(
        loaded.evaluate(x, y, verbose=0, return_dict=True),
        model.evaluate(x, y, verbose=0, return_dict=True),
    )
    # The averages are not the trained weights (momentum 0.99).
    assert not np.allclose(
        _values(model.trainable_variables)[0], _values(model.ema_variables)[0]
    )


@pytest.mark.slow
def test_keras_use_ema_and_swap_ema_weights_work_with_the_default_steps(tmp_path):
    """The guide's two lines: the default generated steps with `Adam(use_ema=True)`
    and `SwapEMAWeights` train, validate and end exactly like Keras's built-in
    steps with the same two lines."""
    module = support.generate(tmp_path, "ema_default")
    generated, builtin = support.builtin_twin(module)
    x, y = module.make_dataset(num_samples=64, seed=0)
    mine, ours = _ema_run(module, generated, x, y, True, 0.9)
    oracle, theirs = _ema_run(module, builtin, x, y, True, 0.9)
    for key in theirs["history"]:
        _assert_close(ours["history"][key], theirs["history"][key], key)
    _assert_logs(ours["evaluate"], theirs["evaluate"])
    _assert_close(_values(mine.weights), _values(oracle.weights), "weights")
    # Negative control: the EMA makes a difference to the validation logs.
    _, plain = _ema_run(module, generated, x, y, False, 0.9)
    assert not np.allclose(plain["history"]["val_loss"], ours["history"]["val_loss"])


# ----------------------------------------------------------- gradient penalty


def _penalty_oracle(model, x, y, weight):
    """Independently of the step: the penalty weight * B * |d L / d x|^2 at the
    model's current state, and its gradient with respect to the trainable
    variables. L is the mean cross-entropy of `stateless_call` in training mode (the
    regularization terms do not depend on x)."""
    import jax
    import keras

    non_trainable = [v.value for v in model.non_trainable_variables]

    def data_loss(trainable, inputs):
        outputs, _ = model.stateless_call(
            trainable, non_trainable, inputs, training=True
        )
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, outputs))

    def penalty(trainable):
        gradient = jax.grad(data_loss, argnums=1)(trainable, x)
        return weight * x.shape[0] * jax.numpy.sum(jax.numpy.square(gradient))

    value, grads = jax.value_and_grad(penalty)(
        [v.value for v in model.trainable_variables]
    )
    return float(value), [np.asarray(g) for g in grads]


def _assert_penalty_is_independent_penalty(module, x, y, learning_rate=0.1):
    """One SGD step of the example against Keras's built-in step plus the
    independent penalty: loss = Keras's loss + penalty; weights = Keras's weights -
    learning_rate * the penalty's gradient."""
    import keras

    mine, builtin = support.builtin_twin(module)
    weight = mine.INPUT_GRADIENT_PENALTY
    models = []
    for cls in (mine, builtin):
        keras.utils.set_random_seed(0)
        model = support.build_with(module, cls)
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(),
        )
        models.append(model)
    penalty, penalty_grads = _penalty_oracle(models[0], x, y, weight)
    assert penalty > 1e-3  # the case under test: a penalty that shows
    ours, theirs = (m.train_on_batch(x, y, return_dict=True) for m in models)
    np.testing.assert_allclose(ours["loss"], theirs["loss"] + penalty, rtol=RTOL)
    expected = [
        w - learning_rate * g
        for w, g in zip(_values(models[1].trainable_variables), penalty_grads)
    ]
    _assert_close(_values(models[0].trainable_variables), expected, "weights")
    _assert_close(
        _values(models[0].non_trainable_variables),
        _values(models[1].non_trainable_variables),
        "BatchNorm statistics and seeds",
    )


@pytest.mark.slow
@pytest.mark.parametrize("model_type", catalog.MODEL_TYPES)
def test_penalty_equals_an_independently_computed_one(tmp_path, model_type):
    module = _render(tmp_path, "input_gradient_penalty", model_type=model_type)
    x, y = module.make_dataset(num_samples=32, seed=0)
    _assert_penalty_is_independent_penalty(module, x, y)


@pytest.mark.slow
def test_negative_control_penalty_in_inference_mode_is_caught(tmp_path):
    """A copy whose inner pass runs in inference mode (BatchNorm's moving statistics,
    no Dropout) instead of the training pass fails the same check."""
    broken = _broken(
        tmp_path,
        "input_gradient_penalty",
        "**_training_kwargs(self.call, training),",
        "**_training_kwargs(self.call, False),",
    )
    module = _render(tmp_path, "input_gradient_penalty", templates=broken)
    x, y = module.make_dataset(num_samples=32, seed=0)
    with pytest.raises(AssertionError):
        _assert_penalty_is_independent_penalty(module, x, y)


# ---------------------------------------------------------------------- FGSM


def _adversarial(model, x, y, epsilon):
    """Independently of the step: x + epsilon * sign(d L / d x) at the model's
    current weights, L the mean cross-entropy of `stateless_call` in inference
    mode."""
    import jax
    import keras

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss(inputs):
        outputs, _ = model.stateless_call(
            trainable, non_trainable, inputs, training=False
        )
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, outputs))

    return x + np.float32(epsilon) * np.sign(np.asarray(jax.grad(loss)(x)))


def _assert_fgsm_is_keras_on_adversarial_batches(module, x, y, batch_size=16):
    """Per step: Keras's built-in step on the independently computed adversarial
    batch gives the generated step's logs and weights."""
    import keras

    mine, builtin = support.builtin_twin(module)
    models = []
    for cls in (mine, builtin):
        keras.utils.set_random_seed(0)
        models.append(support.build_with(module, cls))
    ours, oracle = models
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        adversarial = _adversarial(ours, xb, yb, mine.FGSM_EPSILON)
        assert not np.allclose(adversarial, xb)
        logs = ours.train_on_batch(xb, yb, return_dict=True)
        expected = oracle.train_on_batch(adversarial, yb, return_dict=True)
        _assert_logs(logs, expected)
        _assert_close(_values(ours.weights), _values(oracle.weights), "weights")


@pytest.mark.slow
@pytest.mark.parametrize("model_type", catalog.MODEL_TYPES)
def test_fgsm_loss_is_the_loss_at_an_independent_adversarial_batch(
    tmp_path, model_type
):
    module = _render(tmp_path, "fgsm", model_type=model_type)
    x, y = module.make_dataset(num_samples=48, seed=0)
    _assert_fgsm_is_keras_on_adversarial_batches(module, x, y)


@pytest.mark.slow
def test_negative_control_fgsm_that_descends_is_caught(tmp_path):
    """A copy that steps against the gradient (x - epsilon * sign) fails the same
    check."""
    broken = _broken(
        tmp_path,
        "fgsm",
        "a + self.FGSM_EPSILON * keras.ops.sign(g)",
        "a - self.FGSM_EPSILON * keras.ops.sign(g)",
    )
    module = _render(tmp_path, "fgsm", templates=broken)
    x, y = module.make_dataset(num_samples=48, seed=0)
    with pytest.raises(AssertionError):
        _assert_fgsm_is_keras_on_adversarial_batches(module, x, y)

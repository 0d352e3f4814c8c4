"""The oracles of the `mixup` and `adversarial` recipes: each transformation of the
batch computed outside the generated step, by code of its own, then Keras's built-in
steps on the result.

* mixup: the draws replayed from the state the model's seed generator starts in
  (``keras.random`` with a ``SeedGenerator`` of that state, drawing lambda then the
  permutation, batch after batch), the batches mixed in numpy, and Keras's built-in
  ``fit`` on the mixed batches, epoch by epoch. Integer labels: the twin is compiled
  with ``categorical_crossentropy`` on the mixed one-hot targets (the cross-entropy is
  linear in the targets, so it is lambda * loss(y) + (1 - lambda) * loss(y[perm])),
  and each sparse metric by Keras's one-hot counterpart, which on the mixed targets
  compares their argmax: the label with the larger share, which the recipe's metrics
  compare.
* adversarial: per step, the adversarial batch from the model's weights before the
  step, by ``stateless_call`` in inference mode and the compiled loss object
  (``jax.grad`` with respect to the inputs, numpy for the signs, the random start and
  the projection), then Keras's built-in ``train_on_batch`` on the clean and
  adversarial rows with sample weights ``2 * (1 - W)`` and ``2 * W`` (or the
  adversarial batch alone at ``W = 1``). Both models train batch by batch.

Each returns ``(mine, oracle)`` as ``support.fit_and_evaluate`` does (history,
evaluate, predict, weights), so ``support.assert_same`` compares them. The recipe's
own seed generator does not move in the oracle; its value there is set to the
replay's, so the comparison also checks that the step drew exactly what the replay did.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import keras
import numpy as np

from tests.helpers import support

SEED = 7  # support.fit_and_evaluate's


def _weights(model):
    return [(w.path.split("/", 1)[-1], np.asarray(w.numpy())) for w in model.weights]


def _fresh(build, module, cls):
    keras.backend.clear_session()
    keras.utils.set_random_seed(SEED)
    return build(module, cls)


def _replay(generator):
    """A seed generator in the state ``generator`` is in now."""
    replay = keras.random.SeedGenerator(0)
    replay.state.assign(generator.state.value)
    return replay


def _batches(num_samples, batch_size):
    return [
        slice(start, min(start + batch_size, num_samples))
        for start in range(0, num_samples, batch_size)
    ]


def _take(tree, rows):
    """The rows ``rows`` of every array of ``tree`` (None stays None)."""
    if tree is None:
        return None
    return keras.tree.map_structure(lambda a: np.asarray(a)[rows], tree)


def _stack(parts):
    """Batches (trees of arrays) one after the other."""
    return keras.tree.map_structure(lambda *arrays: np.concatenate(arrays), *parts)


def _concatenate(first, second):
    return keras.tree.map_structure(
        lambda a, b: np.concatenate([np.asarray(a), np.asarray(b)]), first, second
    )


def _recompile(model, loss, metrics):
    """``model`` compiled again with ``loss`` and ``metrics`` and a fresh copy of its
    optimizer (Keras wraps it for mixed precision again)."""
    optimizer = model.optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    model.compile(
        optimizer=type(optimizer).from_config(optimizer.get_config()),
        loss=loss,
        metrics=metrics,
    )
    return model


# ----------------------------------------------------------------------------- mixup


def mixup_draws(replay, alpha, batch_size):
    """What the step draws, in its order: lambda, then the permutation."""
    lam = np.float32(keras.random.beta((), alpha, alpha, seed=replay))
    permutation = np.asarray(
        keras.random.shuffle(keras.ops.arange(batch_size), seed=replay)
    )
    return lam, permutation


def _mix(tree, lam, permutation):
    return keras.tree.map_structure(
        lambda a: (
            lam * np.asarray(a) + (np.float32(1) - lam) * np.asarray(a)[permutation]
        ),
        tree,
    )


def _one_hot_metric(name, num_classes):
    """Keras's one-hot counterpart of the sparse metric ``name``: on the mixed
    one-hot targets it compares their argmax, the label with the larger share."""
    if name == "sparse_categorical_accuracy":
        return keras.metrics.CategoricalAccuracy(name=name)
    if name == "sparse_top_k_categorical_accuracy":
        return keras.metrics.TopKCategoricalAccuracy(
            k=min(5, num_classes - 1), name=name
        )
    if name == "sparse_categorical_crossentropy":
        return keras.metrics.MeanMetricWrapper(
            lambda targets, predictions: keras.losses.sparse_categorical_crossentropy(
                keras.ops.argmax(targets, axis=-1), predictions
            ),
            name=name,
        )
    raise AssertionError(f"no one-hot oracle for metric {name!r}")  # pragma: no cover


def _one_hot(labels, num_classes):
    return np.eye(num_classes, dtype="float32")[np.asarray(labels)]


def run_mixup_and_oracle(module, x, y, fit_kwargs, eval_kwargs=None, build=None):
    """The mixup recipe of ``module`` under ``fit`` and its oracle (see above)."""
    build = build or support.build_with
    generated_cls, builtin_cls = support.builtin_twin(module)
    mine = support.fit_and_evaluate(
        lambda: build(module, generated_cls), x, y, fit_kwargs, eval_kwargs
    )
    spec = module.TEST_SPEC
    labels = not spec.outputs and spec.task.target == "sparse"
    alpha = generated_cls.mixup_alpha
    fit_kwargs = dict(fit_kwargs)
    batch_size, epochs = fit_kwargs.pop("batch_size"), fit_kwargs.pop("epochs")
    sample_weight = fit_kwargs.pop("sample_weight", None)
    validation = fit_kwargs.pop("validation_data", None)
    assert not fit_kwargs, fit_kwargs

    oracle = _fresh(build, module, builtin_cls)
    num_classes = spec.num_classes
    targets, evaluate_y = y, y
    if labels:
        _recompile(
            oracle,
            keras.losses.CategoricalCrossentropy(),
            [_one_hot_metric(m.snake_name, num_classes) for m in spec.metrics],
        )
        targets = evaluate_y = _one_hot(y, num_classes)
        if validation is not None:
            validation = (validation[0], _one_hot(validation[1], num_classes))
    replay = _replay(oracle.mixup_seed_generator)
    history: dict[str, list] = {}
    for epoch in range(epochs):
        mixed_x, mixed_y = [], []
        for rows in _batches(len(_first(x)), batch_size):
            lam, permutation = mixup_draws(replay, alpha, rows.stop - rows.start)
            mixed_x.append(_mix(_take(x, rows), lam, permutation))
            mixed_y.append(_mix(_take(targets, rows), lam, permutation))
        result = oracle.fit(
            _stack(mixed_x),
            _stack(mixed_y),
            batch_size=batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            sample_weight=sample_weight,
            validation_data=validation,
            shuffle=False,
            verbose=0,
        )
        for key, values in result.history.items():
            history.setdefault(key, []).extend(values)
    oracle.mixup_seed_generator.state.assign(replay.state.value)
    expected = {
        "history": history,
        "evaluate": oracle.evaluate(
            x, evaluate_y, verbose=0, return_dict=True, **(eval_kwargs or {})
        ),
        "predict": oracle.predict(x, verbose=0, batch_size=8),
        "weights": _weights(oracle),
    }
    return mine, expected


# ----------------------------------------------------------------------- adversarial


def _attack_loss(model, y, sample_weight, loss_weights):
    """The compiled loss of ``model`` at its current weights in inference mode (with
    named outputs: the sum of each output's loss times its weight in
    ``loss_weights``), times the loss scale: a function of the inputs."""
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    scale = float(keras.ops.convert_to_numpy(model.optimizer.scale_loss(1.0)))

    def value(inputs):
        outputs, _ = model.stateless_call(
            trainable, non_trainable, inputs, training=False
        )
        if not loss_weights:
            return model.loss(y, outputs, sample_weight) * scale
        total = 0.0
        for name, weight in loss_weights.items():
            weights = (
                sample_weight[name]
                if isinstance(sample_weight, dict)
                else sample_weight
            )
            total = total + weight * model.loss[name](y[name], outputs[name], weights)
        return total * scale

    return value


def adversarial_batch(model, x, y, sample_weight, settings, replay, loss_weights=None):
    """The attack on ``x`` at ``model``'s current weights, computed here."""
    epsilon = np.float32(settings["epsilon"])
    gradient = jax.grad(_attack_loss(model, y, sample_weight, loss_weights))

    def ascend(inputs, step_size):
        signs = keras.tree.map_structure(
            lambda g: np.sign(np.asarray(g)), gradient(inputs)
        )
        return keras.tree.map_structure(
            lambda a, s: np.asarray(a) + step_size * s, inputs, signs
        )

    if settings["attack"] == "fgsm":
        return ascend(x, epsilon)

    def random_start(a):
        noise = keras.random.uniform(np.shape(a), -epsilon, epsilon, seed=replay)
        return np.asarray(a) + np.asarray(noise)

    inputs = keras.tree.map_structure(random_start, x)
    step_size = np.float32(2.5 * settings["epsilon"] / settings["attack_steps"])
    for _ in range(settings["attack_steps"]):
        inputs = keras.tree.map_structure(
            lambda a, clean: np.clip(a, clean - epsilon, clean + epsilon),
            ascend(inputs, step_size),
            x,
        )
    return inputs


def adversarial_settings(cls):
    return {
        name: getattr(cls, name)
        for name in ("attack", "epsilon", "attack_steps", "adversarial_weight")
    }


def _by_batches(model, steps, eval_x, eval_y, eval_kwargs):
    """Train ``model`` by ``train_on_batch`` on ``steps`` (``(x, y, w)`` each, or a
    function of the model giving them); its per-step logs and results."""
    history: dict[str, list] = {}
    for step in steps:
        xb, yb, wb = step(model) if callable(step) else step
        logs = model.train_on_batch(xb, yb, sample_weight=wb, return_dict=True)
        for key, value in logs.items():
            history.setdefault(key, []).append(float(value))
    return {
        "history": history,
        "evaluate": model.evaluate(
            eval_x, eval_y, verbose=0, return_dict=True, **(eval_kwargs or {})
        ),
        "predict": model.predict(eval_x, verbose=0, batch_size=8),
    }


def run_adversarial_and_oracle(module, x, y, fit_kwargs, eval_kwargs=None, build=None):
    """The adversarial recipe of ``module`` and its oracle, batch by batch (the
    oracle's batch depends on the weights each step leaves)."""
    build = build or support.build_with
    generated_cls, builtin_cls = support.builtin_twin(module)
    settings = adversarial_settings(generated_cls)
    fit_kwargs = dict(fit_kwargs)
    batch_size, epochs = fit_kwargs.pop("batch_size"), fit_kwargs.pop("epochs")
    sample_weight = fit_kwargs.pop("sample_weight", None)
    fit_kwargs.pop("validation_data", None)  # batch by batch: no validation
    assert not fit_kwargs, fit_kwargs
    batches = [
        (_take(x, rows), _take(y, rows), _take(sample_weight, rows))
        for _ in range(epochs)
        for rows in _batches(len(_first(x)), batch_size)
    ]

    mine_model = _fresh(build, module, generated_cls)
    mine = _by_batches(mine_model, batches, x, y, eval_kwargs)
    mine["weights"] = _weights(mine_model)

    oracle = _fresh(build, module, builtin_cls)
    replay = _replay(oracle.attack_seed_generator)
    weight = settings["adversarial_weight"]
    attacked = settings["epsilon"] > 0 and weight > 0
    loss_weights = {o.name: o.weight for o in module.TEST_SPEC.outputs}

    def oracle_step(xb, yb, wb):
        def step(model):
            if not attacked:
                return xb, yb, wb
            adversarial = adversarial_batch(
                model, xb, yb, wb, settings, replay, loss_weights
            )
            if weight == 1:
                return adversarial, yb, wb
            w = np.ones(len(_first(xb)), "float32") if wb is None else wb
            shares = np.float32(2 * (1 - weight)), np.float32(2 * weight)
            clean_weight, attacked_weight = (
                keras.tree.map_structure(lambda a, f=share: f * a, w)
                for share in shares
            )
            return (
                _concatenate(xb, adversarial),
                _concatenate(yb, yb),
                _concatenate(clean_weight, attacked_weight),
            )

        return step

    expected = _by_batches(
        oracle, [oracle_step(*batch) for batch in batches], x, y, eval_kwargs
    )
    oracle.attack_seed_generator.state.assign(replay.state.value)
    expected["weights"] = _weights(oracle)
    return mine, expected


def _first(tree):
    return keras.tree.flatten(tree)[0]

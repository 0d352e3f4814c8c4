"""Each recipe next to its Keras oracle: what `tests/generated/test_recipes.py` and the
DataParallel check (`tests/scripts/recipes_dataparallel_check.py`) compare.

The oracle of a recipe is Keras computing the same algorithm itself:

* ``default``, ``sam`` at ``rho=0``: Keras's built-in steps (``keras.Model.train_step``);
* ``gradient-accumulation``: the built-in steps with the optimizer's
  ``gradient_accumulation_steps=K`` at batch size ``b``, against the recipe at ``K*b``
  with the samples reordered so that the built-in sees the recipe's microbatches
  (microbatch k of a batch holds its samples k, k+K, k+2K, ...);
* ``clip-gradients``: the built-in steps with the optimizer's ``global_clipnorm=C``;
* ``custom-trackers``: the default recipe's model, compiled with the same loss and
  metrics;
* ``mixup``, ``adversarial``: the built-in steps on the batches the recipe makes,
  computed outside the step (``tests/helpers/mixadv_oracles.py``).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np

from tests.helpers import mixadv_oracles, support
from tests.helpers.support import assert_same, fit_and_evaluate

# The recipes whose oracle is the built-in steps on the batches they make.
BATCH_ORACLES = {
    "mixup": "run_mixup_and_oracle",
    "adversarial": "run_adversarial_and_oracle",
}
# History keys the oracle cannot log (checked by their own tests).
RECIPE_ONLY_LOGS = {"clip-gradients": ("grad_norm",)}


def with_optimizer_settings(model, **settings):
    """``model`` with its optimizer replaced by the same one plus ``settings``
    (e.g. ``global_clipnorm``); a LossScaleOptimizer stays around it."""
    optimizer = model.optimizer
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    inner = optimizer.inner_optimizer if scaled else optimizer
    replaced = type(inner).from_config({**inner.get_config(), **settings})
    model.optimizer = (
        keras.optimizers.LossScaleOptimizer(
            replaced, initial_scale=optimizer.initial_scale
        )
        if scaled
        else replaced
    )
    return model


def microbatch_order(num_samples: int, batch_size: int, microbatches: int):
    """Indices that put each batch's microbatches one after the other."""
    if num_samples % batch_size or batch_size % microbatches:
        raise ValueError("the oracle needs whole batches of whole microbatches")
    return (
        np.arange(num_samples)
        .reshape(num_samples // batch_size, batch_size // microbatches, microbatches)
        .transpose(0, 2, 1)
        .reshape(-1)
    )


def drop_logs(result, keys):
    result = dict(result)
    keys = {*keys, *(f"val_{key}" for key in keys)}
    for part in ("history", "evaluate"):
        result[part] = {k: v for k, v in result[part].items() if k not in keys}
    return result


def run_mine_and_oracle(
    module, x, y, fit_kwargs, eval_kwargs=None, build=None, oracle_module=None
):
    """Train the recipe of ``module`` and its oracle; ``(mine, oracle)`` results.

    ``build(module, cls)`` builds a compiled model of class ``cls`` (default: the
    module's ``build_model``); ``oracle_module`` is the default-recipe module for
    ``custom-trackers``.
    """
    spec = module.TEST_SPEC
    recipe = spec.recipe.name
    settings = {s.name: getattr(spec, s.name) for s in spec.recipe.settings}
    build = build or support.build_with
    if recipe in BATCH_ORACLES:
        run = getattr(mixadv_oracles, BATCH_ORACLES[recipe])
        mine, oracle = run(module, x, y, fit_kwargs, eval_kwargs, build)
        return mine, oracle, mine
    generated_cls, builtin_cls = support.builtin_twin(module)
    oracle_fit = dict(fit_kwargs)
    oracle_x, oracle_y = x, y

    if recipe == "custom-trackers":
        oracle_cls = getattr(oracle_module, oracle_module.TEST_CLASS_NAME)

        def oracle_build():
            return build(oracle_module, oracle_cls)

    elif recipe == "gradient-accumulation":
        k = settings["microbatches"]
        order = microbatch_order(len(x), fit_kwargs["batch_size"], k)
        oracle_x, oracle_y = x[order], y[order]
        oracle_fit["batch_size"] = fit_kwargs["batch_size"] // k
        if "sample_weight" in fit_kwargs:
            oracle_fit["sample_weight"] = fit_kwargs["sample_weight"][order]

        def oracle_build():
            return with_optimizer_settings(
                build(module, builtin_cls), gradient_accumulation_steps=k
            )

    elif recipe == "clip-gradients":

        def oracle_build():
            return with_optimizer_settings(
                build(module, builtin_cls), global_clipnorm=settings["clip_norm"]
            )

    elif recipe in ("default", "sam"):
        if recipe == "sam":
            assert settings["rho"] == 0.0, "the built-in oracle of sam is rho=0"

        def oracle_build():
            return build(module, builtin_cls)

    else:  # pragma: no cover - a new recipe needs its oracle here
        raise AssertionError(f"no oracle for recipe {recipe!r}")

    mine = fit_and_evaluate(
        lambda: build(module, generated_cls), x, y, fit_kwargs, eval_kwargs
    )
    oracle = fit_and_evaluate(oracle_build, oracle_x, oracle_y, oracle_fit, eval_kwargs)
    if oracle_x is not x:  # predictions back in the order of `x`
        oracle["predict"] = oracle["predict"][np.argsort(order)]
    keys = RECIPE_ONLY_LOGS.get(recipe, ())
    return drop_logs(mine, keys), drop_logs(oracle, keys), mine


def compare_with_oracle(module, x, y, fit_kwargs, **kwargs):
    """Assert the recipe of ``module`` trains exactly like its oracle; its results."""
    mine, oracle, full = run_mine_and_oracle(module, x, y, fit_kwargs, **kwargs)
    assert_same(mine, oracle)
    return full

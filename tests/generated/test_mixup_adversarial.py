"""The `mixup` and `adversarial` recipes (issue 22 items 2 and 3), proven against
oracles computed outside the generated step (``tests/helpers/mixadv_oracles.py``).

* mixup: the draws replayed from the seed generator's first state, the batches mixed
  in numpy, Keras's built-in ``fit`` on them: history, evaluate, predict and every
  weight (the seed generator's state too) within rtol 1e-6, for the three model
  types, one-hot targets and integer labels (whose losses are mixed; the oracle is
  ``categorical_crossentropy`` on the mixed one-hot targets), a regression with named
  inputs and outputs; ``--mixup-alpha 0`` is Keras's own step.
* adversarial: per step, the attack from the weights before the step, computed by
  ``stateless_call``, ``jax.grad`` and numpy, then Keras's built-in ``train_on_batch``
  on the clean and adversarial rows weighted ``2(1 - W)`` and ``2W``: each step's
  logs and the final weights, for fgsm and pgd (random start, projection), ``W`` in
  (0, 1) and ``W = 1``, the three model types and named outputs; ``--epsilon 0`` and
  ``--adversarial-weight 0`` are Keras's own step.

Every oracle has negative controls: the generated module with one deliberate bug
fails the same comparison. The shared recipe tests (tests/generated/test_recipes.py)
run both recipes too: fit/evaluate/predict, callbacks and save/load for every model
type, ``mixed_float16`` and ``DataParallel`` against these oracles.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers import support
from tests.helpers.cli import error_line, invoke, snapshot
from tests.helpers.mixadv_oracles import (
    mixup_draws,
    run_adversarial_and_oracle,
    run_mixup_and_oracle,
)
from tests.helpers.support import assert_same, mutated

MODEL_TYPES = ("sequential", "functional", "subclassed")


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends under the float32 policy."""
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


def generate(tmp_path, recipe, model_type="functional", **answers):
    name = f"{recipe}_{model_type}"
    return support.generate(
        tmp_path / name, name=name, recipe=recipe, model_type=model_type, **answers
    )


def with_settings(module, **settings):
    """``module`` whose model class has ``settings`` (class attributes) instead."""
    cls = getattr(module, module.TEST_CLASS_NAME)
    original = {name: getattr(cls, name) for name in settings}
    for name, value in settings.items():
        setattr(cls, name, value)
    return original


def mixup_fit(module, num_samples=75):
    """75 samples in batches of 16 (the last has 11), sample weights, validation."""
    x, y = module.make_dataset(num_samples=num_samples, seed=1)
    rng = np.random.default_rng(3)
    if isinstance(y, dict):
        weights = {k: rng.uniform(0.2, 3.0, num_samples).astype("float32") for k in y}
    else:
        weights = rng.uniform(0.2, 3.0, num_samples).astype("float32")
    fit_kwargs = {
        "batch_size": 16,
        "epochs": 2,
        "sample_weight": weights,
        "validation_data": module.make_dataset(num_samples=20, seed=2),
    }
    return x, y, fit_kwargs


def adversarial_fit(module, num_samples=45):
    """45 samples in batches of 16 (the last has 13), sample weights, 2 epochs."""
    x, y, fit_kwargs = mixup_fit(module, num_samples)
    del fit_kwargs["validation_data"]
    return x, y, fit_kwargs


def prove_mixup(module, **kwargs):
    mine, oracle = run_mixup_and_oracle(module, *mixup_fit(module), **kwargs)
    assert_same(mine, oracle)
    return mine


def prove_adversarial(module, **kwargs):
    mine, oracle = run_adversarial_and_oracle(
        module, *adversarial_fit(module), **kwargs
    )
    assert_same(mine, oracle)
    return mine


def same_as_builtin(module, **settings):
    """With ``settings`` the recipe trains exactly like Keras's built-in steps
    (fit with validation, evaluate, predict, every weight)."""
    original = with_settings(module, **settings)
    try:
        x, y, fit_kwargs = mixup_fit(module)
        support.compare(module, x, y, fit_kwargs)
    finally:
        with_settings(module, **original)


# ----------------------------------------------------------------- settings (fast)


MIXUP, ADVERSARIAL = ["--recipe", "mixup"], ["--recipe", "adversarial"]


@pytest.mark.parametrize("flags, expected", [
    (MIXUP + ["--mixup-alpha", "-1"],
     "invalid --mixup-alpha -1.0: must be at least 0.0 (default 0.2)"),
    (ADVERSARIAL + ["--attack", "cw"],
     "invalid --attack 'cw': choose fgsm or pgd (default 'fgsm')"),
    (ADVERSARIAL + ["--epsilon", "-0.1"],
     "invalid --epsilon -0.1: must be at least 0.0 (default 0.1)"),
    (ADVERSARIAL + ["--attack", "pgd", "--attack-steps", "0"],
     "invalid --attack-steps 0: must be at least 1 (default 7)"),
    (ADVERSARIAL + ["--adversarial-weight", "1.5"],
     "invalid --adversarial-weight 1.5: must be in [0.0, 1.0] (default 0.5)"),
    (ADVERSARIAL + ["--attack-steps", "3"],
     "--attack-steps 3 applies to --attack pgd only, not --attack fgsm: add --attack pgd"),
    (["--epsilon", "0.2"],
     ("--epsilon is a setting of recipe 'adversarial', not of 'default': add "
      "--recipe adversarial")),
    (MIXUP + ["--loss", "ctc"],
     "recipe 'mixup' does not work with loss 'ctc' (it mixes the targets"),
    (MIXUP + ["--output", "label:sparse_categorical_crossentropy"],
     "for output 'label' (with named outputs every output's targets are mixed"),
    (ADVERSARIAL + ["--loss", "dice"],
     "use any loss but circle, dice, tversky, e.g. --loss sparse_categorical_crossentropy"),
    (ADVERSARIAL + ["--loss", "mse", "-m", "pearson_correlation"],
     ("recipe 'adversarial' cannot work with metric 'pearson_correlation': it "
      "passes sample weights")),
])  # fmt: skip
def test_bad_settings_are_one_line_errors_that_write_nothing(tmp_path, flags, expected):
    out = tmp_path / "out"
    result = invoke("new", "demo", "--no-input", "-o", out, *flags)
    error_line(result, expected)
    assert snapshot(out) == {}


def test_settings_their_defaults_and_the_command_line():
    spec = build_spec(Answers(name="demo", recipe="mixup"))
    assert spec.mixup_alpha == 0.2
    assert spec.loss.snake_name == "sparse_categorical_crossentropy"  # its first
    spec = build_spec(Answers(name="demo", recipe="adversarial", attack="PGD"))
    assert (spec.attack, spec.epsilon, spec.attack_steps) == ("pgd", 0.1, 7)
    assert spec.adversarial_weight == 0.5
    from keras_jax_scaffold.spec import command_line

    assert "--attack pgd --epsilon 0.1 --attack-steps 7" in command_line(spec)
    fgsm = build_spec(Answers(name="demo", recipe="adversarial"))
    assert "--attack-steps" not in command_line(fgsm)  # it applies to pgd only
    with pytest.raises(UserError, match="mixup' does not work with loss 'circle'"):
        build_spec(Answers(name="demo", recipe="mixup", loss="circle"))


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_the_recipes_are_built_on_the_blocks(model_type):
    """mixup and the attack live in `transform_batch` (the seed generators in
    `init_state`); integer labels also change `forward` and the metrics' batch."""
    from keras_jax_scaffold.pipeline import render_spec

    def source(**answers):
        spec = build_spec(Answers(name="demo", model_type=model_type, **answers))
        return render_spec(spec)["demo.py"]

    labels = source(recipe="mixup")
    one_hot = source(recipe="mixup", loss="categorical_crossentropy")
    adversarial = source(recipe="adversarial")
    for text, call in [
        (labels, "self.mixup_draws(x)"),
        (one_hot, "self.mixup_draws(x)"),
        (adversarial, "self.adversarial_inputs("),
    ]:
        transform = text.split("# Custom algorithm: the batch is transformed")[1]
        transform = transform.split("grad_fn = jax.value_and_grad")[0]
        assert "# Recipe " in transform and call in transform
    assert "self.mixup_seed_generator = keras.random.SeedGenerator()" in labels
    assert "self.attack_seed_generator = keras.random.SeedGenerator()" in adversarial
    assert "y = keras.tree.map_structure(mix, y)" in one_hot
    assert "y = keras.tree.map_structure(mix, y)" not in labels
    assert "y_pred = keras.ops.concatenate([y_pred, y_pred])" in labels
    assert "concatenate([y_pred, y_pred])" not in one_hot
    assert '    attack = "fgsm"\n' in adversarial


# --------------------------------------------------------------------- mixup (slow)


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize(
    "loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"]
)
def test_mixup_is_keras_fit_on_the_replayed_mixed_batches(tmp_path, loss, model_type):
    module = generate(tmp_path, "mixup", model_type, loss=loss)
    mine = prove_mixup(module)
    losses = mine["history"]["loss"]
    assert np.all(np.isfinite(losses)) and losses[0] != losses[1]


@pytest.mark.slow
def test_mixup_of_a_regression_with_named_inputs_and_outputs(tmp_path):
    """Real and multi-hot targets mixed alike, per output and per input."""
    module = generate(
        tmp_path, "mixup", outputs=("box:mse", "tags:bce@multilabel:0.5"),
        inputs=("features:6", "image:4,3"), metrics=("box:mae", "tags:auc"),
    )  # fmt: skip
    prove_mixup(module)


@pytest.mark.slow
def test_mixup_draws_a_new_lambda_and_permutation_every_step(tmp_path):
    """The step's draws (replayed from the first seed state) vary from batch to batch
    and lie in [0, 1]; another seed gives other draws."""
    module = generate(tmp_path, "mixup")
    draws = []
    for seed in (7, 8):
        keras.utils.set_random_seed(seed)
        model = module.build_model()
        replay = keras.random.SeedGenerator(0)
        replay.state.assign(model.mixup_seed_generator.state.value)
        draws.append([mixup_draws(replay, 0.2, 16) for _ in range(4)])
    lams = [float(lam) for lam, _ in draws[0]]
    assert len(set(lams)) == 4 and all(0 <= lam <= 1 for lam in lams), lams
    assert any((p != np.arange(16)).any() for _, p in draws[0])
    assert not set(lams) & {float(lam) for lam, _ in draws[1]}


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_mixup_alpha_0_is_keras_step_exactly(tmp_path, model_type):
    module = generate(tmp_path, "mixup", model_type)
    same_as_builtin(module, mixup_alpha=0.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "loss, old, new",
    [
        # The targets left unmixed.
        ("categorical_crossentropy", "    y = keras.tree.map_structure(mix, y)\n", "\n"),
        # The permutation not applied to the labels.
        ("sparse_categorical_crossentropy",
         "shuffled = keras.ops.take(y, permutation, axis=0)", "shuffled = y"),
        # The shares not doubled (the loss is a mean over twice the rows).
        ("sparse_categorical_crossentropy",
         "[2 * lam * sample_weight, 2 * (1 - lam) * sample_weight]",
         "[lam * sample_weight, (1 - lam) * sample_weight]"),
        # The metrics compare the label with the smaller share.
        ("sparse_categorical_crossentropy", "keras.ops.where(lam >= 0.5, y, shuffled)",
         "keras.ops.where(lam < 0.5, y, shuffled)"),
    ],
)  # fmt: skip
def test_mixup_negative_controls(tmp_path, loss, old, new):
    module = generate(tmp_path, "mixup", loss=loss)
    with pytest.raises(AssertionError):
        prove_mixup(mutated(module, old, new))


@pytest.mark.slow
def test_mixup_with_integer_labels_under_mixed_float16(tmp_path):
    """Under mixed_float16 the one-hot oracle computes the same loss by another
    formula, so float16 rounding differs in the last bits: the recipe trains and
    agrees with its oracle: logs within rtol 1e-4, weights within atol 1e-4 (one-hot
    targets: exactly, in tests/generated/test_recipes.py)."""
    module = generate(tmp_path, "mixup")

    def build(module, cls):
        keras.config.set_dtype_policy("mixed_float16")
        model = support.build_with(module, cls)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        return model

    mine, oracle = run_mixup_and_oracle(module, *mixup_fit(module), build=build)
    for key, values in oracle["history"].items():
        np.testing.assert_allclose(mine["history"][key], values, rtol=1e-4, err_msg=key)
    for (path, a), (_, b) in zip(mine["weights"], oracle["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4, err_msg=path)


# --------------------------------------------------------------- adversarial (slow)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model_type, attack, weight",
    [
        ("sequential", "fgsm", 0.5),
        ("functional", "fgsm", 0.5),
        ("subclassed", "fgsm", 0.5),
        ("sequential", "pgd", 1.0),
        ("functional", "pgd", 0.5),
        ("subclassed", "pgd", 1.0),
    ],
)
def test_adversarial_is_keras_step_on_an_independent_adversarial_batch(
    tmp_path, model_type, attack, weight
):
    settings = {"attack": attack, "adversarial_weight": weight}
    if attack == "pgd":
        settings["attack_steps"] = 3
    module = generate(tmp_path, "adversarial", model_type, **settings)
    mine = prove_adversarial(module)
    assert len(mine["history"]["loss"]) == 6  # 3 steps per epoch, 2 epochs


@pytest.mark.slow
def test_adversarial_with_named_outputs_and_one_hot_targets(tmp_path):
    """Per-output losses with their weights and per-output sample weights."""
    module = generate(
        tmp_path, "adversarial", outputs=("label:categorical_crossentropy", "box:mse:0.5"),
        attack="pgd", attack_steps=2,
    )  # fmt: skip
    prove_adversarial(module)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model_type, settings",
    [
        ("sequential", {"epsilon": 0.0}),
        ("functional", {"epsilon": 0.0, "attack": "pgd"}),
        ("subclassed", {"epsilon": 0.0}),
        ("functional", {"adversarial_weight": 0.0}),
    ],
)
def test_adversarial_at_strength_0_is_keras_step_exactly(
    tmp_path, model_type, settings
):
    module = generate(tmp_path, "adversarial", model_type)
    same_as_builtin(module, **settings)


GRAD_FN = "        grad_fn = jax.value_and_grad(self.forward_and_loss, has_aux=True)\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings, pairs",
    [
        # The attack descends the loss (the gradient's sign flipped).
        ({}, ("a + step_size * keras.ops.sign(g)", "a - step_size * keras.ops.sign(g)")),
        # The attack's pass runs in training mode and its state is kept: BatchNorm's
        # moving statistics move and the Dropout seed advances.
        ({}, (GRAD_FN, "        _, non_trainable_variables = self.stateless_call("
              "trainable_variables, non_trainable_variables, adversarial,"
              " training=True)\n" + GRAD_FN)),
        # pgd without the projection into the epsilon-box.
        ({"attack": "pgd", "attack_steps": 3},
         ("lambda _, inputs: project(ascend(inputs, step_size)),",
          "lambda _, inputs: ascend(inputs, step_size),")),
        # pgd from the clean batch (no random start).
        ({"attack": "pgd", "attack_steps": 3},
         ("start = keras.tree.map_structure(random_start, x)", "start = x")),
        # The clean and adversarial rows weighted alike (at W = 0.25).
        ({"adversarial_weight": 0.25},
         ("both(2 * (1 - weight) * w, 2 * weight * w)", "both(w, w)")),
    ],
)  # fmt: skip
def test_adversarial_negative_controls(tmp_path, settings, pairs):
    module = generate(tmp_path, "adversarial", "functional", **settings)
    with pytest.raises(AssertionError):
        prove_adversarial(mutated(module, *pairs))


@pytest.mark.slow
def test_adversarial_pgd_under_mixed_float16_matches_its_oracle(tmp_path):
    """The attack's gradient is taken of the loss times the loss scale (same signs,
    no float16 underflow); the oracle does the same with the optimizer's scale."""
    module = generate(tmp_path, "adversarial", attack="pgd", attack_steps=2)

    def build(module, cls):
        keras.config.set_dtype_policy("mixed_float16")
        return support.build_with(module, cls)

    prove_adversarial(module, build=build)


@pytest.mark.slow
def test_adversarial_inputs_stay_within_epsilon_and_change_state_nowhere(tmp_path):
    """The attack called alone, at the model's state: within epsilon of the batch
    (pgd: its projection), different from it, and it returns no state: the seed
    generator's state is the only variable the attack's scope moves."""
    module = generate(tmp_path, "adversarial", attack="pgd", attack_steps=4)
    keras.utils.set_random_seed(0)
    model = module.build_model()
    x, y = module.make_dataset(num_samples=16, seed=1)
    model.optimizer.build(model.trainable_variables)
    state = [
        [v.value for v in variables]
        for variables in (
            model.trainable_variables,
            model.non_trainable_variables,
            model.optimizer.variables,
            model.metrics_variables,
        )
    ]
    mapping = [
        *zip(model.trainable_variables, state[0]),
        *zip(model.non_trainable_variables, state[1]),
    ]
    with keras.StatelessScope(mapping) as scope:
        trainable, non_trainable, optimizer, metrics = state
        adversarial = model.adversarial_inputs(
            trainable, non_trainable, metrics, optimizer, x, y, None
        )
        moved = [
            v.path
            for v, before in zip(model.non_trainable_variables, state[1])
            if not np.array_equal(np.asarray(scope.get_current_value(v)), before)
        ]
    adversarial = np.asarray(adversarial)
    epsilon = getattr(module, module.TEST_CLASS_NAME).epsilon
    assert np.all(np.abs(adversarial - x) <= epsilon + 1e-6)
    assert np.abs(adversarial - x).max() > epsilon / 2
    assert moved == [model.attack_seed_generator.state.path]


# ----------------------------------------------- the project's own tests (slow)


@pytest.mark.slow
@pytest.mark.parametrize(
    "recipe, model_type", [("mixup", "subclassed"), ("adversarial", "sequential")]
)
def test_the_project_passes_its_own_tests(tmp_path, recipe, model_type):
    """The project installed into a fresh venv passes its whole suite: smoke, its
    proof (oracles, strength 0, negative control), save/load and the step contract with
    no finding (no false positive, not even a warning). Its DataParallel test is left
    to tests/generated/test_recipes.py's check."""
    import re

    from keras_jax_scaffold.runtime import contract

    from tests.helpers.projects import installed_project_tests, write_project

    project = write_project(tmp_path, f"{recipe}_project", recipe=recipe,
                            model_type=model_type)  # fmt: skip
    code, output = installed_project_tests(
        project, tmp_path / "venv", "-k", "not data_parallel"
    )
    assert code == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    # Smoke 4, save/load 1, the step contract (a test per check and 3 more); the
    # proof: mixup's oracle, alpha 0 and a negative control; adversarial's fgsm and
    # pgd oracles, epsilon 0 and a negative control.
    proof = {"mixup": 3, "adversarial": 4}[recipe]
    count = 5 + proof + len(contract.CHECKS) + 3
    assert re.search(rf"\b{count} passed\b", summary), summary
    assert not re.search(r"failed|error|skipped|warning", summary), summary


# ------------------------------------------------- update --recipe keeps a user edit


@pytest.mark.parametrize("recipe, settings", [
    ("mixup", {"mixup_alpha": 0.4}),
    ("adversarial", {"attack": "pgd", "attack_steps": 3}),
])  # fmt: skip
def test_update_to_and_from_the_recipe_keeps_a_user_edit(tmp_path, recipe, settings):
    from keras_jax_scaffold.layout import ANSWERS_FILE
    from keras_jax_scaffold.project import read_answers
    from keras_jax_scaffold.update import update_project

    from tests.helpers.projects import project_with_a_user_edit

    project, edit = project_with_a_user_edit(tmp_path, "functional")
    steps = project / "src" / "proj" / "steps.py"

    plan = update_project(project, Answers(recipe=recipe, **settings))
    assert plan.conflicts == []
    text = steps.read_text("utf-8")
    assert edit in text and f"Recipe {recipe}" in text
    for name, value in settings.items():
        shown = f'"{value}"' if isinstance(value, str) else repr(value)
        assert f"    {name} = {shown}\n" in text
    recorded = read_answers(project).answers
    assert recorded.recipe == recipe
    assert all(getattr(recorded, k) == v for k, v in settings.items())
    assert "_seed_generator = keras.random.SeedGenerator()" in (
        project / "src/proj/model.py"
    ).read_text("utf-8")
    assert f"{recipe} recipe" in (project / "tests/test_parity.py").read_text("utf-8")

    plan = update_project(project, Answers(recipe="default"))
    assert plan.conflicts == []
    text = steps.read_text("utf-8")
    assert edit in text and f"Recipe {recipe}" not in text
    assert "SeedGenerator" not in (project / "src/proj/model.py").read_text("utf-8")
    for name in settings:
        assert f'"{name}"' not in (project / ANSWERS_FILE).read_text("utf-8")

"""Recipes (`new NAME --recipe R`) proven against Keras's own algorithms.

Each recipe trains, for every model type, exactly like its Keras oracle
(`tests/helpers/recipe_oracles.py`): weights, history, evaluate results and predictions
within rtol 1e-6, with BatchNorm, Dropout, an L2 regularizer, sample weights and
validation data. Each proof has a negative control: the generated code with one
deliberate bug (a textual mutation of the rendered module) must fail the same
comparison.
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import keras
import numpy as np
import pytest
from keras_jax_scaffold import recipes
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.layout import LAYOUTS
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.render import builtin_template_names
from keras_jax_scaffold.spec import Answers, build_spec
from keras_jax_scaffold.template_set import builtin_source, builtin_template_dir

from tests.helpers import support
from tests.helpers.recipe_oracles import compare_with_oracle, run_mine_and_oracle
from tests.helpers.support import ATOL, RTOL, assert_same, mutated

MODEL_TYPES = ("sequential", "functional", "subclassed")
# The settings the proofs use: the clip norm is small enough to clip every step.
PROOF_SETTINGS = {
    "default": {},
    "gradient-accumulation": {"microbatches": 4},
    "clip-gradients": {"clip_norm": 0.1},
    "sam": {"rho": 0.0},
    "custom-trackers": {},
    # mixup on one-hot targets: the recipe mixes them as its oracle does in numpy.
    # (Integer labels are proven in tests/generated/test_mixup_adversarial.py.)
    "mixup": {"loss": "categorical_crossentropy"},
    "adversarial": {},
}


def generate(tmp_path, recipe, model_type="functional", name="demo", **answers):
    settings = answers.pop("settings", PROOF_SETTINGS[recipe])
    return support.generate(
        tmp_path / recipe / model_type,
        name=name,
        model_type=model_type,
        recipe=recipe,
        **settings,
        **answers,
    )


def support_path(module):
    from pathlib import Path

    return Path(module.__file__)


def data(module, num_samples=64):
    x, y = module.make_dataset(num_samples=num_samples, seed=1)
    sample_weight = np.random.default_rng(3).uniform(0.2, 3.0, size=(num_samples,))
    return x, y, sample_weight.astype("float32")


def proof_fit(module, num_samples=64):
    """The fit of every proof: sample weights, validation data, 2 epochs of 4 steps."""
    x, y, sample_weight = data(module, num_samples)
    x_val, y_val = module.make_dataset(num_samples=16, seed=2)
    fit_kwargs = {
        "batch_size": 16,
        "epochs": 2,
        "sample_weight": sample_weight,
        "validation_data": (x_val, y_val),
    }
    return x, y, fit_kwargs


def prove(tmp_path, module, **kwargs):
    if (
        module.TEST_SPEC.recipe.name == "custom-trackers"
        and "oracle_module" not in kwargs
    ):
        kwargs["oracle_module"] = support.generate(
            tmp_path / "oracle" / module.TEST_SPEC.model_type,
            model_type=module.TEST_SPEC.model_type,
        )
    x, y, fit_kwargs = proof_fit(module)
    return compare_with_oracle(module, x, y, fit_kwargs, **kwargs)


def assert_differs(tmp_path, module, **kwargs):
    """The negative control: the comparison that proves the recipe must fail."""
    with pytest.raises(AssertionError):
        prove(tmp_path, module, **kwargs)


# ------------------------------------------------------------------ the registry (fast)


def test_registry_templates_exist_and_names_are_unique():
    names = set(builtin_template_names())
    assert recipes.RECIPES[0].name == recipes.DEFAULT_RECIPE
    assert len(recipes.RECIPE_INDEX) == len(recipes.RECIPES)
    layout_templates = {item.template for item in LAYOUTS["project"]}
    for recipe in recipes.RECIPES:
        assert set(recipe.model_types) <= set(MODEL_TYPES)
        for model_type in recipe.model_types:
            named = recipe.templates.names(model_type)
            for role in recipes.TEMPLATE_ROLES:
                assert named[role] in names, (recipe.name, role, named[role])
            assert set(named["helpers"]) <= names, recipe.name
            assert named["files"][0] == [
                recipes.PROOF_FILE,
                f"recipes/{recipe.name}/proof.py.jinja",
            ]
            for layout, own in named["files"]:
                # A file of the layout, written by a template that extends it.
                assert layout in layout_templates and own in names, (layout, own)
                assert layout in _extended_chain(own), (recipe.name, own, layout)
    # A setting several recipes share (gan's and wgan-gp's --noise-dim) is
    # described alike in each: one answer.
    for recipe in recipes.RECIPES:
        for setting in recipe.settings:
            assert recipes.SETTINGS[setting.name] == setting, setting.name
    flags = [s.flag for s in recipes.SETTINGS.values()]
    assert len(flags) == len(set(flags))


def _extended_chain(name: str) -> list[str]:
    """The templates ``name`` extends, nearest first."""
    from keras_jax_scaffold.template_set import _extended, builtin_source, parse

    chain = []
    while True:
        parents = _extended(parse(builtin_source(name), name))
        if not parents:
            return chain
        name = parents[0]
        chain.append(name)


@pytest.mark.parametrize("recipe", [r.name for r in recipes.RECIPES])
def test_a_recipe_directory_holds_what_its_description_names(recipe):
    """Everything about a recipe is in its directory, and every file there is used:
    its description names each of its templates for some model type."""
    directory = builtin_template_dir() / "recipes" / recipe
    files = {p.name for p in directory.iterdir()}
    entry = recipes.RECIPE_INDEX[recipe]
    named = set()
    for model_type in entry.model_types:
        parts = entry.templates.names(model_type)
        named |= {parts[role] for role in recipes.TEMPLATE_ROLES}
        named |= {*parts["helpers"], *(own for _, own in parts["files"])}
    own = {n.rsplit("/", 1)[1] for n in named if n.startswith(f"recipes/{recipe}/")}
    assert files == {"recipe.json", *own}
    assert "steps.py.jinja" not in own or recipes.TEMPLATE_ROLES["steps"] in (
        _extended_chain(f"recipes/{recipe}/steps.py.jinja")
    ), "a recipe's steps extend the shared steps"


def test_no_shared_template_or_module_asks_which_recipe_renders():
    """Shared templates and the tool's code ask a recipe for data, never for its
    name: adding a recipe means adding its directory."""
    names = [r.name for r in recipes.RECIPES if r.name != recipes.DEFAULT_RECIPE]
    quoted = re.compile(r"""["'](?:""" + "|".join(map(re.escape, names)) + r""")["']""")
    shared = [n for n in builtin_template_names() if not n.startswith("recipes/")]
    offenders = [n for n in shared if quoted.search(builtin_source(n))]
    package = Path(recipes.__file__).parent
    for path in sorted(package.glob("*.py")):
        literals = {
            node.value
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        offenders += [f"{path.name}: {name!r}" for name in names if name in literals]
    assert offenders == []


def test_a_bad_description_is_refused_by_name(tmp_path):
    directory = tmp_path / "recipes" / "mine"
    directory.mkdir(parents=True)
    description = {"summary": "s", "order": 1, "templates": {"proof": "proof.py.jinja"}}
    (directory / "recipe.json").write_text(json.dumps({**description, "sumary": "s"}))
    with pytest.raises(ValueError, match=r"recipe 'mine': unknown keys \['sumary'\]"):
        recipes.read_recipes(tmp_path)
    templates = {**description["templates"], "stpes": "steps.py.jinja"}
    (directory / "recipe.json").write_text(
        json.dumps({**description, "templates": templates})
    )
    with pytest.raises(ValueError, match=r"unknown template parts \['stpes'\]"):
        recipes.read_recipes(tmp_path)
    setting = {"name": "k", "flag": "--k", "type": "int", "default": 1, "help": "h"}
    (directory / "recipe.json").write_text(
        json.dumps({**description, "settings": [setting]})
    )
    with pytest.raises(ValueError, match="setting 'k' needs a minimum"):
        recipes.read_recipes(tmp_path)
    (directory / "recipe.json").write_text(
        json.dumps({**description, "logs": ["a"], "train_only_logs": ["b"]})
    )
    with pytest.raises(ValueError, match=r"train_only_logs \['b'\] must be among"):
        recipes.read_recipes(tmp_path)
    (directory / "recipe.json").write_text(json.dumps(description))
    [mine] = recipes.read_recipes(tmp_path)
    assert mine.templates.names("functional")["steps"] == "partials/steps.py.jinja"
    assert mine.templates.files == (
        ("project/tests/test_parity.py.jinja", "recipes/mine/proof.py.jinja"),
    )


@pytest.mark.parametrize("recipe", [r.name for r in recipes.RECIPES])
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_every_recipe_renders_for_every_model_type(recipe, model_type):
    needs = {"gan": {"loss": "bce", "metrics": ()}, "vae": {"loss": "mse"}}
    answers = Answers(
        name="demo", recipe=recipe, model_type=model_type, **needs.get(recipe, {})
    )
    if model_type not in recipes.RECIPE_INDEX[recipe].model_types:
        with pytest.raises(UserError, match="does not support model type"):
            build_spec(answers)
        return
    spec = build_spec(answers)
    source = render_spec(spec)["demo.py"]
    compile(source, "demo.py", "exec")
    assert f"--recipe {recipe}" in source.splitlines()[4]
    for setting in spec.recipe.settings:
        if not setting.is_path:  # a path is a module constant, not an attribute
            value = setting.default
            shown = f'"{value}"' if isinstance(value, str) else repr(value)
            assert f"    {setting.name} = {shown}\n" in source
    assert ("def __init__" in source) == (
        model_type == "subclassed"
        # Recipes with state of their own (trackers, seed generators).
        or recipe in ("clip-gradients", "custom-trackers", "mixup", "adversarial")
        or bool(spec.recipe.networks)  # a model class that holds its networks
    )
    assert ("loss=keras.losses." in source) == spec.recipe.compiles_loss


def test_settings_are_validated_with_one_line_errors():
    def spec(**answers):
        return build_spec(Answers(name="demo", **answers))

    assert spec(recipe="sam").rho == 0.05
    assert spec(recipe="SAM", rho=0).rho == 0.0
    assert spec(recipe="sam").recipe.name == "sam"
    for answers, message in [
        ({"recipe": "clip"}, "unknown recipe 'clip'"),
        ({"recipe": "gradient_acumulation"}, "did you mean 'gradient-accumulation'?"),
        (
            {"recipe": "gradient-accumulation", "microbatches": 0},
            "invalid --microbatches 0: must be at least 1",
        ),
        (
            {"recipe": "gradient-accumulation", "microbatches": 2.5},
            "invalid --microbatches 2.5: give an integer",
        ),
        (
            {"recipe": "clip-gradients", "clip_norm": 0.0},
            "invalid --clip-norm 0.0: must be greater than 0.0",
        ),
        (
            {"recipe": "clip-gradients", "clip_norm": float("inf")},
            "invalid --clip-norm inf",
        ),
        ({"recipe": "sam", "rho": -0.1}, "invalid --rho -0.1"),
        (
            {"rho": 0.1},
            "--rho is a setting of recipe 'sam', not of 'default': add --recipe sam",
        ),
        (
            {"recipe": "custom-trackers", "metrics": ("f1_score",), "loss": "bce"},
            "recipe 'custom-trackers' cannot work with metric 'f1_score'",
        ),
    ]:
        with pytest.raises(UserError) as error:
            spec(**answers)
        assert message in str(error.value), (answers, str(error.value))
        assert "\n" not in str(error.value)


# --------------------------------------------------------------- oracles (slow)

# The recipes with one network; gan, distillation and vae have their own oracles and
# tests (tests/generated/test_multi_network_recipes.py).
ONE_NETWORK = [r.name for r in recipes.RECIPES if not r.networks]


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize(
    "recipe", ["gradient-accumulation", "clip-gradients", "sam", "custom-trackers"]
)
def test_recipe_trains_exactly_like_its_keras_oracle(tmp_path, recipe, model_type):
    module = generate(tmp_path, recipe, model_type)
    result = prove(tmp_path, module)
    losses = result["history"]["loss"]
    assert np.all(np.isfinite(losses)) and losses[0] != losses[1]


@pytest.mark.slow
def test_gradient_accumulation_negative_control(tmp_path):
    """Microbatches that all start from the batch's BatchNorm/RNG state (not threaded
    in order) are detected."""
    module = generate(tmp_path, "gradient-accumulation")
    broken = mutated(
        module,
        "return (grads_sum, non_trainable_variables, metrics_variables), logs",
        "return (grads_sum, carry[1], metrics_variables), logs",
    )
    assert_differs(tmp_path, broken)


@pytest.mark.slow
def test_gradient_accumulation_with_another_k_differs(tmp_path):
    """The oracle is sensitive to K: microbatches=2 is not the K=4 accumulation."""
    module = generate(tmp_path, "gradient-accumulation")
    # The spec (and so the oracle) still says 4.
    broken = mutated(module, "    microbatches = 4\n", "    microbatches = 2\n")
    assert_differs(tmp_path, broken)


@pytest.mark.slow
def test_clip_gradients_negative_control(tmp_path):
    """Clipping each tensor to the norm (instead of the global norm) is detected."""
    module = generate(tmp_path, "clip-gradients")
    broken = mutated(
        module,
        "keras.ops.sqrt(keras.ops.sum(keras.ops.stack(squared_norms)))",
        "keras.ops.sqrt(keras.ops.max(keras.ops.stack(squared_norms)))",
    )
    assert_differs(tmp_path, broken)


@pytest.mark.slow
def test_sam_with_rho_0_negative_control(tmp_path):
    """Pass 2 drawing new Dropout masks (from pass 1's RNG state) is detected at rho=0."""
    module = generate(tmp_path, "sam")
    source = support_path(module).read_text(encoding="utf-8")
    # The second grad_fn call is the one on the perturbed weights.
    assert (
        source.count("perturbed_variables,\n            non_trainable_variables,") == 1
    )
    broken = mutated(
        module,
        "perturbed_variables,\n            non_trainable_variables,",
        "perturbed_variables,\n            aux[2],",
    )
    assert_differs(tmp_path, broken)


@pytest.mark.slow
def test_custom_trackers_negative_control(tmp_path):
    """The public guide's lower-level step drops regularization losses: detected."""
    module = generate(tmp_path, "custom-trackers")
    broken = mutated(
        module,
        "loss = loss + self.compute_loss(",
        "loss = loss + 0.0 * self.compute_loss(",
    )
    assert_differs(tmp_path, broken)


# ------------------------------------------------------------ recipe-specific checks


@pytest.mark.slow
def test_gradient_accumulation_batch_that_does_not_divide_is_an_error(tmp_path):
    module = generate(tmp_path, "gradient-accumulation")
    keras.utils.set_random_seed(0)
    model = module.build_model()
    x, y = module.make_dataset(num_samples=38, seed=0)  # batches of 16, 16 and 6
    with pytest.raises(ValueError) as error:
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    message = str(error.value)
    assert "the batch size 6 does not divide by microbatches=4" in message, message


@pytest.mark.slow
def test_clip_gradients_logs_the_global_norm_of_the_true_gradients(tmp_path):
    """grad_norm (epoch mean) of one step equals the norm of Keras's own gradients."""
    module = generate(tmp_path, "clip-gradients", settings={"clip_norm": 0.1})
    x, y = module.make_dataset(num_samples=16, seed=1)
    keras.utils.set_random_seed(7)
    model = module.build_model()
    state = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    metrics_state = [v.value for v in model.metrics_variables]
    model.optimizer.build(model.trainable_variables)
    optimizer_state = [v.value for v in model.optimizer.variables]

    def loss_fn(trainable):
        loss, _ = keras.Model.compute_loss_and_updates(
            model,
            trainable,
            non_trainable,
            metrics_state,
            x,
            y,
            None,
            training=True,
            optimizer_variables=optimizer_state,
        )
        return loss

    grads = jax.grad(loss_fn)(state)
    expected = np.sqrt(sum(np.sum(np.square(np.asarray(g))) for g in grads))
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(history.history["grad_norm"], [expected], rtol=RTOL)
    assert expected > 0.1  # the step was clipped
    assert "grad_norm" not in model.evaluate(x, y, verbose=0, return_dict=True)


def mixed_precision(build, initial_scale=None):
    """``build`` under mixed_float16 (optionally with another initial loss scale)."""

    def build_mixed(module, cls):
        keras.mixed_precision.set_global_policy("mixed_float16")
        model = build(module, cls)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        if initial_scale is not None:
            model.optimizer = keras.optimizers.LossScaleOptimizer(
                model.optimizer.inner_optimizer, initial_scale=initial_scale
            )
        return model

    return build_mixed


@pytest.fixture
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ONE_NETWORK)
def test_recipe_under_mixed_float16_matches_its_oracle(
    tmp_path, recipe, float32_afterwards
):
    """The loss is scaled by the LossScaleOptimizer, and the gradients unscaled by it.

    gradient-accumulation checks the accumulated gradient once per step (a non-finite
    one skips the whole step), Keras's accumulation checks every microbatch: the two
    agree while no step overflows, so its proof starts from a loss scale of 64, which
    does not overflow here (the default 2**15 does, in both, for other recipes).
    """
    module = generate(tmp_path, recipe)
    scale = 64.0 if recipe == "gradient-accumulation" else None
    prove(tmp_path, module, build=mixed_precision(support.build_with, scale))


@pytest.mark.slow
def test_clip_gradients_mixed_float16_negative_control(tmp_path, float32_afterwards):
    """Clipping the gradients as `transform_gradients` sees them (still multiplied by
    the loss scale, as a hand-written clip would) is detected."""
    module = generate(tmp_path, "clip-gradients")
    broken = mutated(
        module,
        "grads = [g / loss_scale for g in grads]",
        "grads = list(grads)",
        "[g * scale * loss_scale for g in grads]",
        "[g * scale for g in grads]",
    )
    assert_differs(tmp_path, broken, build=mixed_precision(support.build_with))


@pytest.mark.slow
def test_clip_gradients_skips_a_non_finite_step_like_the_loss_scale_optimizer(
    tmp_path, float32_afterwards
):
    """A batch with an infinite input: the step is skipped (weights unchanged, loss
    scale halved) by the recipe as by the oracle."""
    module = generate(tmp_path, "clip-gradients")
    x, y = module.make_dataset(num_samples=32, seed=1)
    x = np.array(x)
    x[20, 0] = np.inf  # in the second batch of 16
    fit_kwargs = {"batch_size": 16, "epochs": 1}
    build = mixed_precision(support.build_with)
    mine, oracle, _ = run_mine_and_oracle(module, x, y, fit_kwargs, build=build)
    assert_same(mine, oracle)
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    model = build(module, getattr(module, module.TEST_CLASS_NAME))
    model.fit(x[:16], y[:16], batch_size=16, epochs=1, verbose=0, shuffle=False)
    before = [np.asarray(v) for v in model.trainable_variables]
    scale = float(model.optimizer.dynamic_scale.numpy())
    history = model.fit(x[16:], y[16:], batch_size=16, epochs=1, verbose=0)
    assert not np.isfinite(history.history["grad_norm"][0])
    for old, new in zip(before, model.trainable_variables):
        np.testing.assert_array_equal(old, np.asarray(new))
    assert float(model.optimizer.dynamic_scale.numpy()) == scale / 2


def _pure_jax_sam(params, batches, rho, learning_rate):
    """Hand-written SAM with SGD on a Dense-ReLU-Dense MLP and a mean squared error."""

    def loss_fn(params, x, y):
        kernel_1, bias_1, kernel_2, bias_2 = params
        hidden = jax.nn.relu(x @ kernel_1 + bias_1)
        return jax.numpy.mean(jax.numpy.square(hidden @ kernel_2 + bias_2 - y))

    grad_fn = jax.jit(jax.grad(loss_fn))
    for x, y in batches:
        grads = grad_fn(params, x, y)
        norm = jax.numpy.sqrt(sum(jax.numpy.sum(g * g) for g in grads))
        perturbed = [p + rho / (norm + 1e-12) * g for p, g in zip(params, grads)]
        grads = grad_fn(perturbed, x, y)
        params = [p - learning_rate * g for p, g in zip(params, grads)]
    return params


def _sam_mlp_run(module):
    """The generated SAM model on a Dense-ReLU-Dense MLP; initial and final weights."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=module.INPUT_SHAPE)
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Dense(module.OUTPUT_UNITS)(hidden)
    model = module.compile_model(
        getattr(module, module.TEST_CLASS_NAME)(inputs, outputs)
    )
    initial = [np.asarray(v) for v in model.trainable_variables]
    x, y = module.make_dataset(num_samples=40, seed=1)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    batches = [(x[i : i + 8], y[i : i + 8]) for i in range(0, 40, 8)] * 2
    return initial, [np.asarray(v) for v in model.trainable_variables], batches


@pytest.mark.slow
def test_sam_matches_a_hand_written_pure_jax_sam(tmp_path):
    """10 steps of SAM (rho 0.5, SGD 0.1) on a small MLP: weights within 1e-6."""
    answers = {"loss": "mse", "optimizer": "sgd", "learning_rate": 0.1}
    module = generate(tmp_path, "sam", settings={"rho": 0.5}, **answers)
    initial, final, batches = _sam_mlp_run(module)
    expected = _pure_jax_sam(initial, batches, rho=0.5, learning_rate=0.1)
    plain_sgd = _pure_jax_sam(initial, batches, rho=0.0, learning_rate=0.1)
    for mine, theirs, sgd in zip(final, expected, plain_sgd):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=1e-6)
        assert not np.allclose(mine, sgd, rtol=1e-4)  # the perturbation mattered

    # Negative control: the perturbation with the wrong sign is detected.
    broken = mutated(module, "v + scale * g for v, g", "v - scale * g for v, g")
    _, wrong, _ = _sam_mlp_run(broken)
    assert not all(
        np.allclose(a, b, rtol=RTOL, atol=1e-6) for a, b in zip(wrong, expected)
    )


# ------------------------------------------- every recipe, every model type, in use


class CountEpochs(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(dict(logs))


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("recipe", ONE_NETWORK)
def test_recipe_fit_evaluate_predict_callbacks_and_save_load(
    tmp_path, recipe, model_type
):
    module = generate(tmp_path, recipe, model_type, settings={})
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = module.build_model()
    x, y = module.make_dataset(num_samples=64, seed=0)
    counter = CountEpochs()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    history = model.fit(
        x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=0,
        callbacks=[counter, stop],
    )  # fmt: skip
    expected = {"loss", "val_loss", *module.TEST_SPEC.recipe.logs}
    expected |= {m.snake_name for m in module.TEST_SPEC.metrics}
    expected |= {f"val_{m.snake_name}" for m in module.TEST_SPEC.metrics}
    assert set(history.history) == expected
    assert len(counter.epochs) == 2 and set(counter.epochs[-1]) == expected
    assert all(np.all(np.isfinite(v)) for v in history.history.values())
    results = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert set(results) == {k for k in expected if not k.startswith("val_")} - set(
        module.TEST_SPEC.recipe.logs
    )
    predictions = model.predict(x, batch_size=16, verbose=0)

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded).__name__ == module.TEST_CLASS_NAME
    np.testing.assert_allclose(
        loaded.predict(x, batch_size=16, verbose=0), predictions, rtol=RTOL, atol=ATOL
    )
    assert [m.name for m in loaded.metrics] == [m.name for m in model.metrics]
    again = loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(again.history["loss"][0])


@pytest.mark.slow
@pytest.mark.parametrize("model_type", ["functional"])
def test_recipes_under_data_parallel_match_their_oracles(tmp_path, model_type):
    """Every recipe against its oracle, both under DataParallel on 4 CPU devices."""
    stdout = support.run_check_script(
        "recipes_dataparallel_check.py", tmp_path, model_type, timeout=900
    )
    for recipe in ONE_NETWORK:
        assert f"dataparallel-ok {recipe}" in stdout


# ------------------------------ docs/recipes.md, `recipes` and --help agree (fast)


def _table_rows():
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "recipes.md"
    text = page.read_text("utf-8")
    block = text.split("<!-- recipes table")[1].split("<!-- end recipes table -->")[0]
    rows = [line for line in block.splitlines() if line.startswith("| `")]
    return [
        [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
        for row in rows
    ]


def test_recipe_table_the_recipes_command_and_help_agree():
    from tests.helpers.cli import invoke

    rows = _table_rows()
    assert [row[0].strip("`") for row in rows] == list(recipes.RECIPE_INDEX)
    listing = invoke("recipes")
    assert listing.exit_code == 0, listing.output
    listed = {line.split()[0]: line for line in listing.stdout.splitlines()[2:]}
    assert list(listed) == list(recipes.RECIPE_INDEX)
    help_text = "".join(invoke("new", "--help").stdout.split())
    update_help = "".join(invoke("update", "--help").stdout.split())
    for row, recipe in zip(rows, recipes.RECIPES):
        _, summary, settings, logs, proof = row
        assert summary == recipe.summary
        assert settings == recipes.settings_line(recipe)
        assert all(log in logs for log in recipe.logs)
        assert proof
        line = listed[recipe.name]
        assert recipes.settings_line(recipe) in line
        assert recipes.description(recipe) in line
        assert "".join(f"{recipe.name}: {recipe.summary}".split()) in help_text
        for setting in recipe.settings:
            assert setting.flag in help_text and setting.flag in update_help
            assert "".join(setting.help.split()[1:]) in help_text


# ------------------------------------------------ update --recipe keeps a user edit


def test_update_switches_recipes_with_a_3_way_merge_and_keeps_a_user_edit(tmp_path):
    from keras_jax_scaffold.layout import ANSWERS_FILE
    from keras_jax_scaffold.project import read_answers
    from keras_jax_scaffold.update import update_project

    from tests.helpers.projects import project_with_a_user_edit

    project, edit = project_with_a_user_edit(tmp_path, "subclassed")
    steps = project / "src" / "proj" / "steps.py"

    plan = update_project(project, Answers(recipe="sam", rho=0.2))
    assert plan.conflicts == []
    text = steps.read_text("utf-8")
    assert edit in text and "    rho = 0.2\n" in text and "perturbed_variables" in text
    recorded = read_answers(project).answers
    assert (recorded.recipe, recorded.rho) == ("sam", 0.2)

    plan = update_project(project, Answers(recipe="clip-gradients"))
    assert plan.conflicts == []
    text = steps.read_text("utf-8")
    assert edit in text and "perturbed_variables" not in text
    assert (
        "    clip_norm = 1.0\n" in text
        and "self.grad_norm_tracker = keras.metrics.Mean("
        in (project / "src/proj/model.py").read_text("utf-8")
    )
    # The sam setting no longer applies: dropped from the answers, without a note.
    assert not any("--rho" in note for note in plan.notes), plan.notes
    recorded = read_answers(project).answers
    assert (recorded.recipe, recorded.rho) == ("clip-gradients", None)
    assert '"rho"' not in (project / ANSWERS_FILE).read_text("utf-8")

    before = (project / ANSWERS_FILE).read_text("utf-8")
    with pytest.raises(UserError, match="--rho is a setting of recipe 'sam'"):
        update_project(project, Answers(rho=0.3))
    assert (project / ANSWERS_FILE).read_text("utf-8") == before
    assert edit in steps.read_text("utf-8")


# ------------------------------------ a recipe's project installs and passes its tests


@pytest.mark.slow
@pytest.mark.parametrize(
    "recipe, model_type",
    [
        ("gradient-accumulation", "functional"),
        ("clip-gradients", "sequential"),
        ("sam", "subclassed"),
        ("custom-trackers", "functional"),
    ],
)
def test_a_recipe_project_installs_and_passes_its_own_tests(
    tmp_path, recipe, model_type
):
    """The rendered project, installed into a fresh venv, passes its own tests (its
    tests/test_parity.py is the recipe against its oracle; smoke, save/load, the step
    contract); a broken step fails its proof (run in this process)."""
    import re

    from keras_jax_scaffold.runtime import contract

    from tests.helpers.projects import (
        installed_project_tests,
        run_project_tests,
        write_project,
    )

    project = write_project(tmp_path, "proj", recipe=recipe, model_type=model_type)
    proof = (project / "tests/test_parity.py").read_text()
    assert f"{recipe} recipe" in proof
    code, output = installed_project_tests(
        project, tmp_path / "venv", "-k", "not data_parallel"
    )
    assert code == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    # Smoke 4, save/load 1, the step contract (a test per check and 3 more), the
    # proof's tests.
    count = 5 + len(contract.CHECKS) + 3 + proof.count("\ndef test_")
    assert re.search(rf"\b{count} passed\b", summary), summary
    assert not re.search(r"failed|error|skipped", summary), summary
    # Negative control: a bias added to the gradients before the update is detected.
    steps = project / "src/proj/steps.py"
    source = steps.read_text(encoding="utf-8")
    anchor = "        trainable_variables, optimizer_variables = self.optimizer.stateless_apply("
    assert source.count(anchor) == 1
    steps.write_text(
        source.replace(anchor, "        grads = [g + 1e-3 for g in grads]\n" + anchor),
        encoding="utf-8",
    )
    code, output = run_project_tests(project, "tests/test_parity.py", "-x")
    assert code == 1, output[-3000:]

"""`--optimizer optax:NAME`: optax optimizers under `fit`, proven against a pure JAX +
optax loop (`tests/helpers/optax_oracle.py`).

The generated `OptaxOptimizer` keeps the optax state in Keras variables, so `fit`
carries it from step to step: every weight, BatchNorm statistic and optax state array
after eight steps of `fit` equals the oracle's to rtol 1e-6, for three optax
optimizers (one per model type), a chain, the documented `multi_transform` example,
gradient accumulation and `mixed_float16`. Negative controls: an oracle that does not
carry the state between steps, and an `OptaxOptimizer` that does not write its state
back, both fail the same comparison. docs/optimizers.md describes what is proven here.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import inspect
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest
from keras_jax_scaffold import catalog, context
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers import multi_network_oracles as gan_oracles
from tests.helpers import support
from tests.helpers.cli import invoke
from tests.helpers.optax_oracle import (
    LEARNING_RATE,
    assert_matches,
    fit_generated,
    optax_loop,
    optimizer_state,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "optimizers.md"
# The oracle proofs: an optax optimizer per model type.
PROOFS = [("adamw", "functional"), ("lion", "subclassed"), ("adafactor", "sequential")]
# The edited `optax_transformation` of the chain proof (its clip norm is small enough
# to clip every step).
CHAIN = """    return optax.chain(
        optax.clip_by_global_norm(0.1),
        optax.adamw(learning_rate, weight_decay=0.01),
    )"""


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends under the float32 policy (a mixed_float16 module
    must not leave a LossScaleOptimizer to the next test in the worker)."""
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


def generate(tmp_path, name="adamw", model_type="functional", **answers):
    return support.generate(
        tmp_path / f"{name}_{model_type}",
        name=f"optax_{name}_{model_type}",
        model_type=model_type,
        optimizer=f"optax:{name}",
        **answers,
    )


def edited(module, old: str, new: str):
    """The module's source with ``old`` (once in it) replaced by ``new``, imported:
    an edit of the user's, or a deliberate bug."""
    path = Path(module.__file__)
    source = path.read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} not (once) in the generated module"
    changed = path.with_name(f"{path.stem}_edited.py")
    changed.write_text(source.replace(old, new), encoding="utf-8")
    result = support.import_path(changed)
    result.TEST_SPEC, result.TEST_CLASS_NAME = module.TEST_SPEC, module.TEST_CLASS_NAME
    return result


def constructions(source: str) -> list[str]:
    """The arguments after `optax_transformation` of each `OptaxOptimizer(...)` in
    ``source`` (black may break the call over lines)."""
    calls = re.findall(
        r"OptaxOptimizer\(\s*optax_transformation,\s*([^)]*?),?\s*\)", source
    )
    return [" ".join(call.split()) for call in calls]


def data(module, num_samples=64):
    return module.make_dataset(num_samples=num_samples, seed=1)


def paths(model):
    return [v.path for v in model.trainable_variables]


def transformation_of(module, model):
    """The module's own optax transformation, as the oracle runs it."""
    return module.optax_transformation(LEARNING_RATE, paths(model))


def prove(module, **oracle_kwargs):
    """`fit` (8 steps) against the optax loop; returns the trained model."""
    x, y = data(module)
    model = fit_generated(module, x, y)
    oracle = optax_loop(module, x, y, transformation_of(module, model), **oracle_kwargs)
    assert_matches(model, oracle)
    return model


# ------------------------------------------------------------------ the catalog (fast)


def test_every_catalog_name_is_an_optax_optimizer_of_a_learning_rate():
    """Each name `--optimizer optax:NAME` takes exists in the installed optax and
    takes a learning rate first; those left out exist too (the catalog says why)."""
    for name in catalog.OPTAX_OPTIMIZERS:
        factory = getattr(optax, name)
        first = next(iter(inspect.signature(factory).parameters))
        assert first == "learning_rate", name
    for name in ("lbfgs", "polyak_sgd", "noisy_sgd", "optimistic_adam_v2"):
        assert callable(getattr(optax, name)) and name not in catalog.OPTAX_OPTIMIZERS
    assert len(set(catalog.OPTAX_OPTIMIZERS)) == len(catalog.OPTAX_OPTIMIZERS)


def test_keras_private_update_hook_contract():
    """The one private name `OptaxOptimizer` uses: Keras's optimizers call
    `_backend_update_step(grads, trainable_variables, learning_rate)` once per applied
    step with every gradient and variable. If Keras renames or changes it, this fails
    loudly: see `_backend_update_step` in templates/partials/optax_optimizer.py.jinja.
    """
    calls = []

    class Recording(keras.optimizers.SGD):
        def _backend_update_step(self, grads, trainable_variables, learning_rate):
            calls.append((list(grads), list(trainable_variables), learning_rate))
            super()._backend_update_step(grads, trainable_variables, learning_rate)

    variables = [
        keras.Variable(np.ones(2, "float32")),
        keras.Variable(np.ones(3, "float32")),
    ]
    optimizer = Recording(learning_rate=0.5)
    grads = [np.full(2, 2.0, "float32"), np.full(3, 4.0, "float32")]
    optimizer.apply(grads, variables)
    assert len(calls) == 1
    seen_grads, seen_variables, _ = calls[0]
    assert seen_variables == variables
    np.testing.assert_allclose(np.asarray(seen_grads[1]), grads[1])
    np.testing.assert_allclose(variables[0].numpy(), 1.0 - 0.5 * 2.0)


@pytest.mark.slow
def test_every_catalog_optimizer_keeps_a_numeric_state_and_trains():
    """Each one's state is arrays of numbers (Keras variables can hold them) and it
    follows a traced learning rate through two updates, as `OptaxOptimizer` runs it."""
    params = [jnp.ones((4, 3)), jnp.zeros((3,)), jnp.full((3, 1), 0.5)]
    grads = [0.1 * jnp.ones_like(p) + 0.01 * i for i, p in enumerate(params)]
    for name in catalog.OPTAX_OPTIMIZERS:
        factory = getattr(optax, name)
        state = factory(LEARNING_RATE).init(params)
        moved = params
        for _ in range(2):
            updates, state = factory(jnp.float32(LEARNING_RATE)).update(
                grads, state, moved
            )
            moved = optax.apply_updates(moved, updates)
        for leaf in jax.tree.leaves(state):
            assert np.issubdtype(np.asarray(leaf).dtype, np.number), name
        assert not np.array_equal(moved[0], params[0]), name


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "optax:adamz",
            (
                "unknown optax optimizer 'optax:adamz' (did you mean 'optax:adam'?); "
                "those that take a learning rate: adabelief,"
            ),
        ),
        ("optax:", "unknown optax optimizer 'optax:'"),
        ("optax:lbfgs", "unknown optax optimizer 'optax:lbfgs'"),
        (
            "adamz",
            (
                "unknown optimizer 'adamz' (did you mean 'adam'?); or an optax one as "
                "optax:NAME, e.g. optax:adamw"
            ),
        ),
    ],
)
def test_a_bad_optimizer_is_one_error_line_naming_it(tmp_path, value, message):
    result = invoke("new", "demo", "--optimizer", value, "--no-input", "-o", tmp_path)
    assert result.exit_code != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message), lines
    assert not any(tmp_path.iterdir())


def test_optax_is_in_the_code_only_where_it_is_used():
    """The default module and project never mention optax; with `optax:adamw` the
    module says it needs optax, imports it and shows the optax expression next to
    `compile_model`; the project depends on the optax range this tool is tested
    with; `optax:NAME` is case-forgiving and recorded as written in lower case."""

    def render(**answers):
        return render_spec(build_spec(Answers(name="demo", **answers)))

    assert not any("optax" in text.lower() for text in render().values())
    module = render(optimizer="Optax:AdamW")["demo.py"]
    docstring = module[: module.index('"""', 3)]
    assert 'Needs optax (`pip install "optax>=' in docstring
    assert "\nimport optax\n" in module
    assert "--optimizer optax:adamw " in module.splitlines()[4]
    assert "    return optax.adamw(learning_rate)\n" in module
    assert (
        "        optimizer=OptaxOptimizer(optax_transformation, learning_rate=0.001),\n"
        in module
    )
    assert module.index("def optax_transformation(") < module.index(
        "def compile_model("
    )
    gan = render(recipe="gan", optimizer="optax:lion")["demo.py"]
    assert constructions(gan) == ["learning_rate=0.001"] * 2
    assert "    return optax.lion(learning_rate)\n" in gan
    assert context.optax_dependency().startswith("optax>=")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"{context.optax_dependency()}"' in pyproject


def test_projects_depend_on_optax_only_when_they_use_it(tmp_path):
    from keras_jax_scaffold.project import render_project

    def render(**answers):
        spec = build_spec(Answers(name="proj", **answers))
        return render_project(spec, (), tmp_path / "proj")

    plain = render()
    assert not any("optax" in text.lower() for text in plain.values())
    files = render(optimizer="optax:adafactor", learning_rate=0.01)
    assert f'    "{context.optax_dependency()}",\n' in files["pyproject.toml"]
    model = files["src/proj/model.py"]
    assert "\nimport optax\n" in model and "\nimport jax\n" in model
    assert (
        "optimizer=OptaxOptimizer(optax_transformation, learning_rate=learning_rate)"
        in (model)
    )
    assert "    return optax.adafactor(learning_rate)\n" in model
    assert "LEARNING_RATE = 0.01\n" in files["src/proj/constants.py"]
    assert "optax's `adafactor`" in files["README.md"]
    gan = render(recipe="gan", optimizer="optax:adam")["src/proj/model.py"]
    assert constructions(gan) == ["learning_rate=learning_rate"] * 2


@pytest.mark.slow
def test_optax_modules_and_projects_pass_ruff(tmp_path):
    """`ruff check` with the projects' own settings on optax code of each kind."""
    from tests.helpers.projects import render, ruff_check, write

    for model_type, recipe in (("sequential", "default"), ("subclassed", "gan")):
        answers = {
            "model_type": model_type,
            "recipe": recipe,
            "optimizer": "optax:adamw",
        }
        name = f"p_{model_type}"
        write(tmp_path / name, render(tmp_path, name, **answers))
        spec = build_spec(Answers(name=name, **answers))
        write(tmp_path, {f"m_{model_type}.py": render_spec(spec)[f"{name}.py"]})
    ruff_check(tmp_path)


# ------------------------------------------------------------------- oracles (slow)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "model_type"), PROOFS)
def test_fit_matches_the_optax_loop(tmp_path, name, model_type):
    module = generate(tmp_path, name, model_type)
    model = prove(module)
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "OptaxOptimizer"
    assert int(optimizer.iterations.numpy()) == 8
    # The state moved away from what `init` gives (the proof compares something).
    initial = transformation_of(module, model).init(
        [v.value for v in model.trainable_variables]
    )
    assert len(jax.tree.leaves(initial)) == len(optimizer_state(model)) > 0
    assert any(
        not np.array_equal(np.asarray(start), value)
        for start, value in zip(jax.tree.leaves(initial), optimizer_state(model))
    )


@pytest.mark.slow
def test_an_edited_chain_matches_the_optax_loop(tmp_path):
    """The user's edit of `optax_transformation`: global-norm clipping, then AdamW."""
    module = edited(
        generate(tmp_path, "adamw", "functional"),
        "    return optax.adamw(learning_rate)",
        CHAIN,
    )
    prove(module)


def documented_example() -> str:
    """The `multi_transform` example of docs/optimizers.md, as written there."""
    blocks = re.findall(
        r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL
    )
    (example,) = [block for block in blocks if "optax.multi_transform" in block]
    return example


@pytest.mark.slow
def test_the_documented_learning_rate_per_layer_group_matches(tmp_path):
    """docs/optimizers.md's `multi_transform` example, on a subclassed model whose
    output layer is named "head": the head moves with ten times the rate."""
    module = generate(tmp_path, "adam", "subclassed")
    source = Path(module.__file__).read_text(encoding="utf-8")
    # The generated `optax_transformation`, decorator to end, is replaced by it.
    start = source.rindex("@", 0, source.index("def optax_transformation("))
    end = source.index("\n\n\ndef compile_model(")
    package = re.search(r'package="(\w+)"', source)[1]
    example = documented_example().replace('package="my_model"', f'package="{package}"')
    module = edited(module, source[start:end], example.rstrip("\n"))
    module = edited(
        module,
        "keras.layers.Dense(units=OUTPUT_UNITS",
        'keras.layers.Dense(name="head", units=OUTPUT_UNITS',
    )
    model = prove(module)
    assert sum(path.split("/")[-2] == "head" for path in paths(model)) == 2


@pytest.mark.slow
def test_negative_controls_fail_the_comparison(tmp_path):
    """An oracle whose optax state is not carried (a fresh `init` every step), and an
    `OptaxOptimizer` that does not write its state back: both differ from `fit`'s /
    the oracle's weights, so the proofs above would catch a lost state."""
    module = generate(tmp_path, "adamw", "functional")
    x, y = data(module)
    model = fit_generated(module, x, y)
    transformation = transformation_of(module, model)
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        assert_matches(
            model, optax_loop(module, x, y, transformation, carry_state=False)
        )

    forgetful = edited(
        module,
        "            self.assign(variable, value)\n",
        "            pass  # the state is not written back\n",
    )
    model = fit_generated(forgetful, x, y)
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        assert_matches(model, optax_loop(module, x, y, transformation))


@pytest.mark.slow
@pytest.mark.parametrize("model_type", ["sequential", "functional", "subclassed"])
def test_the_steps_equal_keras_steps_with_an_optax_optimizer(tmp_path, model_type):
    """History (with validation), evaluate and predict of the generated steps equal
    Keras's built-in steps', both with the same `OptaxOptimizer`, sample weights."""
    module = generate(tmp_path, "lion", model_type)
    x, y = data(module)
    x_val, y_val = module.make_dataset(num_samples=16, seed=2)
    weights = np.random.default_rng(3).uniform(0.2, 3.0, size=(64,)).astype("float32")
    fit_kwargs = {
        "batch_size": 16,
        "epochs": 2,
        "sample_weight": weights,
        "validation_data": (x_val, y_val),
    }
    support.compare(module, x, y, fit_kwargs)


@pytest.mark.slow
def test_save_load_restores_the_state_and_training_continues_identically(tmp_path):
    module = generate(tmp_path, "adamw", "subclassed")
    x, y = data(module)
    model = fit_generated(module, x, y, epochs=1)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer).__name__ == "OptaxOptimizer"
    assert loaded.optimizer.transformation is module.optax_transformation
    assert loaded.optimizer.get_config()["transformation"] == (
        f"{module.TEST_SPEC.name}>optax_transformation"
    )
    for mine, theirs in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(theirs), np.asarray(mine))
    # A .keras file keeps no seed generator state: the dropout seed is copied over.
    for mine, theirs in zip(
        model.non_trainable_variables, loaded.non_trainable_variables
    ):
        theirs.assign(np.array(mine.numpy()))
    for trained in (model, loaded):
        trained.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert int(loaded.optimizer.iterations.numpy()) == 8
    for mine, theirs in zip(
        [*model.variables, *model.optimizer.variables],
        [*loaded.variables, *loaded.optimizer.variables],
    ):
        np.testing.assert_allclose(
            np.asarray(theirs), np.asarray(mine), rtol=support.RTOL, atol=support.ATOL
        )


@pytest.mark.slow
def test_keras_learning_rate_reaches_optax(tmp_path):
    """A Keras learning-rate callback sets the rate optax is built with: at 0 the
    weights stay put while the optax state (the moments) still moves."""
    module = generate(tmp_path, "adamw", "functional")
    x, y = data(module)
    before = [
        np.asarray(v.numpy())
        for v in fit_generated(module, x, y, epochs=0).trainable_variables
    ]
    model = fit_generated(
        module,
        x,
        y,
        epochs=1,
        callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: 0.0)],
    )
    for value, start in zip(model.trainable_variables, before):
        np.testing.assert_array_equal(np.asarray(value.numpy()), start)
    assert any(np.any(value != 0) for value in optimizer_state(model))


@pytest.mark.slow
def test_keras_gradient_accumulation_matches_optax_multisteps(tmp_path):
    """Keras's own `gradient_accumulation_steps` on `OptaxOptimizer` equals optax's
    `MultiSteps` (the weights; the two keep different states)."""
    module = edited(
        generate(tmp_path, "adam", "functional"),
        "OptaxOptimizer(optax_transformation, learning_rate=0.001)",
        "OptaxOptimizer(\n            optax_transformation, learning_rate=0.001, "
        "gradient_accumulation_steps=2\n        )",
    )
    x, y = data(module)
    model = fit_generated(module, x, y)
    variables, _ = optax_loop(
        module, x, y, optax.MultiSteps(optax.adam(LEARNING_RATE), every_k_schedule=2)
    )
    for variable, expected in zip(model.trainable_variables, variables):
        np.testing.assert_allclose(
            np.asarray(variable.numpy()), expected, rtol=support.RTOL, atol=support.ATOL
        )


@pytest.mark.slow
def test_mixed_float16_scales_the_loss_and_optax_sees_unscaled_gradients(tmp_path):
    module = generate(tmp_path, "adamw", "functional", dtype_policy="mixed_float16")
    x, y = data(module)
    model = fit_generated(module, x, y)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert type(model.optimizer.inner_optimizer).__name__ == "OptaxOptimizer"
    oracle = optax_loop(
        module, x, y, transformation_of(module, model), loss_scale=2.0**15
    )
    assert_matches(model, oracle)
    # The first step overflows float16 at 2**15 and is skipped, as in the oracle.
    assert float(model.optimizer.dynamic_scale.numpy()) == oracle[2] == 2.0**14


@pytest.mark.slow
def test_gan_trains_both_networks_with_optax_like_train_on_batch(tmp_path):
    module = generate(
        tmp_path, "lion", "functional", recipe="gan", loss="bce", metrics=()
    )
    x, _ = module.make_dataset(num_samples=48, seed=1)
    model, oracle = gan_oracles.run_gan(module, x, 16)
    for optimizer in (
        model.optimizer.discriminator_optimizer,
        model.optimizer.generator_optimizer,
    ):
        assert type(optimizer).__name__ == "OptaxOptimizer"
    gan_oracles.assert_gan_matches(model, oracle)
    # Both optax states (one per network) come back from a .keras file.
    model.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for mine, theirs in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(theirs), np.asarray(mine))


@pytest.mark.slow
def test_data_parallel_on_four_cpu_devices(tmp_path):
    """`fit` under DataParallel (4 simulated CPU devices) matches the optax loop, with
    the optax state replicated; under ModelParallel the moments of a split kernel are
    split like it (fresh process)."""
    stdout = support.run_check_script("optax_dataparallel_check.py", tmp_path)
    assert "dataparallel-ok" in stdout and "modelparallel-ok" in stdout


@pytest.mark.slow
def test_an_optax_project_passes_its_own_tests(tmp_path):
    """A project with `--optimizer optax:lion` (subclassed), installed into a fresh
    venv, passes its own tests: its parity proof against Keras's built-in steps,
    save/load, smoke, DataParallel and the step contract (its optax dependency:
    `test_projects_depend_on_optax_only_when_they_use_it`)."""
    from tests.helpers.cli import invoke
    from tests.helpers.projects import PROJECT_TESTS, installed_project_tests

    generated = invoke(
        "new", "optax_project", "--project", "--no-input", "--model-type",
        "subclassed", "--optimizer", "optax:lion", "-o", tmp_path,
    )  # fmt: skip
    assert generated.exit_code == 0, generated.output
    code, output = installed_project_tests(
        tmp_path / "optax_project", tmp_path / "venv"
    )
    assert code == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    # Every test a project has: smoke, parity proof, save/load, DataParallel and the
    # step contract.
    assert re.search(rf"\b{PROJECT_TESTS} passed\b", summary), summary
    assert not re.search(r"failed|error|skipped", summary), summary

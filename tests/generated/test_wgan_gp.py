"""The wgan-gp recipe: a Wasserstein critic and a generator, `critic_steps` critic
updates with a gradient penalty at interpolates (a gradient of a gradient), then one
generator update.

The oracle is the one a wgan-gp project ships as its tests/test_parity.py: the same
algorithm in pure JAX + optax (``tests/helpers/wgan_gp.py`` imports it). Proven here
for generated modules: both model types (Keras's Adam and optax's own `adam`,
default and other settings), the three negative controls, `mixed_float16` with
skipped updates, `DataParallel` on 4 simulated CPU devices (a fresh process), `fit` /
`evaluate` / `predict` with callbacks, `save`/`load_model` continuing identically; and
the command line: its settings and the answers that do not apply are one-line errors,
`update --recipe` to wgan-gp and back keeps a user's edit.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest

from tests.helpers import support
from tests.helpers import wgan_gp as helpers
from tests.helpers.cli import invoke

MIXED = "mixed_float16"


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends under the float32 policy (a mixed_float16 test must
    not leave a LossScaleOptimizer to the next test in the same worker)."""
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(scope="module")
def proof(tmp_path_factory):
    """The oracle of a wgan-gp project's tests/test_parity.py, imported."""
    return helpers.load_proof(tmp_path_factory.mktemp("proof"))


def generate(tmp_path, model_type="functional", **answers):
    return support.generate(
        tmp_path,
        name=f"wgan_{model_type}",
        recipe="wgan-gp",
        model_type=model_type,
        **answers,
    )


# --- the oracle --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "model_type, answers",
    [
        ("functional", {}),
        (
            "subclassed",
            {
                "optimizer": "optax:adam",
                "critic_steps": 3,
                "gp_weight": 5.0,
                "noise_dim": 4,
            },
        ),
    ],
    ids=["functional-keras-adam", "subclassed-optax-adam-settings"],
)
def test_matches_the_pure_jax_and_optax_oracle(tmp_path, proof, model_type, answers):
    """Weights, logs, both optimizers' update counts: Keras's Adam (written out as an
    optax transformation in the oracle) with the default settings, and optax's own
    `adam` (the same transformation in both) with other settings."""
    module = generate(tmp_path, model_type, **answers)
    model, history, expected = helpers.run(proof, module)
    proof.assert_matches(model, history, expected)
    steps = answers.get("critic_steps", 5)
    assert expected["updates"] == {"critic": 3 * steps, "generator": 3}
    assert set(history) == {"d_loss", "g_loss", "gp"}


@pytest.mark.slow
def test_negative_controls(tmp_path, proof):
    """No penalty, the penalty at the real samples, one critic update a step: each
    starts where the oracle does and ends elsewhere."""
    module = generate(tmp_path)
    generated = getattr(module, module.TEST_CLASS_NAME)

    class NoPenalty(generated):
        def gradient_penalty(self, *args):
            penalty, non_trainable_variables = super().gradient_penalty(*args)
            return 0.0 * penalty, non_trainable_variables

    class PenaltyAtRealSamples(generated):
        def penalty_points(self, real_samples, generated, weights):
            return real_samples

    class OneCriticStep(generated):
        critic_steps = 1

    _, _, expected = helpers.run(proof, module)
    for variant in (NoPenalty, PenaltyAtRealSamples, OneCriticStep):
        model, _, _, start = helpers.fit(proof, module, variant)
        for mine, theirs in zip(
            keras.tree.flatten(start), keras.tree.flatten(expected["start"])
        ):
            np.testing.assert_array_equal(mine, theirs)
        with pytest.raises(AssertionError):
            proof.assert_same_weights(model, expected)


@pytest.mark.slow
def test_mixed_float16_with_skipped_updates(tmp_path, proof):
    """Each network's loss is scaled by its own LossScaleOptimizer, the gradient
    penalty's second-order gradients included; from large initial scales some
    updates overflow float16 and are skipped (the scale halves), exactly as the
    oracle's dynamic loss scaling does."""
    module = generate(tmp_path)
    model, history, expected = helpers.run(proof, module, policy=MIXED)
    for optimizer in (
        model.optimizer.critic_optimizer,
        model.optimizer.generator_optimizer,
    ):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    proof.assert_matches(model, history, expected)

    def scaled(initial_scale):
        return keras.optimizers.LossScaleOptimizer(
            keras.optimizers.Adam(), initial_scale=initial_scale
        )

    model, history, expected = helpers.run(
        proof,
        module,
        policy=MIXED,
        compile_kwargs={
            "critic_optimizer": scaled(2.0**22),
            "generator_optimizer": scaled(2.0**19),
        },
    )
    proof.assert_matches(model, history, expected)
    updates = expected["updates"]
    assert 0 < updates["critic"] < 15 and 0 < updates["generator"] < 3, updates


@pytest.mark.slow
def test_data_parallel_on_four_cpu_devices(tmp_path):
    stdout = support.run_check_script("wgan_gp_dataparallel_check.py", tmp_path)
    assert "wgan-gp-dataparallel-ok" in stdout


@pytest.mark.slow
def test_the_check_catches_the_critic_called_inside_the_penalty(tmp_path):
    """The trap the recipe avoids (docs/own-algorithm.md): `self.critic(...)` inside
    the penalty's nested `jax.grad` instead of `stateless_call`. `check` names the
    line; the recipe's own code keeps the contract (tests/runtime/test_contract.py),
    its critic updates inside a `jax.lax.scan` noted, not flagged."""
    import re

    from tests.helpers.check_plants import check_module, render_module

    path = render_module(tmp_path, recipe="wgan-gp")
    source, count = re.subn(
        r"(        def summed_scores\(samples\):\n).*?"
        r"(            return keras\.ops\.sum\(scores\), non_trainable\n)",
        r"\1            scores = self.critic(samples, training=training)\n"
        r"            return keras.ops.sum(scores), non_trainable_variables\n",
        path.read_text(encoding="utf-8"),
        flags=re.DOTALL,
    )
    assert count == 1
    path.write_text(source, encoding="utf-8")
    line = source.splitlines().index(
        "            scores = self.critic(samples, training=training)"
    )
    findings = check_module(path).findings
    assert {f.check for f in findings} == {
        "assign-in-step",
        "frozen-variable",
    }, findings
    assert all(f.where.endswith(f"demo.py:{line + 1}") for f in findings), findings


# --- fit, evaluate, predict, callbacks, save and load --------------------------------


@pytest.mark.slow
def test_fit_evaluate_predict_callbacks_save_load_and_continue(tmp_path):
    module = generate(tmp_path, "subclassed")
    x, _ = module.make_dataset(num_samples=64, seed=0)
    keras.utils.set_random_seed(0)
    model = module.build_model()
    seen = []
    callbacks = [
        keras.callbacks.LearningRateScheduler(lambda epoch, rate: 1e-3 / (epoch + 1)),
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: seen.append(logs)
        ),
    ]
    history = model.fit(x, batch_size=16, epochs=2, verbose=0, callbacks=callbacks)
    assert set(history.history) == {"d_loss", "g_loss", "gp", "learning_rate"}
    assert [set(logs) for logs in seen] == [set(history.history)] * 2
    for key in ("d_loss", "g_loss", "gp"):
        assert np.all(np.isfinite(history.history[key])), key
    # The scheduler set both optimizers' rates.
    for optimizer in (
        model.optimizer.critic_optimizer,
        model.optimizer.generator_optimizer,
    ):
        np.testing.assert_allclose(float(optimizer.learning_rate.numpy()), 5e-4)
    counts = [
        int(o.iterations.numpy())
        for o in (model.optimizer.critic_optimizer, model.optimizer.generator_optimizer)
    ]
    assert counts == [40, 8] and int(model.optimizer.iterations.numpy()) == 8
    results = model.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    assert set(results) == {"d_loss", "g_loss", "gp"}
    latent = np.random.default_rng(0).normal(size=(5, model.noise_dim))
    samples = model.predict(latent, verbose=0)
    assert samples.shape == (5, *module.INPUT_SHAPE)
    with pytest.raises(ValueError, match="takes no loss"):
        model.compile(loss="mse")

    loaded = support.saved_and_loaded(model, tmp_path / "wgan.keras")
    np.testing.assert_array_equal(loaded.predict(latent, verbose=0), samples)

    # `.keras` files do not keep seed generator states; with the same ones, the
    # loaded model trains on exactly as the original does.
    for mine, theirs in zip(
        model.non_trainable_variables, loaded.non_trainable_variables
    ):
        theirs.assign(np.array(mine.numpy()))
    for each in (model, loaded):
        each.fit(x, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for mine, theirs in zip(model.variables, loaded.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)
    assert int(loaded.optimizer.critic_optimizer.iterations.numpy()) == 60


# --- the command line ------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--critic-steps", "0"],
            "invalid --critic-steps 0: must be at least 1 (default 5)",
        ),
        (
            ["--gp-weight", "-1"],
            "invalid --gp-weight -1.0: must be at least 0.0 (default 10.0)",
        ),
        (
            ["--loss", "bce"],
            (
                "recipe 'wgan-gp' has its own loss (the Wasserstein loss and the gradient "
                "penalty) and takes no --loss: drop it"
            ),
        ),
        (["--task", "positive_regression"], "takes no --task: drop it"),
        (
            ["-m", "mae"],
            (
                "recipe 'wgan-gp' takes no metrics (got: mean_absolute_error): it logs "
                "d_loss, g_loss, gp; give -m none"
            ),
        ),
        (["--model-type", "sequential"], "use --model-type functional or subclassed"),
        (["--output", "real:mse"], "recipe 'wgan-gp' with named inputs or outputs"),
    ],
)
def test_bad_answers_are_one_line_errors(tmp_path, flags, message):
    result = invoke(
        "new", "demo", "--recipe", "wgan-gp", *flags, "--no-input", "-o", tmp_path
    )
    assert result.exit_code != 0
    error = result.output.strip()
    assert error.startswith("error:") and "\n" not in error, error
    assert message in error, error
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            ["--recipe", "gan", "--critic-steps", "3"],
            (
                "--critic-steps is a setting of recipe 'wgan-gp', not of 'gan': add "
                "--recipe wgan-gp, or drop --critic-steps"
            ),
        ),
        (
            ["--noise-dim", "4"],
            (
                "--noise-dim is a setting of recipes 'gan' and 'wgan-gp', not of "
                "'default': add --recipe gan or --recipe wgan-gp, or drop --noise-dim"
            ),
        ),
    ],
)
def test_settings_of_other_recipes_are_refused(tmp_path, flags, message):
    result = invoke("new", "demo", *flags, "--no-input", "-o", tmp_path)
    assert result.exit_code != 0
    assert result.output.strip() == f"error: {message}"


def test_the_recipe_follows_its_defaults_and_shares_noise_dim(tmp_path):
    """No --loss, --task or --metric on the command line (the recipe owns its loss);
    --noise-dim is gan's and wgan-gp's alike."""
    result = invoke(
        "new", "demo", "--recipe", "wgan-gp", "--noise-dim", "4", "--critic-steps", "2",
        "--no-input", "-o", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    source = (tmp_path / "demo.py").read_text(encoding="utf-8")
    header = source.splitlines()[4]
    assert "--recipe wgan-gp --noise-dim 4 --critic-steps 2 --gp-weight 10.0" in header
    for flag in ("--loss", "--task", "--metric", "--output-units"):
        assert flag not in header, header
    for line in (
        "    noise_dim = 4\n",
        "    critic_steps = 2\n",
        "    gp_weight = 10.0\n",
    ):
        assert line in source


# --- update --recipe ---------------------------------------------------------------------


def test_update_to_wgan_gp_and_back_keeps_a_user_edit(tmp_path):
    from keras_jax_scaffold.project import create_project, read_answers
    from keras_jax_scaffold.spec import Answers
    from keras_jax_scaffold.update import update_project

    create_project(Answers(name="proj", model_type="subclassed"), tmp_path)
    project = tmp_path / "proj"
    train = project / "src" / "proj" / "train.py"
    anchor = "    # Options of your own: parser.add_argument(...), then read them in `main`.\n"
    edit = '    parser.add_argument("--my-option", type=int, default=3)\n'
    source = train.read_text("utf-8")
    assert source.count(anchor) == 1
    train.write_text(source.replace(anchor, anchor + edit), "utf-8")

    plan = update_project(project, Answers(recipe="wgan-gp", critic_steps=3))
    assert plan.conflicts == []
    assert edit in train.read_text("utf-8")
    steps = (project / "src/proj/steps.py").read_text("utf-8")
    assert "    critic_steps = 3\n" in steps and "def gradient_penalty(" in steps
    recorded = read_answers(project).answers
    assert (recorded.recipe, recorded.critic_steps) == ("wgan-gp", 3)
    # The loss, task and metrics no longer apply: not recorded.
    assert (recorded.loss, recorded.task, recorded.metrics) == (None, None, None)
    assert "optax" in (project / "pyproject.toml").read_text("utf-8")

    plan = update_project(project, Answers(recipe="default"))
    assert plan.conflicts == []
    assert edit in train.read_text("utf-8")
    assert "def gradient_penalty(" not in (project / "src/proj/steps.py").read_text(
        "utf-8"
    )
    recorded = read_answers(project).answers
    assert recorded.recipe == "default" and recorded.critic_steps is None
    assert recorded.loss == "sparse_categorical_crossentropy"
    assert "optax" not in (project / "pyproject.toml").read_text("utf-8")

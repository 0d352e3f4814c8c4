"""The recipes with several networks in one step: gan, distillation, vae.

Each is generated, trained for its model types and compared with its Keras oracle
(``tests/helpers/multi_network_oracles.py``): weights within rtol 1e-6. A deliberately
broken variant of each recipe must fail the same comparison (negative controls). Also:
``mixed_float16`` (each loss scaled by the optimizer that applies its gradients),
``DataParallel`` on 4 simulated CPU devices (in a fresh process), save/load with both
optimizers' state, and the refusal of ``--model-type sequential``.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest
from keras_jax_scaffold.cli import app
from keras_jax_scaffold.runtime import contract
from typer.testing import CliRunner

from tests.helpers import multi_network_oracles as oracles
from tests.helpers import support

MODEL_TYPES = ("functional", "subclassed")
MIXED = "mixed_float16"


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends under the float32 policy: a mixed_float16 test
    must not leave a LossScaleOptimizer (which skips overflowing steps) to the next
    test in the same worker."""
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


# The answers each recipe needs besides itself (gan: its adversarial loss, no metrics).
NEEDS = {
    "gan": {"loss": "binary_crossentropy", "metrics": ()},
    "distillation": {},
    "vae": {"loss": "mse"},
    "wgan-gp": {},
}


def generate(tmp_path, recipe, model_type="functional", **answers):
    """Generate and import a module with ``recipe`` (settings are answers too)."""
    answers = {**NEEDS[recipe], **answers}
    return support.generate(
        tmp_path, name=f"{recipe}_{model_type}", recipe=recipe, model_type=model_type,
        **answers,
    )  # fmt: skip


# --- gan -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_gan_matches_train_on_batch(tmp_path, model_type):
    module = generate(tmp_path, "gan", model_type)
    x, _ = module.make_dataset(num_samples=48, seed=1)
    model, oracle = oracles.run_gan(module, x, 16)
    oracles.assert_gan_matches(model, oracle)


@pytest.mark.slow
def test_gan_matches_train_on_batch_under_mixed_float16(tmp_path):
    module = generate(tmp_path, "gan")
    x, _ = module.make_dataset(num_samples=48, seed=1)
    model, oracle = oracles.run_gan(module, x, 16, policy=MIXED)
    for optimizer in (
        model.optimizer.discriminator_optimizer,
        model.optimizer.generator_optimizer,
    ):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    oracles.assert_gan_matches(model, oracle)


@pytest.mark.slow
def test_gan_negative_control_lost_discriminator_optimizer_state(tmp_path):
    """The bug the recipe avoids: a second optimizer whose state `fit` drops."""
    module = generate(tmp_path, "gan")
    generated = getattr(module, module.TEST_CLASS_NAME)

    class LosesState(generated):
        def train_step(self, state, data):
            logs, new_state = super().train_step(state, data)
            own, old, _ = self.optimizer.split(state[2])
            _, _, generator_state = self.optimizer.split(new_state[2])
            optimizer_variables = [*own, *old, *generator_state]
            return logs, (new_state[0], new_state[1], optimizer_variables, new_state[3])

    x, _ = module.make_dataset(num_samples=48, seed=1)
    model, oracle = oracles.run_gan(
        module, x, 16, build=lambda: support.build_with(module, LosesState)
    )
    with pytest.raises(AssertionError):
        oracles.assert_gan_matches(model, oracle)


@pytest.mark.slow
def test_gan_fit_evaluate_predict_save_load_and_resume(tmp_path):
    module = generate(tmp_path, "gan", "subclassed")
    x, _ = module.make_dataset(num_samples=64, seed=0)
    keras.utils.set_random_seed(0)
    model = module.build_model()
    history = model.fit(x, batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert np.all(np.isfinite(history.history["d_loss"] + history.history["g_loss"]))
    optimizers = model.optimizer
    counts = [
        int(o.iterations.numpy())
        for o in (optimizers.discriminator_optimizer, optimizers.generator_optimizer)
    ]
    assert counts == [8, 8] and int(model.optimizer.iterations.numpy()) == 8
    results = model.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    assert set(results) == {"d_loss", "g_loss"}
    latent = np.random.default_rng(0).normal(size=(5, model.noise_dim))
    samples = model.predict(latent, verbose=0)
    assert samples.shape == (5, *module.INPUT_SHAPE)

    loaded = support.saved_and_loaded(model, tmp_path / "gan.keras")
    np.testing.assert_allclose(loaded.predict(latent, verbose=0), samples, rtol=1e-6)

    loaded.fit(x, batch_size=16, epochs=1, verbose=0)
    loaded_optimizers = loaded.optimizer
    assert [
        int(o.iterations.numpy())
        for o in (
            loaded_optimizers.discriminator_optimizer,
            loaded_optimizers.generator_optimizer,
        )
    ] == [12, 12]


# --- distillation ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_distillation_matches_keras_distiller(tmp_path, model_type):
    module = generate(tmp_path, "distillation", model_type)
    x, y = module.make_dataset(num_samples=48, seed=1)
    mine, oracle = oracles.run_distillation(
        module, x, y, {"batch_size": 16, "epochs": 2}
    )
    oracles.assert_distillation_matches(mine, oracle)


@pytest.mark.slow
def test_distillation_matches_keras_distiller_under_mixed_float16(tmp_path):
    module = generate(tmp_path, "distillation")
    x, y = module.make_dataset(num_samples=48, seed=1)
    mine, oracle = oracles.run_distillation(
        module, x, y, {"batch_size": 16, "epochs": 1}, policy=MIXED
    )
    oracles.assert_distillation_matches(mine, oracle)


@pytest.mark.slow
def test_distillation_negative_control_without_temperature_squared(tmp_path):
    module = generate(tmp_path, "distillation", temperature=4.0)
    generated = getattr(module, module.TEST_CLASS_NAME)

    class NoTemperatureSquared(generated):
        def distillation_loss(self, teacher_logits, student_logits):
            loss = super().distillation_loss(teacher_logits, student_logits)
            return loss / self.temperature**2

    def build(teacher, student):
        original = getattr(module, module.TEST_CLASS_NAME)
        setattr(module, module.TEST_CLASS_NAME, NoTemperatureSquared)
        try:
            return module.build_model(teacher=teacher, student=student)
        finally:
            setattr(module, module.TEST_CLASS_NAME, original)

    x, y = module.make_dataset(num_samples=48, seed=1)
    mine, oracle = oracles.run_distillation(
        module, x, y, {"batch_size": 16, "epochs": 1}, build=build
    )
    with pytest.raises(AssertionError):
        oracles.assert_distillation_matches(mine, oracle)


@pytest.mark.slow
def test_distillation_save_load_and_teacher_from_path(tmp_path):
    module = generate(tmp_path / "built_in", "distillation", "subclassed")
    x, y = module.make_dataset(num_samples=64, seed=0)
    keras.utils.set_random_seed(0)
    teacher = module.build_teacher()
    teacher_path = tmp_path / "teacher.keras"
    teacher.save(teacher_path)
    model = module.build_model(teacher=teacher)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert {"loss", "task_loss", "distillation_loss"} <= set(history.history)
    path = tmp_path / "distilled.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert int(loaded.optimizer.iterations.numpy()) == 4
    for mine, theirs in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7
    )
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert int(loaded.optimizer.iterations.numpy()) == 8

    # --teacher PATH: the module loads that teacher (without its compile state).
    from_path = generate(
        tmp_path / "from_path", "distillation", teacher=str(teacher_path)
    )
    assert from_path.TEACHER_PATH == str(teacher_path)
    loaded_teacher = from_path.load_teacher()
    for mine, theirs in zip(teacher.weights, loaded_teacher.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


# --- vae -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_type", "loss"), [("functional", "mse"), ("subclassed", "bce")]
)
def test_vae_matches_compute_loss_override(tmp_path, model_type, loss):
    module = generate(tmp_path, "vae", model_type, loss=loss)
    x, _ = module.make_dataset(num_samples=48, seed=1)
    weights = np.linspace(0.5, 2.0, num=48).astype("float32")
    fit_kwargs = {"batch_size": 16, "epochs": 2, "sample_weight": weights}
    mine, oracle = oracles.run_vae(module, x, fit_kwargs, support.build_with)
    oracles.assert_vae_matches(mine, oracle)
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(mine["history"])


@pytest.mark.slow
def test_vae_matches_compute_loss_override_under_mixed_float16(tmp_path):
    module = generate(tmp_path, "vae", loss="mse")
    x, _ = module.make_dataset(num_samples=48, seed=1)
    mine, oracle = oracles.run_vae(
        module, x, {"batch_size": 16, "epochs": 1}, support.build_with, policy=MIXED
    )
    assert isinstance(mine["model"].optimizer, keras.optimizers.LossScaleOptimizer)
    oracles.assert_vae_matches(mine, oracle)


@pytest.mark.slow
def test_vae_negative_control_without_the_draw(tmp_path):
    module = generate(tmp_path, "vae", loss="mse")
    generated = getattr(module, module.TEST_CLASS_NAME)

    class NoDraw(generated):
        """Decodes `z_mean`: the reparameterization draw is missing."""

        def sample_and_decode(self, inputs, training):
            z_mean, z_log_var = self.encode(inputs, training)
            return self.decoder(z_mean, training=training), z_mean, z_log_var

    x, _ = module.make_dataset(num_samples=48, seed=1)

    def build_with(module, cls):
        return support.build_with(module, NoDraw if cls is generated else cls)

    mine, oracle = oracles.run_vae(
        module, x, {"batch_size": 16, "epochs": 1}, build_with
    )
    with pytest.raises(AssertionError):
        oracles.assert_vae_matches(mine, oracle)


@pytest.mark.slow
def test_vae_save_load(tmp_path):
    module = generate(tmp_path, "vae", "subclassed", loss="mse")
    x, _ = module.make_dataset(num_samples=64, seed=0)
    model = module.build_model()
    model.fit(x, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert int(loaded.optimizer.iterations.numpy()) == 4
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7
    )
    results = loaded.evaluate(x, verbose=0, return_dict=True)
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(results)


# --- all three ------------------------------------------------------------------------


@pytest.mark.parametrize("recipe", ["gan", "distillation", "vae"])
def test_sequential_is_refused_with_the_reason(tmp_path, recipe):
    result = CliRunner().invoke(
        app,
        ["new", "demo", "--recipe", recipe, "--model-type", "sequential"]
        + (["--loss", "bce", "-m", "none"] if recipe == "gan" else [])
        + ["--no-input", "-o", str(tmp_path)],
    )
    assert result.exit_code != 0
    message = result.output.strip()
    assert message.startswith("error:") and "\n" not in message, message
    assert "sequential" in message and "functional" in message
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_data_parallel_on_four_cpu_devices(tmp_path):
    """All three recipes against their oracles under DataParallel (fresh process)."""
    stdout = support.run_check_script(
        "multi_network_dataparallel_check.py", tmp_path, timeout=900
    )
    assert "dataparallel-ok" in stdout


# --- projects ---------------------------------------------------------------------------


def test_recipe_projects_pass_ruff(tmp_path):
    """`ruff check` with the project's own settings, each recipe and model type."""
    import subprocess
    import sys

    from tests.helpers.projects import render, write

    for recipe in ("gan", "distillation", "vae", "wgan-gp"):
        for model_type in MODEL_TYPES:
            name = f"{recipe.replace('-', '_')}_{model_type}"
            files = render(
                tmp_path, name, recipe=recipe, model_type=model_type, **NEEDS[recipe]
            )
            write(tmp_path / name, files)
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("recipe", "model_type"),
    [
        ("gan", "subclassed"),
        ("distillation", "functional"),
        ("vae", "subclassed"),
        ("wgan-gp", "functional"),
    ],
)
def test_a_recipe_project_passes_its_own_tests(tmp_path, recipe, model_type):
    """The project `new --project --recipe R` writes, installed into a fresh venv,
    passes its own tests (its oracle and negative controls, save/load, smoke, the step
    contract); its DataParallel test is left to `test_data_parallel_on_four_cpu_devices`
    above and tests/generated/test_wgan_gp.py."""
    import re

    from tests.helpers.cli import invoke
    from tests.helpers.projects import (
        files_on_disk,
        installed_project_tests,
        paths_on_disk,
    )

    name = f"{recipe.replace('-', '_')}_project"
    flags = {"gan": ["--loss", "bce", "-m", "none"], "vae": ["--loss", "mse"]}
    generated = invoke(
        "new", name, "--project", "--no-input", "--recipe", recipe,
        "--model-type", model_type, "-o", tmp_path, *flags.get(recipe, []),
    )  # fmt: skip
    assert generated.exit_code == 0, generated.output
    project = tmp_path / name
    on_disk = files_on_disk(project)
    assert on_disk == paths_on_disk(name)

    code, output = installed_project_tests(
        project, tmp_path / "venv", "-k", "not data_parallel"
    )
    assert code == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    # Smoke 4 (its data files and `train.main` too), its oracle and negative
    # control (wgan-gp: three), save/load, the step contract (a test per check and 3
    # more); `python -m NAME.train` runs once, in tests/projects/.
    count = (9 if recipe == "wgan-gp" else 7) + len(contract.CHECKS) + 3
    assert re.search(rf"\b{count} passed\b", summary), summary
    assert not re.search(r"failed|error|skipped", summary), summary

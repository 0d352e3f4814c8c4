"""What a generated module promises besides exact steps: backend handling, contents."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import SCRIPTS, support

IMPORT_GENERATED = SCRIPTS / "import_generated.py"


def _run(name: str, cwd, backend: str | None):
    """Import the generated module NAME in a fresh process in ``cwd``, then keras."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    if backend:
        env["KERAS_BACKEND"] = backend
    return subprocess.run(
        [sys.executable, str(IMPORT_GENERATED), name],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_sets_jax_backend_when_unset(tmp_path):
    support.generate(tmp_path, name="auto_backend")
    completed = _run("auto_backend", tmp_path, None)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().endswith("jax")


@pytest.mark.slow
def test_refuses_another_backend_with_a_clear_message(tmp_path):
    support.generate(tmp_path, name="other_backend")
    completed = _run("other_backend", tmp_path, "numpy")
    assert completed.returncode != 0
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: other_backend needs the JAX backend")
    assert "'numpy'" in last and "KERAS_BACKEND=jax" in last


def test_module_provides_model_class_build_model_and_make_dataset(tmp_path):
    module = support.generate(
        tmp_path, name="shapes", loss="categorical_crossentropy", num_classes=4
    )
    x, y = module.make_dataset(num_samples=10, seed=3)
    assert x.shape == (10, 16) and x.dtype == "float32"
    assert y.shape == (10, 4) and set(y.sum(axis=1)) == {1.0}
    x2, y2 = module.make_dataset(num_samples=10, seed=3)
    assert (x == x2).all() and (y == y2).all()
    model = module.build_model()
    assert isinstance(model, module.Shapes)
    assert model.compiled and model.output_shape == (None, 4)

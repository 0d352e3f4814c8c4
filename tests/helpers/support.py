"""Parity helpers: generate a module, import it, and train its model next to a twin
that uses Keras's built-in JAX steps (the JAXTrainer reference).

Shared by the tests (tests/generated/test_parity.py and every test that trains
generated code) and by benchmarks/bench_steps.py, so the benchmark times exactly the
pair the tests prove equal. Importing this module imports no keras; the functions that need it do.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers import SCRIPTS

# "Exactly like Keras": weights, logs and predictions agree to this tolerance.
RTOL, ATOL = 1e-6, 1e-7

_counter = itertools.count()


def import_path(path: Path, module_name: str | None = None):
    """Import a generated file (under a unique module name unless one is given)."""
    module_name = module_name or f"{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def generate(directory: Path, name: str = "demo", module_name=None, **answers):
    """Render ``answers`` into ``directory/NAME.py`` and import it.

    The module gets ``TEST_SPEC`` (the spec) and ``TEST_CLASS_NAME`` (its model class).
    """
    if "metrics" in answers:
        answers["metrics"] = tuple(answers["metrics"])
    spec = build_spec(Answers(name=name, **answers))
    directory.mkdir(parents=True, exist_ok=True)
    for relative, source in render_spec(spec).items():
        (directory / relative).write_text(source)
    module = import_path(directory / f"{name}.py", module_name)
    module.TEST_SPEC = spec
    module.TEST_CLASS_NAME = spec.class_name
    return module


def mutated(module, *pairs: str):
    """The generated module's source with each ``old`` of ``pairs`` (old, new, old,
    new, ...) replaced by its ``new``: a deliberate bug, imported (with the module's
    ``TEST_SPEC`` and ``TEST_CLASS_NAME``). Fails if a text to replace is not in the
    source once (the negative control would test nothing)."""
    path = Path(module.__file__)
    source = path.read_text(encoding="utf-8")
    for old, new in zip(pairs[::2], pairs[1::2]):
        assert source.count(old) == 1, f"{old!r} not (once) in the generated module"
        source = source.replace(old, new)
    broken = path.with_name(f"{path.stem}_broken.py")
    broken.write_text(source, encoding="utf-8")
    result = import_path(broken)
    result.TEST_SPEC = module.TEST_SPEC
    result.TEST_CLASS_NAME = module.TEST_CLASS_NAME
    return result


def builtin_twin(module):
    """The module's model class with Keras's built-in JAX steps instead of its own."""
    import keras

    generated = getattr(module, module.TEST_CLASS_NAME)

    class Builtin(generated):
        train_step = keras.Model.train_step
        test_step = keras.Model.test_step
        predict_step = keras.Model.predict_step

    Builtin.__name__ = f"Builtin{generated.__name__}"
    return generated, Builtin


def build_with(module, cls):
    """``module.build_model()`` constructing ``cls`` instead of the generated class."""
    original = getattr(module, module.TEST_CLASS_NAME)
    setattr(module, module.TEST_CLASS_NAME, cls)
    try:
        return module.build_model()
    finally:
        setattr(module, module.TEST_CLASS_NAME, original)


def build_data_parallel(module, cls):
    """``build_with`` under ``keras.distribution.DataParallel`` over every device (the
    scripts that run with 4 simulated CPU devices); its first kernel is checked to be
    laid out on all of them."""
    import jax
    import keras

    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices())
    )
    model = build_with(module, cls)
    kernel = model.trainable_variables[0].value
    assert len(kernel.sharding.device_set) == len(jax.devices()), kernel.sharding
    return model


def fit_and_evaluate(build, x, y, fit_kwargs, eval_kwargs=None):
    """Train a fresh ``build()`` from seed 7; history, evaluate, predict and weights."""
    import keras
    import numpy as np

    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    model = build()
    history = model.fit(verbose=0, shuffle=False, **{"x": x, "y": y, **fit_kwargs})
    results = model.evaluate(x, y, verbose=0, return_dict=True, **(eval_kwargs or {}))
    predictions = model.predict(x, verbose=0, batch_size=8)
    return {
        "history": history.history,
        "evaluate": results,
        "predict": predictions,
        # In order; paths without the model's name, which differs between the twins.
        "weights": [
            (w.path.split("/", 1)[-1], np.asarray(w.numpy())) for w in model.weights
        ],
    }


def assert_same(generated, builtin):
    """Two ``fit_and_evaluate`` results agree to RTOL/ATOL, key by key, weight by weight."""
    import numpy as np

    assert generated["history"].keys() == builtin["history"].keys()
    for key, values in builtin["history"].items():
        np.testing.assert_allclose(
            generated["history"][key], values, rtol=RTOL, atol=ATOL, err_msg=key
        )
    assert generated["evaluate"].keys() == builtin["evaluate"].keys()
    for key, value in builtin["evaluate"].items():
        np.testing.assert_allclose(
            generated["evaluate"][key], value, rtol=RTOL, atol=ATOL, err_msg=key
        )
    # Predictions may be a dict (named outputs): same structure, same values.
    import keras

    keras.tree.assert_same_structure(generated["predict"], builtin["predict"])
    for mine, theirs in zip(
        keras.tree.flatten(generated["predict"]), keras.tree.flatten(builtin["predict"])
    ):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL)
    assert [p for p, _ in generated["weights"]] == [p for p, _ in builtin["weights"]]
    for (path, mine), (_, theirs) in zip(generated["weights"], builtin["weights"]):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL, err_msg=path)


def compare(module, x, y, fit_kwargs, build=None, eval_kwargs=None):
    """Train the generated model and its built-in twin alike; assert they agree."""
    generated_cls, builtin_cls = builtin_twin(module)
    build = build or (lambda cls: build_with(module, cls))
    generated = fit_and_evaluate(
        lambda: build(generated_cls), x, y, fit_kwargs, eval_kwargs
    )
    builtin = fit_and_evaluate(
        lambda: build(builtin_cls), x, y, fit_kwargs, eval_kwargs
    )
    assert_same(generated, builtin)
    return generated


def vars_template_dir(directory: Path, *keys: str) -> Path:
    """A template directory whose steps read ``vars.KEY`` for each key (in a comment),
    for tests that pass ``--var``s: a ``--var`` no template reads is an error."""
    path = directory / "partials" / "steps.py.jinja"
    path.parent.mkdir(parents=True, exist_ok=True)
    reads = " ".join(f"{{{{ vars.{key} }}}}" for key in keys)
    path.write_text(
        '{% extends "builtin/partials/steps.py.jinja" %}\n'
        f"{{% block extra_logs %}}\n# vars: {reads}\n{{% endblock %}}\n",
        encoding="utf-8",
    )
    return directory


def run_check_script(name: str, *args, timeout: int = 900) -> str:
    """Run ``tests/scripts/NAME`` in a fresh Python process with ``args`` (the script
    appends its XLA device flags to XLA_FLAGS, e.g. 4 simulated CPU devices); its
    stdout, after asserting it exited 0."""
    import subprocess

    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def saved_and_loaded(model, path: Path):
    """``model`` saved to ``path`` and loaded back, checked to be the same class with
    the same optimizer variables (every optimizer's state) and trainable weights."""
    import keras
    import numpy as np

    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for mine, theirs in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)
    for mine, theirs in zip(model.trainable_variables, loaded.trainable_variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    return loaded


def import_project(directory: Path, name: str):
    """``(model module, data module)`` of the project package ``name`` written under
    ``directory/src`` (imported without installing it)."""
    import importlib

    sys.path.insert(0, str(directory / "src"))
    try:
        model = importlib.import_module(f"{name}.model")
        data = importlib.import_module(f"{name}.data")
    finally:
        sys.path.remove(str(directory / "src"))
    return model, data

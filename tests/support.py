"""Helpers for tests that import and train generated modules."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

_counter = itertools.count()


def import_path(path: Path):
    """Import a generated file under a unique module name."""
    module_name = f"{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def generate(directory: Path, name: str = "demo", **answers):
    """Render ``answers`` into ``directory/NAME.py`` and import it."""
    if "metrics" in answers:
        answers["metrics"] = tuple(answers["metrics"])
    spec = build_spec(Answers(name=name, **answers))
    directory.mkdir(parents=True, exist_ok=True)
    for relative, source in render_spec(spec).items():
        (directory / relative).write_text(source)
    module = import_path(directory / f"{name}.py")
    module.TEST_SPEC = spec
    module.TEST_CLASS_NAME = spec.class_name
    return module


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

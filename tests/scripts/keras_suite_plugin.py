"""pytest plugin for tests/generated/test_keras_suite.py: Keras's own test files, run
with the generated steps swapped into Keras's `JAXTrainer`.

tests/generated/test_keras_suite.py runs `python -m pytest <keras test files> -p
tests.scripts.keras_suite_plugin` in a subprocess, one per variant. The environment says
what to swap in:

- `KERAS_SUITE_STEPS_FILE`: a generated module (`NAME.py`) or a generated project's
  `steps.py`; unset: Keras's own steps stay (the baseline).
- `KERAS_SUITE_STEPS_CLASS`: the class in that file whose steps are swapped in (the
  module's model class, or `StatelessSteps`).
- `KERAS_SUITE_COUNTS`: a JSON file written at the end of the session: how often
  each step (generated or Keras's own) was called, how many tests of each file called
  one (together they prove the swap took effect everywhere), and the CPU seconds the
  session used.

It also stands in for the `conftest.py` at the root of Keras's repository (not in the
wheel): the `requires_trainable_backend` and `multi_device` markers and
`conftest.skip_if_backend`, which `callbacks/remote_monitor_test.py` imports.
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import json
import os
import sys
import time
import types

import pytest

# Objects alive when a test starts are left out of its collections (every variant,
# the baseline too): Keras's tests call clear_session(), a full gc.collect().
from tests.scripts.plugins.kjs_gc_freeze import pytest_runtest_protocol  # noqa: F401

STEPS = ("train_step", "test_step", "predict_step")
# The methods the generated steps call on `self` besides Keras's own.
HELPERS = ("forward_and_loss", "update_metrics")

CALLS = collections.Counter()
# {test file name: number of its tests that called a step}
TESTS_CALLING_STEPS = collections.Counter()


def _counted(name, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        CALLS[name] += 1
        return function(*args, **kwargs)

    return wrapper


def _load(path):
    spec = importlib.util.spec_from_file_location("keras_suite_generated_steps", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _swap_steps():
    """Put the generated steps (or, for the baseline, counted Keras steps) on
    JAXTrainer, the base class of every `keras.Model` on the JAX backend."""
    from keras.src.backend.jax.trainer import JAXTrainer

    path = os.environ.get("KERAS_SUITE_STEPS_FILE")
    if not path:
        for name in STEPS:
            setattr(JAXTrainer, name, _counted(name, vars(JAXTrainer)[name]))
        return
    steps_class = getattr(_load(path), os.environ["KERAS_SUITE_STEPS_CLASS"])
    for name in HELPERS:
        if hasattr(JAXTrainer, name):
            raise RuntimeError(f"the generated {name} would shadow JAXTrainer.{name}")
    for name in STEPS + HELPERS:
        setattr(JAXTrainer, name, _counted(name, vars(steps_class)[name]))


def _conftest_module():
    """What Keras's test files import from the repository's conftest.py."""
    from keras.src.backend import backend

    module = types.ModuleType("conftest")

    def skip_if_backend(given_backend, reason):
        return pytest.mark.skipif(backend() == given_backend, reason=reason)

    module.skip_if_backend = skip_if_backend
    return module


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "requires_trainable_backend: needs a backend with a trainer"
    )
    config.addinivalue_line("markers", "multi_device: needs several devices")
    sys.modules.setdefault("conftest", _conftest_module())
    _swap_steps()


def pytest_collection_modifyitems(config, items):
    import jax

    if jax.device_count() > 1:
        return
    single_device = pytest.mark.skip(reason="Requires multiple devices")
    for item in items:
        if "multi_device" in item.keywords:
            item.add_marker(single_device)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    before = sum(CALLS[name] for name in STEPS)
    yield
    if sum(CALLS[name] for name in STEPS) > before:
        TESTS_CALLING_STEPS[item.path.name] += 1


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("KERAS_SUITE_COUNTS")
    if path:
        report = {
            "calls": dict(sorted(CALLS.items())),
            "tests_calling_steps": dict(sorted(TESTS_CALLING_STEPS.items())),
            "cpu_s": time.process_time(),
        }
        with open(path, "w", encoding="utf-8") as file:
            json.dump(report, file)

"""Session settings and the collection order; no helpers (those are in tests/helpers/).

Settings, made before any test module is imported:

* ``KERAS_BACKEND=jax`` (importing keras first would pick another backend);
* the formatted-source cache (``keras_jax_scaffold.format``) and JAX's compilation
  cache live in temporary directories, removed at exit: the suite never writes to the
  user's cache directories. Subprocesses inherit them;
* XLA's optimisations off (the ``xla_optimizations`` fixture turns them on for a test)
  and its faster-compiling CPU code generator, and one core per pytest-xdist worker;
* each test runs in a working folder of its own.

Layout: ``generator/`` tests the tool, ``generated/`` proves generated modules train
exactly, ``projects/`` renders, installs and runs projects, ``runtime/`` tests the
projects' runtime (generator/runtime/) once; ``helpers/`` holds what
they share (``from tests.helpers.cli import invoke``), ``scripts/`` the programs they
run in a fresh process. No test module imports another one or this file
(``test_layout.py`` checks it).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

CACHE_ENV = "KERAS_JAX_SCAFFOLD_CACHE_DIR"  # keras_jax_scaffold.format.CACHE_ENV
_CACHE = tempfile.mkdtemp(prefix="kjs-test-cache-")
os.environ[CACHE_ENV] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

# JAX's persistent compilation cache, for this session only (removed at exit): the
# same steps of the same tiny models compile in many tests, xdist workers and
# subprocesses (they inherit it). A hit gives the same executable, so results do not
# change; measured here, it takes 45% off the CPU time of the parity tests.
_JAX_CACHE = tempfile.mkdtemp(prefix="kjs-test-jax-cache-")
os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
atexit.register(shutil.rmtree, _JAX_CACHE, ignore_errors=True)

# XLA's optimisations off (JAX's `jax_disable_most_optimizations`): compiling is most
# of the time of a test that trains a tiny model, and this takes ~30% off it. Every
# comparison compiles both of its sides the same way. Run the suite with
# `JAX_DISABLE_MOST_OPTIMIZATIONS=0` for the optimised build (it passes too); tests
# that take the `xla_optimizations` fixture below always use it.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

# XLA's older CPU code generator instead of its MLIR fusion emitters: with the above,
# it compiles a tiny model's steps in about half the time (the suite: 12 min 58 s ->
# 7 min 37 s on two cores). Both sides of every comparison compile the same way. It
# does not give the same bits from runs that compile or place their data differently
# (a scan of steps and the steps one by one) as the default one does: tests that assert
# those bits are marked `default_codegen`, and this session runs them in a process of
# their own with the default code generator (tests/test_default_codegen.py). Added to
# XLA_FLAGS unless the run sets that flag itself (`XLA_FLAGS=--xla_cpu_use_fusion_emitters=true
# pytest` runs everything with the default one); the processes a test starts inherit
# it, and the scripts that simulate CPU devices append their device count.
CODEGEN_FLAG = "--xla_cpu_use_fusion_emitters"
if CODEGEN_FLAG not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        f"{os.environ.get('XLA_FLAGS', '')} {CODEGEN_FLAG}=false".strip()
    )
FAST_CODEGEN = f"{CODEGEN_FLAG}=false" in os.environ["XLA_FLAGS"].split()

# One core per pytest-xdist worker, when there are no more workers than cores: XLA
# sizes its CPU thread pools by the cores a process may use, and two workers each
# spinning threads on both cores of a 2-core machine took more CPU for the same tests
# than one worker alone. The processes a test starts inherit the worker's core.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
if _WORKER.startswith("gw") and 1 < int(
    os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")
) <= len(_CORES):
    os.sched_setaffinity(0, {_CORES[int(_WORKER[2:]) % len(_CORES)]})


# --------------------------------------------------------------------------- order

# The longest tests (each minutes of CPU: subprocesses that run Keras's test files or
# install a project and run its tests) start first, so that pytest-xdist's workers
# finish together instead of one running a long test alone at the end; pyproject's
# `--dist load --maxschedchunk 1` hands them out one at a time, alternately (work
# stealing would leave them all in the first worker's half). Each is
# `path::test function`; test_layout.py checks that each names a
# test function that exists (a stale one would silently stop working).
LONGEST_FIRST = (
    "tests/generated/test_keras_suite.py::test_keras_test_files_pass_with_generated_steps",
    (
        "tests/generated/test_multi_network_recipes.py::"
        "test_a_recipe_project_passes_its_own_tests"
    ),
    "tests/projects/test_project.py::test_installed_project_tests_and_training",
    "tests/projects/test_project.py::test_project_parity_test_catches_a_changed_step",
    (
        "tests/generated/test_recipes.py::"
        "test_a_recipe_project_installs_and_passes_its_own_tests"
    ),
    "tests/generated/test_wgan_gp.py::test_data_parallel_on_four_cpu_devices",
    "tests/generated/test_mixup_adversarial.py::test_the_project_passes_its_own_tests",
    "tests/generated/test_optax.py::test_an_optax_project_passes_its_own_tests",
    "tests/projects/test_step_contract.py::test_a_fresh_project_passes_its_step_contract",
    (
        "tests/generated/test_recipes.py::"
        "test_recipes_under_data_parallel_match_their_oracles"
    ),
    (
        "tests/projects/test_project_runs.py::"
        "test_named_outputs_parity_detects_lost_per_output_loss_trackers"
    ),
    "tests/runtime/test_distribute.py::test_two_processes_train_like_one",
    (
        "tests/projects/test_step_contract.py::"
        "test_the_step_contract_fails_on_a_planted_mistake"
    ),
)


_DEFAULT_CODEGEN = pytest.StashKey[list]()


def pytest_collection_modifyitems(config, items):
    if FAST_CODEGEN:
        default = [item for item in items if item.get_closest_marker("default_codegen")]
        if default:
            items[:] = [item for item in items if item not in default]
            config.hook.pytest_deselected(items=default)
        config.stash[_DEFAULT_CODEGEN] = [item.nodeid for item in default]
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))


@pytest.fixture
def default_codegen_tests(request) -> list[str]:
    """The node ids of the `default_codegen` tests this session deselected (it
    compiles with the faster code generator, above)."""
    return request.config.stash.get(_DEFAULT_CODEGEN, [])


# Objects alive when a test starts are left out of its collections (Keras's
# clear_session() runs a full gc.collect(), many times a test): see the plugin.
pytest_plugins = ["tests.scripts.plugins.kjs_gc_freeze"]


# ------------------------------------------------------------------ working folder


@pytest.fixture(autouse=True)
def _own_working_folder(tmp_path_factory, monkeypatch):
    """Each test (and each process it starts) runs in a folder of its own: a project's
    `train` writes `runs/latest` relative to the working folder, and two workers
    training in the same one raced on it (CI, stop 24: a `best.keras` moved away
    under the other run)."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def xla_optimizations():
    """XLA's optimisations on for this test (the session turns them off, above)."""
    import jax

    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    yield
    jax.config.update("jax_disable_most_optimizations", before)

"""Objects alive when a test starts are left out of the collections it runs.

Keras's `clear_session()` runs a full `gc.collect()`, and generated projects' tests,
the step contract, the oracles and Keras's own tests call it many times per test: each
call walked every object of the process (keras, jax, every module imported so far),
up to half the CPU time of a test. `gc.freeze()` before a test keeps those objects out
of its collections; `gc.unfreeze()` after it returns them to the collector. Garbage the
test itself makes is collected by its own `clear_session()` as before: nothing a test
can observe changes. Garbage older than the test waits for a full collection, which
Python seldom starts by itself: one runs after a test once 10 CPU seconds have passed
since the last (without it a worker grew to 4.6 million objects, 4 GB, in one suite
run; with it, the collections cost a few percent of that time).

Loaded by tests/conftest.py (this suite), tests/scripts/keras_suite_plugin.py (Keras's
test files) and, through `PYTEST_PLUGINS=kjs_gc_freeze` with this folder on
PYTHONPATH, the generated projects' own test runs (tests/helpers/projects.clean_env).
"""

import gc
import time

import pytest

FULL_COLLECTION_EVERY_S = 10.0
_last_full_collection = [time.process_time()]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    gc.freeze()
    try:
        return (yield)
    finally:
        gc.unfreeze()
        if time.process_time() - _last_full_collection[0] >= FULL_COLLECTION_EVERY_S:
            gc.collect()
            _last_full_collection[0] = time.process_time()

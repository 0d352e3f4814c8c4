"""Every catalog loss, on every task it lists, trains in a generated module.

One case per (loss, task): the module is rendered with *all* the metrics compatible
with the task, imported, built, trained for one epoch on tiny synthetic data, evaluated
and asked for predictions. Model types rotate over the cases so each type sees several
losses. A static check makes sure every catalog metric is exercised by some case.
"""

from __future__ import annotations

import math
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np
import pytest
from keras_jax_scaffold import catalog

from tests.helpers import support

NUM_SAMPLES = 64
BATCH_SIZE = 16


def _cases():
    """(loss, task, model_type, metric snake names), model types in rotation."""
    cases = []
    for loss in catalog.LOSSES:
        for task in loss.tasks:
            model_type = catalog.MODEL_TYPES[len(cases) % len(catalog.MODEL_TYPES)]
            metrics = tuple(m.snake_name for m in catalog.compatible_metrics(task))
            cases.append((loss.snake_name, task, model_type, metrics))
    return cases


CASES = _cases()


def _case_id(case):
    loss, task, model_type, _ = case
    return f"{loss}-{task}-{model_type}"


def test_cases_cover_every_metric():
    covered = {name for *_, metrics in CASES for name in metrics}
    missing = [m.snake_name for m in catalog.METRICS if m.snake_name not in covered]
    assert not missing, f"metrics no training case exercises: {missing}"


def test_cases_cover_every_loss_task_and_model_type():
    assert {(loss, task) for loss, task, *_ in CASES} == {
        (loss.snake_name, task) for loss in catalog.LOSSES for task in loss.tasks
    }
    for model_type in catalog.MODEL_TYPES:
        losses = {loss for loss, _, mt, _ in CASES if mt == model_type}
        assert len(losses) >= 3, (model_type, losses)


def _metric_names(spec):
    """The log keys of the compiled metrics: each is created with an explicit
    `name=` (the name as given, e.g. `mae`), so Keras logs it under that name."""
    return [metric.name for metric in spec.metrics]


def _assert_finite(label, value):
    array = np.asarray(value, dtype="float64")
    assert np.all(np.isfinite(array)), f"{label} is not finite: {value!r}"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_loss_trains_with_all_compatible_metrics(case, tmp_path):
    loss, task, model_type, metrics = case
    index = CASES.index(case)
    module = support.generate(
        tmp_path,
        name=f"catalog_case_{index}_{model_type}",
        loss=loss,
        task=task,
        metrics=metrics,
        model_type=model_type,
    )
    spec = module.TEST_SPEC
    try:
        expected = _metric_names(spec)
        assert len(expected) == len(metrics)
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        x, y = module.make_dataset(num_samples=NUM_SAMPLES, seed=0)
        assert len(x) == len(y) == NUM_SAMPLES
        model = module.build_model()

        history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
        assert "loss" in history.history
        for key, values in history.history.items():
            _assert_finite(f"history[{key!r}]", values)

        results = model.evaluate(
            x, y, batch_size=BATCH_SIZE, verbose=0, return_dict=True
        )
        assert math.isfinite(float(results["loss"])), results
        missing = [key for key in expected if key not in results]
        assert not missing, f"evaluate() lacks {missing}: {sorted(results)}"
        for key in expected:
            _assert_finite(f"evaluate()[{key!r}]", results[key])

        predictions = model.predict(x[:5], verbose=0)
        assert np.asarray(predictions).shape[0] == 5
        _assert_finite("predict()", predictions)
    finally:
        sys.modules.pop(module.__name__, None)

"""The catalog against the installed Keras: every entry exists and is usable, and
nothing Keras offers is missing (these tests fail when a newer Keras adds a loss, a
metric or an optimizer, so that the catalog is updated)."""

from __future__ import annotations

import inspect
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import pytest
from keras_jax_scaffold import catalog
from keras_jax_scaffold.context import metric_arguments
from keras_jax_scaffold.spec import Answers, build_spec

# Classes in keras.losses that are not losses to offer.
LOSS_BASES = ("Loss", "LossFunctionWrapper")

# Losses whose names `keras.losses.get()` does not resolve, with the reason. The
# generator writes `keras.losses.<class_name>()`, never a string, so this only matters
# to users who pass the name to `compile` themselves.
KERAS_GET_GAPS = {
    "CategoricalGeneralizedCrossEntropy": (
        "missing from Keras's table of named losses (ALL_OBJECTS), so "
        "keras.losses.get() raises for both of its names"
    ),
}

# Optimizer subclasses in keras.optimizers that the catalog does not offer, and why.
EXCLUDED_OPTIMIZERS = (
    ("Optimizer", "the base class"),
    ("LossScaleOptimizer", "a wrapper (mixed precision), not an algorithm"),
    ("MultiOptimizer", "a wrapper assigning optimizers to variables"),
    (
        "Muon",
        (
            "its docs say not to apply it to the output layer, so using it needs "
            "exclude_layers naming the generated head; not a plain --optimizer choice"
        ),
    ),
    (
        "ScheduleFreeAdamW",
        (
            "schedule-free training evaluates the averaged weights x, but Keras keeps "
            "the interpolated y in the model and has no switch to x for evaluate/predict"
        ),
    ),
)

TASK_NAMES = tuple(catalog.TASKS)
HEAD_UNITS = ("output_units", "one", "num_classes", "num_classes_plus_blank")


def _ids(entries):
    return [entry.class_name for entry in entries]


def _module_classes(module, base):
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isclass(value)
        and issubclass(value, base)
    }


# --------------------------------------------------------------------------- losses


@pytest.mark.parametrize("loss", catalog.LOSSES, ids=_ids(catalog.LOSSES))
def test_loss_class_and_function_exist(loss):
    cls = getattr(keras.losses, loss.class_name, None)
    assert inspect.isclass(cls), f"keras.losses.{loss.class_name} is not a class"
    assert issubclass(cls, keras.losses.Loss)
    function = getattr(keras.losses, loss.snake_name, None)
    assert inspect.isfunction(function), f"keras.losses.{loss.snake_name} is missing"
    # The class wraps that very function (LossFunctionWrapper.fn).
    assert getattr(cls(), "fn", None) is function


@pytest.mark.parametrize("loss", catalog.LOSSES, ids=_ids(catalog.LOSSES))
def test_loss_names_resolve_to_the_same_loss(loss):
    cls = getattr(keras.losses, loss.class_name)
    function = getattr(keras.losses, loss.snake_name)
    for name in (loss.snake_name, *loss.aliases, loss.class_name):
        try:
            resolved = keras.losses.get(name)
        except ValueError:
            if loss.class_name in KERAS_GET_GAPS:
                continue
            raise
        if inspect.isfunction(resolved):
            assert resolved is function, (name, resolved)
        else:
            assert isinstance(resolved, cls), (name, resolved)
            assert getattr(resolved, "fn", function) is function, (name, resolved)


def test_keras_get_gaps_are_catalog_losses():
    assert set(KERAS_GET_GAPS) <= {loss.class_name for loss in catalog.LOSSES}


@pytest.mark.parametrize("loss", catalog.LOSSES, ids=_ids(catalog.LOSSES))
def test_loss_tasks_exist(loss):
    assert loss.tasks, f"{loss.class_name} has no task"
    unknown = [task for task in loss.tasks if task not in catalog.TASKS]
    assert not unknown, f"{loss.class_name}: unknown tasks {unknown}"
    assert len(set(loss.tasks)) == len(loss.tasks)


def test_every_keras_loss_is_in_the_catalog():
    keras_losses = _module_classes(keras.losses, keras.losses.Loss) - set(LOSS_BASES)
    listed = {loss.class_name for loss in catalog.LOSSES}
    assert not keras_losses - listed, (
        f"Keras has losses the catalog lacks: {sorted(keras_losses - listed)}"
    )
    assert not listed - keras_losses, (
        f"not Keras losses: {sorted(listed - keras_losses)}"
    )


# -------------------------------------------------------------------------- metrics


def _loss_for(task):
    return next((loss for loss in catalog.LOSSES if task in loss.tasks), None)


def _metric_cases():
    return [
        pytest.param(metric, task, id=f"{metric.class_name}-{task}")
        for metric in catalog.METRICS
        for task in metric.tasks
    ]


@pytest.mark.parametrize("metric", catalog.METRICS, ids=_ids(catalog.METRICS))
def test_metric_class_exists(metric):
    cls = getattr(keras.metrics, metric.class_name, None)
    assert inspect.isclass(cls), f"keras.metrics.{metric.class_name} is not a class"
    assert issubclass(cls, keras.metrics.Metric)
    assert metric.class_name not in catalog.EXCLUDED_METRICS


@pytest.mark.parametrize(("metric", "task"), _metric_cases())
def test_metric_instantiates_with_catalog_arguments(metric, task):
    loss = _loss_for(task)
    if loss is None:
        pytest.fail(f"no loss trains for task {task!r}")
    spec = build_spec(
        Answers(
            name="catalog_check",
            loss=loss.snake_name,
            task=task,
            metrics=(metric.snake_name,),
        )
    )
    cls = getattr(keras.metrics, metric.class_name)
    parameters = inspect.signature(cls.__init__).parameters
    kwargs = {}
    for key, value in metric_arguments(metric, spec):
        assert key in parameters, f"{metric.class_name} takes no {key!r}"
        kwargs[key] = value
    instance = cls(**kwargs)
    assert isinstance(instance, keras.metrics.Metric)
    for key, value in kwargs.items():
        if hasattr(instance, key) and not callable(getattr(instance, key)):
            assert getattr(instance, key) == value, (key, value)


@pytest.mark.parametrize("metric", catalog.METRICS, ids=_ids(catalog.METRICS))
def test_metric_tasks_exist(metric):
    assert metric.tasks, f"{metric.class_name} fits no task"
    unknown = [task for task in metric.tasks if task not in catalog.TASKS]
    assert not unknown, f"{metric.class_name}: unknown tasks {unknown}"
    overridden = [task for task, _ in metric.task_arguments]
    assert set(overridden) <= set(metric.tasks), (metric.class_name, overridden)


def test_every_keras_metric_is_in_the_catalog():
    keras_metrics = _module_classes(keras.metrics, keras.metrics.Metric)
    listed = {metric.class_name for metric in catalog.METRICS}
    excluded = set(catalog.EXCLUDED_METRICS)
    assert not listed & excluded, sorted(listed & excluded)
    missing = keras_metrics - listed - excluded
    assert not missing, f"Keras has metrics the catalog lacks: {sorted(missing)}"
    assert not listed - keras_metrics, sorted(listed - keras_metrics)


# ----------------------------------------------------------------------- optimizers


@pytest.mark.parametrize(("class_name", "snake_name"), catalog.OPTIMIZERS)
def test_optimizer_exists(class_name, snake_name):
    cls = getattr(keras.optimizers, class_name, None)
    assert inspect.isclass(cls), f"keras.optimizers.{class_name} is not a class"
    assert issubclass(cls, keras.optimizers.Optimizer)
    assert snake_name == class_name.lower()
    assert isinstance(cls(learning_rate=1e-3), cls)


def test_every_keras_optimizer_is_in_the_catalog():
    keras_optimizers = _module_classes(keras.optimizers, keras.optimizers.Optimizer)
    listed = {class_name for class_name, _ in catalog.OPTIMIZERS}
    excluded = {class_name for class_name, _ in EXCLUDED_OPTIMIZERS}
    assert not listed & excluded, sorted(listed & excluded)
    missing = keras_optimizers - listed - excluded
    assert not missing, f"Keras has optimizers the catalog lacks: {sorted(missing)}"
    assert not listed - keras_optimizers, sorted(listed - keras_optimizers)


# ---------------------------------------------------------------- tasks and indexes


@pytest.mark.parametrize("task", TASK_NAMES)
def test_task_default_metrics_fit_the_task(task):
    for name in catalog.TASKS[task].default_metrics:
        metric = catalog.METRIC_INDEX.get(name.lower())
        assert metric is not None, f"{task}: unknown default metric {name!r}"
        assert task in metric.tasks, f"{task}: default metric {name!r} does not fit"
    loss = _loss_for(task)
    assert loss is not None, f"no loss trains for task {task!r}"
    spec = build_spec(Answers(name="catalog_check", loss=loss.snake_name, task=task))
    assert [m.snake_name for m in spec.metrics] == [
        catalog.METRIC_INDEX[name.lower()].snake_name
        for name in catalog.TASKS[task].default_metrics
    ]


@pytest.mark.parametrize("task", TASK_NAMES)
def test_task_fields_are_known(task):
    entry = catalog.TASKS[task]
    assert entry.name == task
    assert entry.input_kind in catalog.INPUT_SHAPES
    assert entry.input_kind in catalog.INPUT_RANKS
    assert entry.head_units in HEAD_UNITS
    if entry.head_activation is not None:
        assert callable(keras.activations.get(entry.head_activation))


def test_every_metric_has_a_task():
    assert [m.class_name for m in catalog.METRICS if not m.tasks] == []


def test_every_task_is_used_by_a_loss():
    used = {task for loss in catalog.LOSSES for task in loss.tasks}
    assert set(catalog.TASKS) - used == set()


def test_every_task_is_reached_by_compatible_metrics_or_none():
    # compatible_metrics() agrees with the metrics' own task lists.
    for task in catalog.TASKS:
        assert set(catalog.compatible_metrics(task)) == {
            m for m in catalog.METRICS if task in m.tasks
        }


@pytest.mark.parametrize(
    ("entries", "index"),
    [
        (catalog.LOSSES, catalog.LOSS_INDEX),
        (catalog.METRICS, catalog.METRIC_INDEX),
    ],
    ids=["losses", "metrics"],
)
def test_names_are_unique(entries, index):
    names = [
        name
        for entry in entries
        for name in {
            n.lower() for n in (entry.snake_name, entry.class_name, *entry.aliases)
        }
    ]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"names used by two entries: {duplicates}"
    assert len(index) == len(names)
    assert len({e.class_name for e in entries}) == len(entries)

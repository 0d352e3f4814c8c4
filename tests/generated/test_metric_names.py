"""Metric names as Keras users write them: "accuracy"/"acc" and "crossentropy"/"ce"
resolve the way `compile` resolves them, log keys are the names given and stay the
same for a second model in the same process, and real-valued losses fit positive
targets too."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import pytest
from keras.src.trainers import compile_utils
from keras_jax_scaffold import catalog
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.spec import Answers, build_spec
from keras_jax_scaffold.update import update_answers

from tests.helpers import support

FAMILY_CLASSES = {
    "accuracy": {
        "binary": keras.metrics.BinaryAccuracy,
        "categorical": keras.metrics.CategoricalAccuracy,
        "sparse": keras.metrics.SparseCategoricalAccuracy,
    },
    "crossentropy": {
        "binary": keras.losses.binary_crossentropy,
        "categorical": keras.losses.categorical_crossentropy,
        "sparse": keras.losses.sparse_categorical_crossentropy,
    },
}


def _keras_family(y_true, y_pred) -> str:
    """What Keras's own compile picks for "accuracy" with these shapes."""
    metric = compile_utils.get_metric("accuracy", y_true, y_pred)
    classes = FAMILY_CLASSES["accuracy"]
    family = next(f for f, cls in classes.items() if type(metric) is cls)
    # The loss "crossentropy" follows the same rule.
    loss = compile_utils.get_loss("crossentropy", y_true, y_pred)
    assert loss.fn is FAMILY_CLASSES["crossentropy"][family]
    return family


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(catalog.TASKS))
def test_shape_family_is_what_keras_compile_picks(tmp_path, task):
    """For each task, Keras's compile on the generated model's real target and output
    shapes picks the catalog's family; where the catalog has none, Keras's pick does
    not fit the task (so the generator refuses it rather than differ from Keras)."""
    entry = catalog.TASKS[task]
    loss = next(
        loss
        for loss in catalog.LOSSES
        if task in loss.tasks and loss.min_output_units == 1
    )
    units = [1, 2] if entry.head_units == "output_units" else [None]
    for output_units in units:
        keras.backend.clear_session()
        module = support.generate(
            tmp_path / f"{task}_{output_units}",
            loss=loss.snake_name,
            task=task,
            metrics=(),
            output_units=output_units,
        )
        x, y = module.make_dataset(num_samples=4, seed=0)
        y_pred = module.build_model().predict(x, verbose=0)
        family = _keras_family(keras.ops.convert_to_tensor(y), y_pred)
        if entry.shape_family is not None:
            assert family == entry.shape_family, (task, output_units)
        else:
            picked = catalog.SHAPE_RESOLVED_METRICS["accuracy"][family]
            assert task not in catalog.METRIC_INDEX[picked].tasks, (task, picked)
        for name in catalog.SHAPE_RESOLVED_METRICS:
            answers = Answers(
                name="m", loss=loss.snake_name, task=task, metrics=(name,)
            )
            if entry.shape_family is None:
                with pytest.raises(UserError, match="by the output's shape"):
                    build_spec(answers)
                continue
            (metric,) = build_spec(answers).metrics
            assert metric.name == name
            expected = catalog.SHAPE_RESOLVED_METRICS[name][entry.shape_family]
            assert metric.snake_name == expected


def test_accuracy_with_the_default_loss_is_sparse_categorical_accuracy(tmp_path):
    module = support.generate(tmp_path, metrics=("accuracy", "ce"))
    source = Path(module.__file__).read_text(encoding="utf-8")
    assert 'keras.metrics.SparseCategoricalAccuracy(name="accuracy")' in source
    assert 'keras.metrics.SparseCategoricalCrossentropy(name="ce")' in source
    assert "--metric accuracy --metric ce" in source  # the command line keeps them


def test_real_valued_losses_fit_positive_targets():
    for loss in ("mse", "mae", "huber", "log_cosh"):
        answers = Answers(name="m", loss=loss, task="positive_regression")
        spec = build_spec(answers.merged(Answers(metrics=("mape",))))
        assert spec.task.name == "positive_regression", loss
        assert build_spec(Answers(name="m", loss=loss)).task.name == "regression"
        # Without the task, the error says which task the metric needs.
        with pytest.raises(UserError, match="fits positive_regression too"):
            build_spec(Answers(name="m", loss=loss, metrics=("mape",)))
    with pytest.raises(UserError, match="does not fit loss 'poisson'"):
        build_spec(Answers(name="m", loss="poisson", task="regression"))


def test_update_re_resolves_accuracy_for_a_new_loss():
    from keras_jax_scaffold.project import answers_from_spec

    recorded = answers_from_spec(build_spec(Answers(name="p", metrics=("accuracy",))))
    assert recorded.metrics == ("accuracy",)
    answers, notes = update_answers(recorded, Answers(loss="bce"))
    (metric,) = build_spec(answers).metrics
    assert (metric.name, metric.class_name) == ("accuracy", "BinaryAccuracy")
    assert not [note for note in notes if "metrics" in note]


def _fit_logs(module):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    x, y = module.make_dataset(num_samples=32, seed=0)
    keys = []
    for _ in range(2):  # no clear_session between: a notebook or a CV loop
        model = module.build_model()
        history = model.fit(
            x, y, batch_size=16, epochs=1, validation_split=0.25, verbose=0
        )
        keys.append(sorted(history.history))
    return keys


@pytest.mark.slow
def test_log_keys_are_stable_across_models_in_one_process(tmp_path):
    """Two models built in one process log the same keys (Keras would name the second
    model's unnamed AUC "auc_1"): EarlyStopping(monitor="val_auc") keeps working."""
    module = support.generate(tmp_path, loss="bce", metrics=("acc", "auc"))
    first, second = _fit_logs(module)
    expected = ["acc", "auc", "loss", "val_acc", "val_auc", "val_loss"]
    assert first == second == expected


@pytest.mark.slow
def test_log_keys_without_explicit_names_drift(tmp_path):
    """Negative control: metric objects without `name=` (what the generated code
    wrote before) give the second model "auc_1", which the test above would catch."""
    module = support.generate(tmp_path, loss="bce", metrics=("auc",))
    original = module.compile_model

    def unnamed(model):
        model.compile(optimizer="adam", loss="bce", metrics=[keras.metrics.AUC()])
        return model

    module.compile_model = unnamed
    try:
        first, second = _fit_logs(module)
    finally:
        module.compile_model = original
    assert "val_auc" in first and "val_auc" not in second
    assert "val_auc_1" in second


def test_shape_resolved_names_are_not_catalog_names():
    """ "accuracy" must not also name a catalog entry (Keras's exact-equality
    Accuracy is excluded for that reason), and every pick is a catalog metric."""
    assert not set(catalog.SHAPE_RESOLVED_METRICS) & set(catalog.METRIC_INDEX)
    for family in catalog.SHAPE_RESOLVED_METRICS.values():
        assert set(family) == {"binary", "categorical", "sparse"}
        assert all(name in catalog.METRIC_INDEX for name in family.values())
    families = {t.shape_family for t in catalog.TASKS.values()}
    assert families <= {None, "binary", "categorical", "sparse"}

"""Named inputs and outputs (`--output`, `--input`, `--metric OUTPUT:METRIC`): what
the answers resolve to and what is rendered. Exactness of the steps for such a model:
test_multi_io_parity.py; bad values: BAD_INPUT in test_cli.py."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from keras_jax_scaffold.cli import app
from keras_jax_scaffold.spec import Answers, build_spec
from typer.testing import CliRunner

from tests.helpers import support


def _spec(**answers):
    return build_spec(Answers(name="demo", **answers))


def test_outputs_resolve_loss_task_weight_and_metrics():
    spec = _spec(
        outputs=("label:bce", "tags:bce@multilabel:0.2"),
        metrics=("label:acc", "tags:auc"),
    )
    label, tags = spec.outputs
    assert (label.name, label.loss.snake_name, label.task.name, label.weight) == (
        "label",
        "binary_crossentropy",
        "binary",
        1.0,
    )
    assert (tags.task.name, tags.weight) == ("multilabel", 0.2)
    assert [(m.output, m.metric.class_name, m.metric.name) for m in spec.metrics] == [
        ("label", "BinaryAccuracy", "acc"),
        ("tags", "AUC", "auc"),
    ]
    # The model-wide loss and task are the first output's (defaults that need one).
    assert spec.loss == label.loss and spec.task == label.task


def test_each_output_gets_its_tasks_usual_metric_by_default():
    spec = _spec(outputs=("label:sparse_categorical_crossentropy", "box:mse"))
    assert [m.name for m in spec.metrics] == [
        "label:sparse_categorical_accuracy",
        "box:mean_absolute_error",
    ]
    assert _spec(outputs=("box:mse",), metrics=()).metrics == ()


def test_a_single_output_takes_unprefixed_metrics():
    spec = _spec(outputs=("box:mse@positive_regression",), metrics=("mape",))
    assert [m.name for m in spec.metrics] == ["box:mape"]


def test_several_inputs_with_one_unnamed_output(tmp_path):
    module = support.generate(
        tmp_path, loss="bce", metrics=("auc",), inputs=("a:3", "b:2,2")
    )
    x, y = module.make_dataset(num_samples=4, seed=0)
    assert {k: v.shape for k, v in x.items()} == {"a": (4, 3), "b": (4, 2, 2)}
    assert y.shape == (4, 1)
    assert not hasattr(module, "INPUT_SHAPE")


def test_generated_targets_follow_each_outputs_task(tmp_path):
    module = support.generate(
        tmp_path,
        outputs=("pos:mse@positive_regression", "onehot:categorical_crossentropy"),
        num_classes=4,
    )
    _, y = module.make_dataset(num_samples=50, seed=0)
    assert (y["pos"] > 0).all() and y["pos"].shape == (50, 1)
    assert y["onehot"].shape == (50, 4) and (y["onehot"].sum(axis=1) == 1).all()
    # Deterministic, with a projection of its own per output.
    assert (module.make_dataset(num_samples=50, seed=0)[1]["pos"] == y["pos"]).all()
    source = Path(module.__file__).read_text(encoding="utf-8")
    assert "default_rng(1234)" in source and "default_rng(1235)" in source


def test_the_header_command_renders_the_same_module_again(tmp_path):
    flags = [
        "--model-type", "subclassed",
        "--output", "label:sparse_categorical_crossentropy",
        "--output", "box:mse:0.5",
        "--input", "features:6", "--input", "image:4,3",
        "-m", "label:accuracy", "-m", "box:mae",
    ]  # fmt: skip
    first = tmp_path / "first"
    result = CliRunner().invoke(app, ["new", "two", "--no-input", "-o", first, *flags])
    assert result.exit_code == 0, result.output
    text = (first / "two.py").read_text(encoding="utf-8")
    header = re.search(r"^    (keras-jax-scaffold new .*)$", text, re.MULTILINE)[1]
    assert "--output box:mean_squared_error@regression:0.5" in header
    assert "--input image:4,3" in header and "--metric label:accuracy" in header
    assert "--loss" not in header and "--input-shape" not in header
    again = tmp_path / "again"
    words = shlex.split(header)[1:]
    result = CliRunner().invoke(app, [*words, "--no-input", "-o", str(again)])
    assert result.exit_code == 0, result.output
    assert (again / "two.py").read_text(encoding="utf-8") == text

"""Each pipeline stage on its own, in memory and fast: answers -> spec -> context ->
rendered -> (formatted: tests/generator/test_format.py) -> checked -> plan -> disk, and
the layout table that says which template renders which file.

The end-to-end behaviour is tested through the command line elsewhere; these tests pin
each stage's contract so that a regression names the stage that broke.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from keras_jax_scaffold.check import check_files, top_level_names
from keras_jax_scaffold.context import build_context
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.layout import LAYOUTS, MODULE, PROJECT
from keras_jax_scaffold.plan import plan_writes
from keras_jax_scaffold.render import render_files
from keras_jax_scaffold.spec import Answers, build_spec
from keras_jax_scaffold.template_set import TemplateSet, builtin_template_names
from keras_jax_scaffold.write import apply


def spec_for(**answers):
    return build_spec(Answers(**{"name": "my_model", **answers}))


@pytest.fixture(scope="module")
def context():
    return build_context(spec_for())


@pytest.fixture(scope="module")
def module_rendered(context):
    return render_files(context, MODULE)


# --------------------------------------------------------------------------- spec


def test_spec_fills_defaults_from_the_loss_and_its_task():
    spec = spec_for(loss="mse")
    assert (spec.name, spec.class_name) == ("my_model", "MyModel")
    assert spec.model_type == "functional"
    assert spec.task.name == "regression"
    assert [m.snake_name for m in spec.metrics] == list(spec.task.default_metrics)
    assert spec.input_shape == (16,)
    assert spec.optimizer == "Adam" and spec.learning_rate == 0.001


def test_spec_accepts_every_spelling_of_a_loss():
    names = {
        spec_for(loss=spelling).loss.snake_name
        for spelling in ("mse", "MeanSquaredError", "mean_squared_error")
    }
    assert names == {"mean_squared_error"}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"loss": "mean_sqared_error"}, "did you mean 'mean_squared_error'?"),
        ({"loss": "mse", "metrics": ("accuracy",)}, "does not fit loss"),
        ({"metrics": ("mean_io_u", "mean_io_u")}, "given twice"),
        ({"input_shape": "8,8"}, "input shape"),
        ({"name": "class"}, "invalid name 'class'"),
        ({"name": None}, "missing NAME"),
    ],
)
def test_spec_refuses_bad_answers_with_the_reason(answers, expected):
    with pytest.raises(UserError) as error:
        spec_for(**answers)
    assert expected in str(error.value)


# --------------------------------------------------------------------------- context


def _plain(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def test_context_is_plain_deterministic_data(context):
    assert _plain(context), "templates get strings, numbers, lists and dicts only"
    assert build_context(spec_for()) == context
    assert context["module_name"] == "my_model"
    assert context["class_name"] == "MyModel"


def test_context_is_data():
    context = build_context(spec_for(loss="mse", metrics=("r2_score",)))
    assert context["context_version"] == 2
    assert context["loss"] == {
        "name": "mean_squared_error",
        "class_name": "MeanSquaredError",
        "from_logits": False,
    }
    assert [m["name"] for m in context["metrics"]] == ["r2_score"]
    assert context["optimizer"] == {
        "name": "Adam",
        "learning_rate": "0.001",
        "optax": "",
    }


# The keys of context version 1 that held Python source; version 2 has none of them
# (the macros of partials/expressions.py.jinja write it from the data).
V1_SOURCE_KEYS = {
    "expression",
    "output_units_expression",
    "scores_width",
    "label_range",
    "functional_call",
    "subclassed_call",
}


def _strings(value, key=""):
    """``(key, text)`` of every string in ``value`` (the key it is found under)."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)
    elif isinstance(value, str):
        yield key, value


def _keys(value):
    if isinstance(value, dict):
        for name, item in value.items():
            yield name
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


@pytest.mark.parametrize(
    "answers",
    [
        {"metrics": ("io_u", "acc")},
        {"loss": "ctc"},
        {"outputs": ("a:circle", "b:bce"), "metrics": ("b:f1_score",)},
        {"recipe": "distillation", "teacher": "teacher.keras"},
        {"recipe": "vae", "loss": "bce"},
    ],
)
def test_context_holds_data_not_python_source(answers):
    context = build_context(spec_for(**answers))
    assert not V1_SOURCE_KEYS & set(_keys(context))
    # Python source nowhere but in the command line: names, numbers and text (a
    # recipe's setting values are the values, not their Python literals).
    written = [
        key
        for key, text in _strings(context)
        if "keras." in text
        or "NUM_CLASSES" in text
        or "OUTPUT_UNITS" in text
        or text.startswith(("'", '"'))
    ]
    assert set(written) <= {"command_line"}, written


def test_builtin_templates_write_python_with_the_macros_not_the_source_keys():
    from keras_jax_scaffold.template_set import builtin_source

    # `x.expression`, `target.label_range`, ... (not the macros: `expr.label_range`).
    read = re.compile(r"(\w+)\.(" + "|".join(V1_SOURCE_KEYS) + r")\b")
    for name in builtin_template_names():
        source = builtin_source(name)
        assert [m[0] for m in read.finditer(source) if m[1] != "expr"] == [], name
        assert "output_units_expression" not in source, name


def test_context_command_line_gives_every_answer():
    line = build_context(spec_for(loss="bce", task="multilabel"))["command_line"]
    for flag in ("--model-type functional", "--loss binary_crossentropy"):
        assert flag in line
    assert "--task multilabel" in line and "--num-classes 3" in line


# --------------------------------------------------------------------------- layout


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_templates_exist_and_paths_are_unique(layout, context):
    names = set(builtin_template_names())
    files = LAYOUTS[layout]
    assert {item.template for item in files} <= names
    paths = [item.output_path(context) for item in files]
    assert len(set(paths)) == len(paths)
    for path in paths:
        assert not Path(path).is_absolute() and ".." not in Path(path).parts


def test_layout_fills_names_from_the_context(context):
    [module] = MODULE
    assert module.output_path(context) == "my_model.py"
    assert module.required_names(context) == ("MyModel", "build_model", "make_dataset")
    assert "src/my_model/model.py" in {item.output_path(context) for item in PROJECT}


# --------------------------------------------------------------------------- render


def test_render_uses_the_builtins_and_touches_no_file(module_rendered):
    [(path, item)] = module_rendered.items()
    assert path == item.path == "my_model.py"
    assert item.template == "module.py.jinja"
    assert item.template_file.endswith("module.py.jinja")
    assert item.user_templates == ()
    assert "class MyModel(" in item.source


def test_render_records_user_templates(tmp_path, context):
    (tmp_path / "module.py.jinja").write_text(
        '{% extends "builtin/module.py.jinja" %}\n', encoding="utf-8"
    )
    [item] = render_files(context, MODULE, TemplateSet((tmp_path,))).values()
    assert item.template_file == str(tmp_path / "module.py.jinja")
    assert item.user_templates == (str(tmp_path / "module.py.jinja"),)


def test_render_error_names_the_template_line(tmp_path, context):
    (tmp_path / "module.py.jinja").write_text("ok\n{{ no_such_key }}\n")
    with pytest.raises(UserError) as error:
        render_files(context, MODULE, TemplateSet((tmp_path,)))
    assert str(error.value).startswith(f"{tmp_path / 'module.py.jinja'}:2:")
    assert "no_such_key" in str(error.value)


# --------------------------------------------------------------------------- check


def test_top_level_names():
    source = "import a.b\nfrom c import d as e\nX: int = 1\nY = 2\nclass K: ...\ndef f(): ...\n"
    assert top_level_names(source) == {"a", "e", "X", "Y", "K", "f"}


def test_check_accepts_the_builtin_module(context, module_rendered):
    formatted = {path: item.source for path, item in module_rendered.items()}
    check_files(formatted, module_rendered, MODULE, context)


def test_check_names_what_a_rendered_file_lost(context, module_rendered):
    formatted = {
        path: item.source.replace("def build_model(", "def renamed(")
        for path, item in module_rendered.items()
    }
    with pytest.raises(UserError) as error:
        check_files(formatted, module_rendered, MODULE, context)
    assert "module.py.jinja: rendered my_model.py no longer defines build_model" in str(
        error.value
    )


# ------------------------------------------------------------------ plan and write
# (statuses, preflight, OS errors and undo: tests/generator/test_write.py)


def test_write_creates_parents_and_keeps_modes(tmp_path):
    (tmp_path / "old.py").write_text("old\n")
    os.chmod(tmp_path / "old.py", 0o751)
    files = {"old.py": "new\n", "a/b/c.py": "c\n"}
    apply(tmp_path, plan_writes(files, tmp_path, force=True))
    assert (tmp_path / "old.py").read_text() == "new\n"
    assert (tmp_path / "old.py").stat().st_mode & 0o777 == 0o751
    assert (tmp_path / "a/b/c.py").read_text() == "c\n"
    assert sorted(p.name for p in tmp_path.rglob("*.tmp")) == []

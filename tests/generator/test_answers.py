"""The answer table (`answer_table.ANSWERS`): one entry per answer, and every place derived from
it. A test walks the table and fails when an answer is missing from any of them: the
options of `new` and `update`, the prompts, the answers file, the command line in
generated headers (docs/cli.md's option table: tests/generator/test_docs.py)."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import types
import typing

import pytest
import typer.main
from keras_jax_scaffold import catalog, prompts, recipes
from keras_jax_scaffold.cli import app
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.project import dump_answers, read_answers
from keras_jax_scaffold.spec import (
    ANSWER_INDEX,
    ANSWERS,
    Answers,
    Spec,
    answer_context,
    answers_from_spec,
    build_spec,
    command_line,
    rederive,
)

from tests.helpers.cli import invoke

# Answers given only as flags, never asked (and why).
FLAG_ONLY = {
    "variables": "values for custom templates: only the user knows them",
    "template_dirs": "where the user's templates are: only the user knows them",
    "dtype_policy": "a speed setting most never change: asking it in every session "
    "would lengthen every interactive flow; float32 reproduces older projects",
}

# Every answer away from its default (template_dirs: set per test).
EVERY_ANSWER = {
    "name": "every_answer",
    "model_type": "subclassed",
    "loss": "mse",
    "task": "regression",
    "metrics": ("mean_absolute_error", "r2_score"),
    "optimizer": "sgd",
    "learning_rate": 0.05,
    "input_shape": "7",
    "num_classes": 4,
    "output_units": 2,
    "hidden_units": 9,
    "dtype_policy": "mixed_bfloat16",
    "variables": (("clip", "1.5"), ("note", "a b")),
}


def command_parameters(command: str) -> dict[str, object]:
    click_command = typer.main.get_command(app).commands[command]
    return {param.name: param for param in click_command.params}


# ------------------------------------------------------------------ the table itself


def test_entries_come_after_the_answers_they_depend_on():
    seen: set[str] = set()
    for question in ANSWERS:
        assert set(question.depends_on) <= seen, question.name
        seen.add(question.name)
    assert len(seen) == len(ANSWERS)  # names are unique


def test_answers_and_spec_have_one_field_per_entry():
    names = [q.name for q in ANSWERS]
    assert list(Answers.__dataclass_fields__) == names
    assert list(Spec.__dataclass_fields__) == names
    assert Answers().merged(Answers(loss="mse")).loss == "mse"


def test_answers_fields_are_typed_as_their_entries_kinds():
    # Answers is written out for the type checker; its annotations follow the table.
    for field, question in zip(dataclasses.fields(Answers), ANSWERS, strict=True):
        assert field.type == f"{question.kind.raw_type} | None", field.name
        assert field.default is None


def _conforms(value, hint) -> bool:
    """Whether ``value`` fits the annotation ``hint`` (the forms Spec uses)."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, option) for option in arguments)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return isinstance(value, tuple) and all(
                _conforms(item, arguments[0]) for item in value
            )
        return (
            isinstance(value, tuple)
            and len(value) == len(arguments)
            and all(map(_conforms, value, arguments))
        )
    if hint is float:
        return isinstance(value, float)
    return isinstance(value, hint) and not (hint is int and isinstance(value, bool))


@pytest.mark.parametrize(
    "answers",
    [
        Answers(name="plain"),
        Answers(name="named", outputs=("a:mse", "b:bce:0.5"), inputs=("x:4", "y:2,3")),
        Answers(name="gan", recipe="gan", loss="bce", metrics=()),
        Answers(name="vars", variables=(("k", "v"),), template_dirs=("t",)),
    ],
    ids=lambda a: a.name,
)
def test_spec_values_have_the_types_its_fields_declare(answers):
    # Spec is written out too: every resolved value fits its field's annotation.
    spec = build_spec(answers)
    hints = typing.get_type_hints(Spec)
    for field in dataclasses.fields(Spec):
        value = getattr(spec, field.name)
        assert _conforms(value, hints[field.name]), (field.name, value)
    assert (
        _conforms(1, float) is False and _conforms((1, "a"), tuple[int, ...]) is False
    )


@pytest.mark.parametrize("question", ANSWERS, ids=lambda q: q.name)
def test_every_entry_is_complete(question):
    assert question.label and question.help
    assert question.option.startswith("--") or question.argument
    assert question.readme_default
    if question.prompt is None:
        assert question.name in FLAG_ONLY
    if question.default is None:
        assert question.missing  # a required answer says how to give it


def test_defaults_are_a_function_of_the_answers_they_depend_on():
    spec = build_spec(Answers(name="demo"))
    assert spec.task.name == "multiclass_sparse"
    assert [m.snake_name for m in spec.metrics] == ["sparse_categorical_accuracy"]
    assert spec.input_shape == (16,)
    spec = build_spec(Answers(name="demo", loss="dice"))
    assert spec.task.name == "segmentation" and spec.input_shape == (8, 8, 3)
    spec = build_spec(Answers(name="demo", loss="circle"))
    assert spec.output_units == 8 and spec.metrics == ()
    with pytest.raises(UserError, match="missing NAME"):
        build_spec(Answers())


DEFAULT_RECIPE = recipes.RECIPE_INDEX["default"]


def test_resolve_validates_against_the_answers_it_depends_on():
    mse = {
        "loss": catalog.LOSS_INDEX["mse"],
        "task": catalog.TASKS["regression"],
        "recipe": DEFAULT_RECIPE,
    }
    with pytest.raises(UserError, match="does not fit loss 'mean_squared_error'"):
        ANSWER_INDEX["metrics"].resolve(("accuracy",), mse)
    with pytest.raises(UserError, match="rank 1"):
        ANSWER_INDEX["input_shape"].resolve("8,8", mse)
    cosine = {**mse, "loss": catalog.LOSS_INDEX["cosine_similarity"]}
    with pytest.raises(UserError, match="at least 2 for loss 'cosine_similarity'"):
        ANSWER_INDEX["output_units"].resolve(1, cosine)


def test_when_decides_what_applies():
    mse = {
        "loss": catalog.LOSS_INDEX["mse"],
        "task": catalog.TASKS["regression"],
        "recipe": DEFAULT_RECIPE,
    }
    scce = build_spec(Answers(name="demo"))
    assert ANSWER_INDEX["output_units"].when(mse)
    assert not ANSWER_INDEX["num_classes"].when(mse)
    assert ANSWER_INDEX["num_classes"].when({"task": scce.task})
    # A choice with one choice left is not asked; a menu with none neither.
    poisson = {"loss": catalog.LOSS_INDEX["poisson"], "recipe": DEFAULT_RECIPE}
    assert not ANSWER_INDEX["task"].asked(poisson)
    bce = {"loss": catalog.LOSS_INDEX["bce"], "recipe": DEFAULT_RECIPE}
    assert ANSWER_INDEX["task"].asked(bce)
    ctc = {
        "loss": catalog.LOSS_INDEX["ctc"],
        "task": catalog.TASKS["sequence_ctc"],
        "recipe": DEFAULT_RECIPE,
    }
    assert not ANSWER_INDEX["metrics"].asked(ctc)


# ------------------------------------------------------------- the derived places


@pytest.mark.parametrize("question", ANSWERS, ids=lambda q: q.name)
def test_every_answer_is_an_option_of_new(question):
    parameter = command_parameters("new")[question.name]
    if question.argument:
        assert parameter.param_type_name == "argument"
    else:
        assert question.option in parameter.opts


@pytest.mark.parametrize("question", ANSWERS, ids=lambda q: q.name)
def test_every_changeable_answer_is_an_option_of_update(question):
    parameters = command_parameters("update")
    if question.name in ("name", "project"):  # update renders the project it is in
        assert question.update_help is None and question.name not in parameters
    else:
        assert question.option in parameters[question.name].opts


def _asked_in(monkeypatch, **given) -> list[str]:
    """The questions an interactive `new` asks (Enter everywhere)."""
    asked = []

    def answer(question, resolved):
        asked.append(question.name)
        return question.default_for(resolved) if question.default else "demo"

    monkeypatch.setattr(prompts, "ask_question", answer)
    prompts.ask_missing(Answers(**given))
    return asked


def test_every_asked_answer_is_asked_somewhere(monkeypatch):
    asked = set()
    recipes = (
        *({"recipe": r} for r in ("gradient-accumulation", "clip-gradients", "sam")),
        {"recipe": "mixup"},
        {"recipe": "adversarial"},
        {"recipe": "adversarial", "attack": "pgd"},
    )
    multi_network = (
        {"recipe": "gan", "loss": "bce", "metrics": ()},
        {"recipe": "distillation"},
        {"recipe": "vae", "loss": "mse"},
        {"recipe": "wgan-gp"},
    )
    for given in (
        {},
        {"loss": "mse"},
        {"loss": "bce"},
        {"loss": "circle"},
        *recipes,
        *multi_network,
    ):
        asked |= set(_asked_in(monkeypatch, **given))
    assert asked == {q.name for q in ANSWERS if q.prompt is not None}
    assert not asked & set(FLAG_ONLY)


def test_missing_flags_follow_the_table(monkeypatch):
    # What a session would ask is what a non-terminal run names as missing.
    # (Enter everywhere: each asked answer takes its default.)
    for given in (
        {},
        {"loss": "poisson"},
        {"loss": "bce", "name": "x"},
        {"model_type": "sequential"},
        {"outputs": ("a:mse", "b:bce")},
        {"input_shape": "8"},
    ):
        options = [ANSWER_INDEX[n].option for n in _asked_in(monkeypatch, **given)]
        assert prompts.missing_flags(Answers(**given)) == options, given


def test_every_stored_answer_round_trips_through_the_answers_file(tmp_path):
    templates = tmp_path / "tpl"
    templates.mkdir()
    project = tmp_path / "every_answer"
    project.mkdir()
    spec = build_spec(Answers(**EVERY_ANSWER, template_dirs=("../tpl",)))
    text = dump_answers(spec, (templates,), project)
    (project / ".keras-jax-scaffold.json").write_text(text)
    document = json.loads(text)
    # Every stored answer that applies (the regression's classes and the settings of
    # the recipes it does not use are left out).
    resolved = {q.name: getattr(spec, q.name) for q in ANSWERS}
    stored = {q.name for q in ANSWERS if q.stored and q.applies_to(resolved)}
    assert set(document["answers"]) == stored
    assert "num_classes" not in stored and "rho" not in stored
    assert document["template_dirs"] == ["../tpl"]
    recorded = read_answers(project)
    expected = answers_from_spec(spec)
    for question in ANSWERS:
        if question.name in stored:
            assert getattr(recorded.answers, question.name) == getattr(
                expected, question.name
            ), question.name
        elif question.name == "project":  # an answers file is a project's
            assert recorded.answers.project is True
        elif question.stored:
            assert getattr(recorded.answers, question.name) is None, question.name
    assert recorded.template_dirs == ("../tpl",)


def test_the_command_line_names_every_answer_that_applies(tmp_path):
    spec = build_spec(Answers(**EVERY_ANSWER, template_dirs=("tpl",)))
    words = shlex.split(command_line(spec))
    for question in ANSWERS:
        if question.argument:
            assert words[2] == spec.name
        elif question.when({q.name: getattr(spec, q.name) for q in ANSWERS}):
            raw = question.unparse(getattr(spec, question.name))
            if question.kind.cli_type is bool:  # a switch: --NAME or --no-NAME
                assert question.kind.flags(question.option, raw)[0] in words
            elif question.kind.arguments(raw):  # none named inputs/outputs: no flag
                assert question.option in words, question.name
    assert "--num-classes" not in words  # regression: the classes do not apply
    assert words[words.index("--var") + 1] == "clip=1.5"
    assert "note=a b" in words  # quoted for the shell


def test_the_command_line_renders_the_same_file_again(tmp_path):
    """`new` run with the header's own command (in the output directory) makes the
    same file: every answer, the template directory and the variables included."""
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "module.py.jinja").write_text(
        '{% extends "builtin/module.py.jinja" %}\n'
        "{% block imports %}{{ super() }}\nCLIP = {{ vars.clip }}  # {{ vars.note }}\n"
        "{% endblock %}\n"
    )
    first = tmp_path / "first"
    flags = ["--no-input", "-o", first, "-t", templates]
    for name, value in EVERY_ANSWER.items():
        question = ANSWER_INDEX[name]
        items = question.kind.arguments(value)
        if question.argument:
            flags += items
        else:
            for item in items:
                flags += [question.option, item]
    result = invoke("new", *flags)
    assert result.exit_code == 0, result.output
    text = (first / "every_answer.py").read_text()
    header = re.search(r"^    (keras-jax-scaffold new .*)$", text, re.MULTILINE)[1]
    assert "--template-dir ../tpl" in header and "CLIP = 1.5" in text
    again = tmp_path / "again"
    again.mkdir()
    words = shlex.split(header)[1:]
    # Run in the output directory: the header names the templates relative to it
    # (`again` is a sibling of `first`, so the relative path stays the same).
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(first)
        result = invoke(*words, "--no-input", "-o", again)
    assert result.exit_code == 0, result.output
    assert (again / "every_answer.py").read_text() == text


# ------------------------------------------------------------- update's one rule


def _recorded(**answers):
    return answers_from_spec(build_spec(Answers(name="proj", **answers)))


def test_rederive_changes_nothing_when_no_input_changed():
    recorded = _recorded(loss="mse", output_units=3)
    answers, notes = rederive(recorded, Answers(hidden_units=5))
    assert answers == Answers(**{**recorded.__dict__, "hidden_units": 5})
    assert notes == []


def test_rederive_answers_that_no_longer_validate():
    recorded = _recorded(loss="mse", metrics=("r2_score",), input_shape="5")
    answers, notes = rederive(recorded, Answers(loss="dice"))
    spec = build_spec(answers)
    assert spec.task.name == "segmentation"  # regression does not fit dice
    assert spec.input_shape == (8, 8, 3)  # rank 1 does not fit images
    assert [n.split(":")[0] for n in notes] == ["task", "metrics", "input shape"]
    assert notes[0].startswith("task: segmentation (the recorded one no longer fits:")
    assert notes[0].endswith("; give --task to choose)")


def test_rederive_answers_that_still_had_the_old_default():
    recorded = _recorded(loss="mse")  # output units 1: the default for regression
    answers, notes = rederive(recorded, Answers(loss="circle"))
    assert build_spec(answers).output_units == 8
    assert "output units: 8 (the default for the new task and loss; " in notes[-1]


def test_rederive_keeps_chosen_answers_that_still_fit():
    recorded = _recorded(loss="mse", output_units=3)  # chosen, not the default
    answers, notes = rederive(recorded, Answers(loss="circle"))
    assert build_spec(answers).output_units == 3
    assert not any(n.startswith("output units") for n in notes)


def test_given_answers_are_never_rederived():
    recorded = _recorded(loss="mse")
    answers, notes = rederive(recorded, Answers(loss="circle", output_units=2))
    assert build_spec(answers).output_units == 2
    assert not any(n.startswith("output units") for n in notes)


def test_rederive_propagates_through_dependencies():
    # bce -> mse changes the task, so the metrics (which depend on the task) change.
    recorded = _recorded(loss="bce", task="multilabel", num_classes=5)
    answers, notes = rederive(recorded, Answers(loss="mse"))
    assert build_spec(answers) == build_spec(
        Answers(name="proj", loss="mse", num_classes=5)
    )
    assert [n.split(":")[0] for n in notes] == ["task", "metrics"]


# --------------------------------------------------- an answer's template variable


def test_an_entry_with_context_is_a_documented_template_variable(monkeypatch):
    from dataclasses import replace

    from keras_jax_scaffold import spec

    from scripts import gen_template_reference as reference

    with_context = tuple(
        replace(q, context=int) if q.name == "hidden_units" else q for q in ANSWERS
    )
    monkeypatch.setattr(spec, "ANSWERS", with_context)
    assert spec.answer_context(build_spec(Answers(name="demo", hidden_units=5))) == {
        "hidden_units": 5,
        "dtype_policy": "float32",
    }
    docs = reference._answer_context_docs()
    assert docs["hidden_units"] == ("int", ANSWER_INDEX["hidden_units"].help)


def test_dtype_policy_is_the_answer_that_is_a_template_variable():
    # The other answers reach templates through context.py; entries added with
    # ``context`` appear in build_context and docs/templates.md by themselves.
    from keras_jax_scaffold.context import build_context

    from scripts import gen_template_reference as reference

    spec = build_spec(Answers(name="demo", dtype_policy="Mixed_BFloat16"))
    assert answer_context(spec) == {"dtype_policy": "mixed_bfloat16"}
    assert build_context(spec)["dtype_policy"] == "mixed_bfloat16"
    assert reference._answer_context_docs() == {
        "dtype_policy": ("str", ANSWER_INDEX["dtype_policy"].help)
    }
    with pytest.raises(UserError, match="dtype policy 'float64'"):
        build_spec(Answers(name="demo", dtype_policy="float64"))

"""The answers: one declarative table, :data:`ANSWERS`, and the validated :class:`Spec`.

Every answer the generator takes (``NAME``, ``--loss``, ``--metric``, ...) is one
:class:`Question` in :data:`ANSWERS`: its name, kind (how it is typed, parsed and
stored), how it is validated (``resolve``), its default or default rule (a function of
the answers it ``depends_on``), when it applies (``when``), its prompt, help and choices.
Everything else is derived from the table, with no per-answer code elsewhere:

* :class:`Answers` (raw answers, ``None`` = not given) and :class:`Spec` (the
  validated answers) are dataclasses with one field per entry; :func:`build_spec`
  resolves the entries in table order (an entry comes after those it depends on);
* the Typer options of ``new`` and ``update`` (``cli.answer_command`` builds each
  command's signature from the table);
* the interactive prompts and the ``--no-input`` defaults (``prompts.py``);
* the answers file ``.keras-jax-scaffold.json`` (``project.py``: JSON types, reading,
  checking, writing);
* the "render it again with" command of generated files (:func:`command_line`);
* ``update``'s re-derivation (:func:`rederive`): when an answer's inputs change, an
  answer that no longer validates, or still had its old default, is derived again,
  and the command says which;
* README's option table (``tests/generator/test_answers.py`` checks it lists every
  entry).

Adding an answer is one entry here plus its use in templates: an entry with ``context``
(e.g. ``context=float``) is a template variable of its own name, documented in
docs/templates.md with its ``help``; richer data goes through ``context.py``. For
example a setting that only applies to some recipes, once a ``recipe`` entry exists::

    Question(
        name="clip_norm",
        kind=FLOAT,
        label="clip norm",
        help="Global gradient norm to clip to (recipe clip-gradients).",
        update_help="Change the clip norm.",
        depends_on=("recipe",),
        when=lambda a: a["recipe"] == "clip-gradients",  # asked, on the command line
        default=lambda a: 1.0,
        resolve=lambda value, a: at_least_positive("clip norm", value),
        prompt="Clip norm",
        readme_default="`1.0`",
        context=repr,  # templates print {{ clip_norm }} as Python source
    ),

A choice (``recipe``, ``dtype_policy``) gives ``choices`` (``(value, note)`` pairs, a
function of the answers it depends on) and validates against them with
:func:`choose`; an int (``steps_per_execution``) uses ``kind=INT``; a repeatable
structured answer (``--output NAME:LOSS[:WEIGHT]``, ``--input NAME:SHAPE``) uses
``kind=LIST`` (raw: a tuple of strings, one per flag or comma-separated item) and
parses each item in ``resolve``. An answer missing from an older answers file takes its
default, so give a new entry the default that reproduces what projects did before it.

Nothing here touches the disk.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import Any

from . import catalog, recipes
from .errors import UserError, did_you_mean, unknown

# Names a generated module may not take: it imports these, so `NAME.py` would shadow them.
RESERVED_MODULE_NAMES = frozenset(
    {"keras", "jax", "jaxlib", "numpy", "os", "inspect", "optax", "ml_dtypes"}
)


def class_name_for(name: str) -> str:
    """CamelCase of a snake_case module name: ``my_model`` -> ``MyModel``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def validate_name(name: str) -> str:
    if not name.isidentifier():
        raise UserError(
            f"invalid name {name!r}: use a Python identifier such as 'my_model' "
            "(letters, digits and underscores, not starting with a digit)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise UserError(f"invalid name {name!r}: it is a Python keyword")
    if name in RESERVED_MODULE_NAMES:
        raise UserError(
            f"invalid name {name!r}: {name}.py would shadow the {name!r} module "
            "that the generated code imports"
        )
    class_name = class_name_for(name)
    # The class name must be a usable identifier too: `none` -> `None`, `_1x` -> `1x`.
    if not class_name.isidentifier() or keyword.iskeyword(class_name):
        shown = f"class name {class_name!r}" if class_name else "no class name"
        raise UserError(f"invalid name {name!r}: it gives {shown}")
    return name


def resolve_model_type(value: str) -> str:
    if value.lower() not in catalog.MODEL_TYPES:
        raise unknown("model type", value, catalog.MODEL_TYPES)
    return value.lower()


def resolve_loss(value: str) -> catalog.Loss:
    entry = catalog.LOSS_INDEX.get(value.lower())
    if entry is None:
        raise unknown(
            "loss",
            value,
            [loss.snake_name for loss in catalog.LOSSES] + list(catalog.LOSS_INDEX),
            hint="see `keras-jax-scaffold losses`",
        )
    return entry


def resolve_task(loss: catalog.Loss, value: str | None) -> catalog.Task:
    if value is None:
        return catalog.TASKS[loss.tasks[0]]
    if value not in catalog.TASKS:
        raise unknown("task", value, catalog.TASKS)
    if value not in loss.tasks:
        raise UserError(
            f"task {value!r} does not fit loss {loss.snake_name!r}, "
            f"which fits: {', '.join(loss.tasks)}"
        )
    return catalog.TASKS[value]


def resolve_metric(
    value: str, loss: catalog.Loss, task: catalog.Task
) -> catalog.Metric:
    """The catalog metric for ``value``, logging under the name given (as Keras's
    `compile(metrics=[value])` does; a class name logs under its snake_case name).

    "accuracy"/"acc" and "crossentropy"/"ce" resolve from the task's shapes the way
    `compile` resolves them (binary, categorical or sparse categorical)."""
    key = value.lower()
    compatible = [m.snake_name for m in catalog.compatible_metrics(task.name)]
    offer = ", ".join(compatible) or "none"
    family = catalog.SHAPE_RESOLVED_METRICS.get(key)
    if family is not None:
        if task.shape_family is None:
            fitting = [n for n in family.values() if n in compatible]
            picks = list(family.values())
            suggestion = f" (did you mean {' or '.join(map(repr, fitting))}?)"
            raise UserError(
                f"metric {value!r} does not fit loss {loss.snake_name!r}: Keras "
                f"resolves {key!r} to {', '.join(picks[:-1])} or {picks[-1]} by the "
                f"output's shape, and its pick for {task.name} outputs does not fit"
                f"{suggestion if fitting else ''}; compatible metrics: {offer}"
            )
        entry = catalog.METRIC_INDEX[family[task.shape_family]]
        return dataclasses.replace(entry, log_name=key)
    entry = catalog.METRIC_INDEX.get(key)
    if entry is None:
        raise unknown(
            "metric",
            value,
            compatible
            + [m.snake_name for m in catalog.METRICS]
            + list(catalog.SHAPE_RESOLVED_METRICS),
            hint="see `keras-jax-scaffold metrics`",
        )
    if task.name not in entry.tasks:
        other = [t for t in loss.tasks if t in entry.tasks]
        choose_task = (
            f" (the loss fits {other[0]} too: choose that task)" if other else ""
        )
        raise UserError(
            f"metric {value!r} does not fit loss {loss.snake_name!r}: it needs "
            f"{' or '.join(entry.tasks)} outputs, the loss trains for {task.name}"
            f"{choose_task}{did_you_mean(value, compatible)}; compatible metrics: "
            f"{offer}"
        )
    if key in (a.lower() for a in entry.aliases):
        return dataclasses.replace(entry, log_name=key)
    return entry


def resolve_optimizer(value: str) -> str:
    cls = catalog.OPTIMIZER_INDEX.get(value.lower())
    if cls is None:
        raise unknown("optimizer", value, [snake for _, snake in catalog.OPTIMIZERS])
    return cls


def _dims(text: str) -> tuple[int, ...]:
    """``'8,8,3'``, ``'8x8x3'``, ``'8 8 3'`` or ``'(8, 8, 3)'`` as a tuple; ``()`` for
    anything else (a stray letter or comma is not dropped: ``'8,x'`` is no shape)."""
    body = text.strip().strip("()[]").strip()
    if not re.fullmatch(r"\d+(?:\s*[,x]\s*\d+|\s+\d+)*\s*,?", body):
        return ()
    return tuple(int(d) for d in re.findall(r"\d+", body))


def parse_input_shape(value: str, task: catalog.Task) -> tuple[int, ...]:
    shape = _dims(value)
    if not shape or any(d <= 0 for d in shape):
        raise UserError(
            f"invalid input shape {value!r}: give positive integers such as '16' or '8,8,3'"
        )
    rank = catalog.INPUT_RANKS[task.input_kind]
    if len(shape) != rank:
        example = ",".join(str(d) for d in catalog.INPUT_SHAPES[task.input_kind])
        raise UserError(
            f"invalid input shape {value!r}: task {task.name} takes {task.input_kind} "
            f"inputs of rank {rank}, such as '{example}'"
        )
    return shape


def check_learning_rate(value: float, typed: str | None = None) -> float:
    """``value`` if positive and finite; the error shows ``typed`` (the user's text)."""
    if not (value > 0 and math.isfinite(value)):
        shown = repr(typed) if typed is not None else repr(value)
        raise UserError(
            f"invalid learning rate {shown}: must be a positive finite number"
        )
    return value


def min_num_classes(task: catalog.Task) -> int:
    """CTC can have a single class (besides the blank); classification needs two."""
    return task.min_classes


def default_output_units(task: catalog.Task, loss: catalog.Loss) -> int:
    """The task's default (1; 8 for embeddings), at least what the loss needs."""
    return max(task.default_output_units, loss.min_output_units)


def parse_variable(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` from ``--var``; KEY must be a Python identifier."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep:
        raise UserError(
            f"invalid --var {text!r}: expected KEY=VALUE, e.g. clip_norm=1.0"
        )
    if not key.isidentifier():
        raise UserError(
            f"invalid --var {text!r}: KEY {key!r} must be an identifier "
            "(templates read it as vars.KEY)"
        )
    return key, value


def check_variables(pairs) -> tuple[tuple[str, str], ...]:
    """Sorted ``(key, value)`` pairs; a key given twice with different values is an error."""
    result: dict[str, str] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not key.isidentifier():
            raise UserError(
                f"invalid template variable name {key!r}: use an identifier"
            )
        if not isinstance(value, str):
            raise UserError(
                f"template variable {key!r} must be a string, got {value!r}"
            )
        if key in result and result[key] != value:
            raise UserError(
                f"template variable {key!r} is given twice ({result[key]!r} and {value!r})"
            )
        result[key] = value
    return tuple(sorted(result.items()))


# ------------------------------------------------------------------------ the table


def _always(answers: Mapping[str, Any]) -> bool:
    return True


def at_least(label: str, value: int, minimum: int = 1, why: str = "") -> int:
    """``value`` if at least ``minimum``; else a UserError naming ``label``."""
    if value < minimum:
        reason = f" {why}" if why else ""
        raise UserError(
            f"invalid {label} {value!r}: must be at least {minimum}{reason}"
        )
    return value


def choose(label: str, value: str, choices: Sequence[tuple[str, str]]) -> str:
    """``value`` if it is one of ``choices`` (case-insensitive): the choice's spelling."""
    for choice, _ in choices:
        if value.lower() == choice.lower():
            return choice
    raise unknown(label, value, [choice for choice, _ in choices])


class Kind:
    """How a raw answer is typed on the command line, read from a prompt, stored in the
    answers file and written back on a command line. One instance per kind below."""

    name = "text"
    cli_type: Any = str  # the Typer annotation, without ``| None``
    repeated = False  # a repeatable flag; the raw value is a tuple
    json_types: tuple[type, ...] = (str,)

    def from_cli(self, value):
        """The raw answer from the Typer value."""
        return value

    def from_text(self, text: str, label: str):
        """The raw answer from what was typed at a prompt."""
        return text

    def text(self, raw) -> str:
        """``raw`` as typed (prompt defaults, notes)."""
        return str(raw)

    def arguments(self, raw) -> list[str]:
        """The command-line values of ``raw``, one per flag."""
        return [self.text(raw)]

    def to_json(self, raw):
        return raw

    def json_ok(self, value) -> bool:
        return isinstance(value, self.json_types) and not isinstance(value, bool)

    def from_json(self, value):
        return value

    def merge(self, recorded, given):
        """What `update` records when a flag gives ``given`` over ``recorded``."""
        return given


class _Int(Kind):
    name = "int"
    cli_type = int
    json_types = (int,)

    def from_text(self, text, label):
        try:
            return int(text)
        except ValueError:
            raise UserError(f"invalid {label} {text!r}: give a whole number") from None


class _Float(Kind):
    name = "float"
    cli_type = float
    json_types = (int, float)

    def from_text(self, text, label):
        try:
            return float(text)
        except ValueError:
            raise UserError(f"invalid {label} {text!r}: give a number") from None

    def text(self, raw):
        return repr(float(raw))

    def from_json(self, value):
        return float(value)


def split_items(values) -> tuple[str, ...]:
    """Repeated and comma-separated items, flattened; blanks dropped."""
    return tuple(
        part.strip() for value in values for part in value.split(",") if part.strip()
    )


class _List(Kind):
    """Several strings: a repeatable, comma-separable flag; ``none`` alone: none."""

    name = "list"
    cli_type = list[str]
    repeated = True
    json_types = (list,)

    def from_cli(self, value):
        items = split_items(value)
        return () if [item.lower() for item in items] == ["none"] else items

    def from_text(self, text, label):
        return () if text.lower() in ("none", "-") else split_items([text])

    def text(self, raw):
        return ",".join(raw) or "none"

    def arguments(self, raw):
        return list(raw) or ["none"]  # `-m none`: no metric, not the default ones

    def to_json(self, raw):
        return list(raw)

    def json_ok(self, value):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    def from_json(self, value):
        return tuple(value)


class _Pairs(Kind):
    """``KEY=VALUE`` pairs (repeatable); stored as a JSON object; `update` merges them
    key by key."""

    name = "pairs"
    cli_type = list[str]
    repeated = True
    json_types = (dict,)

    def from_cli(self, value):
        return tuple(parse_variable(v) for v in value)

    def text(self, raw):
        return ",".join(f"{k}={v}" for k, v in raw)

    def arguments(self, raw):
        return [f"{k}={v}" for k, v in raw]

    def to_json(self, raw):
        return dict(raw)

    def json_ok(self, value):
        return isinstance(value, dict)  # keys and values: checked by `resolve`

    def from_json(self, value):
        return tuple(sorted(value.items()))

    def merge(self, recorded, given):
        merged = dict(recorded or ())
        merged.update(given)
        return tuple(sorted(merged.items()))


class _Paths(_List):
    """Directories (repeatable); Typer checks they are not files."""

    name = "paths"
    cli_type = list[Path]

    def from_cli(self, value):
        return tuple(str(path) for path in value)

    def arguments(self, raw):
        return list(raw)


class _Specs(_List):
    """``NAME:...`` items whose values may hold commas (``image:8,8,3``): one per
    flag (repeatable); at a prompt, separated by spaces (and by commas too where
    ``commas``: items without commas, ``box:mse:0.5``); ``none`` alone: none."""

    name = "specs"

    def __init__(self, commas: bool = False):
        self.commas = commas

    def from_cli(self, value):
        items = tuple(v.strip() for v in value if v.strip())
        return () if [item.lower() for item in items] == ["none"] else items

    def from_text(self, text, label):
        if text.lower() in ("none", "-"):
            return ()
        return tuple(text.replace(",", " ").split() if self.commas else text.split())

    def text(self, raw):
        return (", " if self.commas else " ").join(raw) or "none"

    def arguments(self, raw):
        return list(raw)  # none (the default): no flag


TEXT, INT, FLOAT, LIST, PAIRS, PATHS, SPECS, OUTPUT_SPECS = (
    Kind(),
    _Int(),
    _Float(),
    _List(),
    _Pairs(),
    _Paths(),
    _Specs(),
    _Specs(commas=True),
)


@dataclass(frozen=True)
class Question:
    """One answer. ``a`` below is the mapping of the answers resolved so far (table
    order: every entry comes after those it ``depends_on``), name -> resolved value."""

    name: str  # attribute of Answers and Spec, key in the answers file
    kind: Kind
    label: str  # in messages: "invalid {label} ...", notes of `update`
    help: str  # --help of `new` (and README's table)
    # Raw answer -> validated value (raise UserError); may read ``a[dependency]``.
    resolve: Callable[[Any, Mapping[str, Any]], Any]
    # The raw default as a function of ``a``; None: required (``missing`` says so).
    default: Callable[[Mapping[str, Any]], Any] | None
    depends_on: tuple[str, ...] = ()
    # Asked, and written on the command line, only when true (else: the default).
    when: Callable[[Mapping[str, Any]], bool] = _always
    prompt: str | None = None  # the question; None: never asked (a flag only)
    # Answers that, given as flags, stand for this one: then it is not asked (it takes
    # its default), e.g. --loss for --output (one unnamed output).
    given_instead: tuple[str, ...] = ()
    # ``(value, note)`` the answer chooses from, a function of ``a``: shown inline
    # (``Task [binary/multilabel]``) or, with ``menu``, as a numbered list. A
    # single-valued question with one choice is not asked; nor is a menu with none.
    choices: Callable[[Mapping[str, Any]], Sequence[tuple[str, str]]] | None = None
    menu: str = ""  # the title above the numbered menu (function of nothing)
    menu_empty: str = ""  # printed instead of a menu without choices ({task} etc.)
    item: str = ""  # what one choice is called ("no metric number 9")
    unparse: Callable[[Any], Any] = lambda value: value  # resolved -> canonical raw
    flag: str = ""  # default: --NAME-WITH-DASHES
    short: str = ""
    argument: bool = False  # a positional argument (NAME) instead of an option
    update_help: str | None = None  # None: `update` cannot change it
    completion: tuple[str, ...] = ()  # shell completion values
    missing: str = ""  # the error when a required answer is missing
    stored: bool = True  # in the answers file's "answers" (else: project.py's own key)
    readme_default: str = ""  # README's "default" column
    # The template variable named after the answer: a plain value (str, number, bool
    # or a list of them) from the resolved one, e.g. ``context=int``; documented in
    # docs/templates.md with ``help``. None: context.py builds what templates see (the
    # answers below predate this).
    context: Callable[[Any], Any] | None = None

    @property
    def option(self) -> str:
        """The flag (``--loss``) or, for an argument, its metavar (``NAME``)."""
        if self.argument:
            return self.name.upper()
        return self.flag or "--" + self.name.replace("_", "-")

    def default_for(self, a: Mapping[str, Any]):
        if self.default is None:
            raise UserError(self.missing or f"missing {self.option}")
        return self.default(a)

    def offered(self, a: Mapping[str, Any]) -> Sequence[tuple[str, str]] | None:
        return None if self.choices is None else self.choices(a)

    def asked(self, a: Mapping[str, Any]) -> bool:
        """Whether a prompt asks it, given the answers it depends on."""
        if self.prompt is None or not self.when(a):
            return False
        offered = self.offered(a)
        if offered is None:
            return True
        return len(offered) > (0 if self.kind.repeated else 1)


# ---------------------------------------------------------- several inputs/outputs

OUTPUT_SYNTAX = "NAME:LOSS[@TASK][:WEIGHT], e.g. box:mse:0.5 or tags:bce@multilabel"
INPUT_SYNTAX = "NAME:SHAPE, e.g. image:8,8,3"


@dataclass(frozen=True)
class Output:
    """One named output (``--output``): its head, loss, task and loss weight."""

    name: str
    loss: catalog.Loss
    task: catalog.Task
    weight: float

    @property
    def text(self) -> str:
        """The ``--output`` value, every part explicit."""
        return f"{self.name}:{self.loss.snake_name}@{self.task.name}:{self.weight!r}"


@dataclass(frozen=True)
class Input:
    """One named input (``--input``)."""

    name: str
    shape: tuple[int, ...]

    @property
    def text(self) -> str:
        return f"{self.name}:{_shape_text(self.shape)}"


@dataclass(frozen=True)
class OutputMetric:
    """A metric of one named output (``--metric OUTPUT:METRIC``)."""

    output: str
    metric: catalog.Metric

    @property
    def name(self) -> str:
        """As given on the command line; Keras logs it as ``OUTPUT_`` + metric.name."""
        return f"{self.output}:{self.metric.name}"


def _outputs(a) -> tuple[Output, ...]:
    """The named outputs among the resolved answers ``a`` (none when not resolved)."""
    return a.get("outputs") or ()


def _inputs(a) -> tuple[Input, ...]:
    return a.get("inputs") or ()


def _io_name(kind: str, text: str, name: str, taken: dict[str, str]) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UserError(
            f"invalid --{kind} {text!r}: NAME {name!r} must be a Python identifier"
        )
    if name in taken:
        raise UserError(
            f"invalid --{kind} {text!r}: the name {name!r} is already used by "
            f"{taken[name]}; give each input and output its own name"
        )
    taken[name] = f"an {kind}"
    return name


def _vector_task(loss: catalog.Loss, task_name: str | None, where: str) -> catalog.Task:
    """The task given, else the loss's first task on vector inputs: the heads of a
    model with named inputs or outputs sit on one merged hidden vector."""
    vector = [t for t in loss.tasks if catalog.TASKS[t].input_kind == "vector"]
    task = resolve_task(loss, task_name or (vector[0] if vector else None))
    if task.input_kind != "vector":
        raise UserError(
            f"{where}: task {task.name} needs {task.input_kind} inputs and its own "
            "head; a model with named inputs or outputs merges its inputs into one "
            "hidden vector, so it takes vector tasks only (see `keras-jax-scaffold "
            "tasks`)"
        )
    return task


def parse_output(text: str, taken: dict[str, str]) -> Output:
    """``NAME:LOSS[@TASK][:WEIGHT]``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise UserError(f"invalid --output {text!r}: expected {OUTPUT_SYNTAX}")
    name = _io_name("output", text, parts[0].strip(), taken)
    loss_name, _, task_name = parts[1].strip().partition("@")
    weight = 1.0
    if len(parts) == 3:
        try:
            weight = float(parts[2])
        except ValueError:
            weight = -1.0
        if not (weight >= 0 and math.isfinite(weight)):
            raise UserError(
                f"invalid --output {text!r}: WEIGHT {parts[2]!r} must be a "
                "non-negative number (the output's loss weight)"
            )
    try:
        loss = resolve_loss(loss_name)
        task = _vector_task(loss, task_name.strip() or None, f"output {name!r}")
    except UserError as error:
        raise UserError(f"invalid --output {text!r}: {error}") from None
    return Output(name, loss, task, weight)


def parse_input(text: str, taken: dict[str, str]) -> Input:
    """``NAME:SHAPE``."""
    name, sep, shape_text = text.partition(":")
    if not sep or not name.strip() or not shape_text.strip():
        raise UserError(f"invalid --input {text!r}: expected {INPUT_SYNTAX}")
    name = _io_name("input", text, name.strip(), taken)
    shape = _dims(shape_text)
    if not shape or any(d <= 0 for d in shape):
        raise UserError(
            f"invalid --input {text!r}: SHAPE {shape_text!r} must be positive "
            "integers such as '16' or '8,8,3' (without the batch axis)"
        )
    return Input(name, shape)


def _no_sequential(a, flag: str) -> None:
    if a["model_type"] == "sequential":
        raise UserError(
            f"{flag} with a sequential model: keras.Sequential takes one input and "
            "one output; use --model-type functional or subclassed"
        )


def _resolve_outputs(values, a) -> tuple[Output, ...]:
    # A sequential model is refused in _resolve_inputs (which knows the model type).
    taken: dict[str, str] = {}
    return tuple(parse_output(text, taken) for text in values)


def _resolve_inputs(values, a) -> tuple[Input, ...]:
    if _outputs(a):
        _no_sequential(a, "--output")
    if not values:
        return ()
    _no_sequential(a, "--input")
    taken = {o.name: "an output" for o in _outputs(a)}
    inputs = tuple(parse_input(text, taken) for text in values)
    if not _outputs(a):
        _vector_task(a["loss"], a["task"].name, f"loss {a['loss'].snake_name!r}")
    return inputs


def split_output_metrics(values, names) -> dict[str, list[str]]:
    """``OUTPUT:METRIC`` values -> metric names per output; an unprefixed metric is
    allowed only when there is one output."""
    result: dict[str, list[str]] = {name: [] for name in names}
    for value in values:
        output, sep, metric = value.partition(":")
        if not sep:
            if len(names) > 1:
                raise UserError(
                    f"metric {value!r} names no output: with several outputs write "
                    f"OUTPUT:METRIC, e.g. {names[0]}:{value} (outputs: "
                    f"{', '.join(names)})"
                )
            output, metric = names[0], value
        output, metric = output.strip(), metric.strip()
        if output not in result:
            raise UserError(
                f"unknown output {output!r} in --metric {value!r}"
                f"{did_you_mean(output, names)}; outputs: {', '.join(names)}"
            )
        result[output].append(metric)
    return result


def _loss_choices(a) -> list[tuple[str, str]]:
    return [
        (loss.snake_name, "; ".join(filter(None, [", ".join(loss.tasks), loss.notes])))
        for loss in catalog.LOSSES
    ]


def _metric_choices(a) -> list[tuple[str, str]]:
    if _outputs(a):
        return [
            (f"{o.name}:{m.snake_name}", m.notes)
            for o in _outputs(a)
            for m in catalog.compatible_metrics(o.task.name)
        ]
    return [(m.snake_name, m.notes) for m in catalog.compatible_metrics(a["task"].name)]


def _metric_list(values, loss, task) -> list[catalog.Metric]:
    metrics: list[catalog.Metric] = []
    for value in values:
        metric = resolve_metric(value, loss, task)
        same = [m for m in metrics if m.class_name == metric.class_name]
        if same:
            twice = f" (as {same[0].name!r})" if same[0].name != metric.name else ""
            raise UserError(f"metric {value!r} is given twice{twice}")
        metrics.append(metric)
    return metrics


def _resolve_metrics(values, a) -> tuple:
    """The metrics; with named outputs, ``OutputMetric``s from ``OUTPUT:METRIC``."""
    if not _outputs(a):
        return tuple(_metric_list(values, a["loss"], a["task"]))
    outputs = {o.name: o for o in _outputs(a)}
    per_output = split_output_metrics(values, list(outputs))
    result = []
    for name, output in outputs.items():
        try:
            metrics = _metric_list(per_output[name], output.loss, output.task)
        except UserError as error:
            raise UserError(f"output {name!r}: {error}") from None
        result += [OutputMetric(name, metric) for metric in metrics]
    return tuple(result)


def _default_metrics(a) -> tuple[str, ...]:
    if not _outputs(a):
        return a["task"].default_metrics
    return tuple(
        f"{o.name}:{metric}" for o in _outputs(a) for metric in o.task.default_metrics
    )


def _all_heads(a) -> list[tuple[catalog.Task, catalog.Loss]]:
    """(task, loss) of every output: the named ones, or the model's one."""
    return [(o.task, o.loss) for o in _outputs(a)] or [(a["task"], a.get("loss"))]


def _min_output_units(a) -> tuple[int, catalog.Loss]:
    _, loss = max(_all_heads(a), key=lambda head: head[1].min_output_units)
    return loss.min_output_units, loss


def _resolve_output_units(value, a) -> int:
    minimum, loss = _min_output_units(a)
    why = f"for loss {loss.snake_name!r}" if minimum > 1 else ""
    return at_least("output units", value, minimum, why)


def _default_output_units(a) -> int:
    return max(default_output_units(task, loss) for task, loss in _all_heads(a))


def _resolve_loss(value, a) -> catalog.Loss:
    loss = resolve_loss(value)
    if _outputs(a) and loss != _outputs(a)[0].loss:
        raise UserError(
            f"--loss {value!r} with --output: give each output's loss in --output "
            f"{OUTPUT_SYNTAX}"
        )
    return loss


def _resolve_task(value, a) -> catalog.Task:
    if _outputs(a) and value != _outputs(a)[0].task.name:
        raise UserError(
            f"--task {value!r} with --output: give each output's task in --output "
            f"{OUTPUT_SYNTAX}"
        )
    return resolve_task(a["loss"], value)


def _resolve_recipe(value, a) -> recipes.Recipe:
    recipe = recipes.resolve_recipe(
        value,
        a.get("model_type"),
        # A named output's metric (OutputMetric) is checked by its catalog entry.
        [getattr(m, "metric", m).snake_name for m in a.get("metrics") or ()],
        a["loss"].snake_name if a.get("loss") else None,
    )
    if recipe.networks and (_outputs(a) or _inputs(a)):
        raise UserError(
            f"recipe {recipe.name!r} with named inputs or outputs: its networks "
            f"({', '.join(recipe.networks)}) take one unnamed input and output; drop "
            "--output/--input or choose another recipe"
        )
    if not recipe.compiles_loss and _outputs(a):
        raise UserError(
            f"recipe {recipe.name!r} with named outputs: the model owns one loss "
            "object for one output (compile gets no loss={...}); drop --output or "
            "choose another recipe"
        )
    return recipe


def _learning_rate(value, a) -> float:
    return float(check_learning_rate(value))


def _shape_text(shape) -> str:
    return ",".join(str(d) for d in shape)


# The Keras dtype policies `--dtype-policy` chooses from.
DTYPE_POLICIES = (
    ("float32", "float32 compute and variables"),
    ("mixed_float16", "float16 compute, float32 variables, loss scaling"),
    ("mixed_bfloat16", "bfloat16 compute, float32 variables"),
)


ANSWERS: tuple[Question, ...] = (
    Question(
        name="name",
        kind=TEXT,
        label="name",
        argument=True,
        help="Module name (a Python identifier); writes NAME.py.",
        resolve=lambda value, a: validate_name(value),
        default=None,
        missing="missing NAME: give the module name, e.g. `new my_model`",
        prompt="Module name (a Python identifier)",
        readme_default="asked",
    ),
    Question(
        name="model_type",
        kind=TEXT,
        label="model type",
        help="sequential, functional or subclassed. Default: functional.",
        update_help="Change the model type (sequential, functional, subclassed).",
        resolve=lambda value, a: resolve_model_type(value),
        default=lambda a: "functional",
        prompt="Model type",
        choices=lambda a: [(t, "") for t in catalog.MODEL_TYPES],
        completion=catalog.MODEL_TYPES,
        readme_default="`functional`",
    ),
    Question(
        name="outputs",
        kind=OUTPUT_SPECS,
        label="outputs",
        flag="--output",
        item="output",
        help="A named output NAME:LOSS[@TASK][:WEIGHT] (repeat the flag for several), "
        "e.g. box:mse:0.5 or tags:bce@multilabel: a head per output on the shared "
        "hidden layer, compiled with loss={...} and loss_weights={...} (WEIGHT, "
        "default 1); @TASK for a loss that fits several (default: its first vector "
        "task). Metrics per output: --metric NAME:METRIC. Replaces --loss/--task. "
        "Default: one unnamed output.",
        update_help="Replace the named outputs (repeatable; 'none' for one unnamed "
        "output). Recorded metrics that no longer fit are derived again.",
        depends_on=("model_type",),
        resolve=_resolve_outputs,
        unparse=lambda outputs: tuple(o.text for o in outputs),
        default=lambda a: (),
        # Asked for the model types that take named outputs (the command line writes
        # the flag only for named outputs: none gives no argument).
        when=lambda a: a["model_type"] != "sequential",
        prompt="Outputs (NAME:LOSS[@TASK][:WEIGHT], comma-separated; 'none' for one "
        "unnamed output)",
        given_instead=("loss", "task"),
        readme_default="one unnamed output",
    ),
    Question(
        name="loss",
        kind=TEXT,
        label="loss",
        help="A Keras loss: class name, snake_case name or alias (mse, mae, ...). "
        "Default: sparse_categorical_crossentropy. See `losses`.",
        update_help="Change the loss. Recorded answers that depend on it (task, "
        "metrics, input shape, classes, output units) are derived again unless given "
        "when they no longer fit or still had the old default; each is reported as a "
        "note.",
        depends_on=("outputs",),
        when=lambda a: not _outputs(a),
        resolve=_resolve_loss,
        unparse=lambda loss: loss.snake_name,
        default=lambda a: (
            _outputs(a)[0].loss.snake_name
            if _outputs(a)
            else "sparse_categorical_crossentropy"
        ),
        prompt="Loss (a number or a name)",
        choices=_loss_choices,
        menu="Losses (name, tasks; see `keras-jax-scaffold losses`):",
        item="loss",
        completion=tuple(loss.snake_name for loss in catalog.LOSSES),
        readme_default="`sparse_categorical_crossentropy`",
    ),
    Question(
        name="task",
        kind=TEXT,
        label="task",
        help="The task, for losses that fit several (e.g. binary or multilabel). "
        "Default: the loss's first task.",
        update_help="Change the task (it must fit the loss). Recorded metrics, input "
        "shape, classes and output units are derived again as for --loss.",
        depends_on=("loss", "outputs"),
        when=lambda a: not _outputs(a),
        resolve=_resolve_task,
        unparse=lambda task: task.name,
        default=lambda a: (
            _outputs(a)[0].task.name if _outputs(a) else a["loss"].tasks[0]
        ),
        prompt="Task",
        choices=lambda a: [(t, "") for t in a["loss"].tasks],
        completion=tuple(catalog.TASKS),
        readme_default="the loss's first task",
    ),
    Question(
        name="metrics",
        kind=LIST,
        label="metrics",
        item="metric",
        flag="--metric",
        short="-m",
        help="A Keras metric; repeat or comma-separate for several, 'none' for no "
        "metric. 'accuracy'/'acc' and 'crossentropy'/'ce' resolve by the output's "
        "shape as in Keras's compile; a metric logs under the name given. With "
        "--output: OUTPUT:METRIC. Default: the task's usual metric. See `metrics`.",
        update_help="Replace the metrics; repeat or comma-separate, 'none' for no "
        "metric.",
        depends_on=("loss", "task", "outputs"),
        resolve=_resolve_metrics,
        unparse=lambda metrics: tuple(m.name for m in metrics),
        default=_default_metrics,
        prompt="Metrics (numbers or names, comma-separated; 'none' for no metric)",
        choices=_metric_choices,
        menu="Metrics that fit {loss} ({task}):",
        menu_empty="No built-in metric fits {task}; the model logs its loss only.",
        completion=tuple(m.snake_name for m in catalog.METRICS),
        readme_default="the task's usual metric",
    ),
    Question(
        name="optimizer",
        kind=TEXT,
        label="optimizer",
        help="A Keras optimizer (adam, adamw, sgd, ...). Default: adam.",
        update_help="Change the optimizer.",
        resolve=lambda value, a: resolve_optimizer(value),
        unparse=str.lower,
        default=lambda a: "adam",
        prompt="Optimizer",
        completion=tuple(snake for _, snake in catalog.OPTIMIZERS),
        readme_default="`adam`",
    ),
    Question(
        name="learning_rate",
        kind=FLOAT,
        label="learning rate",
        help="Learning rate. Default: 0.001.",
        update_help="Change the learning rate.",
        resolve=_learning_rate,
        default=lambda a: 1e-3,
        prompt="Learning rate",
        readme_default="`0.001`",
    ),
    Question(
        name="inputs",
        kind=SPECS,
        label="inputs",
        flag="--input",
        item="input",
        help="A named input NAME:SHAPE (repeat the flag for several), e.g. image:8,8,3: "
        "each is flattened and they are concatenated before the hidden layer; "
        "make_dataset gives x as a dict. Replaces --input-shape. Default: one "
        "unnamed input.",
        update_help="Replace the named inputs (repeatable; 'none' for one unnamed "
        "input).",
        depends_on=("model_type", "outputs", "loss", "task"),
        resolve=_resolve_inputs,
        unparse=lambda inputs: tuple(i.text for i in inputs),
        default=lambda a: (),
        # Asked where named inputs fit: not sequential, vector inputs (the heads of
        # named outputs always sit on one vector).
        when=lambda a: a["model_type"] != "sequential"
        and (bool(_outputs(a)) or a["task"].input_kind == "vector"),
        prompt="Inputs (NAME:SHAPE, space-separated, e.g. image:8,8,3; 'none' for one "
        "unnamed input)",
        given_instead=("input_shape",),
        readme_default="one unnamed input",
    ),
    Question(
        name="input_shape",
        kind=TEXT,
        label="input shape",
        help="Input shape without the batch axis, e.g. 16 or 8,8,3. "
        "Default: 16 (vectors), 8,8,3 (images), 12,8 (sequences).",
        update_help="Change the input shape, e.g. 16 or 8,8,3.",
        depends_on=("task", "inputs"),
        when=lambda a: not _inputs(a),
        resolve=lambda value, a: parse_input_shape(value, a["task"]),
        unparse=_shape_text,
        default=lambda a: _shape_text(catalog.INPUT_SHAPES[a["task"].input_kind]),
        prompt="Input shape ({task.input_kind})",
        readme_default="by task: `16`, `8,8,3` (segmentation), `12,8` (CTC)",
    ),
    Question(
        name="num_classes",
        kind=INT,
        label="number of classes",
        help="Number of classes. Default: 3.",
        update_help="Change the number of classes.",
        depends_on=("task", "outputs"),
        when=lambda a: any(task.uses_num_classes for task, _ in _all_heads(a)),
        resolve=lambda value, a: at_least(
            "number of classes",
            value,
            max(min_num_classes(task) for task, _ in _all_heads(a)),
        ),
        default=lambda a: 3,
        prompt="Number of classes",
        readme_default="`3`",
    ),
    Question(
        name="output_units",
        kind=INT,
        label="output units",
        help="Output units for regression / embeddings. Default: 1 / 8.",
        update_help="Change the output units.",
        depends_on=("task", "loss", "outputs"),
        when=lambda a: any(
            task.head_units == "output_units" for task, _ in _all_heads(a)
        ),
        resolve=_resolve_output_units,
        default=_default_output_units,
        prompt="Output units",
        readme_default="`1` / `8`",
    ),
    Question(
        name="hidden_units",
        kind=INT,
        label="hidden units",
        help="Units of the hidden layer. Default: 32.",
        update_help="Change the hidden layer's units.",
        resolve=lambda value, a: at_least("hidden units", value),
        default=lambda a: 32,
        prompt="Hidden units",
        readme_default="`32`",
    ),
    Question(
        name="recipe",
        kind=TEXT,
        label="recipe",
        help="The training algorithm in the steps: "
        + "; ".join(f"{r.name}: {r.summary}" for r in recipes.RECIPES)
        + ". Default: default. See `recipes`.",
        update_help="Switch to another recipe (see `recipes`); the old recipe's "
        "settings are dropped, the new one's take their defaults unless given.",
        # Checked against the model type, loss and metrics (resolved before it), but
        # not derived from them.
        resolve=_resolve_recipe,
        unparse=lambda recipe: recipe.name,
        default=lambda a: recipes.DEFAULT_RECIPE,
        prompt="Recipe (see `keras-jax-scaffold recipes`)",
        choices=lambda a: [(r.name, r.summary) for r in recipes.RECIPES],
        completion=tuple(recipes.RECIPE_INDEX),
        readme_default="`default`",
    ),
    # One entry per recipe setting; recipes.py holds their flags, types and checks.
    *(
        Question(
            name=setting.name,
            kind={int: INT, float: FLOAT, str: TEXT}[setting.type],
            label=setting.flag,
            flag=setting.flag,
            help=f"{setting.help[:1].upper()}{setting.help[1:]}. "
            f"Default: {setting.default!r}.",
            update_help=f"Change {setting.flag} (recipe {owner}).",
            depends_on=("recipe",),
            when=lambda a, owner=owner: a["recipe"].name == owner,
            resolve=lambda value, a, setting=setting, owner=owner: (
                recipes.check_setting(setting, owner, value, a["recipe"])
            ),
            default=lambda a, setting=setting: setting.default,
            prompt=f"{setting.flag} ({setting.help})",
            readme_default=f"`{setting.default!r}`",
        )
        for owner, setting in recipes.SETTING_OWNERS
    ),
    Question(
        name="dtype_policy",
        kind=TEXT,
        label="dtype policy",
        help="The Keras dtype policy: float32; mixed_float16 (float16 compute, "
        "float32 variables, loss scaling) or mixed_bfloat16 (bfloat16 compute, "
        "float32 variables): the module's build_model builds the model under it, a "
        "project's train uses it as the --dtype-policy default. Default: float32 "
        "(the model follows Keras's global policy).",
        update_help="Change the dtype policy (float32, mixed_float16, "
        "mixed_bfloat16).",
        resolve=lambda value, a: choose("dtype policy", value, DTYPE_POLICIES),
        default=lambda a: "float32",
        # Written on the command line only when not float32: the generated files
        # of older answers (float32) stay the same. A flag only (not asked).
        when=lambda a: a.get("dtype_policy", "float32") != "float32",
        choices=lambda a: DTYPE_POLICIES,
        completion=tuple(policy for policy, _ in DTYPE_POLICIES),
        readme_default="`float32`",
        context=str,
    ),
    Question(
        name="variables",
        kind=PAIRS,
        label="template variables",
        flag="--var",
        help="KEY=VALUE for custom templates, which read it as {{ vars.KEY }} "
        "(repeatable).",
        update_help="KEY=VALUE for custom templates (repeatable); merged over the "
        "recorded variables key by key.",
        resolve=lambda value, a: check_variables(value),
        default=lambda a: (),
        readme_default="none",
    ),
    Question(
        name="template_dirs",
        kind=PATHS,
        label="template directories",
        flag="--template-dir",
        short="-t",
        help="A directory of templates that override the built-ins file by file "
        "(repeatable; the first that has a template wins). A "
        ".keras-jax-scaffold/templates directory in the output directory or a parent "
        "is used too. See `templates`.",
        update_help="Template directories replacing the recorded ones (repeatable; "
        "the first that has a template wins).",
        resolve=lambda value, a: tuple(Path(d).as_posix() for d in value),
        default=lambda a: (),
        # Recorded at the top level of the answers file, relative to the project.
        stored=False,
        readme_default="none",
    ),
)
ANSWER_INDEX = {question.name: question for question in ANSWERS}


def _merged(self, other):
    """These answers, with the ones missing here taken from ``other``."""
    values = {}
    for f in fields(self):
        mine = getattr(self, f.name)
        values[f.name] = getattr(other, f.name) if mine is None else mine
    return type(self)(**values)


# Raw answers, one field per entry; ``None`` means "not given".
Answers = make_dataclass(
    "Answers",
    [(q.name, Any, field(default=None)) for q in ANSWERS],
    frozen=True,
    namespace={"merged": _merged, "__module__": __name__},
)


def _class_name(self) -> str:
    return class_name_for(self.name)


# The validated answers, one field per entry (values as ``resolve`` returns them:
# ``loss`` is a catalog.Loss, ``input_shape`` a tuple...), plus the class name.
Spec = make_dataclass(
    "Spec",
    [(q.name, Any) for q in ANSWERS],
    frozen=True,
    namespace={"class_name": property(_class_name), "__module__": __name__},
)


def resolve_answers(answers) -> dict[str, Any]:
    """``{name: resolved value}`` in table order, defaults filled; UserError on the first
    bad answer."""
    resolved: dict[str, Any] = {}
    for question in ANSWERS:
        raw = getattr(answers, question.name)
        if raw is None:
            raw = question.default_for(resolved)
        resolved[question.name] = question.resolve(raw, resolved)
    return resolved


def build_spec(answers) -> Spec:
    """Validate ``answers`` and fill defaults; raise UserError on the first problem."""
    return Spec(**resolve_answers(answers))


def answers_from_spec(spec) -> Answers:
    """Every answer explicit, so a changed default never changes an existing project."""
    return Answers(**{q.name: q.unparse(getattr(spec, q.name)) for q in ANSWERS})


def answer_context(spec) -> dict[str, Any]:
    """The template variables that entries with a ``context`` give (``{name: data}``)."""
    return {
        q.name: q.context(getattr(spec, q.name))
        for q in ANSWERS
        if q.context is not None
    }


def _values(spec) -> dict[str, Any]:
    return {q.name: getattr(spec, q.name) for q in ANSWERS}


def command_line(spec) -> str:
    """The command that renders the same file again (every answer that applies,
    explicit; template directories relative to the output directory)."""
    values = _values(spec)
    parts = ["keras-jax-scaffold new"]
    for question in ANSWERS:
        if not question.when(values):
            continue
        raw = question.unparse(values[question.name])
        for argument in question.kind.arguments(raw):
            quoted = shlex.quote(argument)
            parts.append(quoted if question.argument else f"{question.option} {quoted}")
    return " ".join(parts)


def rederive(recorded, given) -> tuple[Any, list[str]]:
    """``given`` (flags) over ``recorded``, and a note for each answer derived again.

    The one rule: when an answer's inputs (``depends_on``) change and it is not
    given, the recorded answer is derived again (its default rule) if it no longer
    validates or still had the old default. The recorded answers must resolve (the
    caller reports a bad answers file).
    """
    old = resolve_answers(recorded)
    raw: dict[str, Any] = {}
    new: dict[str, Any] = {}
    notes: list[str] = []
    broken = False
    for question in ANSWERS:
        name = question.name
        mine = getattr(given, name)
        before = getattr(recorded, name)
        raw[name] = before if mine is None else question.kind.merge(before, mine)
        if broken:
            continue
        changed = [d for d in question.depends_on if new[d] != old[d]]
        if mine is None and before is not None and changed:
            reason = ""
            try:
                question.resolve(before, new)
            except UserError as error:
                reason = f"the recorded one no longer fits: {error}"
            else:
                if old[name] == question.resolve(question.default_for(old), old):
                    reason = f"the default for the new {' and '.join(changed)}"
            if reason:
                raw[name] = question.default_for(new)
                value = question.resolve(raw[name], new)
                if value != old[name]:
                    shown = question.kind.text(question.unparse(value))
                    notes.append(
                        f"{question.label}: {shown} ({reason}; give "
                        f"{question.option} to choose)"
                    )
        try:
            value = raw[name] if raw[name] is not None else question.default_for(new)
            new[name] = question.resolve(value, new)
        except UserError:
            broken = True  # a given answer that does not fit: build_spec says why
    return Answers(**raw), notes

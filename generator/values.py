"""Checks of single answer values: names, the catalog's losses, tasks, metrics and
optimizers, shapes, numbers and template variables.

Each function takes a raw value (and what it depends on) and returns the validated
value, or raises a one-line :class:`~keras_jax_scaffold.errors.UserError` that names the
bad value and suggests a good one. The answer table (``answer_table.py``) calls them;
nothing here knows about the table. Nothing here touches the disk.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
from collections.abc import Iterable, Sequence

from . import catalog
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
        picked = catalog.METRIC_INDEX[family[task.shape_family]]
        return dataclasses.replace(picked, log_name=key)
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
    """A Keras optimizer's class name, or ``optax:NAME`` for an optax optimizer."""
    text = value.strip()
    if text.lower().startswith(catalog.OPTAX_PREFIX):
        name = text[len(catalog.OPTAX_PREFIX) :].strip().lower()
        if name not in catalog.OPTAX_OPTIMIZERS:
            raise unknown(
                "optax optimizer",
                text,
                [catalog.OPTAX_PREFIX + n for n in catalog.OPTAX_OPTIMIZERS],
                hint="those that take a learning rate: "
                + ", ".join(catalog.OPTAX_OPTIMIZERS),
            )
        return catalog.OPTAX_PREFIX + name
    cls = catalog.OPTIMIZER_INDEX.get(text.lower())
    if cls is None:
        raise unknown(
            "optimizer",
            value,
            [snake for _, snake in catalog.OPTIMIZERS],
            hint="or an optax one as optax:NAME, e.g. optax:adamw",
        )
    return cls


def optax_name(optimizer: str) -> str:
    """The optax optimizer of a resolved ``--optimizer`` (``adamw`` for
    ``optax:adamw``), or "" for a Keras one."""
    if optimizer.startswith(catalog.OPTAX_PREFIX):
        return optimizer[len(catalog.OPTAX_PREFIX) :]
    return ""


def dims(text: str) -> tuple[int, ...]:
    """``'8,8,3'``, ``'8x8x3'``, ``'8 8 3'`` or ``'(8, 8, 3)'`` as a tuple; ``()`` for
    anything else (a stray letter or comma is not dropped: ``'8,x'`` is no shape)."""
    body = text.strip().strip("()[]").strip()
    if not re.fullmatch(r"\d+(?:\s*[,x]\s*\d+|\s+\d+)*\s*,?", body):
        return ()
    return tuple(int(d) for d in re.findall(r"\d+", body))


def parse_input_shape(value: str, task: catalog.Task) -> tuple[int, ...]:
    shape = dims(value)
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


def shape_text(shape: Sequence[int]) -> str:
    """A shape as typed: ``(8, 8, 3)`` -> ``'8,8,3'``."""
    return ",".join(str(d) for d in shape)


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


def check_variables(
    pairs: Iterable[tuple[object, object]],
) -> tuple[tuple[str, str], ...]:
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

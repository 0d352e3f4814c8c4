"""The grammar of several inputs and outputs: ``--output NAME:LOSS[@TASK][:WEIGHT]``,
``--input NAME:SHAPE`` and ``--metric OUTPUT:METRIC``.

Parses one item at a time into :class:`Output`, :class:`Input` and
:class:`OutputMetric` (their ``text`` is the canonical item, every part explicit); the
answer table (``answer_table.py``) checks them against the other answers.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Sequence
from dataclasses import dataclass

from . import catalog
from .errors import UserError, did_you_mean
from .values import dims, resolve_loss, resolve_task, shape_text

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
        return f"{self.name}:{shape_text(self.shape)}"


@dataclass(frozen=True)
class OutputMetric:
    """A metric of one named output (``--metric OUTPUT:METRIC``)."""

    output: str
    metric: catalog.Metric

    @property
    def name(self) -> str:
        """As given on the command line; Keras logs it as ``OUTPUT_`` + metric.name."""
        return f"{self.output}:{self.metric.name}"


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


def vector_task(loss: catalog.Loss, task_name: str | None, where: str) -> catalog.Task:
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
        task = vector_task(loss, task_name.strip() or None, f"output {name!r}")
    except UserError as error:
        raise UserError(f"invalid --output {text!r}: {error}") from None
    return Output(name, loss, task, weight)


def parse_input(text: str, taken: dict[str, str]) -> Input:
    """``NAME:SHAPE``."""
    name, sep, typed_shape = text.partition(":")
    if not sep or not name.strip() or not typed_shape.strip():
        raise UserError(f"invalid --input {text!r}: expected {INPUT_SYNTAX}")
    name = _io_name("input", text, name.strip(), taken)
    shape = dims(typed_shape)
    if not shape or any(d <= 0 for d in shape):
        raise UserError(
            f"invalid --input {text!r}: SHAPE {typed_shape!r} must be positive "
            "integers such as '16' or '8,8,3' (without the batch axis)"
        )
    return Input(name, shape)


def split_output_metrics(
    values: Sequence[str], names: Sequence[str]
) -> dict[str, list[str]]:
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

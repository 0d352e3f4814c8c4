"""Answers -> one validated, immutable :class:`Spec`, before anything is rendered.

:class:`Answers` holds what the user said (flags or prompts), ``None`` where nothing was
said. :func:`build_spec` fills documented defaults, resolves names against the catalog and
raises :class:`~keras_jax_scaffold.errors.UserError` with a one-line message for anything
wrong. Nothing here touches the disk.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
from dataclasses import dataclass, fields

from keras_jax_scaffold import catalog
from keras_jax_scaffold.errors import UserError, did_you_mean, unknown

# Names a generated module may not take: it imports these, so `NAME.py` would shadow them.
RESERVED_MODULE_NAMES = frozenset(
    {"keras", "jax", "jaxlib", "numpy", "os", "inspect", "optax", "ml_dtypes"}
)

DEFAULTS = {
    "model_type": "functional",
    "loss": "sparse_categorical_crossentropy",
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "num_classes": 3,
    "hidden_units": 32,
}
# Documented in README ("How defaults are chosen"): metrics default to the task's
# default metrics, the input shape to the task's input kind, output units to 1
# (regression) or 8 (embeddings), the task to the loss's first task.
DEFAULT_OUTPUT_UNITS = {"metric_learning": 8}


@dataclass(frozen=True)
class Answers:
    """Raw answers; ``None`` means "not given"."""

    name: str | None = None
    model_type: str | None = None
    loss: str | None = None
    task: str | None = None
    metrics: tuple[str, ...] | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    input_shape: str | None = None
    num_classes: int | None = None
    output_units: int | None = None
    hidden_units: int | None = None
    # `--var KEY=VALUE`: user variables for custom templates (`{{ vars.KEY }}`).
    variables: tuple[tuple[str, str], ...] | None = None
    # `--output NAME:LOSS[@TASK][:WEIGHT]` and `--input NAME:SHAPE`, as given.
    outputs: tuple[str, ...] | None = None
    inputs: tuple[str, ...] | None = None

    def merged(self, other: Answers) -> Answers:
        """These answers, with the ones missing here taken from ``other``."""
        values = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            values[f.name] = getattr(other, f.name) if mine is None else mine
        return Answers(**values)


@dataclass(frozen=True)
class Output:
    """One named output of a model with several inputs or outputs."""

    name: str
    loss: catalog.Loss
    task: catalog.Task
    weight: float
    metrics: tuple[catalog.Metric, ...]


@dataclass(frozen=True)
class Input:
    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Spec:
    name: str
    class_name: str
    model_type: str
    task: catalog.Task
    loss: catalog.Loss
    metrics: tuple[catalog.Metric, ...]
    optimizer: str  # Keras optimizer class name
    learning_rate: float
    input_shape: tuple[int, ...]
    num_classes: int
    output_units: int
    hidden_units: int
    variables: tuple[tuple[str, str], ...] = ()  # sorted by key
    # Named inputs and outputs (`--input`, `--output`); both empty for a model with
    # one unnamed input and output. When one is given, both are filled: the single
    # output is then "output" (from --loss), the single input "features".
    outputs: tuple[Output, ...] = ()
    inputs: tuple[Input, ...] = ()

    @property
    def multi_io(self) -> bool:
        return bool(self.outputs)


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
        raise UserError(
            f"metric {value!r} does not fit loss {loss.snake_name!r}: it needs "
            f"{' or '.join(entry.tasks)} outputs, the loss trains for {task.name}"
            f"{did_you_mean(value, compatible)}; compatible metrics: {offer}"
        )
    if key in (a.lower() for a in entry.aliases):
        return dataclasses.replace(entry, log_name=key)
    return entry


def infer_task(loss: catalog.Loss, metrics) -> str | None:
    """The loss's first task that every given metric fits (``--loss mse -m mape`` is
    positive regression); None when no task fits them all (the first task's error
    then names the metric) or when there is nothing to choose from."""
    if len(loss.tasks) == 1 or not metrics:
        return None
    for name in loss.tasks:
        task = catalog.TASKS[name]
        try:
            for value in metrics:
                resolve_metric(value, loss, task)
        except UserError:
            continue
        return name
    return None


def split_metrics(values) -> tuple[str, ...]:
    """Repeated and comma-separated metric names, flattened; blanks dropped."""
    return tuple(
        part.strip() for value in values for part in value.split(",") if part.strip()
    )


def resolve_optimizer(value: str) -> str:
    cls = catalog.OPTIMIZER_INDEX.get(value.lower())
    if cls is None:
        raise unknown("optimizer", value, [snake for _, snake in catalog.OPTIMIZERS])
    return cls


def parse_input_shape(value: str, task: catalog.Task) -> tuple[int, ...]:
    text = value.strip().strip("()[]")
    parts = [p for p in re.split(r"[,x\s]+", text) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
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
    return 1 if task.name == "sequence_ctc" else 2


def default_output_units(task: catalog.Task, loss: catalog.Loss) -> int:
    return max(DEFAULT_OUTPUT_UNITS.get(task.name, 1), loss.min_output_units)


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


def _given(value, default):
    return default if value is None else value


def _positive(label: str, value: int, minimum: int = 1) -> int:
    if value < minimum:
        raise UserError(f"invalid {label} {value!r}: must be at least {minimum}")
    return value


def build_spec(answers: Answers) -> Spec:
    """Validate ``answers`` and fill defaults; raise UserError on the first problem."""
    if answers.name is None:
        raise UserError("missing NAME: give the module name, e.g. `new my_model`")
    name = validate_name(answers.name)
    model_type = resolve_model_type(answers.model_type or DEFAULTS["model_type"])
    outputs, inputs = build_io(answers, model_type)
    if outputs:
        # Several inputs/outputs: the first output stands for the model where one
        # task is needed (defaults of the input shape); metrics are per output.
        loss, task = outputs[0].loss, outputs[0].task
    else:
        loss = resolve_loss(answers.loss or DEFAULTS["loss"])
        task = resolve_task(loss, answers.task or infer_task(loss, answers.metrics))

    metric_names = task.default_metrics if answers.metrics is None else answers.metrics
    metrics: list[catalog.Metric] = []
    for value in () if outputs else metric_names:
        metric = resolve_metric(value, loss, task)
        same = [m for m in metrics if m.class_name == metric.class_name]
        if same:
            twice = f" (as {same[0].name!r})" if same[0].name != metric.name else ""
            raise UserError(f"metric {value!r} is given twice{twice}")
        metrics.append(metric)

    learning_rate = check_learning_rate(
        _given(answers.learning_rate, DEFAULTS["learning_rate"])
    )

    if answers.input_shape is None:
        input_shape = catalog.INPUT_SHAPES[task.input_kind]
    else:
        input_shape = parse_input_shape(answers.input_shape, task)

    if outputs and not inputs:
        inputs = (Input(DEFAULT_INPUT_NAME, input_shape),)

    heads = [(o.task, o.loss) for o in outputs] or [(task, loss)]
    num_classes = _positive(
        "number of classes",
        _given(answers.num_classes, DEFAULTS["num_classes"]),
        minimum=max(min_num_classes(t) for t, _ in heads),
    )
    unit_task, unit_loss = max(heads, key=lambda h: h[1].min_output_units)
    output_units = _positive(
        f"output units for loss {unit_loss.snake_name!r}",
        _given(answers.output_units, default_output_units(unit_task, unit_loss)),
        minimum=unit_loss.min_output_units,
    )
    hidden_units = _positive(
        "hidden units", _given(answers.hidden_units, DEFAULTS["hidden_units"])
    )
    return Spec(
        name=name,
        class_name=class_name_for(name),
        model_type=model_type,
        task=task,
        loss=loss,
        metrics=tuple(metrics),
        optimizer=resolve_optimizer(answers.optimizer or DEFAULTS["optimizer"]),
        learning_rate=float(learning_rate),
        input_shape=input_shape,
        num_classes=num_classes,
        output_units=output_units,
        hidden_units=hidden_units,
        variables=check_variables(answers.variables or ()),
        outputs=outputs,
        inputs=inputs,
    )


# ---------------------------------------------------------- several inputs/outputs

OUTPUT_SYNTAX = "NAME:LOSS[@TASK][:WEIGHT], e.g. box:mse:0.5 or tags:bce@multilabel"
INPUT_SYNTAX = "NAME:SHAPE, e.g. image:8,8,3"
DEFAULT_OUTPUT_NAME = "output"
DEFAULT_INPUT_NAME = "features"


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


def parse_output(
    text: str, taken: dict[str, str]
) -> tuple[str, catalog.Loss, str | None, float]:
    """``NAME:LOSS[@TASK][:WEIGHT]`` -> (name, loss, task or None, weight)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise UserError(f"invalid --output {text!r}: expected {OUTPUT_SYNTAX}")
    name = _io_name("output", text, parts[0].strip(), taken)
    loss_name, _, task = parts[1].strip().partition("@")
    try:
        loss = resolve_loss(loss_name)
    except UserError as error:
        raise UserError(f"invalid --output {text!r}: {error}") from None
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
    return name, loss, task.strip() or None, weight


def parse_input(text: str, taken: dict[str, str]) -> Input:
    name, sep, shape_text = text.partition(":")
    if not sep or not name.strip() or not shape_text.strip():
        raise UserError(f"invalid --input {text!r}: expected {INPUT_SYNTAX}")
    name = _io_name("input", text, name.strip(), taken)
    parts = [p for p in re.split(r"[,x\s]+", shape_text.strip().strip("()[]")) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise UserError(
            f"invalid --input {text!r}: SHAPE {shape_text!r} must be positive "
            "integers such as '16' or '8,8,3' (without the batch axis)"
        )
    return Input(name, shape)


def _vector_task(loss: catalog.Loss, task_name: str | None) -> catalog.Task:
    """The output's task: the one given (or inferred), else the loss's first task on
    vector inputs; outputs of a model with several inputs or outputs sit on the
    merged vector, so only vector tasks fit."""
    vector = [t for t in loss.tasks if catalog.TASKS[t].input_kind == "vector"]
    task = resolve_task(loss, task_name or (vector[0] if vector else None))
    if task.input_kind != "vector":
        raise UserError(
            f"task {task.name} needs {task.input_kind} inputs and its own head; a "
            "model with several inputs or outputs merges its inputs into one vector, "
            "so its outputs take vector tasks only (see `keras-jax-scaffold tasks`)"
        )
    return task


def split_output_metrics(values, names) -> dict[str, list[str]]:
    """``NAME:METRIC`` values -> metric names per output; an unprefixed metric is
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
            raise unknown(
                "output",
                output,
                names,
                hint=f"in --metric {value!r}; outputs: " + ", ".join(names),
            )
        if metric.lower() != "none":
            result[output].append(metric)
    return result


def build_io(
    answers: Answers, model_type: str
) -> tuple[tuple[Output, ...], tuple[Input, ...]]:
    """The named outputs and inputs of ``answers``: both empty when neither --input
    nor --output is given; the inputs empty when only --output is given (one input,
    "features", of --input-shape). Raises UserError for anything wrong."""
    if not answers.outputs and not answers.inputs:
        return (), ()
    if model_type == "sequential":
        raise UserError(
            "a sequential model takes one input and one output (keras.Sequential): "
            "use --model-type functional or subclassed for several inputs or outputs"
        )
    taken: dict[str, str] = {}
    inputs = tuple(parse_input(text, taken) for text in answers.inputs or ())
    if answers.outputs:
        for flag, value in (("--loss", answers.loss), ("--task", answers.task)):
            if value is not None:
                raise UserError(
                    f"{flag} {value!r} with --output: give each output's loss (and "
                    f"task) in --output {OUTPUT_SYNTAX}"
                )
        parsed = [parse_output(text, taken) for text in answers.outputs]
    else:
        name = _io_name("output", DEFAULT_OUTPUT_NAME, DEFAULT_OUTPUT_NAME, taken)
        loss = resolve_loss(answers.loss or DEFAULTS["loss"])
        parsed = [(name, loss, answers.task, 1.0)]
    names = [name for name, *_ in parsed]
    if not inputs and DEFAULT_INPUT_NAME in names:
        raise UserError(
            f"output name {DEFAULT_INPUT_NAME!r} is the name of the single input: "
            "rename the output or give --input"
        )
    metric_values = (
        None
        if answers.metrics is None
        else split_output_metrics(answers.metrics, names)
    )
    outputs = []
    for name, loss, task_name, weight in parsed:
        where = f"output {name!r}"
        try:
            wanted = None if metric_values is None else metric_values[name]
            task = _vector_task(loss, task_name or infer_task(loss, wanted))
            metrics: list[catalog.Metric] = []
            for value in task.default_metrics if wanted is None else wanted:
                metric = resolve_metric(value, loss, task)
                if any(m.class_name == metric.class_name for m in metrics):
                    raise UserError(f"metric {value!r} is given twice")
                metrics.append(metric)
        except UserError as error:
            raise UserError(f"{where}: {error}") from None
        outputs.append(Output(name, loss, task, weight, tuple(metrics)))
    return tuple(outputs), inputs

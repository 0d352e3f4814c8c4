"""Answers -> one validated, immutable :class:`Spec`, before anything is rendered.

:class:`Answers` holds what the user said (flags or prompts), ``None`` where nothing was
said. :func:`build_spec` fills documented defaults, resolves names against the catalog and
raises :class:`~keras_jax_scaffold.errors.UserError` with a one-line message for anything
wrong. Nothing here touches the disk.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, fields

from keras_jax_scaffold import catalog, recipes
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
    # `--recipe R` and its settings (`--microbatches 4`, ...): see recipes.py.
    recipe: str | None = None
    recipe_settings: tuple[tuple[str, int | float], ...] | None = None

    def merged(self, other: Answers) -> Answers:
        """These answers, with the ones missing here taken from ``other``."""
        values = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            values[f.name] = getattr(other, f.name) if mine is None else mine
        return Answers(**values)


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
    recipe: recipes.Recipe = recipes.RECIPE_INDEX[recipes.DEFAULT_RECIPE]
    # Every setting of the recipe, given or default, in the recipe's order.
    recipe_settings: tuple[tuple[str, int | float], ...] = ()


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
    entry = catalog.METRIC_INDEX.get(value.lower())
    compatible = [m.snake_name for m in catalog.compatible_metrics(task.name)]
    if entry is None:
        raise unknown(
            "metric",
            value,
            compatible + [m.snake_name for m in catalog.METRICS],
            hint="see `keras-jax-scaffold metrics`",
        )
    if task.name not in entry.tasks:
        offer = ", ".join(compatible) or "none"
        raise UserError(
            f"metric {value!r} does not fit loss {loss.snake_name!r}: it needs "
            f"{' or '.join(entry.tasks)} outputs, the loss trains for {task.name}"
            f"{did_you_mean(value, compatible)}; compatible metrics: {offer}"
        )
    return entry


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
    recipe = recipes.resolve_recipe(answers.recipe or recipes.DEFAULT_RECIPE)
    loss = resolve_loss(answers.loss or recipe.default_loss or DEFAULTS["loss"])
    recipes.check_loss(recipe, loss.snake_name)
    task = resolve_task(loss, answers.task)

    default_metrics = task.default_metrics if recipe.metrics_by_default else ()
    metric_names = default_metrics if answers.metrics is None else answers.metrics
    metrics: list[catalog.Metric] = []
    for value in metric_names:
        metric = resolve_metric(value, loss, task)
        if metric in metrics:
            raise UserError(f"metric {value!r} is given twice")
        metrics.append(metric)

    learning_rate = check_learning_rate(
        _given(answers.learning_rate, DEFAULTS["learning_rate"])
    )

    if answers.input_shape is None:
        input_shape = catalog.INPUT_SHAPES[task.input_kind]
    else:
        input_shape = parse_input_shape(answers.input_shape, task)

    num_classes = _positive(
        "number of classes",
        _given(answers.num_classes, DEFAULTS["num_classes"]),
        minimum=min_num_classes(task),
    )
    output_units = _positive(
        f"output units for loss {loss.snake_name!r}",
        _given(answers.output_units, default_output_units(task, loss)),
        minimum=loss.min_output_units,
    )
    hidden_units = _positive(
        "hidden units", _given(answers.hidden_units, DEFAULTS["hidden_units"])
    )
    recipe_settings = recipes.check_settings(recipe, answers.recipe_settings)
    recipes.check_model(recipe, model_type, [m.snake_name for m in metrics])
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
        recipe=recipe,
        recipe_settings=recipe_settings,
    )

"""Spec -> the template context: plain, precomputed data (strings, numbers, lists).

The context says *what* the model is (layers by kind with their units and
activations, losses and metrics by class with their arguments, target kinds); the
templates write the Python (``partials/expressions.py.jinja`` holds the macros that
write expressions from this data). Templates never call into Python objects.

``CONTEXT_VERSION`` changes when a key is removed or changes meaning (adding a key
does not change it), so custom templates can check what they get. Version 2 removed
the keys of version 1 that held Python source (``*.expression``,
``output_units_expression``, ``target.scores_width``, ``target.label_range``,
``outputs[].functional_call``/``subclassed_call``: the macros write it from the data
beside them) and recipe data written as Python (``recipe.settings[].value`` is the
value itself); the recipes' switches became the templates and data each recipe names
(``recipe.compile_template``, ...).
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from collections.abc import Iterable

from . import __version__, catalog, recipes
from .io_grammar import OutputMetric
from .layout import ANSWERS_FILE
from .spec import Spec, answer_context, command_line
from .values import optax_name

CONTEXT_VERSION = 2

# A metric's constructor argument in the context (catalog.Value, lists for tuples).
PlainValue = int | float | str | bool | list[int]

# What a generated project depends on: the ranges this tool is tested with, read from
# this tool's own metadata (pyproject.toml) so the two cannot drift apart; optax (the
# range of this tool's `dev` extra, which its tests use) only for an optax optimizer.
PROJECT_RUNTIME_PACKAGES = ("keras", "jax", "jaxlib")
OPTAX_EXTRA = "dev"


@functools.cache
def _requirements() -> dict[tuple[str, str], str]:
    """``{(name, extra): "name>=x,<y"}`` of this tool's requirements (extra "" for
    the dependencies themselves), the specifiers sorted (lower bound first)."""
    result = {}
    for requirement in importlib.metadata.requires("keras-jax-scaffold") or []:
        match = re.match(r"([A-Za-z0-9_.-]+)\s*([^;]*)(?:;(.*))?", requirement)
        assert match is not None  # any requirement starts with a name
        name, specifiers, marker = match.groups()
        extra = re.fullmatch(r"""\s*extra\s*==\s*["']([\w-]+)["']\s*""", marker or "")
        if marker and not extra:
            continue  # a platform or version marker: not what projects copy
        ordered = sorted(
            specifiers.strip().split(","), key=lambda s: (not s.startswith(">="), s)
        )
        key = (name.lower(), extra.group(1) if extra else "")
        result[key] = name.lower() + ",".join(ordered)
    return result


@functools.cache
def project_dependencies() -> tuple[str, ...]:
    """``["keras>=3.15,<4", ...]``: this tool's own ranges for keras, jax and jaxlib."""
    ranges = _requirements()
    return tuple(
        ranges[(name, "")] for name in PROJECT_RUNTIME_PACKAGES if (name, "") in ranges
    )


def optax_dependency() -> str:
    """``"optax>=0.2.8,<0.3"``: the range of optax this tool's tests run with."""
    return test_dependency("optax")


def test_dependency(name: str) -> str:
    """The range of a package a recipe's project tests need (``optax``): the range this
    tool's own tests run with (its dev extra)."""
    return _requirements().get((name, OPTAX_EXTRA), name)


def _plain(value: catalog.Value) -> PlainValue:
    """A constructor argument as plain data (a tuple becomes a list)."""
    return list(value) if isinstance(value, tuple) else value


def metric_arguments(
    metric: catalog.Metric, spec: Spec, task: catalog.Task | None = None
) -> list[tuple[str, PlainValue]]:
    """Constructor arguments of a metric, filled from the model's settings (for
    ``task``, a named output's task; the model's task by default)."""
    arguments = metric.constructor_arguments(
        (task or spec.task).name, spec.num_classes, spec.output_units
    )
    return [(name, _plain(value)) for name, value in arguments]


def _metrics(
    metrics: Iterable[catalog.Metric], spec: Spec, task: catalog.Task | None = None
) -> list[dict]:
    return [
        {
            "name": m.name,
            "class_name": m.class_name,
            "arguments": [list(pair) for pair in metric_arguments(m, spec, task)],
        }
        for m in metrics
    ]


def _loss(loss: catalog.Loss, from_logits: bool = False) -> dict:
    return {
        "name": loss.snake_name,
        "class_name": loss.class_name,
        "from_logits": from_logits,
    }


def _layer(
    attribute: str,
    kind: str,
    units: str = "",
    activation: str = "",
    training: bool = False,
) -> dict:
    """One layer: its attribute in a subclassed model, what it is (``kind``: hidden,
    batch_norm, dropout, head, normalize; input_scaling, target_scaling: see
    :func:`scaled_model`), the units (a name of the ``units`` macro)
    and activation of a Dense layer, and whether its call takes ``training=``."""
    return {
        "attribute": attribute,
        "kind": kind,
        "units": units,
        "activation": activation,
        "training": training,
    }


def _head(task: catalog.Task, units: str, prefix: str = "") -> list[dict]:
    """The head of ``task``: Dense (and UnitNormalization for embeddings)."""
    layers = [_layer(f"{prefix}head", "head", units, task.head_activation or "")]
    if task.normalize_output:
        layers.append(_layer(f"{prefix}normalize", "normalize"))
    return layers


def outputs(spec: Spec) -> list[dict]:
    """The named outputs (`--output`): loss, weight,
    metrics, the head layers (on the merged hidden vector) and how `make_dataset`
    makes the targets (a projection seed of its own per output)."""
    result = []
    for index, output in enumerate(spec.outputs):
        task = output.task
        layers = _head(task, task.head_units, f"{output.name}_")
        result.append(
            {
                "name": output.name,
                "task": {"name": task.name, "title": task.title, "target": task.target},
                "target": target_data(task),
                "loss": _loss(output.loss),
                "weight": repr(output.weight),
                "metrics": _metrics(
                    [
                        m.metric
                        for m in spec.metrics
                        if isinstance(m, OutputMetric) and m.output == output.name
                    ],
                    spec,
                    task,
                ),
                "layers": layers,
                "projection_seed": 1234 + index,
            }
        )
    return result


def layers(spec: Spec) -> list[dict]:
    """The default architecture, shared by the three model types: a hidden Dense layer,
    BatchNormalization and Dropout (which take ``training=``), then the head (with
    named outputs, each output's own: see :func:`outputs`)."""
    trunk = [
        _layer("dense", "hidden", "hidden_units", "relu"),
        _layer("batch_norm", "batch_norm", training=True),
        _layer("dropout", "dropout", training=True),
    ]
    if spec.outputs:
        return trunk
    return trunk + _head(spec.task, "output_units")


# The scaling layers of a project's model, found by these names by its runtime
# (runtime/scaling.py: INPUT_SCALING, TARGET_SCALING; a test checks they agree).
INPUT_SCALING, TARGET_SCALING = "input_scaling", "target_scaling"
# Targets standardized by a target scaling layer: real-valued regression. Not
# positive_regression (msle's log(1 + y), mape's ratio and poisson need the targets'
# own positive values, and a shift would make them negative), nor cosine_similarity
# (it learns the direction of the target vector, which a shift changes).
TARGET_SCALING_TASKS = ("regression",)
NO_TARGET_SCALING_LOSSES = ("cosine_similarity",)


def _scaling_layer(kind: str, name: str = "") -> dict:
    """A scaling layer of ``kind`` (input_scaling or target_scaling), for the named
    input or output ``name`` (Keras name ``kind_name``) or the one input or output
    (``kind``); ``scaled``: that input's or output's name ("" for the one)."""
    full = f"{kind}_{name}" if name else kind
    return {
        **_layer(full, kind),
        "name": full,
        "scaled": name,
    }


def _scales_targets(task: catalog.Task, loss: catalog.Loss) -> bool:
    return (
        task.name in TARGET_SCALING_TASKS
        and loss.snake_name not in NO_TARGET_SCALING_LOSSES
    )


def scaled_model(
    spec: Spec, trunk: list[dict], inputs: list[dict], named_outputs: list[dict]
) -> tuple[list[dict], list[dict], list[dict]]:
    """A project's ``layers``, ``inputs`` and ``outputs`` with the scaling layers its
    ``train`` sets from the training data (runtime/scaling.py): an ``input_scaling``
    Normalization first for a vector input (``inputs[].scaling`` of each named
    vector input) and a ``target_scaling`` one after each regression head. The
    recipes with networks of their own (gan, distillation, vae) get none."""
    if spec.recipe.networks:
        return trunk, inputs, named_outputs
    if not spec.inputs and len(spec.input_shape) == 1:
        trunk = [_scaling_layer(INPUT_SCALING), *trunk]
    if not spec.outputs and _scales_targets(spec.task, spec.loss):
        trunk = [*trunk, _scaling_layer(TARGET_SCALING)]
    inputs = [
        {**entry, "scaling": _scaling_layer(INPUT_SCALING, i.name)}
        if len(i.shape) == 1
        else entry
        for entry, i in zip(inputs, spec.inputs)
    ]
    named_outputs = [
        {**entry, "layers": [*entry["layers"], _scaling_layer(TARGET_SCALING, o.name)]}
        if _scales_targets(o.task, o.loss)
        else entry
        for entry, o in zip(named_outputs, spec.outputs)
    ]
    return trunk, inputs, named_outputs


def _has(kind: str, trunk: list[dict], inputs: list[dict], outputs: list[dict]) -> bool:
    """Whether a scaling layer of ``kind`` is in the model."""
    every = [*trunk, *(i["scaling"] for i in inputs if "scaling" in i)]
    every += [layer for output in outputs for layer in output["layers"]]
    return any(layer["kind"] == kind for layer in every)


def _tasks(spec: Spec) -> list[catalog.Task]:
    return [o.task for o in spec.outputs] or [spec.task]


def uses_num_classes(spec: Spec) -> bool:
    return any(task.uses_num_classes for task in _tasks(spec))


def model_uses(spec: Spec) -> dict[str, bool]:
    """Which of the constants that not every model reads a project's ``model.py``
    imports from ``constants.py``: those its layers' units name (a head of
    ``output_units`` reads OUTPUT_UNITS, one of ``num_classes`` NUM_CLASSES); the
    networks of the recipes with several read neither, but the distillation's read
    NUM_CLASSES."""
    if spec.recipe.networks:
        return {"output_units": False, "num_classes": uses_num_classes(spec)}
    heads = [layer["units"] for layer in layers(spec)]
    heads += [layer["units"] for output in outputs(spec) for layer in output["layers"]]
    return {
        "output_units": "output_units" in heads,
        "num_classes": "num_classes" in heads,
    }


def class_target(spec: Spec) -> dict | None:
    """``CLASS_TARGET`` of a project's ``data.py``, as data: ``{"output", "kind"}``
    of the first targets that hold classes (``output`` a named output, or None for
    the one unnamed output; ``kind`` as catalog.Target.classes), for the stratified
    validation split; None without class targets (or without targets: a recipe
    whose arrays are samples of x only)."""
    if spec.recipe.templates.arrays != recipes.TEMPLATE_ROLES["arrays"]:
        return None
    named: list[tuple[str | None, catalog.Task]] = [
        (o.name, o.task) for o in spec.outputs
    ] or [(None, spec.task)]
    for name, task in named:
        kind = catalog.TARGETS[task.target].classes
        if kind:
            return {"output": name, "kind": kind}
    return None


def target_data(task: catalog.Task) -> dict:
    """What the templates need to know about the task's targets (see catalog.Target)."""
    target = catalog.TARGETS[task.target]
    return {
        "title": target.title,
        "scores_units": target.scores_units,
        "labels": target.labels,
        "uses_output_units": target.uses_output_units,
        "sequence": target.sequence,
    }


def build_context(
    spec: Spec, custom_templates: tuple[str, ...] = (), layout: str = "module"
) -> dict:
    """The template context for ``layout`` (``module`` or ``project``);
    ``custom_templates`` are the user templates taken (``TemplateSet.source_labels()``),
    recorded in the generated headers."""
    task = spec.task
    # What OUTPUT_UNITS holds: the head's units; with named outputs (each head names
    # its own units) the number output_units.
    head_units = "output_units" if spec.outputs else task.head_units
    # Named inputs and outputs (`--input`, `--output`); empty lists for one unnamed
    # input / output.
    inputs = [{"name": i.name, "shape": repr(tuple(i.shape))} for i in spec.inputs]
    trunk, named_outputs = layers(spec), outputs(spec)
    if layout == "project":
        trunk, inputs, named_outputs = scaled_model(spec, trunk, inputs, named_outputs)
    dependencies = list(project_dependencies()) + (
        [optax_dependency()] if optax_name(spec.optimizer) else []
    )
    return {
        "context_version": CONTEXT_VERSION,
        "layout": layout,
        "tool_version": __version__,
        "command_line": command_line(spec),
        "module_name": spec.name,
        "package_name": spec.name,
        "class_name": spec.class_name,
        "model_type": spec.model_type,
        "task": {
            "name": task.name,
            "title": task.title,
            "input_kind": task.input_kind,
            "target": task.target,
        },
        "target": target_data(task),
        "input_shape": repr(tuple(spec.input_shape)),
        "num_classes": spec.num_classes,
        "output_units": spec.output_units,
        "hidden_units": spec.hidden_units,
        "uses_num_classes": uses_num_classes(spec),
        "head_units": head_units,
        "layers": trunk,
        "model_uses": model_uses(spec),
        "class_target": class_target(spec),
        "loss": _loss(spec.loss, spec.recipe.logits),
        # Named outputs have their own metrics (outputs[].metrics).
        "metrics": _metrics(
            [m for m in spec.metrics if isinstance(m, catalog.Metric)], spec
        ),
        "inputs": inputs,
        "outputs": named_outputs,
        # A project's scaling layers (runtime/scaling.py): any, and any of targets
        # (the model class needs `TargetScaling`).
        "scaling": _has(INPUT_SCALING, trunk, inputs, named_outputs)
        or _has(TARGET_SCALING, trunk, inputs, named_outputs),
        "target_scaling": _has(TARGET_SCALING, trunk, inputs, named_outputs),
        "dependencies": dependencies,
        # The dev extra: the project's test and lint tools, and what its tests need
        # besides its dependencies (wgan-gp's proof: optax).
        "dev_dependencies": ["pytest>=8", "ruff>=0.5"]
        + [
            requirement
            for requirement in map(test_dependency, spec.recipe.test_requirements)
            if requirement not in dependencies
        ],
        "answers_file": ANSWERS_FILE,
        "custom_templates": list(custom_templates),
        "vars": dict(spec.variables),
        "recipe": recipes.recipe_context(
            spec.recipe,
            {s.name: getattr(spec, s.name) for s in spec.recipe.settings},
            spec.model_type,
            spec.loss.snake_name,
        ),
        # `optax`: the optax optimizer's name (`--optimizer optax:NAME`), else "".
        "optimizer": {
            "name": spec.optimizer,
            "learning_rate": repr(spec.learning_rate),
            "optax": optax_name(spec.optimizer),
        },
        # Answers that are template variables of their own (Question.context).
        **answer_context(spec),
    }

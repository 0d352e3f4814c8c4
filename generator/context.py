"""Spec -> the template context: plain, precomputed data (strings, numbers, lists).

Templates never call into Python objects; every Python expression they print is built
here. ``CONTEXT_VERSION`` changes when a key is removed or changes meaning (adding a key
does not change it), so custom templates can check what they get.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re

from . import __version__, catalog, recipes
from .io_grammar import OutputMetric
from .layout import ANSWERS_FILE
from .spec import Spec, answer_context, command_line

CONTEXT_VERSION = 1

# What a generated project depends on: the ranges this tool is tested with, read from
# this tool's own metadata (pyproject.toml) so the two cannot drift apart.
PROJECT_RUNTIME_PACKAGES = ("keras", "jax", "jaxlib")


@functools.cache
def project_dependencies() -> tuple[str, ...]:
    """``["keras>=3.15,<4", ...]``: this tool's own ranges for keras, jax and jaxlib."""
    requirements = importlib.metadata.requires("keras-jax-scaffold") or []
    result = {}
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement)
        assert match is not None  # any requirement starts with a name
        name, specifiers = match.groups()
        if name.lower() in PROJECT_RUNTIME_PACKAGES and ";" not in specifiers:
            ordered = sorted(
                specifiers.split(","), key=lambda s: (not s.startswith(">="), s)
            )
            result[name.lower()] = name.lower() + ",".join(ordered)
    return tuple(result[name] for name in PROJECT_RUNTIME_PACKAGES if name in result)


def _call(path: str, arguments: list[tuple[str, str]]) -> str:
    return f"{path}({', '.join(f'{k}={v}' for k, v in arguments)})"


def metric_arguments(metric, spec: Spec, task=None) -> list[tuple[str, str]]:
    """Constructor arguments of a metric, filled from the model's settings (for
    ``task``, a named output's task; the model's task by default)."""
    return metric.constructor_arguments(
        (task or spec.task).name, spec.num_classes, spec.output_units
    )


def output_units_expression(spec: Spec) -> str:
    """Units of the head, as Python source (refers to NUM_CLASSES where it applies)."""
    if spec.outputs:
        return str(spec.output_units)  # each named output's head names its units
    return {
        "output_units": str(spec.output_units),
        "one": "1",
        "num_classes": "NUM_CLASSES",
        "num_classes_plus_blank": "NUM_CLASSES + 1  # class 0 is the CTC blank",
    }[spec.task.head_units]


# Units of an output's head on a model with several outputs, as Python source.
HEAD_UNITS = {"output_units": "OUTPUT_UNITS", "one": "1", "num_classes": "NUM_CLASSES"}


def _metric_entries(metrics, spec: Spec, task=None) -> list[dict]:
    return [
        {
            "name": m.name,
            # An explicit name keeps the log key stable: Keras would log a
            # second model's "auc" as "auc_1" in the same process.
            "expression": _call(
                f"keras.metrics.{m.class_name}",
                [*metric_arguments(m, spec, task), ("name", repr(m.name))],
            ),
        }
        for m in metrics
    ]


def _nest(callables: list[str], argument: str) -> str:
    """``c2(c1(argument))`` for ``[c1, c2]``."""
    for function in callables:
        argument = f"{function}({argument})"
    return argument


def outputs(spec: Spec) -> list[dict]:
    """The named outputs (`--output`): loss, weight,
    metrics, the head layers (on the merged hidden vector) and how `make_dataset`
    makes the targets (a projection seed of its own per output)."""
    result = []
    for index, output in enumerate(spec.outputs):
        task = output.task
        head = [("units", HEAD_UNITS[task.head_units])]
        if task.head_activation:
            head.append(("activation", repr(task.head_activation)))
        layers = [("head", _call("keras.layers.Dense", head))]
        if task.normalize_output:
            layers.append(("normalize", "keras.layers.UnitNormalization()"))
        result.append(
            {
                "name": output.name,
                "task": {"name": task.name, "title": task.title, "target": task.target},
                "target": target_data(task),
                "loss": {
                    "name": output.loss.snake_name,
                    "expression": f"keras.losses.{output.loss.class_name}()",
                },
                "weight": repr(output.weight),
                "metrics": _metric_entries(
                    [
                        m.metric
                        for m in spec.metrics
                        if isinstance(m, OutputMetric) and m.output == output.name
                    ],
                    spec,
                    task,
                ),
                "layers": [
                    {"attribute": f"{output.name}_{role}", "expression": expression}
                    for role, expression in layers
                ],
                # The head applied to the hidden vector `x`: in `build_model` of a
                # functional model, and in `call` of a subclassed one.
                "functional_call": _nest([e for _, e in layers], "x"),
                "subclassed_call": _nest(
                    [f"self.{output.name}_{role}" for role, _ in layers], "x"
                ),
                "projection_seed": 1234 + index,
            }
        )
    return result


def layers(spec: Spec) -> list[dict]:
    """The default architecture, shared by the three model types.

    ``attribute`` names the layer in a subclassed model; ``training`` says whether its
    call takes ``training=`` (BatchNormalization and Dropout behave differently).
    """
    task = spec.task
    head = [("units", "OUTPUT_UNITS")]
    if task.head_activation:
        head.append(("activation", repr(task.head_activation)))
    result = [
        (
            "dense",
            _call(
                "keras.layers.Dense",
                [
                    ("units", "HIDDEN_UNITS"),
                    ("activation", '"relu"'),
                    ("kernel_regularizer", "keras.regularizers.L2(1e-4)"),
                ],
            ),
            False,
        ),
        ("batch_norm", "keras.layers.BatchNormalization()", True),
        ("dropout", "keras.layers.Dropout(0.1)", True),
        ("head", _call("keras.layers.Dense", head), False),
    ]
    if task.normalize_output:
        result.append(("normalize", "keras.layers.UnitNormalization()", False))
    if spec.outputs:
        result = result[:3]  # the heads are per output: see outputs()
    return [
        {"attribute": attribute, "expression": expression, "training": training}
        for attribute, expression, training in result
    ]


def _tasks(spec: Spec):
    return [o.task for o in spec.outputs] or [spec.task]


def uses_num_classes(spec: Spec) -> bool:
    return any(task.uses_num_classes for task in _tasks(spec))


def target_data(task: catalog.Task) -> dict:
    """What the templates need to know about the task's targets (see catalog.Target)."""
    target = catalog.TARGETS[task.target]
    return {
        "title": target.title,
        "scores_width": target.scores_width,
        "label_range": target.label_range,
        "uses_output_units": target.uses_output_units,
        "sequence": target.sequence,
    }


def build_context(spec: Spec, custom_templates: tuple[str, ...] = ()) -> dict:
    """The template context; ``custom_templates`` are the user templates taken
    (``TemplateSet.source_labels()``), recorded in the generated headers."""
    task = spec.task
    return {
        "context_version": CONTEXT_VERSION,
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
        "output_units_expression": output_units_expression(spec),
        "layers": layers(spec),
        "loss": {
            "name": spec.loss.snake_name,
            "expression": f"keras.losses.{spec.loss.class_name}("
            + ("from_logits=True" if spec.recipe.logits else "")
            + ")",
        },
        # Named outputs have their own metrics (outputs[].metrics).
        "metrics": _metric_entries(() if spec.outputs else spec.metrics, spec),
        # Named inputs and outputs (`--input`, `--output`); empty lists for one
        # unnamed input / output.
        "inputs": [
            {"name": i.name, "shape": repr(tuple(i.shape))} for i in spec.inputs
        ],
        "outputs": outputs(spec),
        "dependencies": list(project_dependencies()),
        "answers_file": ANSWERS_FILE,
        "custom_templates": list(custom_templates),
        "vars": dict(spec.variables),
        "recipe": recipes.recipe_context(
            spec.recipe,
            {s.name: getattr(spec, s.name) for s in spec.recipe.settings},
            spec.model_type,
            spec.loss.snake_name,
        ),
        "optimizer": {
            "name": spec.optimizer,
            "learning_rate": repr(spec.learning_rate),
            "expression": _call(
                f"keras.optimizers.{spec.optimizer}",
                [("learning_rate", repr(spec.learning_rate))],
            ),
        },
        # Answers that are template variables of their own (answer_table.Question.context).
        **answer_context(spec),
    }

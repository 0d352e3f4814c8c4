"""Spec -> the template context: plain, precomputed data (strings, numbers, lists).

Templates never call into Python objects; every Python expression they print is built
here. ``CONTEXT_VERSION`` changes when a key is removed or changes meaning (adding a key
does not change it), so custom templates can check what they get.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re

from keras_jax_scaffold import __version__, recipes
from keras_jax_scaffold.layout import ANSWERS_FILE
from keras_jax_scaffold.spec import Spec, answer_context, command_line

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
        name, specifiers = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement).groups()
        if name.lower() in PROJECT_RUNTIME_PACKAGES and ";" not in specifiers:
            ordered = sorted(
                specifiers.split(","), key=lambda s: (not s.startswith(">="), s)
            )
            result[name.lower()] = name.lower() + ",".join(ordered)
    return tuple(result[name] for name in PROJECT_RUNTIME_PACKAGES if name in result)


def _call(path: str, arguments: list[tuple[str, str]]) -> str:
    return f"{path}({', '.join(f'{k}={v}' for k, v in arguments)})"


def metric_arguments(metric, spec: Spec) -> list[tuple[str, str]]:
    """Constructor arguments of a metric, filled from the model's settings."""
    arguments = dict(metric.task_arguments).get(spec.task.name, metric.arguments)
    values = {
        "num_classes": spec.num_classes,
        "k": max(1, min(5, spec.num_classes - 1)),
        "output_units": spec.output_units,
    }
    return [(key, template.format(**values)) for key, template in arguments]


def output_units_expression(spec: Spec) -> str:
    """Units of the head, as Python source (refers to NUM_CLASSES where it applies)."""
    return {
        "output_units": str(spec.output_units),
        "one": "1",
        "num_classes": "NUM_CLASSES",
        "num_classes_plus_blank": "NUM_CLASSES + 1  # class 0 is the CTC blank",
    }[spec.task.head_units]


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
    return [
        {"attribute": attribute, "expression": expression, "training": training}
        for attribute, expression, training in result
    ]


def build_context(spec: Spec) -> dict:
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
        "input_shape": repr(tuple(spec.input_shape)),
        "num_classes": spec.num_classes,
        "output_units": spec.output_units,
        "hidden_units": spec.hidden_units,
        "uses_num_classes": task.uses_num_classes,
        "output_units_expression": output_units_expression(spec),
        "layers": layers(spec),
        "loss": {
            "name": spec.loss.snake_name,
            "expression": f"keras.losses.{spec.loss.class_name}("
            + ("from_logits=True" if spec.recipe.logits else "")
            + ")",
        },
        "metrics": [
            {
                "name": m.snake_name,
                "expression": _call(
                    f"keras.metrics.{m.class_name}", metric_arguments(m, spec)
                ),
            }
            for m in spec.metrics
        ],
        "dependencies": list(project_dependencies()),
        "answers_file": ANSWERS_FILE,
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
        # Answers that are template variables of their own (spec.Question.context).
        **answer_context(spec),
    }

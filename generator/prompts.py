"""Interactive questions for the answers not given as flags.

Every answer is validated where it is asked: a bad one is re-asked with the reason. The
metric question is a multi-choice written here (Typer cannot prompt for a list) and offers
only the metrics that fit the chosen loss.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace

import typer
from keras_jax_scaffold import catalog, recipes
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.spec import (
    DEFAULTS,
    Answers,
    check_learning_rate,
    default_output_units,
    min_num_classes,
    parse_input_shape,
    resolve_loss,
    resolve_metric,
    resolve_model_type,
    resolve_optimizer,
    resolve_task,
    split_metrics,
    validate_name,
)


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def ask(question: str, default, check: Callable[[str], object]):
    """Ask until ``check`` accepts the answer; returns what ``check`` returns."""
    while True:
        text = typer.prompt(question, default=default, show_default=default is not None)
        try:
            return check(str(text).strip())
        except UserError as error:
            typer.echo(f"  {error}", err=True)


def _int(label: str, minimum: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise UserError(f"invalid {label} {text!r}: give a whole number") from None
        if value < minimum:
            raise UserError(f"invalid {label} {value}: must be at least {minimum}")
        return value

    return check


def _float_positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"invalid learning rate {text!r}: give a number") from None
    return check_learning_rate(value, typed=text)


def parse_metric_choice(text: str, offered: list[catalog.Metric], loss, task):
    """Numbers or names, comma-separated; ``none`` for no metric."""
    if text.lower() in ("none", "-"):
        return ()
    chosen: list[str] = []
    for part in split_metrics([text]):
        if part.isdigit():
            index = int(part)
            if not 1 <= index <= len(offered):
                raise UserError(f"no metric number {index}: choose 1 to {len(offered)}")
            name = offered[index - 1].snake_name
        else:
            name = resolve_metric(part, loss, task).snake_name
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def ask_metrics(loss: catalog.Loss, task: catalog.Task) -> tuple[str, ...]:
    offered = list(catalog.compatible_metrics(task.name))
    if not offered:
        typer.echo(
            f"No built-in metric fits {task.name}; the model logs its loss only."
        )
        return ()
    typer.echo(f"Metrics that fit {loss.snake_name} ({task.name}):")
    for number, metric in enumerate(offered, start=1):
        typer.echo(f"  {number:>2}. {metric.snake_name:<36} {metric.notes}")
    default = ",".join(task.default_metrics) or "none"
    return ask(
        "Metrics (numbers or names, comma-separated; 'none' for no metric)",
        default,
        lambda text: parse_metric_choice(text, offered, loss, task),
    )


def _choices(values) -> str:
    return "[" + "/".join(values) + "]"


def _check_given(given: Answers) -> None:
    """Reject bad flags before asking anything, so no answer is asked in vain."""
    if given.name is not None:
        validate_name(given.name)
    if given.model_type is not None:
        resolve_model_type(given.model_type)
    if given.optimizer is not None:
        resolve_optimizer(given.optimizer)
    if given.learning_rate is not None:
        _float_positive(str(given.learning_rate))
    if given.recipe is not None:
        recipes.check_settings(
            recipes.resolve_recipe(given.recipe), given.recipe_settings
        )
    if given.loss is not None:
        loss = resolve_loss(given.loss)
        task = resolve_task(loss, given.task)
        for metric in given.metrics or ():
            resolve_metric(metric, loss, task)
        if given.input_shape is not None:
            parse_input_shape(given.input_shape, task)


def asks_task(given: Answers, loss: catalog.Loss) -> bool:
    return given.task is None and len(loss.tasks) > 1


def asks_num_classes(given: Answers, task: catalog.Task) -> bool:
    return given.num_classes is None and task.uses_num_classes


def asks_output_units(given: Answers, task: catalog.Task) -> bool:
    return given.output_units is None and task.head_units == "output_units"


def ask_missing(given: Answers) -> Answers:
    """Ask for every answer that ``given`` lacks, in dependency order."""
    _check_given(given)
    name = (
        given.name
        if given.name is not None
        else ask("Module name (a Python identifier)", None, validate_name)
    )
    model_type = (
        given.model_type
        if given.model_type is not None
        else ask(
            f"Model type {_choices(catalog.MODEL_TYPES)}",
            DEFAULTS["model_type"],
            resolve_model_type,
        )
    )
    loss_name = (
        given.loss
        if given.loss is not None
        else ask(
            "Loss (run `keras-jax-scaffold losses` for the list)",
            DEFAULTS["loss"],
            lambda text: resolve_loss(text).snake_name,
        )
    )
    loss = resolve_loss(loss_name)
    task_name = given.task
    if asks_task(given, loss):
        task_name = ask(
            f"Task {_choices(loss.tasks)}",
            loss.tasks[0],
            lambda text: resolve_task(loss, text).name,
        )
    task = resolve_task(loss, task_name)
    metrics = given.metrics if given.metrics is not None else ask_metrics(loss, task)
    optimizer = (
        given.optimizer
        if given.optimizer is not None
        else ask(
            "Optimizer",
            DEFAULTS["optimizer"],
            lambda text: resolve_optimizer(text).lower(),
        )
    )
    learning_rate = (
        given.learning_rate
        if given.learning_rate is not None
        else ask("Learning rate", str(DEFAULTS["learning_rate"]), _float_positive)
    )
    input_shape = (
        given.input_shape
        if given.input_shape is not None
        else ask(
            f"Input shape ({task.input_kind})",
            ",".join(str(d) for d in catalog.INPUT_SHAPES[task.input_kind]),
            lambda text: (parse_input_shape(text, task), text)[1],
        )
    )
    num_classes = given.num_classes
    if asks_num_classes(given, task):
        minimum = min_num_classes(task)
        num_classes = ask(
            "Number of classes",
            str(DEFAULTS["num_classes"]),
            _int("number of classes", minimum),
        )
    output_units = given.output_units
    if asks_output_units(given, task):
        output_units = ask(
            "Output units",
            str(default_output_units(task, loss)),
            _int("output units", loss.min_output_units),
        )
    hidden_units = (
        given.hidden_units
        if given.hidden_units is not None
        else ask("Hidden units", str(DEFAULTS["hidden_units"]), _int("hidden units", 1))
    )
    recipe_name, recipe_settings = ask_recipe(given)
    return replace(
        given,
        name=name,
        model_type=model_type,
        loss=loss_name,
        task=task_name,
        metrics=metrics,
        optimizer=optimizer,
        learning_rate=learning_rate,
        input_shape=input_shape,
        num_classes=num_classes,
        output_units=output_units,
        hidden_units=hidden_units,
        recipe=recipe_name,
        recipe_settings=recipe_settings,
    )


def ask_recipe(given: Answers):
    """The recipe (listed with what each does) and its settings not given as flags."""
    name = given.recipe
    if name is None:
        typer.echo("Recipes (the training algorithm in the steps):")
        for recipe in recipes.RECIPES:
            typer.echo(f"  {recipe.name:<22} {recipe.summary}")
        name = ask(
            f"Recipe {_choices(recipes.RECIPE_INDEX)}",
            recipes.DEFAULT_RECIPE,
            lambda text: recipes.resolve_recipe(text).name,
        )
    recipe = recipes.resolve_recipe(name)
    settings = dict(given.recipe_settings or ())
    for setting in recipe.settings:
        if setting.name not in settings:
            settings[setting.name] = ask(
                f"{setting.flag.lstrip('-').replace('-', ' ').capitalize()} "
                f"({setting.help})",
                str(setting.default),
                lambda text, setting=setting: setting.check(text, typed=text),
            )
    return name, tuple(settings.items()) or None


def missing_flags(given: Answers) -> list[str]:
    """Flags whose answers would be asked for (used to explain a non-terminal failure)."""
    flags = {
        "name": "NAME",
        "model_type": "--model-type",
        "loss": "--loss",
        "metrics": "--metric",
        "optimizer": "--optimizer",
        "learning_rate": "--learning-rate",
        "input_shape": "--input-shape",
        "hidden_units": "--hidden-units",
        "recipe": "--recipe",
    }
    missing = [flag for field, flag in flags.items() if getattr(given, field) is None]
    if given.loss is not None:
        # The loss decides whether the task, classes and output units are asked too.
        try:
            loss = resolve_loss(given.loss)
            task = resolve_task(loss, given.task)
        except UserError:
            return missing  # reported by the pipeline
        if asks_task(given, loss):
            missing.append("--task")
        if asks_num_classes(given, task):
            missing.append("--num-classes")
        if asks_output_units(given, task):
            missing.append("--output-units")
    return missing

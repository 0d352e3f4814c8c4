"""The command line: Typer only. Parses flags, asks what is missing, calls the pipeline.

Errors from any stage are ``UserError``s, printed as one ``error: ...`` line on stderr
with exit status 1 (2 for usage problems such as missing answers without a terminal).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from keras_jax_scaffold import __version__, catalog, recipes
from keras_jax_scaffold.cli_templates import templates_app
from keras_jax_scaffold.console import fail, fail_with, table
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.spec import Answers, parse_variable, split_metrics

app = typer.Typer(
    name="keras-jax-scaffold",
    help=(
        "Generate Keras 3 models whose train/test/predict steps are written out the "
        "stateless JAX way and train exactly like model.fit."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _complete(values):
    def complete(incomplete: str):
        return [v for v in values if v.startswith(incomplete.lower())]

    return complete


def _version(value: bool) -> None:
    if value:
        typer.echo(f"keras-jax-scaffold {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Generate Keras 3 + JAX models with stateless custom training steps."""


def _metrics(metric: list[str] | None) -> tuple[str, ...] | None:
    """``--metric`` values: repeatable and comma-separated; ``none`` alone: no metric."""
    if metric is None:
        return None
    metrics = split_metrics(metric)
    return () if [m.lower() for m in metrics] == ["none"] else metrics


def _with_variables(given: Answers, var: list[str] | None) -> Answers:
    """``given`` with the ``--var KEY=VALUE`` pairs (UserError for a bad one)."""
    if not var:
        return given
    return replace(given, variables=tuple(parse_variable(v) for v in var))


TemplateDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--template-dir",
        "-t",
        help="A directory of templates that override the built-ins file by file "
        "(repeatable; the first that has a template wins). A "
        ".keras-jax-scaffold/templates directory in the output directory or a parent "
        "is used too. See `templates`.",
        file_okay=False,
    ),
]
VarOption = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        help="KEY=VALUE for custom templates, which read it as {{ vars.KEY }} "
        "(repeatable).",
    ),
]


RecipeOption = Annotated[
    str | None,
    typer.Option(
        help="The training algorithm in the steps: "
        + "; ".join(f"{r.name}: {r.summary}" for r in recipes.RECIPES)
        + ". Default: default. See `recipes`.",
        autocompletion=_complete(list(recipes.RECIPE_INDEX)),
    ),
]
# One option per recipe setting (recipes.py holds their flags, types and help).
MicrobatchesOption = Annotated[
    int | None,
    typer.Option(
        recipes.MICROBATCHES.flag,
        help=recipes.MICROBATCHES.help + f". Default: {recipes.MICROBATCHES.default}.",
    ),
]
ClipNormOption = Annotated[
    float | None,
    typer.Option(
        recipes.CLIP_NORM.flag,
        help=recipes.CLIP_NORM.help + f". Default: {recipes.CLIP_NORM.default}.",
    ),
]
RhoOption = Annotated[
    float | None,
    typer.Option(
        recipes.RHO.flag, help=recipes.RHO.help + f". Default: {recipes.RHO.default}."
    ),
]

NoiseDimOption = Annotated[
    int | None,
    typer.Option(
        recipes.NOISE_DIM.flag,
        help=recipes.NOISE_DIM.help + f". Default: {recipes.NOISE_DIM.default}.",
    ),
]
TemperatureOption = Annotated[
    float | None,
    typer.Option(
        recipes.TEMPERATURE.flag,
        help=recipes.TEMPERATURE.help + f". Default: {recipes.TEMPERATURE.default}.",
    ),
]
AlphaOption = Annotated[
    float | None,
    typer.Option(
        recipes.ALPHA.flag,
        help=recipes.ALPHA.help + f". Default: {recipes.ALPHA.default}.",
    ),
]
TeacherOption = Annotated[
    str | None,
    typer.Option(
        recipes.TEACHER.flag, metavar="PATH.keras", help=recipes.TEACHER.help + "."
    ),
]
LatentDimOption = Annotated[
    int | None,
    typer.Option(
        recipes.LATENT_DIM.flag,
        help=recipes.LATENT_DIM.help + f". Default: {recipes.LATENT_DIM.default}.",
    ),
]


def _recipe_settings(**values) -> tuple[tuple[str, int | float], ...] | None:
    """The recipe settings given as flags (``None``: none given)."""
    given = tuple((name, value) for name, value in values.items() if value is not None)
    return given or None


@app.command()
def new(
    name: Annotated[
        str | None,
        typer.Argument(help="Module name (a Python identifier); writes NAME.py."),
    ] = None,
    model_type: Annotated[
        str | None,
        typer.Option(
            help="sequential, functional or subclassed. Default: functional.",
            autocompletion=_complete(catalog.MODEL_TYPES),
        ),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help=(
                "A Keras loss: class name, snake_case name or alias (mse, mae, ...). "
                "Default: sparse_categorical_crossentropy. See `losses`."
            ),
            autocompletion=_complete([entry.snake_name for entry in catalog.LOSSES]),
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="The task, for losses that fit several (e.g. binary or multilabel). "
            "Default: the loss's first task.",
            autocompletion=_complete(list(catalog.TASKS)),
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="A Keras metric; repeat or comma-separate for several, 'none' for no "
            "metric. Default: the task's usual metric. See `metrics`.",
            autocompletion=_complete([entry.snake_name for entry in catalog.METRICS]),
        ),
    ] = None,
    optimizer: Annotated[
        str | None,
        typer.Option(
            help="A Keras optimizer (adam, adamw, sgd, ...). Default: adam.",
            autocompletion=_complete([snake for _, snake in catalog.OPTIMIZERS]),
        ),
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Learning rate. Default: 0.001.")
    ] = None,
    input_shape: Annotated[
        str | None,
        typer.Option(
            help="Input shape without the batch axis, e.g. 16 or 8,8,3. "
            "Default: 16 (vectors), 8,8,3 (images), 12,8 (sequences)."
        ),
    ] = None,
    num_classes: Annotated[
        int | None, typer.Option(help="Number of classes. Default: 3.")
    ] = None,
    output_units: Annotated[
        int | None,
        typer.Option(help="Output units for regression / embeddings. Default: 1 / 8."),
    ] = None,
    hidden_units: Annotated[
        int | None, typer.Option(help="Units of the hidden layer. Default: 32.")
    ] = None,
    project: Annotated[
        bool,
        typer.Option(
            "--project",
            help="Create an installable project in NAME/ (package, training entry "
            "point, tests, answers file for `update`) instead of NAME.py.",
        ),
    ] = False,
    recipe: RecipeOption = None,
    microbatches: MicrobatchesOption = None,
    clip_norm: ClipNormOption = None,
    rho: RhoOption = None,
    noise_dim: NoiseDimOption = None,
    temperature: TemperatureOption = None,
    alpha: AlphaOption = None,
    teacher: TeacherOption = None,
    latent_dim: LatentDimOption = None,
    template_dir: TemplateDirOption = None,
    var: VarOption = None,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir", "-o", help="Where to write NAME.py (or the NAME/ project)."
        ),
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing, different file.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print a diff of what would change; write nothing."
        ),
    ] = False,
    no_input: Annotated[
        bool,
        typer.Option(
            "--no-input", help="Never ask; missing answers take the defaults."
        ),
    ] = False,
) -> None:
    """Generate NAME.py: a model class with stateless JAX train/test/predict steps.

    With --project, generate an installable project in NAME/ instead.
    """
    from keras_jax_scaffold import pipeline, prompts

    given = Answers(
        name=name,
        model_type=model_type,
        loss=loss,
        task=task,
        metrics=_metrics(metric),
        optimizer=optimizer,
        learning_rate=learning_rate,
        input_shape=input_shape,
        num_classes=num_classes,
        output_units=output_units,
        hidden_units=hidden_units,
        recipe=recipe,
        recipe_settings=_recipe_settings(
            microbatches=microbatches,
            clip_norm=clip_norm,
            rho=rho,
            noise_dim=noise_dim,
            temperature=temperature,
            alpha=alpha,
            teacher=teacher,
            latent_dim=latent_dim,
        ),
    )
    try:
        given = _with_variables(given, var)
        if not no_input:
            missing = prompts.missing_flags(given)
            if missing and not prompts.stdin_is_terminal():
                fail(
                    f"no terminal to ask for {', '.join(missing)}: pass them as "
                    "arguments, or use --no-input to take the defaults",
                    code=2,
                )
            if missing:
                given = prompts.ask_missing(given)
        if project:
            from keras_jax_scaffold.project import create_project as write
        else:
            write = pipeline.generate
        planned = write(
            given,
            output_dir,
            force=force,
            dry_run=dry_run,
            template_dirs=tuple(template_dir or ()),
        )
    except UserError as error:
        fail_with(error)
    except typer.Abort:
        fail("cancelled; nothing was written", code=130)

    for item in planned:
        shown = str(item.path)
        if dry_run:
            diff = item.diff(shown)
            if diff:
                typer.echo(diff, nl=False)
        typer.echo(f"{item.status:>10}  {shown}{'  (dry run)' if dry_run else ''}")
    if dry_run:
        conflicts = [str(item.path) for item in planned if item.status == "conflict"]
        if conflicts:
            fail(f"{conflicts[0]!r} exists and differs; --force would overwrite it")


@app.command()
def update(
    project_dir: Annotated[
        Path,
        typer.Argument(help="The project made by `new NAME --project`."),
    ] = Path("."),
    model_type: Annotated[
        str | None,
        typer.Option(
            help="Change the model type (sequential, functional, subclassed).",
            autocompletion=_complete(catalog.MODEL_TYPES),
        ),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help="Change the loss. Recorded answers that no longer fit it are "
            "re-derived unless given too: the task (when the new loss does not fit "
            "it: the loss's first task), then for a new task the metrics (those "
            "that do not fit are dropped; none left: the task's defaults), the input "
            "shape (when the input kind changes) and the number of classes (when "
            "below the task's minimum); the output units when their default changes "
            "or the loss needs more. Each is reported as a note.",
            autocompletion=_complete([entry.snake_name for entry in catalog.LOSSES]),
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="Change the task (it must fit the loss). Recorded metrics, input "
            "shape, number of classes and output units that do not fit the new task "
            "are re-derived as for --loss, unless given.",
            autocompletion=_complete(list(catalog.TASKS)),
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="Replace the metrics; repeat or comma-separate, 'none' for no metric.",
            autocompletion=_complete([entry.snake_name for entry in catalog.METRICS]),
        ),
    ] = None,
    optimizer: Annotated[
        str | None,
        typer.Option(
            help="Change the optimizer.",
            autocompletion=_complete([snake for _, snake in catalog.OPTIMIZERS]),
        ),
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Change the learning rate.")
    ] = None,
    input_shape: Annotated[
        str | None, typer.Option(help="Change the input shape, e.g. 16 or 8,8,3.")
    ] = None,
    num_classes: Annotated[
        int | None, typer.Option(help="Change the number of classes.")
    ] = None,
    output_units: Annotated[
        int | None, typer.Option(help="Change the output units.")
    ] = None,
    hidden_units: Annotated[
        int | None, typer.Option(help="Change the hidden layer's units.")
    ] = None,
    recipe: Annotated[
        str | None,
        typer.Option(
            help="Switch to another recipe (see `recipes`); the settings of the old "
            "recipe are dropped, those of the new one take their defaults unless given.",
            autocompletion=_complete(list(recipes.RECIPE_INDEX)),
        ),
    ] = None,
    microbatches: MicrobatchesOption = None,
    clip_norm: ClipNormOption = None,
    rho: RhoOption = None,
    noise_dim: NoiseDimOption = None,
    temperature: TemperatureOption = None,
    alpha: AlphaOption = None,
    teacher: TeacherOption = None,
    latent_dim: LatentDimOption = None,
    template_dir: TemplateDirOption = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            help="KEY=VALUE for custom templates (repeatable); merged over the "
            "recorded variables key by key.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the diff of every file that would change; write nothing. "
            "Exits 1 if there would be conflicts.",
        ),
    ] = False,
) -> None:
    """Render a project again (current templates, recorded answers) and merge it.

    A 3-way merge of the last render (.keras-jax-scaffold/base.json), your files and
    the new render: your changes and the template's both stay; where both changed the
    same lines the file is written with <<<<<<< yours / ======= / >>>>>>> template
    markers and the command exits 1. Files you deleted stay deleted; files the
    template no longer generates are deleted unless you changed them. The answers
    (recorded in .keras-jax-scaffold.json, changed by the flags; the name never
    changes) and the base are written too. The --template-dirs of `new` (or of the
    last `update` that gave some) are recorded there and used again; give
    --template-dir to replace them.
    """
    from keras_jax_scaffold.layout import BASE_FILE
    from keras_jax_scaffold.update import update_project

    given = Answers(
        model_type=model_type,
        loss=loss,
        task=task,
        metrics=_metrics(metric),
        optimizer=optimizer,
        learning_rate=learning_rate,
        input_shape=input_shape,
        num_classes=num_classes,
        output_units=output_units,
        hidden_units=hidden_units,
        recipe=recipe,
        recipe_settings=_recipe_settings(
            microbatches=microbatches,
            clip_norm=clip_norm,
            rho=rho,
            noise_dim=noise_dim,
            temperature=temperature,
            alpha=alpha,
            teacher=teacher,
            latent_dim=latent_dim,
        ),
    )
    try:
        given = _with_variables(given, var)
        result = update_project(
            project_dir,
            given,
            template_dirs=tuple(template_dir or ()),
            dry_run=dry_run,
        )
    except UserError as error:
        fail_with(error)

    for note in result.notes:
        typer.echo(f"note: {note}")
    suffix = "  (dry run)" if dry_run else ""
    for action in result.actions:
        shown = str(project_dir / action.path)
        if dry_run and action.path != BASE_FILE:
            diff = action.diff(shown)
            if diff:
                typer.echo(diff, nl=False)
        note = f"  ({action.note})" if action.note else ""
        typer.echo(f"{action.status:>10}  {shown}{note}{suffix}")
    if result.conflicts:
        shown = ", ".join(repr(str(project_dir / path)) for path in result.conflicts)
        if dry_run:
            fail(
                f"conflicts in {shown}: your changes and the template's overlap; an "
                "update would write them with conflict markers"
            )
        fail(
            f"conflicts in {shown}: written with conflict markers (<<<<<<< yours, "
            "=======, >>>>>>> template); resolve them by hand"
        )


@app.command(name="recipes")
def list_recipes() -> None:
    """List the training recipes (`new --recipe R`): name, settings, what each does."""
    table(
        [
            (r.name, recipes.settings_line(r), r.summary + _logs_note(r))
            for r in recipes.RECIPES
        ],
        ("recipe", "settings", "what it does"),
    )


def _logs_note(recipe: recipes.Recipe) -> str:
    return f" (logs {', '.join(recipe.logs)})" if recipe.logs else ""


@app.command()
def losses() -> None:
    """List the Keras losses the generator knows: name, class, tasks, notes."""
    table(
        [
            (e.snake_name, e.class_name, ", ".join(e.tasks), e.notes)
            for e in catalog.LOSSES
        ],
        ("name", "class", "task", "notes"),
    )


@app.command()
def metrics(
    loss: Annotated[
        str | None,
        typer.Option(help="Only the metrics that fit this loss (its first task)."),
    ] = None,
) -> None:
    """List the Keras metrics the generator knows: name, class, tasks, notes."""
    entries = catalog.METRICS
    if loss is not None:
        from keras_jax_scaffold.spec import resolve_loss

        try:
            entries = catalog.compatible_metrics(resolve_loss(loss).tasks[0])
        except UserError as error:
            fail(str(error))
    table(
        [(e.snake_name, e.class_name, ", ".join(e.tasks), e.notes) for e in entries],
        ("name", "class", "task", "notes"),
    )


@app.command()
def tasks() -> None:
    """List the tasks: what a loss implies for the model's head and the targets."""
    table(
        [
            (t.name, t.input_kind, t.head_activation or "linear", t.target, t.title)
            for t in catalog.TASKS.values()
        ],
        ("task", "input", "head", "targets", "description"),
    )


app.add_typer(templates_app, name="templates")


def main() -> None:
    app()

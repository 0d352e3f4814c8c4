"""The command line: Typer only. Parses flags, asks what is missing, calls the pipeline.

Errors from any stage are ``UserError``s, printed as one ``error: ...`` line on stderr
with exit status 1 (2 for usage problems such as missing answers without a terminal).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from . import __version__, catalog
from .answer_table import ANSWERS, Question
from .cli_check import check
from .cli_templates import templates_app
from .console import fail, fail_with, print_changes, table
from .errors import UserError
from .spec import Answers

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


def answer_parameter(question: Question, command: str) -> inspect.Parameter:
    """The Typer parameter of one answer, for ``new`` or ``update``."""
    help_text = question.help if command == "new" else question.update_help
    info: Any
    if question.argument:
        info = typer.Argument(help=help_text, show_default=False)
    else:
        names = [question.option] + ([question.short] if question.short else [])
        if question.kind.cli_type is bool:  # a pair of flags: --NAME/--no-NAME
            names = [f"{question.option}/--no-{question.option[2:]}"]
        extra: dict[str, Any] = {}
        if question.kind.cli_type == list[Path]:
            extra["file_okay"] = False
        if question.completion:
            extra["autocompletion"] = _complete(question.completion)
        info = typer.Option(*names, help=help_text, show_default=False, **extra)
    return inspect.Parameter(
        question.name,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=_optional(question.kind.cli_type, info),
    )


def _optional(cli_type: Any, info: Any) -> Any:
    """``Annotated[cli_type | None, info]``: a Typer parameter's annotation, built at
    run time from the answer's kind (a value, which a type checker cannot read)."""
    return Annotated[cli_type | None, info]


def answer_questions(command: str) -> tuple[Question, ...]:
    """The answers a command takes as flags: all for ``new``; for ``update``, those
    it can change (never the name)."""
    return tuple(q for q in ANSWERS if command == "new" or q.update_help is not None)


def answer_command(command: str):
    """Give a command ``f(given: Answers, **own options)`` one Typer parameter per
    answer of the table (before its own options) and call it with the ``Answers``."""

    def decorate(function):
        own = inspect.signature(function, eval_str=True)
        own_parameters = [p for p in own.parameters.values() if p.name != "given"]
        questions = answer_questions(command)

        def run(**values) -> None:
            try:
                given = Answers(
                    **{
                        q.name: (
                            None
                            if values[q.name] is None
                            else q.kind.from_cli(values[q.name])
                        )
                        for q in questions
                    }
                )
            except UserError as error:
                fail_with(error)
            function(given, **{p.name: values[p.name] for p in own_parameters})

        run.__name__ = function.__name__
        run.__doc__ = function.__doc__
        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [answer_parameter(q, command) for q in questions] + own_parameters
        )
        return run

    return decorate


@app.command()
@answer_command("new")
def new(
    given: Answers,
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

    With --project, generate an installable project in NAME/ instead (asked when
    neither --project nor --no-project is given).
    """
    from . import pipeline, prompts
    from .template_set import TemplateSet

    try:
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
        if given.project:
            from .project import create_project as write
        else:
            write = pipeline.generate
        plan = write(given, output_dir, force=force, dry_run=dry_run)
        sources = TemplateSet.search(
            tuple(Path(d) for d in given.template_dirs or ()), plan.root
        ).source_lines()
    except UserError as error:
        fail_with(error)
    except typer.Abort:
        fail("cancelled; nothing was written", code=130)

    for line in sources:
        typer.echo(line)
    for note in plan.notes:
        typer.echo(f"note: {note}")
    print_changes(plan.root, plan.changes, dry_run=dry_run)
    if plan.conflicts:  # only a dry run gets here with conflicts
        shown = str(plan.root / plan.conflicts[0])
        fail(f"{shown!r} exists and differs; --force would overwrite it")


@app.command()
@answer_command("update")
def update(
    given: Answers,
    project_dir: Annotated[
        Path,
        typer.Argument(help="The project made by `new NAME --project`."),
    ] = Path("."),
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

    A 3-way merge of the last render (.keras-jax-scaffold/base/), your files and
    the new render: your changes and the template's both stay; where both changed the
    same lines the file is written with <<<<<<< yours / ======= / >>>>>>> template
    markers and the command exits 1. Files you deleted stay deleted; files the
    template no longer generates are deleted unless you changed them. The answers
    (recorded in .keras-jax-scaffold.json, changed by the flags; the name never
    changes) and the base are written too. The --template-dirs of `new` (or of the
    last `update` that gave some) are recorded there and used again; give
    --template-dir to replace them.
    """
    from .update import update_project

    try:
        result = update_project(project_dir, given, dry_run=dry_run)
    except UserError as error:
        fail_with(error)

    for note in result.notes:
        typer.echo(f"note: {note}")
    print_changes(project_dir, result.changes, dry_run=dry_run)
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
    from . import recipes

    table(
        [
            (r.name, recipes.settings_line(r), recipes.description(r))
            for r in recipes.RECIPES
        ],
        ("recipe", "settings", "what it does"),
    )


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
        from .values import resolve_loss

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
app.command()(check)


def main() -> None:
    app()

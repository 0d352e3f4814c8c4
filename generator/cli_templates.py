"""`keras-jax-scaffold templates ...`: list, show and export the built-in templates.

Typer only: the logic lives in ``template_catalog``; docs/templates.md explains lookup,
blocks and the context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from keras_jax_scaffold.console import fail_with, print_changes, table

templates_app = typer.Typer(
    help="List, show and export the built-in templates, to customise them "
    "(see docs/templates.md).",
    no_args_is_help=True,
)

TemplateDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--template-dir",
        "-t",
        help="A directory of templates, as for `new` (repeatable; the first that has "
        "a template wins). A .keras-jax-scaffold/templates directory in the current "
        "directory or a parent is used too.",
        file_okay=False,
    ),
]


def _search_path(template_dir: list[Path] | None) -> tuple[Path, ...]:
    from keras_jax_scaffold.pipeline import template_search_path

    return template_search_path(tuple(template_dir or ()), Path.cwd())


@templates_app.command("list")
def list_templates(template_dir: TemplateDirOption = None) -> None:
    """Every built-in template with a one-line description.

    With template directories, also which built-ins they override and which extra
    templates they add (status: built-in, overridden or user; file: the one used).
    """
    from keras_jax_scaffold.errors import UserError
    from keras_jax_scaffold.template_catalog import templates

    try:
        directories = _search_path(template_dir)
        found = templates(directories)
    except UserError as error:
        fail_with(error)
    if not directories:
        table([(t.name, t.description) for t in found], ("template", "description"))
        return
    table(
        [
            (
                t.name,
                t.status,
                t.description,
                "" if t.status == "built-in" else str(t.path),
            )
            for t in found
        ],
        ("template", "status", "description", "file"),
    )


@templates_app.command("show")
def show_template(
    name: Annotated[
        str,
        typer.Argument(
            help="Template name, e.g. partials/steps.py.jinja; builtin/NAME is always "
            "the built-in one.",
            metavar="NAME",
            show_default=False,
        ),
    ],
    template_dir: TemplateDirOption = None,
) -> None:
    """Print a template's source: the built-in, or the one rendering would use."""
    from keras_jax_scaffold.errors import UserError
    from keras_jax_scaffold.template_catalog import find

    try:
        source = find(name, _search_path(template_dir)).source
    except UserError as error:
        fail_with(error)
    typer.echo(source, nl=not source.endswith("\n"))


@templates_app.command("export")
def export_templates(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Where to copy them (created if missing); use it as --template-dir.",
            metavar="DIR",
            show_default=False,
        ),
    ],
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Templates to copy (default: all), e.g. partials/steps.py.jinja.",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing, different files.")
    ] = False,
) -> None:
    """Copy built-in templates into DIR, keeping their relative paths.

    Nothing is written when a name is unknown or an existing file differs (without
    --force). Edit the copies, delete the ones you do not change, and render with
    `new ... --template-dir DIR`.
    """
    from keras_jax_scaffold.errors import UserError
    from keras_jax_scaffold.template_catalog import export_plan
    from keras_jax_scaffold.write import apply

    try:
        planned = export_plan(directory, tuple(names or ()), force=force)
        apply(directory, planned)
    except UserError as error:
        fail_with(error)
    print_changes(directory, planned)

"""`keras-jax-scaffold templates ...`: list, show and export the built-in templates.

Typer only: the logic lives in ``template_set``; docs/templates.md explains lookup,
blocks and the context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .console import fail_with, print_changes, table

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


def _template_set(template_dir: list[Path] | None):
    from .template_set import TemplateSet

    return TemplateSet.search(tuple(template_dir or ()), Path.cwd())


WIDTH = 100  # `templates list` fits in this many columns


def _fit(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``rows`` with the last column shortened ("...") so that each line fits WIDTH."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    room = max(20, WIDTH - sum(widths) - 2 * (len(header) - 1))

    def shorten(text: str) -> str:
        if len(text) <= room:
            return text
        if "/" in text and " " not in text:  # a path: keep its end
            return "..." + text[-(room - 3) :]
        return text[: room - 3].rstrip() + "..."

    return [(*row[:-1], shorten(row[-1])) for row in rows]


@templates_app.command("list")
def list_templates(template_dir: TemplateDirOption = None) -> None:
    """Every built-in template with a one-line description.

    With template directories, also which built-ins they override and which extra
    templates they add (status: built-in, overridden, user, or unused: a file of
    yours that matches no template and that none of your templates includes; the
    last column: the description, or for your files the file used).
    """
    from .errors import UserError

    try:
        template_set = _template_set(template_dir)
        found = template_set.templates()
        unused = set(template_set.unused_names())
    except UserError as error:
        fail_with(error)
    if not template_set.directories:
        plain = ("template", "description")
        table(_fit([(t.name, t.description) for t in found], plain), plain)
        return
    header = ("template", "status", "description or file")
    rows: list[tuple[str, ...]] = [
        (
            t.name,
            "unused" if t.name in unused else t.status,
            t.description if t.status == "built-in" else str(t.path),
        )
        for t in found
    ]
    table(_fit(rows, header), header)


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
    from .errors import UserError

    try:
        source = _template_set(template_dir).find(name).source
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
    from .errors import UserError
    from .template_set import export_plan
    from .write import apply

    try:
        planned = export_plan(directory, tuple(names or ()), force=force)
        apply(directory, planned)
    except UserError as error:
        fail_with(error)
    print_changes(directory, planned)

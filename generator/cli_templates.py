"""`keras-jax-scaffold templates ...`: list, show and export the built-in templates."""

from __future__ import annotations

import typer

templates_app = typer.Typer(
    help="List, show and export the built-in templates, to customise them.",
    no_args_is_help=True,
)


@templates_app.command("list")
def list_templates() -> None:
    """Every built-in template with a one-line description."""
    from keras_jax_scaffold.render import builtin_template_names

    for name in builtin_template_names():
        typer.echo(name)

"""What the commands print: one-line errors and plain tables (shared by every command)."""

from __future__ import annotations

import typer
from keras_jax_scaffold.errors import UserError


def fail(message: str, code: int = 1, detail: str = "") -> None:
    """Print ``error: MESSAGE`` on one line (``detail`` below it) and exit ``code``."""
    # Always one line: some messages (black's parse errors) span several. ``detail``
    # (e.g. the offending lines of a rendered file) follows below it.
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    typer.echo(f"error: {message}", err=True)
    if detail:
        typer.echo(detail, err=True)
    raise typer.Exit(code)


def fail_with(error: UserError, code: int = 1) -> None:
    fail(str(error), code=code, detail=error.detail)


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """Columns padded to their widest cell, a dashed line under the header."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())

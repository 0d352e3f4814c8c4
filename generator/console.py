"""What the commands print: one-line errors, plain tables and file status lines (shared
by every command)."""

from __future__ import annotations

from pathlib import Path

import typer

from .errors import UserError


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


def print_changes(
    root: Path, changes, *, dry_run: bool = False, no_diff: tuple[str, ...] = ()
) -> None:
    """One status line per file (``  create  DIR/file``, with a note in parentheses);
    with ``dry_run``, each change's unified diff first (except for ``no_diff`` paths)
    and ``(dry run)`` after each line."""
    suffix = "  (dry run)" if dry_run else ""
    for change in changes:
        shown = str(root / change.path)
        if dry_run and change.path not in no_diff:
            diff = change.diff(shown)
            if diff:
                typer.echo(diff, nl=False)
        note = f"  ({change.note})" if change.note else ""
        typer.echo(f"{change.status.value:>10}  {shown}{note}{suffix}")

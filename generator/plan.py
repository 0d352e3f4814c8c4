"""Formatted files -> a write plan: what each file's fate is, compared with the disk."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from keras_jax_scaffold.errors import UserError


def unified_diff(old: str | None, new: str | None, display: str) -> str:
    """Unified diff of ``old`` -> ``new`` (``None``: the file is absent)."""
    before = f"a/{display}" if old is not None else "/dev/null"
    after = f"b/{display}" if new is not None else "/dev/null"
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        (new or "").splitlines(keepends=True),
        before,
        after,
    )
    # A last line without a newline would run into the next header.
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: str
    status: str  # "create" | "identical" | "overwrite" | "conflict"
    old_content: str | None = None

    def diff(self, display: str) -> str:
        return unified_diff(self.old_content, self.content, display)


def plan_file(path: Path, content: str, force: bool) -> PlannedFile:
    """The fate of one file: compare ``content`` with what is at ``path``."""
    if path.is_dir():
        raise UserError(f"cannot write {str(path)!r}: it is a directory")
    if not path.exists():
        return PlannedFile(path, content, "create")
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read existing {str(path)!r}: {error}") from None
    if old == content:
        return PlannedFile(path, content, "identical", old)
    return PlannedFile(path, content, "overwrite" if force else "conflict", old)


def plan_files(
    files: dict[str, str], output_dir: Path, force: bool
) -> list[PlannedFile]:
    """Compare each rendered file with the disk. Raises UserError before any write."""
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"output directory {str(output_dir)!r} is a file")
    return [
        plan_file(output_dir / relative, content, force)
        for relative, content in sorted(files.items())
    ]


def check_plan(planned: list[PlannedFile]) -> None:
    conflicts = [str(p.path) for p in planned if p.status == "conflict"]
    if conflicts:
        raise UserError(
            f"{conflicts[0]!r} exists and differs from the generated code; "
            "use --force to overwrite it (or --dry-run to see the diff)"
        )

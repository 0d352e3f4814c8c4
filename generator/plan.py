"""Formatted files -> a write plan: what each file's fate is, compared with the disk."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from keras_jax_scaffold.errors import UserError


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: str
    status: str  # "create" | "identical" | "overwrite" | "conflict"
    old_content: str | None = None

    def diff(self, display: str) -> str:
        old = (self.old_content or "").splitlines(keepends=True)
        new = self.content.splitlines(keepends=True)
        before = f"a/{display}" if self.old_content is not None else "/dev/null"
        return "".join(difflib.unified_diff(old, new, before, f"b/{display}"))


def plan_files(
    files: dict[str, str], output_dir: Path, force: bool
) -> list[PlannedFile]:
    """Compare each rendered file with the disk. Raises UserError before any write."""
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"output directory {str(output_dir)!r} is a file")
    planned = []
    for relative, content in sorted(files.items()):
        path = output_dir / relative
        if path.is_dir():
            raise UserError(f"cannot write {str(path)!r}: it is a directory")
        if not path.exists():
            planned.append(PlannedFile(path, content, "create"))
            continue
        try:
            old = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"cannot read existing {str(path)!r}: {error}") from None
        if old == content:
            planned.append(PlannedFile(path, content, "identical", old))
        else:
            status = "overwrite" if force else "conflict"
            planned.append(PlannedFile(path, content, status, old))
    return planned


def check_plan(planned: list[PlannedFile]) -> None:
    conflicts = [str(p.path) for p in planned if p.status == "conflict"]
    if conflicts:
        raise UserError(
            f"{conflicts[0]!r} exists and differs from the generated code; "
            "use --force to overwrite it (or --dry-run to see the diff)"
        )

"""The write plan -> disk, atomically (temporary file + rename)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.plan import PlannedFile


def ensure_writable(directory: Path) -> None:
    """Raise UserError unless ``directory`` (or its nearest existing parent) is writable."""
    probe = directory
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(
            f"output directory {str(directory)!r}: {str(probe)!r} is a file"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"output directory {str(directory)!r} is not writable")


def write_atomic(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def missing_parents(path: Path) -> list[Path]:
    """The missing parents of ``path`` (deepest first), i.e. what writing it creates."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing


@dataclass(frozen=True)
class Change:
    """One file to change: ``content`` None deletes it; ``old_content`` None means it
    does not exist now (undoing the change removes it again)."""

    path: Path
    content: str | None
    old_content: str | None


def _undo(change: Change, directories: list[Path]) -> None:
    """Put back what ``change`` replaced and remove the directories it created."""
    try:
        if change.old_content is None:
            change.path.unlink(missing_ok=True)
        else:
            write_atomic(change.path, change.old_content)
        for directory in directories:
            directory.rmdir()
    except OSError:
        pass  # best effort; the original error is what the user needs to see


def apply_changes(changes: list[Change]) -> None:
    """Make every change, in order; if one fails, undo the others and raise UserError."""
    done: list[tuple[Change, list[Path]]] = []
    for change in changes:
        directories = missing_parents(change.path)
        try:
            if change.content is None:
                change.path.unlink()
            else:
                write_atomic(change.path, change.content)
        except OSError as error:
            for made, created in reversed(done):
                _undo(made, created)
            for directory in directories:  # the failed change's own, if any
                try:
                    directory.rmdir()
                except OSError:
                    pass
            verb = "delete" if change.content is None else "write"
            raise UserError(
                f"cannot {verb} {str(change.path)!r}: {error.strerror}; "
                "nothing was changed"
            ) from None
        done.append((change, directories))


def apply_plan(planned: list[PlannedFile]) -> None:
    """Write every "create"/"overwrite" file; if one fails, undo the others and raise."""
    apply_changes(
        [
            Change(item.path, item.content, item.old_content)
            for item in planned
            if item.status in ("create", "overwrite")
        ]
    )

"""The write plan -> disk, atomically (temporary file + rename)."""

from __future__ import annotations

import os
import tempfile
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


def _roll_back(done: list[tuple[PlannedFile, list[Path]]]) -> None:
    """Undo the writes in ``done``: remove created files and directories, restore others."""
    for item, directories in reversed(done):
        try:
            if item.status == "create":
                item.path.unlink(missing_ok=True)
            elif item.old_content is not None:
                write_atomic(item.path, item.old_content)
            for directory in directories:
                directory.rmdir()
        except OSError:
            pass  # best effort; the original error is what the user needs to see


def apply_plan(planned: list[PlannedFile]) -> None:
    """Write every "create"/"overwrite" file; if one fails, undo the others and raise."""
    done: list[tuple[PlannedFile, list[Path]]] = []
    for item in planned:
        if item.status not in ("create", "overwrite"):
            continue
        directories = missing_parents(item.path)
        try:
            write_atomic(item.path, item.content)
        except OSError as error:
            _roll_back([*done, (PlannedFile(item.path, "", "failed"), directories)])
            raise UserError(
                f"cannot write {str(item.path)!r}: {error.strerror}; nothing was changed"
            ) from None
        done.append((item, directories))

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


def apply_plan(planned: list[PlannedFile]) -> None:
    for item in planned:
        if item.status in ("create", "overwrite"):
            try:
                write_atomic(item.path, item.content)
            except OSError as error:
                raise UserError(
                    f"cannot write {str(item.path)!r}: {error.strerror}"
                ) from None

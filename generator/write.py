"""A plan of :class:`~keras_jax_scaffold.plan.FileChange`\\ s -> disk: all or nothing.

:func:`preflight` is the one writability check, run before anything is written (and
by dry runs, which report what a real run would do): every file to write must be
reachable, its directory writable, its missing names short enough for the file
system. :func:`apply` then writes each file atomically (temporary file + rename) and
deletes; if one fails (a full disk, a permission...), the changes already made are
undone and the error is one line naming the path and the reason.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import UserError, os_reason
from .plan import FileChange, Status


def _existing_ancestor(path: Path) -> tuple[Path, list[str]]:
    """The nearest existing ancestor of ``path`` (itself included) and the names
    below it that do not exist yet (outermost first)."""
    missing: list[str] = []
    probe = path
    while True:
        try:
            probe.lstat()
            return probe, missing
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            pass  # a file above: found when the loop reaches it
        if probe.parent == probe:
            return probe, missing
        missing.insert(0, probe.name)
        probe = probe.parent


def check_writable(path: Path) -> None:
    """Raise UserError unless a file can be written at ``path``."""
    shown = repr(str(path))
    try:
        if path.is_dir():
            raise UserError(f"cannot write {shown}: it is a directory")
        probe, missing = _existing_ancestor(path)
        if probe == path:  # an existing file: its directory must be writable
            probe, missing = path.parent, []
        if not probe.is_dir():
            raise UserError(
                f"cannot write {shown}: {str(probe)!r} is a file, not a directory"
            )
        limit = os.pathconf(probe, "PC_NAME_MAX")
    except OSError as error:
        raise UserError(f"cannot write {shown}: {os_reason(error)}") from None
    for name in missing:
        if len(os.fsencode(name)) > limit:
            reason = os.strerror(errno.ENAMETOOLONG)
            raise UserError(
                f"cannot write {shown}: {reason} ({len(name)} characters in "
                f"{name[:24]}...; at most {limit} bytes here)"
            )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {shown}: {str(probe)!r} is not writable")


def preflight(root: Path, changes: Sequence[FileChange]) -> None:
    """Raise UserError, before anything is written, where a change cannot be made."""
    for change in changes:
        if change.changes_disk:
            check_writable(root / change.path)


# The temporary file write_atomic writes next to ``path`` (a write interrupted by a
# kill leaves it): "." + the name + "." + mkstemp's 8 random characters + ".tmp".
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def is_temporary(name: str) -> bool:
    """Whether ``name`` is the name of a temporary file of :func:`write_atomic`."""
    return _TEMPORARY.fullmatch(name) is not None


def write_atomic(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name[:64]}.", suffix=".tmp", dir=path.parent
    )
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


def _undo(path: Path, change: FileChange, directories: list[Path]) -> None:
    """Put back what ``change`` replaced and remove the directories it created."""
    try:
        if change.old_content is None:
            path.unlink(missing_ok=True)
        else:
            write_atomic(path, change.old_content)
        for directory in directories:
            directory.rmdir()
    except OSError:
        pass  # best effort; the original error is what the user needs to see


def _remove_empty_parents(path: Path, root: Path) -> None:
    """Remove the directories above ``path``, up to ``root``, while they are empty."""
    root = root.resolve()
    directory = path.parent.resolve()
    while directory != root and directory.is_relative_to(root):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def apply(root: Path, changes: Sequence[FileChange]) -> None:
    """Make every change that changes the disk, in order: all or nothing.

    Runs :func:`preflight` first. If a write or delete still fails, the changes
    already made are undone (best effort) and a UserError names the path and reason.
    """
    preflight(root, changes)
    done: list[tuple[Path, FileChange, list[Path]]] = []
    for change in changes:
        if not change.changes_disk:
            continue
        path = root / change.path
        delete = change.status is Status.DELETE
        directories = [] if delete else missing_parents(path)
        try:
            if delete:
                path.unlink()
            else:
                write_atomic(path, change.content or "")
        except OSError as error:
            # The failed change's own directories first: those of the changes before
            # it (undone newest first) may hold them.
            for directory in directories:
                try:
                    directory.rmdir()
                except OSError:
                    pass
            for made in reversed(done):
                _undo(*made)
            verb = "delete" if delete else "write"
            raise UserError(
                f"cannot {verb} {str(path)!r}: {os_reason(error)}; nothing was changed"
            ) from None
        done.append((path, change, directories))
    for path, change, _ in done:
        if change.status is Status.DELETE:
            _remove_empty_parents(path, root)

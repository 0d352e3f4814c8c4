"""File changes: one record, :class:`FileChange` with a :class:`Status`, for every command
that writes (`new`, `new --project`, `update`, `templates export`), and the comparison
of rendered files with the disk.

A change's path is relative to the directory the command writes under (its *root*);
``content`` is the file after the change and ``old_content`` the file now (``None``:
absent). ``write.preflight`` checks a plan against the disk and ``write.apply`` makes it;
``console.print_changes`` prints it.
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError, os_reason


class Status(str, enum.Enum):
    """What happens to one file. ``new`` and ``templates export`` use the first four;
    ``update`` all but ``overwrite``."""

    CREATE = "create"  # new: written
    IDENTICAL = "identical"  # already what would be written: nothing to do
    OVERWRITE = "overwrite"  # exists and differs: replaced (--force)
    # new, templates export: exists and differs (refused without --force); update:
    # you and the template changed the same lines: written with markers
    CONFLICT = "conflict"
    UPDATE = "update"  # you did not change it, the template did: the new render
    MERGE = "merge"  # you and the template changed different lines: both kept
    DELETE = "delete"  # no longer generated and you did not change it: removed
    KEEP = "keep"  # you changed it, the template did not (or dropped it): yours kept
    SKIP = "skip"  # you deleted it: it stays deleted

    def __str__(self) -> str:
        return self.value


# The statuses that change the disk (a `new` conflict never gets this far).
CHANGES_DISK = frozenset(
    {
        Status.CREATE,
        Status.OVERWRITE,
        Status.CONFLICT,
        Status.UPDATE,
        Status.MERGE,
        Status.DELETE,
    }
)


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
class FileChange:
    """The fate of one file (``path`` relative to the command's root, POSIX)."""

    path: str
    status: Status
    content: str | None  # the file after the change; None: absent
    old_content: str | None  # the file now; None: absent
    note: str = ""

    @property
    def changes_disk(self) -> bool:
        return self.status in CHANGES_DISK

    def diff(self, display: str) -> str:
        """Unified diff of the file now -> the file after the change."""
        if self.content == self.old_content:
            return ""
        return unified_diff(self.old_content, self.content, display)


def read_existing(path: Path) -> str | None:
    """The text of the file at ``path``, ``None`` if there is none; a one-line
    UserError for a directory, an unreadable or non-UTF-8 file or a bad path (a name
    too long for the file system...)."""
    try:
        if path.is_dir():
            raise UserError(f"cannot write {str(path)!r}: it is a directory")
        if not path.exists():
            return None
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {str(path)!r}: {os_reason(error)}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"cannot read {str(path)!r}: it is not UTF-8 text") from None


def plan_writes(files: dict[str, str], root: Path, force: bool) -> list[FileChange]:
    """Compare each file to write (``{path under root: content}``) with the disk:
    create, identical, or (an existing, different file) overwrite with ``force``,
    else conflict. Reads only; sorted by path."""
    changes = []
    for relative, content in sorted(files.items()):
        old = read_existing(root / relative)
        if old is None:
            status = Status.CREATE
        elif old == content:
            status = Status.IDENTICAL
        else:
            status = Status.OVERWRITE if force else Status.CONFLICT
        changes.append(FileChange(relative, status, content, old))
    return changes


def conflicts(changes: list[FileChange]) -> list[str]:
    return [change.path for change in changes if change.status is Status.CONFLICT]


@dataclass(frozen=True)
class Plan:
    """What a command changes (or would): the files under ``root``, and notes."""

    root: Path
    changes: list[FileChange]
    notes: tuple[str, ...] = ()

    @property
    def conflicts(self) -> list[str]:
        return conflicts(self.changes)

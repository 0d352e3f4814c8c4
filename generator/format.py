"""Rendered files -> black-formatted sources, in memory; invalid Python is an error.

The error names the template that produced the bad code (the user template whose text
matches the offending line, when a user template took part) and shows the lines.

Importing black costs more than everything else a render does, so it is imported only
when a file must be formatted, and formatted sources are kept in the user's cache
directory (``cache.cache_dir()``). An entry is keyed by black's version, the formatting
mode and the exact rendered text, and carries a checksum of its content; an unreadable,
corrupt or unwritable cache is ignored (the file is formatted by black as if there were
no cache), never an error.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from pathlib import Path

from .cache import cache_dir
from .errors import UserError
from .render import Rendered
from .write import write_atomic

TARGET_VERSION = (
    "PY310"  # black.TargetVersion member the generated code is formatted for
)
LOOK_BACK = 6  # rendered lines searched for the user template line that caused an error


def _excerpt(source: str, lineno: int, around: int = 2) -> str:
    lines = source.splitlines()
    first, last = max(1, lineno - around), min(len(lines), lineno + around)
    return "\n".join(
        f"{'>' if n == lineno else ' '} {n:4d} | {lines[n - 1]}"
        for n in range(first, last + 1)
    )


def _template_line(rendered: Rendered, text: str) -> str | None:
    """``FILE:LINE`` of the user template line that printed ``text``, if one did."""
    text = text.strip()
    if not text:
        return None
    for filename in rendered.user_templates:
        try:
            lines = Path(filename).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for lineno, line in enumerate(lines, 1):
            if line.strip() == text:
                return f"{filename}:{lineno}"
        # A line with `{{ ... }}` prints something else than its source: match the
        # text around the expressions.
        for lineno, line in enumerate(lines, 1):
            if "{{" in line and _printed_by(line).fullmatch(text):
                return f"{filename}:{lineno}"
        for lineno, line in enumerate(lines, 1):
            if text in line:
                return f"{filename}:{lineno}"
    return None


def _printed_by(line: str) -> re.Pattern:
    """What a template line with ``{{ ... }}`` expressions can print."""
    parts = re.split(r"\{\{.*?\}\}", line.strip())
    literal = [re.sub(r"\\\s+|\s+", r"\\s*", re.escape(part)) for part in parts]
    return re.compile(".*?".join(literal) + r"\s*")


def invalid_python(rendered: Rendered, reason: str) -> UserError:
    """The error for a rendered ``.py`` file that black cannot parse."""
    # black: "Cannot parse for target version ...: LINE:COL: text" (older) or
    # "...: LINE:COL\n    text\n    ^\nParseError: bad input" (black 26).
    match = re.search(r"(\d+):(\d+)(?=:|\s|$):?", reason)
    lineno = int(match.group(1)) if match else 0
    rest = reason[match.end() :] if match else reason
    tail = [line.strip() for line in rest.splitlines() if line.strip()]
    reason = tail[-1] if tail and tail[-1] != "^" else ""
    lines = rendered.source.splitlines()
    # The parser often stops a few lines after the mistake (an unclosed bracket is
    # noticed at the next statement): look back from the reported line.
    where = None
    for number in range(min(lineno, len(lines)), max(0, lineno - LOOK_BACK), -1):
        where = _template_line(rendered, lines[number - 1])
        if where:
            break
    where = where or rendered.template_file
    message = (
        f"{where}: rendered {rendered.path} is not valid Python "
        f"(line {lineno}: {reason.strip() or 'cannot parse'})"
    )
    if rendered.user_templates:
        message += f"; user templates used: {', '.join(rendered.user_templates)}"
    detail = _excerpt(rendered.source, lineno, around=3) if lineno else ""
    return UserError(message, detail=detail)


# --------------------------------------------------------------------------- cache


def black_version() -> str:
    """The installed black's version, read from its metadata (black is not imported)."""
    return importlib.metadata.version("black")


def _cache_path(source: str, version: str) -> Path:
    key = hashlib.sha256(f"{TARGET_VERSION}\0{source}".encode()).hexdigest()
    return cache_dir() / f"black-{version}" / key


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_read(path: Path) -> str | None:
    """The cached text at ``path``, or None when missing, unreadable or corrupt."""
    try:
        data = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    digest, newline, text = data.partition("\n")
    return text if newline and digest == _digest(text) else None


def _cache_write(path: Path, text: str) -> None:
    """Store ``text`` (after its checksum) at ``path`` atomically; failures are ignored."""
    try:
        write_atomic(path, f"{_digest(text)}\n{text}")
    except OSError:
        pass  # a cache that cannot be written only costs time


# --------------------------------------------------------------------------- black


def format_file(rendered: Rendered) -> str:
    """The formatted text of one rendered file (``.py`` files by black, via the cache).

    Raises the located UserError of ``invalid_python`` when black cannot parse it.
    """
    if not rendered.path.endswith(".py"):
        return (
            rendered.source
            if rendered.source.endswith("\n")
            else rendered.source + "\n"
        )
    try:
        path = _cache_path(rendered.source, black_version())
    except importlib.metadata.PackageNotFoundError:
        path = None  # black without metadata (not installed as a distribution)
    cached = _cache_read(path) if path else None
    if cached is not None:
        return cached
    import black  # the largest import of a render: only when something needs it

    mode = black.Mode(target_versions={getattr(black.TargetVersion, TARGET_VERSION)})
    try:
        formatted = black.format_str(rendered.source, mode=mode)
    except black.parsing.InvalidInput as error:
        # black reports "Cannot parse for target version ...: LINE:COL: text".
        raise invalid_python(rendered, str(error)) from None
    if path:
        _cache_write(path, formatted)
    return formatted


def format_files(rendered: dict[str, Rendered]) -> dict[str, str]:
    return {path: format_file(item) for path, item in rendered.items()}

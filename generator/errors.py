"""The one exception type the command line turns into a one-line message."""

from __future__ import annotations

import difflib


class UserError(Exception):
    """Bad input: printed as ``error: <message>`` with a non-zero exit, no traceback.

    ``detail`` (optional, several lines) is printed below the one-line message, e.g. the
    offending lines of a rendered file.
    """

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def did_you_mean(value: str, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(value.lower(), [c.lower() for c in choices], n=1)
    if not close:
        return ""
    by_lower = {c.lower(): c for c in choices}
    return f" (did you mean {by_lower[close[0]]!r}?)"


def unknown(kind: str, value: str, choices, hint: str = "") -> UserError:
    """An error for a value that is not one of ``choices``."""
    message = f"unknown {kind} {value!r}{did_you_mean(value, choices)}"
    return UserError(f"{message}; {hint}" if hint else message)


def os_reason(error: OSError) -> str:
    """The reason of an OS error, one line (``File name too long``, ``Permission
    denied``...), without the path (messages name the path themselves)."""
    return error.strerror or str(error) or type(error).__name__

"""Kinds of answers: how a raw answer is typed on the command line, read from a prompt,
stored in the answers file and written back on a command line.

One :class:`Kind` instance per kind (``TEXT``, ``INT``, ``FLOAT``, ``LIST``, ``PAIRS``,
``PATHS``, ``SPECS``, ``OUTPUT_SPECS``, ``MODULE_OR_PROJECT``); each entry of the answer
table names its kind.
A raw answer is what the user gave, before validation: a string, a number, or a tuple of
strings (or of ``(key, value)`` pairs) for a repeatable flag.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import UserError
from .values import parse_variable


class Kind:
    """How a raw answer is typed on the command line, read from a prompt, stored in the
    answers file and written back on a command line. One instance per kind below."""

    name = "text"
    cli_type: Any = str  # the Typer annotation, without ``| None``
    raw_type = "str"  # the type of a raw answer (``Answers``' annotation, less None)
    repeated = False  # a repeatable flag; the raw value is a tuple
    json_types: tuple[type, ...] = (str,)

    def from_cli(self, value: Any) -> Any:
        """The raw answer from the Typer value."""
        return value

    def from_text(self, text: str, label: str) -> Any:
        """The raw answer from what was typed at a prompt."""
        return text

    def text(self, raw: Any) -> str:
        """``raw`` as typed (prompt defaults, notes)."""
        return str(raw)

    def arguments(self, raw: Any) -> list[str]:
        """The command-line values of ``raw``, one per flag."""
        return [self.text(raw)]

    def flags(self, option: str, raw: Any) -> list[str]:
        """``raw`` on a command line: ``option VALUE`` per value (shell-quoted)."""
        return [f"{option} {shlex.quote(value)}" for value in self.arguments(raw)]

    def to_json(self, raw: Any) -> Any:
        return raw

    def json_ok(self, value: Any) -> bool:
        return isinstance(value, self.json_types) and not isinstance(value, bool)

    def from_json(self, value: Any) -> Any:
        return value

    def merge(self, recorded: Any, given: Any) -> Any:
        """What `update` records when a flag gives ``given`` over ``recorded``."""
        return given


class _Int(Kind):
    name = "int"
    cli_type = int
    raw_type = "int"
    json_types = (int,)

    def from_text(self, text: str, label: str) -> Any:
        try:
            return int(text)
        except ValueError:
            raise UserError(f"invalid {label} {text!r}: give a whole number") from None


class _Float(Kind):
    name = "float"
    cli_type = float
    raw_type = "float"
    json_types = (int, float)

    def from_text(self, text: str, label: str) -> Any:
        try:
            return float(text)
        except ValueError:
            raise UserError(f"invalid {label} {text!r}: give a number") from None

    def text(self, raw: Any) -> str:
        return repr(float(raw))

    def from_json(self, value: Any) -> Any:
        return float(value)


def split_items(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated and comma-separated items, flattened; blanks dropped."""
    return tuple(
        part.strip() for value in values for part in value.split(",") if part.strip()
    )


class _List(Kind):
    """Several strings: a repeatable, comma-separable flag; ``none`` alone: none."""

    name = "list"
    cli_type = list[str]
    raw_type = "tuple[str, ...]"
    repeated = True
    json_types = (list,)

    def from_cli(self, value: Any) -> Any:
        items = split_items(value)
        return () if [item.lower() for item in items] == ["none"] else items

    def from_text(self, text: str, label: str) -> Any:
        return () if text.lower() in ("none", "-") else split_items([text])

    def text(self, raw: Any) -> str:
        return ",".join(raw) or "none"

    def arguments(self, raw: Any) -> list[str]:
        return list(raw) or ["none"]  # `-m none`: no metric, not the default ones

    def to_json(self, raw: Any) -> Any:
        return list(raw)

    def json_ok(self, value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    def from_json(self, value: Any) -> Any:
        return tuple(value)


class _Pairs(Kind):
    """``KEY=VALUE`` pairs (repeatable); stored as a JSON object; `update` merges them
    key by key."""

    name = "pairs"
    cli_type = list[str]
    raw_type = "tuple[tuple[str, str], ...]"
    repeated = True
    json_types = (dict,)

    def from_cli(self, value: Any) -> Any:
        return tuple(parse_variable(v) for v in value)

    def text(self, raw: Any) -> str:
        return ",".join(f"{k}={v}" for k, v in raw)

    def arguments(self, raw: Any) -> list[str]:
        return [f"{k}={v}" for k, v in raw]

    def to_json(self, raw: Any) -> Any:
        return dict(raw)

    def json_ok(self, value: Any) -> bool:
        return isinstance(value, dict)  # keys and values: checked by `resolve`

    def from_json(self, value: Any) -> Any:
        return tuple(sorted(value.items()))

    def merge(self, recorded: Any, given: Any) -> Any:
        merged = dict(recorded or ())
        merged.update(given)
        return tuple(sorted(merged.items()))


class _Paths(_List):
    """Directories (repeatable); Typer checks they are not files."""

    name = "paths"
    cli_type = list[Path]

    def from_cli(self, value: Any) -> Any:
        return tuple(str(path) for path in value)

    def arguments(self, raw: Any) -> list[str]:
        return list(raw)


class _Specs(_List):
    """``NAME:...`` items whose values may hold commas (``image:8,8,3``): one per
    flag (repeatable); at a prompt, separated by spaces (and by commas too where
    ``commas``: items without commas, ``box:mse:0.5``); ``none`` alone: none."""

    name = "specs"

    def __init__(self, commas: bool = False):
        self.commas = commas

    def from_cli(self, value: Any) -> Any:
        items = tuple(v.strip() for v in value if v.strip())
        return () if [item.lower() for item in items] == ["none"] else items

    def from_text(self, text: str, label: str) -> Any:
        if text.lower() in ("none", "-"):
            return ()
        return tuple(text.replace(",", " ").split() if self.commas else text.split())

    def text(self, raw: Any) -> str:
        return (", " if self.commas else " ").join(raw) or "none"

    def arguments(self, raw: Any) -> list[str]:
        return list(raw)  # none (the default): no flag


class _Switch(Kind):
    """On or off: a pair of flags ``--NAME/--no-NAME``; at a prompt, one of two words
    (``off``, ``on``)."""

    name = "switch"
    cli_type = bool
    raw_type = "bool"
    json_types = (bool,)

    def __init__(self, off: str, on: str):
        self.words = (off, on)

    def from_cli(self, value: Any) -> Any:
        return bool(value)

    def from_text(self, text: str, label: str) -> Any:
        for value, word in enumerate(self.words):
            if text.lower() in (word, word[0]):
                return bool(value)
        off, on = self.words
        raise UserError(f"invalid {label} {text!r}: answer {off} or {on}")

    def text(self, raw: Any) -> str:
        return self.words[bool(raw)]

    def flags(self, option: str, raw: Any) -> list[str]:
        return [option if raw else f"--no-{option[2:]}"]

    def json_ok(self, value: Any) -> bool:
        return isinstance(value, bool)


MODULE_OR_PROJECT = _Switch("module", "project")

TEXT, INT, FLOAT, LIST, PAIRS, PATHS, SPECS, OUTPUT_SPECS = (
    Kind(),
    _Int(),
    _Float(),
    _List(),
    _Pairs(),
    _Paths(),
    _Specs(),
    _Specs(commas=True),
)

"""The command line and what it leaves behind, for the tests of every folder.

* ``invoke``: the command line, in-process; ``new_module``: the text ``new`` writes.
* ``assert_one_error_line`` / ``error_line`` / ``assert_rejected``: the one assertion
  of what bad input gives (one ``error: ...`` line, no traceback, non-zero exit,
  nothing changed on disk).
* ``snapshot``, ``deny_writes``: what is on disk, and a directory that looks read-only.
* ``assert_golden``: a committed file equals what the code makes now.
"""

from __future__ import annotations

import os
from pathlib import Path

# --------------------------------------------------------------------------- the CLI


def invoke(*args, input: str | None = None):
    """Run the app in-process; ``result.stdout`` and ``result.stderr`` are apart."""
    from keras_jax_scaffold.cli import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def new_module(tmp_path: Path, *flags, name: str = "demo") -> str:
    """The text `new NAME --no-input FLAGS` writes (into a fresh directory)."""
    out = tmp_path / f"new-{len(list(tmp_path.glob('new-*')))}"
    result = invoke("new", name, "--no-input", "-o", out, *flags)
    assert result.exit_code == 0, result.output
    return (out / f"{name}.py").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- errors


def assert_one_error_line(stderr: str, *expected: str, detail: bool = False) -> str:
    """``stderr`` is one ``error: ...`` line containing each of ``expected``.

    With ``detail``, more lines may follow it (e.g. the offending rendered lines).
    Returns the error line.
    """
    lines = stderr.splitlines()
    assert lines, "expected an error line on stderr, got nothing"
    if not detail:
        assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in stderr
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    return lines[0]


def error_line(
    result, *expected: str, detail: bool = False, stdout_ok: bool = False
) -> str:
    """A failed command as bad input must fail: non-zero exit, no exception but
    SystemExit, no traceback, nothing on stdout (unless ``stdout_ok``: e.g. `update`
    lists what it did before reporting conflicts) and ``assert_one_error_line`` on
    stderr.

    ``result`` is a ``CliRunner`` result or a finished ``subprocess`` run.
    """
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    assert code not in (0, None), getattr(result, "output", result.stdout)
    exception = getattr(result, "exception", None)
    assert exception is None or isinstance(exception, SystemExit), exception
    assert "Traceback" not in result.stdout
    if not stdout_ok:
        assert result.stdout == ""
    return assert_one_error_line(result.stderr, *expected, detail=detail)


def assert_rejected(result, out: Path, before: dict, *expected: str) -> str:
    """``error_line`` (one line only) and nothing under ``out`` changed."""
    line = error_line(result, *expected)
    assert snapshot(out) == before
    return line


# --------------------------------------------------------------------------- disk


def snapshot(root: Path, mtimes: bool = True) -> dict:
    """Every entry under ``root`` (itself included): bytes (None for a directory or
    link), mode and, with ``mtimes``, the modification time of files."""
    if not root.exists():
        return {}
    state = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        is_file = path.is_file() and not path.is_symlink()
        state[path.relative_to(root).as_posix()] = (
            path.read_bytes() if is_file else None,
            info.st_mode,
            info.st_mtime_ns if mtimes and is_file else None,
        )
    return state


def deny_writes(monkeypatch) -> None:
    """Make every directory look unwritable to ``os.access``.

    Tests may run as root, where chmod does not stop writes: fake the permission check.
    """
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def assert_golden(path: Path, text: str, regenerate: str) -> None:
    """The committed file ``path`` is ``text`` byte for byte; else name the command
    (``regenerate``) that rewrites it."""
    assert path.exists(), f"{path} is missing; run: {regenerate}"
    assert path.read_bytes() == text.encode("utf-8"), (
        f"{path} drifted from what the code makes now; run: {regenerate}"
    )

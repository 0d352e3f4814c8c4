"""Settings and helpers shared by every test file.

Settings, made before any test module is imported:

* ``KERAS_BACKEND=jax`` (importing keras first would pick another backend);
* the formatted-source cache (``keras_jax_scaffold.format``) and JAX's compilation
  cache live in temporary directories, removed at exit: the suite never writes to the
  user's cache directories. Subprocesses inherit them.

Helpers (import them: ``from tests.conftest import invoke``):

* ``invoke``: the command line, in-process; ``new_module``: the text ``new`` writes.
* ``assert_one_error_line`` / ``error_line`` / ``assert_rejected``: the one assertion
  of what bad input gives (one ``error: ...`` line, no traceback, non-zero exit,
  nothing changed on disk).
* ``snapshot``, ``deny_writes``: what is on disk, and a directory that looks read-only.
* ``assert_golden``: a committed file equals what the code makes now.

Parity helpers (generated steps vs Keras's built-in ones) are in ``tests/support.py``,
shared with ``benchmarks/bench_steps.py``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

CACHE_ENV = "KERAS_JAX_SCAFFOLD_CACHE_DIR"  # keras_jax_scaffold.format.CACHE_ENV
_CACHE = tempfile.mkdtemp(prefix="kjs-test-cache-")
os.environ[CACHE_ENV] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

# JAX's persistent compilation cache, for this session only (removed at exit): the
# same steps of the same tiny models compile in many tests, xdist workers and
# subprocesses (they inherit it). A hit gives the same executable, so results do not
# change; measured here, it takes 45% off the CPU time of the parity tests.
_JAX_CACHE = tempfile.mkdtemp(prefix="kjs-test-jax-cache-")
os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
atexit.register(shutil.rmtree, _JAX_CACHE, ignore_errors=True)


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
    assert path.read_bytes() == text.encode(
        "utf-8"
    ), f"{path} drifted from what the code makes now; run: {regenerate}"


# --------------------------------------------------------------------------- order

# The longest tests (each minutes of CPU: subprocesses that run Keras's test files or
# install a project and run its tests) start first, so that pytest-xdist's workers
# finish together instead of one running a long test alone at the end.
LONGEST_FIRST = (
    "tests/test_keras_suite.py::test_keras_test_files_pass_with_generated_steps",
    "tests/test_multi_network_recipes.py::test_installed_recipe_project_passes_its_tests",
    "tests/test_project.py::test_installed_project_tests_and_training",
    "tests/test_project.py::test_project_parity_test_catches_a_changed_step",
    "tests/test_recipes.py::test_a_project_ships_the_recipe_proof_as_its_own_test",
)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))

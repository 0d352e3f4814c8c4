"""The format stage: black on rendered Python, its lazy import and the formatted-source
cache in the user's cache directory (never an error, whatever state it is in)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import black
import pytest
from keras_jax_scaffold import cache as cache_module
from keras_jax_scaffold import format as fmt
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.render import Rendered

SOURCE = "x = {  'a':37,'b':42,\n'c':927}\ny = 'hello ''world'\n"
FORMATTED = 'x = {"a": 37, "b": 42, "c": 927}\ny = "hello " "world"\n'


def rendered(source: str = SOURCE, path: str = "demo.py") -> Rendered:
    return Rendered(
        path=path,
        source=source,
        template="module.py.jinja",
        template_file="module.py.jinja",
        user_templates=(),
    )


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache directory, used by this test only."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(cache_module.CACHE_ENV, str(directory))
    return directory


@pytest.fixture
def black_calls(monkeypatch) -> list[str]:
    """Every source black formats from now on."""
    calls: list[str] = []
    real = black.format_str

    def format_str(source, *, mode):
        calls.append(source)
        return real(source, mode=mode)

    monkeypatch.setattr(black, "format_str", format_str)
    return calls


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


def test_python_is_formatted_by_black_for_python_3_10():
    mode = black.Mode(target_versions={black.TargetVersion.PY310})
    assert fmt.format_file(rendered()) == black.format_str(SOURCE, mode=mode)
    assert fmt.format_file(rendered()) == FORMATTED


def test_other_files_are_kept_and_end_with_a_newline(black_calls):
    assert fmt.format_file(rendered("a = 1", "pyproject.toml")) == "a = 1\n"
    assert fmt.format_file(rendered("a\n", "README.md")) == "a\n"
    assert black_calls == []


def test_invalid_python_is_a_located_error_and_not_cached(cache):
    with pytest.raises(UserError) as error:
        fmt.format_file(rendered("def broken(:\n    pass\n"))
    assert str(error.value).startswith("module.py.jinja: rendered demo.py is not valid")
    assert "line 1" in str(error.value)
    assert entries(cache) == []


def test_cache_hit_gives_identical_text_without_importing_black(cache, monkeypatch):
    first = fmt.format_file(rendered())
    assert len(entries(cache)) == 1
    # From here on `import black` fails: a hit must not need it.
    monkeypatch.setitem(sys.modules, "black", None)
    second = fmt.format_file(rendered())
    assert second == first == FORMATTED
    with pytest.raises(ImportError):
        fmt.format_file(rendered(SOURCE + "z = 1\n"))  # a miss does need black


def test_the_key_is_the_exact_rendered_text(cache, black_calls):
    fmt.format_file(rendered())
    fmt.format_file(rendered(SOURCE + "\n"))  # one more newline: another entry
    fmt.format_file(rendered())
    assert black_calls == [SOURCE, SOURCE + "\n"]
    assert len(entries(cache)) == 2


def test_another_black_version_misses(cache, black_calls, monkeypatch):
    fmt.format_file(rendered())
    monkeypatch.setattr(fmt, "black_version", lambda: "0.0.1")
    assert fmt.format_file(rendered()) == FORMATTED
    assert black_calls == [SOURCE, SOURCE]
    assert {p.parent.name for p in entries(cache)} == {
        "black-0.0.1",
        f"black-{black.__version__}",
    }


def test_black_version_is_read_without_importing_black():
    assert fmt.black_version() == black.__version__


@pytest.mark.parametrize(
    "corrupt",
    [
        b"",
        b"not a checksum\n" + FORMATTED.encode(),
        b"\xff\xfe\x00 not utf-8",
        (fmt._digest("y = 2\n") + "\nx = 1\n").encode(),
    ],
    ids=["empty", "bad-checksum", "not-utf8", "wrong-text"],
)
def test_a_corrupt_entry_is_ignored_and_replaced(cache, black_calls, corrupt):
    fmt.format_file(rendered())
    [entry] = entries(cache)
    entry.write_bytes(corrupt)
    assert fmt.format_file(rendered()) == FORMATTED
    assert black_calls == [SOURCE, SOURCE]
    assert fmt.format_file(rendered()) == FORMATTED  # repaired: a hit again
    assert black_calls == [SOURCE, SOURCE]


def test_a_tampered_entry_with_a_valid_checksum_is_what_a_hit_returns(cache):
    """The checksum guards against corruption, not against a deliberate edit: the
    entry is keyed by its input, so the same input gives what the entry holds."""
    fmt.format_file(rendered())
    [entry] = entries(cache)
    text = "x = 1\n"
    entry.write_bytes(f"{fmt._digest(text)}\n{text}".encode())
    assert fmt.format_file(rendered()) == text


def test_an_entry_that_is_a_directory_is_ignored(cache, black_calls):
    fmt.format_file(rendered())
    [entry] = entries(cache)
    entry.unlink()
    entry.mkdir()
    assert fmt.format_file(rendered()) == FORMATTED
    assert fmt.format_file(rendered()) == FORMATTED
    assert len(black_calls) == 3


def test_a_cache_below_a_file_is_ignored(tmp_path, monkeypatch, black_calls):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    monkeypatch.setenv(cache_module.CACHE_ENV, str(blocker / "cache"))
    assert fmt.format_file(rendered()) == FORMATTED
    assert fmt.format_file(rendered()) == FORMATTED
    assert len(black_calls) == 2
    assert blocker.read_text() == "not a directory\n"


def test_a_failing_write_is_ignored_and_leaves_no_temporary_file(
    cache, monkeypatch, black_calls
):
    def full_disk(fd, *args, **kwargs):
        os.close(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", full_disk)
    assert fmt.format_file(rendered()) == FORMATTED
    assert entries(cache) == []


def test_an_unwritable_cache_directory_is_ignored(cache, monkeypatch, black_calls):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    assert fmt.format_file(rendered()) == FORMATTED
    assert entries(cache) == []


def test_black_without_metadata_formats_without_a_cache(cache, monkeypatch):
    def missing():
        raise fmt.importlib.metadata.PackageNotFoundError("black")

    monkeypatch.setattr(fmt, "black_version", missing)
    assert fmt.format_file(rendered()) == FORMATTED
    assert entries(cache) == []

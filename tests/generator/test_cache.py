"""The user cache directory and the compiled-template cache in it (the formatted-source
cache is tested with the format stage, tests/generator/test_format.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import jinja2
import pytest
from keras_jax_scaffold import cache
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.render import render_template
from keras_jax_scaffold.template_set import TemplateSet


def test_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv(cache.CACHE_ENV)
    assert cache.cache_dir() == tmp_path / "xdg" / "keras-jax-scaffold"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "keras-jax-scaffold"


def test_the_suite_does_not_use_the_user_cache():
    """conftest.py points the cache at a temporary directory for every test."""
    directory = cache.cache_dir().resolve()
    assert directory.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert not directory.is_relative_to(Path.home().resolve() / ".cache")


# --------------------------------------------------------------- compiled templates


@pytest.fixture
def user_cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(directory))
    return directory


@pytest.fixture
def templates(tmp_path) -> Path:
    directory = tmp_path / "templates"
    directory.mkdir()
    (directory / "page.jinja").write_text("{% for i in items %}{{ i }},{% endfor %}\n")
    return directory


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """The templates Jinja compiles from now on (a cache hit compiles nothing)."""
    names: list[str] = []
    real = jinja2.Environment.compile

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        names.append(name)
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    return names


def render(templates: Path) -> str:
    return render_template(
        TemplateSet((templates,)).environment, "page.jinja", {"items": [1, 2]}
    )


def test_a_compiled_template_is_reused_by_a_new_environment(
    user_cache, templates, compiles
):
    assert render(templates) == "1,2,"
    assert compiles == ["page.jinja"]
    assert len(list(user_cache.glob("jinja-*/*.cache"))) == 1
    assert render(templates) == "1,2,"
    assert compiles == ["page.jinja"]


def test_a_changed_template_is_compiled_again(user_cache, templates, compiles):
    render(templates)
    (templates / "page.jinja").write_text("{{ items | length }}\n")
    assert render(templates) == "2\n"
    assert compiles == ["page.jinja", "page.jinja"]


@pytest.mark.parametrize("garbage", [b"", b"j2 not bytecode", b"\x00" * 64])
def test_a_corrupt_entry_is_compiled_again(user_cache, templates, compiles, garbage):
    render(templates)
    [entry] = user_cache.glob("jinja-*/*.cache")
    entry.write_bytes(garbage)
    assert render(templates) == "1,2,"
    assert render(templates) == "1,2,"  # rewritten: a hit again
    assert compiles == ["page.jinja", "page.jinja"]


def test_an_unusable_cache_directory_is_ignored(tmp_path, monkeypatch, templates):
    blocker = tmp_path / "a-file"
    blocker.write_text("x\n")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    assert render(templates) == "1,2,"
    assert render(templates) == "1,2,"
    assert blocker.read_text() == "x\n"


def test_errors_keep_their_template_location_when_cached(user_cache, templates):
    (templates / "page.jinja").write_text("ok\n{{ missing }}\n")
    for _ in range(2):  # compiled, then from the cache
        with pytest.raises(UserError, match=r"page\.jinja:2: 'missing' is undefined"):
            render(templates)


def test_other_compile_settings_use_another_directory(user_cache):
    default = cache.template_bytecode_cache(jinja2.Environment())
    trimmed = cache.template_bytecode_cache(jinja2.Environment(trim_blocks=True))
    assert default.directory != trimmed.directory
    assert Path(default.directory).parent == user_cache

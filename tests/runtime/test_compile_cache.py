"""`runtime.compile_cache`: the default directory follows the platform's user cache
directory (or JAX's own variable), `--compile-cache`/`--no-compile-cache` choose it,
and `enable` makes JAX keep what it compiles there, even after it compiled something
elsewhere; a directory that cannot be made is a warning, not an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from keras_jax_scaffold.runtime import compile_cache, options

HOME = Path.home()


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        ({}, "linux", HOME / ".cache" / "keras_jax_scaffold" / "jax"),
        ({"XDG_CACHE_HOME": "/x"}, "linux", Path("/x/keras_jax_scaffold/jax")),
        ({}, "darwin", HOME / "Library" / "Caches" / "keras_jax_scaffold" / "jax"),
        ({"LOCALAPPDATA": "C:/L"}, "win32", Path("C:/L/keras_jax_scaffold/jax")),
        (
            {"JAX_COMPILATION_CACHE_DIR": "/j", "XDG_CACHE_HOME": "/x"},
            "linux",
            Path("/j"),
        ),
    ],
)
def test_default_directory(environ, platform, expected):
    assert compile_cache.default_directory(environ, platform) == expected


def parse(*argv):
    return options.parse_args(
        list(argv), prog="t", description="", learning_rate=0.1,
        steps_per_execution=2, dtype_policy="float32",
    )  # fmt: skip


def test_options_choose_the_directory_or_none(tmp_path, capsys):
    assert parse().compile_cache == compile_cache.default_directory()
    assert parse("--compile-cache", str(tmp_path)).compile_cache == tmp_path
    assert parse("--no-compile-cache").compile_cache is None
    assert parse().scaling is True and parse("--no-scaling").scaling is False
    with pytest.raises(SystemExit):
        parse("--no-compile-cache", "--compile-cache", str(tmp_path))
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.fixture
def restored_jax_cache():
    """JAX's cache settings as they were before the test (the suite's own)."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    names = (
        "jax_compilation_cache_dir",
        "jax_persistent_cache_min_compile_time_secs",
        "jax_persistent_cache_min_entry_size_bytes",
    )
    before = {name: getattr(jax.config, name) for name in names}
    yield
    for name, value in before.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()


def test_enable_keeps_compiled_programs_in_the_directory(tmp_path, restored_jax_cache):
    import jax
    import jax.numpy as jnp

    jax.jit(lambda x: x * 3.0 - 1.0)(jnp.ones(3)).block_until_ready()  # before
    assert compile_cache.enable(tmp_path / "cache")
    jax.jit(lambda x: jnp.sin(x) * 7.25 + 0.5)(jnp.ones(5)).block_until_ready()
    assert list((tmp_path / "cache").iterdir())
    assert compile_cache.enable(None) is False


def test_a_directory_that_cannot_be_made_is_a_warning(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert compile_cache.enable(blocker / "cache") is False
    assert capsys.readouterr().out.startswith("warning: no compile cache in ")

# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""JAX's persistent compilation cache for `train` (`--compile-cache`): the programs
a run compiles are kept on disk, so that the next run of the same training loads them
instead of compiling again (the train steps, and the small programs Keras runs while
it builds the model). JAX keys each program by its computation, the compile options,
the JAX version and the device, so a changed model or another machine compiles anew.
As JAX warns, a compilation cache is trusted code: keep it in a directory only you
can write to (the default is in your own cache directory).

No keras, no jax at import (the options' defaults come from here); `enable` imports
jax.
"""

import os
import sys
from pathlib import Path

# JAX's own variable for the cache directory: when set, it is the default.
DIRECTORY_VARIABLE = "JAX_COMPILATION_CACHE_DIR"


def package_name():
    """The name of the package this runtime belongs to (`NAME` of `NAME.runtime`)."""
    return __name__.rpartition(".runtime.")[0] or "keras_jax_scaffold"


def user_cache_directory(environ=None, platform=None):
    """The user's cache directory, where platformdirs' `user_cache_dir` puts it:
    `%LOCALAPPDATA%` on Windows, `~/Library/Caches` on macOS, `$XDG_CACHE_HOME` or
    `~/.cache` elsewhere."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        return Path(environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def default_directory(environ=None, platform=None):
    """`$JAX_COMPILATION_CACHE_DIR` if set, else `jax` in this package's directory
    of the user's cache directory (e.g. `~/.cache/NAME/jax`)."""
    environ = os.environ if environ is None else environ
    if environ.get(DIRECTORY_VARIABLE):
        return Path(environ[DIRECTORY_VARIABLE])
    return user_cache_directory(environ, platform) / package_name() / "jax"


def enable(directory):
    """Keep every program JAX compiles from now on in `directory` (created if
    needed), however short its compile: call it before anything is compiled. None
    leaves the cache off. A directory that cannot be created is a warning: training
    goes on without the cache. Returns whether the cache is on."""
    if directory is None:
        return False
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"warning: no compile cache in {directory}: {error}")
        return False
    jax.config.update("jax_compilation_cache_dir", str(directory))
    # JAX keeps only programs that took a second or more to compile by default; a
    # small model's take less, and the same run compiles them again every time.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    # JAX reads these when it first compiles: start again in case it has.
    compilation_cache.reset_cache()
    return True

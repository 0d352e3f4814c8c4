"""The user's cache directory: what a render can reuse from the previous one.

``$KERAS_JAX_SCAFFOLD_CACHE_DIR``, else ``$XDG_CACHE_HOME/keras-jax-scaffold``, else
``~/.cache/keras-jax-scaffold``. It holds black-formatted sources (``format.py``) and
compiled templates (``template_bytecode_cache``). A cache only saves time: anything
wrong with it (missing, corrupt, unreadable, unwritable) is ignored, never an error.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import jinja2

CACHE_ENV = "KERAS_JAX_SCAFFOLD_CACHE_DIR"
CACHE_NAME = "keras-jax-scaffold"

# Environment settings that change the code Jinja compiles a template to.
_COMPILE_SETTINGS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "autoescape",
    "sandboxed",  # a sandboxed environment compiles attribute access differently
)


def cache_dir() -> Path:
    """Where this tool caches (see the module docstring)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / CACHE_NAME


class _TemplateBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache (keyed by template name, file and source checksum) that
    treats a bad entry as a miss and a failed write as nothing."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - a corrupt entry: compile the template
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass  # a cache that cannot be written only costs time


def template_bytecode_cache(env: jinja2.Environment) -> jinja2.BytecodeCache:
    """A bytecode cache for ``env``'s templates, apart for each Jinja version and
    compile setting (the bytecode depends on both; the entry key does not)."""
    settings = [jinja2.__version__]
    settings += [repr(getattr(env, name, None)) for name in _COMPILE_SETTINGS]
    settings += sorted(env.extensions)
    key = hashlib.sha256("\0".join(settings).encode()).hexdigest()[:16]
    return _TemplateBytecodeCache(str(cache_dir() / f"jinja-{key}"), "%s.cache")

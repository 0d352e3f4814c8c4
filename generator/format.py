"""Rendered sources -> black-formatted sources, in memory; invalid Python is an error."""

from __future__ import annotations

import black
from keras_jax_scaffold.errors import UserError

MODE = black.Mode(target_versions={black.TargetVersion.PY310})


def format_source(path: str, source: str) -> str:
    try:
        return black.format_str(source, mode=MODE)
    except black.parsing.InvalidInput as error:
        # black reports "Cannot parse for target version ...: LINE:COL: text".
        raise UserError(f"{path}: rendered code is not valid Python: {error}") from None


def format_files(files: dict[str, str]) -> dict[str, str]:
    return {path: format_source(path, source) for path, source in files.items()}

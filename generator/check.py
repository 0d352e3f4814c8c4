"""Formatted files -> checked: each Python file still defines what the code running it needs.

A custom template can drop the model class, ``build_model`` or ``make_dataset``; the
error names the template (the user's, when one took part) instead of failing later when
the file is imported.
"""

from __future__ import annotations

import ast

from .errors import UserError
from .layout import OutputFile
from .render import Rendered


def top_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def check_files(
    formatted: dict[str, str],
    rendered: dict[str, Rendered],
    layout: tuple[OutputFile, ...],
    context: dict,
) -> None:
    """Raise UserError when a rendered file lacks a name listed in ``layout``."""
    for item in layout:
        path = item.output_path(context)
        required = item.required_names(context)
        if not required:
            continue
        defined = top_level_names(formatted[path])
        missing = [n for n in required if n not in defined]
        if missing:
            origin = rendered[path]
            where = (
                origin.user_templates[-1]
                if len(origin.user_templates) == 1
                else origin.template_file
            )
            raise UserError(
                f"{where}: rendered {path} no longer defines "
                f"{', '.join(missing)} (needed: {', '.join(required)})"
            )

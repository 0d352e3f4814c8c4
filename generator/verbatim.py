"""Files written unchanged: the projects' runtime (generator/runtime/).

Read as package data, byte for byte: nothing of the runtime is imported (rendering
imports neither keras nor jax), and no template, formatter or check touches it.
"""

from __future__ import annotations

from importlib.resources import files

from .layout import verbatim_paths


def runtime_source(name: str) -> str:
    """The text of ``generator/runtime/NAME``, exactly as installed."""
    resource = files("keras_jax_scaffold") / "runtime" / name
    return resource.read_bytes().decode("utf-8")


def verbatim_files(layout: str, context: dict) -> dict[str, str]:
    """``{output path: source}`` of the files ``layout`` copies unchanged."""
    paths = verbatim_paths(layout, context["package_name"])
    return {path: runtime_source(name) for path, name in paths.items()}

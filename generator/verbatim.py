"""Files written unchanged: the projects' runtime (generator/runtime/).

Read as package data, byte for byte: nothing of the runtime is imported (rendering
imports neither keras nor jax), and no template, formatter or check touches it.
"""

from __future__ import annotations

from importlib.resources import files

from .layout import RUNTIME_DIR, VERBATIM


def runtime_source(name: str) -> str:
    """The text of ``generator/runtime/NAME``, exactly as installed."""
    resource = files("keras_jax_scaffold") / "runtime" / name
    return resource.read_bytes().decode("utf-8")


def verbatim_files(layout: str, context: dict) -> dict[str, str]:
    """``{output path: source}`` of the files ``layout`` copies unchanged."""
    directory = RUNTIME_DIR.format(package=context["package_name"])
    return {f"{directory}/{name}": runtime_source(name) for name in VERBATIM[layout]}

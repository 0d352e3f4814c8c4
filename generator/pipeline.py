"""The pipeline, end to end: answers -> spec -> context -> rendered -> formatted -> checked
-> plan -> disk.

Each stage lives in its own module; this one only chains them, so a reader (and the
command line) sees the whole flow in one place. Nothing is written unless every stage
before the write succeeded.
"""

from __future__ import annotations

from pathlib import Path

from keras_jax_scaffold.check import check_files
from keras_jax_scaffold.context import build_context
from keras_jax_scaffold.format import format_files
from keras_jax_scaffold.layout import LAYOUTS
from keras_jax_scaffold.plan import PlannedFile, check_plan, plan_files
from keras_jax_scaffold.render import render_files
from keras_jax_scaffold.spec import Answers, Spec, build_spec
from keras_jax_scaffold.template_set import TemplateSet
from keras_jax_scaffold.write import apply_plan, ensure_writable


def template_search_path(
    template_dirs: tuple[Path, ...], output_dir: Path
) -> tuple[Path, ...]:
    """``--template-dir``s first, then the project-local directory, if any."""
    return TemplateSet.search(template_dirs, output_dir).directories


def render_spec(
    spec: Spec, template_dirs: tuple[Path, ...] = (), layout: str = "module"
) -> dict[str, str]:
    """``{relative path: formatted source}`` for ``spec``; touches no file."""
    templates = TemplateSet(template_dirs)
    context = build_context(spec, tuple(templates.source_labels()))
    files = LAYOUTS[layout]
    rendered = render_files(context, files, templates)
    formatted = format_files(rendered)
    check_files(formatted, rendered, files, context)
    return formatted


def generate(
    answers: Answers,
    output_dir: Path,
    *,
    force: bool = False,
    dry_run: bool = False,
    template_dirs: tuple[Path, ...] = (),
) -> list[PlannedFile]:
    """Render ``answers`` into ``output_dir``; returns the plan that was (or would be) applied.

    ``template_dirs`` are searched before the project-local template directory and the
    built-ins. With ``dry_run`` nothing is written and conflicts are left in the plan
    for the caller to report; otherwise a conflict raises UserError before any write.
    """
    spec = build_spec(answers)
    files = render_spec(spec, template_search_path(template_dirs, output_dir))
    return write_files(files, output_dir, force=force, dry_run=dry_run)


def write_files(
    files: dict[str, str], output_dir: Path, *, force: bool, dry_run: bool
) -> list[PlannedFile]:
    """Plan ``files`` against the disk and, unless ``dry_run``, write them (all or none)."""
    planned = plan_files(files, output_dir, force)
    if dry_run:
        return planned
    check_plan(planned)
    ensure_writable(output_dir)
    apply_plan(planned)
    return planned

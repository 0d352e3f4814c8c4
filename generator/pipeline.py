"""The pipeline, end to end: answers -> spec -> context -> rendered -> formatted -> checked
-> plan -> disk.

Each stage lives in its own module; this one only chains them, so a reader (and the
command line) sees the whole flow in one place. Nothing is written unless every stage
before the write succeeded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from . import recipes
from .check import check_files
from .context import build_context
from .errors import UserError
from .format import format_files
from .layout import LAYOUTS
from .plan import FileChange, Plan, conflicts, plan_writes
from .render import render_files
from .spec import Answers, Spec, build_spec
from .template_set import TemplateSet
from .verbatim import verbatim_files
from .write import apply, preflight


def template_search_path(
    template_dirs: tuple[Path, ...], output_dir: Path
) -> tuple[Path, ...]:
    """``--template-dir``s first, then the project-local directory, if any."""
    return TemplateSet.search(template_dirs, output_dir).directories


def render_spec(
    spec: Spec,
    template_dirs: tuple[Path, ...] = (),
    layout: str = "module",
    recorded_vars: tuple[str, ...] = (),
    unread_vars: list[str] | None = None,
) -> dict[str, str]:
    """``{relative path: formatted source}`` for ``spec``; touches no file.

    A ``--var`` no template reads is an error, except ``recorded_vars``: those an
    existing project recorded (`update` keeps them whatever its templates read now;
    those unread are appended to ``unread_vars``). A project also gets the runtime,
    copied unchanged (``verbatim_files``).
    """
    templates = TemplateSet(template_dirs)
    context = build_context(spec, tuple(templates.source_labels()), layout)
    files = LAYOUTS[layout]
    rendered = render_files(context, files, templates, recorded_vars, unread_vars)
    formatted = format_files(rendered)
    check_files(formatted, rendered, files, context)
    return {**formatted, **verbatim_files(layout, context)}


def relative_template_dirs(
    template_dirs: tuple[Path, ...], output_dir: Path
) -> tuple[str, ...]:
    """The template directories relative to ``output_dir``, as the command line that
    renders the file again (run in that directory) names them."""
    return tuple(
        Path(os.path.relpath(d.resolve(), output_dir.resolve())).as_posix()
        for d in template_dirs
    )


def spec_for_output(
    answers: Answers, output_dir: Path
) -> tuple[Spec, tuple[Path, ...]]:
    """The spec of ``answers`` written to ``output_dir``, and its template directories
    (``answers.template_dirs``, as given: relative to the working directory)."""
    template_dirs = tuple(Path(d) for d in answers.template_dirs or ())
    relative = relative_template_dirs(template_dirs, output_dir)
    return build_spec(replace(answers, template_dirs=relative)), template_dirs


def generate(
    answers: Answers,
    output_dir: Path,
    *,
    force: bool = False,
    dry_run: bool = False,
) -> Plan:
    """Render ``answers`` into ``output_dir``; returns the plan that was (or would be) applied.

    ``answers.template_dirs`` are searched before the project-local template directory
    and the built-ins. With ``dry_run`` nothing is written and conflicts are left in the
    plan for the caller to report; otherwise a conflict raises UserError before any
    write.
    """
    spec, template_dirs = spec_for_output(answers, output_dir)
    files = render_spec(spec, template_search_path(template_dirs, output_dir))
    return write_files(
        files, output_dir, force=force, dry_run=dry_run, notes=answer_notes(spec)
    )


def answer_notes(spec: Spec) -> tuple[str, ...]:
    """What `new` notes about the answers (a --teacher file that does not exist yet)."""
    return recipes.setting_notes(spec.recipe, vars(spec))


def write_files(
    files: dict[str, str],
    output_dir: Path,
    *,
    force: bool,
    dry_run: bool,
    notes: tuple[str, ...] = (),
    last: Sequence[FileChange] = (),
) -> Plan:
    """Plan ``files`` against the disk and, unless ``dry_run``, write them (all or none).

    A dry run checks as much as a real run (the preflight) but leaves conflicts in the
    plan for the caller to report; a real run refuses them before any write. ``last``:
    changes made after the files, in the same all-or-nothing step (a project's base),
    and not in the returned plan.
    """
    plan = Plan(output_dir, plan_writes(files, output_dir, force), notes)
    if not dry_run:
        refused = conflicts(plan.changes)
        if refused:
            raise UserError(
                f"{str(output_dir / refused[0])!r} exists and differs from the generated "
                "code; use --force to overwrite it (or --dry-run to see the diff)"
            )
    preflight(output_dir, [*plan.changes, *last])
    if not dry_run:
        apply(output_dir, [*plan.changes, *last])
    return plan

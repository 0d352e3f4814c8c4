"""The pipeline, end to end: answers -> spec -> context -> rendered -> formatted -> plan -> disk.

Each stage lives in its own module; this one only chains them, so a reader (and the
command line) sees the whole flow in one place. Nothing is written unless every stage
before the write succeeded.
"""

from __future__ import annotations

from pathlib import Path

from keras_jax_scaffold.context import build_context
from keras_jax_scaffold.format import format_files
from keras_jax_scaffold.plan import PlannedFile, check_plan, plan_files
from keras_jax_scaffold.render import render_module
from keras_jax_scaffold.spec import Answers, Spec, build_spec
from keras_jax_scaffold.write import apply_plan, ensure_writable


def render_spec(spec: Spec, template_dirs: tuple[Path, ...] = ()) -> dict[str, str]:
    """``{relative path: formatted source}`` for ``spec``; touches no file."""
    return format_files(render_module(build_context(spec), template_dirs))


def generate(
    answers: Answers,
    output_dir: Path,
    *,
    force: bool = False,
    dry_run: bool = False,
    template_dirs: tuple[Path, ...] = (),
) -> list[PlannedFile]:
    """Render ``answers`` into ``output_dir``; returns the plan that was (or would be) applied.

    With ``dry_run`` nothing is written and conflicts are left in the plan for the
    caller to report; otherwise a conflict raises UserError before any write.
    """
    spec = build_spec(answers)
    files = render_spec(spec, template_dirs)
    planned = plan_files(files, output_dir, force)
    if dry_run:
        return planned
    check_plan(planned)
    ensure_writable(output_dir)
    apply_plan(planned)
    return planned

"""Projects: `new NAME --project` renders an installable project into NAME/ and records
the answers (``.keras-jax-scaffold.json``) and the render itself
(``.keras-jax-scaffold/base.json``, the base of a later 3-way `update`).

Both files are JSON with sorted keys and no timestamps, so the same answers give the same
bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from . import __version__
from .errors import UserError, os_reason, unknown
from .layout import ANSWERS_FILE, BASE_FILE
from .pipeline import (
    answer_notes,
    render_spec,
    spec_for_output,
    template_search_path,
    write_files,
)
from .plan import Plan
from .spec import (
    ANSWER_INDEX,
    ANSWERS,
    Answers,
    Spec,
    answers_from_spec,
)

# The answers the file records under "answers" (the template directories have their
# own key: relative to the project, so that `update` finds them wherever it runs).
STORED = tuple(question for question in ANSWERS if question.stored)
FILE_KEYS = ("answers", "template_dirs", "tool_version")


class Recorded(NamedTuple):
    """What the answers file holds."""

    answers: Answers
    tool_version: str
    template_dirs: tuple[str, ...]  # relative to the project, as written


def dump_answers(
    spec: Spec, template_dirs: tuple[Path, ...] = (), project_dir: Path = Path(".")
) -> str:
    """The answers file: every answer, the ``--template-dir``s (relative to the project,
    so `update` uses them again) and the tool version."""
    answers = answers_from_spec(spec)
    values = {q.name: q.kind.to_json(getattr(answers, q.name)) for q in STORED}
    directories = [
        Path(os.path.relpath(d.resolve(), project_dir.resolve())).as_posix()
        for d in template_dirs
    ]
    document = {
        "answers": values,
        "template_dirs": directories,
        "tool_version": __version__,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def dump_base(files: dict[str, str]) -> str:
    document = {"files": dict(sorted(files.items())), "tool_version": __version__}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _load_json(path: Path, what: str, missing: str) -> dict:
    """The JSON object in ``path``; UserError ``missing`` when there is no such file."""
    try:
        if not path.is_file():
            raise UserError(missing)
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(
            f"cannot read {what} {str(path)!r}: {os_reason(error)}"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{str(path)!r} is not a valid {what}: {error}") from None
    if not isinstance(document, dict):
        raise UserError(f"{str(path)!r} is not a valid {what}: expected a JSON object")
    return document


def _check_keys(path: Path, found, allowed, where: str) -> None:
    for key in sorted(found):
        if key not in allowed:
            error = unknown(f"key in {where}", key, allowed)
            raise UserError(f"{str(path)!r}: {error}")


def read_answers(project_dir: Path) -> Recorded:
    """The answers file, read and checked once."""
    path = project_dir / ANSWERS_FILE
    missing = (
        f"{str(project_dir)!r} has no {ANSWERS_FILE}: it is not a project made by "
        "`keras-jax-scaffold new NAME --project`"
    )
    document = _load_json(path, "answers file", missing)
    _check_keys(path, document, FILE_KEYS, "the answers file")
    values = document.get("answers")
    if not isinstance(values, dict):
        raise UserError(f"{str(path)!r}: 'answers' must be a JSON object")
    _check_keys(path, values, [q.name for q in STORED], "'answers'")
    for key, value in sorted(values.items()):
        kind = ANSWER_INDEX[key].kind
        if not kind.json_ok(value):
            raise UserError(
                f"{str(path)!r}: answer {key!r} has the wrong type ({value!r})"
            )
        values[key] = kind.from_json(value)
    directories = document.get("template_dirs", [])
    if not isinstance(directories, list) or not all(
        isinstance(d, str) for d in directories
    ):
        raise UserError(f"{str(path)!r}: 'template_dirs' must be a list of paths")
    return Recorded(
        Answers(**values),
        str(document.get("tool_version", "unknown")),
        tuple(directories),
    )


def recorded_template_dirs(project_dir: Path, recorded: Recorded) -> tuple[Path, ...]:
    """The recorded ``--template-dir``s, resolved against the project; each must exist."""
    result = []
    for directory in recorded.template_dirs:
        resolved = project_dir / directory
        if not resolved.is_dir():
            raise UserError(
                f"{str(project_dir / ANSWERS_FILE)!r}: recorded template directory "
                f"{directory!r} does not exist; pass --template-dir DIR, or remove it "
                "from 'template_dirs'"
            )
        result.append(resolved)
    return tuple(result)


def read_base(project_dir: Path) -> dict[str, str]:
    """The files as the last `new`/`update` rendered them (``{path: content}``)."""
    path = project_dir / BASE_FILE
    missing = (
        f"{str(project_dir)!r} has no {BASE_FILE} (the last render, needed to merge); "
        "restore it from version control"
    )
    document = _load_json(path, "base file", missing)
    files = document.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise UserError(f"{str(path)!r}: 'files' must map paths to file contents")
    return files


def render_project(
    spec: Spec,
    template_dirs: tuple[Path, ...],
    project_dir: Path,
    recorded_vars: tuple[str, ...] = (),
    unread_vars: list[str] | None = None,
) -> dict[str, str]:
    """The project's files, the answers file and the base file; touches no file.
    ``recorded_vars`` (kept from the answers file) may go unread by the templates
    (appended to ``unread_vars``)."""
    files = render_spec(
        spec,
        template_search_path(template_dirs, project_dir),
        layout="project",
        recorded_vars=recorded_vars,
        unread_vars=unread_vars,
    )
    return {
        **files,
        ANSWERS_FILE: dump_answers(spec, template_dirs, project_dir),
        BASE_FILE: dump_base(files),
    }


def create_project(
    answers: Answers,
    output_dir: Path,
    *,
    force: bool = False,
    dry_run: bool = False,
) -> Plan:
    """Render a project into ``output_dir/NAME``; the plan that was (or would be) applied."""
    spec, template_dirs = spec_for_output(answers, output_dir)
    project_dir = output_dir / spec.name
    try:
        not_empty = project_dir.is_dir() and any(project_dir.iterdir())
    except OSError as error:
        raise UserError(
            f"cannot read {str(project_dir)!r}: {os_reason(error)}"
        ) from None
    if not_empty and not force:
        raise UserError(
            f"{str(project_dir)!r} exists and is not empty; use --force to write the "
            "project into it (files the project does not generate are left alone), or "
            "`keras-jax-scaffold update` to update a generated project"
        )
    files = render_project(spec, template_dirs, project_dir)
    return write_files(
        files, project_dir, force=force, dry_run=dry_run, notes=answer_notes(spec)
    )

"""Projects: `new NAME --project` renders an installable project into NAME/ and records
the answers and the render itself, the base of a later 3-way `update`.

* The answers file ``.keras-jax-scaffold.json``: the answers whose question applies to
  the project (as copier keeps them: a setting of a recipe the project does not use is
  not recorded), the ``--template-dir``s and the tool version; JSON with sorted keys and
  no timestamps, so the same answers give the same bytes. A recorded answer that does
  not apply (older projects recorded every one) is dropped when read, not an error.
* The base ``.keras-jax-scaffold/base/``: one plain file per generated file, the bytes
  written then (``base/src/NAME/model.py`` is the model file as last rendered), so that
  a commit's diff of the base reads like the diff of the files. It is written after
  everything else; projects made before it record the base as one JSON document
  (``.keras-jax-scaffold/base.json``), which `update` reads and replaces with the tree.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from . import __version__
from .errors import UserError, os_reason, unknown
from .layout import ANSWERS_FILE, BASE_DIR, LEGACY_BASE_FILE
from .pipeline import (
    answer_notes,
    render_spec,
    spec_for_output,
    template_search_path,
    write_files,
)
from .plan import FileChange, Plan, Status, read_existing
from .spec import (
    ANSWER_INDEX,
    ANSWERS,
    Answers,
    Spec,
    answers_from_spec,
)
from .write import is_temporary

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
    """The answers file: every answer that applies (explicit, so that a changed default
    never changes the project), the ``--template-dir``s (relative to the project, so
    `update` uses them again) and the tool version."""
    answers = answers_from_spec(spec)
    resolved = {q.name: getattr(spec, q.name) for q in ANSWERS}
    values = {
        q.name: q.kind.to_json(getattr(answers, q.name))
        for q in STORED
        if q.applies_to(resolved)
    }
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
    _drop_inapplicable(values)
    directories = document.get("template_dirs", [])
    if not isinstance(directories, list) or not all(
        isinstance(d, str) for d in directories
    ):
        raise UserError(f"{str(path)!r}: 'template_dirs' must be a list of paths")
    return Recorded(
        Answers(**values, project=True),  # an answers file is a project's
        str(document.get("tool_version", "unknown")),
        tuple(directories),
    )


def _drop_inapplicable(values: dict) -> None:
    """Remove the recorded answers whose question does not apply (the settings of a
    recipe the project does not use, ``input_shape`` beside named inputs, ...): they
    take their defaults, which is what they stood for. Stops at the first answer that
    does not resolve; `update` reports it with the answers file's path."""
    resolved: dict = {}
    for question in ANSWERS:
        raw = values.get(question.name)
        if raw is not None and not question.applies_to(resolved):
            del values[question.name]
            raw = None
        try:
            if raw is None:
                raw = question.default_for(resolved)
            resolved[question.name] = question.resolve(raw, resolved)
        except UserError:
            return


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


# What tools leave in a directory besides its files: not part of the base.
NOT_BASE = frozenset({"__pycache__", ".DS_Store"})


def base_path(path: str) -> str:
    """Where the base of the generated file ``path`` is, relative to the project."""
    return f"{BASE_DIR}/{path}"


def _base_tree(project_dir: Path) -> dict[str, str]:
    """The files under the base directory, exactly as they are (``{generated path:
    text}``; empty where there is no base directory). Skips what tools leave there
    (``NOT_BASE``) and the temporary files of an interrupted write."""
    root = project_dir / BASE_DIR
    if not root.is_dir():
        return {}

    def fail(error: OSError):
        raise UserError(f"cannot read {str(error.filename)!r}: {os_reason(error)}")

    files = {}
    for directory, subdirectories, names in os.walk(root, onerror=fail):
        subdirectories[:] = sorted(d for d in subdirectories if d not in NOT_BASE)
        for name in sorted(names):
            if name in NOT_BASE or is_temporary(name):
                continue
            path = Path(directory, name)
            text = read_existing(path)
            if text is not None:
                files[path.relative_to(root).as_posix()] = text
    return files


def _read_legacy_base(path: Path) -> dict[str, str]:
    """The base as one JSON document (``{"files": {path: text}}``), as older releases
    wrote it."""
    document = _load_json(path, "base file", f"{str(path)!r} does not exist")
    files = document.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise UserError(f"{str(path)!r}: 'files' must map paths to file contents")
    return files


def base_location(project_dir: Path) -> Path:
    """Where the base is read from: an older release's ``base.json`` while there is
    one, else the base directory."""
    legacy = project_dir / LEGACY_BASE_FILE
    return legacy if legacy.exists() else project_dir / BASE_DIR


def read_base(project_dir: Path) -> dict[str, str]:
    """The files as the last `new`/`update` rendered them (``{path: content}``).

    A ``base.json`` of an older release, while there is one, is the base (an update
    that was interrupted after writing part of the tree leaves it: the tree is
    written again). Line ends are ``\\n``, as rendered: a checkout that turned them
    into ``\\r\\n`` (git's autocrlf) does not change the base.
    """
    location = base_location(project_dir)
    if location == project_dir / LEGACY_BASE_FILE:
        return _read_legacy_base(location)
    files = _base_tree(project_dir)
    if not files:
        raise UserError(
            f"{str(project_dir)!r} has no {BASE_DIR}/ (the last render, needed to "
            "merge); restore it from version control"
        )
    return {path: text.replace("\r\n", "\n") for path, text in files.items()}


def plan_base(project_dir: Path, files: dict[str, str]) -> list[FileChange]:
    """The changes that make the base directory hold exactly ``files`` (the render):
    writes first, then the removal of base files no longer generated, then of an older
    release's ``base.json``. Reads only."""
    current = _base_tree(project_dir)
    changes = []
    for path, content in sorted(files.items()):
        old = current.get(path)
        if old is None:
            status = Status.CREATE
        else:
            status = Status.IDENTICAL if old == content else Status.UPDATE
        changes.append(FileChange(base_path(path), status, content, old))
    for path in sorted(set(current) - set(files)):
        changes.append(FileChange(base_path(path), Status.DELETE, None, current[path]))
    legacy = read_existing(project_dir / LEGACY_BASE_FILE)
    if legacy is not None:
        changes.append(FileChange(LEGACY_BASE_FILE, Status.DELETE, None, legacy))
    return changes


def base_summary(changes: list[FileChange]) -> list[FileChange]:
    """What :func:`plan_base`'s changes show: one line for the base directory, one for
    a ``base.json`` it replaces; no diffs (the files' own diffs show the same)."""
    tree = [c for c in changes if c.path != LEGACY_BASE_FILE]
    counts = {
        status: sum(c.status is status for c in tree)
        for status in (Status.CREATE, Status.UPDATE, Status.DELETE)
    }
    if counts[Status.CREATE] == len(tree):
        status, note = Status.CREATE, f"the base of `update`: {len(tree)} files"
    elif any(counts.values()):
        status = Status.UPDATE
        words = {
            Status.CREATE: "new",
            Status.UPDATE: "changed",
            Status.DELETE: "removed",
        }
        note = ", ".join(f"{n} {words[s]}" for s, n in counts.items() if n)
    else:
        status, note = Status.IDENTICAL, ""
    shown = [FileChange(BASE_DIR, status, None, None, note)]
    if len(tree) < len(changes):
        note = f"replaced by {BASE_DIR}/"
        shown.append(FileChange(LEGACY_BASE_FILE, Status.DELETE, None, None, note))
    return shown


def render_project(
    spec: Spec,
    template_dirs: tuple[Path, ...],
    project_dir: Path,
    recorded_vars: tuple[str, ...] = (),
    unread_vars: list[str] | None = None,
) -> dict[str, str]:
    """The project's files and the answers file (not the base: :func:`plan_base`);
    touches no file. ``recorded_vars`` (kept from the answers file) may go unread by
    the templates (appended to ``unread_vars``)."""
    spec = replace(spec, project=True)  # its command line says so
    files = render_spec(
        spec,
        template_search_path(template_dirs, project_dir),
        layout="project",
        recorded_vars=recorded_vars,
        unread_vars=unread_vars,
    )
    return {**files, ANSWERS_FILE: dump_answers(spec, template_dirs, project_dir)}


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
    generated = {path: text for path, text in files.items() if path != ANSWERS_FILE}
    base = plan_base(project_dir, generated)
    plan = write_files(
        files,
        project_dir,
        force=force,
        dry_run=dry_run,
        notes=answer_notes(spec),
        last=base,
    )
    return replace(
        plan,
        changes=sorted(
            [*plan.changes, *base_summary(base)], key=lambda change: change.path
        ),
    )

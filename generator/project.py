"""Projects: `new NAME --project` renders an installable project into NAME/ and records
the answers (``.keras-jax-scaffold.json``) and the render itself
(``.keras-jax-scaffold/base.json``, the base of a later 3-way `update`).

Both files are JSON with sorted keys and no timestamps, so the same answers give the same
bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import NamedTuple

from keras_jax_scaffold import __version__
from keras_jax_scaffold.errors import UserError, unknown
from keras_jax_scaffold.layout import ANSWERS_FILE, BASE_FILE
from keras_jax_scaffold.pipeline import render_spec, template_search_path, write_files
from keras_jax_scaffold.plan import PlannedFile
from keras_jax_scaffold.spec import Answers, Spec, build_spec

ANSWER_KEYS = tuple(f.name for f in fields(Answers))
# JSON type of each answer (None is never stored: every answer is explicit).
ANSWER_TYPES = {
    "name": str,
    "model_type": str,
    "loss": str,
    "task": str,
    "metrics": list,
    "optimizer": str,
    "learning_rate": (int, float),
    "input_shape": str,
    "num_classes": int,
    "output_units": int,
    "hidden_units": int,
    "variables": dict,
    "recipe": str,
    "recipe_settings": dict,
}
FILE_KEYS = ("answers", "template_dirs", "tool_version")


class Recorded(NamedTuple):
    """What the answers file holds."""

    answers: Answers
    tool_version: str
    template_dirs: tuple[str, ...]  # relative to the project, as written


def answers_from_spec(spec: Spec) -> Answers:
    """Every answer explicit, so a changed default never changes an existing project."""
    return Answers(
        name=spec.name,
        model_type=spec.model_type,
        loss=spec.loss.snake_name,
        task=spec.task.name,
        metrics=tuple(m.snake_name for m in spec.metrics),
        optimizer=spec.optimizer.lower(),
        learning_rate=spec.learning_rate,
        input_shape=",".join(str(d) for d in spec.input_shape),
        num_classes=spec.num_classes,
        output_units=spec.output_units,
        hidden_units=spec.hidden_units,
        variables=spec.variables,
        recipe=spec.recipe.name,
        recipe_settings=spec.recipe_settings,
    )


def dump_answers(
    spec: Spec, template_dirs: tuple[Path, ...] = (), project_dir: Path = Path(".")
) -> str:
    """The answers file: every answer, the ``--template-dir``s (relative to the project,
    so `update` uses them again) and the tool version."""
    answers = answers_from_spec(spec)
    values = {key: getattr(answers, key) for key in ANSWER_KEYS}
    values["metrics"] = list(values["metrics"])
    values["variables"] = dict(values["variables"])
    values["recipe_settings"] = dict(values["recipe_settings"])
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


def _load_json(path: Path, what: str) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"cannot read {what} {str(path)!r}: {error.strerror}") from None
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
    if not path.is_file():
        raise UserError(
            f"{str(project_dir)!r} has no {ANSWERS_FILE}: it is not a project made by "
            "`keras-jax-scaffold new NAME --project`"
        )
    document = _load_json(path, "answers file")
    _check_keys(path, document, FILE_KEYS, "the answers file")
    values = document.get("answers")
    if not isinstance(values, dict):
        raise UserError(f"{str(path)!r}: 'answers' must be a JSON object")
    _check_keys(path, values, ANSWER_KEYS, "'answers'")
    for key, value in sorted(values.items()):
        expected = ANSWER_TYPES[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise UserError(
                f"{str(path)!r}: answer {key!r} has the wrong type ({value!r})"
            )
    if "metrics" in values:
        values["metrics"] = tuple(values["metrics"])
    if "variables" in values:
        values["variables"] = tuple(sorted(values["variables"].items()))
    if "recipe_settings" in values:
        values["recipe_settings"] = tuple(sorted(values["recipe_settings"].items()))
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
    if not path.is_file():
        raise UserError(
            f"{str(project_dir)!r} has no {BASE_FILE} (the last render, needed to merge); "
            "restore it from version control"
        )
    document = _load_json(path, "base file")
    files = document.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise UserError(f"{str(path)!r}: 'files' must map paths to file contents")
    return files


def render_project(
    spec: Spec, template_dirs: tuple[Path, ...], project_dir: Path
) -> dict[str, str]:
    """The project's files, the answers file and the base file; touches no file."""
    files = render_spec(
        spec, template_search_path(template_dirs, project_dir), layout="project"
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
    template_dirs: tuple[Path, ...] = (),
) -> list[PlannedFile]:
    """Render a project into ``output_dir/NAME``; the plan that was (or would be) applied."""
    spec = build_spec(answers)
    project_dir = output_dir / spec.name
    if project_dir.exists() and not project_dir.is_dir():
        raise UserError(f"{str(project_dir)!r} exists and is not a directory")
    if project_dir.is_dir() and any(project_dir.iterdir()) and not force:
        raise UserError(
            f"{str(project_dir)!r} exists and is not empty; use --force to write the "
            "project into it (files the project does not generate are left alone), or "
            "`keras-jax-scaffold update` to update a generated project"
        )
    files = render_project(spec, template_dirs, project_dir)
    return write_files(files, project_dir, force=force, dry_run=dry_run)

"""`update`: render a generated project again and merge it, 3-way, with the user's files.

Three versions of every file take part:

* the **base**: what the last `new --project` / `update` rendered
  (``.keras-jax-scaffold/base.json``);
* **yours**: the file in the project directory now, edited or not;
* the **template**'s: a fresh render of the recorded answers (with any changed by flags)
  and the current templates.

Each file gets one status (:data:`STATUSES`); the merge itself is ``merge3`` (the 3-way
line merge of Bazaar/Breezy). Overlapping changes are written with conflict markers, as
git and copier do, and listed. Nothing is written before every file has been planned and
every directory to write checked; the base is written last, so an interrupted update can
simply be run again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import merge3
from keras_jax_scaffold import catalog, recipes
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.layout import ANSWERS_FILE, BASE_FILE
from keras_jax_scaffold.plan import unified_diff
from keras_jax_scaffold.project import (
    read_answers,
    read_base,
    recorded_template_dirs,
    render_project,
)
from keras_jax_scaffold.spec import (
    Answers,
    Spec,
    build_spec,
    default_output_units,
    min_num_classes,
    resolve_loss,
    resolve_task,
)
from keras_jax_scaffold.write import Change, apply_changes, ensure_writable

YOURS_LABEL = "yours"
TEMPLATE_LABEL = "template"
START_MARKER = f"<<<<<<< {YOURS_LABEL}\n"
MID_MARKER = "=======\n"
END_MARKER = f">>>>>>> {TEMPLATE_LABEL}\n"

# What happens to each file; the first four change the disk.
STATUSES = {
    "create": "new in the template: written",
    "update": "you did not change it, the template did: the new render is written",
    "merge": "you and the template changed different lines: both kept",
    "conflict": "you and the template changed the same lines: written with markers",
    "delete": "no longer generated and you did not change it: removed",
    "identical": "your file already is the new render: nothing to do",
    "keep": "you changed it and the template did not (or dropped it): yours is kept",
    "skip": "you deleted it: it stays deleted",
}
WRITE_STATUSES = ("create", "update", "merge", "conflict")


@dataclass(frozen=True)
class UpdateAction:
    """The fate of one file of the project (``path`` is relative to the project)."""

    path: str
    status: str
    content: str | None  # the file after the update; None: absent
    old_content: str | None  # the file on disk now; None: absent
    note: str = ""

    @property
    def changes_disk(self) -> bool:
        return self.status in WRITE_STATUSES or self.status == "delete"

    def diff(self, display: str) -> str:
        """Unified diff of the file on disk -> the file after the update."""
        if not self.changes_disk:
            return ""
        return unified_diff(self.old_content, self.content, display)


@dataclass(frozen=True)
class UpdateResult:
    project_dir: Path
    actions: list[UpdateAction]
    notes: list[str]  # answers the update re-derived (see `update_answers`)

    @property
    def conflicts(self) -> list[str]:
        return [a.path for a in self.actions if a.status == "conflict"]


# ------------------------------------------------------------------------- merging


def split_lines(text: str) -> list[str]:
    """Lines with their ``\\n``; only ``\\n`` ends a line (unlike ``str.splitlines``)."""
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def _ended(lines) -> list[str]:
    """``lines`` where the last one ends with a newline (a marker follows it)."""
    lines = list(lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def merge_file(base: str, theirs: str, ours: str) -> tuple[str, bool]:
    """3-way merge of one file: ``(merged text, whether it has conflicts)``.

    ``theirs`` is the user's file, ``ours`` the new render, both descended from ``base``.
    Changes to different lines are both kept; where both changed the same lines (or
    lines next to each other), the text gets ``<<<<<<< yours`` / ``=======`` /
    ``>>>>>>> template`` markers around the two versions.
    """
    if theirs == ours or ours == base:
        return theirs, False
    if theirs == base:
        return ours, False
    base_lines, their_lines, our_lines = map(split_lines, (base, theirs, ours))
    merger = merge3.Merge3(base_lines, their_lines, our_lines)
    out: list[str] = []
    conflicted = False
    for region in merger.reprocess_merge_regions(merger.merge_regions()):
        what = region[0]
        if what == "unchanged":
            out += base_lines[region[1] : region[2]]
        elif what in ("a", "same"):
            out += their_lines[region[1] : region[2]]
        elif what == "b":
            out += our_lines[region[1] : region[2]]
        elif what == "conflict":
            _, _, _, a_start, a_end, b_start, b_end = region
            conflicted = True
            out += [START_MARKER, *_ended(their_lines[a_start:a_end]), MID_MARKER]
            out += [*_ended(our_lines[b_start:b_end]), END_MARKER]
        else:  # pragma: no cover - merge3 yields only the kinds above
            raise ValueError(f"unknown merge region {what!r}")
        # A region that ends without a newline is the end of its file; anything after
        # it (possible only next to a conflict) must start on a line of its own.
        if out and not out[-1].endswith("\n") and what != "conflict":
            out[-1] += "\n"
    text = "".join(out)
    # Keep "no newline at the end" when both sides agree on it (a marker keeps its own).
    if (
        not theirs.endswith("\n")
        and not ours.endswith("\n")
        and text.endswith("\n")
        and not text.endswith(END_MARKER)
    ):
        text = text[:-1]
    return text, conflicted


def _uses_crlf(text: str | None) -> bool:
    return text is not None and "\r\n" in text


def plan_file(
    path: str, base: str | None, theirs: str | None, ours: str | None
) -> UpdateAction:
    """The fate of one file; ``None`` is "absent" (not in the base, on disk, rendered)."""
    if ours is None and base is None:
        raise ValueError(f"{path!r} is neither in the base nor in the new render")
    if theirs is None:
        if base is None:
            return UpdateAction(path, "create", ours, None)
        if ours is None:
            return UpdateAction(path, "skip", None, None, "no longer generated")
        note = "deleted by you, kept deleted"
        if ours != base:
            note += "; the template changed it"
        return UpdateAction(path, "skip", None, None, note)

    # Files checked out with CRLF line ends (git's autocrlf): merge as LF, keep CRLF.
    crlf = _uses_crlf(theirs) and not _uses_crlf(base) and not _uses_crlf(ours)
    mine = theirs.replace("\r\n", "\n") if crlf else theirs

    def eol(text: str) -> str:
        return text.replace("\n", "\r\n") if crlf else text

    if ours is None:
        if mine == base:
            return UpdateAction(path, "delete", None, theirs, "no longer generated")
        note = "no longer generated; kept because you changed it"
        return UpdateAction(path, "keep", theirs, theirs, note)
    if mine == ours:
        return UpdateAction(path, "identical", theirs, theirs)
    if base is not None and mine == base:
        return UpdateAction(path, "update", eol(ours), theirs)
    if base is not None and ours == base:
        return UpdateAction(path, "keep", theirs, theirs)
    merged, conflicted = merge_file(base or "", mine, ours)
    merged = eol(merged)
    if not conflicted and merged == theirs:  # the template's change is in yours already
        return UpdateAction(path, "keep", theirs, theirs)
    note = "" if base is not None else "new in the template; you already had one"
    status = "conflict" if conflicted else "merge"
    return UpdateAction(path, status, merged, theirs, note)


def plan_update(
    base: Mapping[str, str],
    theirs: Mapping[str, str | None],
    new: Mapping[str, str],
) -> list[UpdateAction]:
    """One action per path of ``base`` ∪ ``new``, sorted by path.

    ``base``: the last render; ``theirs``: the files on disk (``None``: absent), for
    every path of ``base`` ∪ ``new``; ``new``: the new render. Touches no file.
    """
    return [
        plan_file(path, base.get(path), theirs.get(path), new.get(path))
        for path in sorted(set(base) | set(new))
    ]


# ------------------------------------------------------------------------ the disk


def check_relative_path(path: str, where: str) -> None:
    """A project-relative POSIX path that stays inside the project."""
    pure = PurePosixPath(path)
    if (
        not path
        or pure.is_absolute()
        or "\\" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
        or path in (ANSWERS_FILE, BASE_FILE)
    ):
        raise UserError(f"{where}: invalid file path {path!r}")


def read_theirs(project_dir: Path, paths) -> dict[str, str | None]:
    """The user's version of each file (``None`` where there is none)."""
    result: dict[str, str | None] = {}
    for relative in sorted(paths):
        path = project_dir / relative
        if path.is_dir():
            raise UserError(f"cannot update {str(path)!r}: it is a directory")
        if not path.exists():
            result[relative] = None
            continue
        try:
            data = path.read_bytes()
        except OSError as error:
            raise UserError(f"cannot read {str(path)!r}: {error.strerror}") from None
        try:
            result[relative] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(
                f"cannot merge {str(path)!r}: it is not UTF-8 text"
            ) from None
    return result


def _check_can_change(project_dir: Path, paths) -> None:
    """Raise UserError, before anything is written, where a file cannot be changed."""
    ensure_writable(project_dir)
    for relative in paths:
        probe = (project_dir / relative).parent
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir():
            raise UserError(
                f"cannot write {str(project_dir / relative)!r}: "
                f"{str(probe)!r} is not a directory"
            )
        if not os.access(probe, os.W_OK | os.X_OK):
            raise UserError(
                f"cannot write {str(project_dir / relative)!r}: "
                f"{str(probe)!r} is not writable"
            )


def apply_update(project_dir: Path, actions: list[UpdateAction]) -> None:
    """Write and delete files as planned, the base file last; all or nothing.

    Raises UserError before any change where a directory is not writable; if a write
    still fails, the changes already made are undone (best effort) before it raises.
    """
    changing = [a for a in actions if a.changes_disk]
    _check_can_change(project_dir, [a.path for a in changing])
    last = {ANSWERS_FILE: 1, BASE_FILE: 2}
    ordered = sorted(changing, key=lambda a: last.get(a.path, 0))
    apply_changes(
        [
            Change(
                project_dir / action.path,
                None if action.status == "delete" else action.content or "",
                action.old_content,
            )
            for action in ordered
        ]
    )
    for action in ordered:
        if action.status == "delete":
            _remove_empty_parents(project_dir / action.path, project_dir)


def _remove_empty_parents(path: Path, root: Path) -> None:
    """Remove the directories above ``path``, up to ``root``, while they are empty."""
    root = root.resolve()
    directory = path.parent.resolve()
    while directory != root and directory.is_relative_to(root):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


# ------------------------------------------------------------------------- answers


def _task_dependent_changes(
    old: Spec, answers: Answers, given: Answers
) -> tuple[Answers, list[str]]:
    """Drop recorded answers that were chosen for the old loss/task and no longer fit."""
    loss = resolve_loss(answers.loss) if given.loss is not None else old.loss
    notes: list[str] = []
    changes: dict = {}
    if given.task is None and old.task.name not in loss.tasks:
        changes["task"] = None
        notes.append(
            f"task {old.task.name!r} does not fit loss {loss.snake_name!r}: "
            f"using {loss.tasks[0]!r} (give --task to choose another)"
        )
    task = resolve_task(loss, changes.get("task", answers.task))
    if task != old.task:
        if given.metrics is None:
            kept = tuple(m.snake_name for m in old.metrics if task.name in m.tasks)
            metrics = kept or task.default_metrics
            if metrics != tuple(m.snake_name for m in old.metrics):
                changes["metrics"] = metrics
                notes.append(
                    f"metrics for task {task.name!r}: "
                    f"{', '.join(metrics) or 'none'} (give --metric to choose)"
                )
        if given.input_shape is None and task.input_kind != old.task.input_kind:
            changes["input_shape"] = None
            shape = ",".join(map(str, catalog.INPUT_SHAPES[task.input_kind]))
            notes.append(
                f"input shape for {task.input_kind} inputs: {shape} "
                "(give --input-shape to choose)"
            )
        if given.num_classes is None and old.num_classes < min_num_classes(task):
            changes["num_classes"] = None
            notes.append("number of classes: the default (give --num-classes)")
    if given.output_units is None:
        old_default = default_output_units(old.task, old.loss)
        new_default = default_output_units(task, loss)
        if old_default != new_default or old.output_units < loss.min_output_units:
            changes["output_units"] = None
            if new_default != old.output_units:
                notes.append(
                    f"output units: {new_default} (give --output-units to choose)"
                )
    return replace(answers, **changes), notes


def update_answers(recorded: Answers, given: Answers) -> tuple[Answers, list[str]]:
    """The answers to render: ``given`` (flags) over ``recorded``, and notes for the user.

    The name never changes. Variables merge key by key. When ``--loss`` or ``--task``
    changes the loss or task, recorded answers that were chosen for the old one and
    no longer fit are re-derived unless given: the task (only when the new loss does
    not fit it), the metrics (those that do not fit the new task are dropped; none
    left: the task's defaults), the input shape (when the input kind changes), the
    number of classes (when below the new task's minimum) and the output units (when
    their default changes or the new loss needs more).
    """
    variables = dict(recorded.variables or ())
    variables.update(given.variables or ())
    settings, notes = _recipe_settings(recorded, given)
    answers = replace(
        given.merged(recorded),
        name=recorded.name,
        variables=tuple(sorted(variables.items())),
        recipe_settings=settings,
    )
    if given.loss is None and given.task is None:
        return answers, notes
    try:
        old = build_spec(recorded)
    except UserError:
        return answers, notes  # the recorded answers are broken; build_spec says why
    answers, task_notes = _task_dependent_changes(old, answers, given)
    return answers, notes + task_notes


def _recipe_settings(recorded: Answers, given: Answers):
    """The recipe settings to render, and a note when ``--recipe`` dropped some.

    Given settings merge over the recorded ones key by key; a change of recipe drops
    the recorded settings of the old recipe (the new one's take their defaults).
    """
    settings = dict(recorded.recipe_settings or ())
    notes = []
    if given.recipe is not None and recorded.recipe is not None:
        try:
            changed = (
                recipes.resolve_recipe(given.recipe).name
                != recipes.resolve_recipe(recorded.recipe).name
            )
        except UserError:
            changed = False  # build_spec reports the unknown recipe
        if changed and settings:
            shown = ", ".join(
                f"{recipes.SETTINGS[k].flag} {v!r}"
                for k, v in sorted(settings.items())
                if k in recipes.SETTINGS
            )
            notes.append(
                f"recipe {recorded.recipe!r} -> {given.recipe!r}: dropped its settings "
                f"({shown})"
            )
            settings = {}
    settings.update(given.recipe_settings or ())
    return tuple(sorted(settings.items())), notes


# -------------------------------------------------------------------------- update


def update_project(
    project_dir: Path,
    given: Answers | None = None,
    *,
    template_dirs: tuple[Path, ...] = (),
    dry_run: bool = False,
) -> UpdateResult:
    """Render ``project_dir`` again and merge; write unless ``dry_run``.

    Conflicts do not raise: the files are written with markers and listed in the
    result (the caller reports them). Bad input raises UserError before any write.
    """
    if not project_dir.exists():
        raise UserError(f"project directory {str(project_dir)!r} does not exist")
    if not project_dir.is_dir():
        raise UserError(f"{str(project_dir)!r} is not a directory")
    answers_path = project_dir / ANSWERS_FILE
    record = read_answers(project_dir)
    recorded = record.answers
    if recorded.name is None:
        raise UserError(f"{str(answers_path)!r}: the answers have no 'name'")
    base = read_base(project_dir)
    for path in base:
        check_relative_path(path, repr(str(project_dir / BASE_FILE)))

    answers, notes = update_answers(recorded, given or Answers())
    try:
        spec = build_spec(answers)
    except UserError as error:
        try:
            build_spec(recorded)
        except UserError:  # the recorded answers are wrong: say where they are
            raise UserError(f"{str(answers_path)!r}: {error}") from None
        raise

    if not template_dirs:
        template_dirs = recorded_template_dirs(project_dir, record)
    rendered = render_project(spec, template_dirs, project_dir)
    meta = {path: rendered.pop(path) for path in (ANSWERS_FILE, BASE_FILE)}
    theirs = read_theirs(project_dir, set(base) | set(rendered) | set(meta))
    actions = plan_update(base, theirs, rendered)
    for path, content in meta.items():
        old = theirs[path]
        if old is None:
            status = "create"
        else:
            status = "identical" if old == content else "update"
        actions.append(UpdateAction(path, status, content, old))
    actions.sort(key=lambda a: a.path)
    if not dry_run:
        apply_update(project_dir, actions)
    return UpdateResult(project_dir, actions, notes)

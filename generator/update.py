"""`update`: render a generated project again and merge it, 3-way, with the user's files.

Three versions of every file take part:

* the **base**: what the last `new --project` / `update` rendered
  (``.keras-jax-scaffold/base/``, one plain file per generated file; older projects
  have ``.keras-jax-scaffold/base.json``, replaced by the tree on their first update);
* **yours**: the file in the project directory now, edited or not;
* the **template**'s: a fresh render of the recorded answers (with any changed by flags)
  and the current templates.

Each file gets one :class:`~keras_jax_scaffold.plan.FileChange` (its status says what
happens to it); the merge itself is ``merge3`` (the 3-way
line merge of Bazaar/Breezy). Overlapping changes are written with conflict markers, as
git and copier do, and listed. Nothing is written before every file has been planned and
every directory to write checked; the answers file and then the base are written last,
so an interrupted update can simply be run again. A file the templates no longer
generate is deleted when you did not change it, else kept (with a note) and no longer
tracked; a file they newly generate is created (merged with yours if you have one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath

import merge3

from .errors import UserError, os_reason
from .layout import ANSWERS_FILE, RECORD_DIR
from .pipeline import relative_template_dirs
from .plan import FileChange, Plan, Status, read_existing
from .project import (
    base_location,
    base_summary,
    plan_base,
    read_answers,
    read_base,
    recorded_template_dirs,
    render_project,
)
from .spec import ANSWERS, Answers, answers_from_spec, build_spec, rederive
from .template_set import TemplateSet
from .write import apply, preflight

YOURS_LABEL = "yours"
TEMPLATE_LABEL = "template"
START_MARKER = f"<<<<<<< {YOURS_LABEL}\n"
MID_MARKER = "=======\n"
END_MARKER = f">>>>>>> {TEMPLATE_LABEL}\n"

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


def plan_merge(
    path: str, base: str | None, theirs: str | None, ours: str | None
) -> FileChange:
    """The fate of one file; ``None`` is "absent" (not in the base, on disk, rendered)."""
    if ours is None and base is None:
        raise ValueError(f"{path!r} is neither in the base nor in the new render")
    if theirs is None:
        if base is None:
            return FileChange(path, Status.CREATE, ours, None)
        if ours is None:
            return FileChange(path, Status.SKIP, None, None, "no longer generated")
        note = "deleted by you, kept deleted"
        if ours != base:
            note += "; the template changed it"
        return FileChange(path, Status.SKIP, None, None, note)

    # Files checked out with CRLF line ends (git's autocrlf): merge as LF, keep CRLF.
    crlf = _uses_crlf(theirs) and not _uses_crlf(base) and not _uses_crlf(ours)
    mine = theirs.replace("\r\n", "\n") if crlf else theirs

    def eol(text: str) -> str:
        return text.replace("\n", "\r\n") if crlf else text

    if ours is None:
        if mine == base:
            return FileChange(path, Status.DELETE, None, theirs, "no longer generated")
        note = "no longer generated; kept because you changed it"
        return FileChange(path, Status.KEEP, theirs, theirs, note)
    if mine == ours:
        return FileChange(path, Status.IDENTICAL, theirs, theirs)
    if base is not None and mine == base:
        return FileChange(path, Status.UPDATE, eol(ours), theirs)
    if base is not None and ours == base:
        return FileChange(path, Status.KEEP, theirs, theirs)
    merged, conflicted = merge_file(base or "", mine, ours)
    merged = eol(merged)
    if not conflicted and merged == theirs:  # the template's change is in yours already
        return FileChange(path, Status.KEEP, theirs, theirs)
    note = "" if base is not None else "new in the template; you already had one"
    status = Status.CONFLICT if conflicted else Status.MERGE
    return FileChange(path, status, merged, theirs, note)


def plan_update(
    base: Mapping[str, str],
    theirs: Mapping[str, str | None],
    new: Mapping[str, str],
) -> list[FileChange]:
    """One change per path of ``base`` ∪ ``new``, sorted by path.

    ``base``: the last render; ``theirs``: the files on disk (``None``: absent), for
    every path of ``base`` ∪ ``new``; ``new``: the new render. Touches no file.
    """
    return [
        plan_merge(path, base.get(path), theirs.get(path), new.get(path))
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
        or path == ANSWERS_FILE
        or path.startswith(RECORD_DIR + "/")
    ):
        raise UserError(f"{where}: invalid file path {path!r}")


def read_theirs(project_dir: Path, paths) -> dict[str, str | None]:
    """The user's version of each file (``None`` where there is none)."""
    return {
        relative: read_existing(project_dir / relative) for relative in sorted(paths)
    }


# ------------------------------------------------------------------------- answers


def update_answers(recorded: Answers, given: Answers) -> tuple[Answers, list[str]]:
    """The answers to render: ``given`` (flags) over ``recorded``, and notes for the user.

    The name never changes; variables merge key by key. Recorded answers that depend
    on a changed one are derived again by the table's one rule
    (:func:`keras_jax_scaffold.spec.rederive`), each with a note. Those the answers
    file leaves out (they did not apply) take part at the values they resolve to, as
    when the file recorded every answer.
    """
    given = replace(given, name=None)
    try:
        explicit = answers_from_spec(build_spec(recorded))
        answers, notes = rederive(explicit, given)
    except UserError:  # the recorded answers are broken; build_spec says why
        merged = {
            q.name: (
                getattr(recorded, q.name)
                if getattr(given, q.name) is None
                else q.kind.merge(getattr(recorded, q.name), getattr(given, q.name))
            )
            for q in ANSWERS
        }
        return Answers(**merged), []
    return answers, notes


# -------------------------------------------------------------------------- update


def update_project(
    project_dir: Path,
    given: Answers | None = None,
    *,
    dry_run: bool = False,
) -> Plan:
    """Render ``project_dir`` again and merge; write unless ``dry_run``.

    Conflicts do not raise: the files are written with markers and listed in the
    result (the caller reports them). Bad input raises UserError before any write.
    """
    try:
        exists, is_dir = project_dir.exists(), project_dir.is_dir()
    except OSError as error:
        raise UserError(
            f"cannot read {str(project_dir)!r}: {os_reason(error)}"
        ) from None
    if not exists:
        raise UserError(f"project directory {str(project_dir)!r} does not exist")
    if not is_dir:
        raise UserError(f"{str(project_dir)!r} is not a directory")
    answers_path = project_dir / ANSWERS_FILE
    record = read_answers(project_dir)
    recorded = record.answers
    if recorded.name is None:
        raise UserError(f"{str(answers_path)!r}: the answers have no 'name'")
    base = read_base(project_dir)
    for path in base:
        check_relative_path(path, repr(str(base_location(project_dir))))

    given = given or Answers()
    if given.template_dirs is None:  # the recorded ones, which must exist
        dirs = recorded_template_dirs(project_dir, record)
        recorded = replace(recorded, template_dirs=tuple(str(d) for d in dirs))
    answers, notes = update_answers(recorded, given)
    template_dirs = tuple(Path(d) for d in answers.template_dirs or ())
    relative = relative_template_dirs(template_dirs, project_dir.parent)
    notes = [*notes, *TemplateSet.search(template_dirs, project_dir).source_lines()]
    try:
        spec = build_spec(replace(answers, template_dirs=relative))
    except UserError as error:
        try:
            build_spec(recorded)
        except UserError:  # the recorded answers are wrong: say where they are
            raise UserError(f"{str(answers_path)!r}: {error}") from None
        raise

    # Variables kept from the answers file (not given now) may go unread: 0.1.0
    # accepted them, and the project must keep updating.
    given_vars = {key for key, _ in given.variables or ()}
    kept = tuple(k for k, _ in recorded.variables or () if k not in given_vars)
    unread: list[str] = []
    rendered = render_project(
        spec, template_dirs, project_dir, recorded_vars=kept, unread_vars=unread
    )
    values = dict(recorded.variables or ())
    notes += [
        f"--var {key}={values[key]} is recorded in {ANSWERS_FILE} but no template "
        "reads it; delete it there if it is no longer needed"
        for key in unread
    ]
    answers_file = rendered.pop(ANSWERS_FILE)
    theirs = read_theirs(project_dir, set(base) | set(rendered) | {ANSWERS_FILE})
    changes = plan_update(base, theirs, rendered)
    old = theirs[ANSWERS_FILE]
    if old is None:
        status = Status.CREATE
    else:
        status = Status.IDENTICAL if old == answers_file else Status.UPDATE
    answers_change = FileChange(ANSWERS_FILE, status, answers_file, old)
    base_changes = plan_base(project_dir, rendered)
    # The answers and then the base last: an interrupted update can simply run again.
    ordered = [*changes, answers_change, *base_changes]
    preflight(project_dir, ordered)
    if not dry_run:
        apply(project_dir, ordered)
    shown = [*changes, answers_change, *base_summary(base_changes)]
    return Plan(
        project_dir, sorted(shown, key=lambda change: change.path), tuple(notes)
    )

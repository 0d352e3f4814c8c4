"""`update [PROJECT_DIR]`: render a project again and merge it 3-way with the user's files.

Projects are made by the real pipeline (`create_project`); a template change is a user
template (``--template-dir``) that includes the built-in one and appends a line, an
answer change is a flag such as ``--learning-rate``. Which lines an answer changes is
found by diffing two renders, so the tests do not depend on the templates' wording.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from pathlib import Path

import pytest
from keras_jax_scaffold.layout import (
    ANSWERS_FILE,
    BASE_DIR,
    LEGACY_BASE_FILE,
    PROJECT,
)
from keras_jax_scaffold.pipeline import relative_template_dirs
from keras_jax_scaffold.project import (
    create_project,
    read_answers,
    read_base,
    render_project,
)
from keras_jax_scaffold.spec import ANSWERS, Answers, build_spec
from keras_jax_scaffold.update import (
    END_MARKER,
    MID_MARKER,
    START_MARKER,
    merge_file,
    plan_merge,
    plan_update,
    update_answers,
    update_project,
)

from tests.helpers import support
from tests.helpers.cli import deny_writes, error_line, invoke
from tests.helpers.cli import snapshot as shared_snapshot

NAME = "proj"
CONTEXT = {"module_name": NAME, "package_name": NAME}
MODEL = next(f for f in PROJECT if f.path.endswith("/model.py"))
MODEL_PATH = MODEL.output_path(CONTEXT)
# The shapes, sizes and training defaults (--learning-rate, --hidden-units, ...).
CONSTANTS_PATH = f"src/{NAME}/constants.py"
TEMPLATE_LINE = "# added by the new template"
MARKERS = (START_MARKER, MID_MARKER, END_MARKER)


# --------------------------------------------------------------------------- helpers


def make_project(tmp_path: Path, **answers) -> Path:
    create_project(Answers(name=NAME, **answers), tmp_path)
    return tmp_path / NAME


@pytest.fixture(scope="session")
def pristine(tmp_path_factory) -> Path:
    """The default project, rendered once per worker by `create_project`."""
    return make_project(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def project(tmp_path, pristine) -> Path:
    """``tmp_path/proj``, as `new proj --project` makes it."""
    shutil.copytree(pristine, tmp_path / NAME)
    return tmp_path / NAME


def fresh_render(project: Path, template_dirs=(), **answers) -> dict[str, str]:
    """Every file `new --project` would write for these answers (the answers file
    too, not the base)."""
    template_dirs = tuple(template_dirs)
    relative = relative_template_dirs(template_dirs, project.parent)
    spec = build_spec(Answers(name=NAME, template_dirs=relative, **answers))
    return render_project(spec, template_dirs, project)


def with_base(files: dict[str, str]) -> dict[str, str]:
    """``files`` (a render) and the base a project keeps of them: a copy of each
    generated file under the base directory."""
    base = {
        f"{BASE_DIR}/{path}": text
        for path, text in files.items()
        if path != ANSWERS_FILE
    }
    return {**files, **base}


def files_on_disk(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def write_base(project: Path, files: dict[str, str]) -> None:
    """Make ``files`` the project's base, as if the last render had written them."""
    shutil.rmtree(project / BASE_DIR)
    for path, text in files.items():
        (project / BASE_DIR / path).parent.mkdir(parents=True, exist_ok=True)
        (project / BASE_DIR / path).write_text(text, encoding="utf-8")


def assert_one_error(result, *expected: str) -> str:
    """The shared error-line check; `update` may list files on stdout before it."""
    return error_line(result, *expected, stdout_ok=True)


def snapshot(root: Path) -> dict:
    """Bytes and mode of every entry (a rolled-back change rewrites files: no mtimes)."""
    return shared_snapshot(root, mtimes=False)


def template_dir(tmp_path: Path, template: str = MODEL.template) -> Path:
    """A user template directory whose ``template`` is the built-in plus one line."""
    directory = tmp_path / "templates"
    path = directory / template
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{{% include "builtin/{template}" %}}\n{TEMPLATE_LINE}\n')
    return directory


def status_lines(output: str, name: str = NAME) -> dict[str, str]:
    """``{relative path: status}`` from `update`'s status lines (project ``name``)."""
    result = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and f"{os.sep}{name}{os.sep}" in parts[1]:
            relative = parts[1].split(f"{os.sep}{name}{os.sep}", 1)[1]
            result[relative.replace(os.sep, "/")] = parts[0]
    return result


def changed_lines(before: dict[str, str], after: dict[str, str], path: str):
    """Line numbers (0-based) of ``before[path]`` that differ in ``after[path]``."""
    matcher = difflib.SequenceMatcher(
        None, before[path].splitlines(), after[path].splitlines(), autojunk=False
    )
    return [
        i
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag != "equal"
        for i in range(i1, i2)
    ]


# ------------------------------------------------------------------- merge_file


def test_merge_keeps_changes_to_different_lines():
    base = "a\nb\nc\nd\ne\n"
    merged, conflicted = merge_file(base, "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n")
    assert (merged, conflicted) == ("A\nb\nc\nd\nE\n", False)


def test_merge_marks_overlapping_changes():
    merged, conflicted = merge_file("a\nb\nc\n", "a\nmine\nc\n", "a\nnew\nc\n")
    assert conflicted
    assert merged == f"a\n{START_MARKER}mine\n{MID_MARKER}new\n{END_MARKER}c\n"


@pytest.mark.parametrize(
    ("base", "theirs", "ours", "expected"),
    [
        ("a\n", "a\n", "b\n", "b\n"),  # only the template changed
        ("a\n", "b\n", "a\n", "b\n"),  # only the user changed
        ("a\n", "b\n", "b\n", "b\n"),  # both made the same change
        ("a\nb\n", "a\nX\n", "a\nX\n", "a\nX\n"),
    ],
)
def test_merge_one_sided_and_identical_changes_are_clean(base, theirs, ours, expected):
    assert merge_file(base, theirs, ours) == (expected, False)


def test_merge_with_empty_base_conflicts_where_the_files_differ():
    merged, conflicted = merge_file("", "a\nmine\nz\n", "a\nnew\nz\n")
    assert conflicted
    # Lines both sides have are not inside the markers.
    assert merged == f"a\n{START_MARKER}mine\n{MID_MARKER}new\n{END_MARKER}z\n"


def test_merge_puts_markers_on_their_own_lines_without_final_newline():
    merged, conflicted = merge_file("a\nb", "a\nmine", "a\nnew")
    assert conflicted
    assert merged == f"a\n{START_MARKER}mine\n{MID_MARKER}new\n{END_MARKER}"


def test_merge_keeps_a_missing_final_newline_when_both_lack_it():
    assert merge_file("a\nb\nc", "A\nb\nc", "a\nb\nC") == ("A\nb\nC", False)


# ---------------------------------------------------------------- plan_merge/plan_update


@pytest.mark.parametrize(
    ("base", "theirs", "ours", "status", "content"),
    [
        (None, None, "n\n", "create", "n\n"),
        ("b\n", "b\n", "n\n", "update", "n\n"),
        ("b\n", "n\n", "n\n", "identical", "n\n"),
        ("b\n", "y\n", "b\n", "keep", "y\n"),
        ("1\n2\n3\n", "Y\n2\n3\n", "1\n2\nN\n", "merge", "Y\n2\nN\n"),
        # The user made the template's change and one more: nothing to merge in.
        ("1\n2\n3\n", "Y\n2\nN\n", "1\n2\nN\n", "keep", "Y\n2\nN\n"),
        (
            "b\n",
            "y\n",
            "n\n",
            "conflict",
            f"{START_MARKER}y\n{MID_MARKER}n\n{END_MARKER}",
        ),
        ("b\n", None, "n\n", "skip", None),  # deleted by the user
        ("b\n", None, "b\n", "skip", None),
        ("b\n", "b\n", None, "delete", None),  # the template dropped it
        ("b\n", "y\n", None, "keep", "y\n"),  # ... but the user changed it
        ("b\n", None, None, "skip", None),
        (None, "n\n", "n\n", "identical", "n\n"),  # new, and the user has it already
        (
            None,
            "y\n",
            "n\n",
            "conflict",
            f"{START_MARKER}y\n{MID_MARKER}n\n{END_MARKER}",
        ),
    ],
)
def test_plan_file_statuses(base, theirs, ours, status, content):
    action = plan_merge("f.py", base, theirs, ours)
    assert (action.status, action.content, action.old_content) == (
        status,
        content,
        theirs,
    )
    assert action.changes_disk == (
        status in ("create", "update", "merge", "conflict", "delete")
    )


def test_plan_file_notes_explain_kept_and_skipped_files():
    assert plan_merge("f", "b\n", None, "n\n").note == (
        "deleted by you, kept deleted; the template changed it"
    )
    assert "kept because you changed it" in plan_merge("f", "b\n", "y\n", None).note


def test_plan_file_merges_crlf_files_as_lf_and_keeps_crlf():
    base, ours = "1\n2\n3\n", "1\n2\nN\n"
    unchanged = plan_merge("f", base, base.replace("\n", "\r\n"), ours)
    assert (unchanged.status, unchanged.content) == ("update", "1\r\n2\r\nN\r\n")
    edited = plan_merge("f", base, "Y\r\n2\r\n3\r\n", ours)
    assert (edited.status, edited.content) == ("merge", "Y\r\n2\r\nN\r\n")


def test_plan_update_covers_base_and_new_render_sorted():
    base = {"b.py": "b\n", "gone.py": "g\n"}
    theirs = {"a.py": None, "b.py": "b\n", "gone.py": "g\n"}
    new = {"a.py": "a\n", "b.py": "B\n"}
    actions = plan_update(base, theirs, new)
    assert [(a.path, a.status) for a in actions] == [
        ("a.py", "create"),
        ("b.py", "update"),
        ("gone.py", "delete"),
    ]


def test_action_diff_shows_the_change_and_nothing_for_kept_files():
    action = plan_merge("f.py", "b\n", "b\n", "n\n")
    diff = action.diff("p/f.py")
    assert diff.splitlines()[:2] == ["--- a/p/f.py", "+++ b/p/f.py"]
    assert "-b" in diff.splitlines() and "+n" in diff.splitlines()
    assert plan_merge("f.py", "b\n", "y\n", "b\n").diff("p/f.py") == ""
    assert "+++ /dev/null" in plan_merge("f.py", "b\n", "b\n", None).diff("p/f.py")


# ------------------------------------------------------------------ update_answers


def test_update_answers_flags_override_and_name_and_variables_merge():
    recorded = Answers(
        name="proj", learning_rate=0.1, variables=(("a", "1"), ("b", "2"))
    )
    given = Answers(learning_rate=0.5, variables=(("b", "3"), ("c", "4")))
    answers, notes = update_answers(recorded, given)
    assert answers.name == "proj"
    assert answers.learning_rate == 0.5
    assert answers.variables == (("a", "1"), ("b", "3"), ("c", "4"))
    assert notes == []


def _recorded(**answers):
    from keras_jax_scaffold.project import answers_from_spec

    return answers_from_spec(build_spec(Answers(name=NAME, **answers)))


def test_changing_the_loss_rederives_task_metrics_and_output_units():
    recorded = _recorded()  # sparse categorical crossentropy, multiclass_sparse
    answers, notes = update_answers(recorded, Answers(loss="mse"))
    # The same project as `new proj --loss mse` would make.
    assert build_spec(answers) == build_spec(Answers(name=NAME, loss="mse"))
    assert any("task 'multiclass_sparse' does not fit" in n for n in notes)
    assert any("mean_absolute_error" in n for n in notes)


def test_changing_the_loss_keeps_answers_that_still_fit():
    recorded = _recorded(
        loss="bce", task="multilabel", metrics=("auc",), input_shape="32"
    )
    answers, notes = update_answers(recorded, Answers(loss="binary_focal_crossentropy"))
    spec = build_spec(answers)
    assert spec.task.name == "multilabel"
    assert [m.snake_name for m in spec.metrics] == ["auc"]
    assert spec.input_shape == (32,)
    assert notes == []


def test_changing_the_task_drops_metrics_and_input_shape_that_do_not_fit():
    recorded = _recorded(loss="bce", metrics=("binary_accuracy", "auc"))
    answers, notes = update_answers(recorded, Answers(task="segmentation"))
    spec = build_spec(answers)
    assert spec.task.name == "segmentation"
    assert (
        spec.input_shape
        == build_spec(Answers(name=NAME, loss="bce", task="segmentation")).input_shape
    )
    assert any("input shape" in n for n in notes)


def test_given_answers_win_over_rederived_ones():
    recorded = _recorded()
    answers, _ = update_answers(
        recorded, Answers(loss="mse", metrics=("mean_squared_error",), output_units=3)
    )
    spec = build_spec(answers)
    assert [m.snake_name for m in spec.metrics] == ["mean_squared_error"]
    assert spec.output_units == 3


def test_a_loss_needing_more_output_units_resets_them():
    recorded = _recorded(loss="mse")  # output_units 1
    answers, _ = update_answers(recorded, Answers(loss="cosine_similarity"))
    assert (
        build_spec(answers).output_units
        == build_spec(Answers(name=NAME, loss="cosine_similarity")).output_units
    )


# ------------------------------------------------------------ update: the whole project


def test_update_without_edits_equals_the_fresh_render(tmp_path, project):
    tpl = template_dir(tmp_path)
    result = invoke("update", project, "--learning-rate", "0.01", "-t", tpl)
    assert result.exit_code == 0, result.output
    expected = fresh_render(project, [tpl], learning_rate=0.01)
    assert files_on_disk(project) == with_base(expected)
    statuses = status_lines(result.stdout)
    assert statuses[MODEL_PATH] == "update"
    assert statuses[ANSWERS_FILE] == "update" and statuses[BASE_DIR] == "update"
    # One line per file and one for the base, which changed as the files did.
    assert set(statuses) == set(expected) | {BASE_DIR}
    changed = sum(status == "update" for status in statuses.values()) - 2
    assert f"update  {project / BASE_DIR}  ({changed} changed)" in result.stdout
    assert read_answers(project)[0].learning_rate == 0.01
    assert result.stderr == ""


def test_update_without_changes_is_all_identical(project):
    before = snapshot(project)
    result = invoke("update", project)
    assert result.exit_code == 0, result.output
    assert set(status_lines(result.stdout).values()) == {"identical"}
    assert snapshot(project) == before


def test_user_edit_and_template_change_on_other_lines_are_both_kept(tmp_path, project):
    model = project / MODEL_PATH
    model.write_text("# my note\n" + model.read_text())
    tpl = template_dir(tmp_path)
    result = invoke("update", project, "-t", tpl)
    assert result.exit_code == 0, result.output
    new = fresh_render(project, [tpl])
    assert model.read_text() == "# my note\n" + new[MODEL_PATH]
    assert TEMPLATE_LINE in model.read_text()
    assert status_lines(result.stdout)[MODEL_PATH] == "merge"
    # The base is the new render, not the merge.
    assert read_base(project)[MODEL_PATH] == new[MODEL_PATH]


def test_user_edit_is_kept_when_the_template_did_not_change_the_file(tmp_path, project):
    # (README.md names the template directories in its `new` command: it changes.)
    ignore = project / ".gitignore"
    ignore.write_text(ignore.read_text() + "my_outputs/\n")
    edited = ignore.read_text()
    tpl = template_dir(tmp_path)
    result = invoke("update", project, "-t", tpl)
    assert result.exit_code == 0, result.output
    assert ignore.read_text() == edited
    assert status_lines(result.stdout)[".gitignore"] == "keep"


def test_overlapping_changes_are_written_with_markers_and_exit_1(tmp_path, project):
    model = project / MODEL_PATH
    model.write_text(model.read_text() + "# my ending\n")
    tpl = template_dir(tmp_path)
    result = invoke("update", project, "-t", tpl)
    assert_one_error(result, str(model), "conflict markers")
    text = model.read_text()
    for marker in MARKERS:
        assert marker in text
    mine = text.index("# my ending")
    theirs = text.index(TEMPLATE_LINE)
    assert (
        text.index(START_MARKER)
        < mine
        < text.index(MID_MARKER)
        < theirs
        < text.index(END_MARKER)
    )
    assert status_lines(result.stdout)[MODEL_PATH] == "conflict"
    # The other files, the answers and the base are written: the update happened.
    rendered = fresh_render(project, [tpl])
    assert read_base(project) == {
        path: text for path, text in rendered.items() if path != ANSWERS_FILE
    }


def test_an_answer_change_conflicts_with_a_user_edit_of_the_same_line(
    tmp_path, project
):
    old = read_base(project)
    new = fresh_render(project, learning_rate=0.01)
    lines = changed_lines(old, new, CONSTANTS_PATH)
    assert lines, "the learning rate must show in the constants file"
    model = project / CONSTANTS_PATH
    text = model.read_text().splitlines(keepends=True)
    text[lines[0]] = "# replaced by me\n"
    model.write_text("".join(text))
    result = invoke("update", project, "--learning-rate", "0.01")
    assert_one_error(result, "conflicts in", str(model))
    merged = model.read_text()
    assert "# replaced by me" in merged and START_MARKER in merged
    assert new[CONSTANTS_PATH].splitlines(keepends=True)[lines[0]] in merged
    assert read_answers(project)[0].learning_rate == 0.01


def test_a_file_the_user_deleted_stays_deleted(project):
    (project / MODEL_PATH).unlink()
    result = invoke("update", project, "--learning-rate", "0.01")
    assert result.exit_code == 0, result.output
    assert not (project / MODEL_PATH).exists()
    assert status_lines(result.stdout)[MODEL_PATH] == "skip"
    assert "deleted by you, kept deleted" in result.stdout
    # It stays in the base, so a later update still knows it was generated.
    assert MODEL_PATH in read_base(project)
    again = invoke("update", project)
    assert again.exit_code == 0 and not (project / MODEL_PATH).exists()


def test_a_file_the_template_dropped_is_deleted_unless_changed(project):
    base = read_base(project)
    # As if the last render had generated two more files.
    base |= {
        "src/proj/old.py": "OLD = 1\n",
        "notes/old.txt": "old\n",
        "extra/deep/gone.txt": "gone\n",
    }
    write_base(project, base)
    (project / "src/proj/old.py").write_text("OLD = 1\n")
    (project / "notes").mkdir()
    (project / "notes/old.txt").write_text("mine\n")
    (project / "extra/deep").mkdir(parents=True)
    (project / "extra/deep/gone.txt").write_text("gone\n")
    result = invoke("update", project)
    assert result.exit_code == 0, result.output
    statuses = status_lines(result.stdout)
    assert statuses["src/proj/old.py"] == "delete"
    assert not (project / "src/proj/old.py").exists()
    assert statuses["notes/old.txt"] == "keep"
    assert (project / "notes/old.txt").read_text() == "mine\n"
    assert "note: " not in result.stdout
    assert "(no longer generated; kept because you changed it)" in result.stdout
    # None of them is in the base any more: the kept one is no longer tracked.
    assert read_base(project) == {
        path: text
        for path, text in fresh_render(project).items()
        if path != ANSWERS_FILE
    }
    # Directories the deletions emptied go too, in the base as well; the project's
    # own stay.
    assert statuses["extra/deep/gone.txt"] == "delete"
    assert not (project / "extra").exists()
    assert not (project / BASE_DIR / "extra").exists()
    assert not (project / BASE_DIR / "notes").exists()
    assert (project / "src/proj").is_dir()
    assert statuses[BASE_DIR] == "update"
    assert f"update  {project / BASE_DIR}  (3 removed)" in result.stdout
    # The kept file is the user's own now: a second update leaves it alone.
    again = invoke("update", project)
    assert again.exit_code == 0, again.output
    assert "notes/old.txt" not in status_lines(again.stdout)
    assert (project / "notes/old.txt").read_text() == "mine\n"


def test_a_new_template_file_is_created_or_merged_with_the_users(project):
    base = read_base(project)
    new_readme = base.pop("README.md")
    del base[MODEL_PATH]
    # As if the last render had not generated README.md and the model file yet.
    write_base(project, base)
    (project / "README.md").unlink()
    (project / MODEL_PATH).write_text("# the user's own model file\n")
    result = invoke("update", project)
    assert_one_error(result, str(project / MODEL_PATH))
    statuses = status_lines(result.stdout)
    assert statuses["README.md"] == "create"
    assert (project / "README.md").read_text() == new_readme
    assert statuses[MODEL_PATH] == "conflict"
    text = (project / MODEL_PATH).read_text()
    assert "# the user's own model file" in text and START_MARKER in text
    assert "new in the template; you already had one" in result.stdout
    # Both are in the base now: the new render, not the user's file.
    assert read_base(project)["README.md"] == new_readme
    assert MODEL_PATH in read_base(project)
    assert f"update  {project / BASE_DIR}  (2 new)" in result.stdout


def test_update_is_idempotent(tmp_path, project):
    model = project / MODEL_PATH
    model.write_text("# my note\n" + model.read_text())
    tpl = template_dir(tmp_path)
    first = invoke("update", project, "-t", tpl, "--learning-rate", "0.01")
    assert first.exit_code == 0, first.output
    after_first = snapshot(project)
    second = invoke("update", project, "-t", tpl)
    assert second.exit_code == 0, second.output
    assert snapshot(project) == after_first
    statuses = status_lines(second.stdout)
    assert statuses.pop(MODEL_PATH) == "keep"  # your note, unchanged template
    assert set(statuses.values()) == {"identical"}


def test_project_local_templates_are_used(tmp_path, project):
    local = project / ".keras-jax-scaffold" / "templates"
    template_dir(tmp_path)  # writes tmp_path/templates/...
    (tmp_path / "templates").rename(local)
    result = invoke("update", project)
    assert result.exit_code == 0, result.output
    assert TEMPLATE_LINE in (project / MODEL_PATH).read_text()


def test_template_dirs_of_new_are_used_again_by_update(tmp_path):
    """`new --project -t DIR` records DIR; a later `update` without -t keeps using it."""
    tpl = template_dir(tmp_path)
    created = invoke("new", NAME, "--project", "--no-input", "-o", tmp_path, "-t", tpl)
    assert created.exit_code == 0, created.output
    project = tmp_path / NAME
    recorded = json.loads((project / ANSWERS_FILE).read_text())["template_dirs"]
    assert recorded == ["../templates"]  # relative to the project
    assert TEMPLATE_LINE in (project / MODEL_PATH).read_text()
    result = invoke("update", project, "--hidden-units", "9")
    assert result.exit_code == 0, result.output
    text = (project / MODEL_PATH).read_text()
    assert TEMPLATE_LINE in text
    assert "HIDDEN_UNITS = 9" in (project / CONSTANTS_PATH).read_text()
    # A recorded directory that is gone: a clear error, nothing changed.
    shutil.rmtree(tpl)
    before = snapshot(project)
    result = invoke("update", project, "--hidden-units", "10")
    assert_one_error(
        result, "recorded template directory '../templates' does not exist"
    )
    assert snapshot(project) == before


def test_changing_the_loss_gives_the_project_new_would_make(project):
    result = invoke("update", project, "--loss", "mse")
    assert result.exit_code == 0, result.output
    assert files_on_disk(project) == with_base(fresh_render(project, loss="mse"))
    assert (
        "note: task: regression (the recorded one no longer fits: task "
        "'multiclass_sparse' does not fit loss" in result.stdout
    )


def test_update_api_returns_the_plan(project):
    result = update_project(project, Answers(hidden_units=7))
    assert result.conflicts == []
    assert {a.path: a.status for a in result.changes}[CONSTANTS_PATH] == "update"
    assert read_answers(project)[0].hidden_units == 7


# ------------------------------------------------------------------------- --dry-run


def test_dry_run_writes_nothing_and_shows_the_diff(tmp_path, project):
    model = project / MODEL_PATH
    model.write_text("# my note\n" + model.read_text())
    tpl = template_dir(tmp_path)
    before = snapshot(project)
    result = invoke("update", project, "-t", tpl, "--dry-run")
    assert result.exit_code == 0, result.output
    assert snapshot(project) == before
    assert f"--- a/{model}" in result.stdout and f"+++ b/{model}" in result.stdout
    assert f"+{TEMPLATE_LINE}" in result.stdout.splitlines()
    assert f"     merge  {model}  (dry run)" in result.stdout.splitlines()


def test_dry_run_with_conflicts_exits_1_and_writes_nothing(tmp_path, project):
    model = project / MODEL_PATH
    model.write_text(model.read_text() + "# my ending\n")
    before = snapshot(project)
    result = invoke("update", project, "-t", template_dir(tmp_path), "--dry-run")
    assert_one_error(result, str(model), "conflict")
    assert snapshot(project) == before
    assert START_MARKER.strip() in result.stdout  # the diff shows the markers


# ------------------------------------------------------------------------- bad input


def _write(project: Path, relative: str, text: str) -> None:
    (project / relative).write_text(text)


def legacy_base(files: dict[str, str]) -> str:
    """A base.json as releases up to 0.1 wrote it."""
    document = {"files": dict(sorted(files.items())), "tool_version": "0.1.0"}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _answers(project: Path) -> dict:
    return json.loads((project / ANSWERS_FILE).read_text())


def _set_answer(project: Path, key: str, value) -> None:
    document = _answers(project)
    document["answers"][key] = value
    _write(project, ANSWERS_FILE, json.dumps(document))


BAD_PROJECTS = {
    "no answers file": (
        lambda p: (p / ANSWERS_FILE).unlink(),
        ("has no .keras-jax-scaffold.json",),
    ),
    "invalid json": (
        lambda p: _write(p, ANSWERS_FILE, "{not json"),
        ("is not a valid answers file",),
    ),
    "unknown key": (
        lambda p: _set_answer(p, "learnig_rate", 0.1),
        ("unknown key", "'learnig_rate'", "did you mean 'learning_rate'"),
    ),
    "wrong type": (
        lambda p: _set_answer(p, "num_classes", "three"),
        ("'num_classes' has the wrong type",),
    ),
    "unknown recorded loss": (
        lambda p: _set_answer(p, "loss", "mean_squared_eror"),
        (ANSWERS_FILE, "unknown loss", "did you mean"),
    ),
    "missing base": (
        lambda p: shutil.rmtree(p / BASE_DIR),
        ("has no .keras-jax-scaffold/base/", "restore it from version control"),
    ),
    "empty base": (
        lambda p: (shutil.rmtree(p / BASE_DIR), (p / BASE_DIR).mkdir()),
        ("has no .keras-jax-scaffold/base/",),
    ),
    "base file not UTF-8": (
        lambda p: (p / BASE_DIR / MODEL_PATH).write_bytes(b"\xff\xfe"),
        (str(BASE_DIR + "/" + MODEL_PATH), "not UTF-8 text"),
    ),
    "answers file inside the base": (
        lambda p: _write(p, f"{BASE_DIR}/{ANSWERS_FILE}", "{}\n"),
        (f"{BASE_DIR}'", "invalid file path", f"'{ANSWERS_FILE}'"),
    ),
    "invalid legacy base": (
        lambda p: _write(p, LEGACY_BASE_FILE, '{"files": {"a": 1}}'),
        (LEGACY_BASE_FILE, "'files' must map paths"),
    ),
    "legacy base path outside the project": (
        lambda p: _write(p, LEGACY_BASE_FILE, legacy_base({"../evil.py": "x\n"})),
        (LEGACY_BASE_FILE, "invalid file path", "../evil.py"),
    ),
    "directory where a file goes": (
        lambda p: ((p / MODEL_PATH).unlink(), (p / MODEL_PATH).mkdir()),
        ("it is a directory",),
    ),
}


@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
@pytest.mark.parametrize("case", sorted(BAD_PROJECTS))
def test_bad_project_is_one_error_line_and_changes_nothing(
    tmp_path, case, dry_run, project
):
    # A pending change, so that an update that went ahead would write something.
    model = project / MODEL_PATH
    if model.is_file():
        model.write_text("# my note\n" + model.read_text())
    break_it, expected = BAD_PROJECTS[case]
    break_it(project)
    before = snapshot(tmp_path)
    extra = ["--dry-run"] if dry_run else []
    result = invoke("update", project, "--learning-rate", "0.01", *extra)
    assert_one_error(result, *expected)
    assert snapshot(tmp_path) == before


BAD_FLAGS = {
    "unknown loss": (("--loss", "msee"), ("unknown loss 'msee'", "did you mean")),
    "task not fitting the loss": (
        ("--task", "regression"),
        ("task 'regression' does not fit loss",),
    ),
    "bad metric": (("-m", "auc"), ("metric 'auc' does not fit",)),
    "bad learning rate": (("--learning-rate", "-1"), ("invalid learning rate",)),
    "bad var": (("--var", "novalue"), ("invalid --var",)),
    "missing template dir": (("-t", "nowhere"), ("does not exist",)),
}


@pytest.mark.parametrize("case", sorted(BAD_FLAGS))
def test_bad_flags_are_one_error_line_and_change_nothing(tmp_path, case, project):
    flags, expected = BAD_FLAGS[case]
    before = snapshot(tmp_path)
    result = invoke("update", project, *flags)
    assert_one_error(result, *expected)
    assert snapshot(tmp_path) == before


def test_missing_project_directory(tmp_path):
    result = invoke("update", tmp_path / "nowhere")
    assert_one_error(result, "does not exist")
    assert not (tmp_path / "nowhere").exists()


def test_project_directory_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    assert_one_error(invoke("update", tmp_path / "file"), "is not a directory")


def test_unwritable_project_changes_nothing(project, monkeypatch):
    deny_writes(monkeypatch)
    before = snapshot(project)
    result = invoke("update", project, "--learning-rate", "0.01")
    assert_one_error(result, "not writable")
    assert snapshot(project) == before


def test_failed_write_rolls_back_every_change(tmp_path, monkeypatch, project):
    from keras_jax_scaffold import write as write_module

    before = snapshot(project)
    real_write = write_module.write_atomic

    def write_atomic(path, content):  # after every file and the answers: the base
        if path == project / BASE_DIR / MODEL_PATH:
            raise OSError(28, "No space left on device")
        real_write(path, content)

    monkeypatch.setattr(write_module, "write_atomic", write_atomic)
    result = invoke(
        "update", project, "--learning-rate", "0.01", "-t", template_dir(tmp_path)
    )
    assert_one_error(result, "No space left on device", "nothing was changed")
    assert snapshot(project) == before


def test_metric_none_and_var_flags_change_the_recorded_answers(tmp_path):
    templates = support.vars_template_dir(tmp_path / "vars", "keep", "change")
    create_project(
        Answers(
            name=NAME,
            variables=(("keep", "1"), ("change", "a")),
            template_dirs=(str(templates),),
        ),
        tmp_path,
    )
    project = tmp_path / NAME
    result = invoke("update", project, "-m", "none", "--var", "change=b")
    assert result.exit_code == 0, result.output
    answers = _answers(project)["answers"]
    assert answers["metrics"] == []
    assert answers["variables"] == {"change": "b", "keep": "1"}
    assert answers["name"] == NAME


def test_update_notes_its_templates_and_recorded_variables_no_template_reads(
    tmp_path,
):
    """A project that records --template-dir: `update` says which templates it took
    from there; a recorded --var the templates no longer read stays recorded, with a
    note naming it (a --var given now that nothing reads is still an error)."""
    templates = support.vars_template_dir(tmp_path / "vars", "keep", "gone")
    variables = (("gone", "a"), ("keep", "1"))
    create_project(
        Answers(name=NAME, variables=variables, template_dirs=(str(templates),)),
        tmp_path,
    )
    project = tmp_path / NAME
    support.vars_template_dir(templates, "keep")  # the templates drop `gone`
    result = invoke("update", project)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stdout.splitlines() if line.startswith("note:")]
    assert notes == [
        f"note: templates from {project / '../vars'}: partials/steps.py.jinja",
        (
            f"note: --var gone=a is recorded in {ANSWERS_FILE} but no template reads "
            "it; delete it there if it is no longer needed"
        ),
    ]
    assert _answers(project)["answers"]["variables"] == dict(variables)
    result = invoke("update", project, "--var", "new=1")
    assert_one_error(result, "--var new=1 is not read by any template")


def test_an_unwritable_subdirectory_is_found_before_any_write(project, monkeypatch):
    # os.access stands in for a read-only directory (root may write anywhere).
    readonly = (project / MODEL_PATH).parent
    real_access = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda path, mode: Path(path) != readonly and real_access(path, mode),
    )
    before = snapshot(project)
    result = invoke("update", project, "--learning-rate", "0.01")
    assert_one_error(result, str(project / CONSTANTS_PATH), "is not writable")
    assert snapshot(project) == before


# ----------------------------------------------------- projects made by older releases

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Each fixture's user edits (see tests/fixtures/README.md): (the generated lines, the
# user's lines) in a file; ``None`` for lines appended at the end.
PENALTY_EXAMPLE = (
    "            # loss = loss + 1e-3 * keras.ops.mean(keras.ops.square(y_pred))\n"
)
FIXTURE_EDITS = {
    "project_0_1_0": {
        "src/project_0_1_0/model.py": [
            (
                "    x = keras.layers.Dropout(0.1)(x)\n",
                (
                    "    # My change: more dropout for my data.\n"
                    "    x = keras.layers.Dropout(0.25)(x)\n"
                ),
            )
        ],
    },
    "project_0_1_final": {
        "src/project_0_1_final/model.py": [
            (
                '        activation="relu",\n',
                (
                    "        # My change: gelu instead of relu, better on my data.\n"
                    '        activation="gelu",\n'
                ),
            )
        ],
        "src/project_0_1_final/steps.py": [
            (
                PENALTY_EXAMPLE,
                (
                    PENALTY_EXAMPLE
                    + "            # My change: a small penalty on large predictions.\n"
                    "            loss = loss + 1e-4 * "
                    "keras.ops.mean(keras.ops.square(y_pred))\n"
                ),
            )
        ],
        "README.md": [
            (
                None,
                (
                    "\n## Our notes\n\n"
                    "Trained nightly on the image shards in /data/images (see "
                    "data.py).\n"
                ),
            )
        ],
    },
}
# What the fixtures' answers files record that does not apply to them.
NOT_APPLYING = {
    "project_0_1_0": {"output_units"},
    "project_0_1_final": {
        "input_shape",  # beside a named input
        "output_units",  # of a classification (its units are the classes)
        *("microbatches", "clip_norm", "noise_dim", "temperature", "alpha"),
        *("teacher", "latent_dim"),  # the settings of the recipes it does not use
    },
}


def with_edits(name: str, files: dict[str, str]) -> dict[str, str]:
    """``files`` (a render) with the fixture's user edits made: each generated line
    that was edited occurs once, so the edit lands where the user made it."""
    edited = dict(files)
    for path, edits in FIXTURE_EDITS[name].items():
        for generated, mine in edits:
            if generated is None:
                edited[path] += mine
            else:
                assert edited[path].count(generated) == 1, (path, generated)
                edited[path] = edited[path].replace(generated, mine)
    return edited


def copy_fixture(tmp_path: Path, name: str) -> Path:
    project = tmp_path / name
    caches = shutil.ignore_patterns("__pycache__", ".ruff_cache", ".pytest_cache")
    shutil.copytree(FIXTURES / name, project, ignore=caches)
    return project


def render_recorded(project: Path) -> dict[str, str]:
    """What `new --project` writes today for the answers ``project`` records (the base
    of its files not included)."""
    recorded = read_answers(project).answers
    kept = tuple(key for key, _ in recorded.variables or ())  # read by no template
    return render_project(build_spec(recorded), (), project, recorded_vars=kept)


@pytest.mark.parametrize("name", sorted(FIXTURE_EDITS))
def test_a_project_made_by_an_older_release_updates_and_keeps_the_user_edits(
    tmp_path, name
):
    """tests/fixtures/NAME: a project as an older release wrote it (answers file
    with every answer, base.json), with user edits. Today's `update` merges without
    conflicts and keeps the edits: every file is what `new` makes today, with the
    edits in; the base becomes a tree of the new render, base.json goes, the answers
    file keeps the answers that apply (the same project); a second update changes
    nothing."""
    project = copy_fixture(tmp_path, name)
    original = json.loads((project / ANSWERS_FILE).read_text())["answers"]
    assert NOT_APPLYING[name] <= set(original)
    old_base = json.loads((project / LEGACY_BASE_FILE).read_text())["files"]
    # The fixture is what the release wrote, plus the edits.
    assert with_edits(name, old_base) == {
        path: text for path, text in files_on_disk(project).items() if path in old_base
    }
    spec = build_spec(read_answers(project).answers)

    result = invoke("update", project)
    assert result.exit_code == 0, result.output
    statuses = status_lines(result.stdout, name)
    assert "conflict" not in statuses.values(), result.stdout
    assert statuses[BASE_DIR] == "create"
    assert statuses[LEGACY_BASE_FILE] == "delete"
    assert f"({LEGACY_BASE_FILE} replaced" not in result.stdout
    assert f"(replaced by {BASE_DIR}/)" in result.stdout
    # No answer changed; 0.1.0 recorded a template variable no template reads.
    notes = [line for line in result.stdout.splitlines() if "note:" in line]
    if name == "project_0_1_0":
        unread = (
            f"note: --var note=hi is recorded in {ANSWERS_FILE} but no template "
            "reads it; delete it there if it is no longer needed"
        )
        assert notes == [unread]
    else:
        assert notes == []

    fresh = render_recorded(project)
    assert files_on_disk(project) == with_base(fresh) | with_edits(name, fresh)
    assert not (project / LEGACY_BASE_FILE).exists()
    # The answers file: the same project, without the answers that do not apply.
    answers = json.loads((project / ANSWERS_FILE).read_text())["answers"]
    assert set(answers) == set(original) - NOT_APPLYING[name] | {
        "dtype_policy",  # answers added since 0.1.0, recorded explicitly
        "inputs",
        "outputs",
        "recipe",
    }
    assert build_spec(read_answers(project).answers) == spec

    # A second update has nothing to do.
    before = snapshot(project)
    again = invoke("update", project)
    assert again.exit_code == 0, again.output
    assert snapshot(project) == before
    statuses = status_lines(again.stdout, name)
    assert {path for path, status in statuses.items() if status != "identical"} == (
        set(FIXTURE_EDITS[name])
    )
    assert {statuses[path] for path in FIXTURE_EDITS[name]} == {"keep"}


@pytest.fixture(scope="module")
def updated_fixture(tmp_path_factory) -> dict[str, str]:
    """project_0_1_0 after one uninterrupted update: every file."""
    project = copy_fixture(tmp_path_factory.mktemp("reference"), "project_0_1_0")
    update_project(project)
    return files_on_disk(project)


def interrupt(monkeypatch, project: Path, stop) -> list[str]:
    """Kill the next update where ``stop(kind, path)`` is true (``kind``: "write" or
    "delete"): a KeyboardInterrupt, which the writer does not undo, as a killed
    process leaves the files. Returns the writes and deletes made before."""
    from keras_jax_scaffold import write as write_module

    done: list[str] = []
    real_write, real_unlink = write_module.write_atomic, Path.unlink

    def write_atomic(path, content):
        if stop("write", path.relative_to(project).as_posix()):
            raise KeyboardInterrupt
        real_write(path, content)
        done.append(path.relative_to(project).as_posix())

    def unlink(path, missing_ok=False):
        if path.is_relative_to(project):
            relative = path.relative_to(project).as_posix()
            if stop("delete", relative):
                raise KeyboardInterrupt
            done.append(relative)
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(write_module, "write_atomic", write_atomic)
    monkeypatch.setattr(Path, "unlink", unlink)
    return done


INTERRUPTIONS = {
    # after some of the project's files
    "files": lambda kind, path: path == "src/project_0_1_0/steps.py",
    "answers": lambda kind, path: path == ANSWERS_FILE,
    # with part of the base tree written
    "base tree": lambda kind, path: path == f"{BASE_DIR}/src/project_0_1_0/data.py",
    # the whole tree written, base.json not yet deleted
    "base.json": lambda kind, path: kind == "delete" and path == LEGACY_BASE_FILE,
}


@pytest.mark.parametrize("where", sorted(INTERRUPTIONS))
def test_an_update_killed_midway_finishes_when_run_again(
    tmp_path, monkeypatch, updated_fixture, where
):
    """Killed while writing (no rollback: the files written so far stay), `update`
    run again finishes the job: the same files as one uninterrupted update, without
    conflicts, the user's edits kept."""
    project = copy_fixture(tmp_path, "project_0_1_0")
    before = files_on_disk(project)
    done = interrupt(monkeypatch, project, INTERRUPTIONS[where])
    with pytest.raises(KeyboardInterrupt):
        update_project(project)
    monkeypatch.undo()
    assert done and files_on_disk(project) != before  # it stopped midway
    assert (project / LEGACY_BASE_FILE).exists()  # still the base
    result = update_project(project)
    assert result.conflicts == []
    assert files_on_disk(project) == updated_fixture


def test_a_kill_while_writing_the_base_tree_is_finished_by_the_next_update(
    tmp_path, monkeypatch, project
):
    """A project with a base tree, a template change and a user edit: killed with
    half the tree written (those base files new, the others old), the next update
    gives what one uninterrupted update gives."""
    model = project / MODEL_PATH
    model.write_text("# my note\n" + model.read_text())
    tpl = template_dir(tmp_path)
    given = Answers(template_dirs=(str(tpl),), learning_rate=0.01)
    # One uninterrupted update, in place (README names the template directory
    # relative to the project), then the project as it was.
    saved = tmp_path / "saved"
    shutil.copytree(project, saved)
    update_project(project, given)
    reference = files_on_disk(project)
    shutil.rmtree(project)
    shutil.copytree(saved, project)

    stop = f"{BASE_DIR}/{MODEL_PATH}"  # README's base is written before it
    done = interrupt(monkeypatch, project, lambda kind, path: path == stop)
    with pytest.raises(KeyboardInterrupt):
        update_project(project, given)
    monkeypatch.undo()
    assert f"{BASE_DIR}/README.md" in done
    assert read_base(project)[MODEL_PATH] != reference[f"{BASE_DIR}/{MODEL_PATH}"]
    result = update_project(project)  # the template directory is recorded
    assert result.conflicts == []
    assert files_on_disk(project) == reference


def test_a_failed_update_of_an_older_project_changes_nothing(tmp_path, monkeypatch):
    """An OS error on the last step of the migration (deleting base.json): every
    file, the answers and the base tree written before it are undone."""
    project = copy_fixture(tmp_path, "project_0_1_final")
    before = snapshot(project)
    real_unlink = Path.unlink

    def unlink(path, missing_ok=False):
        if path.name == "base.json":
            raise PermissionError(13, "Permission denied")
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    result = invoke("update", project)
    assert_one_error(result, "cannot delete", LEGACY_BASE_FILE, "nothing was changed")
    monkeypatch.undo()
    assert snapshot(project) == before


# ------------------------------------------------------------- the base, the answers


def test_the_base_is_a_tree_of_the_files_as_rendered(project):
    """One plain file per generated file under the base directory, byte for byte
    the render (not the user's edits); nothing else is written there."""
    model = project / MODEL_PATH
    model.write_text("# my note\n" + model.read_text())
    result = invoke("update", project, "--hidden-units", "7")
    assert result.exit_code == 0, result.output
    fresh = fresh_render(project, hidden_units=7)
    base = project / BASE_DIR
    assert {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in base.rglob("*")
        if p.is_file()
    } == {
        path: text.encode("utf-8")
        for path, text in fresh.items()
        if path != ANSWERS_FILE
    }
    assert sorted(p.name for p in (project / ".keras-jax-scaffold").iterdir()) == [
        "base"
    ]


def test_the_base_ignores_what_tools_leave_in_it_and_crlf_checkouts(project):
    """A checkout with git's autocrlf turns the base's line ends into CRLF; Python,
    macOS and a killed write leave files beside it: none of it changes the base."""
    base = project / BASE_DIR
    for path in base.rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    (base / "src" / NAME / "__pycache__").mkdir()
    (base / "src" / NAME / "__pycache__" / "model.cpython-311.pyc").write_bytes(
        b"\x00\xff"
    )
    (base / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (base / "src" / NAME / ".model.py.a1b2c3d4.tmp").write_text("half a file")
    model = project / MODEL_PATH
    model.write_text("# my note\n" + model.read_text())
    result = invoke("update", project, "--optimizer", "sgd")
    assert result.exit_code == 0, result.output
    assert status_lines(result.stdout)[MODEL_PATH] == "merge"
    fresh = fresh_render(project, optimizer="sgd")
    assert model.read_text() == "# my note\n" + fresh[MODEL_PATH]
    assert read_base(project) == {
        path: text for path, text in fresh.items() if path != ANSWERS_FILE
    }
    # The base files are written again with the render's line ends; the rest stays.
    assert (base / MODEL_PATH).read_bytes() == fresh[MODEL_PATH].encode("utf-8")
    assert (base / ".DS_Store").exists()
    assert (base / "src" / NAME / ".model.py.a1b2c3d4.tmp").exists()


def test_recorded_answers_that_do_not_apply_are_dropped_not_an_error(project):
    """A setting of a recipe the project does not use, even one that is not the
    default (a hand edit, a project that switched recipes): read without an error,
    the project is the same, and the next update drops it."""
    _set_answer(project, "rho", 0.3)
    _set_answer(project, "latent_dim", 5)
    assert read_answers(project).answers.rho is None
    before = files_on_disk(project)
    result = invoke("update", project)
    assert result.exit_code == 0, result.output
    assert "note:" not in result.stdout
    after = files_on_disk(project)
    assert after.pop(ANSWERS_FILE) != before.pop(ANSWERS_FILE)
    assert after == before
    answers = _answers(project)["answers"]
    assert "rho" not in answers and "latent_dim" not in answers
    # A later switch to the recipe starts from its default, not the stale value.
    result = invoke("update", project, "--recipe", "sam")
    assert result.exit_code == 0, result.output
    assert _answers(project)["answers"]["rho"] == 0.05


def test_switching_recipes_drops_the_old_settings_without_a_note(tmp_path):
    project = make_project(tmp_path, recipe="sam", rho=0.1)
    assert _answers(project)["answers"]["rho"] == 0.1
    result = invoke("update", project, "--recipe", "clip-gradients")
    assert result.exit_code == 0, result.output
    assert "note:" not in result.stdout
    answers = _answers(project)["answers"]
    assert "rho" not in answers and answers["clip_norm"] == 1.0
    assert files_on_disk(project) == with_base(
        fresh_render(project, recipe="clip-gradients")
    )


@pytest.mark.slow
def test_the_projects_own_tools_skip_the_base(project):
    """The base holds copies of the project's tests, code and pyproject.toml: the
    project's pytest (dot-directories are not entered), ruff (excluded in its
    pyproject.toml) and packaging (setuptools finds packages in src/ only) must not
    see them."""
    import subprocess
    import sys
    import tarfile
    import zipfile

    def run(*command):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env["PYTHONPATH"] = str(project / "src")
        completed = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        return completed.stdout.splitlines()

    assert (project / BASE_DIR / "tests" / "test_smoke.py").is_file()
    collected = run("pytest", "--collect-only", "-q", "-p", "no:cacheprovider", ".")
    tests = [line for line in collected if "::" in line]
    assert tests and all(line.startswith("tests/") for line in tests), collected
    checked = run("ruff", "check", "--no-cache", "--show-files", ".")
    assert checked and not [line for line in checked if BASE_DIR in line]
    run("build", "--sdist", "--wheel", "--no-isolation", "-o", "dist", ".")
    (sdist,) = (project / "dist").glob("*.tar.gz")
    (wheel,) = (project / "dist").glob("*.whl")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    with zipfile.ZipFile(wheel) as archive:
        names += archive.namelist()
    assert any(name.endswith("/model.py") for name in names)
    assert not [name for name in names if ".keras-jax-scaffold" in name]


# Projects whose answers leave out different answers that do not apply.
RECORD_CASES = (
    # the other recipes' settings; a dtype policy
    {"recipe": "sam", "rho": 0.2, "dtype_policy": "mixed_float16"},
    # a regression's classes (not its default), a sequential model's named inputs
    {"loss": "mse", "num_classes": 5, "model_type": "sequential"},
    # the input shape beside named inputs, output units of a classification
    {"inputs": ("a:3", "b:2,2"), "input_shape": "16", "output_units": 7},
    # the loss and task beside named outputs
    {"outputs": ("label:sparse_categorical_crossentropy", "box:mse:0.5")},
)


@pytest.mark.parametrize("answers", RECORD_CASES, ids=lambda a: "-".join(a))
def test_the_answers_file_records_what_renders_the_same_project(tmp_path, answers):
    """The answers left out are those that do not apply: rendering the recorded ones
    again gives the same files; each recorded one applies."""
    project = make_project(tmp_path, **answers)
    recorded = read_answers(project).answers
    assert render_project(build_spec(recorded), (), project) == {
        path: text
        for path, text in files_on_disk(project).items()
        if not path.startswith(BASE_DIR + "/")
    }
    spec = build_spec(recorded)
    resolved = {q.name: getattr(spec, q.name) for q in ANSWERS}
    stored = _answers(project)["answers"]
    assert {q.name for q in ANSWERS if q.name in stored} == {
        q.name for q in ANSWERS if q.stored and q.applies_to(resolved)
    }
    assert len(stored) < sum(q.stored for q in ANSWERS)  # some are left out


# ------------------------------------------------------- named outputs: add, remove

TWO_OUTPUTS = ("label:sparse_categorical_crossentropy", "box:mse:0.5")
TAGS = "tags:bce@multilabel:0.2"
USER_LINE = "# my own note on the data\n"


def output_flags(*outputs: str) -> list[str]:
    return [word for output in outputs for word in ("--output", output)]


def with_user_edit(project: Path) -> Path:
    """data.py with a line of the user's at the top; returns its path."""
    data = project / "src" / NAME / "data.py"
    data.write_text(USER_LINE + data.read_text(encoding="utf-8"), encoding="utf-8")
    return data


def test_update_adds_an_output_keeps_the_user_edit_and_notes_the_metrics(tmp_path):
    project = make_project(tmp_path, outputs=TWO_OUTPUTS, inputs=("features:6",))
    data = with_user_edit(project)
    result = invoke("update", project, *output_flags(*TWO_OUTPUTS, TAGS))
    assert result.exit_code == 0, result.output
    # The recorded metrics were the defaults: derived again for the new outputs.
    assert (
        "note: metrics: label:sparse_categorical_accuracy,box:mean_absolute_error,"
        "tags:binary_accuracy (the default for the new outputs; give --metric to "
        "choose)" in result.stdout
    )
    expected = with_base(
        fresh_render(project, outputs=(*TWO_OUTPUTS, TAGS), inputs=("features:6",))
    )
    on_disk = files_on_disk(project)
    data_path = f"src/{NAME}/data.py"
    assert on_disk[data_path] == USER_LINE + expected[data_path]
    assert {k: v for k, v in on_disk.items() if k != data_path} == {
        k: v for k, v in expected.items() if k != data_path
    }
    assert '"tags": 0.2,' in on_disk[f"src/{NAME}/model.py"]
    assert '"tags": "y_tags",' in data.read_text(encoding="utf-8")
    recorded = read_answers(project).answers
    assert recorded.outputs[-1] == "tags:binary_crossentropy@multilabel:0.2"


def test_update_removes_an_output_whose_metric_no_longer_fits(tmp_path):
    project = make_project(
        tmp_path, outputs=TWO_OUTPUTS, metrics=("label:accuracy", "box:mae")
    )
    with_user_edit(project)
    result = invoke("update", project, *output_flags(TWO_OUTPUTS[0]))
    assert result.exit_code == 0, result.output
    assert "note: metrics: label:sparse_categorical_accuracy (the recorded one no " in (
        result.stdout
    )
    assert "unknown output 'box' in --metric 'box:mae'" in result.stdout
    model = (project / MODEL_PATH).read_text(encoding="utf-8")
    assert '"box"' not in model and '"label": 1.0,' in model
    data = (project / "src" / NAME / "data.py").read_text(encoding="utf-8")
    assert data.startswith(USER_LINE) and "y_box" not in data

    # Back to one unnamed output: the loss is the remaining output's.
    result = invoke("update", project, "--output", "none")
    assert result.exit_code == 0, result.output
    answers = read_answers(project).answers
    assert answers.outputs == ()
    spec = build_spec(answers)
    assert spec.loss.snake_name == "sparse_categorical_crossentropy"
    model = (project / MODEL_PATH).read_text(encoding="utf-8")
    assert "loss=keras.losses.SparseCategoricalCrossentropy()," in model
    assert (project / "src" / NAME / "data.py").read_text().startswith(USER_LINE)


def test_update_to_named_outputs_rederives_the_loss_with_a_note(project):
    with_user_edit(project)
    result = invoke("update", project, *output_flags("a:mse", "b:bce"))
    assert result.exit_code == 0, result.output
    # The loss no longer applies (each output has its own): no note, not recorded.
    assert "note: loss" not in result.stdout
    assert "loss" not in _answers(project)["answers"]
    assert build_spec(read_answers(project).answers).outputs[1].name == "b"


@pytest.mark.parametrize(
    ("recipe", "loss"), [("gan", "binary_crossentropy"), ("vae", "mean_squared_error")]
)
def test_switching_to_and_from_a_recipe_of_some_losses_follows_its_defaults(
    tmp_path, recipe, loss
):
    """`update --recipe gan` (or vae) on a sequential default project: the recorded
    model type and loss no longer fit and take the recipe's (functional, its first
    loss; gan: no metrics), with notes; the way back takes the default recipe's loss
    and metrics again; the user's edits of the merged files stay."""
    project = make_project(tmp_path, model_type="sequential")
    with_user_edit(project)
    model = project / MODEL_PATH
    model.write_text(model.read_text(encoding="utf-8") + USER_LINE, encoding="utf-8")
    edited = (f"src/{NAME}/data.py", MODEL_PATH)

    def assert_rendered(**answers):
        expected = with_base(fresh_render(project, model_type="functional", **answers))
        on_disk = files_on_disk(project)
        assert on_disk[edited[0]] == USER_LINE + expected[edited[0]]
        assert on_disk[edited[1]] == expected[edited[1]] + USER_LINE
        assert {k: v for k, v in on_disk.items() if k not in edited} == {
            k: v for k, v in expected.items() if k not in edited
        }

    result = invoke("update", project, "--recipe", recipe)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stdout.splitlines() if line.startswith("note:")]
    assert notes[0].startswith("note: model type: functional (the recorded one no ")
    assert notes[1].startswith(f"note: loss: {loss} (the recorded one no longer fits")
    assert ("metrics" in _answers(project)["answers"]) == (recipe != "gan")
    assert_rendered(recipe=recipe)

    result = invoke("update", project, "--recipe", "default")
    assert result.exit_code == 0, result.output
    assert "note: loss: sparse_categorical_crossentropy (the default for the new " in (
        result.stdout
    )
    spec = build_spec(read_answers(project).answers)
    assert [m.snake_name for m in spec.metrics] == ["sparse_categorical_accuracy"]
    assert_rendered()


def test_switching_to_and_from_an_optax_optimizer_keeps_the_user_edits(tmp_path):
    """`update --optimizer optax:adamw` adds OptaxOptimizer, the optax expression and
    the optax dependency to the project, merged with the user's edits of model.py;
    `--optimizer adam` takes them all out again."""
    project = make_project(tmp_path, model_type="subclassed")
    with_user_edit(project)
    model = project / MODEL_PATH
    model.write_text(model.read_text(encoding="utf-8") + USER_LINE, encoding="utf-8")
    edited = (f"src/{NAME}/data.py", MODEL_PATH)

    for optimizer in ("optax:adamw", "adam"):
        result = invoke("update", project, "--optimizer", optimizer)
        assert result.exit_code == 0, result.output
        expected = with_base(
            fresh_render(project, model_type="subclassed", optimizer=optimizer)
        )
        on_disk = files_on_disk(project)
        assert on_disk[edited[0]] == USER_LINE + expected[edited[0]]
        assert on_disk[edited[1]] == expected[edited[1]] + USER_LINE
        assert {k: v for k, v in on_disk.items() if k not in edited} == {
            k: v for k, v in expected.items() if k not in edited
        }
        uses_optax = optimizer.startswith("optax:")
        assert ("optax" in on_disk["pyproject.toml"]) == uses_optax
        assert ("class OptaxOptimizer(" in on_disk[MODEL_PATH]) == uses_optax
    assert _answers(project)["answers"]["optimizer"] == "adam"

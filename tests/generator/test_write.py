"""One file-change record (plan.FileChange with a Status), one writability preflight
(write.preflight), one writer (write.apply) and one status printer
(console.print_changes), shared by `new`, `new --project`, `update` and
`templates export`; every OS error is one `error:` line naming the path and reason."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from keras_jax_scaffold import write as write_module
from keras_jax_scaffold.console import print_changes
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.plan import FileChange, Status, plan_writes, read_existing
from keras_jax_scaffold.write import apply, check_writable, preflight

from tests.helpers.cli import assert_rejected, deny_writes, invoke, snapshot

LONG = "a" * 300  # longer than any common file system's name limit (255 bytes)


# ------------------------------------------------------------------------ the record


def test_plan_writes_compares_with_the_disk(tmp_path):
    (tmp_path / "same.py").write_text("x\n")
    (tmp_path / "other.py").write_text("old\n")
    files = {"new.py": "n\n", "same.py": "x\n", "other.py": "new\n"}
    statuses = {c.path: c.status for c in plan_writes(files, tmp_path, force=False)}
    assert statuses == {
        "new.py": Status.CREATE,
        "other.py": Status.CONFLICT,
        "same.py": Status.IDENTICAL,
    }
    forced = {c.path: c.status for c in plan_writes(files, tmp_path, force=True)}
    assert forced["other.py"] is Status.OVERWRITE
    assert [c.path for c in plan_writes(files, tmp_path, False)] == sorted(files)


def test_a_change_diffs_the_disk_against_the_result():
    change = FileChange("f.py", Status.UPDATE, "n\n", "b\n")
    assert change.diff("p/f.py").splitlines()[:2] == ["--- a/p/f.py", "+++ b/p/f.py"]
    assert FileChange("f.py", Status.KEEP, "y\n", "y\n").diff("f.py") == ""
    assert "+++ /dev/null" in FileChange("f", Status.DELETE, None, "b\n").diff("f")
    assert "--- /dev/null" in FileChange("f", Status.CREATE, "n\n", None).diff("f")


def test_statuses_that_change_the_disk():
    changing = {s for s in Status if FileChange("f", s, "", None).changes_disk}
    assert changing == {
        Status.CREATE,
        Status.OVERWRITE,
        Status.CONFLICT,
        Status.UPDATE,
        Status.MERGE,
        Status.DELETE,
    }
    assert f"{Status.MERGE}" == "merge" and Status.MERGE == "merge"


def test_read_existing(tmp_path):
    assert read_existing(tmp_path / "absent") is None
    (tmp_path / "text").write_text("héllo\n", encoding="utf-8")
    assert read_existing(tmp_path / "text") == "héllo\n"
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    with pytest.raises(UserError, match="binary': it is not UTF-8 text"):
        read_existing(tmp_path / "binary")
    with pytest.raises(UserError, match="it is a directory"):
        read_existing(tmp_path)
    with pytest.raises(UserError, match=f"cannot read .*{LONG}.*File name too long"):
        read_existing(tmp_path / LONG)


# --------------------------------------------------------------------- the preflight


def test_check_writable_names_the_path_and_the_reason(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    check_writable(tmp_path / "new" / "deeper" / "f.py")  # missing parents are fine
    with pytest.raises(UserError, match="'.*file' is a file, not a directory"):
        check_writable(tmp_path / "file" / "sub" / "f.py")
    with pytest.raises(UserError, match="it is a directory"):
        check_writable(tmp_path)
    with pytest.raises(UserError, match="File name too long"):
        check_writable(tmp_path / "missing" / LONG / "f.py")
    with pytest.raises(UserError, match="File name too long"):
        check_writable(tmp_path / f"{LONG}.py")
    deny_writes(monkeypatch)
    with pytest.raises(UserError, match=f"'{tmp_path}' is not writable"):
        check_writable(tmp_path / "new" / "f.py")


def test_preflight_checks_only_what_changes_the_disk(tmp_path, monkeypatch):
    deny_writes(monkeypatch)
    kept = [
        FileChange("a.py", Status.IDENTICAL, "a", "a"),
        FileChange("b.py", Status.KEEP, "b", "b"),
        FileChange("c.py", Status.SKIP, None, None),
    ]
    preflight(tmp_path, kept)  # nothing to write: nothing to check
    with pytest.raises(UserError, match="not writable"):
        preflight(tmp_path, [*kept, FileChange("d.py", Status.CREATE, "d", None)])


# ------------------------------------------------------------------------ applying


def test_apply_writes_deletes_and_prunes_empty_directories(tmp_path):
    (tmp_path / "pkg" / "old").mkdir(parents=True)
    (tmp_path / "pkg" / "old" / "gone.py").write_text("g")
    (tmp_path / "same.py").write_text("s")
    apply(
        tmp_path,
        [
            FileChange("new/deep/a.py", Status.CREATE, "a", None),
            FileChange("pkg/old/gone.py", Status.DELETE, None, "g"),
            FileChange("same.py", Status.IDENTICAL, "s", "s"),
        ],
    )
    assert (tmp_path / "new" / "deep" / "a.py").read_text() == "a"
    assert not (tmp_path / "pkg").exists()  # emptied by the delete
    assert (tmp_path / "same.py").read_text() == "s"


@pytest.mark.parametrize(
    "code", [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.ENAMETOOLONG]
)
def test_an_os_error_while_writing_undoes_everything(tmp_path, monkeypatch, code):
    (tmp_path / "edited.py").write_text("mine")
    before = snapshot(tmp_path, mtimes=False)
    real = write_module.write_atomic

    def write_atomic(path, content):
        if path.name == "third.py":
            raise OSError(code, os.strerror(code))
        real(path, content)

    monkeypatch.setattr(write_module, "write_atomic", write_atomic)
    changes = [
        FileChange("edited.py", Status.OVERWRITE, "theirs", "mine"),
        FileChange("sub/second.py", Status.CREATE, "2", None),
        FileChange("third.py", Status.CREATE, "3", None),
    ]
    with pytest.raises(UserError) as raised:
        apply(tmp_path, changes)
    message = str(raised.value)
    assert message == (
        f"cannot write {str(tmp_path / 'third.py')!r}: {os.strerror(code)}; "
        "nothing was changed"
    )
    assert snapshot(tmp_path, mtimes=False) == before  # edited.py put back


def test_a_failed_write_in_a_new_directory_removes_every_new_directory(
    tmp_path, monkeypatch
):
    """The failing file's directories sit inside one an earlier write made: they go
    first, so that the earlier one is empty when its own write is undone."""
    real = write_module.write_atomic

    def write_atomic(path, content):
        if path.name == "late.py":
            path.parent.mkdir(parents=True)  # as the real one does before writing
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, content)

    monkeypatch.setattr(write_module, "write_atomic", write_atomic)
    changes = [
        FileChange("project/early.py", Status.CREATE, "1", None),
        FileChange("project/src/pkg/late.py", Status.CREATE, "2", None),
    ]
    with pytest.raises(UserError, match="nothing was changed"):
        apply(tmp_path, changes)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ printing


def test_one_printer_for_every_command(tmp_path, capsys):
    changes = [
        FileChange("a.py", Status.CREATE, "a\n", None),
        FileChange("b.py", Status.KEEP, "y\n", "y\n", "kept because you changed it"),
        FileChange("base.json", Status.UPDATE, "{}\n", "[]\n"),
    ]
    print_changes(tmp_path, changes)
    assert capsys.readouterr().out.splitlines() == [
        f"    create  {tmp_path / 'a.py'}",
        f"      keep  {tmp_path / 'b.py'}  (kept because you changed it)",
        f"    update  {tmp_path / 'base.json'}",
    ]
    print_changes(tmp_path, changes, dry_run=True, no_diff=("base.json",))
    out = capsys.readouterr().out
    assert f"+++ b/{tmp_path / 'a.py'}" in out and "+a" in out
    assert "+{}" not in out  # no diff for base.json
    assert out.count("(dry run)") == 3


# --------------------------------------------- the commands: one-line OS errors


@pytest.mark.parametrize("existing", [True, False], ids=["existing-dir", "new-dir"])
@pytest.mark.parametrize(
    "flags", [[], ["--project"], ["--dry-run"], ["--project", "--dry-run"]]
)
def test_a_name_too_long_for_the_file_system(tmp_path, flags, existing):
    """`new` with a 300-character NAME: one error line naming the path and the
    reason, nothing written (it used to end in `OSError: [Errno 36]`)."""
    out = tmp_path / "out"
    if existing:
        out.mkdir()
    before = snapshot(tmp_path)
    result = invoke("new", LONG, "--no-input", "-o", out, *flags)
    assert_rejected(result, tmp_path, before, str(out / LONG), "File name too long")


def test_templates_export_into_a_name_too_long(tmp_path):
    before = snapshot(tmp_path)
    result = invoke("templates", "export", tmp_path / LONG / "templates")
    assert_rejected(result, tmp_path, before, LONG, "File name too long")


def test_templates_export_to_an_unwritable_directory(tmp_path, monkeypatch):
    deny_writes(monkeypatch)
    before = snapshot(tmp_path)
    result = invoke("templates", "export", tmp_path / "templates")
    assert_rejected(result, tmp_path, before, "not writable")


def test_update_reports_an_os_error_while_reading_as_one_line(tmp_path):
    before = snapshot(tmp_path)
    result = invoke("update", tmp_path / LONG)
    assert_rejected(result, tmp_path, before, str(tmp_path / LONG))
    assert result.stderr.count("\n") == 1


def test_new_full_disk_is_one_line_and_nothing_written(tmp_path, monkeypatch):
    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    before = snapshot(tmp_path)
    result = invoke("new", "proj", "--project", "--no-input", "-o", tmp_path)
    assert_rejected(result, tmp_path, before, "No space left on device")
    assert Path(tmp_path).exists() and snapshot(tmp_path) == before

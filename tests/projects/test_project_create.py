"""`new NAME --project`: the answers file, bad input, and all-or-nothing writes."""

from __future__ import annotations

import json
import os

import pytest
from keras_jax_scaffold import __version__
from keras_jax_scaffold.layout import ANSWERS_FILE, BASE_DIR
from keras_jax_scaffold.project import read_answers, read_base
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers import support
from tests.helpers.cli import assert_rejected, deny_writes, invoke, snapshot
from tests.helpers.projects import expected_paths, files_on_disk

FLAGS = ("--model-type", "subclassed", "--loss", "bce", "-m", "auc,precision")


def make(out, *flags):
    result = invoke("new", "proj", "--project", "--no-input", "-o", out, *flags)
    assert result.exit_code == 0, result.output
    return out / "proj"


def test_project_files_and_status_lines(tmp_path):
    result = invoke("new", "proj", "--project", "--no-input", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    project = tmp_path / "proj"
    # The layout's files, the runtime and the answers file.
    expected = expected_paths("proj")
    generated = expected - {ANSWERS_FILE}
    base = {f"{BASE_DIR}/{path}" for path in generated}
    written = files_on_disk(project)
    assert written == generated | {ANSWERS_FILE} | base
    # One status line per file, and one for the base (no line per base file).
    for relative in generated | {ANSWERS_FILE}:
        assert f"    create  {project / relative}\n" in result.stdout
    summary = f"the base of `update`: {len(generated)} files"
    assert f"    create  {project / BASE_DIR}  ({summary})\n" in result.stdout
    assert len(result.stdout.splitlines()) == len(generated) + 2


def test_answers_file_is_sorted_explicit_and_reproducible(tmp_path):
    # Both read `--var clip` from the same template directory, recorded relative to
    # the project.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for side in ("a", "b"):
        support.vars_template_dir(tmp_path / side / "vars", "clip")
    first = make(tmp_path / "a", *FLAGS, "--var", "clip=1.0", "-t", tmp_path / "a/vars")
    second = make(
        tmp_path / "b", *FLAGS, "--var", "clip=1.0", "-t", tmp_path / "b/vars"
    )
    text = (first / ANSWERS_FILE).read_text()
    assert text == (second / ANSWERS_FILE).read_text()
    assert files_under(first / BASE_DIR) == files_under(second / BASE_DIR)
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert document["tool_version"] == __version__
    answers = document["answers"]
    # Every answer that applies is recorded, defaults included, so a new default
    # changes nothing; those that do not apply (settings of other recipes, the output
    # units of a classification) are left out.
    assert answers["task"] == "binary" and answers["optimizer"] == "adam"
    assert answers["recipe"] == "default" and answers["dtype_policy"] == "float32"
    assert "microbatches" not in answers and "output_units" not in answers
    assert answers["metrics"] == ["auc", "precision"]
    assert answers["variables"] == {"clip": "1.0"}
    assert None not in answers.values()
    # Read back, the answers give the same spec.
    recorded, version, template_dirs = read_answers(first)
    assert template_dirs == ("../vars",)
    assert version == __version__
    assert build_spec(recorded) == build_spec(
        Answers(
            name="proj",
            project=True,
            model_type="subclassed",
            loss="bce",
            metrics=("auc", "precision"),
            variables=(("clip", "1.0"),),
        )
    )
    base = read_base(first)
    for relative, content in base.items():
        assert (first / relative).read_text() == content
    assert base == files_under(first / BASE_DIR)


def files_under(root) -> dict[str, str]:
    """``{relative path: text}`` of every file under ``root``."""
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_existing_non_empty_directory_needs_force(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    result = invoke("new", "proj", "--project", "--no-input", "-o", tmp_path)
    assert_rejected(result, tmp_path, before, "proj", "not empty", "--force")
    result = invoke("new", "proj", "--project", "--no-input", "-o", tmp_path, "--force")
    assert result.exit_code == 0, result.output
    assert (project / "notes.txt").read_text() == "mine\n"
    assert (project / ANSWERS_FILE).is_file()


def test_empty_existing_directory_is_fine(tmp_path):
    (tmp_path / "proj").mkdir()
    assert (make(tmp_path) / ANSWERS_FILE).is_file()


def test_target_is_a_file(tmp_path):
    (tmp_path / "proj").write_text("x")
    before = snapshot(tmp_path)
    result = invoke("new", "proj", "--project", "--no-input", "-o", tmp_path)
    assert_rejected(result, tmp_path, before, "not a directory")


def test_unwritable_location(tmp_path, monkeypatch):
    deny_writes(monkeypatch)
    before = snapshot(tmp_path)
    result = invoke("new", "proj", "--project", "--no-input", "-o", tmp_path)
    assert_rejected(result, tmp_path, before, "not writable")


def test_a_failed_write_undoes_the_others(tmp_path, monkeypatch):
    """The fifth file fails: the four written before it are removed again."""
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 5:
            raise PermissionError(13, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    before = snapshot(tmp_path)
    result = invoke("new", "proj", "--project", "--no-input", "-o", tmp_path)
    assert_rejected(result, tmp_path, before, "cannot write", "nothing was changed")
    assert len(calls) == 5


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--loss", "msee"), "did you mean 'mse'"),
        (("--var", "novalue"), "expected KEY=VALUE"),
        (("--var", "1x=2"), "must be an identifier"),
        (("--var", "a=1", "--var", "a=2"), "given twice"),
        (("-t", "no/such/dir"), "does not exist"),
        (("--output", "box:msee"), "did you mean 'mse'"),
        (("--output", "a:mse", "--output", "a:bce"), "already used by an output"),
        (("--output", "a:mse", "--input", "x:4,0"), "must be positive integers"),
        (("--output", "a:mse", "--output", "b:mse", "-m", "mae"), "outputs: a, b"),
    ],
)
def test_bad_flags_write_nothing(tmp_path, flags, expected):
    before = snapshot(tmp_path)
    result = invoke("new", "proj", "--project", "--no-input", "-o", tmp_path, *flags)
    assert_rejected(result, tmp_path, before, expected)


def test_dry_run_writes_nothing(tmp_path):
    before = snapshot(tmp_path)
    result = invoke(
        "new", "proj", "--project", "--no-input", "-o", tmp_path, "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert f"+++ b/{tmp_path / 'proj' / ANSWERS_FILE}" in result.stdout
    assert snapshot(tmp_path) == before

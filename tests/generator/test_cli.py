"""The command line: `new` and its flags, statuses, --force, --dry-run, bad input, tables.

Most tests run the Typer app in-process with ``CliRunner`` (stdout and stderr apart);
the ones about the real process (stdin without a terminal, ``python -m``, tracebacks)
run it in a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from keras_jax_scaffold import __version__, catalog
from keras_jax_scaffold.errors import UserError

from tests.helpers.cli import (
    assert_one_error_line,
    assert_rejected,
    deny_writes,
    invoke,
    snapshot,
)
from tests.helpers.cli import new_module as generated

SUBPROCESS_TIMEOUT = 60


# --------------------------------------------------------------------------- helpers


def run_process(*args: str, cwd: Path | None = None, env: dict | None = None):
    """Run ``python -m keras_jax_scaffold ARGS`` with no terminal on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "keras_jax_scaffold", *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )


def status_line(stdout: str, status: str, path: Path | str) -> bool:
    pattern = rf"^\s*{status}\s+{re.escape(str(path))}(\s+\(dry run\))?$"
    return re.search(pattern, stdout, re.MULTILINE) is not None


def table_names(stdout: str) -> list[str]:
    """First column of a table printed by `losses`, `metrics` or `tasks`."""
    lines = stdout.splitlines()
    assert set(lines[1].replace(" ", "")) == {"-"}, lines[1]
    return [line.split()[0] for line in lines[2:] if line.strip()]


# --------------------------------------------------------------------------- new


def test_new_writes_module_and_reports_create(tmp_path):
    out = tmp_path / "out"
    result = invoke("new", "demo", "--no-input", "-o", out, "--loss", "mse")
    assert result.exit_code == 0, result.output
    target = out / "demo.py"
    assert status_line(result.stdout, "create", target), result.stdout
    assert result.stderr == ""
    text = target.read_text(encoding="utf-8")
    compile(text, str(target), "exec")
    assert "class Demo(keras.Model):" in text
    assert "loss=keras.losses.MeanSquaredError()" in text
    # The default metric of the loss's task.
    assert 'keras.metrics.MeanAbsoluteError(name="mean_absolute_error")' in text
    assert sorted(p.name for p in out.iterdir()) == ["demo.py"]  # no temp files left


def test_new_writes_into_current_directory_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("new", "here", "--no-input")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "here.py").is_file()
    assert status_line(result.stdout, "create", "here.py"), result.stdout


@pytest.mark.parametrize("project", [False, True])
def test_teacher_path_that_does_not_exist_yet_is_noted(tmp_path, monkeypatch, project):
    """`--teacher PATH` is loaded when the model is built, so the teacher may come
    later: `new` writes the code and notes the missing file (not when it exists)."""
    monkeypatch.chdir(tmp_path)
    flags = ["--recipe", "distillation", "-m", "none", "--model-type", "functional"]
    flags += ["--project"] if project else []
    missing = invoke("new", "late", "--no-input", "--teacher", "late.keras", *flags)
    assert missing.exit_code == 0, missing.output
    assert missing.stdout.splitlines()[0] == (
        "note: --teacher 'late.keras' does not exist yet; the generated code loads it "
        "(relative to the working directory) when it builds the model"
    )
    written = tmp_path / ("late/src/late/model.py" if project else "late.py")
    assert 'TEACHER_PATH = "late.keras"' in written.read_text(encoding="utf-8")
    (tmp_path / "ready.keras").write_bytes(b"")
    ready = invoke("new", "ready", "--no-input", "--teacher", "ready.keras", *flags)
    assert ready.exit_code == 0, ready.output
    assert "note:" not in ready.stdout


def test_rerun_reports_identical_and_does_not_rewrite(tmp_path):
    out = tmp_path / "out"
    assert invoke("new", "demo", "--no-input", "-o", out).exit_code == 0
    target = out / "demo.py"
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(out)

    result = invoke("new", "demo", "--no-input", "-o", out)
    assert result.exit_code == 0, result.output
    assert status_line(result.stdout, "identical", target), result.stdout
    assert snapshot(out) == before

    # --force does not rewrite an identical file either.
    result = invoke("new", "demo", "--no-input", "-o", out, "--force")
    assert result.exit_code == 0, result.output
    assert status_line(result.stdout, "identical", target), result.stdout
    assert snapshot(out) == before


def test_existing_different_file_needs_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "demo.py"
    target.write_text("# my own edits\n", encoding="utf-8")
    before = snapshot(out)

    result = invoke("new", "demo", "--no-input", "-o", out)
    assert result.exit_code != 0
    assert_one_error_line(result.stderr, "exists and differs", "--force")
    assert snapshot(out) == before

    result = invoke("new", "demo", "--no-input", "-o", out, "--force")
    assert result.exit_code == 0, result.output
    assert status_line(result.stdout, "overwrite", target), result.stdout
    assert target.read_text(encoding="utf-8") == generated(tmp_path)


def test_overwrite_keeps_file_mode(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "demo.py"
    target.write_text("# old\n", encoding="utf-8")
    target.chmod(0o640)
    result = invoke("new", "demo", "--no-input", "-o", out, "--force")
    assert result.exit_code == 0, result.output
    assert target.stat().st_mode & 0o777 == 0o640


def test_new_creates_missing_output_directories(tmp_path):
    out = tmp_path / "a" / "b"
    result = invoke("new", "demo", "--no-input", "-o", out)
    assert result.exit_code == 0, result.output
    assert (out / "demo.py").is_file()


def test_every_flag_reaches_the_generated_code(tmp_path):
    text = generated(
        tmp_path,
        "--model-type",
        "subclassed",
        "--loss",
        "binary_crossentropy",
        "--task",
        "multilabel",
        "--metric",
        "auc",
        "-m",
        "precision,recall",
        "--optimizer",
        "sgd",
        "--learning-rate",
        "0.05",
        "--input-shape",
        "10",
        "--num-classes",
        "5",
        "--hidden-units",
        "7",
    )
    assert "class Demo(keras.Model):" in text and "def call(self" in text
    assert "loss=keras.losses.BinaryCrossentropy()" in text
    metrics = re.findall(r"keras\.metrics\.(\w+)\(", text)
    assert metrics == ["AUC", "Precision", "Recall"]
    assert "keras.optimizers.SGD(learning_rate=0.05)" in text
    assert "INPUT_SHAPE = (10,)" in text
    assert "NUM_CLASSES = 5" in text
    assert "HIDDEN_UNITS = 7" in text
    assert 'activation="sigmoid"' in text  # the multilabel head


@pytest.mark.parametrize(
    ("model_type", "marker"),
    [
        ("sequential", "class Demo(keras.Sequential):"),
        ("functional", "model = Demo(inputs=inputs, outputs=x"),
        ("subclassed", "def call(self, inputs, training=False):"),
    ],
)
def test_model_type(tmp_path, model_type, marker):
    assert marker in generated(tmp_path, "--model-type", model_type)


def test_output_units_and_image_input_shape(tmp_path):
    text = generated(tmp_path, "--loss", "mse", "--output-units", "3")
    assert "OUTPUT_UNITS = 3" in text
    text = generated(tmp_path, "--loss", "dice", "--input-shape", "4,4,1")
    assert "INPUT_SHAPE = (4, 4, 1)" in text


@pytest.mark.parametrize(
    "spelling",
    ["MeanSquaredError", "mean_squared_error", "mse", "MSE", "meansquarederror"],
)
def test_loss_accepts_class_snake_and_alias_names(tmp_path, spelling):
    assert generated(tmp_path, "--loss", spelling) == generated(
        tmp_path, "--loss", "mean_squared_error"
    )


@pytest.mark.parametrize(
    ("spelling", "log_name"),
    [
        ("RootMeanSquaredError", "root_mean_squared_error"),
        ("root_mean_squared_error", "root_mean_squared_error"),
        ("rmse", "rmse"),
        ("RMSE", "rmse"),
    ],
)
def test_metric_accepts_class_snake_and_alias_names(tmp_path, spelling, log_name):
    """Every spelling gives the same metric; it logs under the name given, as
    `compile(metrics=["rmse"])` logs "rmse" (a class name logs its snake_case name)."""
    text = generated(tmp_path, "--loss", "mse", "-m", spelling)
    expected = generated(tmp_path, "--loss", "mse", "-m", "root_mean_squared_error")
    assert text == expected.replace("root_mean_squared_error", log_name)
    assert re.findall(r"keras\.metrics\.(\w+\(.*\))", text) == [
        f'RootMeanSquaredError(name="{log_name}")'
    ]


def test_metric_flag_is_repeatable_and_comma_separable(tmp_path):
    repeated = generated(
        tmp_path, "--loss", "mse", "-m", "mae", "--metric", "rmse,r2_score"
    )
    commas = generated(
        tmp_path,
        "--loss",
        "mse",
        "--metric",
        "mae, rmse,,r2_score",
    )
    assert repeated == commas
    assert re.findall(r"keras\.metrics\.(\w+)\(", repeated) == [
        "MeanAbsoluteError",
        "RootMeanSquaredError",
        "R2Score",
    ]


def test_metric_none_means_no_metric(tmp_path):
    text = generated(tmp_path, "--loss", "mse", "-m", "none")
    assert "keras.metrics." not in text
    assert "metrics=[]" in text


# --------------------------------------------------------------------------- dry run


def test_dry_run_prints_creation_diff_and_creates_nothing(tmp_path):
    out = tmp_path / "missing" / "deeper"
    result = invoke("new", "demo", "--no-input", "-o", out, "--dry-run")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "missing").exists()
    lines = result.stdout.splitlines()
    assert lines[0] == "--- /dev/null"
    assert lines[1] == f"+++ b/{out / 'demo.py'}"
    assert status_line(result.stdout, "create", out / "demo.py")
    assert "(dry run)" in lines[-1]
    # The added lines are exactly the file a real run writes.
    added = [line[1:] for line in lines[3:-1]]
    assert all(line.startswith("+") for line in lines[3:-1])
    assert "\n".join(added) + "\n" == generated(tmp_path)


def test_dry_run_shows_diff_against_existing_file_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    assert invoke("new", "demo", "--no-input", "-o", out).exit_code == 0
    before = snapshot(out)

    result = invoke(
        "new", "demo", "--no-input", "-o", out, "--loss", "mse", "--dry-run"
    )
    assert snapshot(out) == before
    target = out / "demo.py"
    assert f"--- a/{target}" in result.stdout
    assert f"+++ b/{target}" in result.stdout
    assert (
        "-        loss=keras.losses.SparseCategoricalCrossentropy()," in result.stdout
    )
    assert "+        loss=keras.losses.MeanSquaredError()," in result.stdout
    # Without --force the dry run says the real run would refuse.
    assert result.exit_code != 0
    assert_one_error_line(result.stderr, "--force")

    result = invoke(
        "new", "demo", "--no-input", "-o", out, "--loss", "mse", "--dry-run", "--force"
    )
    assert result.exit_code == 0, result.output
    assert status_line(result.stdout, "overwrite", target), result.stdout
    assert "+        loss=keras.losses.MeanSquaredError()," in result.stdout
    assert snapshot(out) == before


def test_dry_run_of_identical_file_prints_no_diff(tmp_path):
    out = tmp_path / "out"
    assert invoke("new", "demo", "--no-input", "-o", out).exit_code == 0
    before = snapshot(out)
    result = invoke("new", "demo", "--no-input", "-o", out, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "---" not in result.stdout and "+++" not in result.stdout
    assert status_line(result.stdout, "identical", out / "demo.py"), result.stdout
    assert snapshot(out) == before


# --------------------------------------------------------------------------- bad input

TWO_OUTPUTS = [
    "--output",
    "label:sparse_categorical_crossentropy",
    "--output",
    "box:mse",
]
BAD_INPUT = {
    # Named inputs and outputs (issue 11).
    "output-syntax": (
        ["--output", "box"],
        ["invalid --output 'box'", "NAME:LOSS[@TASK][:WEIGHT]", "box:mse:0.5"],
    ),
    "output-unknown-loss": (
        ["--output", "box:mse_error"],
        ["invalid --output 'box:mse_error'", "unknown loss 'mse_error'"],
    ),
    "output-task-not-for-loss": (
        ["--output", "box:mse@binary"],
        ["invalid --output 'box:mse@binary'", "task 'binary' does not fit loss"],
    ),
    "output-bad-weight": (
        ["--output", "box:mse:-1"],
        ["invalid --output 'box:mse:-1'", "WEIGHT '-1' must be a non-negative number"],
    ),
    "output-image-task": (
        ["--output", "mask:tversky"],
        ["output 'mask': task segmentation needs image inputs", "vector tasks only"],
    ),
    "output-duplicate-name": (
        [*TWO_OUTPUTS, "--output", "box:mae"],
        ["invalid --output 'box:mae'", "the name 'box' is already used by an output"],
    ),
    "input-duplicate-of-output": (
        [*TWO_OUTPUTS, "--input", "box:4"],
        ["invalid --input 'box:4'", "already used by an output"],
    ),
    "input-bad-shape": (
        ["--input", "image:8,0,3"],
        ["invalid --input 'image:8,0,3'", "SHAPE '8,0,3' must be positive integers"],
    ),
    "input-shape-stray-letter": (
        ["--input", "image:8,x"],
        ["invalid --input 'image:8,x'", "SHAPE '8,x' must be positive integers"],
    ),
    "input-syntax": (
        ["--input", "image"],
        ["invalid --input 'image'", "NAME:SHAPE, e.g. image:8,8,3"],
    ),
    "metric-without-output": (
        [*TWO_OUTPUTS, "-m", "accuracy"],
        ["metric 'accuracy' names no output", "label:accuracy", "outputs: label, box"],
    ),
    "metric-unknown-output": (
        [*TWO_OUTPUTS, "-m", "lable:accuracy"],
        ["unknown output 'lable'", "did you mean 'label'?", "outputs: label, box"],
    ),
    "metric-not-for-output": (
        [*TWO_OUTPUTS, "-m", "box:accuracy"],
        ["output 'box': metric 'accuracy' does not fit loss 'mean_squared_error'"],
    ),
    "loss-with-outputs": (
        [*TWO_OUTPUTS, "--loss", "mae"],
        ["--loss 'mae' with --output", "NAME:LOSS[@TASK][:WEIGHT]"],
    ),
    "sequential-with-outputs": (
        ["--model-type", "sequential", *TWO_OUTPUTS],
        ["--output with a sequential model", "functional or subclassed"],
    ),
    "sequential-with-inputs": (
        ["--model-type", "sequential", "--input", "a:3", "--input", "b:4"],
        ["--input with a sequential model", "functional or subclassed"],
    ),
    "vae-with-inputs": (
        ["--recipe", "vae", "--loss", "mse", "--input", "a:3", "--input", "b:4"],
        ["recipe 'vae' with named inputs or outputs", "drop --output/--input"],
    ),
    "custom-trackers-with-outputs": (
        [*TWO_OUTPUTS, "--recipe", "custom-trackers"],
        ["recipe 'custom-trackers' with named outputs", "owns one loss object"],
    ),
    "gan-with-outputs": (
        ["--recipe", "gan", "--output", "real:bce", "-m", "none"],
        ["recipe 'gan' with named inputs or outputs", "one unnamed input and output"],
    ),
    "inputs-with-image-task": (
        ["--loss", "tversky", "--input", "a:3"],
        ["task segmentation needs image inputs"],
    ),
    "unknown-loss": (
        ["--loss", "mean_sqared_error"],
        ["unknown loss 'mean_sqared_error'", "did you mean 'mean_squared_error'?"],
    ),
    "unknown-model-type": (
        ["--model-type", "sequental"],
        ["unknown model type 'sequental'", "did you mean 'sequential'?"],
    ),
    "unknown-metric": (
        ["--loss", "mse", "-m", "mean_absolute_eror"],
        ["unknown metric 'mean_absolute_eror'", "did you mean 'mean_absolute_error'?"],
    ),
    "unknown-optimizer": (
        ["--optimizer", "adm"],
        ["unknown optimizer 'adm'", "did you mean 'adam'?"],
    ),
    "unknown-task": (
        ["--loss", "bce", "--task", "multilable"],
        ["unknown task 'multilable'", "did you mean 'multilabel'?"],
    ),
    "task-not-for-loss": (
        ["--loss", "mse", "--task", "binary"],
        ["task 'binary' does not fit loss 'mean_squared_error'", "regression"],
    ),
    "metric-not-for-loss": (
        ["--loss", "mse", "-m", "auc"],
        [
            "metric 'auc' does not fit loss 'mean_squared_error'",
            "needs binary or multilabel or segmentation outputs",
            "trains for regression",
            "compatible metrics: ",
            "mean_absolute_error",
        ],
    ),
    "accuracy-not-for-loss": (
        ["--loss", "mse", "-m", "accuracy"],
        [
            "metric 'accuracy' does not fit loss 'mean_squared_error'",
            "by the output's shape",
            "regression outputs does not fit",
            "compatible metrics: ",
        ],
    ),
    "acc-not-for-multilabel": (
        ["--loss", "bce", "--task", "multilabel", "-m", "acc"],
        ["its pick for multilabel outputs", "did you mean 'binary_accuracy'?"],
    ),
    "metric-twice-as-alias": (
        ["-m", "accuracy,sparse_categorical_accuracy"],
        ["metric 'sparse_categorical_accuracy' is given twice (as 'accuracy')"],
    ),
    "metric-not-for-default-loss": (
        ["-m", "binary_accuracy"],
        ["does not fit loss 'sparse_categorical_crossentropy'", "multiclass_sparse"],
    ),
    "metric-twice": (
        ["--loss", "mse", "-m", "mae,mean_absolute_error"],
        ["given twice"],
    ),
    "input-shape-rank-vector": (
        ["--loss", "mse", "--input-shape", "8,8,3"],
        ["invalid input shape '8,8,3'", "rank 1"],
    ),
    "input-shape-rank-image": (
        ["--loss", "dice", "--input-shape", "16"],
        ["invalid input shape '16'", "rank 3"],
    ),
    "input-shape-not-numbers": (
        ["--input-shape", "abc"],
        ["invalid input shape 'abc'", "positive integers"],
    ),
    "input-shape-zero": (["--input-shape", "0"], ["invalid input shape '0'"]),
    "input-shape-stray-comma": (["--input-shape", "8,,3"], ["invalid input shape"]),
    "learning-rate-zero": (["--learning-rate", "0"], ["invalid learning rate"]),
    "learning-rate-negative": (["--learning-rate=-0.1"], ["invalid learning rate"]),
    "learning-rate-inf": (["--learning-rate", "inf"], ["invalid learning rate"]),
    "learning-rate-nan": (["--learning-rate", "nan"], ["invalid learning rate"]),
    "num-classes-one": (["--num-classes", "1"], ["number of classes", "at least 2"]),
    "hidden-units-zero": (["--hidden-units", "0"], ["hidden units", "at least 1"]),
    "output-units-zero": (
        ["--loss", "mse", "--output-units", "0"],
        ["output units", "at least 1"],
    ),
}

BAD_NAMES = {
    "class": ["invalid name 'class'", "keyword"],
    "match": ["invalid name 'match'", "keyword"],
    "1abc": ["invalid name '1abc'", "identifier"],
    "my-model": ["invalid name 'my-model'", "identifier"],
    "keras": ["invalid name 'keras'", "shadow"],
    "jax": ["invalid name 'jax'", "shadow"],
    "numpy": ["invalid name 'numpy'", "shadow"],
    # Valid identifiers whose class name is not one.
    "none": ["invalid name 'none'", "'None'"],
    "true": ["invalid name 'true'", "'True'"],
    "_1abc": ["invalid name '_1abc'", "'1abc'"],
    "__": ["invalid name '__'", "no class name"],
    "": ["invalid name ''"],
}


@pytest.fixture
def out_dir(tmp_path):
    """An output directory with files in it, to check that errors change nothing."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("keep me\n", encoding="utf-8")
    (out / "existing.py").write_text("# hand-written\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_error_line_and_writes_nothing(out_dir, case, dry_run):
    flags, expected = BAD_INPUT[case]
    before = snapshot(out_dir)
    extra = ["--dry-run"] if dry_run else []
    result = invoke("new", "demo", "--no-input", "-o", out_dir, *flags, *extra)
    assert_rejected(result, out_dir, before, *expected)


@pytest.mark.parametrize("name", sorted(BAD_NAMES))
def test_bad_name_is_one_error_line_and_writes_nothing(out_dir, name):
    before = snapshot(out_dir)
    result = invoke("new", name, "--no-input", "-o", out_dir)
    assert_rejected(result, out_dir, before, *BAD_NAMES[name])


def test_output_path_that_is_a_file(out_dir):
    before = snapshot(out_dir)
    for flags in ([], ["--dry-run"]):
        result = invoke("new", "demo", "--no-input", "-o", out_dir / "keep.txt", *flags)
        assert_rejected(result, out_dir, before, "keep.txt", "is a file")


def test_output_path_below_a_file(out_dir):
    before = snapshot(out_dir)
    result = invoke("new", "demo", "--no-input", "-o", out_dir / "keep.txt" / "sub")
    assert_rejected(result, out_dir, before, "keep.txt", "is a file")


def test_output_path_that_is_a_directory_named_like_the_module(out_dir):
    (out_dir / "demo.py").mkdir()
    before = snapshot(out_dir)
    result = invoke("new", "demo", "--no-input", "-o", out_dir)
    assert_rejected(result, out_dir, before, "demo.py", "directory")


def test_existing_file_without_force_changes_nothing(out_dir):
    before = snapshot(out_dir)
    result = invoke("new", "existing", "--no-input", "-o", out_dir)
    assert_rejected(result, out_dir, before, "existing.py", "--force")


@pytest.mark.parametrize("target", ["out", "out/new/deeper"])
def test_output_directory_not_writable(out_dir, monkeypatch, target):
    deny_writes(monkeypatch)
    before = snapshot(out_dir)
    output = out_dir.parent / target
    result = invoke("new", "demo", "--no-input", "-o", output)
    assert_rejected(result, out_dir, before, "not writable")


def test_failed_write_leaves_no_temporary_file(out_dir, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    before = snapshot(out_dir)
    result = invoke("new", "demo", "--no-input", "-o", out_dir)
    assert_rejected(result, out_dir, before, "cannot write", "Permission denied")


def test_missing_answers_without_terminal_fail_at_once(out_dir):
    before = snapshot(out_dir)
    result = run_process("new", "demo", "-o", out_dir)  # stdin is /dev/null
    assert result.returncode not in (0, None)
    assert result.stdout == ""
    assert_one_error_line(result.stderr, "--no-input", "no terminal", "--loss")
    assert snapshot(out_dir) == before


def test_missing_answers_without_terminal_in_process(out_dir):
    # CliRunner's stdin is no terminal either; nothing is read from it.
    before = snapshot(out_dir)
    result = invoke("new", "demo", "-o", out_dir, input="demo\n" * 20)
    assert_rejected(result, out_dir, before, "--no-input")


@pytest.mark.slow
def test_all_answers_given_need_no_terminal(tmp_path):
    out = tmp_path / "out"
    flags = [
        "--model-type", "functional", "--loss", "mse", "--task", "regression",
        "-m", "mae", "--optimizer", "adam", "--learning-rate", "0.001", "--input-shape", "16",
        "--output-units", "1", "--hidden-units", "32", "--recipe", "default",
        "--no-project",
    ]  # fmt: skip
    result = run_process("new", "demo", "-o", out, *flags)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (out / "demo.py").read_text(encoding="utf-8") == generated(tmp_path, *flags)


@pytest.mark.slow
def test_answers_that_the_loss_needs_count_as_missing(out_dir):
    # bce fits several tasks and multilabel uses the number of classes: without a
    # terminal these must be given too (or --no-input), never silently defaulted.
    before = snapshot(out_dir)
    flags = [
        "--model-type", "functional", "--loss", "bce", "-m", "auc",
        "--optimizer", "adam", "--learning-rate", "0.001", "--input-shape", "16",
        "--hidden-units", "32",
    ]  # fmt: skip
    result = run_process("new", "demo", "-o", out_dir, *flags)
    assert result.returncode != 0
    assert_one_error_line(result.stderr, "--task", "--no-input")
    result = run_process("new", "demo", "-o", out_dir, *flags, "--task", "multilabel")
    assert result.returncode != 0
    assert_one_error_line(result.stderr, "--num-classes", "--no-input")
    assert snapshot(out_dir) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--loss", "mean_sqared_error"], "did you mean 'mean_squared_error'?"),
        (["--model-type", "sequental"], "did you mean 'sequential'?"),
        (["--loss", "mse", "-m", "accuracy"], "does not fit loss"),
    ],
)
def test_errors_from_a_real_process_have_no_traceback(out_dir, flags, expected):
    before = snapshot(out_dir)
    result = run_process("new", "demo", "--no-input", "-o", out_dir, *flags)
    assert result.returncode == 1
    assert result.stdout == ""
    assert_one_error_line(result.stderr, expected)
    assert snapshot(out_dir) == before


# --------------------------------------------------------------------------- tables


def test_losses_table_lists_every_loss():
    result = invoke("losses")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["name", "class", "task", "notes"]
    assert table_names(result.stdout) == [e.snake_name for e in catalog.LOSSES]
    assert re.search(
        r"^mean_squared_error\s+MeanSquaredError\s+regression, positive_regression\s",
        result.stdout,
        re.MULTILINE,
    )


def test_metrics_table_lists_every_metric():
    result = invoke("metrics")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["name", "class", "task", "notes"]
    assert table_names(result.stdout) == [e.snake_name for e in catalog.METRICS]


@pytest.mark.parametrize("loss", ["mse", "MeanSquaredError", "mean_squared_error"])
def test_metrics_table_filtered_by_loss(loss):
    result = invoke("metrics", "--loss", loss)
    assert result.exit_code == 0, result.output
    names = table_names(result.stdout)
    assert names == [m.snake_name for m in catalog.compatible_metrics("regression")]
    assert "mean_absolute_error" in names
    assert "accuracy" not in names and "binary_accuracy" not in names
    for line in result.stdout.splitlines()[2:]:
        assert "regression" in line


def test_metrics_table_unknown_loss():
    result = invoke("metrics", "--loss", "mean_sqared_error")
    assert result.exit_code != 0
    assert_one_error_line(result.stderr, "did you mean 'mean_squared_error'?")


def test_tasks_table_lists_every_task():
    result = invoke("tasks")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split()[:2] == ["task", "input"]
    assert table_names(result.stdout) == list(catalog.TASKS)


# --------------------------------------------------------------------------- version, help


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"keras-jax-scaffold {__version__}"


@pytest.mark.slow
def test_python_dash_m_version():
    result = run_process("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"keras-jax-scaffold {__version__}"


@pytest.mark.slow
def test_console_script_version():
    script = Path(sys.executable).parent / "keras-jax-scaffold"
    if not script.exists():
        pytest.skip("console script not installed next to the interpreter")
    result = subprocess.run(
        [str(script), "--version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"keras-jax-scaffold {__version__}"


HELP = {
    (): ["--version", "new", "update", "losses", "metrics", "tasks", "templates"],
    ("update",): ["--loss", "--metric", "--learning-rate", "--template-dir", "--var"]
    + ["--dry-run"],
    ("templates",): ["list", "show", "export"],
    ("templates", "export"): ["--force"],
    ("new",): [
        "--model-type",
        "--loss",
        "--task",
        "--metric",
        "-m",
        "--optimizer",
        "--learning-rate",
        "--input-shape",
        "--num-classes",
        "--output-units",
        "--hidden-units",
        "--project",
        "--template-dir",
        "-t",
        "--var",
        "--output-dir",
        "-o",
        "--force",
        "--dry-run",
        "--no-input",
    ],
    ("losses",): ["--help"],
    ("metrics",): ["--loss"],
    ("tasks",): ["--help"],
}


@pytest.mark.parametrize("command", sorted(HELP), ids=lambda c: " ".join(c) or "root")
def test_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    for option in HELP[command]:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", result.stdout), (
            option
        )


def test_multi_line_messages_are_printed_on_one_line(out_dir, monkeypatch):
    # black's parse errors span several lines; the error must still be one line.
    from keras_jax_scaffold import format as format_module

    def broken(rendered):
        raise UserError(f"{rendered.path}: not valid Python:\n    class 1abc:\n  ^\n")

    monkeypatch.setattr(format_module, "format_file", broken)
    before = snapshot(out_dir)
    result = invoke("new", "demo", "--no-input", "-o", out_dir)
    assert_rejected(result, out_dir, before, "demo.py: not valid Python: class 1abc: ^")

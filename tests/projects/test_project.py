"""`keras-jax-scaffold new NAME --project`: an installable project.

Fast tests render projects in memory (file list, pyproject, lint, the same steps as a
generated module). The slow tests generate a project with the command line, install it
into a fresh virtual environment that reuses this environment's packages, run the
project's own tests and its training entry point.
"""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from keras_jax_scaffold.layout import ANSWERS_FILE, PROJECT, RUNTIME_FILES
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers.projects import (
    PROJECT_TESTS,
    clean_env,
    expected_paths,
    files_on_disk,
    install,
    paths_on_disk,
    project_tests,
    render,
    run,
    run_project_tests,
    write,
)

MODEL_TYPES = ("sequential", "functional", "subclassed")
STEP_METHODS = (
    "forward_and_loss",
    "update_metrics",
    "train_step",
    "test_step",
    "predict_step",
)
STEP_HELPERS = ("_training_kwargs", "_loss_tracker")
# The project tests that depend on the model type (its steps, parity, save/load): the
# installed sequential and subclassed projects run these; the functional one runs all.
MODEL_TYPE_TESTS = (
    "tests/test_smoke.py::test_model_uses_the_stateless_steps",
    "tests/test_smoke.py::test_fit_evaluate_predict",
    "tests/test_parity.py",
    "tests/test_save_load.py",
)
MODEL_TYPE_TEST_COUNT = 4

# One loss per task, so every branch of data.py (targets, shape checks) is rendered.
TASK_ANSWERS = (
    {"loss": "mse", "output_units": 2},
    {"loss": "mean_squared_logarithmic_error"},
    {"loss": "binary_crossentropy"},
    {"loss": "hinge"},
    {"loss": "binary_crossentropy", "task": "multilabel"},
    {"loss": "categorical_crossentropy"},
    {"loss": "sparse_categorical_crossentropy"},
    {"loss": "kl_divergence"},
    {"loss": "dice"},
    {"loss": "ctc", "metrics": ()},
    {"loss": "circle", "metrics": ()},
)
# Named inputs and outputs (data.py reads x_NAME/y_NAME): both, inputs only, outputs
# only (with integer labels, per-output weights and targets of several kinds).
NAMED_IO_ANSWERS = (
    {
        "model_type": "subclassed",
        "outputs": ("label:sparse_categorical_crossentropy", "box:mse:0.5"),
        "inputs": ("features:6", "image:4,3"),
    },
    {"model_type": "functional", "loss": "bce", "inputs": ("a:3", "b:2,2")},
    {
        "model_type": "functional",
        "outputs": ("tags:bce@multilabel", "pos:msle", "dist:kld"),
        "metrics": (),
    },
)


def top_level(source: str) -> dict[str, ast.AST]:
    return {
        node.name: node
        for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }


def methods(node: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_project_files(tmp_path, model_type):
    files = render(tmp_path, "my_net", model_type=model_type)
    assert set(files) == expected_paths("my_net")
    for path, source in files.items():
        if path.endswith(".py"):
            ast.parse(source)
        assert "{{" not in source, path

    model = top_level(files["src/my_net/model.py"])
    bases = [ast.unparse(base) for base in model["MyNet"].bases]
    parent = "keras.Sequential" if model_type == "sequential" else "keras.Model"
    assert bases == ["ScannedExecution", "StatelessSteps", parent]
    assert {"build_model", "compile_model"} <= set(model)
    assert "StatelessSteps" in top_level(files["src/my_net/steps.py"])
    assert {"make_dataset", "load_npz"} <= set(top_level(files["src/my_net/data.py"]))
    assert "main" in top_level(files["src/my_net/train.py"])
    init = files["src/my_net/__init__.py"]
    assert 'os.environ.setdefault("KERAS_BACKEND", "jax")' in init

    answers = json.loads(files[ANSWERS_FILE])["answers"]
    assert answers["name"] == "my_net" and answers["model_type"] == model_type


def test_a_default_project_is_short_where_the_user_edits_it(tmp_path):
    """What a user reads and edits stays short: the default project's own source (its
    runtime, copied verbatim and replaced by `update`, aside) under 600 lines, its
    train.py under 150 (issue "The house")."""
    files = render(tmp_path, "my_model")
    own = {
        path: len(source.splitlines())
        for path, source in files.items()
        if path.startswith("src/") and path.endswith(".py") and "/runtime/" not in path
    }
    runtime = [path for path in files if "/runtime/" in path]
    assert len(runtime) == len(RUNTIME_FILES)
    assert sum(own.values()) < 600, own
    assert own["src/my_model/train.py"] < 150, own


def test_pyproject_and_readme(tmp_path):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    files = render(
        tmp_path,
        "my_net",
        learning_rate=0.02,
        optimizer="sgd",
        dtype_policy="mixed_bfloat16",
    )
    pyproject = tomllib.loads(files["pyproject.toml"])
    project = pyproject["project"]
    assert project["name"] == "my-net"
    names = [re.match(r"[A-Za-z0-9_.-]+", d).group(0) for d in project["dependencies"]]
    assert names == ["keras", "jax", "jaxlib", "numpy"]
    assert "keras>=3.15,<4" in project["dependencies"]
    assert {"pytest", "ruff"} <= {
        re.match(r"[A-Za-z0-9_.-]+", d).group(0)
        for d in project["optional-dependencies"]["dev"]
    }
    assert project["scripts"] == {"my-net-train": "my_net.train:cli"}
    assert pyproject["tool"]["setuptools"]["packages"]["find"]["where"] == ["src"]
    assert pyproject["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]
    assert ".keras-jax-scaffold" in pyproject["tool"]["ruff"]["extend-exclude"]

    # The learning rate of the answers is the default of compile_model and train,
    # in constants.py (no keras: train reads it before importing keras).
    assert "LEARNING_RATE = 0.02\n" in files["src/my_net/constants.py"]
    # So is the dtype policy of train (which sets it before building the model).
    assert 'DTYPE_POLICY = "mixed_bfloat16"\n' in files["src/my_net/constants.py"]
    assert project["optional-dependencies"]["plots"] == ["matplotlib>=3.5"]
    assert "dtype_policy=DTYPE_POLICY" in files["src/my_net/train.py"]
    assert (
        "keras.optimizers.SGD(learning_rate=learning_rate)"
        in (files["src/my_net/model.py"])
    )
    readme = files["README.md"]
    for option in (
        "--epochs",
        "--batch-size",
        "--learning-rate",
        "--seed",
        "--data",
        "--validation-split",
        "--checkpoint-dir",
        "--resume",
        "--csv-log",
        "--early-stopping",
        "--verbose",
        "--data-parallel",
        "pip install -e .[dev]",
        "keras-jax-scaffold update",
        ".keras-jax-scaffold/templates",
        "--template-dir",
        ANSWERS_FILE,
    ):
        assert option in readme, option
    options = re.findall(
        r'add_argument\(\s*"(--[a-z-]+)"', files["src/my_net/runtime/options.py"]
    )
    assert len(options) >= 13
    for option in options:
        assert f"`{option}" in readme, f"README does not document {option}"


@pytest.mark.slow
def test_rendered_projects_pass_ruff(tmp_path):
    """`ruff check` with the project's own settings, for every task and model type."""
    for index, answers in enumerate(TASK_ANSWERS):
        name = f"net_{index}"
        model_type = MODEL_TYPES[index % len(MODEL_TYPES)]
        write(tmp_path / name, render(tmp_path, name, model_type=model_type, **answers))
    for index, answers in enumerate(NAMED_IO_ANSWERS):
        name = f"named_{index}"
        write(tmp_path / name, render(tmp_path, name, **answers))
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    checked = list(tmp_path.rglob("*.py"))
    per_project = sum(item.path.endswith(".py") for item in PROJECT)
    per_project += len(RUNTIME_FILES)
    assert len(checked) == (len(TASK_ANSWERS) + len(NAMED_IO_ANSWERS)) * per_project


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("task", ["default", "regression"])
def test_project_and_module_have_the_same_steps(tmp_path, model_type, task):
    """Node for node, so what proves the module's steps (Keras's own test files in
    tests/generated/test_keras_suite.py, with default answers) proves the project's."""
    answers = {"model_type": model_type}
    if task == "regression":
        answers |= {"loss": "mse", "metrics": ("r2_score",)}
    module = render_spec(build_spec(Answers(name="my_net", **answers)))["my_net.py"]
    project = render(tmp_path, "my_net", **answers)
    module_names = top_level(module)
    steps_names = top_level(project["src/my_net/steps.py"])

    module_methods = methods(module_names["MyNet"])
    mixin_methods = methods(steps_names["StatelessSteps"])
    assert sorted(mixin_methods) == sorted(STEP_METHODS)
    for name in STEP_METHODS:
        assert ast.dump(mixin_methods[name]) == ast.dump(module_methods[name]), name
    for name in STEP_HELPERS:
        assert ast.dump(steps_names[name]) == ast.dump(module_names[name]), name
    # The model class in model.py only adds the mixin: no steps of its own.
    model_class = top_level(project["src/my_net/model.py"])["MyNet"]
    assert not set(methods(model_class)) & set(STEP_METHODS)
    # Same synthetic data as the module.
    data = top_level(project["src/my_net/data.py"])
    assert ast.dump(data["make_dataset"]) == ast.dump(module_names["make_dataset"])


# --- slow: generate with the CLI, install, run the project's tests and entry point --


def final_loss(stdout: str) -> float:
    match = re.search(r"^epoch \d+: loss=(\S+)", stdout, re.MULTILINE)
    assert match, stdout[-2000:]
    return float(match.group(1))


# The functional project is made with one input and output, edited, and updated to
# two named inputs and outputs (`update --output ... --input ...`) before it is
# installed: its own tests (x_NAME/y_NAME data, parity with Keras's steps per output)
# run on the updated project.
NAMED_IO_UPDATE = [
    "--output", "label:sparse_categorical_crossentropy", "--output", "box:mse:0.5",
    "--input", "features:6", "--input", "image:4,3",
    "-m", "label:accuracy", "-m", "box:mae",
]  # fmt: skip
USER_EDIT = "# the user's own line, kept by update\n"


def update_to_named_io(project: Path, name: str, env: dict) -> None:
    """A user edit, then `update` to two named inputs and outputs: the edit stays."""
    train = project / "src" / name / "train.py"
    train.write_text(USER_EDIT + train.read_text(encoding="utf-8"), encoding="utf-8")
    updated = run(
        [sys.executable, "-m", "keras_jax_scaffold", "update", project]
        + NAMED_IO_UPDATE,
        project,
        env,
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert train.read_text(encoding="utf-8").startswith(USER_EDIT)
    data = (project / "src" / name / "data.py").read_text(encoding="utf-8")
    assert '"image": "x_image",' in data and '"box": "y_box",' in data


def new_project(directory: Path, name: str, model_type: str, env: dict) -> Path:
    """`python -m keras_jax_scaffold new NAME --project`: the project folder, holding
    exactly its render, the update record and the answers file."""
    generated = run(
        [sys.executable, "-m", "keras_jax_scaffold", "new", name, "--project"]
        + ["--no-input", "--model-type", model_type, "-o", directory],
        directory,
        env,
    )
    assert generated.returncode == 0, generated.stderr
    project = directory / name
    on_disk = files_on_disk(project)
    assert on_disk == paths_on_disk(name)
    return project


@pytest.mark.slow
@pytest.mark.parametrize("model_type", ["sequential", "subclassed"])
def test_project_tests_that_depend_on_the_model_type(tmp_path, model_type):
    """The other model types' projects pass the tests that depend on the model type
    (MODEL_TYPE_TESTS), run in this process (installing is the functional one's)."""
    project = new_project(tmp_path, f"demo_{model_type}", model_type, clean_env())
    code, output = run_project_tests(project, *MODEL_TYPE_TESTS)
    assert code == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    assert re.search(rf"\b{MODEL_TYPE_TEST_COUNT} passed\b", summary), summary
    assert not re.search(r"failed|error|skipped|deselected", summary), summary


@pytest.mark.slow
def test_installed_project_tests_and_training(tmp_path):
    """A functional project, edited and updated to two named inputs and outputs,
    installed into a fresh venv: it passes every one of its own tests (with its own
    pytest settings), and its entry point trains, checkpoints, resumes, writes a CSV
    log and refuses a bad .npz in one line."""
    name = "demo_functional"
    env = clean_env()
    project = new_project(tmp_path, name, "functional", env)
    update_to_named_io(project, name, env)

    python = install(project, tmp_path / "venv", env)

    # The project's own tests, with its own pytest settings.
    code, output = project_tests(python, project, env)
    assert code == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    # Named outputs: one more parity test (a loss per output, per-output weights).
    assert re.search(rf"\b{PROJECT_TESTS + 1} passed\b", summary), summary
    assert not re.search(r"failed|error|skipped|deselected", summary), summary

    # `python -m PKG.train`: trains, prints a finite loss, writes a checkpoint.
    checkpoints = tmp_path / "checkpoints"
    trained = run(
        [python, "-m", f"{name}.train", "--epochs", "1", "--verbose", "2"]
        + ["--num-samples", "128", "--checkpoint-dir", checkpoints],
        tmp_path,
        env,
    )
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert math.isfinite(final_loss(trained.stdout))
    assert (checkpoints / "epoch_001.keras").is_file()

    # The console script: resumes from the checkpoint, appends to a CSV log.
    script = python.parent / f"{name.replace('_', '-')}-train"
    log = tmp_path / "train.csv"
    resumed = run(
        [script, "--epochs", "2", "--verbose", "0", "--num-samples", "128"]
        + ["--resume", checkpoints / "epoch_001.keras", "--csv-log", log],
        tmp_path,
        env,
    )
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert re.search(r"^epoch 2: loss=", resumed.stdout, re.MULTILINE)
    assert math.isfinite(final_loss(resumed.stdout))
    rows = log.read_text().splitlines()
    assert rows[0].startswith("epoch,"), rows
    # Only the resumed epoch, counted from 1 as in epoch_001.keras and the messages.
    assert [row.split(",")[0] for row in rows[1:]] == ["2"]
    # The final model of each run, in the default output directory.
    assert "  final model  runs/latest/final.keras (weights of epoch 2)" in (
        resumed.stdout.splitlines()
    )
    assert (tmp_path / "runs" / "latest" / "final.keras").is_file()

    # A bad .npz: one `error:` line naming the file and the array, no traceback.
    bad = tmp_path / "bad.npz"
    # x_image misshapen: the array, its shape and the expected one.
    np.savez(
        bad,
        x_features=np.zeros((4, 6), "float32"),
        x_image=np.zeros((4, 4, 2), "float32"),
        y_label=np.zeros(4, "int32"),
        y_box=np.zeros((4, 1), "float32"),
    )
    message = f"error: {bad}: array 'x_image' has shape (4, 4, 2), expected (4, 4, 3)"
    failed = run([script, "--data", bad, "--epochs", "1"], tmp_path, env)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith(message), lines


@pytest.mark.slow
def test_project_parity_test_catches_a_changed_step(tmp_path):
    """The generated parity test can fail: with a custom step (gradients halved by a
    one-block template override) the project's own test_parity.py reports failures."""
    name = "demo_guard"
    env = clean_env()
    templates = tmp_path / "templates" / "partials"
    templates.mkdir(parents=True)
    (templates / "steps.py.jinja").write_text(
        '{% extends "builtin/partials/steps.py.jinja" %}\n'
        "{% block transform_gradients %}\n"
        "        grads = [g * 0.5 for g in grads]\n"
        "{% endblock %}\n"
    )
    generated = run(
        [sys.executable, "-m", "keras_jax_scaffold", "new", name, "--project"]
        + ["--no-input", "-o", tmp_path, "-t", tmp_path / "templates"],
        tmp_path,
        env,
    )
    assert generated.returncode == 0, generated.stderr
    project = tmp_path / name
    steps = (project / "src" / name / "steps.py").read_text()
    assert "grads = [g * 0.5 for g in grads]" in steps
    python = install(project, tmp_path / "venv", env)
    tests = run(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_parity.py",
        ],
        project,
        env,
    )
    output = tests.stdout + tests.stderr
    assert tests.returncode == 1, output[-4000:]
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\b\d+ failed\b", summary), summary
    assert "Mismatched elements" in output or "Not equal to tolerance" in output


def test_train_passes_the_losses_the_recipe_logs_to_the_runtime(tmp_path):
    """The stop on a non-finite loss watches what `fit` logs: the gan's `d_loss` and
    `g_loss` (it logs no `loss`)."""
    answers = {"recipe": "gan", "loss": "bce", "metrics": ()}
    files = render(tmp_path, "my_gan", **answers)
    train = files["src/my_gan/train.py"]
    assert 'LOSS_LOGS = ["d_loss", "g_loss"]\n' in train
    assert "run.TrainingRun(args, LOSS_LOGS)" in train
    assert 'LOSS_LOGS = ["loss"]\n' in render(tmp_path, "my_net")["src/my_net/train.py"]

"""`keras-jax-scaffold check` and the step contract (generator/runtime/contract.py).

* Negative controls: every planted mistake (tests/check_plants.py) is caught by its
  check, naming the variables and the line; in a module, and in a project's own
  tests/test_step_contract.py (it fails, or warns for a warning).
* False-positive control: no finding on the code every recipe generates for every
  model type it accepts, on the committed examples, under mixed precision and with
  named inputs and outputs; a fresh project's test_step_contract.py passes.
* The command: exit status, one-line errors for a bad TARGET or --data, the lazy
  import of keras and jax.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from keras_jax_scaffold import recipes
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.project import create_project
from keras_jax_scaffold.spec import Answers, build_spec

from tests import support
from tests.check_plants import MARKER, PLANTS, marker_line, planted
from tests.conftest import assert_one_error_line, invoke

REPO = Path(__file__).resolve().parent.parent
RUNTIME = REPO / "generator" / "runtime"
MODEL_TYPES = ("sequential", "functional", "subclassed")
# Answers a recipe needs besides its defaults.
NEEDS = {"gan": {"loss": "bce", "metrics": ()}, "vae": {"loss": "mse"}}
# The plants the fast tier runs (through the command line); the others are slow.
FAST_PLANTS = ("non-trainable-state-dropped",)


def render(directory: Path, name="demo", **answers) -> Path:
    """``new NAME`` with ``answers`` into ``directory``; the module's path."""
    spec = build_spec(Answers(name=name, **answers))
    directory.mkdir(parents=True, exist_ok=True)
    for relative, source in render_spec(spec).items():
        (directory / relative).write_text(source, encoding="utf-8")
    return directory / f"{name}.py"


def check_module(path: Path):
    """The contract's report on the module at ``path`` (imported afresh)."""
    import keras
    from keras_jax_scaffold.runtime import contract

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    module = support.import_path(path)
    data = contract.sample_data(module.make_dataset)
    return contract.check_model(module.build_model(), data, sources=[str(path)])


def assert_caught(plant, findings, source: str, path: Path):
    """A finding of the plant's check names everything it must; at the marked line
    when the plant says so."""
    mine = [f for f in findings if f.check == plant.check]
    assert mine, f"{plant.name}: no {plant.check} finding in\n" + "\n".join(
        map(str, findings)
    )
    assert all(f.severity == plant.severity for f in mine)
    text = "\n".join(map(str, mine))
    for name in plant.names:
        assert name in text, f"{plant.name}: {name!r} not in\n{text}"
    if plant.at_marker:
        line = f"{path.name}:{marker_line(source)}"
        assert any(f.where.endswith(line) for f in mine), (line, text)


# --------------------------------------------------------------------------
# Negative controls: planted mistakes in a module
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_source(tmp_path_factory):
    path = render(tmp_path_factory.mktemp("default"))
    return path.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("plant", PLANTS, ids=lambda plant: plant.name)
def test_planted_mistake_is_caught(tmp_path, default_source, plant):
    source = planted(default_source, plant)
    path = tmp_path / "demo.py"
    path.write_text(source, encoding="utf-8")
    report = check_module(path)
    assert_caught(plant, report.findings, source, path)


def test_every_plant_edits_the_steps_and_marks_a_line(default_source):
    for plant in PLANTS:
        source = planted(default_source, plant)
        assert source != default_source
        assert MARKER in source, plant.name
        compile(source, plant.name, "exec")
    assert {plant.check for plant in PLANTS} == {
        check.id for check in _contract().CHECKS
    }, "every check has a planted mistake"


def _contract():
    return importlib.import_module("keras_jax_scaffold.runtime.contract")


# --------------------------------------------------------------------------
# False-positive control: the generated code keeps the contract
# --------------------------------------------------------------------------

RECIPE_MODEL_TYPES = [
    (recipe.name, model_type)
    for recipe in recipes.RECIPES
    for model_type in MODEL_TYPES
    if model_type in recipe.model_types
]
MORE_CONFIGURATIONS = {
    "mixed_float16": {"dtype_policy": "mixed_float16"},
    "sam-mixed_float16": {"recipe": "sam", "dtype_policy": "mixed_float16"},
    "gan-mixed_bfloat16": {**NEEDS["gan"], "recipe": "gan", "dtype_policy": "mixed_bfloat16"},
    "named-inputs-and-outputs": {
        "outputs": (
            "label:sparse_categorical_crossentropy",
            "box:mse:0.5",
            "tags:bce@multilabel:0.2",
        ),
        "inputs": ("features:16", "image:8,8,3"),
        "metrics": ("label:accuracy", "box:mae", "tags:auc"),
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe, model_type", RECIPE_MODEL_TYPES)
def test_every_recipe_and_model_type_has_no_findings(tmp_path, recipe, model_type):
    path = render(tmp_path, recipe=recipe, model_type=model_type, **NEEDS.get(recipe, {}))
    report = check_module(path)
    assert report.findings == [], "\n".join(report.lines())
    if recipe in ("gan", "distillation", "vae"):
        assert any("several networks" in note for note in report.notes)
    else:
        assert report.notes == []


@pytest.mark.slow
@pytest.mark.parametrize("configuration", sorted(MORE_CONFIGURATIONS))
def test_more_configurations_have_no_findings(tmp_path, configuration):
    path = render(tmp_path, **MORE_CONFIGURATIONS[configuration])
    report = check_module(path)
    assert report.findings == [], "\n".join(report.lines())


@pytest.mark.slow
@pytest.mark.parametrize(
    "example",
    sorted(p.name for p in (REPO / "examples").glob("*.py"))
    + sorted(f"custom_templates/{p.name}" for p in (REPO / "examples/custom_templates").glob("*.py")),
)
def test_committed_examples_have_no_findings(example):
    report = check_module(REPO / "examples" / example)
    assert report.findings == [], "\n".join(report.lines())


# --------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------


def test_check_passes_on_a_fresh_module(tmp_path):
    path = render(tmp_path)
    result = invoke("check", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: the steps keep the contract (no findings)\n"


@pytest.mark.parametrize("plant_name", FAST_PLANTS)
def test_check_reports_a_planted_mistake_and_exits_1(tmp_path, default_source, plant_name):
    plant = next(p for p in PLANTS if p.name == plant_name)
    path = tmp_path / "demo.py"
    path.write_text(planted(default_source, plant), encoding="utf-8")
    result = invoke("check", path)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == f"{path}: 1 error, 0 warnings"
    assert lines[0].startswith(f"{path}:") and f"error: train_step: " in lines[0]
    assert lines[0].endswith(f"[{plant.check}]")
    assert all(name in lines[0] for name in plant.names), lines[0]


@pytest.mark.slow
def test_warnings_exit_0_unless_strict(tmp_path, default_source):
    plant = next(p for p in PLANTS if p.name == "gradient-zeroed")
    path = tmp_path / "demo.py"
    path.write_text(planted(default_source, plant), encoding="utf-8")
    result = invoke("check", path)
    assert result.exit_code == 0, result.output
    assert "warning: train_step: dense/kernel get a zero gradient" in result.stdout
    assert result.stdout.splitlines()[-1] == f"{path}: 0 errors, 1 warning"
    assert invoke("check", path, "--strict").exit_code == 1


@pytest.mark.slow
def test_check_reads_data_as_the_project_does(tmp_path):
    import numpy as np

    project = make_project(tmp_path, "proj")
    sys.path.insert(0, str(project / "src"))
    try:
        from proj.data import make_dataset
    finally:
        sys.path.remove(str(project / "src"))
    x, y = make_dataset(num_samples=40, seed=1)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    shards = tmp_path / "shards"
    shards.mkdir()
    for name, array in (("x", x), ("y", y)):
        np.save(shards / f"{name}_000.npy", array[:20])
        np.save(shards / f"{name}_001.npy", array[20:])
    for data in (tmp_path / "train.npz", shards):
        result = invoke("check", project, "--data", data)
        assert result.exit_code == 0, result.output
    np.savez(tmp_path / "bad.npz", x=x[:, :3], y=y)
    result = invoke("check", project, "--data", tmp_path / "bad.npz")
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "bad.npz", "array 'x'", "shape (40, 3)")


def test_bad_target_is_one_error_line(tmp_path):
    (tmp_path / "plain.py").write_text("print('hello')\n")
    (tmp_path / "broken.py").write_text("def build_model(:\n")
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "fails.py").write_text(
        "import no_such_module_here\n\ndef build_model():\n    pass\n\n"
        "def make_dataset(num_samples=256, seed=0):\n    pass\n"
    )
    cases = {
        "missing.py": ("'", "missing.py", "no such file or directory"),
        "plain.py": ("plain.py", "is not a generated module", "build_model()", "new NAME"),
        "broken.py": ("broken.py", "does not parse"),
        "notes.txt": ("notes.txt", "is not a Python module"),
        "fails.py": ("cannot import", "ModuleNotFoundError", "fails.py:1"),
        ".": ("is not a generated project", ".keras-jax-scaffold.json", "--project"),
    }
    for target, expected in cases.items():
        result = invoke("check", tmp_path / target)
        assert result.exit_code == 2, (target, result.output)
        assert result.stdout == ""
        assert_one_error_line(result.stderr, *expected)


def test_bad_data_is_one_error_line(tmp_path):
    path = render(tmp_path)
    (tmp_path / "not-npz.npz").write_text("hello")
    cases = {
        "missing.npz": ("--data", "missing.npz", "no such file"),
        "not-npz.npz": ("--data", "not-npz.npz", "cannot read it as an .npz file"),
        ".": ("--data", "a directory of .npy shards is read by a project"),
    }
    for data, expected in cases.items():
        result = invoke("check", path, "--data", tmp_path / data)
        assert result.exit_code == 2, (data, result.output)
        assert_one_error_line(result.stderr, *expected)


def test_help_imports_neither_keras_nor_jax():
    code = (
        "import sys\n"
        "from keras_jax_scaffold.cli import app\n"
        "from typer.testing import CliRunner\n"
        "result = CliRunner().invoke(app, ['check', '--help'])\n"
        "assert result.exit_code == 0 and '--data' in result.output, result.output\n"
        "assert not {'keras', 'jax'} & set(sys.modules), 'imported'\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr


# --------------------------------------------------------------------------
# A project's tests/test_step_contract.py
# --------------------------------------------------------------------------


def make_project(tmp_path: Path, name: str, **answers) -> Path:
    """A rendered project with its runtime (copied from generator/runtime/ if the
    render does not copy it yet)."""
    create_project(Answers(name=name, **answers), tmp_path)
    runtime = tmp_path / name / "src" / name / "runtime"
    if not runtime.exists():
        shutil.copytree(RUNTIME, runtime, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / name


def run_project_tests(project: Path, *args: str):
    """pytest on the project's test_step_contract.py, in this process, with its src
    on sys.path: `(exit code, output)`."""
    src = str(project / "src")
    sys.path.insert(0, src)
    capture = project / "pytest-output.txt"
    try:
        with open(capture, "w", encoding="utf-8") as out:
            code = _pytest_main(
                [str(project / "tests" / "test_step_contract.py"), "-q", "-rw", "-p",
                 "no:cacheprovider", "-p", "no:randomly", "--rootdir", str(project),
                 *args],
                out,
            )
    finally:
        sys.path.remove(src)
        # The project's modules (its package, conftest, test module): the next
        # project has modules of the same names.
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", "") or "").startswith(str(project)):
                del sys.modules[name]
    return code, capture.read_text(encoding="utf-8")


def _pytest_main(args, out):
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(out), redirect_stderr(out):
        return pytest.main(args)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["default", "gan", "vae", "distillation"])
def test_fresh_project_passes_its_step_contract(tmp_path, recipe):
    name = f"contract_{recipe}"
    project = make_project(tmp_path, name, recipe=recipe, **NEEDS.get(recipe, {}))
    code, output = run_project_tests(project)
    assert code == 0, output
    assert "passed" in output and "failed" not in output


@pytest.mark.slow
@pytest.mark.parametrize("plant", PLANTS, ids=lambda plant: plant.name)
def test_project_step_contract_fails_on_a_planted_mistake(tmp_path, plant):
    name = f"planted_{plant.name.replace('-', '_')}"
    project = make_project(tmp_path, name)
    path = project / "src" / name / f"{plant.file}.py"
    path.write_text(planted(path.read_text(encoding="utf-8"), plant), encoding="utf-8")
    code, output = run_project_tests(project, "-k", "test_step_contract")
    if plant.severity == "warning":
        assert code == 0, output
        assert f"[{plant.check}]" in output and "warning" in output
    else:
        assert code == 1, output
        assert f"test_step_contract[{plant.check}]" in output and "failed" in output


@pytest.mark.slow
def test_project_determinism_and_round_trip_tests_fail_on_their_mistakes(tmp_path):
    name = "nondeterministic"
    project = make_project(tmp_path, name)
    steps = project / "src" / name / "steps.py"
    # Randomness that keras.utils.set_random_seed does not seed (it seeds np.random).
    plant = next(p for p in PLANTS if p.name == "numpy-randomness-in-the-step")
    source = planted(steps.read_text(encoding="utf-8"), plant)
    source = source.replace("np.random.normal(", "np.random.default_rng().normal(")
    steps.write_text(source, encoding="utf-8")
    model = project / "src" / name / "model.py"
    source = model.read_text(encoding="utf-8")
    old = '@keras.saving.register_keras_serializable(package="nondeterministic")\n'
    assert source.count(old) == 1
    model.write_text(source.replace(old, ""), encoding="utf-8")
    code, output = run_project_tests(project, "-k", "seed or round_trip")
    assert code == 1, output
    assert "2 failed" in output, output


def test_docs_list_every_check_with_its_severity():
    text = (REPO / "docs" / "check.md").read_text(encoding="utf-8")
    rows = [
        line.split("|")[1:3]
        for line in text.splitlines()
        if line.startswith("| `") and line.count("|") == 5
    ]
    listed = [(name.strip().strip("`"), severity.strip()) for name, severity in rows]
    assert listed == [(check.id, check.severity) for check in _contract().CHECKS]

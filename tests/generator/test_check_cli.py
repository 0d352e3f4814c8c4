"""`keras-jax-scaffold check`: its output and exit status, the data it reads, one-line
errors for a bad TARGET or --data, and keras/jax imported only when it runs (the
checks themselves: tests/runtime/test_contract.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import SCRIPTS
from tests.helpers.check_plants import PLANT_INDEX, planted, render_module
from tests.helpers.cli import error_line, invoke
from tests.helpers.projects import write_project


@pytest.fixture(scope="module")
def default_source(tmp_path_factory):
    return render_module(tmp_path_factory.mktemp("default")).read_text(encoding="utf-8")


def test_a_fresh_module_keeps_the_contract(tmp_path):
    path = render_module(tmp_path)
    result = invoke("check", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: the steps keep the contract (no findings)\n"


def test_a_planted_mistake_is_one_line_and_exit_status_1(tmp_path, default_source):
    plant = PLANT_INDEX["non-trainable-state-dropped"]
    path = tmp_path / "demo.py"
    path.write_text(planted(default_source, plant), encoding="utf-8")
    result = invoke("check", path)
    assert result.exit_code == 1, result.output
    finding, summary = result.stdout.splitlines()
    assert summary == f"{path}: 1 error, 0 warnings"
    assert finding.startswith(f"{path}:") and ": error: train_step: " in finding
    assert finding.endswith(f"[{plant.check}]")
    assert all(name in finding for name in plant.names), finding


@pytest.mark.slow
def test_warnings_exit_0_unless_strict(tmp_path, default_source):
    path = tmp_path / "demo.py"
    path.write_text(planted(default_source, PLANT_INDEX["gradient-zeroed"]))
    result = invoke("check", path)
    assert result.exit_code == 0, result.output
    assert "warning: train_step: dense/kernel get a zero gradient" in result.stdout
    assert result.stdout.splitlines()[-1] == f"{path}: 0 errors, 1 warning"
    assert invoke("check", path, "--strict").exit_code == 1


@pytest.mark.slow
def test_a_project_is_checked_on_its_files_as_its_train_reads_them(tmp_path):
    import numpy as np

    project = write_project(tmp_path, "proj")
    x = np.random.default_rng(0).normal(size=(40, 16)).astype("float32")
    y = np.arange(40) % 3
    np.savez(tmp_path / "train.npz", x=x, y=y)
    shards = tmp_path / "shards"
    shards.mkdir()
    for name, array in (("x", x), ("y", y)):
        np.save(shards / f"{name}_000.npy", array[:20])
        np.save(shards / f"{name}_001.npy", array[20:])
    for data in (None, tmp_path / "train.npz", shards):
        result = invoke("check", project, *(["--data", data] if data else []))
        assert result.exit_code == 0, result.output
        assert result.stdout.endswith("the steps keep the contract (no findings)\n")
    np.savez(tmp_path / "bad.npz", x=x[:, :3], y=y)
    result = invoke("check", project, "--data", tmp_path / "bad.npz")
    assert result.exit_code == 2
    error_line(result, "bad.npz", "'x'", "(40, 3)")


def test_a_bad_target_is_one_error_line(tmp_path):
    (tmp_path / "plain.py").write_text("print('hello')\n")
    (tmp_path / "broken.py").write_text("def build_model(:\n")
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "fails.py").write_text(
        "import no_such_module_here\n\ndef build_model():\n    pass\n\n"
        "def make_dataset(num_samples=256, seed=0):\n    pass\n"
    )
    cases = {
        "missing.py": ("missing.py", "no such file or directory", "new NAME"),
        "plain.py": ("plain.py", "is not a generated module", "build_model()"),
        "broken.py": ("broken.py", "does not parse"),
        "notes.txt": ("notes.txt", "is not a Python module"),
        "fails.py": ("cannot import", "ModuleNotFoundError", "fails.py:1"),
        ".": ("is not a generated project", ".keras-jax-scaffold.json", "--project"),
    }
    for target, expected in cases.items():
        result = invoke("check", tmp_path / target)
        assert result.exit_code == 2, (target, result.output)
        error_line(result, *expected)


def test_bad_data_is_one_error_line(tmp_path):
    path = render_module(tmp_path)
    (tmp_path / "not-npz.npz").write_text("hello")
    cases = {
        "missing.npz": ("--data", "missing.npz", "no such file"),
        "not-npz.npz": ("--data", "not-npz.npz", "cannot read it as an .npz file"),
        ".": ("--data", "a directory of .npy shards is read by a project"),
    }
    for data, expected in cases.items():
        result = invoke("check", path, "--data", tmp_path / data)
        assert result.exit_code == 2, (data, result.output)
        error_line(result, *expected)


@pytest.mark.slow
def test_help_imports_neither_keras_nor_jax(tmp_path):
    script = SCRIPTS / "no_heavy_imports.py"
    completed = subprocess.run(
        [sys.executable, str(script), json.dumps([["check", "--help"]])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.splitlines()[-1]) == []

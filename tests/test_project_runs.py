"""A generated project's training runs (issue 13): negative controls for the project's
own tests, which `tests/test_project.py` runs in an installed project.

A project is rendered into a temp dir and its tests run from the sources
(`PYTHONPATH=src`) in a subprocess, after a deliberate break of the algorithm: they
must fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from keras_jax_scaffold.project import render_project
from keras_jax_scaffold.spec import Answers, build_spec


def write_project(directory: Path, name: str = "runs_probe") -> Path:
    spec = build_spec(Answers(name=name))
    project = directory / name
    for relative, source in render_project(spec, (), project).items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return project


def run_project_tests(project: Path, *selection: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = str(project / "src")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        + ["-p", "no:xdist", "-p", "no:randomly", *selection],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )


def break_file(path: Path, old: str, new: str) -> None:
    source = path.read_text()
    assert source.count(old) == 1, f"{old!r} not found once in {path}"
    path.write_text(source.replace(old, new))


@pytest.mark.slow
def test_steps_per_execution_parity_detects_a_wrong_scan(tmp_path):
    """Scanning the batches of an execution in reverse order is caught."""
    project = write_project(tmp_path)
    break_file(
        project / "src" / "runs_probe" / "model.py",
        "jax.lax.scan(body, state, stacked)",
        "jax.lax.scan(body, state, stacked, reverse=True)",
    )
    completed = run_project_tests(
        project, "tests/test_parity.py::test_same_as_builtin_with_steps_per_execution[4]"
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "1 failed" in output and "Not equal to tolerance" in output, output[-3000:]

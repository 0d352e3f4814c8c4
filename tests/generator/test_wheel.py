"""The wheel ships the templates and the projects' runtime: build it, install it into a
fresh virtual environment and generate a module and a project from a directory outside
the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_installs_and_generates(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "-o",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("keras_jax_scaffold-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # Dependencies (jinja2, typer, black) come from this environment's site-packages;
    # a .pth path line does not run this environment's editable-install hook.
    fresh_site = subprocess.run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(fresh_site, "_parent_site.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    located = subprocess.run(
        [str(python), "-c", "import keras_jax_scaffold as k; print(k.__file__)"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert located.startswith(str(env_dir)), located

    completed = subprocess.run(
        [
            str(env_dir / "bin" / "keras-jax-scaffold"),
            "new",
            "from_wheel",
            "--no-input",
        ],
        check=False,
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    source = (work / "from_wheel.py").read_text()
    assert "class FromWheel(keras.Model)" in source
    assert "def train_step(self, state, data):" in source

    # A project from the wheel holds the runtime, byte for byte (package data).
    completed = subprocess.run(
        [str(env_dir / "bin" / "keras-jax-scaffold"), "new", "proj", "--project"]
        + ["--no-input"],
        check=False,
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    runtime = ROOT / "generator" / "runtime"
    copied = sorted(p.name for p in (work / "proj/src/proj/runtime").glob("*.py"))
    assert copied == sorted(p.name for p in runtime.glob("*.py"))
    for name in copied:
        assert (work / "proj/src/proj/runtime" / name).read_bytes() == (
            runtime / name
        ).read_bytes(), name

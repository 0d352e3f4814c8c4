"""Generated code is reproducible, lint-clean and rendered without importing keras/jax."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from keras_jax_scaffold import catalog
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers import SCRIPTS, support
from tests.helpers.cli import invoke

TIMEOUT = 120
# Runs command lines in a fresh process; prints the keras/jax modules they imported.
NO_HEAVY_IMPORTS = SCRIPTS / "no_heavy_imports.py"

CONFIGS = {
    "defaults": [],
    "multilabel-subclassed": [
        "--model-type", "subclassed", "--loss", "bce", "--task", "multilabel",
        "-m", "auc,precision,f1_score", "--num-classes", "5", "--optimizer", "adamw",
    ],
    "regression-sequential": [
        "--model-type", "sequential", "--loss", "mse", "-m", "mae", "-m", "rmse,r2_score",
        "--output-units", "3", "--learning-rate", "0.0003", "--input-shape", "7",
    ],
    "segmentation-functional": [
        "--loss", "dice", "--task", "segmentation", "--input-shape", "6,6,2",
        "-m", "binary_io_u,auc",
    ],
}  # fmt: skip


def run(args, env=None, cwd=None):
    return subprocess.run(
        args,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )


def generate_in_subprocess(out: Path, flags, hashseed: str) -> bytes:
    result = run(
        [sys.executable, "-m", "keras_jax_scaffold", "new", "demo", "--no-input"]
        + ["-o", str(out), *flags],
        env={"PYTHONHASHSEED": hashseed},
    )
    assert result.returncode == 0, result.stderr
    return (out / "demo.py").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_same_answers_give_byte_identical_files_across_hash_seeds(tmp_path, config):
    flags = CONFIGS[config]
    first = generate_in_subprocess(tmp_path / "seed0", flags, "0")
    second = generate_in_subprocess(tmp_path / "seed12345", flags, "12345")
    assert first == second
    # Nothing about the output directory leaks into the file.
    assert str(tmp_path) not in first.decode("utf-8")


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_recorded_command_line_renders_the_same_file(tmp_path, config):
    out = tmp_path / "out"
    result = invoke("new", "demo", "--no-input", "-o", out, *CONFIGS[config])
    assert result.exit_code == 0, result.output
    text = (out / "demo.py").read_text(encoding="utf-8")
    match = re.search(r"^\s+keras-jax-scaffold (new demo .*)$", text, re.MULTILINE)
    assert match, "the module docstring records how to render it again"
    args = shlex.split(match.group(1))
    assert "--no-input" not in args  # every answer is explicit
    result = invoke(*args, "-o", out)
    assert result.exit_code == 0, result.output
    assert re.search(r"^\s*identical\s", result.stdout, re.MULTILINE), result.stdout


COMMANDS = {
    "new": [["new", "demo", "--no-input", "--loss", "bce", "-m", "auc",
             "--model-type", "subclassed"],
            ["new", "demo_optax", "--no-input", "--optimizer", "optax:adamw"]],
    "new --project, update": [
        ["new", "proj", "--project", "--no-input", "--model-type", "sequential"],
        ["update", "proj", "--learning-rate", "0.01", "--optimizer", "optax:lion"],
    ],
    "templates": [["templates", "list"], ["templates", "export", "exported"]],
}  # fmt: skip


# `new` stays in the fast tier (`-m "not slow"`); the others spawn the same check.
@pytest.mark.parametrize(
    "command",
    [
        pytest.param(c, marks=[] if c == "new" else [pytest.mark.slow])
        for c in sorted(COMMANDS)
    ],
)
def test_commands_never_import_keras_jax_or_tensorflow(tmp_path, command):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, str(NO_HEAVY_IMPORTS), json.dumps(COMMANDS[command])],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert any(tmp_path.iterdir())  # the commands did run
    assert json.loads(result.stdout.splitlines()[-1]) == []


@pytest.mark.slow
def test_projects_are_byte_identical_across_hash_seeds(tmp_path):
    trees = []
    for seed in ("0", "12345"):
        out = tmp_path / f"seed{seed}"
        result = run(
            [sys.executable, "-m", "keras_jax_scaffold", "new", "proj", "--project",
             "--no-input", "-o", str(out), "--loss", "bce", "--task", "multilabel",
             "-m", "auc,precision", "--var", "b=2", "--var", "a=1",
             "-t", str(support.vars_template_dir(tmp_path / "vars", "a", "b"))],
            env={"PYTHONHASHSEED": seed},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        trees.append(
            {
                p.relative_to(out).as_posix(): p.read_bytes()
                for p in sorted(out.rglob("*"))
                if p.is_file()
            }
        )
    assert trees[0] == trees[1]
    assert len(trees[0]) > 10
    for content in trees[0].values():
        assert str(tmp_path).encode() not in content


def _tool(name: str) -> list[str]:
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    if shutil.which(name) is None:
        return [sys.executable, "-m", name]
    return [shutil.which(name)]


@pytest.fixture(scope="module")
def every_configuration(tmp_path_factory) -> Path:
    """Every loss x task, rendered to disk.

    The model types rotate, and so do "every metric that fits" and "no metric", so that
    each model type meets both (rendering all combinations costs black time for little).
    """
    out = tmp_path_factory.mktemp("every_configuration")
    pairs = [(loss, task) for loss in catalog.LOSSES for task in loss.tasks]
    for number, (loss, task) in enumerate(pairs):
        all_metrics = tuple(m.snake_name for m in catalog.compatible_metrics(task))
        answers = Answers(
            name=f"module_{number}",
            model_type=catalog.MODEL_TYPES[number % len(catalog.MODEL_TYPES)],
            loss=loss.snake_name,
            task=task,
            metrics=all_metrics if number % 2 == 0 else (),
        )
        for relative, source in render_spec(build_spec(answers)).items():
            (out / relative).write_text(source, encoding="utf-8")
    return out


@pytest.mark.slow
def test_every_configuration_is_valid_python(every_configuration):
    files = sorted(every_configuration.glob("*.py"))
    assert len(files) == sum(len(loss.tasks) for loss in catalog.LOSSES)
    for path in files:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


@pytest.mark.slow
def test_generated_code_passes_ruff_with_default_rules(every_configuration):
    result = run(
        [*_tool("ruff"), "check", "--isolated", "--no-cache", "."],
        cwd=every_configuration,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_generated_code_is_black_formatted(every_configuration):
    result = run(
        [sys.executable, "-m", "black", "--check", "--quiet", "."],
        cwd=every_configuration,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_cli_output_passes_ruff_and_black(tmp_path):
    for config, flags in CONFIGS.items():
        out = tmp_path / config
        result = invoke("new", "demo", "--no-input", "-o", out, *flags)
        assert result.exit_code == 0, result.output
    ruff = run([*_tool("ruff"), "check", "--isolated", "--no-cache", "."], cwd=tmp_path)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    black = run(
        [sys.executable, "-m", "black", "--check", "--quiet", "."], cwd=tmp_path
    )
    assert black.returncode == 0, black.stdout + black.stderr

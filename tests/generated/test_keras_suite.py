"""Keras's own test files pass with the generated steps.

The keras wheel ships its test files. They run in subprocesses (`python -m pytest
<files> -p tests.scripts.keras_suite_plugin`): with a generated module's steps
swapped into `JAXTrainer` (tests/scripts/keras_suite_plugin.py); then, with Keras's own
steps (the baseline), every test that did not pass with the generated ones. A
project's steps (its `StatelessSteps`) are the module's, node for node
(tests/projects/test_project.py::test_project_and_module_have_the_same_steps), so
they are not run again. Every Keras test that passes with
Keras's steps must pass with the generated ones: a test that fails or skips with the
generated steps must fail or skip with Keras's own too (they need tensorflow, torch,
grain or orbax, or several devices); those are listed, and so are the files left out
because they import tensorflow at module level. Running the baseline only where it
decides something saves a third of the cost; the call counts, per file, show the swap
took effect.

Run it alone with the report shown:
`pytest tests/generated/test_keras_suite.py -n 0 -rP`.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
KERAS_SRC = (
    Path(importlib.util.find_spec("keras").submodule_search_locations[0]) / "src"
)
# The files that exercise `fit`/`evaluate`/`predict` and the steps.
CANDIDATES = (
    "trainers/trainer_test.py",
    "models/model_test.py",
    "models/sequential_test.py",
    "models/functional_test.py",
    *sorted(
        str(path.relative_to(KERAS_SRC))
        for path in (KERAS_SRC / "callbacks").glob("*_test.py")
    ),
)
STEPS = ("train_step", "test_step", "predict_step")
HELPERS = ("forward_and_loss", "update_metrics")
NAME = "keras_suite_steps"
TIMEOUT_S = 1800
# Why a test fails with Keras's own steps here: a package this environment lacks.
MISSING_PACKAGE = re.compile(r"tensorflow|torch|grain|orbax", re.IGNORECASE)


def tensorflow_import_line(path: Path) -> int | None:
    """The line of a module-level `import tensorflow...`, if any."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == "tensorflow" for name in names):
            return node.lineno
    return None


def select_files() -> tuple[list[str], dict[str, str]]:
    """`(files to run, {left-out file: reason})`."""
    run, left_out = [], {}
    for relative in CANDIDATES:
        line = tensorflow_import_line(KERAS_SRC / relative)
        if line is None:
            run.append(relative)
        else:
            left_out[relative] = f"imports tensorflow at module level (line {line})"
    return run, left_out


@dataclass
class Run:
    """One run of the Keras test files: `{test id: (outcome, message)}`, step calls,
    `{test file name: tests that called a step}`, wall-clock seconds of its parallel
    batch, its own CPU seconds."""

    variant: str
    outcomes: dict[str, tuple[str, str]]
    calls: dict[str, int]
    tests_calling_steps: dict[str, int]
    seconds: float
    cpu_seconds: float

    def ids(self, outcome: str) -> set[str]:
        return {test for test, (got, _) in self.outcomes.items() if got == outcome}


def parse_junit(path: Path) -> dict[str, tuple[str, str]]:
    """`{classname::name: (passed|failed|skipped, first line of the message)}`; a test
    reported twice (a teardown error after a pass) keeps its worst outcome."""
    rank = {"passed": 0, "skipped": 1, "failed": 2}
    outcomes: dict[str, tuple[str, str]] = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "skipped" if child.tag == "skipped" else "failed"
                text = child.get("message") or child.text or child.tag
                message = text.strip().splitlines()[0][:300] if text.strip() else ""
        if test not in outcomes or rank[outcome] > rank[outcomes[test][0]]:
            outcomes[test] = (outcome, message)
    return outcomes


def render_steps(directory: Path) -> tuple[Path, str]:
    """A generated module with default answers: `(file, class holding the steps)`."""
    spec = build_spec(Answers(name=NAME))
    module = directory / f"{NAME}.py"
    module.write_text(render_spec(spec)[f"{NAME}.py"], encoding="utf-8")
    return module, spec.class_name


def node_id(test: str, files: list[str]) -> str:
    """The pytest node id of a junit test id `classname::name` from one of `files`."""
    classname, name = test.split("::", 1)
    for relative in files:
        module = "keras.src." + relative.removesuffix(".py").replace("/", ".")
        path = str(KERAS_SRC / relative)
        if classname == module:
            return f"{path}::{name}"
        if classname.startswith(module + "."):
            return f"{path}::{classname.removeprefix(module + '.')}::{name}"
    raise AssertionError(f"{test}: not from any of {files}")


def start(variant, directory, files, steps=None, extra_args=(), tests=None):
    """Start `python -m pytest` on the Keras test files (or on the node ids `tests`
    of them) for one variant."""
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "KERAS_SUITE_COUNTS": str(directory / f"{variant}.counts.json"),
    }
    env.pop("KERAS_SUITE_STEPS_FILE", None)
    env.pop("KERAS_SUITE_STEPS_CLASS", None)
    if steps is not None:
        env["KERAS_SUITE_STEPS_FILE"] = str(steps[0])
        env["KERAS_SUITE_STEPS_CLASS"] = steps[1]
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(tests or (str(KERAS_SRC / relative) for relative in files)),
        "-c",
        str(directory / "pytest.ini"),
        # Classnames as `keras.src.trainers.trainer_test.TestTrainer`.
        "--rootdir",
        str(KERAS_SRC.parents[1]),
        "-p",
        "tests.scripts.keras_suite_plugin",
        "-p",
        "no:cacheprovider",
        "-n",
        "0",
        "-q",
        "-o",
        "junit_family=xunit2",
        f"--junitxml={directory / f'{variant}.xml'}",
        *extra_args,
    ]
    # The child keeps its own handle on the log; the parent's closes here.
    with open(directory / f"{variant}.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return variant, process, time.monotonic()


def finish(started, directory) -> dict[str, Run]:
    """Wait for every started run (none is left running, whatever happens), then
    read its results: `{variant: Run}`."""
    try:
        for _, process, _ in started:
            process.wait(timeout=TIMEOUT_S)
    finally:
        for _, process, _ in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = time.monotonic() - min(t0 for _, _, t0 in started)
    runs = {}
    for variant, process, _ in started:
        log_text = (directory / f"{variant}.log").read_text(encoding="utf-8")
        # 0: all passed, 1: some failed; anything else (usage error, internal error,
        # nothing collected) means the run itself is broken.
        broken = f"{variant}: pytest exited {process.returncode}\n{log_text[-4000:]}"
        assert process.returncode in (0, 1), broken
        outcomes = parse_junit(directory / f"{variant}.xml")
        report = json.loads((directory / f"{variant}.counts.json").read_text())
        runs[variant] = Run(
            variant,
            outcomes,
            report["calls"],
            report["tests_calling_steps"],
            seconds,
            report["cpu_s"],
        )
    return runs


def not_passed(run: Run) -> set[str]:
    return set(run.outcomes) - run.ids("passed")


def regressions(baseline: Run, run: Run) -> dict[str, str]:
    """Tests that do not pass in `run` and do (or were not run) with Keras's steps,
    with `run`'s message."""
    return {
        test: run.outcomes[test][1]
        for test in sorted(not_passed(run))
        if baseline.outcomes.get(test, ("not run", ""))[0] in ("passed", "not run")
    }


def run_variants(directory: Path) -> tuple[list[str], dict[str, str], dict[str, Run]]:
    """The generated steps' run, then Keras's own steps on the tests that did not
    pass with them: `(files run, left-out files, {variant: Run})`."""
    files, left_out = select_files()
    runs = finish(
        [start("module", directory, files, render_steps(directory))], directory
    )
    tests = [node_id(test, files) for test in sorted(not_passed(runs["module"]))]
    runs |= finish([start("keras", directory, files, tests=tests)], directory)
    return files, left_out, runs


def check_files(files, left_out):
    print("Keras test files run:", *files, sep="\n  ")
    print("Left out:", *(f"{f}: {why}" for f, why in left_out.items()), sep="\n  ")
    assert set(files) | set(left_out) == set(CANDIDATES)
    assert "trainers/trainer_test.py" in files
    assert all("tensorflow" in why for why in left_out.values())


def check_baseline(files, baseline: Run):
    """What fails or skips with Keras's own steps (of the tests that did not pass with
    the generated ones) is listed (it does not count against the generated steps); a
    failure must come from a missing package."""
    for outcome in ("failed", "skipped"):
        listed = sorted(baseline.ids(outcome))
        print(f"{outcome} with Keras's own steps ({len(listed)}):")
        for test in listed:
            print(f"  {test}: {baseline.outcomes[test][1]}")
    print(
        f"keras: {len(baseline.ids('passed'))} passed of {len(baseline.outcomes)} "
        f"in {baseline.seconds:.0f}s ({baseline.cpu_seconds:.0f} CPU s)"
    )
    unexplained = {
        test: message
        for test in baseline.ids("failed")
        if not MISSING_PACKAGE.search(message := baseline.outcomes[test][1])
    }
    not_missing = "failing with Keras's own steps, not for a missing package"
    assert not unexplained, f"{not_missing}: {unexplained}"


def check_variant(files, baseline: Run, run: Run):
    """`run` passes every test Keras's steps pass, through the generated steps."""
    print(
        f"{run.variant}: {len(run.ids('passed'))} passed of {len(run.outcomes)} "
        f"in {run.seconds:.0f}s ({run.cpu_seconds:.0f} CPU s); calls {run.calls}; "
        f"tests calling a step {run.tests_calling_steps}"
    )
    # Every file ran...
    for relative in files:
        prefix = "keras.src." + relative.removesuffix(".py").replace("/", ".") + "."
        assert any(t.startswith(prefix) for t in run.outcomes), relative
    assert len(run.ids("passed")) >= 300
    # ...through the generated steps: the swap took effect in every file that fits
    # or evaluates (jit traces a step once per compiled function, eager runs call it
    # per batch).
    # (keras 3.15.1: 122 tests of trainer_test.py, 43 of model_test.py, 203 in all)
    assert run.tests_calling_steps.get("trainer_test.py", 0) >= 100
    assert run.tests_calling_steps.get("model_test.py", 0) >= 30
    assert sum(run.tests_calling_steps.values()) >= 180
    for name in STEPS:
        assert run.calls.get(name, 0) >= 50, name
    for name in HELPERS:
        assert run.calls.get(name, 0) >= run.calls["train_step"], name
    failing = regressions(baseline, run)
    assert not failing, f"{run.variant}: " + "\n".join(
        f"{test}: {message}" for test, message in failing.items()
    )


def test_keras_test_files_pass_with_generated_steps(tmp_path):
    """One test (so that pytest-xdist runs the two subprocesses once)."""
    files, left_out, runs = run_variants(tmp_path)
    check_files(files, left_out)
    check_baseline(files, runs["keras"])
    check_variant(files, runs["keras"], runs["module"])


def test_a_broken_step_is_detected(tmp_path):
    """Negative control: a module whose steps always pass `training=` to
    `compute_loss` (the bug this suite found) fails Keras's own test of an override
    without it, and `regressions` reports it."""
    steps = render_steps(tmp_path)
    source = steps[0].read_text(encoding="utf-8")
    fixed = "**_training_kwargs(self.compute_loss, training)"
    assert source.count(fixed) == 1
    steps[0].write_text(source.replace(fixed, "training=training"), encoding="utf-8")
    files = ["trainers/trainer_test.py"]
    # As in run_variants: the baseline runs what did not pass with the broken steps.
    runs = finish(
        [start("broken", tmp_path, files, steps, extra_args=("-k", "compute_loss"))],
        tmp_path,
    )
    broken = runs["broken"]
    tests = [node_id(test, files) for test in sorted(not_passed(broken))]
    baseline = finish([start("keras", tmp_path, files, tests=tests)], tmp_path)["keras"]
    test = (
        "keras.src.trainers.trainer_test.TestTrainer::"
        "test_compute_loss_no_training_backwards_compatibility"
    )
    assert baseline.outcomes[test][0] == "passed"
    failing = regressions(baseline, broken)
    assert test in failing and "training" in failing[test], failing


def test_node_ids_name_the_keras_test_files():
    """The baseline is run by node id: a junit id maps back to its file, class and
    test, and an id from another file is refused."""
    files = ["trainers/trainer_test.py", "callbacks/early_stopping_test.py"]
    trainer = str(KERAS_SRC / "trainers/trainer_test.py")
    assert node_id(
        "keras.src.trainers.trainer_test.TestTrainer::test_x[a-1]", files
    ) == (f"{trainer}::TestTrainer::test_x[a-1]")
    assert node_id("keras.src.trainers.trainer_test::test_y", files) == (
        f"{trainer}::test_y"
    )
    with pytest.raises(AssertionError, match="not from any"):
        node_id("keras.src.models.model_test.ModelTest::test_z", files)

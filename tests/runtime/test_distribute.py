"""`runtime.distribute` through a rendered default project's `train`: data parallel in
one process, several processes on localhost and `--model-parallel` on simulated CPU
devices, each exact against one process on one device, with negative controls (a
project whose runtime copy is deliberately broken must fail the comparison). Every run
is a fresh process (`tests/scripts/scale_check.py`): JAX reads its device flags and
joins other processes only when it starts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SCRIPTS
from tests.helpers.projects import break_file, write_project
from tests.helpers.support import run_check_script
from tests.scripts.scale_check import ARGS, differences

CHECK = SCRIPTS / "scale_check.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_train(project: Path, devices: int, out: Path, *train_args: str):
    command = [sys.executable, str(CHECK), "train", str(project / "src")]
    command += [project.name, str(devices), str(out), *ARGS, *train_args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process) -> str:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    return stdout


def two_processes(project: Path, work: Path) -> dict:
    """Train on 2 processes x 2 simulated CPU devices; both processes' final states."""
    import numpy as np

    address = f"127.0.0.1:{free_port()}"
    processes = [
        start_train(
            project,
            2,
            work / "state.npz",
            "--coordinator-address",
            address,
            "--num-processes",
            "2",
            "--process-id",
            str(index),
            "--csv-log",
            str(work / f"log_{index}.csv"),
            "--workers",
            "1",
        )
        for index in range(2)
    ]
    outputs = [finish(process) for process in processes]
    assert "trained 0 2 4" in outputs[0] and "trained 1 2 4" in outputs[1], outputs
    assert "process 1 of 2: 2 local, 4 devices in all" in outputs[1]
    states = []
    for path in (work / "state.npz", work / "state.1.npz"):
        with np.load(path) as archive:
            states.append({name: archive[name] for name in archive.files})
    return states


@pytest.mark.slow
def test_two_processes_train_like_one(tmp_path):
    """2 processes on localhost (gloo), 2 CPU devices each, each feeding its half of
    every batch (read ahead by a worker thread): the same weights, optimizer state
    and logs as one process on one device; a project whose processes both feed the
    first half of every batch is caught. Both runs scan (ScannedExecution)."""
    import numpy as np

    project = write_project(tmp_path / "good")
    single = start_train(project, 1, tmp_path / "single.npz")
    finish(single)
    with np.load(tmp_path / "single.npz") as archive:
        reference = {name: archive[name] for name in archive.files}

    good = tmp_path / "good_run"
    good.mkdir()
    first, second = two_processes(project, good)
    assert differences(first, reference) == []
    assert differences(second, first) == []  # the processes agree
    # Only the first process writes files.
    assert (good / "log_0.csv").is_file() and not (good / "log_1.csv").exists()

    broken = write_project(tmp_path / "broken")
    break_file(
        broken / "src" / "runs_probe" / "runtime" / "distribute.py",
        "ProcessPart(batches, jax.process_index(), jax.process_count())",
        "ProcessPart(batches, 0, jax.process_count())",
    )
    bad = tmp_path / "bad_run"
    bad.mkdir()
    first, _ = two_processes(broken, bad)
    wrong = differences(first, reference)
    assert any(name.startswith("weight_") for name in wrong), wrong


@pytest.mark.slow
@pytest.mark.parametrize(
    ("devices", "sizes"),
    [(4, "2"), (8, "all")],  # meshes (batch x model): 2x2, 1x8
)
def test_model_parallel_is_exact(tmp_path, devices, sizes):
    """`--model-parallel M` on simulated CPU devices: the same weights, optimizer
    state and logs as one device, with the first Dense kernel split along the model
    axis (checked in scale_check.py). Negative control (on 4 devices): a project
    whose model-parallel set-up leaves the random state advanced by its abstract
    build (no re-seeding) initialises other weights, and is caught."""
    project = write_project(tmp_path)
    src, extra = [project / "src"], []
    if devices == 4:
        broken = write_project(tmp_path, "runs_broken")
        break_file(
            broken / "src" / "runs_broken" / "runtime" / "distribute.py",
            "    keras.backend.clear_session()\n    keras.utils.set_random_seed(seed)\n",
            "    keras.backend.clear_session()\n",
        )
        src, extra = [*src, broken / "src"], [broken.name]
    stdout = run_check_script(
        "scale_check.py", "model-parallel", os.pathsep.join(map(str, src)),
        project.name, devices, sizes,
        *extra, timeout=600,
    )  # fmt: skip
    assert "model-parallel-same-ok" in stdout
    assert ("model-parallel-differ-ok" in stdout) == bool(extra)


@pytest.mark.slow
def test_data_parallel_in_one_process(tmp_path):
    """`--data-parallel` on 4 simulated CPU devices: exact against one device, a batch
    size that does not divide is one error line, and the validation samples that do
    not fill every device are left out (checked in scale_check.py)."""
    project = write_project(tmp_path)
    stdout = run_check_script(
        "scale_check.py", "data-parallel", project / "src", project.name, 4
    )
    assert "data parallel over 4 devices" in stdout
    assert "data parallel: using 8 of 10 validation samples" in stdout
    assert "data-parallel-ok" in stdout

"""`runtime.options`: the command line of a project's `train`, with the model's
defaults, and a one-line error for every bad value (before keras or jax is imported)."""

from __future__ import annotations

from pathlib import Path

import pytest
from keras_jax_scaffold.runtime import options

from tests.helpers.support import run_check_script

DEFAULTS = {
    "prog": "net-train",
    "description": "Train Net.",
    "learning_rate": 0.02,
    "steps_per_execution": 8,
    "dtype_policy": "mixed_bfloat16",
}
PROCESS_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
    "JAX_COORDINATOR_ADDRESS",
)
TWO_PROCESSES = ["--coordinator-address", "127.0.0.1:1234", "--num-processes", "2"]

# Each bad command line and what its one error line says.
BAD_OPTIONS = [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--batch-size", "-1"], "--batch-size must be at least 1"),
    (["--num-samples", "0"], "--num-samples must be at least 1"),
    (["--steps-per-execution", "0"], "--steps-per-execution must be at least 1"),
    (["--backup-every", "0"], "--backup-every must be at least 1, not 0"),
    (["--checkpoint-every", "0"], "--checkpoint-every must be at least 1, not 0"),
    (["--validation-split", "1"], "--validation-split must be in [0, 1), not 1.0"),
    (
        ["--validation-split", "0.2", "--validation-data", "val.npz"],
        "--validation-data val.npz and --validation-split 0.2 both choose",
    ),
    (["--save", "model.h5"], "--save model.h5: a model file ends in .keras"),
    (["--resume", "run/final"], "e.g. run/final.keras"),
    (["--csv-log", "log.txt"], "--csv-log log.txt: use a name ending in .csv"),
    (["--monitor", "val_loss"], "--monitor val_loss needs validation data: add"),
    (
        ["--monitor", "f1:best", "--validation-split", "0.2"],
        "the part after ':' says whether lower or higher is better: f1:min or f1:max",
    ),
    (["--early-stopping", "-1"], "--early-stopping must be at least 0"),
    (["--workers", "-2"], "--workers must be at least 0"),
    (["--dtype-policy", "float64"], "invalid choice: 'float64'"),
    (["--num-processes", "2"], "also needs --coordinator-address and --process-id"),
    (["--num-processes", "two"], "--num-processes must be a whole number, not 'two'"),
    (
        ["--coordinator-address", "localhost", "--num-processes", "2"]
        + ["--process-id", "0"],
        "--coordinator-address 'localhost' is not HOST:PORT",
    ),
    (
        [*TWO_PROCESSES, "--process-id", "2"],
        "--process-id 2 is out of range: use 0 to 1 for --num-processes 2",
    ),
    (
        [*TWO_PROCESSES, "--process-id", "0", "--model-parallel"],
        "--model-parallel runs in one process",
    ),
    (
        [*TWO_PROCESSES, "--process-id", "0", "--backup-every", "5"],
        "--backup-every runs in one process",
    ),
    (["--model-parallel", "0"], "'0' is not a number of devices"),
    (["--model-parallel", "--data-parallel"], "not allowed with argument"),
]


@pytest.fixture(autouse=True)
def _no_process_variables(monkeypatch):
    for name in PROCESS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_come_from_the_model():
    args = options.parse_args([], **DEFAULTS)
    assert args.steps_per_execution == 8 and args.dtype_policy == "mixed_bfloat16"
    assert args.learning_rate is None  # the model's, or the checkpoint's
    assert (args.epochs, args.batch_size, args.seed, args.workers) == (5, 32, 0, 0)
    assert not args.several_processes and args.model_parallel is None
    text = options.make_parser(**DEFAULTS).format_help()
    assert text.startswith("usage: net-train") and "Train Net." in text
    assert "Default: 0.02" in text and "Default: 8." in text


@pytest.mark.parametrize(("argv", "message"), BAD_OPTIONS)
def test_a_bad_option_is_one_error_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        options.parse_args(argv, **DEFAULTS)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("net-train: error: "), lines
    assert lines[0].endswith(" (see --help)") and message in lines[0], lines[0]


def test_the_files_of_a_run_default_to_one_directory(tmp_path):
    args = options.parse_args([], **DEFAULTS)
    run = Path("runs") / "latest"
    assert args.output_dir == run
    assert (args.save, args.best, args.csv_log, args.results) == (
        run / "final.keras",
        run / "best.keras",
        run / "history.csv",
        run / "results.json",
    )
    assert (args.checkpoint_dir, args.backup_dir) == (
        run / "checkpoints",
        run / "backup",
    )
    assert args.checkpoint_every is None  # no checkpoints but final and best
    # Without validation the monitor is the loss, and no best model is kept unless
    # asked for; with validation, val_loss and a best model.
    assert (args.monitor, args.monitor_mode, args.keep_best) == ("loss", "auto", False)
    args = options.parse_args(
        ["--output-dir", str(tmp_path), "--validation-split", "0.2", "--save",
         "m.keras", "--checkpoint-dir", "ck"], **DEFAULTS,
    )  # fmt: skip
    assert (args.monitor, args.keep_best) == ("val_loss", True)
    assert args.save == Path("m.keras") and args.csv_log == tmp_path / "history.csv"
    assert args.checkpoint_every == 1  # --checkpoint-dir alone: every epoch
    args = options.parse_args(["--monitor", "accuracy:max"], **DEFAULTS)
    assert (args.monitor, args.monitor_mode, args.keep_best) == (
        "accuracy",
        "max",
        True,
    )
    assert options.parse_args(["--early-stopping", "3"], **DEFAULTS).keep_best


@pytest.mark.parametrize(
    ("every", "steps", "aligned"),
    [(10, 32, 10), (64, 32, 32), (50, 32, 25), (97, 32, 1), (6, 4, 3), (8, 1, 1)],
)
def test_backups_steps_are_execution_ends(every, steps, aligned):
    """--backup-every N: the steps per execution become the largest divisor of N not
    above the given number, so executions end at N, 2N, ... (said in a note)."""
    argv = ["--backup-every", str(every), "--steps-per-execution", str(steps)]
    args = options.parse_args(argv, **DEFAULTS)
    assert args.steps_per_execution == aligned
    assert (args.execution_note is None) == (aligned == steps)
    if aligned != steps:
        assert args.execution_note.startswith(
            f"--backup-every {every}: {aligned} steps per execution instead of {steps}"
        )


def test_process_options_default_to_keras_variables(monkeypatch):
    monkeypatch.setenv(
        "KERAS_DISTRIBUTION_JOB_ADDRESSES", "10.0.0.1:1234,10.0.0.2:1234"
    )
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    args = options.parse_args([], **DEFAULTS)
    assert (args.coordinator_address, args.num_processes, args.process_id) == (
        "10.0.0.1:1234",
        2,
        1,
    )
    assert args.several_processes
    monkeypatch.delenv("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "[::1]:99")
    assert options.parse_args([], **DEFAULTS).coordinator_address == "[::1]:99"
    for name in PROCESS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert options.parse_args(["--model-parallel"], **DEFAULTS).model_parallel == "all"


def test_fail_is_one_error_line():
    with pytest.raises(SystemExit) as exit_info:
        options.fail("data.npz: no such file")
    assert exit_info.value.code == "error: data.npz: no such file"


@pytest.mark.slow
def test_options_and_data_files_are_read_without_keras_or_jax():
    """So that a bad option or data file stops before importing them (seconds)."""
    assert "runtime-imports-ok" in run_check_script("runtime_imports.py", timeout=60)

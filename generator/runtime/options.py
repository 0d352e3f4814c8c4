# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,
# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).
"""The options of a project's `train` entry point, and their one-line errors.

No keras, no jax: a bad option stops before the seconds their import takes. The
project's `train.py` passes its model's defaults (`make_parser`) and may add options
of its own before `check` reads them.
"""

import argparse
import os
import re
from pathlib import Path

from . import compile_cache

# Checkpoints are named after their epoch, so `--resume` knows where to go on.
CHECKPOINT_NAME = "epoch_{epoch:03d}.keras"
CHECKPOINT_EPOCH = re.compile(r"epoch_(\d+)\.keras$")
# The dtype policies `--dtype-policy` accepts (keras.config.set_dtype_policy).
DTYPE_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
# The newest mid-epoch backup of `--backup-every`, replaced atomically.
BACKUP_NAME = "backup.npz"
# The options that must be whole numbers of at least 1.
AT_LEAST_ONE = ("epochs", "batch_size", "num_samples", "steps_per_execution")

# The environment variables that give the defaults of --coordinator-address,
# --num-processes and --process-id (Keras's own names; JAX's for the address).
COORDINATOR_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "JAX_COORDINATOR_ADDRESS")
NUM_PROCESSES_VARIABLE = "KERAS_DISTRIBUTION_NUM_PROCESSES"
PROCESS_ID_VARIABLE = "KERAS_DISTRIBUTION_PROCESS_ID"
PROCESS_OPTIONS = ("coordinator_address", "num_processes", "process_id")
HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def fail(message):
    """Stop with a one-line error (exit status 1), no traceback."""
    raise SystemExit(f"error: {message}")


def flag(name):
    """The option of an `args` attribute: `batch_size` -> `--batch-size`."""
    return f"--{name.replace('_', '-')}"


def parse_args(argv=None, **defaults):
    """The checked options of `argv` (`make_parser(**defaults)`, then `check`)."""
    parser = make_parser(**defaults)
    return check(parser, parser.parse_args(argv))


def make_parser(prog, description, learning_rate, steps_per_execution, dtype_policy):
    """The parser of every training option, with the model's defaults."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--epochs",
        type=int,
        default=5,
        help="Train up to this epoch (counted from the start, also with --resume).",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help=f"Default: {learning_rate} (with --resume: the checkpoint's).",
    )
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=steps_per_execution,
        metavar="N",
        help="Train steps per dispatch, run as one compiled loop (the same weights "
        f"as one step at a time, several times faster). Default: {steps_per_execution}.",
    )
    parser.add_argument(
        "--dtype-policy",
        choices=DTYPE_POLICIES,
        default=dtype_policy,
        help="Keras dtype policy of the model: mixed_* compute in 16 bits with "
        "float32 variables (mixed_float16 scales the loss). "
        f"Default: {dtype_policy}.",
    )
    parser.add_argument("--seed", type=int, default=0, help="Random seed.")
    add_data_arguments(parser)
    add_scaling_arguments(parser)
    add_run_arguments(parser)
    add_compile_arguments(parser)
    add_distribution_arguments(parser)
    return parser


def add_data_arguments(parser):
    """The options of the data: a file or shards, reading ahead, validation."""
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="PATH.npz|DIR",
        help="Training data: an .npz file with arrays x, y and optionally "
        "sample_weight, or a directory of .npy shards x_*.npy, y_*.npy (and "
        "sample_weight_*.npy), read by memory mapping. Default: synthetic data "
        "from make_dataset.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="Threads that read the next batches ahead of training (worth it for "
        ".npy shards on disk); the same batches in the same order, so the same "
        "weights, as without. Default: 0 (read when needed).",
    )
    parser.add_argument(
        "--num-samples",
        type=int,
        default=512,
        help="Samples of synthetic data (without --data).",
    )
    parser.add_argument(
        "--validation-split",
        type=float,
        default=0.0,
        help="Fraction of the data (the last samples) held out for validation.",
    )


def add_scaling_arguments(parser):
    """The option of the scaling inside the model (runtime/scaling.py)."""
    parser.add_argument(
        "--no-scaling",
        dest="scaling",
        action="store_false",
        help="Leave the model's scaling layers as built (mean 0, variance 1: no "
        "scaling) instead of setting them from the training data: each vector "
        "input's features standardized, regression targets predicted in their "
        "units and compared on the standardized scale.",
    )


def add_compile_arguments(parser):
    """The options of JAX's persistent compilation cache (runtime/compile_cache.py)."""
    directory = compile_cache.default_directory()
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--compile-cache",
        type=Path,
        default=directory,
        metavar="DIR",
        help="Keep the programs JAX compiles in DIR: the next run of the same "
        "training loads them instead of compiling again. Default: "
        f"${compile_cache.DIRECTORY_VARIABLE} if set, else {directory}.",
    )
    group.add_argument(
        "--no-compile-cache",
        dest="compile_cache",
        action="store_const",
        const=None,
        help="Compile every program, keep none on disk.",
    )


def add_run_arguments(parser):
    """The options of the run: checkpoints, resuming, backups, logs, stopping."""
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        help=f"Save the model after every epoch as DIR/{CHECKPOINT_NAME}.",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="PATH.keras",
        help="Continue from a saved model (weights, optimizer state, compile "
        "settings); training continues after the epoch in its name.",
    )
    parser.add_argument(
        "--initial-epoch",
        type=int,
        default=None,
        help="Epoch to continue from with --resume (default: from the file name "
        "epoch_NNN.keras, else 0).",
    )
    parser.add_argument(
        "--backup-every",
        type=int,
        default=None,
        metavar="STEPS",
        help=f"Every STEPS train steps and at every epoch end, write the whole "
        f"training state to --backup-dir/{BACKUP_NAME} (atomically). Run the same "
        "command again after a crash or kill: it goes on from the backup exactly as "
        "if never interrupted. The backup is removed when training completes.",
    )
    parser.add_argument(
        "--backup-dir",
        type=Path,
        default=Path("backup"),
        help="Where --backup-every writes. Default: ./backup.",
    )
    parser.add_argument(
        "--csv-log",
        type=Path,
        default=None,
        metavar="PATH.csv",
        help="Write each epoch's logs to this CSV file (appended to with --resume).",
    )
    parser.add_argument(
        "--early-stopping",
        type=int,
        default=None,
        metavar="PATIENCE",
        help="Stop when the monitored loss (val_loss with validation) has not "
        "improved for PATIENCE epochs; restores the best weights.",
    )
    parser.add_argument(
        "--verbose",
        choices=("auto", "0", "1", "2"),
        default="auto",
        help="Keras's fit verbosity: auto/1 progress bar, 2 one line per epoch, "
        "0 silent.",
    )


def add_distribution_arguments(parser):
    """The options of several processes, data and model parallelism."""
    environ = os.environ
    coordinator = next(
        (
            environ[name].split(",")[0]
            for name in COORDINATOR_VARIABLES
            if environ.get(name)
        ),
        None,
    )
    group = parser.add_argument_group(
        "distribution",
        "Several processes (one per host, each with its devices) train as one: "
        "start the same command on every host, with the same coordinator address and "
        "number of processes and its own process id (0 on the coordinator's host).",
    )
    group.add_argument(
        "--coordinator-address",
        default=coordinator,
        metavar="HOST:PORT",
        help="Address of process 0, the coordinator (keras.distribution.initialize). "
        "Default: $KERAS_DISTRIBUTION_JOB_ADDRESSES (its first address) or "
        "$JAX_COORDINATOR_ADDRESS.",
    )
    group.add_argument(
        "--num-processes",
        default=environ.get(NUM_PROCESSES_VARIABLE),
        metavar="N",
        help=f"Number of processes. Default: ${NUM_PROCESSES_VARIABLE}.",
    )
    group.add_argument(
        "--process-id",
        default=environ.get(PROCESS_ID_VARIABLE),
        metavar="I",
        help=f"This process, 0 to N-1. Default: ${PROCESS_ID_VARIABLE}.",
    )
    parallel = group.add_mutually_exclusive_group()
    parallel.add_argument(
        "--data-parallel",
        action="store_true",
        help="Shard each batch over all JAX devices (keras.distribution.DataParallel); "
        "the batch size must divide by the number of devices. On by default with "
        "several processes.",
    )
    parallel.add_argument(
        "--model-parallel",
        type=model_axis_size,
        nargs="?",
        const="all",
        default=None,
        metavar="M",
        help="keras.distribution.ModelParallel over a (batch, model) mesh of all JAX "
        "devices: M devices (default: all) along the model axis, the others along the "
        "batch axis; every kernel whose last dimension divides by M is split along it. "
        "Not with --data-parallel: the batch axis is the data parallelism.",
    )


def model_axis_size(text):
    """`--model-parallel M`: a number of devices, at least 1, or "all"."""
    if text == "all":
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of devices (1 or more, or all)"
        )
    return int(text)


def check(parser, args):
    """`args` checked: a bad value stops with `parser.error` (one line, exit 2)."""
    check_distribution_arguments(parser, args)
    if args.backup_every is not None and args.backup_every < 1:
        parser.error("--backup-every must be at least 1")
    for name in AT_LEAST_ONE:
        if getattr(args, name) < 1:
            parser.error(f"{flag(name)} must be at least 1")
    if not 0.0 <= args.validation_split < 1.0:
        parser.error("--validation-split must be in [0, 1)")
    if args.early_stopping is not None and args.early_stopping < 0:
        parser.error("--early-stopping must be at least 0")
    if args.workers < 0:
        parser.error("--workers must be at least 0")
    return args


def check_distribution_arguments(parser, args):
    """One-line errors for bad distribution options; converts the numbers and sets
    `args.several_processes`."""
    for name in ("num_processes", "process_id"):
        value = getattr(args, name)
        if value is None:
            continue
        try:
            setattr(args, name, int(value))
        except ValueError:
            parser.error(f"{flag(name)} must be a whole number, not {value!r}")
    given = [flag(name) for name in PROCESS_OPTIONS if getattr(args, name) is not None]
    args.several_processes = bool(given)
    if not given:
        return
    if len(given) < 3:
        missing = sorted({flag(name) for name in PROCESS_OPTIONS} - set(given))
        parser.error(f"{', '.join(given)} also needs {' and '.join(missing)}")
    match = HOST_PORT.match(args.coordinator_address)
    if match is None or not 0 < int(match.group(2)) < 65536:
        parser.error(
            f"--coordinator-address {args.coordinator_address!r} is not HOST:PORT "
            "(e.g. 10.0.0.1:1234, the first host's address and a free port)"
        )
    if args.num_processes < 1:
        parser.error(f"--num-processes must be at least 1, not {args.num_processes}")
    if not 0 <= args.process_id < args.num_processes:
        parser.error(
            f"--process-id {args.process_id} is out of range: use 0 to "
            f"{args.num_processes - 1} for --num-processes {args.num_processes}"
        )
    if args.model_parallel is not None:
        parser.error(
            "--model-parallel runs in one process (a model split over hosts cannot be "
            "saved by this script); with several processes leave it out: their "
            "devices train data parallel"
        )
    if args.backup_every is not None:
        parser.error(
            "--backup-every runs in one process (every process would have to restore "
            "the same backup); with several processes use --checkpoint-dir"
        )

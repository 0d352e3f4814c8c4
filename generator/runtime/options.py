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

# Checkpoints are named after their epoch (counted from 1, as in the CSV log and the
# messages), so `--resume` knows where to go on.
CHECKPOINT_NAME = "epoch_{epoch:03d}.keras"
CHECKPOINT_EPOCH = re.compile(r"epoch_(\d+)\.keras$")
# The files of a run in its --output-dir (each but the checkpoints' and the
# backup's may be put elsewhere by its own option).
OUTPUT_FILES = {
    "save": "final.keras",
    "best": "best.keras",
    "csv_log": "history.csv",
    "results": "results.json",
    "checkpoint_dir": "checkpoints",
    "backup_dir": "backup",
}
DEFAULT_OUTPUT_DIR = Path("runs") / "latest"
# `--monitor NAME:MODE`: whether lower or higher values are better.
MONITOR_MODES = ("min", "max")
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


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line (not the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def make_parser(prog, description, learning_rate, steps_per_execution, dtype_policy):
    """The parser of every training option, with the model's defaults."""
    parser = Parser(prog=prog, description=description)
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
        metavar="F",
        help="Hold out a fraction F of the training data for validation: drawn at "
        "random with --seed, in the proportions of the classes for class targets, the "
        "same samples in every epoch and after a resume (not Keras's "
        "validation_split, which takes the last samples as they are). Default: 0.",
    )
    parser.add_argument(
        "--validation-data",
        type=Path,
        default=None,
        metavar="PATH.npz|DIR",
        help="Validation data from a file (like --data) instead of a split.",
    )
    parser.add_argument(
        "--test-data",
        type=Path,
        default=None,
        metavar="PATH.npz|DIR",
        help="Test data (like --data), evaluated once after training with the best "
        "model (see --monitor) or, without one, the final weights; the scores go "
        "to the summary and to results.json.",
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
    """The options of the run: checkpoints, resuming, backups, stopping."""
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="PATH.keras",
        help="Continue from a saved model (weights, optimizer state, compile "
        "settings); training continues after the epoch in its name (epoch_NNN.keras) "
        "or, for final.keras and best.keras, the epoch results.json beside it names.",
    )
    parser.add_argument(
        "--initial-epoch",
        type=int,
        default=None,
        help="Epoch to continue after with --resume (default: from its name or "
        "results.json, else 0).",
    )
    parser.add_argument(
        "--backup-every",
        type=int,
        default=None,
        metavar="STEPS",
        help=f"Every STEPS train steps of an epoch and at every epoch end, write the "
        f"whole training state to --backup-dir/{BACKUP_NAME} (atomically). Run the "
        "same command again after a crash or kill: it goes on from the backup exactly "
        "as if never interrupted. The backup is removed when the run completes. "
        "Executions end at the backup steps: --steps-per-execution becomes the "
        "largest divisor of STEPS not above it (a multiple of it keeps it).",
    )
    parser.add_argument(
        "--early-stopping",
        type=int,
        default=None,
        metavar="PATIENCE",
        help="Stop when --monitor has not improved for PATIENCE epochs; the best "
        "epoch's weights are restored, and saved as the final model.",
    )
    parser.add_argument(
        "--verbose",
        choices=("auto", "0", "1", "2"),
        default="auto",
        help="Keras's fit verbosity: auto/1 progress bar, 2 one line per epoch, "
        "0 silent.",
    )
    add_output_arguments(parser)


def add_output_arguments(parser):
    """The options of what a run writes: its output directory and files."""
    group = parser.add_argument_group(
        "outputs",
        f"One directory per run (--output-dir) holds its files: {OUTPUT_FILES['save']}, "
        f"{OUTPUT_FILES['best']}, {OUTPUT_FILES['csv_log']} and its curves "
        f"(history.png), {OUTPUT_FILES['results']}, {OUTPUT_FILES['checkpoint_dir']}/, "
        f"{OUTPUT_FILES['backup_dir']}/. A new run replaces the files an earlier run "
        "left there; a resumed one (--resume, a backup) goes on with them.",
    )
    group.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help=f"Where the run's files go. Default: {DEFAULT_OUTPUT_DIR}.",
    )
    group.add_argument(
        "--save",
        type=Path,
        default=None,
        metavar="PATH.keras",
        help="The final model (weights, optimizer state, compile settings). "
        f"Default: DIR/{OUTPUT_FILES['save']}.",
    )
    group.add_argument(
        "--monitor",
        default=None,
        metavar="LOG[:min|max]",
        help=f"The log that chooses the best epoch: DIR/{OUTPUT_FILES['best']} is "
        "the model of that epoch, --early-stopping watches it, --test-data uses it. "
        "Lower is better for losses and errors, higher for accuracy-like metrics; "
        "add :min or :max to say which. Default: val_loss with validation (a best "
        "model is then kept), else loss (kept with --monitor or --early-stopping).",
    )
    group.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help=f"Also save the model every N epochs as --checkpoint-dir/{CHECKPOINT_NAME}. "
        "Default: off (every epoch with --checkpoint-dir).",
    )
    group.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        metavar="CKPT_DIR",
        help=f"Where --checkpoint-every saves. Default: DIR/{OUTPUT_FILES['checkpoint_dir']}.",
    )
    group.add_argument(
        "--csv-log",
        type=Path,
        default=None,
        metavar="PATH.csv",
        help="Each epoch's logs, one row per epoch counted from 1 (a resumed run "
        "goes on with it); the learning curves are drawn beside it as PATH.png. "
        f"Default: DIR/{OUTPUT_FILES['csv_log']}.",
    )
    group.add_argument(
        "--backup-dir",
        type=Path,
        default=None,
        metavar="BACKUP_DIR",
        help=f"Where --backup-every writes. Default: DIR/{OUTPUT_FILES['backup_dir']}.",
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
    for name in ("backup_every", "checkpoint_every"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"{flag(name)} must be at least 1, not {value}")
    for name in AT_LEAST_ONE:
        if getattr(args, name) < 1:
            parser.error(f"{flag(name)} must be at least 1")
    if not 0.0 <= args.validation_split < 1.0:
        parser.error(
            f"--validation-split must be in [0, 1), not {args.validation_split} "
            "(e.g. 0.2 holds out a fifth of the data)"
        )
    if args.early_stopping is not None and args.early_stopping < 0:
        parser.error("--early-stopping must be at least 0")
    if args.workers < 0:
        parser.error("--workers must be at least 0")
    check_output_arguments(parser, args)
    align_executions(args)
    return args


def check_output_arguments(parser, args):
    """One-line errors for the options of validation and of the run's files; sets
    their defaults under --output-dir, and `args.monitor`, `args.monitor_mode`
    ("auto", "min" or "max") and `args.keep_best` (a best model is kept)."""
    if args.validation_data is not None and args.validation_split:
        parser.error(
            f"--validation-data {args.validation_data} and --validation-split "
            f"{args.validation_split} both choose the validation data; give one"
        )
    for name in ("save", "resume"):
        path = getattr(args, name)
        if path is not None and path.suffix != ".keras":
            parser.error(
                f"{flag(name)} {path}: a model file ends in .keras (Keras's format "
                f"for whole models), e.g. {path.with_suffix('.keras')}"
            )
    if args.csv_log is not None and args.csv_log.suffix != ".csv":
        parser.error(
            f"--csv-log {args.csv_log}: use a name ending in .csv (its curves go "
            f"beside it as {args.csv_log.with_suffix('.png').name})"
        )
    validation = args.validation_data is not None or args.validation_split > 0
    given = args.monitor is not None
    monitor, _, mode = (
        args.monitor or ("val_loss" if validation else "loss")
    ).partition(":")
    if mode and mode not in MONITOR_MODES:
        parser.error(
            f"--monitor {args.monitor}: the part after ':' says whether lower or "
            f"higher is better: {monitor}:min or {monitor}:max"
        )
    if not monitor:
        parser.error(f"--monitor {args.monitor!r}: name a log, e.g. val_loss")
    if monitor.startswith("val_") and not validation:
        parser.error(
            f"--monitor {monitor} needs validation data: add --validation-split 0.2 "
            f"or --validation-data PATH, or monitor a training log ({monitor[4:]})"
        )
    args.monitor, args.monitor_mode = monitor, mode or "auto"
    args.monitor_given = given
    args.keep_best = validation or given or args.early_stopping is not None
    output = args.output_dir
    if args.checkpoint_every is None and args.checkpoint_dir is not None:
        args.checkpoint_every = 1  # as before --checkpoint-every: every epoch
    for name in ("save", "csv_log", "checkpoint_dir", "backup_dir"):
        if getattr(args, name) is None:
            setattr(args, name, output / OUTPUT_FILES[name])
    args.best = output / OUTPUT_FILES["best"]
    args.results = output / OUTPUT_FILES["results"]


def align_executions(args):
    """With --backup-every, executions of --steps-per-execution steps must end at
    the backup steps (multiples of --backup-every within an epoch): otherwise a
    backup could only be written at the end of an execution. The steps per
    execution become the largest divisor of --backup-every not above the given
    number (unchanged when --backup-every is a multiple of it); the weights are the
    same with any number. Sets `args.execution_note`: what changed, or None."""
    args.execution_note = None
    every, steps = args.backup_every, args.steps_per_execution
    if every is None or every % steps == 0:
        return
    aligned = max(d for d in range(1, min(every, steps) + 1) if every % d == 0)
    args.steps_per_execution = aligned
    args.execution_note = (
        f"--backup-every {every}: {aligned} steps per execution instead of {steps}, "
        f"so that executions end at the backup steps ({every}, {2 * every}, ... of "
        f"each epoch); a multiple of {steps} would keep {steps}"
    )


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

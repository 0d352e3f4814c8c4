"""Whole training runs as users feel them: a project's `NAME-train`, from process
start to exit, against the same training with Keras's plain `fit` in a plain script.

Run:  python benchmarks/bench_whole_run.py [--quick] [--rounds K] [--no-warm-epoch]

Two projects are generated and installed (`pip install -e`, no dependencies) into a
temporary virtual environment that reuses this one's packages: the default answers
(input 16, 3 classes) and a digits-shaped one (input 64, 10 classes). Their source is
compiled to bytecode first, as a regular install would. Workloads, batch 32:

* ``default``: `NAME-train` with no options (its synthetic data: 512 samples, 5
  epochs);
* ``digits``: 1,300 samples (the size of scikit-learn's digits after a test split),
  20 epochs, `--data digits.npz`;
* ``long``: the same data, 100 epochs;
* ``long, 8k``: 8,192 samples, 100 epochs (``--quick`` leaves it out).

Variants, interleaved (the order rotated every round):

* ``plain fit``: a plain script (`plain_fit.py` below) that imports keras, reads the
  same `.npz` file, builds the same layers (with a `Normalization` adapted on the
  data, as the project's scaling layer is), compiles with Keras's defaults
  (`steps_per_execution=1`) and runs `model.fit(x, y, batch_size=32, epochs=E)`.
  It runs without JAX's persistent compilation cache, as Keras does by default.
* ``first run``: `NAME-train` with an empty compilation cache (a new directory
  every round): everything compiles, and is written to the cache.
* ``second run``: `NAME-train` with the cache a previous run of the same command
  filled (warmed once before the rounds).
* ``imports``: `python -c "import keras, jax"`, the floor both pay.

The table gives median wall seconds and the median of the per-round ratios
variant / plain fit (below 1.0: faster) and plain fit / variant (the speed-up). Last,
unless ``--no-warm-epoch``, it runs `bench_train.py` for the per-warm-epoch figure
(one epoch inside a long `fit`, compilation excluded).
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from keras_jax_scaffold.project import render_project
from keras_jax_scaffold.spec import Answers, build_spec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.helpers.projects import make_venv

PLAIN_FIT = textwrap.dedent(
    '''
    """Keras's plain fit: the project's layers, Keras's own steps and loop."""
    import os
    import sys

    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    import numpy as np

    path, epochs, classes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with np.load(path) as data:
        x, y = data["x"], data["y"]
    keras.utils.set_random_seed(0)
    scaling = keras.layers.Normalization()
    scaling.adapt(x)
    model = keras.Sequential(
        [
            keras.Input(shape=x.shape[1:]),
            scaling,
            keras.layers.Dense(
                32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4)
            ),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.1),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    model.fit(x, y, batch_size=32, epochs=epochs)
    '''
)

# (name, project, samples, epochs, train options); `project`: key of PROJECTS.
WORKLOADS = (
    ("default", "default", 512, 5, ()),
    ("digits", "digits", 1300, 20, ("--epochs", "20")),
    ("long", "digits", 1300, 100, ("--epochs", "100")),
    ("long, 8k", "digits", 8192, 100, ("--epochs", "100")),
)
# name: (package, answers besides the name, number of classes)
PROJECTS = {
    "default": ("bench_default", {}, 3),
    "digits": ("bench_digits", {"input_shape": "64", "num_classes": 10}, 10),
}
VARIANTS = ("plain fit", "first run", "second run", "imports")


def write_project(directory: Path, package: str, answers: dict) -> Path:
    spec = build_spec(Answers(name=package, **answers))
    project = directory / package
    for relative, source in render_project(spec, (), project).items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    compileall.compile_dir(project / "src", quiet=1)
    return project


def install(projects: list[Path], venv: Path) -> Path:
    python = make_venv(venv)
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "--disable-pip-version-check", "-q"]
        + [arg for project in projects for arg in ("-e", str(project))],
        check=True,
    )
    return python


def synthetic(package: str, samples: int, python: Path, path: Path) -> None:
    """The project's `make_dataset(samples, seed=0)` as an .npz file."""
    code = (
        f"import numpy as np; from {package}.data import make_dataset; "
        f"x, y = make_dataset(num_samples={samples}, seed=0); "
        f"np.savez({str(path)!r}, x=x, y=y)"
    )
    subprocess.run([python, "-c", code], check=True, env=environment())


def environment(**extra) -> dict:
    """This environment without the test suite's or a user's JAX cache settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE"))
    }
    env["KERAS_BACKEND"] = "jax"
    return {**env, **extra}


def timed(command: list, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=environment(), check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds, 3 workloads")
    parser.add_argument("--rounds", type=int, default=None, help="default 5")
    parser.add_argument(
        "--no-warm-epoch", action="store_true", help="skip bench_train.py"
    )
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    workloads = WORKLOADS[:3] if args.quick else WORKLOADS

    with tempfile.TemporaryDirectory(prefix="kjs-bench-run-") as tmp:
        tmp = Path(tmp)
        projects = {
            key: write_project(tmp, package, answers)
            for key, (package, answers, _) in PROJECTS.items()
        }
        python = install(list(projects.values()), tmp / "venv")
        scripts = python.parent
        plain = tmp / "plain_fit.py"
        plain.write_text(PLAIN_FIT, encoding="utf-8")
        warm_cache = tmp / "warm-cache"

        commands = {}
        for name, key, samples, epochs, options in workloads:
            package, _, classes = PROJECTS[key]
            data = tmp / f"{package}_{samples}.npz"
            if not data.exists():
                synthetic(package, samples, python, data)
            train = [scripts / f"{package.replace('_', '-')}-train", *options]
            if name != "default":
                train += ["--data", data]
            commands[name] = {
                "plain fit": lambda d=data, e=epochs, c=classes: [
                    python,
                    plain,
                    d,
                    str(e),
                    str(c),
                ],
                "first run": lambda t=train: [
                    *t,
                    "--compile-cache",
                    tempfile.mkdtemp(dir=tmp),
                ],
                "second run": lambda t=train: [*t, "--compile-cache", warm_cache],
                "imports": lambda: [python, "-c", "import keras, jax"],
            }
            timed(commands[name]["second run"](), tmp)  # fills the warm cache
        print(
            f"{os.cpu_count()} CPUs, {rounds} rounds, load average before "
            f"{os.getloadavg()[0]:.1f}"
        )
        pairs = [(w, v) for w in commands for v in VARIANTS]
        times = {pair: [] for pair in pairs}
        loads = []
        for index in range(rounds):
            shift = index % len(pairs)
            for pair in pairs[shift:] + pairs[:shift]:
                times[pair].append(timed(commands[pair[0]][pair[1]](), tmp))
            loads.append(os.getloadavg()[0])
            print(f"round {index + 1}/{rounds} done, load {loads[-1]:.1f}", flush=True)
        entries = len(list(warm_cache.iterdir()))

    print(
        f"\nWhole command, process start to exit; {rounds} interleaved rounds, load "
        f"average {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} CPUs. "
        "Ratios are medians of per-round ratios against plain fit.\n"
    )
    print("| workload | variant | median s | vs plain fit (<1: faster) | speed-up |")
    print("|---|---|---:|---:|---:|")
    for name, key, samples, epochs, _ in workloads:
        baseline = times[(name, "plain fit")]
        for variant in VARIANTS:
            values = times[(name, variant)]
            ratios = [v / b for v, b in zip(values, baseline)]
            label = f"{name} ({samples} samples, {epochs} epochs)"
            print(
                f"| {label} | {variant} | {statistics.median(values):.2f} | "
                f"{statistics.median(ratios):.2f} | "
                f"{statistics.median([1 / r for r in ratios]):.2f}x |"
            )
    print(f"\nPrograms in the compilation cache after the runs: {entries}")
    if not args.no_warm_epoch:
        print("\nPer warm epoch (bench_train.py):\n", flush=True)
        quick = ["--quick"] if args.quick else []
        subprocess.run([sys.executable, HERE / "bench_train.py", *quick], check=True)


if __name__ == "__main__":
    main()

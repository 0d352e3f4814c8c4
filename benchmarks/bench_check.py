"""How long `keras-jax-scaffold check my_model.py` takes on the default module.

Run:  python benchmarks/bench_check.py [--rounds N]

Four commands, each a fresh subprocess as a user runs it, interleaved (the order
rotated every round); the table shows median wall times and the median of per-round
ratios against the floor:

* ``check, cold``: ``keras-jax-scaffold check my_model.py`` with an empty JAX
  compilation cache (``JAX_COMPILATION_CACHE_DIR`` a new temp dir): everything
  compiles, as on the first check ever;
* ``check, warm``: the same with the cache the cold runs filled, as when checking
  again after editing something else than the steps (the default: the cache lives
  in the tool's cache directory);
* ``python my_model.py``: what the user runs anyway (three epochs on 512 samples,
  then an evaluation), with the same warm cache;
* ``floor``: ``python -c "import my_model; my_model.build_model()"``: importing
  keras and jax and building the model, which every check pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(command, cwd, env):
    start = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0,):
        sys.exit(f"error: {command} failed:\n{completed.stdout}{completed.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tool = str(BIN / "keras-jax-scaffold")
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [tool, "new", "my_model", "--no-input", "-o", work],
            check=True,
            capture_output=True,
        )
        warm_cache = os.path.join(work, "jax-cache")
        env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": work}
        variants = {
            "check, cold": ([tool, "check", "my_model.py"], None),
            "check, warm": ([tool, "check", "my_model.py"], warm_cache),
            "python my_model.py": ([sys.executable, "my_model.py"], warm_cache),
            "floor": (
                [sys.executable, "-c", "import my_model; my_model.build_model()"],
                warm_cache,
            ),
        }
        times = {name: [] for name in variants}
        names = list(variants)
        for round_ in range(args.rounds):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                command, cache = variants[name]
                with tempfile.TemporaryDirectory() as cold_cache:
                    run_env = {**env, "JAX_COMPILATION_CACHE_DIR": cache or cold_cache}
                    times[name].append(timed(command, work, run_env))
    print(f"| command | median wall time ({args.rounds} rounds) | × floor |")
    print("|---|---:|---:|")
    for name in names:
        ratio = statistics.median(t / f for t, f in zip(times[name], times["floor"]))
        print(f"| {name} | {statistics.median(times[name]):.2f} s | {ratio:.2f}× |")
    print(f"\nload average after the run: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

"""Epoch time of the generated project's training under `keras.distribution.DataParallel`
on simulated CPU devices: `ScannedExecution` (one `jax.lax.scan` per execution) vs
Keras's own train function with the same `steps_per_execution` and with Keras's
default (1).

Run:  python benchmarks/bench_distributed.py [--devices 4] [--rounds 9] [--samples 4096]

The default project (see bench_train.py) is generated and imported; every variant
trains the same model class on the project's `EpochBatches` (batch 32) under
`DataParallel` over all devices, with the project's `EpochOrder` callback:

* ``keras default``: Keras's own `train_step` and train function, spe 1;
* ``keras spe=N``: the same with `steps_per_execution` = the project's default N;
* ``project default``: the project's model (`ScannedExecution`, spe N).

Rounds are interleaved (order rotated); the table reports median epoch times and the
median of per-round ratios against ``keras default``. Before timing, one epoch of
``project default`` and ``keras default`` from the same weights must agree.
"""

from __future__ import annotations

import os
import sys

DEVICES = (
    int(sys.argv[sys.argv.index("--devices") + 1]) if "--devices" in sys.argv else 4
)
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={DEVICES}"
os.environ["KERAS_BACKEND"] = "jax"
os.environ["JAX_PLATFORMS"] = "cpu"

import argparse
import functools
import statistics
import tempfile
from pathlib import Path

import jax
import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import build, generate_project, keras_class, model_class, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    batch_size = 32
    assert len(jax.devices()) == args.devices, jax.devices()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices())
    )
    with tempfile.TemporaryDirectory(prefix="kjs-bench-dist-") as tmp:
        model_module, data_module, batches_module = generate_project(Path(tmp))
        default = model_module.STEPS_PER_EXECUTION
        generated = model_class(model_module)
        keras_cls = keras_class(generated)
        x, y = data_module.make_dataset(num_samples=args.samples, seed=args.seed)
        print(
            f"keras {keras.__version__}, jax {jax.__version__}: DataParallel over "
            f"{args.devices} simulated CPU devices, {os.cpu_count()} CPUs; "
            f"{args.samples} samples, batch {batch_size}, {args.rounds} rounds; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        variants = {
            "keras default": (keras_cls, 1),
            f"keras spe={default}": (keras_cls, default),
            "project default": (generated, default),
        }
        models = {
            name: build(model_module, generated, cls, args.seed, spe)
            for name, (cls, spe) in variants.items()
        }
        batches = batches_module.EpochBatches((x, y, None), batch_size, args.seed)
        callbacks = [batches_module.EpochOrder(batches)]

        def run(name):
            return models[name].fit(
                batches, epochs=1, shuffle=False, callbacks=callbacks, verbose=0
            )

        for name in models:  # first epoch: trace and compile
            run(name)
        scanned = models["project default"].train_function.__qualname__
        assert scanned.startswith("ScannedExecution."), scanned
        max_diff = max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(
                models["project default"].weights, models["keras default"].weights
            )
        )
        print(
            f"max |weight difference| after one epoch, project vs keras: {max_diff:.2e}"
        )

        names = list(models)
        times = {name: [] for name in names}
        for round_index in range(args.rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(timed(functools.partial(run, name)))
        baseline = times["keras default"]
        print("\n| variant | median epoch s | median ratio vs keras default |")
        print("|---|---:|---:|")
        for name in names:
            ratios = [b / t for t, b in zip(times[name], baseline)]
            print(
                f"| {name} | {statistics.median(times[name]):.4f} | "
                f"**{statistics.median(ratios):.2f}x** ({min(ratios):.2f}-{max(ratios):.2f}) |"
            )


if __name__ == "__main__":
    main()

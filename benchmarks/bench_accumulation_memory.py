"""Temporary memory of the compiled train step: gradient-accumulation at K = 1, 4, 16
microbatches vs the default step, at one fixed batch size.

Run:  python benchmarks/bench_accumulation_memory.py [--batch-size B] [--hidden-units H]

A functional model (Dense(H, relu, L2) -> BatchNorm -> Dropout -> Dense(10, softmax),
input 256) is generated twice into a temp dir with the parity helpers the tests use
(``tests/helpers/support.py``): with ``--recipe default`` and with ``--recipe
gradient-accumulation``. Each model's ``train_step`` is jitted as Keras does
(``donate_argnums=0``), lowered on its real state and a batch, compiled, and XLA's
``memory_analysis().temp_size_in_bytes`` is read (no run, so no timing noise). The
accumulation step's K is the class attribute ``microbatches``. Expected: temporary
memory follows the microbatch (batch / K), not the batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import keras

from tests.helpers import support


def temp_bytes(module, batch_size, microbatches=None):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = module.build_model()
    if microbatches is not None:
        model.microbatches = microbatches
    x, y = module.make_dataset(num_samples=batch_size, seed=0)
    # Builds the compiled metrics and the optimizer's variables, as `fit` would.
    model.evaluate(x, y, batch_size=batch_size, verbose=0)
    model.optimizer.build(model.trainable_variables)
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.optimizer.variables],
        [v.value for v in model.metrics_variables],
    )
    step = jax.jit(model.train_step, donate_argnums=0)
    compiled = step.lower(state, (x, y)).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--hidden-units", type=int, default=1024)
    args = parser.parse_args(argv)
    answers = {
        "input_shape": "256",
        "num_classes": 10,
        "hidden_units": args.hidden_units,
    }
    with tempfile.TemporaryDirectory() as directory:
        default = support.generate(Path(directory) / "default", **answers)
        accumulation = support.generate(
            Path(directory) / "accumulation",
            recipe="gradient-accumulation",
            **answers,
        )
        baseline = temp_bytes(default, args.batch_size)
        print(
            f"device: {jax.devices()[0].platform}, batch {args.batch_size}, "
            f"hidden {args.hidden_units}"
        )
        print(f"{'step':<28} {'temp bytes':>12} {'vs default':>10}")
        print(f"{'default':<28} {baseline:>12} {1.0:>10.3f}")
        for k in (1, 4, 16):
            size = temp_bytes(accumulation, args.batch_size, k)
            name = f"accumulation K={k} (mb {args.batch_size // k})"
            print(f"{name:<28} {size:>12} {size / baseline:>10.3f}")


if __name__ == "__main__":
    main()

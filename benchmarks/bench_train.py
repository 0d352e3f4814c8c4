"""Epoch time of a generated project's default training vs plain built-in `fit`.

Run:  python benchmarks/bench_train.py [--quick] [--rounds K] [--samples N]
                                       [--batch-size B] [--epochs E]
                                       [--sweep 8,16,64,128]

A project is generated with the default answers (functional model: Dense(32, relu,
L2) -> BatchNorm -> Dropout -> Dense(3, softmax), input 16, sparse categorical
cross-entropy, sparse categorical accuracy, Adam 1e-3) and imported from a temp dir.
All variants train on the same data (the project's ``make_dataset``), batch 32:

* ``keras default``: the project's model class with Keras's own ``train_step`` and
  train loop, compiled with Keras's defaults (``steps_per_execution=1``): plain ``fit``.
* ``keras spe=N``: the same with ``compile(steps_per_execution=N)``, N the project's
  default (Keras 3.15 still dispatches one jitted step per batch, in a Python loop).
* ``project default``: what the project's ``train`` entry point runs: ``build_model()``
  (``STEPS_PER_EXECUTION`` steps per dispatch, one ``jax.lax.scan`` each) and ``fit``
  on the project's ``EpochBatches`` dataset (sample order a function of seed and
  epoch), with its ``EpochOrder`` callback. ``project spe=N`` (``--sweep``): the same
  with another ``steps_per_execution``.
* ``floor``: the same generated ``train_step``, run by ``jax.lax.scan`` over a whole
  epoch of batches already on the device (shuffled inside the jitted call), one
  jitted call per epoch: no ``fit``, no callbacks, no host work per batch.

Every round runs one ``fit`` of ``--epochs`` epochs (default 5; that many epoch calls
for the floor) per variant, order rotated: the time per warm epoch inside a run
(compilation excluded: every variant trained once before). ``--epochs 1`` times
one-epoch ``fit`` calls, each paying ``fit``'s set-up. The table reports median
epoch times and the median of per-round ratios against ``keras default``, and the
project's speed as a fraction of the floor's (median of per-round ratios). Before
timing, the script checks that the project's model and Keras's default ``fit`` give
the same weights after one epoch on the same arrays.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "jax"

import argparse
import functools
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax
import keras
import numpy as np
from keras_jax_scaffold.project import render_project
from keras_jax_scaffold.spec import Answers, build_spec

PACKAGE = "bench_train_project"


def generate_project(directory: Path):
    """Render the default project into ``directory`` and import its package: its
    ``model`` and ``data`` modules and its runtime's ``batches``."""
    spec = build_spec(Answers(name=PACKAGE))
    for relative, source in render_project(spec, (), directory).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    sys.path.insert(0, str(directory / "src"))
    model_module = importlib.import_module(f"{PACKAGE}.model")
    data_module = importlib.import_module(f"{PACKAGE}.data")
    batches_module = importlib.import_module(f"{PACKAGE}.runtime.batches")
    return model_module, data_module, batches_module


def model_class(model_module):
    """The model class the generated ``model.py`` defines."""
    return next(
        value
        for value in vars(model_module).values()
        if isinstance(value, type)
        and issubclass(value, keras.Model)
        and value.__module__ == model_module.__name__
    )


def keras_class(generated):
    """The generated class with Keras's own train step and train loop."""

    class Keras(generated):
        make_train_function = keras.Model.make_train_function
        train_step = keras.Model.train_step
        test_step = keras.Model.test_step
        predict_step = keras.Model.predict_step

    return Keras


def build(model_module, generated, cls, seed, steps_per_execution):
    """``build_model()`` constructing ``cls`` instead of ``generated``, compiled with
    ``steps_per_execution``; the same seed gives the same initial weights."""
    setattr(model_module, generated.__name__, cls)
    try:
        keras.utils.set_random_seed(seed)
        model = model_module.build_model(steps_per_execution=steps_per_execution)
    finally:
        setattr(model_module, generated.__name__, generated)
    assert type(model) is cls, type(model)
    return model


class Floor:
    """The model's own ``train_step`` by ``jax.lax.scan`` over one epoch on device."""

    def __init__(self, model, x, y, batch_size, seed):
        self.model = model
        # One fit step builds the optimizer and metric variables the state holds.
        model.fit(x[:batch_size], y[:batch_size], batch_size=batch_size, verbose=0)
        steps = len(x) // batch_size
        self.x = jax.device_put(x[: steps * batch_size])
        self.y = jax.device_put(y[: steps * batch_size])
        self.shape = (steps, batch_size)
        self.key = jax.random.PRNGKey(seed)
        self.state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in model.optimizer.variables],
            [v.value for v in model.metrics_variables],
        )
        self.epoch_fn = jax.jit(self._epoch, donate_argnums=0)

    def _epoch(self, state, key, x, y):
        order = jax.random.permutation(key, x.shape[0])
        batches = (
            x[order].reshape(*self.shape, *x.shape[1:]),
            y[order].reshape(*self.shape, *y.shape[1:]),
        )

        def body(state, data):
            logs, state = self.model.train_step(state, data)
            return state, logs

        state, logs = jax.lax.scan(body, state, batches)
        return jax.tree.map(lambda values: values[-1], logs), state

    def fit_epoch(self):
        self.key, key = jax.random.split(self.key)
        logs, self.state = self.epoch_fn(self.state, key, self.x, self.y)
        return {name: float(value) for name, value in logs.items()}  # like fit

    def fit(self, epochs):
        for _ in range(epochs):
            logs = self.fit_epoch()
        return logs


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="default 15")
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--epochs", type=int, default=5, help="epochs per fit (1: one-epoch fits)"
    )
    parser.add_argument(
        "--sweep",
        default="",
        help="also time the project with these steps_per_execution values "
        "(comma-separated), to choose the default",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 15)
    batch_size, samples, epochs = args.batch_size, args.samples, args.epochs

    with tempfile.TemporaryDirectory(prefix="kjs-bench-train-") as tmp:
        model_module, data_module, batches_module = generate_project(Path(tmp))
        default = model_module.STEPS_PER_EXECUTION
        generated = model_class(model_module)
        keras_cls = keras_class(generated)
        x, y = data_module.make_dataset(num_samples=samples, seed=args.seed)
        print(
            f"keras {keras.__version__}, jax {jax.__version__} on "
            f"{jax.devices()[0].platform}, {os.cpu_count()} CPUs; {samples} samples, "
            f"batch {batch_size} ({-(-samples // batch_size)} steps/epoch), "
            f"{rounds} rounds of {epochs}-epoch fits; project STEPS_PER_EXECUTION = "
            f"{default}; "
            f"load average {os.getloadavg()[0]:.2f}"
        )

        variants = {
            "keras default": (keras_cls, 1),
            f"keras spe={default}": (keras_cls, default),
            "project default": (generated, default),
        }
        for value in filter(None, args.sweep.split(",")):
            variants[f"project spe={int(value)}"] = (generated, int(value))
        models = {
            name: build(model_module, generated, cls, args.seed, spe)
            for name, (cls, spe) in variants.items()
        }
        floor = Floor(
            build(model_module, generated, generated, args.seed, 1),
            x,
            y,
            batch_size,
            args.seed,
        )

        batches = batches_module.EpochBatches((x, y, None), batch_size, args.seed)
        epoch_order = batches_module.EpochOrder(batches)

        def run(name, epochs=epochs):
            if name == "floor":
                return floor.fit(epochs)
            if name.startswith("project"):
                return models[name].fit(
                    batches, epochs=epochs, shuffle=False, callbacks=[epoch_order],
                    verbose=0,
                )  # fmt: skip
            return models[name].fit(
                x, y, batch_size=batch_size, epochs=epochs, verbose=0
            )

        # The project's model trains exactly like Keras's default fit.
        twins = {
            "project": build(model_module, generated, generated, args.seed, default),
            "keras": build(model_module, generated, keras_cls, args.seed, 1),
        }
        for model in twins.values():
            keras.utils.set_random_seed(args.seed)
            model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        max_diff = max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(twins["project"].weights, twins["keras"].weights)
        )
        print(
            f"max |weight difference| project model vs keras default fit after one "
            f"epoch on the same arrays: {max_diff:.2e}"
        )
        for name in models:  # first epoch: trace and compile
            run(name, 1)
        run("floor", 1)

        names = [*models, "floor"]
        times = {name: [] for name in names}
        for round_index in range(rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(timed(functools.partial(run, name)) / epochs)
        baseline = times["keras default"]
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
        print(
            "\n| variant | median epoch s | min epoch s | median ratio vs keras "
            "default (speed-up) |"
        )
        print("|---|---:|---:|---:|")
        for name in names:
            ratios = [b / t for t, b in zip(times[name], baseline)]
            print(
                f"| {name} | {statistics.median(times[name]):.4f} | "
                f"{min(times[name]):.4f} | **{statistics.median(ratios):.2f}x** "
                f"({min(ratios):.2f}-{max(ratios):.2f}) |"
            )
        to_floor = [f / p for p, f in zip(times["project default"], times["floor"])]
        print(
            f"\nproject default / floor speed: {statistics.median(to_floor):.2f} "
            f"(median of per-round ratios; range {min(to_floor):.2f}-"
            f"{max(to_floor):.2f})"
        )


if __name__ == "__main__":
    main()

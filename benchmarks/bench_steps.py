"""Epoch time of the generated stateless JAX steps vs Keras's built-in JAX steps.

Run:  python benchmarks/bench_steps.py [--quick] [--pairs K] [--samples N] [--batch-size B]

A functional model (Dense(256, relu, L2) -> BatchNorm -> Dropout(0.1) -> Dense(10,
softmax), input 64, sparse categorical cross-entropy, sparse categorical accuracy,
Adam 1e-3) is generated into a temp dir and imported by the parity helpers the tests
use (``tests/helpers/support.py``: ``generate``, ``builtin_twin``, ``build_with``), so
the benchmark times exactly the pair the parity tests prove equal. Three variants train
on the same data (the module's ``make_dataset``):

* ``generated``: the generated class, built by the module's ``build_model()``.
* ``builtin``:   a subclass of the generated class whose ``train_step`` /
  ``test_step`` / ``predict_step`` are ``keras.Model``'s (Keras's JAX trainer steps),
  built by the same ``build_model()`` (the module's class name is pointed at the
  subclass while it runs), with the same seed -> identical initial weights.
* ``pure JAX``:  a hand-written JAX + optax loop for the same architecture (Dense relu
  + L2, BatchNorm with moving statistics, Dropout, Dense softmax, loss mean and accuracy
  accumulated in the step), one ``jax.jit``'d step with donated state, as a floor.

First the first epoch (trace + XLA compile included) of fresh models, 3 rounds, then
K rounds of one 1-epoch run per variant, order rotated each round; the table reports
the median epoch time and the median of per-round ratios against ``builtin``. Last,
``train_step`` of both Keras variants is traced and compiled on its own, to compare
trace time and program size.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "jax"

import argparse
import collections
import functools
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests/
from tests.helpers import support

MODULE = "bench_mlp"
INPUT, HIDDEN, CLASSES = 64, 256, 10


def generate_module(directory: Path):
    """The generated module (imported) and its model class name."""
    module = support.generate(
        directory,
        name=MODULE,
        module_name=MODULE,
        model_type="functional",
        loss="sparse_categorical_crossentropy",
        metrics=("sparse_categorical_accuracy",),
        input_shape=str(INPUT),
        num_classes=CLASSES,
        hidden_units=HIDDEN,
    )
    return module, module.TEST_CLASS_NAME


def build(module, cls, seed):
    """``module.build_model()`` constructing ``cls``, with a fixed seed."""
    keras.utils.set_random_seed(seed)
    model = support.build_with(module, cls)
    assert type(model) is cls, type(model)
    return model


# ---------------------------------------------------------------------------
# Pure JAX + optax floor: same layers, same data, same batch size.
# ---------------------------------------------------------------------------
class PureJax:
    L2 = 1e-4
    MOMENTUM, EPS = 0.99, 1e-3  # keras.layers.BatchNormalization defaults
    RATE = 0.1

    def __init__(self, seed):
        k1, k2, self.key = jax.random.split(jax.random.PRNGKey(seed), 3)
        glorot = jax.nn.initializers.glorot_uniform()
        self.params = {
            "w1": glorot(k1, (INPUT, HIDDEN)),
            "b1": jnp.zeros(HIDDEN),
            "gamma": jnp.ones(HIDDEN),
            "beta": jnp.zeros(HIDDEN),
            "w2": glorot(k2, (HIDDEN, CLASSES)),
            "b2": jnp.zeros(CLASSES),
        }
        self.stats = {"mean": jnp.zeros(HIDDEN), "var": jnp.ones(HIDDEN)}
        self.tx = optax.adam(1e-3, eps=1e-7)
        self.opt_state = self.tx.init(self.params)
        self.step = jax.jit(self._step, donate_argnums=(0, 1, 2, 3, 4))

    def _forward_loss(self, params, stats, key, x, y):
        h = jax.nn.relu(x @ params["w1"] + params["b1"])
        mean, var = jnp.mean(h, axis=0), jnp.var(h, axis=0)
        h = (h - mean) * jax.lax.rsqrt(var + self.EPS) * params["gamma"] + params[
            "beta"
        ]
        keep = jax.random.bernoulli(key, 1.0 - self.RATE, h.shape)
        h = jnp.where(keep, h / (1.0 - self.RATE), 0.0)
        probs = jax.nn.softmax(h @ params["w2"] + params["b2"])
        # Keras's sparse CE on probabilities: clip, log, pick the target.
        logp = jnp.log(jnp.clip(probs, 1e-7, 1.0 - 1e-7))
        ce = -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        loss = ce + self.L2 * jnp.sum(jnp.square(params["w1"]))
        m = self.MOMENTUM
        new_stats = {
            "mean": stats["mean"] * m + mean * (1 - m),
            "var": stats["var"] * m + var * (1 - m),
        }
        return loss, (probs, new_stats)

    def _step(self, params, opt_state, stats, key, totals, x, y):
        key, dropout_key = jax.random.split(key)
        (loss, (probs, stats)), grads = jax.value_and_grad(
            self._forward_loss, has_aux=True
        )(params, stats, dropout_key, x, y)
        updates, opt_state = self.tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        n = x.shape[0]
        correct = jnp.sum(jnp.argmax(probs, axis=1) == y)
        totals = totals + jnp.stack([loss * n, correct.astype(jnp.float32), n])
        return params, opt_state, stats, key, totals

    def fit_epoch(self, x, y, batch_size, rng):
        order = rng.permutation(len(x))  # fit(shuffle=True) shuffles every epoch
        totals = jnp.zeros(3)
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            self.params, self.opt_state, self.stats, self.key, totals = self.step(
                self.params,
                self.opt_state,
                self.stats,
                self.key,
                totals,
                x[idx],
                y[idx],
            )
        totals = np.asarray(totals)  # like Keras, read the logs back at epoch end
        return {"loss": totals[0] / totals[2], "accuracy": totals[1] / totals[2]}


def _count_eqns(jaxpr) -> int:
    """Equations in a jaxpr, nested sub-jaxprs (pjit, custom_vjp, ...) included."""
    n = 0
    for eqn in jaxpr.eqns:
        n += 1
        for param in eqn.params.values():
            inner = getattr(param, "jaxpr", None)
            if inner is not None:
                n += _count_eqns(getattr(inner, "jaxpr", inner))
    return n


def trace_report(model, x, y, bs) -> dict:
    """Trace time, jaxpr size and compiled-HLO size of ``model.train_step``.

    Everything in the step that is plain Python (``inspect.signature``,
    ``jax.tree_util``, StatelessScope bookkeeping) runs only here, at trace time; the
    compiled program is what every later step runs.
    """
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.optimizer.variables],
        [v.value for v in model.metrics_variables],
    )
    data = (x[:bs], y[:bs])
    traces = []
    for _ in range(3):  # a fresh callable each time: no jaxpr cache hit
        fn = lambda s, d: model.train_step(s, d)
        t = time.perf_counter()
        jaxpr = jax.make_jaxpr(fn)(state, data)
        traces.append(time.perf_counter() - t)
    compiled = jax.jit(lambda s, d: model.train_step(s, d)).lower(state, data).compile()
    ops = collections.Counter(re.findall(r" = \S+ (\w[\w-]*)\(", compiled.as_text()))
    return {"trace_s": min(traces), "eqns": _count_eqns(jaxpr.jaxpr), "ops": ops}


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 rounds, 1 first epoch, 2048 samples: a smoke run",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=None,
        help="timed rounds after the first epoch (default 40; 3 quick)",
    )
    parser.add_argument(
        "--first-rounds",
        type=int,
        default=None,
        help="fresh-model first epochs per variant (default 3; 1 quick)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help="samples per epoch (default 8192; 2048 quick)",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pairs = args.pairs or (3 if args.quick else 40)
    first_rounds = args.first_rounds or (1 if args.quick else 3)
    samples = args.samples or (2048 if args.quick else 8192)
    bs = args.batch_size

    print(
        f"keras {keras.__version__} (backend {keras.backend.backend()}), "
        f"jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"{os.cpu_count()} CPUs; {samples} samples/epoch, batch {bs} "
        f"({-(-samples // bs)} steps), {pairs} rounds"
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory(prefix="kjs-bench-steps-") as tmp:
        module, _ = generate_module(Path(tmp))
        Generated, Builtin = support.builtin_twin(module)
        x, y = module.make_dataset(num_samples=samples, seed=args.seed)

        # Warm up JAX/XLA and Keras's fit machinery on a throwaway model so that
        # neither variant's first epoch pays the process's one-time start-up.
        warm = keras.Sequential([keras.Input((INPUT,)), keras.layers.Dense(CLASSES)])
        warm.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        warm.fit(x[:bs], y[:bs], batch_size=bs, epochs=1, verbose=0)

        names = ["generated", "builtin", "pure JAX"]
        classes = {"generated": Generated, "builtin": Builtin}
        shuffle_rng = np.random.default_rng(args.seed)
        models, floor = {}, None

        def fresh(name):
            nonlocal floor
            if name == "pure JAX":
                floor = PureJax(args.seed)
            else:
                models[name] = build(module, classes[name], args.seed)

        def fit(name):
            if name == "pure JAX":
                return floor.fit_epoch(x, y, bs, shuffle_rng)
            return models[name].fit(x, y, batch_size=bs, epochs=1, verbose=0)

        # First epoch (trace + compile + run) on fresh models, rotated order; the
        # models of the last round are the ones timed below.
        first = {n: [] for n in names}
        for r in range(first_rounds):
            for name in names[r % 3 :] + names[: r % 3]:
                fresh(name)
                keras.utils.set_random_seed(args.seed)  # same shuffles, dropout masks
                first[name].append(timed(functools.partial(fit, name)))
        same_init = all(
            np.array_equal(a, b)
            for a, b in zip(
                build(module, Generated, args.seed).get_weights(),
                build(module, Builtin, args.seed).get_weights(),
            )
        )
        # After one epoch with the same seed, generated and builtin should agree.
        max_diff = max(
            float(np.max(np.abs(a - b)))
            for a, b in zip(
                models["generated"].get_weights(), models["builtin"].get_weights()
            )
        )

        times = {n: [] for n in names}
        for r in range(pairs):
            order = names[r % 3 :] + names[: r % 3]  # rotate to cancel order effects
            for name in order:
                times[name].append(timed(functools.partial(fit, name)))
        ratio = {n: [a / b for a, b in zip(times[n], times["builtin"])] for n in names}

        traces = {
            n: trace_report(models[n], x, y, bs) for n in ("generated", "builtin")
        }

        print(
            f"\nsame initial weights: {same_init}; max |weight diff| generated vs "
            f"builtin after the first epoch: {max_diff:.2e}"
        )
        print(
            "pure JAX: same layers (incl. BatchNorm, Dropout, L2) and Adam, own "
            "init/RNG; batches sliced from numpy, as fit does\n"
        )
        print(
            f"| variant | first epoch s (compile incl., median of {first_rounds}) | "
            "median epoch s | min epoch s | median ratio vs builtin |"
        )
        print("|---|---:|---:|---:|---:|")
        for n in names:
            print(
                f"| {n} | {statistics.median(first[n]):.3f} | "
                f"{statistics.median(times[n]):.3f} | "
                f"{min(times[n]):.3f} | {statistics.median(ratio[n]):.3f} |"
            )
        fr = [a / b for a, b in zip(first["generated"], first["builtin"])]
        g = ratio["generated"]
        print(
            f"\ngenerated / builtin, per round: median **{statistics.median(g):.3f}** "
            f"(range {min(g):.3f}-{max(g):.3f}); "
            f"per-step median: generated "
            f"{statistics.median(times['generated']) / -(-samples // bs) * 1e3:.2f} ms, "
            f"builtin {statistics.median(times['builtin']) / -(-samples // bs) * 1e3:.2f}"
            f" ms, pure JAX "
            f"{statistics.median(times['pure JAX']) / -(-samples // bs) * 1e3:.2f} ms"
        )
        print(
            f"first epoch generated / builtin, per round: median "
            f"{statistics.median(fr):.3f}"
        )
        print(
            f"\n| train_step (batch {bs}) | trace s (min of 3) | jaxpr equations | "
            "compiled HLO ops | fusions | dots |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for n, t in traces.items():
            ops = t["ops"]
            print(
                f"| {n} | {t['trace_s']:.4f} | {t['eqns']} | {sum(ops.values())} | "
                f"{ops['fusion']} | {ops['dot']} |"
            )
        same = traces["generated"]["ops"] == traces["builtin"]["ops"]
        print(
            f"\ncompiled train_step programs have the same op histogram: {same}"
            + (
                " (the per-step work is the same; epoch-time differences are "
                "host/dispatch noise)"
                if same
                else ""
            )
        )


if __name__ == "__main__":
    main()

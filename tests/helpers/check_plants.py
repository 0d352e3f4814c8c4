"""Planted mistakes for `keras-jax-scaffold check`: the negative controls of the step
contract (tests/test_check.py), each a small text edit of the steps the default recipe
generates, the same in a module (`new NAME`) and a project's steps.py (or model.py).

Every plant names the check that must report it and what the finding must name: the
variables (by path), and the line (marked ``# PLANTED``) where the check can know it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers import support

MARKER = "# PLANTED"
MODEL_TYPES = ("sequential", "functional", "subclassed")
# Answers a recipe needs besides its defaults.
NEEDS = {"gan": {"loss": "bce", "metrics": ()}, "vae": {"loss": "mse"}}

# Anchors in the generated steps (templates/partials/steps.py.jinja).
AUX = (
    "        unscaled_loss, y_pred, non_trainable_variables, metrics_variables = aux\n\n"
    "        # Custom algorithm: transform `grads`"
)
UNPACK = (
    "        # before the forward pass (mixup, adversarial inputs, augmentation).\n\n"
    "        grad_fn"
)
EXTRA_LOSS = (
    "            # loss = loss + 1e-3 * keras.ops.mean(keras.ops.square(y_pred))\n"
)
GRADS = "        # they are still scaled under mixed precision.\n"
TRAIN_RETURN = "        return logs, state\n\n    def test_step"
NUMPY = ("import jax\nimport keras\n", "import jax\nimport keras\nimport numpy as np\n")


@dataclass(frozen=True)
class Plant:
    """``edits``: ``(old, new)`` pairs on the steps (``file="model"``: on the code
    that builds the model); the finding of ``check`` names ``names`` and, with
    ``at_marker``, points at the ``# PLANTED`` line."""

    name: str
    check: str
    edits: tuple[tuple[str, str], ...]
    names: tuple[str, ...] = ()
    at_marker: bool = True
    file: str = "steps"

    @property
    def severity(self) -> str:
        return "warning" if self.check in ("no-gradient", "host-array") else "error"


def _after(anchor: str, line: str) -> tuple[str, str]:
    """An edit adding ``line`` (marked) after the anchor's first line."""
    first, rest = anchor.split("\n", 1)
    return anchor, f"{first}\n{line}  {MARKER}\n{rest}"


PLANTS = (
    Plant(
        "assign-outside-the-state",
        "assign-in-step",
        (
            _after(
                AUX,
                "        self.non_trainable_variables[0].assign(non_trainable_variables[0])",
            ),
        ),
        names=("batch_normalization/moving_mean",),
    ),
    Plant(
        "gradient-penalty-calls-self-inside-jax-grad",
        "assign-in-step",
        (
            _after(
                UNPACK,
                "        x = x + 1e-3 * jax.grad(lambda x_: keras.ops.sum(self(x_, "
                "training=True)))(x)",
            ),
        ),
        names=("batch_normalization/moving_mean", "stateless_call"),
    ),
    Plant(
        "non-trainable-state-dropped",
        "state-not-threaded",
        (
            (
                AUX,
                (
                    f"        unscaled_loss, y_pred, _, metrics_variables = aux  {MARKER}\n\n"
                    "        # Custom algorithm: transform `grads`"
                ),
            ),
        ),
        names=(
            "batch_normalization/moving_mean",
            "batch_normalization/moving_variance",
            "seed_generator/seed_generator_state",
        ),
        at_marker=False,
    ),
    Plant(
        "forward-pass-in-inference-mode",  # only Keras's own step shows what is missing
        "state-not-threaded",
        (
            (
                (
                    "            sample_weight,\n            training=True,\n        )\n"
                    "        unscaled_loss"
                ),
                (
                    f"            sample_weight,\n            training=False,  {MARKER}\n"
                    "        )\n        unscaled_loss"
                ),
            ),
        ),
        names=("Keras's own train_step", "batch_normalization/moving_mean"),
        at_marker=False,
    ),
    Plant(
        "metric-state-dropped",
        "metrics-not-threaded",
        (
            (
                (
                    "        logs, metrics_variables = self.update_metrics(\n"
                    "            metrics_variables, unscaled_loss, x, y, y_pred, sample_weight\n"
                    "        )\n        state = (\n            trainable_variables,\n"
                    "            non_trainable_variables,\n            optimizer_variables,"
                ),
                (
                    f"        logs, _ = self.update_metrics(  {MARKER}\n"
                    "            metrics_variables, unscaled_loss, x, y, y_pred, sample_weight\n"
                    "        )\n        state = (\n            trainable_variables,\n"
                    "            non_trainable_variables,\n            optimizer_variables,"
                ),
            ),
        ),
        names=("loss/total", "sparse_categorical_accuracy/count"),
        at_marker=False,
    ),
    Plant(
        "metric-logs-all-zero",
        "all-zero-logs",
        (),  # the same edit as metric-state-dropped; its second finding
        names=("loss", "sparse_categorical_accuracy"),
        at_marker=False,
    ),
    Plant(
        "numpy-randomness-in-the-step",
        "host-randomness",
        (
            NUMPY,
            _after(
                UNPACK,
                "        x = x + 0.1 * np.random.normal(size=x.shape).astype('float32')",
            ),
        ),
        names=("(16, 16)",),
    ),
    Plant(
        "fixed-numpy-array-in-the-step",
        "host-array",
        (
            NUMPY,
            _after(
                UNPACK, "        x = x * np.linspace(0.5, 1.5, 16, dtype='float32')"
            ),
        ),
        names=("(16,)",),
    ),
    Plant(
        "variable-read-outside-the-state",
        "frozen-variable",
        (
            (
                EXTRA_LOSS,
                (
                    "            loss = loss + 0.0 * keras.ops.cast(self.optimizer.iterations, "
                    f"'float32')  {MARKER}\n"
                ),
            ),
        ),
        names=("adam/iteration",),
    ),
    Plant(
        "state-returned-as-a-list",
        "retrace",
        (
            (
                TRAIN_RETURN,
                f"        return logs, list(state)  {MARKER}\n\n    def test_step",
            ),
        ),
        names=("tuple", "list"),
        at_marker=False,
    ),
    Plant(
        "nested-grad-writes-batchnorm-statistics",
        "leaked-tracer",
        (
            (
                EXTRA_LOSS,
                (
                    "            def _penalty(x_):\n"
                    f"                return keras.ops.sum(self.call(x_, training=True))  {MARKER}\n"
                    "\n            loss = loss + 1e-3 * keras.ops.sum(jax.grad(_penalty)(x) ** 2)\n"
                ),
            ),
        ),
        names=("batch_normalization/moving_mean", "LinearizeTracer", "stateless_call"),
    ),
    Plant(
        "tracer-kept-in-an-attribute",
        "leaked-tracer",
        (
            (
                TRAIN_RETURN,
                f"        self.last_loss = unscaled_loss  {MARKER}\n{TRAIN_RETURN}",
            ),
        ),
        names=(".last_loss",),
        at_marker=False,
    ),
    Plant(
        "non-finite-loss",
        "non-finite",
        (
            (
                EXTRA_LOSS,
                f"            loss = loss + keras.ops.log(loss - loss)  {MARKER}\n",
            ),
        ),
        names=("loss = -inf", "the gradients of dense/kernel"),
    ),
    Plant(
        "gradient-zeroed",
        "no-gradient",
        (
            _after(
                GRADS,
                "        grads = [keras.ops.zeros_like(grads[0])] + list(grads[1:])",
            ),
        ),
        names=("dense/kernel",),
        at_marker=False,
    ),
    Plant(
        "state-returned-in-float16",
        "state-structure",
        (
            _after(
                AUX,
                "        non_trainable_variables[0] = keras.ops.cast("
                "non_trainable_variables[0], 'float16')",
            ),
        ),
        names=("batch_normalization/moving_mean", "float16[32]", "float32[32]"),
        at_marker=False,
    ),
    Plant(
        "predict-returns-one-row",
        "state-structure",
        (
            (
                "        return y_pred, non_trainable_variables\n",
                f"        return y_pred[:1], non_trainable_variables  {MARKER}\n",
            ),
        ),
        names=("a batch of 16",),
        at_marker=False,
    ),
    Plant(
        "copy-shares-a-buffer",
        "shared-buffer",
        (
            (
                "    return compile_model(",
                (
                    "    model.ema_kernel = keras.Variable(model.trainable_variables[0].value, "
                    f"trainable=False)  {MARKER}\n    return compile_model("
                ),
            ),
        ),
        names=("dense/kernel",),
        at_marker=False,
        file="model",
    ),
    Plant(
        "optimizer-state-dropped",
        "iterations",
        (
            (
                "        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(",
                f"        trainable_variables, _ = self.optimizer.stateless_apply(  {MARKER}",
            ),
        ),
        names=("adam/iteration",),
        at_marker=False,
    ),
    Plant(
        "step-raises",
        "step-fails",
        (_after(UNPACK, "        x = x.no_such_method()"),),
        names=("AttributeError",),
    ),
)
PLANT_INDEX = {plant.name: plant for plant in PLANTS}
# A plant without edits shares another's (its second finding).
SAME_EDITS = {"metric-logs-all-zero": "metric-state-dropped"}


def planted(source: str, plant: Plant) -> str:
    """``source`` with the plant's edits (each anchor must occur exactly once)."""
    plant = PLANT_INDEX[SAME_EDITS.get(plant.name, plant.name)]
    for old, new in plant.edits:
        assert source.count(old) == 1, (plant.name, old)
        source = source.replace(old, new)
    return source


def marker_line(source: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if MARKER in line)


def render_module(directory: Path, name="demo", **answers) -> Path:
    """``new NAME`` with ``answers`` into ``directory``; the module's path."""
    spec = build_spec(Answers(name=name, **answers))
    directory.mkdir(parents=True, exist_ok=True)
    for relative, source in render_spec(spec).items():
        (directory / relative).write_text(source, encoding="utf-8")
    return directory / f"{name}.py"


def check_module(path: Path):
    """The contract's report on the module at ``path`` (imported afresh), as
    `keras-jax-scaffold check` makes it."""
    import keras
    from keras_jax_scaffold.runtime import contract

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    module = support.import_path(path)
    data = contract.sample_data(module.make_dataset)
    return contract.check_model(module.build_model(), data, sources=[str(path)])


def assert_caught(plant: Plant, findings, source: str, path: Path) -> None:
    """A finding of the plant's check names everything it must (and, when the plant
    says so, points at its marked line)."""
    mine = [f for f in findings if f.check == plant.check]
    assert mine, f"{plant.name}: no {plant.check} finding in\n" + "\n".join(
        map(str, findings)
    )
    assert all(f.severity == plant.severity for f in mine)
    text = "\n".join(map(str, mine))
    for name in plant.names:
        assert name in text, f"{plant.name}: {name!r} not in\n{text}"
    if plant.at_marker:
        line = f"{path.name}:{marker_line(source)}"
        assert any(f.where.endswith(line) for f in mine), (line, text)

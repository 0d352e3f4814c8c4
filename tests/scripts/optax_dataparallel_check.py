"""Run by generated/test_optax.py in a fresh process: `--optimizer optax:adamw` under
`keras.distribution` on 4 simulated CPU devices (XLA_FLAGS must be set before JAX
starts).

DataParallel: `fit` (batches split over the devices, the optax state replicated on
all four) matches the pure JAX + optax loop run without a distribution. ModelParallel
(a 2x2 mesh, the first kernel split along the model axis): the optax moments of that
kernel take its layout, and `fit` matches the loop too.

Usage: python tests/scripts/optax_dataparallel_check.py DIR
"""

import os
import sys

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
)
os.environ["KERAS_BACKEND"] = "jax"

from pathlib import Path

import jax
import keras

# The repository root, for `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import support
from tests.helpers.optax_oracle import (
    LEARNING_RATE,
    assert_matches,
    fit_generated,
    optax_loop,
    trainable_paths,
)


def state_variables(model):
    return model.optimizer._state_variables


def check(module, x, y, oracle, distribution):
    model = fit_generated(module, x, y, distribution=distribution)
    keras.distribution.set_distribution(None)
    assert_matches(model, oracle)
    return model


def main(directory: str) -> None:
    assert len(jax.devices()) == 4, jax.devices()
    module = support.generate(
        Path(directory),
        name="optax_dp",
        model_type="functional",
        optimizer="optax:adamw",
    )
    x, y = module.make_dataset(num_samples=64, seed=1)
    transformation = module.optax_transformation(LEARNING_RATE, trainable_paths(module))
    oracle = optax_loop(module, x, y, transformation)

    model = check(
        module, x, y, oracle, keras.distribution.DataParallel(devices=jax.devices())
    )
    kernel = model.trainable_variables[0].value
    assert len(kernel.sharding.device_set) == 4, kernel.sharding
    for variable in state_variables(model):
        assert variable.value.sharding.is_fully_replicated, variable.path
        assert len(variable.value.sharding.device_set) == 4, variable.path
    print("dataparallel-ok", flush=True)

    mesh = keras.distribution.DeviceMesh((2, 2), ["batch", "model"], jax.devices())
    layouts = keras.distribution.LayoutMap(mesh)
    layouts["dense/kernel"] = (None, "model")
    model = check(
        module,
        x,
        y,
        oracle,
        keras.distribution.ModelParallel(layout_map=layouts, batch_dim_name="batch"),
    )
    kernel = model.trainable_variables[0]
    assert kernel.path == "dense/kernel", kernel.path
    split = [v for v in state_variables(model) if v.shape == kernel.shape]
    assert len(split) == 2, [v.shape for v in state_variables(model)]  # mu, nu
    for variable in (kernel, *split):
        spec = variable.value.sharding.spec
        assert tuple(spec) == (None, "model"), (variable.path, spec)
    print("modelparallel-ok", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Run by generated/test_multi_network_recipes.py in a fresh process: the gan,
distillation and vae recipes match their oracles under
`keras.distribution.DataParallel` on 4 simulated CPU devices (XLA_FLAGS must be set
before JAX starts).

Usage: python tests/scripts/multi_network_dataparallel_check.py DIR
"""

import os
import sys

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
)
os.environ["KERAS_BACKEND"] = "jax"

from pathlib import Path

import jax

# The repository root, for `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import multi_network_oracles as oracles
from tests.helpers import support


def main(directory: str) -> None:
    assert len(jax.devices()) == 4, jax.devices()
    root = Path(directory)

    gan = support.generate(
        root / "gan", name="gan_dp", recipe="gan", loss="bce", metrics=()
    )
    x, _ = gan.make_dataset(num_samples=48, seed=1)
    model, oracle = oracles.run_gan(gan, x, 16, data_parallel=True)
    kernel = model.trainable_variables[0].value
    assert len(kernel.sharding.device_set) == 4, kernel.sharding
    oracles.assert_gan_matches(model, oracle)

    distillation = support.generate(
        root / "distillation", name="distillation_dp", recipe="distillation"
    )
    x, y = distillation.make_dataset(num_samples=48, seed=1)
    mine, oracle = oracles.run_distillation(
        distillation, x, y, {"batch_size": 16, "epochs": 2}, data_parallel=True
    )
    oracles.assert_distillation_matches(mine, oracle)

    vae = support.generate(root / "vae", name="vae_dp", recipe="vae", loss="mse")
    x, _ = vae.make_dataset(num_samples=48, seed=1)
    mine, oracle = oracles.run_vae(
        vae, x, {"batch_size": 16, "epochs": 2}, support.build_with, data_parallel=True
    )
    oracles.assert_vae_matches(mine, oracle)
    print("dataparallel-ok")


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Run by generated/test_wgan_gp.py in a fresh process: the wgan-gp recipe matches its
pure JAX + optax oracle under `keras.distribution.DataParallel` on 4 simulated CPU
devices (XLA_FLAGS must be set before JAX starts), for both model types.

Usage: python tests/scripts/wgan_gp_dataparallel_check.py DIR
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

from tests.helpers import support
from tests.helpers import wgan_gp as helpers


def main(directory: str) -> None:
    assert len(jax.devices()) == 4, jax.devices()
    root = Path(directory)
    proof = helpers.load_proof(root / "proof")
    for model_type in ("functional", "subclassed"):
        module = support.generate(
            root / model_type,
            name=f"wgan_dp_{model_type}",
            recipe="wgan-gp",
            model_type=model_type,
        )
        model, history, expected = helpers.run(proof, module, data_parallel=True)
        for variable in model.trainable_variables:
            # Replicated on every device; each batch is split over them.
            assert len(variable.value.sharding.device_set) == 4, variable.path
        proof.assert_matches(model, history, expected)
    print("wgan-gp-dataparallel-ok")


if __name__ == "__main__":
    main(*sys.argv[1:])

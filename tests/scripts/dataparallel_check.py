"""Run by generated/test_parity.py and generated/test_multi_io_parity.py in a fresh
process: 4 simulated CPU devices need XLA_FLAGS set before JAX starts.

Usage: python tests/scripts/dataparallel_check.py DIR MODEL_TYPE [multi_io]
(multi_io: the generated two-input, two-output model, helpers/parity.TWO_IO)
"""

import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["KERAS_BACKEND"] = "jax"

from pathlib import Path

import jax
import keras

# The repository root, for `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import support
from tests.helpers.parity import CONFIGS, TWO_IO
from tests.helpers.support import compare


def main(directory: str, model_type: str, variant: str = "") -> None:
    assert len(jax.devices()) == 4, jax.devices()
    if variant == "multi_io":  # the generated two-input, two-output model
        answers = TWO_IO
    else:
        answers = CONFIGS["sparse"]
    module = support.generate(Path(directory), model_type=model_type, **answers)
    x, y = module.make_dataset(num_samples=64, seed=1)

    def build(cls):
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=jax.devices())
        )
        model = support.build_with(module, cls)
        kernel = model.trainable_variables[0].value
        assert len(kernel.sharding.device_set) == 4, kernel.sharding
        return model

    result = compare(module, x, y, {"batch_size": 16, "epochs": 2}, build=build)
    print("dataparallel-ok", result["history"]["loss"])


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Run by test_parity.py in a fresh process: 4 simulated CPU devices need XLA_FLAGS set
before JAX starts. Usage: python dataparallel_check.py DIR MODEL_TYPE [multi_io]
(multi_io: the generated two-input, two-output model of test_multi_io_parity.py)"""

import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["KERAS_BACKEND"] = "jax"

from pathlib import Path

import jax
import keras

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import support
from tests.test_parity import CONFIGS, compare


def main(directory: str, model_type: str, variant: str = "") -> None:
    assert len(jax.devices()) == 4, jax.devices()
    if variant == "multi_io":  # the generated two-input, two-output model
        from tests.test_multi_io_parity import TWO_IO as answers
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

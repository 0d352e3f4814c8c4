"""Run by generated/test_parity.py and generated/test_multi_io_parity.py in a fresh
process: 4 simulated CPU devices need XLA_FLAGS set before JAX starts.

Usage: python tests/scripts/dataparallel_check.py DIR VARIANT MODEL_TYPE...
(VARIANT: `single`, the sparse classifier, or `multi_io`, the generated two-input,
two-output model, helpers/parity.TWO_IO); one process for every model type, as
starting one (and importing Keras) costs more than a check.
"""

import functools
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
from tests.helpers.parity import CONFIGS, TWO_IO
from tests.helpers.support import compare


def main(directory: str, variant: str, *model_types: str) -> None:
    assert len(jax.devices()) == 4, jax.devices()
    assert model_types and variant in ("single", "multi_io"), (variant, model_types)
    answers = TWO_IO if variant == "multi_io" else CONFIGS["sparse"]
    for model_type in model_types:
        module = support.generate(
            Path(directory) / model_type, name=f"demo_{model_type}",
            model_type=model_type, **answers,
        )  # fmt: skip
        x, y = module.make_dataset(num_samples=64, seed=1)
        build = functools.partial(support.build_data_parallel, module)
        result = compare(module, x, y, {"batch_size": 16, "epochs": 2}, build=build)
        print("dataparallel-ok", model_type, result["history"]["loss"])


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Run by generated/test_recipes.py in a fresh process: every recipe and its oracle
under `keras.distribution.DataParallel` on 4 simulated CPU devices (XLA_FLAGS must be
set before JAX starts).

Usage: python tests/scripts/recipes_dataparallel_check.py DIR MODEL_TYPE
"""

import os
import sys

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
)
os.environ["KERAS_BACKEND"] = "jax"

from pathlib import Path

import jax
import numpy as np

# The repository root, for `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from keras_jax_scaffold import recipes

from tests.helpers import support
from tests.helpers.recipe_oracles import compare_with_oracle

SETTINGS = {
    "clip-gradients": {"clip_norm": 0.1},
    "sam": {"rho": 0.0},
    # pgd: the input gradient and the random start under the distribution too.
    "adversarial": {"attack": "pgd", "attack_steps": 2},
}


def main(directory: str, model_type: str) -> None:
    assert len(jax.devices()) == 4, jax.devices()
    oracle_module = support.generate(Path(directory) / "default", model_type=model_type)
    for recipe in (r.name for r in recipes.RECIPES if not r.networks):
        module = support.generate(
            Path(directory) / recipe,
            model_type=model_type,
            recipe=recipe,
            **SETTINGS.get(recipe, {}),
        )
        x, y = module.make_dataset(num_samples=64, seed=1)
        weights = np.linspace(0.5, 2.0, num=64).astype("float32")
        fit_kwargs = {"batch_size": 16, "epochs": 2, "sample_weight": weights}
        compare_with_oracle(
            module,
            x,
            y,
            fit_kwargs,
            build=support.build_data_parallel,
            oracle_module=oracle_module,
        )
        print("dataparallel-ok", recipe, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])

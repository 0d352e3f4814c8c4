"""Run by runtime/test_options.py in a fresh process (so that ``sys.modules`` starts
empty): parse a project's options and import the runtime's data file readers; neither
may import keras or jax (a bad option or data file stops before their import).

Usage: python tests/scripts/runtime_imports.py
"""

import sys

from keras_jax_scaffold.runtime import arrays, options

options.parse_args(
    ["--epochs", "2", "--data", "train.npz"],
    prog="net-train",
    description="Train Net.",
    learning_rate=0.1,
    steps_per_execution=1,
    dtype_policy="float32",
)
assert arrays.read_npz and arrays.read_shards
heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("keras", "jax"))
assert not heavy, heavy
print("runtime-imports-ok")

"""Run by generator/test_determinism.py in a fresh process (so that ``sys.modules``
starts empty): run the command lines ``ARGV_LISTS`` (a JSON list of argument lists)
with the tool's entry point, each must succeed; then print, as a JSON list on the
last line, the keras, jax, jaxlib, optax and tensorflow modules they imported (none).

Usage: python tests/scripts/no_heavy_imports.py ARGV_LISTS
"""

import json
import sys

from keras_jax_scaffold.cli import main

for argv in json.loads(sys.argv[1]):
    sys.argv = ["keras-jax-scaffold", *argv]
    try:
        main()
    except SystemExit as exit:
        assert exit.code in (0, None), (argv, exit.code)
heavy = sorted(
    name
    for name in sys.modules
    if name.split(".")[0] in ("keras", "jax", "jaxlib", "optax", "tensorflow")
)
print(json.dumps(heavy))

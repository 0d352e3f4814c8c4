"""Run by projects/test_real_data.py in a fresh process (so that ``sys.modules``
starts empty), with a rendered project on PYTHONPATH: ``PACKAGE.train.main(ARGS)``,
which must stop with an error; prints the error line, then the keras, jax and jaxlib
modules imported by then (none: options and data files are checked first).

Usage: python tests/scripts/train_until_error.py PACKAGE [TRAIN ARGS...]
"""

import importlib
import sys

train = importlib.import_module(f"{sys.argv[1]}.train")
try:
    train.main(sys.argv[2:])
except SystemExit as exit:
    print(exit.code)
else:
    print("no error")
heavy = sorted(
    name for name in sys.modules if name.split(".")[0] in ("keras", "jax", "jaxlib")
)
print(f"imported: {heavy}")

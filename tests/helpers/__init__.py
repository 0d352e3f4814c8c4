"""Helpers shared by the tests (and benchmarks/): nothing here is collected as a test.

* ``cli``: the command line in-process, the one assertion of bad input, disk snapshots,
  golden files.
* ``support``: generate a module, import it and train it next to its built-in twin.
* ``parity``: the answers the parity tests and their DataParallel check share.
* ``projects``: render, write, install and run a generated project.
* ``small_model``: a small model with every kind of state, for the runtime's tests.
* ``recipe_oracles``, ``multi_network_oracles``: each recipe next to its Keras oracle.

``SCRIPTS``: the folder of the programs the tests run in a fresh process.
"""

from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

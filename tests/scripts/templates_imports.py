"""Run by generator/test_templates.py in a fresh process (so that ``sys.modules``
starts empty): `keras-jax-scaffold templates ARGS...` in-process, which must succeed;
then print which of black, the pipeline, the format stage, keras and jax it imported
(none: listing and showing templates stay fast).

Usage: python tests/scripts/templates_imports.py ARGS...
"""

import sys

from keras_jax_scaffold.cli import app
from typer.testing import CliRunner

result = CliRunner().invoke(app, ["templates", *sys.argv[1:]])
assert result.exit_code == 0, result.output
heavy = {
    "black",
    "keras_jax_scaffold.pipeline",
    "keras_jax_scaffold.format",
    "keras",
    "jax",
}
print(sorted(heavy & set(sys.modules)))

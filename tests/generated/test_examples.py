"""examples/ is what the generator produces now, and every example trains."""

from __future__ import annotations

import contextlib
import io
import math
import re
import runpy
from pathlib import Path

import pytest

from scripts.regen_examples import EXAMPLES, EXAMPLES_DIR, render_examples
from tests.helpers.cli import assert_golden

EXAMPLE_FILES = sorted(f"{answers.name}.py" for answers in EXAMPLES)


def test_examples_match_the_generator():
    rendered = render_examples()
    assert sorted(rendered) == EXAMPLE_FILES
    committed = sorted(p.name for p in EXAMPLES_DIR.glob("*.py"))
    assert committed == EXAMPLE_FILES, "run: python scripts/regen_examples.py"
    for name, source in rendered.items():
        assert_golden(EXAMPLES_DIR / name, source, "python scripts/regen_examples.py")


def test_examples_cover_every_model_type():
    assert {answers.model_type for answers in EXAMPLES} == {
        "sequential",
        "functional",
        "subclassed",
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_trains(name):
    """`python examples/NAME.py` trains and prints a finite evaluation loss (run as
    `__main__` in this process: a fresh one would spend most of the test importing
    Keras)."""
    import keras

    keras.backend.clear_session()
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        runpy.run_path(str(Path(EXAMPLES_DIR, name)), run_name="__main__")
    output = stdout.getvalue()
    match = re.search(r"^loss: (\S+)$", output, re.MULTILINE)
    assert match, output[-2000:]
    assert math.isfinite(float(match.group(1)))
    assert "Epoch 3/3" in output

"""The type checker over the tool's own code: ``python -m mypy`` with the settings in
pyproject.toml (``[tool.mypy]``: generator/, untyped functions checked too) passes.
CI runs it as part of the test suite; run it by hand with ``.venv/bin/python -m mypy``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mypy(cache: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_mypy_passes_over_generator(tmp_path):
    result = mypy(tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    # It checked every module of the tool (all of generator/ but the runtime).
    checked = int(re.search(r"no issues found in (\d+) source files", result.stdout)[1])
    modules = [
        p for p in (ROOT / "generator").rglob("*.py") if "runtime" not in p.parts
    ]
    assert checked == len(modules)


@pytest.mark.slow
def test_the_settings_check_untyped_functions(tmp_path):
    # The negative control: a type error in a function without annotations fails.
    module = tmp_path / "untyped.py"
    module.write_text('def add(a):\n    return len(a) + "1"\n')
    result = mypy(tmp_path / "cache", "--config-file", "pyproject.toml", str(module))
    assert result.returncode == 1
    assert 'Unsupported operand types for + ("int" and "str")' in result.stdout

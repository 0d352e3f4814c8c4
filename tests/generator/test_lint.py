"""Ruff over the repository, with the settings in pyproject.toml (``[tool.ruff]``:
``tests/fixtures/`` and the docs left out): ``ruff check`` finds nothing and
``ruff format --check`` would change nothing. CI runs it as part of the test suite;
fix by hand with ``ruff check --fix`` and ``ruff format``. The dev extra pins ruff's
minor version: a newer one brings new rules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ruff(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *arguments, "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ruff_check_passes():
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing():
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_lint_error_and_a_misformatted_file_are_found(tmp_path):
    # The negative control, with the repository's settings.
    (tmp_path / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "bad.py").write_text("import os\nx = {'a':1}\n", encoding="utf-8")
    checked = ruff("check", ".", cwd=tmp_path)
    assert checked.returncode == 1 and "F401" in checked.stdout, checked.stdout
    formatted = ruff("format", "--check", ".", cwd=tmp_path)
    assert formatted.returncode == 1 and "bad.py" in formatted.stdout, formatted.stdout

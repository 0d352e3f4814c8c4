"""The `default_codegen` tests, with XLA's default CPU code generator.

This session compiles with a faster one (tests/conftest.py), which does not give the
same bits from runs that compile or place their data differently (a scan of steps and
the steps one by one; shards read from disk and arrays in memory). The tests that
assert those bits are deselected here and run in one fresh process that uses the code
generator a user's runs use.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bit_exact_tests_pass_with_xlas_default_code_generator(default_codegen_tests):
    if not default_codegen_tests:
        pytest.skip("no default_codegen test was deselected in this session")
    flags = os.environ["XLA_FLAGS"].replace(
        "--xla_cpu_use_fusion_emitters=false", "--xla_cpu_use_fusion_emitters=true"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + default_codegen_tests,
        check=False,
        cwd=ROOT,
        env=env | {"XLA_FLAGS": flags},
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-6000:]
    summary = completed.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{len(default_codegen_tests)} passed\b", summary), summary
    assert not re.search(r"failed|error|skipped|deselected", summary), summary

"""The layout of tests/ itself: test modules share code only through tests/helpers/,
and the collection order in conftest.py names tests that exist.

Both read the files with ``ast`` (importing them would import what they check).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
# A generated project's own tests, kept as data: not this suite's code.
FIXTURES = TESTS / "fixtures"


def suite_files() -> list[Path]:
    """Every Python file of the suite (test modules, helpers, scripts, conftest)."""
    return sorted(p for p in TESTS.rglob("*.py") if FIXTURES not in p.parents)


def imported_modules(source: str, module: str) -> list[str]:
    """The modules ``source`` (the module named ``module``) imports, anywhere in it,
    relative imports resolved; for ``from PACKAGE import NAME``, ``PACKAGE.NAME``
    too (NAME may be a module)."""
    package = module.rsplit(".", 1)[0]
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                stem = ".".join([*base, *([node.module] if node.module else [])])
            else:
                stem = node.module
            names.append(stem)
            names += [f"{stem}.{alias.name}" for alias in node.names]
    return names


def imported_test_modules(source: str, module: str) -> list[str]:
    """The test modules and conftest files of this suite that ``source`` imports."""
    return sorted(
        {
            name
            for name in imported_modules(source, module)
            if name.split(".")[0] == "tests"
            and name.rsplit(".", 1)[-1].startswith(("test_", "conftest"))
        }
    )


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_no_module_of_the_suite_imports_a_test_module_or_conftest():
    """What two test modules share lives in tests/helpers/ (or tests/scripts/)."""
    offenders = {
        module_name(path): found
        for path in suite_files()
        if (
            found := imported_test_modules(
                path.read_text(encoding="utf-8"), module_name(path)
            )
        )
    }
    assert offenders == {}, "move what they share into tests/helpers/"


def test_the_import_check_sees_every_form_of_import():
    """Negative control: each way of importing a test module or conftest is found."""
    source = """
from tests.generated.test_parity import CONFIGS
from tests.conftest import invoke
from tests.projects import test_project_runs
import tests.generator.test_cli
from .test_project import render
from .. import conftest
def later():
    from tests.generated.test_recipes import RTOL
# Allowed: helpers, scripts, the tool itself.
from tests.helpers.cli import invoke
from tests.scripts.scale_check import ARGS
from keras_jax_scaffold import cli
"""
    assert imported_test_modules(source, "tests.projects.test_project_scale") == [
        "tests.conftest",
        "tests.generated.test_parity",
        "tests.generated.test_recipes",
        "tests.generator.test_cli",
        "tests.projects.test_project",
        "tests.projects.test_project_runs",
    ]


def longest_first() -> tuple[str, ...]:
    """conftest.LONGEST_FIRST, read without importing conftest."""
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [
            getattr(t, "id", None) for t in node.targets
        ] == ["LONGEST_FIRST"]:
            return ast.literal_eval(node.value)
    raise AssertionError("conftest.py has no LONGEST_FIRST")


def missing_tests(node_ids) -> list[str]:
    """The ``path::test_function`` ids that name no test function of a file."""
    missing = []
    for node_id in node_ids:
        path, _, function = node_id.partition("::")
        file = ROOT / path
        defined = (
            {
                node.name
                for node in ast.parse(file.read_text(encoding="utf-8")).body
                if isinstance(node, ast.FunctionDef)
            }
            if file.is_file()
            else set()
        )
        if function not in defined:
            missing.append(node_id)
    return missing


def test_longest_first_names_existing_tests():
    """A stale id in conftest.LONGEST_FIRST would silently stop ordering that test."""
    ids = longest_first()
    assert ids and missing_tests(ids) == []
    # Negative control: the same tests at their old, flat paths are reported.
    moved = [re.sub(r"^tests/\w+/", "tests/", node_id) for node_id in ids]
    assert missing_tests(moved) == moved
    assert missing_tests(["tests/generated/test_parity.py::test_nothing"])


def test_every_folder_of_tests_is_a_package():
    """Test modules in folders import as `tests.FOLDER.test_NAME` (no name clash)."""
    folders = {path.parent for path in suite_files()}
    assert sorted(f for f in folders if not (f / "__init__.py").exists()) == []

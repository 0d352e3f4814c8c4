"""The runtime in a project: every project gets `generator/runtime/` byte for byte as
`src/PACKAGE/runtime/` (not rendered, not formatted), and `update` replaces it, adds
the modules a newer runtime has and removes those it dropped."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from keras_jax_scaffold import layout, verbatim
from keras_jax_scaffold.pipeline import render_spec
from keras_jax_scaffold.plan import Status
from keras_jax_scaffold.project import create_project
from keras_jax_scaffold.spec import Answers, build_spec
from keras_jax_scaffold.update import update_project

RUNTIME = Path(__file__).resolve().parents[2] / "generator" / "runtime"
MARKER = (
    "# Copied verbatim from keras-jax-scaffold into this project: do not edit it here,\n"
    "# `keras-jax-scaffold update` replaces it (your edits would be merged 3-way).\n"
)
# What runtime modules may import besides each other (relative imports); matplotlib
# is an optional extra of a project (curves.py imports it when there, and says how to
# get it when not).
ALLOWED_IMPORTS = {"keras", "jax", "numpy", "matplotlib"} | set(sys.stdlib_module_names)


def test_layout_lists_every_runtime_module():
    on_disk = sorted(path.name for path in RUNTIME.glob("*.py"))
    assert list(layout.RUNTIME_FILES) == on_disk


@pytest.mark.parametrize("name", layout.RUNTIME_FILES)
def test_a_runtime_module_is_marked_and_imports_only_what_a_project_has(name):
    source = (RUNTIME / name).read_text(encoding="utf-8")
    assert source.startswith(MARKER), name
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            continue  # the runtime's own modules
        modules = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        for module in modules:
            assert module.split(".")[0] in ALLOWED_IMPORTS, (name, module)


@pytest.mark.parametrize(
    "answers",
    [{}, {"recipe": "gan", "loss": "bce", "metrics": ()}, {"model_type": "subclassed"}],
)
def test_every_project_gets_the_runtime_byte_for_byte(answers):
    files = render_spec(build_spec(Answers(name="my_net", **answers)), layout="project")
    copies = {p: s for p, s in files.items() if p.startswith("src/my_net/runtime/")}
    assert sorted(copies) == [f"src/my_net/runtime/{n}" for n in layout.RUNTIME_FILES]
    for path, source in copies.items():
        assert source.encode("utf-8") == (RUNTIME / Path(path).name).read_bytes()
    assert (
        "from my_net.runtime.scan import ScannedExecution"
        in files["src/my_net/model.py"]
    )
    module = render_spec(build_spec(Answers(name="my_net")))  # a module: no runtime
    assert list(module) == ["my_net.py"]


def statuses(plan) -> dict[str, Status]:
    return {change.path: change.status for change in plan.changes}


def test_update_replaces_adds_and_removes_runtime_modules(tmp_path, monkeypatch):
    """A project made by an older runtime (without scan.py, with an old.py, another
    run.py): `update` adds scan.py, removes old.py and replaces run.py, which the user
    did not edit; a runtime module the user edited is merged, the edit kept."""
    newer = verbatim.runtime_source
    older = {
        "old.py": "# a module the runtime no longer has\n",
        "run.py": newer("run.py").replace("def join_histories(", "def joined(", 1),
        "options.py": newer("options.py").replace("default=5,", "default=4,", 1),
    }
    files = tuple(n for n in layout.RUNTIME_FILES if n != "scan.py") + ("old.py",)
    monkeypatch.setitem(layout.VERBATIM, "project", files)
    monkeypatch.setattr(verbatim, "runtime_source", lambda n: older.get(n) or newer(n))
    create_project(Answers(name="net"), tmp_path)
    monkeypatch.undo()

    runtime = tmp_path / "net" / "src" / "net" / "runtime"
    assert (runtime / "old.py").is_file() and not (runtime / "scan.py").exists()
    edited = (
        (runtime / "options.py")
        .read_text()
        .replace('"""The options of', '"""Edited by the user: the options of', 1)
    )
    (runtime / "options.py").write_text(edited)
    plan = update_project(tmp_path / "net")
    changed = {
        path.rsplit("/", 1)[-1]: status
        for path, status in statuses(plan).items()
        if "/runtime/" in path and status != Status.IDENTICAL
    }
    assert changed == {
        "scan.py": Status.CREATE,
        "old.py": Status.DELETE,
        "run.py": Status.UPDATE,
        "options.py": Status.MERGE,
    }
    assert not (runtime / "old.py").exists()
    for name in ("scan.py", "run.py"):
        assert (runtime / name).read_text() == newer(name)
    merged = (runtime / "options.py").read_text()
    assert "Edited by the user" in merged and "default=5," in merged

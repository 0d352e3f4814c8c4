"""Generated projects on disk: render and write one, break one on purpose, install one
into a fresh virtual environment (reusing this environment's packages) and run
commands there. Shared by tests/projects/ and the recipe tests in tests/generated/.
"""

from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from keras_jax_scaffold.layout import ANSWERS_FILE, BASE_DIR, PROJECT, verbatim_paths
from keras_jax_scaffold.project import render_project
from keras_jax_scaffold.runtime import contract
from keras_jax_scaffold.spec import Answers, build_spec

from tests.helpers import SCRIPTS

# The tests a generated project has (tests/test_*.py), all expected to pass: smoke 4,
# parity 1, save/load 1, data parallel 1, the step contract (one test per check, then
# determinism, save/load and evaluate/predict). The runtime's features (options,
# shards, backups, distribution) are tested once, in tests/runtime/.
PROJECT_TESTS = 7 + len(contract.CHECKS) + 3


def expected_paths(name: str) -> set[str]:
    """The files of a project render (its runtime too) and the answers file."""
    context = {"module_name": name, "package_name": name}
    rendered = {item.output_path(context) for item in PROJECT}
    return rendered | set(verbatim_paths("project", name)) | {ANSWERS_FILE}


def files_on_disk(project: Path) -> set[str]:
    """Every file under ``project``, as a path relative to it."""
    return {
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()
    }


def paths_on_disk(name: str) -> set[str]:
    """A written project: its render and the base, a copy of each generated file."""
    generated = expected_paths(name) - {ANSWERS_FILE}
    return expected_paths(name) | {f"{BASE_DIR}/{path}" for path in generated}


def render(directory: Path, name: str, **answers) -> dict[str, str]:
    """The project NAME for ``answers``, in memory: {relative path: text}."""
    spec = build_spec(Answers(name=name, **answers))
    return render_project(spec, (), directory / name)


def write(directory: Path, files: dict[str, str]) -> None:
    for relative, source in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


def ruff_check(directory: Path) -> str:
    """`ruff check` of everything under ``directory`` (with the settings of the
    projects in it); its output, after asserting it found nothing."""
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def parent_paths() -> list[str]:
    """Where this environment's packages live, for the fresh environment's .pth file."""
    paths = list(site.getsitepackages())
    for package in ("keras", "jax", "numpy", "pytest", "pip", "setuptools"):
        found = importlib.util.find_spec(package)
        assert found is not None and found.origin, f"{package} is not installed"
        paths.append(str(Path(found.origin).parents[1]))
    return list(dict.fromkeys(paths))


def make_venv(directory: Path) -> Path:
    """A venv without pip whose .pth file points at this environment's packages."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True
    )
    python = directory / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "_parent_environment.pth").write_text("\n".join(parent_paths()))
    return python


def install(project: Path, venv: Path, env: dict) -> Path:
    """``pip install -e project`` into a fresh venv; its python."""
    python = make_venv(venv)
    installed = run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "--disable-pip-version-check", "-q", "-e", project],
        venv.parent,
        env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


def run(command, cwd: Path, env: dict, timeout: int = 300):
    """``command`` in ``cwd`` with ``env``, its output captured; never raises."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# The gc plugin (tests/scripts/plugins/kjs_gc_freeze.py): a project's own pytest runs
# leave the objects alive when a test starts out of its collections, as this suite
# does; it changes no outcome (a folder holding only plugins, nothing a project imports).
PLUGINS = {"PYTHONPATH": str(SCRIPTS / "plugins"), "PYTEST_PLUGINS": "kjs_gc_freeze"}


def clean_env() -> dict:
    """This environment without what would change the project's behaviour (and with
    the suite's gc plugin, PLUGINS). XLA_FLAGS stays: the suite's compile flags
    (conftest.py), which the project's DataParallel test replaces with its own."""
    drop = ("KERAS_BACKEND", "PYTEST_ADDOPTS", "PYTHONPATH")
    kept = {
        key: value
        for key, value in os.environ.items()
        if key not in drop and not key.startswith("PYTEST_")
    }
    return kept | PLUGINS


def write_project(directory: Path, name: str = "runs_probe", **answers) -> Path:
    """``render`` and ``write`` the project NAME under ``directory``; its folder."""
    write(directory / name, render(directory, name, **answers))
    return directory / name


def run_project_tests(project: Path, *args: str) -> tuple[int, str]:
    """pytest on the project's tests (``args``: test files or node ids relative to the
    project, options) in this process, its src on sys.path and on PYTHONPATH (for the
    processes its tests start, as if installed): (exit code, output). For a few of a
    project's tests or a planted mistake; a whole suite runs installed
    (``installed_project_tests``)."""
    import pytest

    src = str(project / "src")
    output = project / "pytest-output.txt"
    paths = []
    for arg in args:
        path, separator, node = arg.partition("::")
        exists = (project / path).exists()
        paths.append(f"{project / path}{separator}{node}" if exists else arg)
    sys.path.insert(0, src)
    python_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [src, python_path]))
    try:
        with (
            open(output, "w", encoding="utf-8") as out,
            redirect_stdout(out),
            redirect_stderr(out),
        ):
            options = ["-q", "-rw", "-p", "no:cacheprovider", "--rootdir", str(project)]
            code = pytest.main([*paths, *options])
    finally:
        sys.path.remove(src)
        if python_path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = python_path
        # The project's package, conftest and test modules: the next project has
        # modules of the same names.
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", None) or "").startswith(str(project)):
                del sys.modules[name]
    return int(code), output.read_text(encoding="utf-8")


def project_tests(
    python: Path, project: Path, env: dict, *args: str
) -> tuple[int, str]:
    """The project's own pytest run by ``python`` (where it is installed; ``args``: its
    tests or options), from the project's folder with its own settings: (exit code,
    output)."""
    completed = run(
        [python, "-m", "pytest", "-q", "-rw", "-p", "no:cacheprovider", *args],
        project,
        env,
        timeout=900,
    )
    return completed.returncode, completed.stdout + completed.stderr


def installed_project_tests(project: Path, venv: Path, *args: str) -> tuple[int, str]:
    """``project_tests`` of the project installed (``install``) into a fresh venv at
    ``venv``, with ``clean_env``."""
    env = clean_env()
    return project_tests(install(project, venv, env), project, env, *args)


def project_with_a_user_edit(directory: Path, model_type: str) -> tuple[Path, str]:
    """A default project ``proj`` under ``directory`` whose steps.py has a line added
    by hand (in predict_step, which no recipe changes): (its folder, the line)."""
    from keras_jax_scaffold.project import create_project

    create_project(Answers(name="proj", model_type=model_type), directory)
    project = directory / "proj"
    steps = project / "src" / "proj" / "steps.py"
    edit = "        # my note: predictions are probabilities\n"
    source = steps.read_text("utf-8")
    anchor = '        """One prediction step: `(y_pred, non_trainable_variables)`."""\n'
    assert source.count(anchor) == 1
    steps.write_text(source.replace(anchor, anchor + edit), "utf-8")
    return project, edit


def break_file(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path`` (a deliberate break)."""
    source = path.read_text()
    assert source.count(old) == 1, f"{old!r} not found once in {path}"
    path.write_text(source.replace(old, new))

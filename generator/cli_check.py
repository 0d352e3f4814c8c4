"""`keras-jax-scaffold check [TARGET] [--data PATH]`: the step contract on a generated
module or project (the checks are `runtime/contract.py`; docs/check.md lists them).

TARGET is read here: a module must define `build_model` and `make_dataset`; a project
is a directory with an answers file and `src/PACKAGE/model.py` and `data.py`. Keras
and JAX are imported only when the command runs, after TARGET is found to be one.
Exit status: 0 clean (warnings allowed unless --strict), 1 findings, 2 a bad TARGET
or --data.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from .console import fail
from .layout import ANSWERS_FILE

# Samples make_dataset() makes for the check: two batches of the contract's size.
NUM_SAMPLES = 32


def check(
    target: Annotated[
        Path,
        typer.Argument(
            help="A module written by `new NAME` (NAME.py) or a project directory "
            "written by `new NAME --project`.",
            show_default=False,
        ),
    ] = Path("."),
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Check on the first samples of this .npz file (or, for a project, "
            "directory of .npy shards), read as the project reads it, instead of "
            "make_dataset().",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on warnings too.")
    ] = False,
) -> None:
    """Check the model's train/test/predict steps against the stateless step contract.

    Builds the model with the module's build_model(), takes a batch of make_dataset()
    (or --data), and runs each step as fit does: jitted, from the model's real state.
    Prints one line per finding (file:line, what, which variable, why, the fix) and
    exits 1 when there is an error (a warning too, with --strict). See docs/check.md.
    """
    found = _target(target)
    load = _module_loader(found) if found.module else _project_loader(found)
    _compilation_cache()
    os.environ.setdefault("KERAS_BACKEND", "jax")
    build, make_dataset, load_file = load()
    arrays = _data(found, data, make_dataset, load_file)
    import keras  # imported by the module already

    keras.backend.clear_session()  # fresh layer names, as in a new process
    try:
        model = build()
    except Exception as error:  # noqa: BLE001 - the user's code: one line
        fail(f"{found.shown}: build_model() raised {_error_line(error, found)}", code=2)

    from .runtime.contract import check_model

    report = check_model(model, arrays, sources=found.sources)
    for line in report.lines():
        typer.echo(line)
    errors, warnings = len(report.errors), len(report.warnings)
    if not report.findings:
        typer.echo(f"{found.shown}: the steps keep the contract (no findings)")
        return
    typer.echo(
        f"{found.shown}: {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}"
    )
    if errors or (strict and warnings):
        raise typer.Exit(1)


def _compilation_cache() -> None:
    """JAX's persistent compilation cache in this tool's cache directory (unless
    JAX_COMPILATION_CACHE_DIR is set): checking an unchanged model again skips most
    compiling (measured on the default module: 5.4 s of CPU, then 2.6 s). It takes
    effect only when JAX is not imported yet."""
    from .cache import cache_dir

    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache_dir() / "jax"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")


class _Target:
    """What TARGET is: a module file or a project (its `src` and package)."""

    def __init__(self, path: Path, module: bool, package: str = ""):
        self.path = path
        self.module = module
        self.package = package
        self.shown = str(path)
        if module:
            self.sources = [str(path.resolve())]
        else:
            root = path / "src" / package
            self.sources = [
                str(p.resolve())
                for p in sorted(root.rglob("*.py"))
                if "runtime" not in p.relative_to(root).parts
            ]


_GIVE = (
    "give a module written by `keras-jax-scaffold new NAME` (NAME.py) or a project "
    "directory written by `new NAME --project`"
)


def _target(path: Path) -> _Target:
    if not path.exists():
        fail(f"{str(path)!r}: no such file or directory; {_GIVE}", code=2)
    if path.is_dir():
        return _Target(path, module=False, package=_package(path))
    if path.suffix != ".py":
        fail(f"{str(path)!r} is not a Python module; {_GIVE}", code=2)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError) as error:
        fail(f"{str(path)!r} does not parse ({error}); {_GIVE}", code=2)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    missing = [name for name in ("build_model", "make_dataset") if name not in defined]
    if missing:
        fail(
            f"{str(path)!r} is not a generated module: it defines no "
            f"{' or '.join(f'{name}()' for name in missing)}; {_GIVE}",
            code=2,
        )
    return _Target(path, module=True)


def _package(directory: Path) -> str:
    answers = directory / ANSWERS_FILE
    try:
        name = json.loads(answers.read_text(encoding="utf-8"))["answers"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        name = None
    package = directory / "src" / str(name)
    if name is None or not (package / "model.py").is_file():
        fail(
            f"{str(directory)!r} is not a generated project (no {ANSWERS_FILE} naming "
            f"a package with src/PACKAGE/model.py); {_GIVE}",
            code=2,
        )
    return str(name)


def _error_line(error: BaseException, found: _Target) -> str:
    """'TypeError: message (file.py:12)': the error and its last line in TARGET."""
    text = " ".join(str(error).split()) or "(no message)"
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if os.path.abspath(f.filename) in found.sources
    ]
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {text[:300]}{where}"


def _import(found: _Target, what: str, function):
    try:
        return function()
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the user's code
        fail(
            f"cannot import {what}: {_error_line(error, found)}; fix it, or {_GIVE}",
            code=2,
        )


def _module_loader(found: _Target):
    def load():
        import importlib.util

        def run():
            name = f"_checked_{found.path.stem}"
            spec = importlib.util.spec_from_file_location(name, found.path)
            assert spec is not None and spec.loader is not None  # a .py file
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module

        module = _import(found, found.shown, run)
        return module.build_model, module.make_dataset, None

    return load


def _project_loader(found: _Target):
    def load():
        import importlib

        sys.path.insert(0, str((found.path / "src").resolve()))
        model = _import(
            found,
            f"{found.package}.model",
            lambda: importlib.import_module(f"{found.package}.model"),
        )
        data = _import(
            found,
            f"{found.package}.data",
            lambda: importlib.import_module(f"{found.package}.data"),
        )
        return model.build_model, data.make_dataset, data

    return load


def _data(found: _Target, path: Path | None, make_dataset, project_data):
    """`(x, y, sample_weight)`: NUM_SAMPLES samples of make_dataset() or of --data."""
    if path is None:
        try:
            made = make_dataset(num_samples=NUM_SAMPLES)
        except Exception as error:  # noqa: BLE001 - the user's code
            fail(
                f"{found.shown}: make_dataset() raised {_error_line(error, found)}",
                code=2,
            )
        return (*made, None)[:3]
    if not path.exists():
        fail(f"--data {str(path)!r}: no such file or directory", code=2)
    if project_data is None:
        if path.is_dir():
            fail(
                f"--data {str(path)!r}: a directory of .npy shards is read by a "
                "project; for a module give an .npz file",
                code=2,
            )
        arrays = _module_npz(path)
    else:
        read = project_data.load_shards if path.is_dir() else project_data.load_npz
        try:
            arrays = read(path)
        except ValueError as error:
            fail(f"--data: {error}", code=2)
    return tuple(_head(part) for part in arrays)


def _head(part):
    """The first NUM_SAMPLES samples of an array, a dict of arrays or None (reading
    only those from memory-mapped shards)."""
    import numpy as np

    if isinstance(part, dict):
        return {name: _head(array) for name, array in part.items()}
    if part is None:
        return None
    return np.asarray(part[np.arange(min(NUM_SAMPLES, len(part)))])


def _module_npz(path: Path):
    """`(x, y, sample_weight)` from an .npz with arrays `x`, `y`, `sample_weight` (or
    `x_NAME`, `y_NAME`, `sample_weight_NAME` for named inputs and outputs)."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        fail(f"--data {str(path)!r}: cannot read it as an .npz file ({error})", code=2)
    parts = []
    for prefix in ("x", "y", "sample_weight"):
        named = {
            name[len(prefix) + 1 :]: value
            for name, value in arrays.items()
            if name.startswith(prefix + "_")
        }
        parts.append(arrays.get(prefix, named or None))
    if parts[0] is None:
        found = ", ".join(sorted(arrays)) or "none"
        fail(
            f"--data {str(path)!r}: no array 'x' (found: {found}); save one with "
            "np.savez(path, x=x, y=y)",
            code=2,
        )
    return tuple(parts)

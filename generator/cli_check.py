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
import warnings
from pathlib import Path
from typing import Annotated

import typer

from .console import fail
from .layout import ANSWERS_FILE


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
    if data is not None:
        _data_path(found, data)
    _compilation_cache()
    os.environ.setdefault("KERAS_BACKEND", "jax")
    build, make_dataset, project_data = _load_target(found)
    from .runtime import contract

    arrays = _data(found, data, make_dataset, project_data, contract)
    import keras  # imported by the module already

    with warnings.catch_warnings():
        # What Keras and JAX warn about while building and tracing is not a finding.
        warnings.simplefilter("ignore")
        keras.backend.clear_session()  # fresh layer names, as in a new process
        try:
            model = build()
        except Exception as error:  # noqa: BLE001 - the user's code: one line
            fail(
                f"{found.shown}: build_model() raised {_error_line(error, found)}",
                code=2,
            )
        report = contract.check_model(model, arrays, sources=found.sources)
    for line in report.lines():
        typer.echo(line)
    errors, warned = len(report.errors), len(report.warnings)
    if not report.findings:
        typer.echo(f"{found.shown}: the steps keep the contract (no findings)")
        return
    typer.echo(
        f"{found.shown}: {errors} error{'s' * (errors != 1)}, "
        f"{warned} warning{'s' * (warned != 1)}"
    )
    if errors or (strict and warned):
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
            self.sources = [os.path.abspath(path)]
        else:
            root = path / "src" / package
            self.sources = [
                os.path.abspath(p)
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


def _load_target(found: _Target):
    """`(build_model, make_dataset, the project's data module or None)`."""
    import importlib.util

    if found.module:

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
    sys.path.insert(0, str((found.path / "src").resolve()))
    model, data = (
        _import(found, name, lambda name=name: importlib.import_module(name))
        for name in (f"{found.package}.model", f"{found.package}.data")
    )
    return model.build_model, data.make_dataset, data


def _data_path(found: _Target, path: Path) -> None:
    """--data must exist (a shard directory only for a project): said before the
    seconds of importing keras and jax."""
    if not path.exists():
        fail(f"--data {str(path)!r}: no such file or directory", code=2)
    if found.module and path.is_dir():
        fail(
            f"--data {str(path)!r}: a directory of .npy shards is read by a project; "
            "for a module give an .npz file",
            code=2,
        )


def _data(found: _Target, path: Path | None, make_dataset, project_data, contract):
    """`(x, y, sample_weight)`: the contract's samples of make_dataset(), or the first
    as many of --data."""
    if path is not None:
        if project_data is None:
            arrays = _module_npz(path)
        else:
            read = project_data.load_shards if path.is_dir() else project_data.load_npz
            try:
                arrays = read(path)
            except ValueError as error:
                fail(f"--data: {error}", code=2)
        return tuple(_head(part, contract.NUM_SAMPLES) for part in arrays)
    try:
        return contract.sample_data(make_dataset)
    except Exception as error:  # noqa: BLE001 - the user's code
        fail(
            f"{found.shown}: make_dataset() raised {_error_line(error, found)}", code=2
        )


def _head(part, count):
    """The first `count` samples of an array, a dict of arrays or None (reading only
    those from memory-mapped shards)."""
    import numpy as np

    if isinstance(part, dict):
        return {name: _head(array, count) for name, array in part.items()}
    if part is None:
        return None
    return np.asarray(part[np.arange(min(count, len(part)))])


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

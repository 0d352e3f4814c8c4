"""Which template renders which file: one template per generated file, named after it.

``path`` is the output path relative to the output directory (``{module_name}`` and
``{package}`` are filled from the context); ``required`` lists the top-level names the
rendered Python file must still define after a custom template changed it (the code that
runs it relies on them; ``{class_name}`` is the model class).
"""

from __future__ import annotations

from dataclasses import dataclass

# A generated project's own files for this tool, relative to the project root.
ANSWERS_FILE = ".keras-jax-scaffold.json"  # the answers that apply, tool version
# The last render, the base of `update`: one plain file per generated file, holding the
# bytes written then (``.keras-jax-scaffold/base/src/NAME/model.py``, ...).
BASE_DIR = ".keras-jax-scaffold/base"
# The base as one JSON document ``{"files": {path: text}}``, as releases up to 0.1
# wrote it; `update` reads it and replaces it with BASE_DIR.
LEGACY_BASE_FILE = ".keras-jax-scaffold/base.json"
# Everything this tool keeps in a project besides the answers file.
RECORD_DIR = ".keras-jax-scaffold"
# Found automatically in the output directory or any parent; overrides templates.
LOCAL_TEMPLATE_DIR = ".keras-jax-scaffold/templates"


@dataclass(frozen=True)
class OutputFile:
    path: str
    template: str
    required: tuple[str, ...] = ()

    def output_path(self, context: dict) -> str:
        return self.path.format(
            module_name=context["module_name"], package=context["package_name"]
        )

    def template_name(self, context: dict) -> str:
        """The template that writes this file: ``template``, or the recipe's template
        that stands in for it (context ``recipe.files``; it extends ``template``)."""
        stand_ins = {layout: own for layout, own in context["recipe"]["files"]}
        return stand_ins.get(self.template, self.template)

    def required_names(self, context: dict) -> tuple[str, ...]:
        return tuple(
            name.format(class_name=context["class_name"]) for name in self.required
        )


# `keras-jax-scaffold new NAME`: one self-contained module.
MODULE = (
    OutputFile(
        "{module_name}.py",
        "module.py.jinja",
        ("{class_name}", "build_model", "make_dataset"),
    ),
)

# `keras-jax-scaffold new NAME --project`: an installable project in NAME/.
PROJECT = (
    OutputFile("pyproject.toml", "project/pyproject.toml.jinja"),
    OutputFile("README.md", "project/README.md.jinja"),
    OutputFile(".gitignore", "project/gitignore.jinja"),
    OutputFile("src/{package}/__init__.py", "project/src/package/__init__.py.jinja"),
    OutputFile("src/{package}/constants.py", "project/src/package/constants.py.jinja"),
    OutputFile(
        "src/{package}/model.py",
        "project/src/package/model.py.jinja",
        ("{class_name}", "build_model", "compile_model"),
    ),
    OutputFile(
        "src/{package}/steps.py",
        "project/src/package/steps.py.jinja",
        ("StatelessSteps",),
    ),
    OutputFile(
        "src/{package}/data.py",
        "project/src/package/data.py.jinja",
        ("make_dataset", "load_npz"),
    ),
    OutputFile(
        "src/{package}/train.py", "project/src/package/train.py.jinja", ("main",)
    ),
    OutputFile("tests/conftest.py", "project/tests/conftest.py.jinja"),
    OutputFile("tests/test_smoke.py", "project/tests/test_smoke.py.jinja"),
    OutputFile("tests/test_parity.py", "project/tests/test_parity.py.jinja"),
    OutputFile("tests/test_save_load.py", "project/tests/test_save_load.py.jinja"),
    OutputFile(
        "tests/test_step_contract.py", "project/tests/test_step_contract.py.jinja"
    ),
    OutputFile(
        "tests/test_data_parallel.py", "project/tests/test_data_parallel.py.jinja"
    ),
)

LAYOUTS = {"module": MODULE, "project": PROJECT}

# The runtime: the modules of generator/runtime/ (the package
# keras_jax_scaffold.runtime), copied byte for byte into every project as
# src/PACKAGE/runtime/. They are not templates: read as package data (nothing of them
# is imported when rendering), they pass through unchanged, and `update` replaces them
# like any generated file (a 3-way merge where the user edited one).
RUNTIME_FILES = (
    "__init__.py",
    "arrays.py",
    "backup.py",
    "batches.py",
    "compile_cache.py",
    "contract.py",
    "curves.py",
    "distribute.py",
    "options.py",
    "results.py",
    "run.py",
    "scaling.py",
    "scan.py",
)
RUNTIME_DIR = "src/{package}/runtime"
# The verbatim files of each layout, by file name in generator/runtime/.
VERBATIM = {"module": (), "project": RUNTIME_FILES}


def verbatim_paths(layout: str, package: str) -> dict[str, str]:
    """``{output path: file name in generator/runtime/}`` of ``layout``'s verbatim
    files for the package ``package``."""
    directory = RUNTIME_DIR.format(package=package)
    return {f"{directory}/{name}": name for name in VERBATIM[layout]}

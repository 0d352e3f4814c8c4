"""docs/templates.md, generated from the code: lookup, overriding, every template and its
blocks, the template context, the errors.

``BLOCK_DOCS`` and ``CONTEXT_DOCS`` are the only hand-written parts about templates and
context; tests/test_templates.py checks them against the blocks the templates really
define and the keys ``build_context`` really returns (both directions), so the page
cannot drift. Written by ``python scripts/gen_template_reference.py``. Imports neither
keras nor jax.
"""

from __future__ import annotations

from pathlib import Path

from keras_jax_scaffold import catalog
from keras_jax_scaffold.context import CONTEXT_VERSION
from keras_jax_scaffold.layout import LAYOUTS, LOCAL_TEMPLATE_DIR
from keras_jax_scaffold.render import BUILTIN_PREFIX, builtin_template_names
from keras_jax_scaffold.template_catalog import blocks, builtin_source, description

# What each {% block %} of the built-in templates is for (one name may appear in several
# templates, e.g. `imports`; the meaning is the same).
BLOCK_DOCS = {
    "imports": "The import statements at the top of the file (the generated module "
    "also sets `KERAS_BACKEND=jax` here). Use `{{ super() }}` to keep them and add "
    "yours.",
    "model_class": "The model class: decorator, base class and, for subclassed models, "
    "`__init__` and `call`. In a module the stateless steps follow this block, inside "
    "the class; in a project the class inherits them from the `StatelessSteps` mixin.",
    "build_model": "`build_model()`: builds and compiles the model (it must stay: the "
    "generated code and its tests call it).",
    "compile_model": "`compile_model(model)`: compiles with the chosen optimizer, loss "
    "and metrics.",
    "make_dataset": "`make_dataset(num_samples, seed)`: synthetic `(x, y)` numpy data "
    "that fits the input shape and the loss (it must stay).",
    "target_shapes": "`target_shapes(x)` of a project's data.py: the shapes the targets "
    "`y` may have for inputs `x`; `load_npz` checks loaded data against them.",
    "forward": "Inside `forward_and_loss`, in the stateless scope: the forward pass; "
    "must set `y_pred`.",
    "compute_loss": "Inside `forward_and_loss`, after `forward`: must set `loss` (the "
    "default calls `self.compute_loss`, which adds `add_loss` and regularizer losses).",
    "extra_loss": "Inside `forward_and_loss`, after `compute_loss`: add terms to `loss` "
    "(empty but for a comment by default).",
    "compute_metrics": "Inside `update_metrics`, in the metrics' stateless scope: must "
    "set `logs` (the default calls `self.compute_metrics`).",
    "extra_metrics": "Inside `update_metrics`, after `compute_metrics`: update your own "
    "metrics and add them to `logs` (empty but for a comment by default).",
    "transform_gradients": "Inside `train_step`, between `jax.value_and_grad` and "
    "`optimizer.stateless_apply`: transform the list `grads` (clipping, noise, "
    "masking). Under mixed precision the gradients are still multiplied by the loss "
    "scale here. Empty but for a comment by default.",
    "extra_logs": "Inside `train_step`, after the metrics update: add entries to `logs` "
    "(empty by default).",
    "compute_gradients": "Inside `train_step`, after `grad_fn = jax.value_and_grad("
    "self.forward_and_loss, has_aux=True)`: must set `grads`, `unscaled_loss`, "
    "`y_pred`, `non_trainable_variables` and `metrics_variables` (recipes "
    "`gradient-accumulation` and `sam` replace it; the former also sets `logs`).",
    "update_train_metrics": "Inside `train_step`, after the optimizer update: must set "
    "`logs` and `metrics_variables` (the default calls `self.update_metrics`).",
    "track_loss": "Inside `update_metrics`, in the metrics' stateless scope, before "
    "`compute_metrics`: updates the loss mean, weighted by batch size.",
    "init_state": "The body of `init_recipe_state()`, which `__init__` calls for "
    "recipes that create state with the model (trackers, loss objects); rendered only "
    "for those recipes (`recipe.init_state`).",
    "extra_methods": "Methods added to the model class (or the `StatelessSteps` mixin) "
    "after the step settings, e.g. a `metrics` property or helpers (empty by default).",
}

# Every key of the template context: "a.b" is key b of mapping a, "a[].b" key b of each
# item of list a. Types are Python types; "x | y" means either.
CONTEXT_DOCS = {
    "context_version": (
        "int",
        "The version of this context's layout (see [Context version](#context-version)).",
    ),
    "tool_version": ("str", "The keras-jax-scaffold version that renders."),
    "command_line": (
        "str",
        (
            "The `keras-jax-scaffold new ...` command that renders the same module again, "
            "run in the output directory: every answer that applies, explicit (`--var`s "
            "and `--template-dir`s included, the directories relative to the output "
            "directory)."
        ),
    ),
    "module_name": (
        "str",
        (
            "NAME: the generated module is NAME.py (the project is NAME/); also the "
            "model's `name` and its serialization package."
        ),
    ),
    "package_name": ("str", "The import package of a project (`src/PACKAGE/`)."),
    "class_name": ("str", "The model class, NAME in CamelCase (e.g. `MyModel`)."),
    "model_type": (
        "str",
        (
            "How the model is built; picks `partials/model_TYPE.py.jinja` and "
            "`partials/build_TYPE.py.jinja`."
        ),
    ),
    "task": ("dict", "The task the loss implies (`keras-jax-scaffold tasks`)."),
    "task.name": ("str", "The task's name."),
    "task.title": ("str", "One-line description of the task."),
    "task.input_kind": ("str", "What the inputs are."),
    "task.target": (
        "str",
        "How `make_dataset` encodes the targets `y` (see `partials/data.py.jinja`).",
    ),
    "input_shape": (
        "str",
        (
            "The input shape without the batch axis, as Python source: `(16,)`, "
            "`(8, 8, 3)`."
        ),
    ),
    "num_classes": (
        "int",
        (
            "Number of classes (set even when the task does not use it; see "
            "`uses_num_classes`)."
        ),
    ),
    "output_units": (
        "int",
        "Output units for regression and embeddings (set for every task).",
    ),
    "hidden_units": ("int", "Units of the hidden Dense layer."),
    "uses_num_classes": (
        "bool",
        (
            "Whether the head or the targets depend on the number of classes (the module "
            "defines `NUM_CLASSES` only then)."
        ),
    ),
    "output_units_expression": (
        "str",
        (
            "Python source for the head's units (`OUTPUT_UNITS = ...`): a number, "
            "`NUM_CLASSES` or `NUM_CLASSES + 1  # ...`."
        ),
    ),
    "layers": (
        "list[dict]",
        (
            "The default architecture, in order: hidden Dense, BatchNormalization, "
            "Dropout, head (and UnitNormalization for embeddings)."
        ),
    ),
    "layers[].attribute": ("str", "Attribute name of the layer in a subclassed model."),
    "layers[].expression": (
        "str",
        "Python source that constructs the layer, e.g. `keras.layers.Dropout(0.1)`.",
    ),
    "layers[].training": (
        "bool",
        "Whether the layer's call takes `training=` (BatchNormalization, Dropout).",
    ),
    "loss": ("dict", "The loss."),
    "loss.name": ("str", "Its snake_case name, e.g. `mean_squared_error`."),
    "loss.expression": (
        "str",
        "Python source that constructs it, e.g. `keras.losses.MeanSquaredError()`.",
    ),
    "metrics": ("list[dict]", "The compiled metrics, in order (may be empty)."),
    "metrics[].name": ("str", "The metric's snake_case name."),
    "metrics[].expression": (
        "str",
        (
            "Python source that constructs it with its arguments, e.g. "
            "`keras.metrics.AUC()`."
        ),
    ),
    "optimizer": ("dict", "The optimizer."),
    "optimizer.name": ("str", "Its Keras class name, e.g. `Adam`."),
    "optimizer.learning_rate": (
        "str",
        "The learning rate as a Python literal, e.g. `0.001`.",
    ),
    "optimizer.expression": (
        "str",
        (
            "Python source that constructs it with the learning rate, e.g. "
            "`keras.optimizers.Adam(learning_rate=0.001)`."
        ),
    ),
    "dependencies": (
        "list[str]",
        (
            "A generated project's runtime requirements (keras, jax, jaxlib), with this "
            "tool's tested version ranges, e.g. `keras>=3.15,<4`."
        ),
    ),
    "answers_file": (
        "str",
        "Where a project records its answers (`.keras-jax-scaffold.json`).",
    ),
    "recipe": (
        "dict",
        "The training recipe (`--recipe`, see `keras-jax-scaffold recipes`).",
    ),
    "recipe.name": ("str", "Its name, e.g. `default`, `sam`."),
    "recipe.is_default": ("bool", "Whether it is the `default` recipe."),
    "recipe.summary": ("str", "One line on what it does."),
    "recipe.template": (
        "str",
        "The steps partial that implements it (it extends `partials/steps.py.jinja`).",
    ),
    "recipe.project_test": (
        "str",
        "The template of a project's `tests/test_parity.py` body: the recipe's proof.",
    ),
    "recipe.init_state": (
        "bool",
        "Whether it creates state with the model (`__init__` calls "
        "`init_recipe_state`).",
    ),
    "recipe.compiles_loss": (
        "bool",
        "Whether `compile()` gets the loss and metrics (else only the optimizer).",
    ),
    "recipe.logs": ("list[str]", "What it logs besides the loss and the metrics."),
    "recipe.settings": ("list[dict]", "Its settings, in order (may be empty)."),
    "recipe.settings[].name": (
        "str",
        "The setting's name: the answer and the steps' class attribute.",
    ),
    "recipe.settings[].flag": ("str", "Its command-line option, e.g. `--clip-norm`."),
    "recipe.settings[].value": ("str", "Its value as a Python literal, e.g. `1.0`."),
    "recipe.settings[].help": ("str", "One line on what it means."),
    "recipe.class_attributes": (
        "list[dict]",
        "The numeric settings (same keys as `recipe.settings`), rendered as class "
        "attributes of the steps (`self.clip_norm`); a path setting is not one.",
    ),
    "recipe.class_attributes[].name": ("str", "As in `recipe.settings`."),
    "recipe.class_attributes[].flag": ("str", "As in `recipe.settings`."),
    "recipe.class_attributes[].value": ("str", "As in `recipe.settings`."),
    "recipe.class_attributes[].help": ("str", "As in `recipe.settings`."),
    "recipe.model_template": (
        "str",
        "The partial with the model class: `partials/model_MODEL_TYPE.py.jinja`, or a "
        "multi-network recipe's `partials/recipes/NAME_model.py.jinja`.",
    ),
    "recipe.build_template": (
        "str",
        "The partial with `build_model`: `partials/build_MODEL_TYPE.py.jinja`, or a "
        "multi-network recipe's `partials/recipes/NAME_build.py.jinja` (its networks too).",
    ),
    "recipe.networks_template": (
        "str",
        "`partials/recipes/networks_MODEL_TYPE.py.jinja` (`build_network`) for the "
        "multi-network recipes, else empty.",
    ),
    "recipe.data_template": (
        "str",
        "The partial with `make_dataset`: `partials/data.py.jinja`, or "
        "`partials/recipes/samples_data.py.jinja` (samples, no targets) for gan and vae.",
    ),
    "recipe.own_compile": (
        "bool",
        "Whether its build partial defines `compile_model` (the gan: two optimizers).",
    ),
    "recipe.networks": (
        "list[str]",
        "The networks its model holds, e.g. `generator`, `discriminator` (empty for "
        "one-network recipes).",
    ),
    "recipe.imports": ("list[str]", "Standard-library modules its partials import."),
    "recipe.learns_distribution": (
        "bool",
        "Whether it learns the distribution of `x` (gan, vae): no targets.",
    ),
    "recipe.predicts_from_noise": (
        "bool",
        "Whether `predict` takes latent vectors (the gan generates samples).",
    ),
    "recipe.log_keys": ("list[str]", "Every key `fit` logs besides compiled metrics."),
    "recipe.unit_samples": (
        "bool",
        "vae: whether the samples lie in (0, 1) (a binary cross-entropy `--loss`).",
    ),
    "recipe.decoder_activation": (
        "str",
        "vae: the decoder's output activation as Python source (`'sigmoid'` or `None`).",
    ),
    "recipe.teacher_path": (
        "str",
        "distillation: `--teacher` as a Python string literal, or empty.",
    ),
    "vars": (
        "dict[str, str]",
        (
            "User variables from `--var KEY=VALUE`, read as `{{ vars.KEY }}`; values are "
            "strings (see [User variables](#user-variables-vars))."
        ),
    ),
}


def _answer_context_docs() -> dict[str, tuple[str, str]]:
    """CONTEXT_DOCS of the answers that are template variables of their own (their
    ``help``; the type of a default project's value)."""
    from keras_jax_scaffold.spec import ANSWERS, Answers, build_spec

    spec = build_spec(Answers(name="sample"))
    return {
        q.name: (type_name(q.context(getattr(spec, q.name))), q.help)
        for q in ANSWERS
        if q.context is not None
    }


# Keys whose contents the user chooses: documented as a whole, not key by key.
OPAQUE_CONTEXT_KEYS = ("vars",)


def _choices() -> dict[str, list[str]]:
    """The values a context key can take, where the catalog fixes them."""
    tasks = catalog.TASKS.values()
    return {
        "model_type": list(catalog.MODEL_TYPES),
        "task.name": sorted(catalog.TASKS),
        "task.input_kind": sorted({t.input_kind for t in tasks}),
        "task.target": sorted({t.target for t in tasks}),
        "optimizer.name": [name for name, _ in catalog.OPTIMIZERS],
    }


def type_name(value) -> str:
    """The CONTEXT_DOCS type of a context value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, str)):
        return type(value).__name__
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, (list, tuple)):
        items = sorted({type_name(item) for item in value})
        return f"list[{' | '.join(items)}]" if items else "list"
    return type(value).__name__


def flatten_context(context: dict, prefix: str = "") -> dict[str, str]:
    """``{"task.name": "str", "layers[].expression": "str", ...}`` for a context."""
    result = {}
    for key, value in context.items():
        path = f"{prefix}{key}"
        if path in OPAQUE_CONTEXT_KEYS:
            result[path] = "dict[str, str]"
            continue
        result[path] = type_name(value)
        if isinstance(value, dict):
            result.update(flatten_context(value, f"{path}."))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    result.update(flatten_context(item, f"{path}[]."))
    return result


def template_blocks() -> dict[str, list[tuple[str, int]]]:
    """``{template name: [(block, indentation of its tag), ...]}`` for every built-in."""
    result = {}
    for name in builtin_template_names():
        source = builtin_source(name)
        lines = source.splitlines()
        found = []
        tags = [i for i, line in enumerate(lines) if "{% block " in line]
        for block in blocks(source, name):
            line = next(
                (lines[i] for i in tags if f"{{% block {block} %}}" in lines[i]), ""
            )
            found.append((block, len(line) - len(line.lstrip(" "))))
        result[name] = found
    return result


# Short, working examples of the three ways to customise (tests render each one).
OVERRIDE_EXAMPLES = (
    (
        "One block",
        (
            "Extend the built-in file and replace one block; everything else stays "
            "built-in. Here the gradients are scaled down before the optimizer applies "
            "them. The block sits inside `train_step`, so its lines are indented by 8 "
            "spaces, like the generated code around it."
        ),
        "partials/steps.py.jinja",
        (
            '{% extends "builtin/partials/steps.py.jinja" %}\n'
            "{% block transform_gradients %}\n"
            "        grads = [g * {{ vars.grad_scale }} for g in grads]\n"
            "{% endblock %}\n"
        ),
        "--var grad_scale=0.5",
    ),
    (
        "A block, keeping the built-in text",
        "`{{ super() }}` prints the built-in block; add lines before or after it.",
        "module.py.jinja",
        (
            '{% extends "builtin/module.py.jinja" %}\n'
            "{% block imports %}\n"
            "{{ super() }}\n"
            "import math  # used by my own code\n"
            "{% endblock %}\n"
        ),
        "",
    ),
    (
        "A partial",
        (
            "A file under `partials/` replaces the built-in wherever it is included. "
            "This one loads real data instead of the synthetic data; it keeps the name "
            "and signature of `make_dataset`, which the generated code calls."
        ),
        "partials/data.py.jinja",
        (
            "def make_dataset(num_samples=None, seed=0):\n"
            '    """`(x, y)` from {{ vars.data_file }} (arrays `x` and `y`)."""\n'
            '    data = np.load("{{ vars.data_file }}")\n'
            '    return data["x"][:num_samples], data["y"][:num_samples]\n'
        ),
        "--var data_file=data.npz",
    ),
    (
        "A whole file",
        (
            "A file with the name of a built-in replaces it entirely; it must still "
            "produce what the generated code needs (for `module.py.jinja`: the model "
            "class, `build_model` and `make_dataset`). Start from `templates export`."
        ),
        "module.py.jinja",
        None,
        "",
    ),
)


def _table(header: tuple[str, ...], rows) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


# What the reference prints for the names a layout fills in from the context.
PLACEHOLDERS = {"module_name": "NAME", "package_name": "PACKAGE", "class_name": "CLASS"}


# The answers' own template variables (after type_name, which documents their type).
CONTEXT_DOCS.update(_answer_context_docs())


def _uses() -> dict[str, list[str]]:
    """``{template: ["`NAME.py` (`new NAME`)", ...]}`` from the layouts."""
    commands = {"module": "`new NAME`", "project": "`new NAME --project`"}
    result: dict[str, list[str]] = {}
    for layout, files in LAYOUTS.items():
        for item in files:
            path = item.output_path(PLACEHOLDERS)
            text = f"`{path}` ({commands[layout]})"
            if item.required:
                needed = ", ".join(f"`{n}`" for n in item.required_names(PLACEHOLDERS))
                text += f"; must define {needed}"
            result.setdefault(item.template, []).append(text)
    return result


def _templates_section() -> list[str]:
    uses = _uses()
    out = [
        "## Templates",
        "",
        (
            "Every built-in template (`keras-jax-scaffold templates list`), its first-line "
            "description and the blocks it defines. *Indent* is the indentation of the "
            "block's tag: lines inside the block need the same indentation to land in "
            "the right place of the generated code. Templates without a line under "
            "*Renders* are partials, included by the others."
        ),
        "",
    ]
    for name, found in template_blocks().items():
        text = description(builtin_source(name)) or "(no description)"
        out += [f"### `{name}`", "", text, ""]
        for use in uses.get(name, []):
            out.append(f"- Renders: {use}.")
        if name in uses:
            out.append("")
        if found:
            out += _table(
                ("block", "indent", "meaning"),
                [
                    (f"`{block}`", str(indent), BLOCK_DOCS.get(block, "UNDOCUMENTED"))
                    for block, indent in found
                ],
            )
        else:
            out.append("No blocks: override the whole file.")
        out.append("")
    return out


def _context_section() -> list[str]:
    choices = _choices()
    rows = []
    for key, (kind, meaning) in CONTEXT_DOCS.items():
        if key in choices:
            meaning += " One of: " + ", ".join(f"`{v}`" for v in choices[key]) + "."
        rows.append((f"`{key}`", f"`{kind}`", meaning))
    return [
        "## Template context",
        "",
        (
            "Every template sees the same variables: plain data (strings, numbers, "
            "booleans, lists, mappings), no Python objects. Strings that end up in the "
            "code are already Python source (`*.expression`, `input_shape`). `a.b` is key "
            "`b` of `a`; `a[].b` is key `b` of each item of the list `a`. Undefined names "
            "are errors (Jinja's `StrictUndefined`), so a typo fails with its location."
        ),
        "",
        *_table(("variable", "type", "meaning"), rows),
        "",
        "### Context version",
        "",
        (
            f"`context_version` is **{CONTEXT_VERSION}** (`CONTEXT_VERSION` in "
            "`generator/context.py`). It is bumped when a key is removed or renamed, or "
            "when a key changes its meaning or type; adding a key does not bump it. A "
            "custom template can guard against a context it was not written for:"
        ),
        "",
        "```jinja",
        "{% if context_version != " + str(CONTEXT_VERSION) + " %}"
        "{{ raise_error_context_changed }}{% endif %}",
        "```",
        "",
        "(an undefined name is an error that names this line).",
        "",
        "### User variables (`vars`)",
        "",
        (
            "`--var KEY=VALUE` (repeatable) passes values to custom templates as "
            "`{{ vars.KEY }}`. They live in their own namespace, so they never clash with "
            "the context above, now or when keys are added. KEY must be a Python "
            "identifier; VALUE is always a string, printed as given (`--var "
            "clip_norm=1.0` prints `1.0`; use Jinja filters such as `| float` or "
            "`| tojson` to convert or quote). A key no `--var` gave is an error at the "
            "template line that reads it; use `{{ vars.KEY | default('...') }}` for an "
            "optional one. The variables are part of the answers: `command_line` repeats "
            "them, and a project records them for `update`."
        ),
        "",
    ]


def render_reference() -> str:
    """The text of docs/templates.md."""
    out = [
        "# Templates reference",
        "",
        (
            "<!-- Generated by `python scripts/gen_template_reference.py` from "
            "generator/reference.py and the templates; do not edit by hand. -->"
        ),
        "",
        (
            "keras-jax-scaffold renders Jinja templates. Every file it writes comes from a "
            "template you can replace, in whole or block by block, without forking the "
            "tool:"
        ),
        "",
        "```sh",
        "keras-jax-scaffold templates list                  # every template, one line each",
        "keras-jax-scaffold templates show partials/steps.py.jinja",
        "keras-jax-scaffold templates export my-templates partials/steps.py.jinja",
        "keras-jax-scaffold new demo --template-dir my-templates --var clip_norm=1.0",
        "```",
        "",
        (
            "`templates list` and `templates show` take `--template-dir` too: `list` "
            "then marks which templates are overridden and lists your extra ones, `show` "
            "prints the template rendering would use (`show builtin/NAME` always the "
            "built-in). `templates export DIR [NAME ...]` copies all (or the named) "
            "built-ins into DIR at their relative paths; it refuses to overwrite a "
            "different file without `--force` and writes nothing when any name or file "
            "is wrong. A complete example: "
            "[examples/custom_templates](../examples/custom_templates/README.md)."
        ),
        "",
        "## How a template is found",
        "",
        (
            "Each name (`module.py.jinja`, `partials/steps.py.jinja`, ...) is looked up in "
            "this order; the first directory that has the file wins:"
        ),
        "",
        "1. each `--template-dir DIR` (`-t`), in the order given;",
        (
            f"2. the project-local `{LOCAL_TEMPLATE_DIR}` directory, found automatically "
            "in the output directory or its nearest parent that has one (for `new NAME "
            "--project`, in the project directory NAME/ or a parent); for `templates "
            "list/show`, in the current directory or a parent;"
        ),
        "3. the built-in templates.",
        "",
        (
            "This is a Jinja `ChoiceLoader`, applied file by file and to every name "
            "templates load: the files rendered directly, and the partials and macros "
            "they `include`, `import` or `extends`. A template directory therefore "
            "contains only the files you change; every other name falls back to the "
            "built-in. A user directory may also add new files (your own partials or "
            "macros) and include them by name."
        ),
        "",
        (
            f"`{BUILTIN_PREFIX}/NAME` always names the built-in template, whatever the "
            "template directories contain. An override uses it to extend the file it "
            f'replaces: `{{% extends "{BUILTIN_PREFIX}/partials/steps.py.jinja" %}}` '
            "(extending `partials/steps.py.jinja` from itself would find itself again)."
        ),
        "",
        (
            "Jinja runs with `trim_blocks` and `lstrip_blocks` (a line holding only a "
            "`{% ... %}` tag leaves no blank line or indentation), `keep_trailing_newline`, "
            "no autoescaping and undefined names as errors. Rendered Python files are "
            "then formatted with black and checked (see [Errors](#errors)); nothing is "
            "written unless every file renders, formats and passes the checks."
        ),
        "",
        "## Overriding",
        "",
    ]
    for title, text, path, source, flags in OVERRIDE_EXAMPLES:
        out += [f"### {title}", "", text, ""]
        if source is None:
            out += [
                "```sh",
                f"keras-jax-scaffold templates export my-templates {path}",
                "# edit my-templates/" + path,
                "keras-jax-scaffold new demo --template-dir my-templates",
                "```",
                "",
            ]
            continue
        command = f"keras-jax-scaffold new demo --template-dir my-templates {flags}"
        out += [
            f"`my-templates/{path}`:",
            "",
            "```jinja",
            source.rstrip("\n"),
            "```",
            "",
            "```sh",
            command.rstrip(),
            "```",
            "",
        ]
    out += [
        (
            "Inside a block the text is printed as written: indent it like the lines "
            "around the block's tag in the built-in template (the *indent* column "
            "below). Template tags on lines of their own leave no trace. Use "
            "`keras-jax-scaffold templates show NAME` to see the surroundings."
        ),
        "",
        *_templates_section(),
        *_context_section(),
        "## Errors",
        "",
        (
            "Every error is one line on stderr, `error: ...` (for invalid Python followed "
            "by the offending lines), with a non-zero exit status and no traceback, and "
            "nothing is written. Paths are the template files as found (yours or the "
            "built-in ones)."
        ),
        "",
        *_table(
            ("problem", "message"),
            [
                (
                    "template syntax error",
                    (
                        "`FILE:LINE: message`, e.g. `my-templates/module.py.jinja:3: "
                        "unexpected '}'`"
                    ),
                ),
                (
                    "undefined variable (or a `vars.KEY` no `--var` gave)",
                    (
                        "`FILE:LINE: message`, e.g. `my-templates/partials/steps.py.jinja:"
                        "3: 'dict object' has no attribute 'clip_norm'`"
                    ),
                ),
                (
                    "unknown template in `extends`, `include` or `import`",
                    (
                        "`FILE:LINE: template 'partials/stpes.py.jinja' not found (did "
                        "you mean 'partials/steps.py.jinja'?)`"
                    ),
                ),
                (
                    "rendered file is not valid Python",
                    (
                        "`FILE:LINE: rendered NAME.py is not valid Python (line N: ...)` "
                        "naming the template line that printed the offending line (your "
                        "template's, when one took part); the offending lines of the "
                        "rendered file follow below the message, the bad one marked `>`"
                    ),
                ),
                (
                    "a required name is gone",
                    (
                        "`FILE: rendered NAME.py no longer defines build_model (needed: "
                        "CLASS, build_model, make_dataset)`, naming your template"
                    ),
                ),
                (
                    "unknown template name (`templates show/export`)",
                    (
                        "`unknown template 'steps' (did you mean "
                        "'partials/steps.py.jinja'?)`"
                    ),
                ),
            ],
        ),
        "",
        "The required names per generated file are listed under *Renders* above.",
        "",
    ]
    return "\n".join(out)


def reference_path(root: Path) -> Path:
    return root / "docs" / "templates.md"

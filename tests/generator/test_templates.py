"""Custom templates: overriding a file, a block or a partial, fallback to the built-ins,
the project-local template directory, --var, every error kind (located, no traceback,
nothing written), `templates list/show/export`, and docs/templates.md kept in step with
the templates and the context.

Templates are discovered at runtime (templates/project/** included, whatever exists).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from keras_jax_scaffold import catalog
from keras_jax_scaffold.context import build_context
from keras_jax_scaffold.layout import ANSWERS_FILE, LAYOUTS, LOCAL_TEMPLATE_DIR
from keras_jax_scaffold.spec import Answers, build_spec
from keras_jax_scaffold.template_set import (
    builtin_source,
    builtin_template_dir,
    builtin_template_names,
    description,
)

from scripts.gen_template_reference import (
    BLOCK_DOCS,
    CONTEXT_DOCS,
    OVERRIDE_EXAMPLES,
    flatten_context,
    template_blocks,
)
from tests.helpers import SCRIPTS
from tests.helpers.cli import assert_rejected, error_line, invoke, new_module, snapshot

ROOT = Path(__file__).resolve().parents[2]
BUILTIN_NAMES = list(builtin_template_names())
STEPS = "partials/steps.py.jinja"

# --------------------------------------------------------------------------- helpers


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# The header's record of the user templates taken (tested on its own below).
HEADER_RECORD = re.compile(r"\nCustom templates \(not the built-ins\):\n(    .*\n)+")


def render(tmp_path: Path, *flags, name: str = "demo", record: bool = False) -> str:
    """The module `new NAME --no-input FLAGS` writes into a fresh directory, without
    the header's ``--template-dir``s (see `without_template_dirs`) and, unless
    ``record``, without its record of the user templates taken."""
    text = without_template_dirs(new_module(tmp_path, *flags, name=name))
    return text if record else HEADER_RECORD.sub("", text)


def without_template_dirs(text: str) -> str:
    """``text`` without the ``--template-dir DIR`` that the "render it again with"
    command gains when templates are given (tests/generator/test_answers.py checks that
    part), so a render with templates compares with the built-in one."""
    return re.sub(r" --template-dir \S+", "", text)


@pytest.fixture
def templates(tmp_path):
    directory = tmp_path / "my-templates"
    directory.mkdir()
    return directory


@pytest.fixture
def out_dir(tmp_path):
    """An output directory with a file in it, to check that errors change nothing."""
    out = tmp_path / "out"
    out.mkdir()
    write(out / "keep.txt", "keep me\n")
    return out


@pytest.fixture
def builtin_module(tmp_path):
    return render(tmp_path)


EXTRA_LOGS = (
    '{% extends "builtin/partials/steps.py.jinja" %}\n'
    "{% block extra_logs %}\n"
    '        logs["{{ vars.log_name | default("custom") }}"] = unscaled_loss\n'
    "{% endblock %}\n"
)


# --------------------------------------------------------------------------- overriding


def test_override_whole_file(tmp_path, templates, builtin_module):
    anchor = '{% include "partials/backend_check.py.jinja" %}'
    source = builtin_source("module.py.jinja").replace(
        anchor, f"CUSTOM = True\n\n{anchor}", 1
    )
    write(templates / "module.py.jinja", source)
    text = render(tmp_path, "-t", templates)
    assert "\nCUSTOM = True\n" in text
    assert text.replace("CUSTOM = True\n\n", "", 1) == builtin_module


def test_override_one_block(tmp_path, templates, builtin_module):
    write(templates / STEPS, EXTRA_LOGS)
    text = render(tmp_path, "-t", templates)
    added = '        logs["custom"] = unscaled_loss\n'
    assert text.count(added) == 1
    assert text.replace(added, "", 1) == builtin_module
    # The line lands in train_step, after the metrics update.
    train_step = text[text.index("def train_step") : text.index("def test_step")]
    assert train_step.index("self.update_metrics(") < train_step.index(added)


def test_override_block_keeping_super(tmp_path, templates, builtin_module):
    write(
        templates / "module.py.jinja",
        '{% extends "builtin/module.py.jinja" %}\n'
        "{% block imports %}\n{{ super() }}\nimport math\n{% endblock %}\n",
    )
    text = render(tmp_path, "-t", templates)
    assert "import numpy as np\n\nimport math\n" in text
    assert text.replace("import math\n\n", "", 1) == builtin_module


def test_override_partial(tmp_path, templates, builtin_module):
    write(
        templates / "partials/data.py.jinja",
        "def make_dataset(num_samples=256, seed=0):\n"
        '    """Zeros for {{ task.name }}."""\n'
        "    return np.zeros((num_samples, *INPUT_SHAPE)), np.zeros(num_samples)\n",
    )
    text = render(tmp_path, "-t", templates)
    assert '"""Zeros for multiclass_sparse."""' in text
    assert "default_rng(seed)" not in text  # the built-in partial is gone
    assert text.count("def make_dataset(") == 1
    head = builtin_module[: builtin_module.index("def make_dataset(")]
    assert text.startswith(head)


def test_files_that_are_not_templates_are_ignored(tmp_path, templates, builtin_module):
    write(templates / "notes.txt", "not a template\n")
    write(templates / ".hidden/partials/steps.py.jinja", "{{ not valid\n")
    assert render(tmp_path, "-t", templates) == builtin_module


def test_exported_copies_are_the_builtins(tmp_path, templates, builtin_module):
    """Copies identical to the built-ins (`templates export`) change nothing, so they
    are neither reported as custom templates nor refused as unused."""
    write(templates / STEPS, builtin_source(STEPS))
    write(
        templates / "project/README.md.jinja", builtin_source("project/README.md.jinja")
    )
    assert render(tmp_path, "-t", templates, record=True) == builtin_module


GAN_FLAGS = (
    "--recipe",
    "gan",
    "--model-type",
    "functional",
    "--loss",
    "bce",
    "-m",
    "none",
)


def _project_file(tmp_path: Path, relative: str, *flags) -> str:
    out = tmp_path / f"project-{len(list(tmp_path.glob('project-*')))}"
    result = invoke("new", "demo", "--project", "--no-input", "-o", out, *flags)
    assert result.exit_code == 0, result.output
    return (out / "demo" / relative).read_text(encoding="utf-8")


def test_a_recipes_compile_model_follows_the_layout(tmp_path):
    """The gan's `compile_model` (its compile.py.jinja, extending the shared one) is
    the module's with the chosen optimizer and the project's with `learning_rate` and
    `steps_per_execution`, as the context's `layout` says."""
    module = render(tmp_path, *GAN_FLAGS)
    project = _project_file(tmp_path, "src/demo/model.py", *GAN_FLAGS)
    fixed = "discriminator_optimizer=keras.optimizers.Adam(learning_rate=0.001),"
    parameter = (
        "discriminator_optimizer=keras.optimizers.Adam(learning_rate=learning_rate),"
    )
    assert "def compile_model(model):" in module and fixed in module
    assert parameter not in module and "steps_per_execution" not in module
    assert "def compile_model(\n    model, learning_rate=LEARNING_RATE," in project
    assert parameter in project and fixed not in project
    assert "steps_per_execution=steps_per_execution,\n    )" in project


def test_a_recipe_template_is_overridden_like_any_other(tmp_path, templates):
    """`--template-dir` replaces a recipe's template (a block of the gan's steps) and
    a shared template its recipe templates extend (the proof's frame): both take
    effect, and the built-ins stay as they were for the other recipes."""
    builtin = render(tmp_path, *GAN_FLAGS)
    write(
        templates / "recipes/gan/steps.py.jinja",
        '{% extends "builtin/recipes/gan/steps.py.jinja" %}\n'
        "{% block state_notes %}\n"
        "# My notes on the GAN's state.\n"
        "{% endblock %}\n",
    )
    changed = render(tmp_path, "-t", templates, *GAN_FLAGS)
    assert "    # My notes on the GAN's state.\n" in changed
    notes = (
        "    # `trainable_variables` hold the generator's and the discriminator's;\n"
        "    # `optimizer_variables` are `GanOptimizer`'s: (own, discriminator\n"
        "    # optimizer's, generator optimizer's); `non_trainable_variables` include the\n"
        "    # latent noise's seed generator. Keras jits these steps itself; do not wrap\n"
        "    # them in `jax.jit`.\n"
    )
    assert builtin.count(notes) == 1
    assert changed == builtin.replace(notes, "    # My notes on the GAN's state.\n")
    # The frame every proof extends: a block of it changes the proofs that keep that
    # block (a recipe's own override of the block wins, as the gan's `imports`).
    frame = tmp_path / "frame-templates"
    write(
        frame / "project/tests/test_parity.py.jinja",
        '{% extends "builtin/project/tests/test_parity.py.jinja" %}\n'
        "{% block imports %}\n{{ super() }}\nimport math  # mine\n{% endblock %}\n",
    )
    for recipe in ("sam", "custom-trackers", "gan"):
        flags = GAN_FLAGS if recipe == "gan" else ("--recipe", recipe)
        proof = _project_file(tmp_path, "tests/test_parity.py", "-t", frame, *flags)
        assert ("import math  # mine\n" in proof) is (recipe != "gan"), recipe


@pytest.mark.parametrize("indent", [0, 8, 12, 3])
def test_block_indentation_does_not_matter(tmp_path, templates, indent):
    """A block's lines land at the indentation of the code around it, whatever common
    indentation they are written with (flush-left, 8 or 12 spaces, or odd)."""
    pad = " " * indent
    write(
        templates / STEPS,
        '{% extends "builtin/partials/steps.py.jinja" %}\n'
        "{% block extra_loss %}\n"
        f"{pad}if training:\n"
        f"{pad}    loss = loss + 0.0 * keras.ops.sum(y_pred)\n"
        "{% endblock %}\n"
        "{% block transform_gradients %}\n"
        f"{pad}grads = [g * 0.5 for g in grads]\n"
        "{% endblock %}\n",
    )
    text = render(tmp_path, "-t", templates)
    assert (
        "        with keras.StatelessScope(state_mapping, collect_losses=True) as scope:\n"
        "            y_pred = self.call(x, **_training_kwargs(self.call, training))\n"
        "            loss = self.compute_loss(\n"
        "                x,\n"
        "                y,\n"
        "                y_pred,\n"
        "                sample_weight,\n"
        "                **_training_kwargs(self.compute_loss, training),\n"
        "            )\n"
        "            if training:\n"
        "                loss = loss + 0.0 * keras.ops.sum(y_pred)\n"
        "        non_trainable_variables = [\n"
    ) in text
    assert "\n        grads = [g * 0.5 for g in grads]\n" in text


def test_first_template_dir_wins(tmp_path, templates):
    second = tmp_path / "second"
    write(second / STEPS, EXTRA_LOGS.replace("custom", "second"))
    write(templates / STEPS, EXTRA_LOGS.replace("custom", "first"))
    text = render(tmp_path, "-t", templates, "-t", second)
    assert 'logs["first"]' in text and 'logs["second"]' not in text


def test_user_partial_included_by_a_user_template(tmp_path, templates):
    """User directories may add files of their own; `include` finds them by name."""
    write(templates / "partials/extra.py.jinja", "EXTRA = {{ hidden_units }}\n")
    write(
        templates / "module.py.jinja",
        '{% extends "builtin/module.py.jinja" %}\n'
        '{% block imports %}{{ super() }}\n{% include "partials/extra.py.jinja" %}'
        "{% endblock %}\n",
    )
    assert "\nEXTRA = 32\n" in render(tmp_path, "-t", templates)


@pytest.mark.parametrize("where", ["output-dir", "parent"])
def test_project_local_template_dir_is_found(tmp_path, where, builtin_module):
    root = tmp_path / "work"
    out = root / "a" / "b"
    local = (out if where == "output-dir" else root) / LOCAL_TEMPLATE_DIR
    write(local / STEPS, EXTRA_LOGS)
    result = invoke("new", "demo", "--no-input", "-o", out)
    assert result.exit_code == 0, result.output
    text = (out / "demo.py").read_text(encoding="utf-8")
    assert 'logs["custom"] = unscaled_loss' in text
    # A --template-dir comes first; the local directory still fills in the rest.
    explicit = tmp_path / "explicit"
    write(explicit / "module.py.jinja", '{% extends "builtin/module.py.jinja" %}\n')
    write(explicit / STEPS, EXTRA_LOGS.replace("custom", "explicit"))
    result = invoke("new", "demo", "--no-input", "-o", out, "-t", explicit, "--force")
    assert result.exit_code == 0, result.output
    text = (out / "demo.py").read_text(encoding="utf-8")
    assert 'logs["explicit"]' in text and 'logs["custom"]' not in text


def test_no_local_template_dir_means_builtins(tmp_path, builtin_module):
    (tmp_path / ".keras-jax-scaffold").mkdir()  # no templates/ inside
    assert render(tmp_path) == builtin_module


# --------------------------------------------------------------------------- --var


def test_var_reaches_templates_as_vars_key(tmp_path, templates):
    write(templates / STEPS, EXTRA_LOGS)
    text = render(tmp_path, "-t", templates, "--var", "log_name=my_loss")
    assert 'logs["my_loss"] = unscaled_loss' in text
    # The header's command renders it again, --var included.
    assert "--var log_name=my_loss" in text


def test_vars_do_not_clash_with_the_context(tmp_path, templates):
    write(
        templates / "module.py.jinja",
        '{% extends "builtin/module.py.jinja" %}\n'
        "{% block imports %}{{ super() }}\n"
        "NAMES = ({{ vars.class_name | tojson }}, {{ class_name | tojson }})\n"
        "{% endblock %}\n",
    )
    text = render(tmp_path, "-t", templates, "--var", "class_name=Mine")
    assert 'NAMES = ("Mine", "Demo")' in text
    assert "class Demo(" in text


def test_unknown_vars_key_is_a_located_error(templates, out_dir):
    steps = write(
        templates / STEPS,
        '{% extends "builtin/partials/steps.py.jinja" %}\n'
        "{% block transform_gradients %}\n"
        "        clip_norm = {{ vars.clip_norm }}\n"
        "{% endblock %}\n",
    )
    before = snapshot(out_dir)
    result = invoke("new", "demo", "--no-input", "-o", out_dir, "-t", templates)
    assert_rejected(result, out_dir, before, f"{steps}:3:", "clip_norm")


# --------------------------------------------------------------------------- errors

ERRORS = {
    # name: (files {relative path: text}, expected location "FILE:LINE", texts)
    "syntax-error": (
        {
            "module.py.jinja": '{% extends "builtin/module.py.jinja" %}\n\n{% block x }\n'
        },
        "module.py.jinja:3:",
        [],
    ),
    "syntax-error-in-partial": (
        {STEPS: '{% extends "builtin/partials/steps.py.jinja" %}\n{% if %}\n'},
        f"{STEPS}:2:",
        [],
    ),
    "undefined-variable": (
        {
            STEPS: '{% extends "builtin/partials/steps.py.jinja" %}\n'
            "{% block extra_logs %}\n\n"
            "        logs['x'] = {{ no_such_name }}\n{% endblock %}\n"
        },
        f"{STEPS}:4:",
        ["no_such_name", "undefined"],
    ),
    "undefined-attribute": (
        {"partials/data.py.jinja": "def make_dataset():\n    return {{ task.nme }}\n"},
        "partials/data.py.jinja:2:",
        ["nme"],
    ),
    "unknown-extends": (
        {STEPS: '{% extends "builtin/partials/stpes.py.jinja" %}\n'},
        f"{STEPS}:1:",
        ["stpes.py.jinja", "not found", "did you mean", "steps.py.jinja"],
    ),
    "unknown-include": (
        {
            "module.py.jinja": '{% extends "builtin/module.py.jinja" %}\n'
            "{% block make_dataset %}\n"
            '{% include "partials/dta.py.jinja" %}\n{% endblock %}\n'
        },
        "module.py.jinja:3:",
        ["partials/dta.py.jinja", "did you mean 'partials/data.py.jinja'"],
    ),
    "missing-build-model": (
        {
            "module.py.jinja": '{% extends "builtin/module.py.jinja" %}\n'
            "{% block build_model %}{% endblock %}\n"
        },
        "module.py.jinja:",
        ["no longer defines build_model"],
    ),
    "missing-make-dataset": (
        {
            "module.py.jinja": '{% extends "builtin/module.py.jinja" %}\n'
            "{% block make_dataset %}{% endblock %}\n"
        },
        "module.py.jinja:",
        ["no longer defines make_dataset"],
    ),
    "missing-class": (
        {
            "module.py.jinja": '{% extends "builtin/module.py.jinja" %}\n'
            "{% block model_class %}\nclass Other(keras.Model):\n"
            '    """Not the model class."""\n{% endblock %}\n'
        },
        "module.py.jinja:",
        ["no longer defines Demo"],
    ),
}


@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
@pytest.mark.parametrize("case", sorted(ERRORS))
def test_template_error_is_located_and_writes_nothing(
    templates, out_dir, case, dry_run
):
    files, location, texts = ERRORS[case]
    for relative, text in files.items():
        write(templates / relative, text)
    before = snapshot(out_dir)
    extra = ["--dry-run"] if dry_run else []
    result = invoke("new", "demo", "--no-input", "-o", out_dir, "-t", templates, *extra)
    line = assert_rejected(result, out_dir, before, *texts)
    # The user's file, as found in the template directory, and the right line.
    assert f"error: {templates}/{location}" in line, line


def test_invalid_python_names_the_template_line_and_shows_the_code(templates, out_dir):
    steps = write(
        templates / STEPS,
        '{% extends "builtin/partials/steps.py.jinja" %}\n'
        "{% block extra_logs %}\n"
        '        logs["broken"] = = unscaled_loss\n'
        "{% endblock %}\n",
    )
    before = snapshot(out_dir)
    result = invoke("new", "demo", "--no-input", "-o", out_dir, "-t", templates)
    line = error_line(result, detail=True)
    assert line.startswith(f"error: {steps}:3: rendered demo.py is not valid Python")
    assert "Traceback" not in result.stderr
    detail = result.stderr.splitlines()[1:]
    marked = [d for d in detail if d.startswith(">")]
    assert len(marked) == 1 and 'logs["broken"] = = unscaled_loss' in marked[0]
    assert len(detail) >= 3  # the lines around it too
    assert snapshot(out_dir) == before


def test_unclosed_bracket_is_traced_back_to_the_template_line(templates, out_dir):
    """Python notices an unclosed bracket only at the next statement; the error still
    names the user template line that opened it."""
    data = write(
        templates / "partials/data.py.jinja",
        "def make_dataset(num_samples=256, seed=0):\n    return oops(\n",
    )
    before = snapshot(out_dir)
    result = invoke("new", "demo", "--no-input", "-o", out_dir, "-t", templates)
    line = error_line(result, detail=True)
    assert line.startswith(f"error: {data}:2: rendered demo.py is not valid Python")
    assert "    return oops(" in result.stderr
    assert snapshot(out_dir) == before


def test_project_template_error_is_located_and_writes_nothing(templates, out_dir):
    name = next(n for n in BUILTIN_NAMES if n.startswith("project/"))
    broken = write(templates / name, "line one\n{{ no_such_name }}\n")
    before = snapshot(out_dir)
    result = invoke(
        "new", "demo", "--project", "--no-input", "-o", out_dir, "-t", templates
    )
    assert_rejected(result, out_dir, before, f"{broken}:2:", "no_such_name")


def test_missing_template_dir_is_an_error(tmp_path, out_dir):
    before = snapshot(out_dir)
    result = invoke("new", "demo", "--no-input", "-o", out_dir, "-t", tmp_path / "nope")
    assert_rejected(result, out_dir, before, "nope")


# --------------------------------------------------------------------------- silent misses

MISSES = {
    # name: (files {relative path: text}, flags, texts the one error line contains)
    "unknown-block": (
        {
            STEPS: '{% extends "builtin/partials/steps.py.jinja" %}\n'
            "{% block extra_losss %}\nloss = loss * 2\n{% endblock %}\n"
        },
        [],
        [f"{STEPS}:2:", "block 'extra_losss'", "did you mean 'extra_loss'"],
    ),
    "block-of-another-file": (
        {
            "project/src/package/steps.py.jinja": (
                '{% extends "builtin/project/src/package/steps.py.jinja" %}\n'
                "{% block extra_loss %}\nloss = loss * 2\n{% endblock %}\n"
            )
        },
        ["--project"],
        [
            "project/src/package/steps.py.jinja:2:",
            "block 'extra_loss' is not a block of",
            f"it is a block of '{STEPS}'",
        ],
    ),
    "file-matching-no-template": (
        {"partials/stpes.py.jinja": "{#- typo -#}\n"},
        [],
        ["partials/stpes.py.jinja", "matches no template", f"did you mean '{STEPS}'"],
    ),
    "module-template-with-project": (
        {
            "module.py.jinja": '{% extends "builtin/module.py.jinja" %}\n'
            "{% block model_class %}{{ super() }}{% endblock %}\n"
        },
        ["--project"],
        [
            "'module.py.jinja' is not used when rendering a project",
            "it uses 'project/src/package/model.py.jinja' instead",
        ],
    ),
    "project-template-with-module": (
        {
            "project/src/package/data.py.jinja": (
                '{% extends "builtin/project/src/package/data.py.jinja" %}\n'
                "{% block make_dataset %}{{ super() }}{% endblock %}\n"
            )
        },
        [],
        [
            "is not used when rendering a module",
            "it uses 'module.py.jinja' instead (blocks make_dataset)",
        ],
    ),
    "var-no-template-reads": (
        {
            STEPS: '{% extends "builtin/partials/steps.py.jinja" %}\n'
            "{% block transform_gradients %}\n"
            "grads = [g * {{ vars.grad_scale }} for g in grads]\n{% endblock %}\n"
        },
        ["--var", "grad_scale=0.5", "--var", "grad_scael=0.5"],
        ["--var grad_scael=0.5 is not read by any template"],
    ),
    "var-not-given": (
        {
            STEPS: '{% extends "builtin/partials/steps.py.jinja" %}\n'
            "{% block transform_gradients %}\n"
            "grads = [g * {{ vars.grad_scale }} for g in grads]\n{% endblock %}\n"
        },
        [],
        [f"{STEPS}:3:", "vars.grad_scale is not given", "--var grad_scale=VALUE"],
    ),
    "sandbox": (
        {
            STEPS: '{% extends "builtin/partials/steps.py.jinja" %}\n'
            "{% block extra_logs %}\n"
            "# {{ self.__init__.__globals__ }}\n{% endblock %}\n"
        },
        [],
        [f"{STEPS}:3:", "'__init__'", "unsafe", "sandbox"],
    ),
}


@pytest.mark.parametrize("case", sorted(MISSES))
def test_silent_misses_are_errors_and_write_nothing(templates, out_dir, case):
    """Each used to render the built-in code with exit 0; now one error line, with
    a suggestion where one helps, and nothing written."""
    files, flags, texts = MISSES[case]
    for relative, text in files.items():
        write(templates / relative, text)
    before = snapshot(out_dir)
    for extra in ([], ["--dry-run"]):
        result = invoke(
            "new", "demo", "--no-input", "-o", out_dir, "-t", templates, *flags, *extra
        )
        line = assert_rejected(result, out_dir, before, *texts)
        assert str(templates) in line or "--var" in line, line


def test_the_did_you_mean_of_an_unread_var_is_the_key_templates_read(
    templates, out_dir
):
    write(
        templates / STEPS,
        '{% extends "builtin/partials/steps.py.jinja" %}\n'
        "{% block transform_gradients %}\n"
        "grads = [g * {{ vars.grad_scale | default(1) }} for g in grads]\n"
        "{% endblock %}\n",
    )
    before = snapshot(out_dir)
    result = invoke(
        "new",
        "demo",
        "--no-input",
        "-o",
        out_dir,
        "-t",
        templates,
        "--var",
        "grad_scael=2",
    )
    assert_rejected(result, out_dir, before, "did you mean 'grad_scale'")


def test_update_refuses_a_new_var_no_template_reads(tmp_path):
    """Recorded variables keep updating (a 0.1.0 project may have unread ones: see
    tests/generator/test_update.py); a --var given to `update` that nothing reads is
    refused."""
    result = invoke("new", "demo", "--project", "--no-input", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    project = tmp_path / "demo"
    before = snapshot(project)
    result = invoke("update", project, "--var", "unused=1")
    assert_rejected(result, project, before, "--var unused=1 is not read")


def test_a_shadowed_file_is_not_a_miss(tmp_path, templates):
    """The first directory wins; the same name further down is simply not taken."""
    second = tmp_path / "second"
    write(second / STEPS, EXTRA_LOGS.replace("custom", "second"))
    write(templates / STEPS, EXTRA_LOGS.replace("custom", "first"))
    assert 'logs["first"]' in render(tmp_path, "-t", templates, "-t", second)


def test_invalid_python_on_a_line_with_an_expression_names_that_line(
    templates, out_dir
):
    """The line printed by `{{ ... }}` differs from its source; the error still names
    it, not the plain line above it."""
    steps = write(
        templates / STEPS,
        '{% extends "builtin/partials/steps.py.jinja" %}\n'
        "{% block extra_logs %}\n"
        'logs["a"] = unscaled_loss\n'
        'logs["b"] = {{ vars.scale }}\n'
        "{% endblock %}\n",
    )
    before = snapshot(out_dir)
    result = invoke(
        "new", "demo", "--no-input", "-o", out_dir, "-t", templates, "--var", "scale="
    )
    line = error_line(result, detail=True)
    assert line.startswith(f"error: {steps}:4: rendered demo.py is not valid Python")
    assert snapshot(out_dir) == before


@pytest.mark.parametrize("project", [False, True], ids=["module", "project"])
def test_the_command_and_the_header_say_which_templates_were_used(
    tmp_path, templates, project
):
    write(templates / STEPS, EXTRA_LOGS)
    local = tmp_path / "work" / LOCAL_TEMPLATE_DIR
    write(
        local / "partials/data.py.jinja",
        builtin_source("partials/data.py.jinja") + "\n",
    )
    out = tmp_path / "work" / "out"
    flags = ["--project"] if project else []
    result = invoke("new", "demo", "--no-input", "-o", out, "-t", templates, *flags)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        f"templates from {templates}: {STEPS}",
        f"templates from {local.resolve()}: partials/data.py.jinja",
    ]
    header = (out / ("demo/src/demo/model.py" if project else "demo.py")).read_text()
    assert (
        "Custom templates (not the built-ins):\n"
        f"    my-templates/{STEPS}\n"
        f"    {LOCAL_TEMPLATE_DIR}/partials/data.py.jinja\n"
    ) in header
    # Built-ins only: neither the line nor the record.
    result = invoke("new", "plain", "--no-input", "-o", tmp_path / "plain")
    assert "templates from" not in result.stdout
    assert "Custom templates" not in (tmp_path / "plain/plain.py").read_text()


def test_the_project_readme_override_takes_effect(tmp_path):
    """The override the generated README suggests, put where it says, changes the
    project's steps on `update` (extending project/.../steps.py.jinja would not)."""
    result = invoke("new", "demo", "--project", "--no-input", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    project = tmp_path / "demo"
    readme = (project / "README.md").read_text(encoding="utf-8")
    where = re.search(
        r"`(\.keras-jax-scaffold/templates/[^`]+)`:\n\n```jinja\n", readme
    )
    source = readme[where.end() : readme.index("```", where.end())]
    write(project / where.group(1), source)
    result = invoke("update", project)
    assert result.exit_code == 0, result.output
    steps = (project / "src/demo/steps.py").read_text(encoding="utf-8")
    assert (
        "            loss = loss + 1e-3 * keras.ops.mean(keras.ops.square(y_pred))\n"
        in steps
    )


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize(
    "layout",
    ["module", "project"],
)
def test_export_round_trip_is_byte_identical(tmp_path, layout):
    """Exported templates, used as --template-dir, render exactly the built-ins."""
    exported = tmp_path / "exported"
    result = invoke("templates", "export", exported)
    assert result.exit_code == 0, result.output
    assert files_under(exported) == {
        name: (builtin_template_dir() / name).read_bytes() for name in BUILTIN_NAMES
    }
    flags = ["--project"] if layout == "project" else []
    outputs = []
    for extra in ([], ["-t", exported]):
        out = tmp_path / f"out-{len(outputs)}"
        result = invoke("new", "demo", "--no-input", "-o", out, *flags, *extra)
        assert result.exit_code == 0, result.output
        outputs.append(
            {
                name: without_template_dirs(data.decode()).encode()
                for name, data in files_under(out).items()
            }
        )
    if layout == "project":
        # The answers file records the --template-dir (for `update`); nothing else
        # differs.
        answers = [json.loads(o.pop(f"demo/{ANSWERS_FILE}")) for o in outputs]
        assert answers[0]["template_dirs"] == []
        assert answers[1]["template_dirs"] == ["../../exported"]  # out-1/demo
        assert {**answers[1], "template_dirs": []} == answers[0]
    assert outputs[0] == outputs[1]
    expected = {
        f.output_path(
            {"module_name": "demo", "package_name": "demo", "class_name": "Demo"}
        )
        for f in LAYOUTS[layout]
    }
    prefix = "demo/" if layout == "project" else ""
    assert {prefix + path for path in expected} <= set(outputs[1])


def test_export_named_templates_keeps_relative_paths(tmp_path):
    target = tmp_path / "t"
    result = invoke("templates", "export", target, STEPS, "module.py.jinja")
    assert result.exit_code == 0, result.output
    assert sorted(files_under(target)) == ["module.py.jinja", STEPS]
    assert (target / STEPS).read_text(encoding="utf-8") == builtin_source(STEPS)
    assert f"create  {target / STEPS}" in result.stdout
    # Again: identical files are left alone.
    before = snapshot(target)
    result = invoke("templates", "export", target, STEPS)
    assert result.exit_code == 0, result.output
    assert f"identical  {target / STEPS}" in result.stdout
    assert snapshot(target) == before


def test_export_refuses_to_overwrite_a_different_file(tmp_path):
    target = tmp_path / "t"
    write(target / STEPS, "my edits\n")
    before = snapshot(target)
    result = invoke("templates", "export", target)  # everything; one file conflicts
    assert_rejected(result, target, before, str(target / STEPS), "--force")
    result = invoke("templates", "export", target, "--force")
    assert result.exit_code == 0, result.output
    assert f"overwrite  {target / STEPS}" in result.stdout
    assert files_under(target)[STEPS] == (builtin_template_dir() / STEPS).read_bytes()


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["modul.py.jinja"], ["'modul.py.jinja'", "did you mean 'module.py.jinja'"]),
        ([STEPS, "steps"], ["'steps'", f"did you mean '{STEPS}'"]),
        (["partials/dat.py.jinja"], ["did you mean 'partials/data.py.jinja'"]),
    ],
)
def test_export_unknown_name_writes_nothing(tmp_path, names, expected):
    target = tmp_path / "t"
    write(target / "keep.txt", "keep\n")
    before = snapshot(target)
    result = invoke("templates", "export", target, *names)
    assert_rejected(result, target, before, "unknown template", *expected)


def test_export_into_a_file_or_below_one_writes_nothing(tmp_path):
    target = write(tmp_path / "t", "a file\n")
    before = snapshot(tmp_path)
    assert_rejected(invoke("templates", "export", target), tmp_path, before, "file")
    target.unlink()
    write(target / "partials", "a file where a folder goes\n")
    before = snapshot(tmp_path)
    result = invoke("templates", "export", target)
    assert_rejected(result, tmp_path, before, "partials", "is a file")


# --------------------------------------------------------------------------- list, show


def table_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    assert set(lines[1].replace(" ", "")) == {"-"}, lines[1]
    return {line.split()[0]: line.split(None, 1)[1:] for line in lines[2:]}


def test_list_shows_every_builtin_with_its_description(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("templates", "list")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert list(rows) == BUILTIN_NAMES
    for name, rest in rows.items():
        expected = description(builtin_source(name))
        shown = rest[0]
        assert shown == expected or (
            shown.endswith("...") and expected.startswith(shown[:-3])
        ), name
    assert max(len(line) for line in result.stdout.splitlines()) <= 100


def test_list_marks_overrides_user_and_unused_templates(
    tmp_path, templates, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    write(templates / STEPS, "{#- My steps. -#}\n" + EXTRA_LOGS)
    write(templates / "module.py.jinja", '{% extends "builtin/module.py.jinja" %}\n')
    write(templates / "partials/mine.py.jinja", "{#- My own partial. -#}\nX = 1\n")
    write(
        templates / "partials/unused.py.jinja", "{#- Nothing includes me. -#}\nY = 1\n"
    )
    write(
        templates / "partials/data.py.jinja",
        '{% include "partials/mine.py.jinja" %}\n'
        + builtin_source("partials/data.py.jinja"),
    )
    result = invoke("templates", "list", "--template-dir", templates)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert list(lines) == [
        *BUILTIN_NAMES,
        "partials/mine.py.jinja",
        "partials/unused.py.jinja",
    ]
    for name in (STEPS, "module.py.jinja", "partials/data.py.jinja"):
        assert lines[name].split()[1] == "overridden"
        # The path column is shortened from the left to fit the width ("...").
        shown = lines[name].split()[-1].removeprefix("...")
        assert str(templates / name).endswith(shown), lines[name]
        assert shown.endswith(name), lines[name]
    # Where the column leaves room, the user's directory shows (not the built-ins').
    for name in ("module.py.jinja", "partials/data.py.jinja"):
        assert f"-templates/{name}" in lines[name], lines[name]  # my-templates/
    assert lines["partials/mine.py.jinja"].split()[1] == "user"
    assert lines["partials/unused.py.jinja"].split()[1] == "unused"
    assert lines["partials/constants.py.jinja"].split()[1] == "built-in"
    assert max(len(line) for line in result.stdout.splitlines()) <= 100


def test_list_uses_the_local_template_dir(tmp_path, monkeypatch):
    write(tmp_path / LOCAL_TEMPLATE_DIR / STEPS, EXTRA_LOGS)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    result = invoke("templates", "list")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith(STEPS))
    assert line.split()[1] == "overridden"


def test_list_with_missing_template_dir(tmp_path):
    result = invoke("templates", "list", "-t", tmp_path / "nope")
    assert "does not exist" in error_line(result, detail=True)


@pytest.mark.parametrize("command", [["list"], ["show", STEPS]])
def test_list_and_show_import_neither_black_nor_the_pipeline(command):
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / "templates_imports.py"), *command],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert completed.stdout.strip() == "[]", completed.stdout + completed.stderr


def test_show_prints_the_builtin_source():
    for name in ("module.py.jinja", STEPS):
        result = invoke("templates", "show", name)
        assert result.exit_code == 0, result.output
        assert result.stdout == builtin_source(name)


def test_show_prints_the_effective_template(templates):
    write(templates / STEPS, EXTRA_LOGS)
    result = invoke("templates", "show", STEPS, "-t", templates)
    assert result.exit_code == 0, result.output
    assert result.stdout == EXTRA_LOGS
    result = invoke("templates", "show", f"builtin/{STEPS}", "-t", templates)
    assert result.stdout == builtin_source(STEPS)
    result = invoke("templates", "show", "partials/data.py.jinja", "-t", templates)
    assert result.stdout == builtin_source("partials/data.py.jinja")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("modle.py.jinja", "did you mean 'module.py.jinja'"),
        ("steps", f"did you mean '{STEPS}'"),
        ("builtin/partials/stepz.py.jinja", f"did you mean 'builtin/{STEPS}'"),
        ("zzzzzzzz", "templates list"),
    ],
)
def test_show_unknown_name(name, expected):
    result = invoke("templates", "show", name)
    line = error_line(result, detail=True)
    assert len(result.stderr.splitlines()) == 1
    assert f"unknown template {name!r}" in line and expected in line, line


def test_templates_help_lists_the_commands():
    result = invoke("templates", "--help")
    assert result.exit_code == 0, result.output
    for command in ("list", "show", "export"):
        assert command in result.stdout


# --------------------------------------------------------------------------- reference


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_every_builtin_template_has_a_description(name):
    """First line: a Jinja comment ``{#- one line -#}`` (shown by `templates list`)."""
    source = builtin_source(name)
    assert description(source), (
        f"templates/{name}: first line must be a comment {{#- what it renders -#}}"
    )
    assert source.startswith("{#-") and source.split("\n", 1)[0].endswith("-#}"), (
        "use {#- ... -#} so the comment leaves no blank line in the output"
    )


def test_every_block_is_documented_and_every_documented_block_exists():
    defined = {block for found in template_blocks().values() for block in found}
    assert sorted(defined - set(BLOCK_DOCS)) == [], "add them to BLOCK_DOCS"
    assert sorted(set(BLOCK_DOCS) - defined) == [], "no template defines these"


def _contexts():
    """Contexts that between them use every task, model type and list shape."""
    contexts = []
    for index, task in enumerate(catalog.TASKS):
        loss = next(e.snake_name for e in catalog.LOSSES if task in e.tasks)
        model_type = catalog.MODEL_TYPES[index % len(catalog.MODEL_TYPES)]
        answers = Answers(
            name="demo",
            model_type=model_type,
            loss=loss,
            task=task,
            variables=(("clip_norm", "1.0"),),
        )
        contexts.append(build_context(build_spec(answers)))
    contexts.append(build_context(build_spec(Answers(name="bare", metrics=()))))
    contexts.append(build_context(build_spec(Answers(name="sam", recipe="sam"))))
    for recipe in ("gradient-accumulation", "distillation"):  # int and path settings
        answers = Answers(name=recipe.replace("-", "_"), recipe=recipe)
        contexts.append(build_context(build_spec(answers), layout="project"))
    several = Answers(
        name="several",
        outputs=("label:sparse_categorical_crossentropy", "box:mse:0.5"),
        inputs=("features:6", "image:4,3"),
        metrics=("label:accuracy",),
    )
    contexts.append(build_context(build_spec(several)))
    # A project's model has scaling layers: a regression one, and named inputs and
    # outputs.
    regression = Answers(name="scaled", loss="mse")
    contexts.append(build_context(build_spec(regression), layout="project"))
    contexts.append(build_context(build_spec(several), layout="project"))
    return contexts


@pytest.mark.parametrize(
    "partial", ["partials/targets.py.jinja", "partials/target_shapes.py.jinja"]
)
def test_one_macro_per_target_kind(partial):
    """The task rules are data (catalog.TARGETS); each target kind has its macro."""
    from scripts.gen_template_reference import template_macros

    macros = {signature.split("(")[0] for signature in template_macros(partial)}
    assert macros == set(catalog.TARGETS)
    assert {task.target for task in catalog.TASKS.values()} == set(catalog.TARGETS)


def test_no_partial_reads_a_hidden_parameter():
    """Partials take what they print from the documented context or as macro
    parameters; none reads a `{% set %}` of its includer through `| default`."""
    for name in BUILTIN_NAMES:
        source = builtin_source(name)
        assert '| default("")' not in source and "{% set model_bases" not in source, (
            name
        )


def test_context_docs_match_build_context():
    seen: dict[str, set[str]] = {}
    for context in _contexts():
        for key, kind in flatten_context(context).items():
            seen.setdefault(key, set()).add(kind)
    assert sorted(set(seen) - set(CONTEXT_DOCS)) == [], "add them to CONTEXT_DOCS"
    assert sorted(set(CONTEXT_DOCS) - set(seen)) == [], "build_context has no such key"
    for key, kinds in seen.items():
        documented = CONTEXT_DOCS[key][0]
        # An empty list (e.g. no metrics) is "list"; any documented list type fits it.
        kinds = {
            documented if k == "list" and documented.startswith("list") else k
            for k in kinds
        }
        # "float | int | str": a value of any of these types.
        union = not documented.startswith(("list[", "dict["))
        allowed = set(documented.split(" | ")) if union else {documented}
        assert kinds <= allowed, f"{key}: documented {documented}, got {kinds}"
        assert CONTEXT_DOCS[key][1].strip(), key


def test_reference_page_is_up_to_date():
    """docs/templates.md is what the code writes now; generating it imports no keras/jax."""
    script = ROOT / "scripts" / "gen_template_reference.py"
    completed = subprocess.run(
        [sys.executable, str(script), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )
    assert completed.returncode == 0, (
        completed.stdout
        + completed.stderr
        + "\nrun: python scripts/gen_template_reference.py"
    )
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / "reference_imports.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    assert completed.stdout.strip() == "[]"


def test_reference_page_names_every_template_block_and_key():
    text = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    for name in BUILTIN_NAMES:
        assert f"### `{name}`" in text
    for block in BLOCK_DOCS:
        assert f"| `{block}` |" in text
    for key in CONTEXT_DOCS:
        assert f"| `{key}` |" in text
    assert "UNDOCUMENTED" not in text


def test_gen_template_reference_check_detects_a_stale_page(tmp_path, monkeypatch):
    from scripts import gen_template_reference

    monkeypatch.setattr(gen_template_reference, "ROOT", tmp_path)
    assert gen_template_reference.main(["--check"]) == 1  # missing
    assert gen_template_reference.main([]) == 0
    assert gen_template_reference.main(["--check"]) == 0
    page = tmp_path / "docs" / "templates.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert gen_template_reference.main(["--check"]) == 1


@pytest.mark.parametrize(
    "example",
    [e for e in OVERRIDE_EXAMPLES if e[3] is not None],
    ids=lambda e: e[0],
)
def test_reference_examples_render(tmp_path, templates, example):
    _, _, path, source, flags = example
    write(templates / path, source)
    text = render(tmp_path, "-t", templates, *flags.split())
    compile(text, "demo.py", "exec")

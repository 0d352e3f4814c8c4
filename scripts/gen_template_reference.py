"""Write docs/templates.md from the code: `python scripts/gen_template_reference.py`.

The page is ``scripts/templates.md.jinja`` rendered with data read from the package: the
built-in templates (their descriptions, blocks and macros), the layouts, the catalog's
choices and the context version. ``BLOCK_DOCS`` and ``CONTEXT_DOCS`` are the only
hand-written parts about templates and context; tests/generator/test_templates.py checks
them against the blocks the templates really define and the keys ``build_context``
really returns (both directions), so the page cannot drift. Imports neither keras nor
jax.

`--check` writes nothing and exits 1 when the committed page differs from what the code
produces now (tests/generator/test_templates.py runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jinja2

if __package__ in (None, ""):  # run as a script: the repository root, for `scripts`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from keras_jax_scaffold import catalog
from keras_jax_scaffold.context import CONTEXT_VERSION
from keras_jax_scaffold.layout import LAYOUTS, LOCAL_TEMPLATE_DIR, RUNTIME_FILES
from keras_jax_scaffold.recipes import TEMPLATE_ROLES
from keras_jax_scaffold.template_set import (
    BUILTIN_PREFIX,
    builtin_source,
    builtin_template_names,
    description,
    parse,
)

from scripts.generated_page import render_page, write_or_check

ROOT = Path(__file__).resolve().parents[1]
PAGE_TEMPLATE = Path(__file__).resolve().with_name("templates.md.jinja")

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
    "compile_model": "`compile_model(model)` of a project's model.py: by default "
    "the recipe's compile template (`recipe.compile_template`), which compiles with "
    "the chosen optimizer, loss and metrics.",
    "project_docstring": "In a project's `compile_model` "
    "(`partials/compile_model.py.jinja`): its docstring.",
    "project_arguments": "In a project's `compile_model`: the arguments of "
    "`model.compile(...)` before `steps_per_execution` (the optimizer from "
    "`learning_rate`, then `compile_losses`); a recipe compiling otherwise "
    "replaces them (the gan: one optimizer per network).",
    "module_body": "In a module's `compile_model(model)`: its docstring and the "
    "`model.compile(...)` call (the recipe custom-trackers gives it the optimizer "
    "only).",
    "compile_losses": "In `compile_model`: the loss and metrics arguments "
    "(`partials/compile_losses.py.jinja`); empty for a model that owns them.",
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
    "transform_batch": "Inside `train_step`, before the forward pass: change the "
    "batch `x`, `y`, `sample_weight` (mixup, adversarial inputs, augmentation). The "
    "block runs in a stateless scope over the trainable and non-trainable variables "
    "(this step's values), so a `keras.random.SeedGenerator` made in `init_state` "
    "draws anew every step and its advanced state is kept; `trainable_variables`, "
    "`non_trainable_variables`, `optimizer_variables` and `metrics_variables` are "
    "in reach. The forward pass, the loss and `fit`'s training metrics then see the "
    "new batch (the metrics compare the new `y` with the predictions for the new "
    "`x`); `test_step` does not run it. The scope is generated only when the block "
    "is not empty. See [docs/own-algorithm.md](own-algorithm.md).",
    "after_update": "Inside `train_step`, right after `optimizer.stateless_apply`: "
    "`trainable_variables` and `optimizer_variables` hold this step's new values, "
    "`non_trainable_variables` the state after the forward pass (plus `grads`, "
    "`unscaled_loss`, `x`, `y`); change them here (an EMA copy kept in "
    "non-trainable variables, a projection onto a constraint, lookahead). Empty but "
    "for a comment by default.",
    "evaluation_weights": "In `test_step` and `predict_step` (one block, printed in "
    "both): must set `evaluation_variables`, the trainable values the forward pass "
    "of `evaluate`, `predict` and `fit`'s validation uses (default: "
    "`trainable_variables`), e.g. an EMA copy held in `non_trainable_variables`. The "
    "state `test_step` returns keeps `trainable_variables` (Keras writes it back "
    "into the model after `evaluate`).",
    "extra_logs": "Inside `train_step`, after the metrics update: add entries to `logs` "
    "(empty by default). A value added here is the last batch's; for an epoch mean "
    "use a tracker (`init_state` and `train_metrics`).",
    "compute_gradients": "Inside `train_step`, after `grad_fn = jax.value_and_grad("
    "self.forward_and_loss, has_aux=True)`: must set `grads`, `unscaled_loss`, "
    "`y_pred`, `non_trainable_variables` and `metrics_variables` (recipes "
    "`gradient-accumulation` and `sam` replace it; the former also sets `logs`).",
    "update_train_metrics": "Inside `train_step`, after the optimizer update: must set "
    "`logs` and `metrics_variables` (the default calls `self.update_metrics`).",
    "track_loss": "Inside `update_metrics`, in the metrics' stateless scope, before "
    "`compute_metrics`: updates the loss mean, weighted by batch size.",
    "state_notes": "The end of the comment that opens the steps: what the state "
    "lists hold (a recipe whose state is laid out otherwise says how, e.g. the gan's "
    "two optimizers).",
    "forward_and_loss": "The method `forward_and_loss` (its blocks `forward`, "
    "`compute_loss`, `extra_loss`): the forward pass and loss the train and test "
    "steps differentiate and evaluate. A recipe whose steps do not use it (the gan, "
    "wgan-gp) empties it and brings its own methods in `network_methods`.",
    "network_methods": "In `partials/networks/network_steps.py.jinja`, the steps of "
    "a recipe with several networks (gan, wgan-gp): the recipe's own methods (its "
    "losses, each network's forward pass), before the update of its loss trackers.",
    "update_metrics": "The method `update_metrics` (its blocks `track_loss`, "
    "`compute_metrics`, `extra_metrics`): the stateless update of the loss mean and "
    "the metrics.",
    "train_body": "The body of `train_step` between unpacking the state and the "
    "batch (`x`, `y`, `sample_weight`) and packing the new state: must set `logs` "
    "and the four state lists. Its default holds the blocks from `transform_batch` "
    "to `extra_logs`; a recipe whose train step is another algorithm (the gan: two "
    "networks, two optimizers) replaces it.",
    "test_body": "The body of `test_step` between unpacking and packing the state: "
    "must set `logs`, `non_trainable_variables` and `metrics_variables` (default: "
    "`evaluation_weights`, the forward pass and loss, the metrics, "
    "`extra_test_logs`).",
    "extra_methods": "Methods and class constants added to the model class (or the "
    "`StatelessSteps` mixin) after the step settings, e.g. a `metrics` property, "
    "helpers, or an algorithm's strength setting (`MIXUP_ALPHA = 0.2`; see "
    "[docs/own-algorithm.md](own-algorithm.md)). Empty by default.",
    "init_state": "The model's constructor, after Keras's own `__init__` (and, for a "
    "subclassed model, after its layers): create trackers or other state, e.g. "
    '`self.grad_norm_tracker = keras.metrics.Mean(name="grad_norm")`. Works for the '
    "three model types, in a module and in a project: the model class gets an "
    "`__init__(*args, **kwargs)` only when this block is not empty (a subclassed "
    "model keeps its one `__init__`). A `keras.metrics.Metric` assigned here is one of "
    "the model's metrics: `fit` resets it every epoch, its variables are in "
    "`metrics_variables`, and it survives `save`/`load_model`. Empty by default.",
    "train_metrics": "Inside `train_step`, after `transform_gradients` and before the "
    "optimizer applies `grads`, in a stateless scope over `metrics_variables`: update "
    "the trackers made in `init_state` from `grads`, `unscaled_loss`, `y_pred`, `x`, "
    "`y` and `sample_weight` (`optimizer_variables` still hold the optimizer's state "
    "before this step; under mixed precision `grads` are multiplied by the loss "
    "scale). The trackers are among the model's metrics, so `compute_metrics` puts "
    "their results (epoch means for a `Mean`) into `logs`. The scope is generated "
    "only when the block is not empty.",
    "docstring": "The module docstring of a project test file (tests/test_parity.py, "
    "tests/test_save_load.py): what the file proves.",
    "model_imports": "In tests/test_parity.py of the recipes with several networks "
    "(`partials/networks/test_parity.py.jinja`): what the proof imports from the "
    "model module (default: the model class).",
    "helpers": "In a project's tests/test_parity.py: the helpers of the proof, by "
    "default `twin`, `build_with` (the model built with another class) and "
    "`comparison`; a recipe with another oracle replaces them.",
    "twin": "In tests/test_parity.py: the oracle's model class, by default "
    "`builtin_twin()` (the model with Keras's built-in steps).",
    "comparison": "In tests/test_parity.py: `fit_and_evaluate` (train a fresh model "
    "from a fixed seed) and `assert_same` (history, evaluate results, predictions and "
    "every weight within rtol 1e-6).",
    "proof": "In tests/test_parity.py: the recipe's proof, written by the recipe's "
    "`proof.py.jinja`: `run_mine_and_oracle` and the tests comparing the recipe "
    "with its Keras oracle (with a negative control). Empty in the frame.",
    "check": "In tests/test_data_parallel.py: the script run in a fresh process with "
    "4 CPU devices, up to the `train --data-parallel` run: the proof's "
    "`run_mine_and_oracle` under `DataParallel`.",
    "predict_inputs": "In tests/test_smoke.py: `predict_inputs(model, x)`, what "
    "`predict` takes for 8 samples (the gan: latent vectors).",
    "fit_model": "In tests/test_smoke.py's `test_fit_evaluate_predict`: the model "
    "it trains (default: `build_model(learning_rate=1e-2)`).",
    "fit_progress": "In tests/test_smoke.py's `test_fit_evaluate_predict`: what "
    "shows that training progressed (default: the loss falls in three epochs; none "
    "for the recipes with several networks).",
    "optimizers": "In tests/test_save_load.py's `iterations(model)`: must set "
    "`optimizers`, the optimizers whose steps are counted (the gan's two).",
    "same_predictions": "In tests/test_save_load.py: the loaded model predicts as "
    "the saved one (empty for the recipes with several networks, whose predictions "
    "draw noise).",
    "same_weights": "In tests/test_save_load.py: the loaded weights equal the saved "
    "ones (the recipes with several networks compare the trainable ones: seed "
    "generator states do not come back from a .keras file).",
    "extra_test_logs": "Inside `test_step`, after the metrics update: change `logs`, "
    "e.g. drop a tracker updated only in training "
    '(`logs.pop("grad_norm")`), which would otherwise show its reset value 0.0 in '
    "`evaluate` and as `val_...` in `fit`. Empty by default.",
}


# Every key of the template context: "a.b" is key b of mapping a, "a[].b" key b of each
# item of list a. Types are Python types; "x | y" means either.
CONTEXT_DOCS = {
    "context_version": (
        "int",
        "The version of this context's layout (see [Context version](#context-version)).",
    ),
    "tool_version": ("str", "The keras-jax-scaffold version that renders."),
    "layout": (
        "str",
        "What is rendered: `module` (`new NAME`) or `project` (`new NAME --project`).",
    ),
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
        (
            "The target kind: how `make_dataset` encodes the targets `y`; names the "
            "macro of `partials/targets.py.jinja` (and `partials/target_shapes.py.jinja`) "
            "that draws them."
        ),
    ),
    "target": (
        "dict",
        "What the target kind means for the code (`catalog.TARGETS` of the task).",
    ),
    "target.title": ("str", "The targets in words, e.g. `integer classes`."),
    "target.scores_units": (
        "str",
        (
            "The width of the random projection `y` is drawn from, as head units "
            "(`output_units`, `one`, `num_classes`: macro `units` of "
            "`partials/expressions.py.jinja`); empty when the kind draws `y` "
            "otherwise (masks, label sequences)."
        ),
    ),
    "target.labels": (
        "str",
        (
            "Integer labels: `classes` (0 to NUM_CLASSES - 1) or `ctc` (1 to "
            "NUM_CLASSES, 0 is the blank); macro `label_range` writes `low, high`. "
            "Empty for float targets."
        ),
    ),
    "target.uses_output_units": (
        "bool",
        "Whether the targets' width is `OUTPUT_UNITS` (regression).",
    ),
    "target.sequence": (
        "bool",
        "One label sequence per sample, at most one label per time step (CTC).",
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
    "head_units": (
        "str",
        (
            "What `OUTPUT_UNITS` holds: `output_units` (the number; always with "
            "named outputs), `one`, `num_classes` or `num_classes_plus_blank` (CTC); "
            "macro `output_units_value` writes it."
        ),
    ),
    "model_uses": (
        "dict",
        (
            "Which constants that not every model reads a project's `model.py` "
            "imports from its `constants.py`."
        ),
    ),
    "model_uses.output_units": (
        "bool",
        "`OUTPUT_UNITS` (a head's units; not in the recipes with several networks).",
    ),
    "model_uses.num_classes": (
        "bool",
        "`NUM_CLASSES` (named outputs' class heads; the distillation's networks).",
    ),
    "class_target": (
        "dict | NoneType",
        (
            "The targets whose classes `--validation-split` keeps in proportion "
            "(`CLASS_TARGET` of a project's `data.py`): `output` (a named output, or "
            "none for the one output) and `kind` (`index`, `onehot`, `binary` or "
            "`signed`); none without class targets."
        ),
    ),
    "class_target.output": (
        "str | NoneType",
        "The named output holding the classes, or none.",
    ),
    "class_target.kind": (
        "str",
        "How a sample's class is read: `index`, `onehot`, `binary` or `signed`.",
    ),
    "layers": (
        "list[dict]",
        (
            "The default architecture, in order: hidden Dense, BatchNormalization, "
            "Dropout, head (and UnitNormalization for embeddings)."
        ),
    ),
    "layers[].attribute": ("str", "Attribute name of the layer in a subclassed model."),
    "layers[].kind": (
        "str",
        (
            "What the layer is: `hidden` (Dense, ReLU, L2 1e-4), `batch_norm`, "
            "`dropout` (rate 0.1), `head` (Dense), `normalize` "
            "(UnitNormalization), or in a project's model `input_scaling` (first) "
            "and `target_scaling` (after a regression head), Normalization layers "
            "its `train` sets from the training data (runtime/scaling.py); macro "
            "`layer` constructs it, macro `note` writes a comment for the scaling "
            "layers."
        ),
    ),
    "layers[].units": (
        "str",
        (
            "A Dense layer's units, by name: `hidden_units`, `output_units`, `one` or "
            "`num_classes` (macro `units`); empty for the others."
        ),
    ),
    "layers[].activation": (
        "str",
        "A Dense layer's Keras activation name, e.g. `relu`; empty for linear.",
    ),
    "layers[].name": (
        "str",
        (
            "The Keras name of a scaling layer (`input_scaling`, `target_scaling`, "
            "`input_scaling_NAME`, `target_scaling_NAME`), by which the project's "
            "runtime finds it; only scaling layers have it."
        ),
    ),
    "layers[].scaled": (
        "str",
        (
            'The named input or output a scaling layer belongs to, "" for the one '
            "unnamed input or output (macro `build_shape` writes the shape it takes "
            "from it); only scaling layers have it."
        ),
    ),
    "layers[].training": (
        "bool",
        "Whether the layer's call takes `training=` (BatchNormalization, Dropout).",
    ),
    "loss": ("dict", "The loss."),
    "loss.name": ("str", "Its snake_case name, e.g. `mean_squared_error`."),
    "loss.class_name": ("str", "Its Keras class name, e.g. `MeanSquaredError`."),
    "loss.from_logits": (
        "bool",
        (
            "Whether it takes logits (`from_logits=True`: recipes whose model ends "
            "without an activation)."
        ),
    ),
    "metrics": ("list[dict]", "The compiled metrics, in order (may be empty)."),
    "metrics[].name": (
        "str",
        (
            "The metric's log key: its snake_case name, or the alias given "
            "(`mae`, `accuracy`)."
        ),
    ),
    "metrics[].class_name": ("str", "Its Keras class name, e.g. `AUC`."),
    "metrics[].arguments": (
        "list[list[bool | float | int | list[int] | str]]",
        (
            "Its constructor arguments besides `name`, as `[name, value]` pairs "
            'filled from the model\'s settings, e.g. `["num_classes", 3]`; the '
            "values are plain data (macro `literal` writes them)."
        ),
    ),
    "inputs": (
        "list[dict]",
        (
            "The named inputs (`--input`), in order; empty for one unnamed input "
            "(`INPUT_SHAPE`). When set: `INPUT_SHAPES`, `x` is a dict, each input is "
            "flattened and they are concatenated before `layers`."
        ),
    ),
    "inputs[].name": ("str", "The input's name (a key of `x`)."),
    "inputs[].shape": ("str", "Its shape without the batch axis, e.g. `(4, 3)`."),
    "inputs[].scaling": (
        "dict",
        (
            "In a project, the `input_scaling_NAME` layer of a vector input (as an "
            "item of `layers`); absent for other inputs and in modules."
        ),
    ),
    "inputs[].scaling.attribute": ("str", "See `layers[].attribute`."),
    "inputs[].scaling.kind": ("str", "`input_scaling`; see `layers[].kind`."),
    "inputs[].scaling.units": ("str", "Empty (see `layers[].units`)."),
    "inputs[].scaling.activation": ("str", "Empty (see `layers[].activation`)."),
    "inputs[].scaling.training": ("bool", "Always false (see `layers[].training`)."),
    "inputs[].scaling.name": ("str", "See `layers[].name`."),
    "inputs[].scaling.scaled": ("str", "The input's name (see `layers[].scaled`)."),
    "scaling": (
        "bool",
        "A project's model has scaling layers (see `layers[].kind`); false in modules.",
    ),
    "target_scaling": (
        "bool",
        (
            "A project's model has a `target_scaling` layer: its class takes the "
            "`TargetScaling` mixin (the loss on standardized targets)."
        ),
    ),
    "outputs": (
        "list[dict]",
        (
            "The named outputs (`--output`), in order; empty for one unnamed output. "
            "When set: `y` is a dict, `layers` is the shared trunk without a head, and "
            "each output has its head, loss, weight and metrics (`metrics` is empty)."
        ),
    ),
    "outputs[].name": ("str", "The output's name (a key of `y` and of the logs)."),
    "outputs[].task": ("dict", "Its task."),
    "outputs[].task.name": ("str", "The task's name, e.g. `regression`."),
    "outputs[].task.title": ("str", "A one-line description of the task."),
    "outputs[].task.target": ("str", "How `make_dataset` encodes its targets."),
    "outputs[].target": ("dict", "Its target kind, as `target`."),
    "outputs[].target.title": ("str", "See `target.title`."),
    "outputs[].target.scores_units": ("str", "See `target.scores_units`."),
    "outputs[].target.labels": ("str", "See `target.labels`."),
    "outputs[].target.uses_output_units": ("bool", "See `target.uses_output_units`."),
    "outputs[].target.sequence": ("bool", "See `target.sequence`."),
    "outputs[].loss": ("dict", "Its loss."),
    "outputs[].loss.name": ("str", "The loss's snake_case name."),
    "outputs[].loss.class_name": ("str", "See `loss.class_name`."),
    "outputs[].loss.from_logits": ("bool", "See `loss.from_logits` (always false)."),
    "outputs[].weight": ("str", "Its loss weight as a Python literal, e.g. `0.5`."),
    "outputs[].metrics": ("list[dict]", "Its metrics, as `metrics`."),
    "outputs[].metrics[].name": ("str", "The metric's log key (after `NAME_`)."),
    "outputs[].metrics[].class_name": ("str", "See `metrics[].class_name`."),
    "outputs[].metrics[].arguments": (
        "list[list[bool | float | int | list[int] | str]]",
        "See `metrics[].arguments`.",
    ),
    "outputs[].layers": (
        "list[dict]",
        "Its head: Dense (and UnitNormalization; in a project, `target_scaling`).",
    ),
    "outputs[].layers[].attribute": (
        "str",
        "Attribute name of the layer in a subclassed model (`NAME_head`, ...).",
    ),
    "outputs[].layers[].kind": (
        "str",
        "`head`, `normalize` or `target_scaling`; see `layers[].kind`.",
    ),
    "outputs[].layers[].name": ("str", "See `layers[].name`."),
    "outputs[].layers[].scaled": ("str", "See `layers[].scaled`."),
    "outputs[].layers[].units": ("str", "See `layers[].units`."),
    "outputs[].layers[].activation": ("str", "See `layers[].activation`."),
    "outputs[].layers[].training": ("bool", "Always false (see `layers[].training`)."),
    "outputs[].projection_seed": (
        "int",
        "Seed of the fixed projection `make_dataset` derives its targets from.",
    ),
    "optimizer": ("dict", "The optimizer."),
    "optimizer.name": (
        "str",
        "Its Keras class name, e.g. `Adam`, or `optax:NAME` (`--optimizer optax:NAME`).",
    ),
    "optimizer.optax": (
        "str",
        (
            "The optax optimizer's name (`--optimizer optax:NAME`), e.g. `adamw`, else "
            "empty: the code defines `OptaxOptimizer` and `optax_transformation` "
            "(`partials/optax_optimizer.py.jinja`) and imports optax."
        ),
    ),
    "optimizer.learning_rate": (
        "str",
        "The learning rate as a Python literal, e.g. `0.001`.",
    ),
    "dependencies": (
        "list[str]",
        (
            "A generated project's runtime requirements (keras, jax, jaxlib, and optax "
            "for an optax optimizer), with this tool's tested version ranges, e.g. "
            "`keras>=3.15,<4`."
        ),
    ),
    "dev_dependencies": (
        "list[str]",
        (
            "A generated project's dev extra: pytest, ruff, and what the recipe's "
            "proof needs besides the dependencies (its `test_requirements`, e.g. "
            "optax), with this tool's tested version ranges."
        ),
    ),
    "answers_file": (
        "str",
        "Where a project records its answers (`.keras-jax-scaffold.json`).",
    ),
    "custom_templates": (
        "list[str]",
        (
            "The user templates taken, as `DIRECTORY_NAME/TEMPLATE` (in the order "
            "of the template directories); printed in the generated headers. Empty "
            "with the built-ins only."
        ),
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
        (
            "Its steps: `partials/steps.py.jinja`, or its `recipes/NAME/steps.py.jinja` "
            "(which extends it)."
        ),
    ),
    "recipe.model_template": (
        "str",
        (
            "The partial whose `model_class` macro writes the model class: "
            "`partials/model_MODEL_TYPE.py.jinja`, or a multi-network recipe's "
            "`recipes/NAME/model.py.jinja` (same macro arguments; imported with "
            "context)."
        ),
    ),
    "recipe.build_template": (
        "str",
        (
            "The partial whose `build_model` macro writes `build_model`: "
            "`partials/build_MODEL_TYPE.py.jinja`, or a multi-network recipe's "
            "`recipes/NAME/build.py.jinja` (its networks too; same macro arguments; "
            "imported with context)."
        ),
    ),
    "recipe.compile_template": (
        "str",
        (
            "The template of `compile_model`: `partials/compile_model.py.jinja`, or "
            "the recipe's `compile.py.jinja` extending it (custom-trackers: the "
            "optimizer only; gan: one optimizer per network)."
        ),
    ),
    "recipe.data_template": (
        "str",
        (
            "The partial with `make_dataset`: `partials/data.py.jinja` (`(x, y)` "
            "pairs), or `partials/samples/data.py.jinja` (samples, no targets: gan, "
            "vae)."
        ),
    ),
    "recipe.arrays_template": (
        "str",
        (
            "The macros saying what a project's data file holds, for its data.py, "
            "README and tests/test_smoke.py: `partials/arrays.py.jinja` (`x`, `y`, "
            "`sample_weight`) or `partials/samples/arrays.py.jinja` (`x` only)."
        ),
    ),
    "recipe.helper_templates": (
        "list[str]",
        (
            "Partials rendered before the model class: "
            "`partials/networks/MODEL_TYPE.py.jinja` (`build_network`) for the "
            "multi-network recipes, else none."
        ),
    ),
    "recipe.files": (
        "list[list[str]]",
        (
            "`[layout template, the recipe's template]` pairs: a file of the layout "
            "the recipe writes with its own template, which extends the layout's. The "
            "first is always `project/tests/test_parity.py.jinja` with the recipe's "
            "proof (`recipes/NAME/proof.py.jinja`)."
        ),
    ),
    "recipe.logs": ("list[str]", "What it logs besides the loss and the metrics."),
    "recipe.settings": ("list[dict]", "Its settings, in order (may be empty)."),
    "recipe.settings[].name": (
        "str",
        "The setting's name: the answer and the steps' class attribute.",
    ),
    "recipe.settings[].flag": ("str", "Its command-line option, e.g. `--clip-norm`."),
    "recipe.settings[].value": (
        "float | int | str",
        "Its value (macro `literal` writes a number, `string` a path).",
    ),
    "recipe.settings[].help": ("str", "One line on what it means."),
    "recipe.class_attributes": (
        "list[dict]",
        (
            "The numeric settings (same keys as `recipe.settings`), rendered as class "
            "attributes of the steps (`self.clip_norm`); a path setting is not one."
        ),
    ),
    "recipe.class_attributes[].name": ("str", "As in `recipe.settings`."),
    "recipe.class_attributes[].flag": ("str", "As in `recipe.settings`."),
    "recipe.class_attributes[].value": ("float | int", "As in `recipe.settings`."),
    "recipe.class_attributes[].help": ("str", "As in `recipe.settings`."),
    "recipe.setting_values": (
        "dict",
        "Its settings' values by name, e.g. `recipe.setting_values.teacher`.",
    ),
    "recipe.networks": (
        "list[str]",
        (
            "The networks its model holds, e.g. `generator`, `discriminator` (empty for "
            "one-network recipes)."
        ),
    ),
    "recipe.own_loss": (
        "str",
        (
            "What the recipe's own loss is when it takes no `--loss` (wgan-gp: \"the "
            'Wasserstein loss and the gradient penalty"), else "".'
        ),
    ),
    "recipe.imports": ("list[str]", "Standard-library modules its partials import."),
    "recipe.log_keys": ("list[str]", "Every key `fit` logs besides compiled metrics."),
    "recipe.train_only_logs": (
        "list[str]",
        (
            "Those of `recipe.logs` that `evaluate` does not log (clip-gradients' "
            "`grad_norm`): the project's tests expect no `val_` twin."
        ),
    ),
    "recipe.loss_logs": (
        "list[str]",
        (
            "The losses `fit` logs (`loss`; the gan's `d_loss`, `g_loss`): the project's "
            "`train` stops when one is not finite."
        ),
    ),
    "recipe.context": (
        "dict",
        (
            "The recipe's own data for its templates (its `recipe.json`'s `context`, "
            "with `context_by_loss` for the chosen loss), e.g. the vae's "
            "`decoder_activation` and `unit_samples`; empty for most."
        ),
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


# Keys whose contents the user (or the recipe) chooses: documented as a whole, not key
# by key, with their type.
OPAQUE_CONTEXT_KEYS = {
    "vars": "dict[str, str]",
    "recipe.context": "dict",
    "recipe.setting_values": "dict",
}


# Short, working examples of the three ways to customise (tests render each one).
OVERRIDE_EXAMPLES = (
    (
        "One block",
        (
            "Extend the built-in file and replace one block; everything else stays "
            "built-in. Here the gradients are scaled down before the optimizer applies "
            "them. The block sits inside `train_step`; write its lines flush-left, they "
            "are indented to fit there."
        ),
        "partials/steps.py.jinja",
        (
            '{% extends "builtin/partials/steps.py.jinja" %}\n'
            "{% block transform_gradients %}\n"
            "grads = [g * {{ vars.grad_scale }} for g in grads]\n"
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

# The errors a custom template can meet, with a message as printed.
ERROR_DOCS = (
    (
        "template syntax error",
        "`FILE:LINE: message`, e.g. `my-templates/module.py.jinja:3: unexpected '}'`",
    ),
    (
        "undefined variable",
        (
            "`FILE:LINE: message`, e.g. `my-templates/partials/steps.py.jinja:3: "
            "'no_such_name' is undefined`"
        ),
    ),
    (
        "unknown template in `extends`, `include` or `import`",
        (
            "`FILE:LINE: template 'partials/stpes.py.jinja' not found (did you mean "
            "'partials/steps.py.jinja'?)`"
        ),
    ),
    (
        "rendered file is not valid Python",
        (
            "`FILE:LINE: rendered NAME.py is not valid Python (line N: ...)` naming the "
            "template line that printed the offending line (your template's, when one "
            "took part); the offending lines of the rendered file follow below the "
            "message, the bad one marked `>`"
        ),
    ),
    (
        "a required name is gone",
        (
            "`FILE: rendered NAME.py no longer defines build_model (needed: CLASS, "
            "build_model, make_dataset)`, naming your template"
        ),
    ),
    (
        "a block the extended template does not define",
        (
            "`FILE:LINE: block 'extra_losss' is not a block of "
            "'builtin/partials/steps.py.jinja', so it would change nothing (did you "
            "mean 'extra_loss'?)`"
        ),
    ),
    (
        "a template file no template of this layout loads",
        (
            "`FILE: 'partials/stpes.py.jinja' matches no template and no template "
            "includes it, so it would change nothing (did you mean "
            "'partials/steps.py.jinja'?)`; for a built-in name the layout does not "
            "use: `... is not used when rendering a project (`new --project`), so this "
            "override would change nothing; it uses "
            "'project/src/package/model.py.jinja' instead`"
        ),
    ),
    (
        "a `--var` no template reads",
        (
            "`--var grad_scael=0.5 is not read by any template (did you mean "
            "'grad_scale'?); ...`"
        ),
    ),
    (
        "a `vars.KEY` no `--var` gives",
        "`FILE:LINE: vars.grad_scale is not given: pass --var grad_scale=VALUE ...`",
    ),
    (
        "Python internals (sandbox)",
        (
            "`FILE:LINE: access to attribute '__init__' of 'TemplateReference' "
            "object is unsafe. (templates render in Jinja's sandbox)`"
        ),
    ),
    (
        "unknown template name (`templates show/export`)",
        "`unknown template 'steps' (did you mean 'partials/steps.py.jinja'?)`",
    ),
)


def _choices() -> dict[str, list[str]]:
    """The values a context key can take, where the catalog fixes them."""
    tasks = catalog.TASKS.values()
    return {
        "model_type": list(catalog.MODEL_TYPES),
        "task.name": sorted(catalog.TASKS),
        "task.input_kind": sorted({t.input_kind for t in tasks}),
        "task.target": sorted({t.target for t in tasks}),
        "optimizer.name": [name for name, _ in catalog.OPTIMIZERS]
        + ["optax:" + name for name in catalog.OPTAX_OPTIMIZERS],
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
    """``{"task.name": "str", "layers[].kind": "str", ...}`` for a context."""
    result = {}
    for key, value in context.items():
        path = f"{prefix}{key}"
        if path in OPAQUE_CONTEXT_KEYS:
            result[path] = OPAQUE_CONTEXT_KEYS[path]
            continue
        result[path] = type_name(value)
        if isinstance(value, dict):
            result.update(flatten_context(value, f"{path}."))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    result.update(flatten_context(item, f"{path}[]."))
    return result


def template_blocks() -> dict[str, list[str]]:
    """``{template name: [block, ...]}`` for every built-in, in source order."""
    result = {}
    for name in builtin_template_names():
        tree = parse(builtin_source(name), name)
        result[name] = [node.name for node in tree.find_all(jinja2.nodes.Block)]
    return result


def template_macros(name: str) -> list[str]:
    """The public macros of a built-in template, as signatures: ``f(a, b="")``."""
    signatures = []
    for node in parse(builtin_source(name), name).find_all(jinja2.nodes.Macro):
        if node.name.startswith("_"):
            continue
        names = [arg.name for arg in node.args]
        defaults = [repr(d.value).replace("'", '"') for d in node.defaults]
        plain = names[: len(names) - len(defaults)]
        keyword = [f"{n}={d}" for n, d in zip(names[len(plain) :], defaults)]
        signatures.append(f"{node.name}({', '.join([*plain, *keyword])})")
    return signatures


# The answers' own template variables (after type_name, which documents their type).
CONTEXT_DOCS.update(_answer_context_docs())


# What the reference prints for the names a layout fills in from the context.
PLACEHOLDERS = {"module_name": "NAME", "package_name": "PACKAGE", "class_name": "CLASS"}


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


def recipe_rows() -> list[tuple[str, str, str]]:
    """``(recipe, its parts, its files)``: the templates each recipe names instead of
    the shared ones (``MODEL_TYPE`` for the model type), and the files of a layout
    it writes with its own template."""
    from keras_jax_scaffold.recipes import RECIPES, TEMPLATE_ROLES

    rows = []
    for recipe in RECIPES:
        named = recipe.templates.names("MODEL_TYPE")
        parts = [
            f"{role}: `{named[role]}`"
            for role, default in TEMPLATE_ROLES.items()
            if named[role] != default.format(model_type="MODEL_TYPE")
        ]
        parts += [f"helpers: `{name}`" for name in named["helpers"]]
        files = [f"`{layout}` by `{own}`" for layout, own in named["files"]]
        rows.append((f"`{recipe.name}`", "; ".join(parts) or "-", "; ".join(files)))
    return rows


def page_data() -> dict:
    """Everything the page template prints that comes from the code."""
    uses = _uses()
    choices = _choices()
    templates = [
        {
            "name": name,
            "description": description(builtin_source(name)) or "(no description)",
            "uses": uses.get(name, []),
            "blocks": [(f"`{b}`", BLOCK_DOCS.get(b, "UNDOCUMENTED")) for b in found],
            "macros": template_macros(name),
        }
        for name, found in template_blocks().items()
    ]
    context = [
        (
            f"`{key}`",
            f"`{kind}`",
            meaning
            + (
                " One of: " + ", ".join(f"`{v}`" for v in choices[key]) + "."
                if key in choices
                else ""
            ),
        )
        for key, (kind, meaning) in CONTEXT_DOCS.items()
    ]
    examples = [
        {"title": t, "text": x, "path": p, "source": s, "flags": f}
        for t, x, p, s, f in OVERRIDE_EXAMPLES
    ]
    return {
        "builtin_prefix": BUILTIN_PREFIX,
        "local_template_dir": LOCAL_TEMPLATE_DIR,
        "context_version": CONTEXT_VERSION,
        "examples": examples,
        "templates": templates,
        "context": context,
        "errors": ERROR_DOCS,
        "runtime_files": [f"`{name}`" for name in RUNTIME_FILES],
        "recipes": recipe_rows(),
        "template_roles": [
            (f"`{role}`", f"`{default.replace('{model_type}', 'MODEL_TYPE')}`")
            for role, default in TEMPLATE_ROLES.items()
        ],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_reference() -> str:
    """The text of docs/templates.md."""
    return render_page(PAGE_TEMPLATE, page_data(), {"cell": _cell})


def reference_path(root: Path) -> Path:
    return root / "docs" / "templates.md"


def main(argv: list[str]) -> int:
    path = reference_path(ROOT)
    return write_or_check(
        ROOT, path, render_reference(), "gen_template_reference.py", argv
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The answer table: one declarative entry per answer, :data:`ANSWERS`.

Every answer the generator takes (``NAME``, ``--loss``, ``--metric``, ...) is one
:class:`Question` in :data:`ANSWERS`: its name, kind (``kinds.py``: how it is typed,
parsed and stored), how it is validated (``resolve``), its default or default rule (a
function of the answers it ``depends_on``), when it applies (``when``), its prompt,
help and choices. Everything else is derived from the table, with no per-answer code
elsewhere:

* :class:`~keras_jax_scaffold.spec.Answers` (raw answers, ``None`` = not given) and
  :class:`~keras_jax_scaffold.spec.Spec` (the validated answers) have one field per
  entry, in table order (``tests/generator/test_answers.py`` checks it); ``spec.walk`` goes
  through the entries in table order (an entry comes after those it depends on) for
  ``build_spec``, ``update``'s re-derivation and the prompts;
* the Typer options of ``new`` and ``update`` (``cli.answer_command`` builds each
  command's signature from the table);
* the interactive prompts and the ``--no-input`` defaults (``prompts.py``);
* the answers file ``.keras-jax-scaffold.json`` (``project.py``: JSON types, reading,
  checking, writing; it records the answers that apply: ``applies``, else ``when``);
* the "render it again with" command of generated files (``spec.command_line``);
* ``update``'s re-derivation (``spec.rederive``): when an answer's inputs change, an
  answer that no longer validates, or still had its old default, is derived again,
  and the command says which;
* the command-line reference docs/cli.md (``scripts/gen_cli_reference.py`` writes
  its option tables from the entries; ``tests/generator/test_docs.py`` checks them).

Adding an answer is one entry here, a field of that name in ``Answers`` and ``Spec``,
plus its use in templates: an entry with ``context`` (e.g. ``context=float``) is a
template variable of its own name, documented in docs/templates.md with its ``help``;
richer data goes through ``context.py``. For example a setting that only applies to
some recipes, once a ``recipe`` entry exists::

    Question(
        name="clip_norm",
        kind=FLOAT,
        label="clip norm",
        help="Global gradient norm to clip to (recipe clip-gradients).",
        update_help="Change the clip norm.",
        depends_on=("recipe",),
        when=lambda a: a["recipe"] == "clip-gradients",  # asked, on the command line
        default=lambda a: 1.0,
        resolve=lambda value, a: at_least_positive("clip norm", value),
        prompt="Clip norm",
        readme_default="`1.0`",
        context=repr,  # templates print {{ clip_norm }} as Python source
    ),

A choice (``recipe``, ``dtype_policy``) gives ``choices`` (``(value, note)`` pairs, a
function of the answers it depends on) and validates against them with
:func:`~keras_jax_scaffold.values.choose`; an int (``steps_per_execution``) uses
``kind=INT``; a repeatable structured answer (``--output NAME:LOSS[:WEIGHT]``,
``--input NAME:SHAPE``) uses ``kind=LIST`` (raw: a tuple of strings, one per flag or
comma-separated item) and parses each item in ``resolve`` (``io_grammar.py``). An
answer missing from an older answers file takes its default, so give a new entry the
default that reproduces what projects did before it.

Nothing here touches the disk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import catalog, recipes
from .errors import UserError
from .io_grammar import (
    OUTPUT_SYNTAX,
    Input,
    Output,
    OutputMetric,
    parse_input,
    parse_output,
    split_output_metrics,
    vector_task,
)
from .kinds import (
    FLOAT,
    INT,
    LIST,
    MODULE_OR_PROJECT,
    OUTPUT_SPECS,
    PAIRS,
    PATHS,
    SPECS,
    TEXT,
    Kind,
)
from .values import (
    at_least,
    check_learning_rate,
    check_variables,
    choose,
    default_output_units,
    min_num_classes,
    parse_input_shape,
    resolve_loss,
    resolve_metric,
    resolve_model_type,
    resolve_optimizer,
    resolve_task,
    shape_text,
    validate_name,
)

# The mapping of the answers resolved so far, by name (see Question).
Resolved = Mapping[str, Any]


def _always(answers: Resolved) -> bool:
    return True


@dataclass(frozen=True)
class Question:
    """One answer. ``a`` below is the mapping of the answers resolved so far (table
    order: every entry comes after those it ``depends_on``), name -> resolved value."""

    name: str  # attribute of Answers and Spec, key in the answers file
    kind: Kind
    label: str  # in messages: "invalid {label} ...", notes of `update`
    help: str  # --help of `new` (and docs/cli.md's table)
    # Raw answer -> validated value (raise UserError); may read ``a[dependency]``.
    resolve: Callable[[Any, Resolved], Any]
    # The raw default as a function of ``a``; None: required (``missing`` says so).
    default: Callable[[Resolved], Any] | None
    depends_on: tuple[str, ...] = ()
    # Asked, and written on the command line, only when true (else: the default).
    when: Callable[[Resolved], bool] = _always
    # Whether the answer matters to the project, from the answers before it (a
    # project's answers file records it only then; `update` drops a recorded one that
    # does not apply). None: ``when``.
    applies: Callable[[Resolved], bool] | None = None
    prompt: str | None = None  # the question; None: never asked (a flag only)
    # Answers that, given as flags, stand for this one: then it is not asked (it takes
    # its default), e.g. --loss for --output (one unnamed output).
    given_instead: tuple[str, ...] = ()
    # ``(value, note)`` the answer chooses from, a function of ``a``: shown inline
    # (``Task [binary/multilabel]``) or, with ``menu``, as a numbered list. A
    # single-valued question with one choice is not asked; nor is a menu with none.
    choices: Callable[[Resolved], Sequence[tuple[str, str]]] | None = None
    menu: str = ""  # the title above the numbered menu (function of nothing)
    menu_empty: str = ""  # printed instead of a menu without choices ({task} etc.)
    item: str = ""  # what one choice is called ("no metric number 9")
    unparse: Callable[[Any], Any] = lambda value: value  # resolved -> canonical raw
    flag: str = ""  # default: --NAME-WITH-DASHES
    short: str = ""
    argument: bool = False  # a positional argument (NAME) instead of an option
    update_help: str | None = None  # None: `update` cannot change it
    completion: tuple[str, ...] = ()  # shell completion values
    missing: str = ""  # the error when a required answer is missing
    stored: bool = True  # in the answers file's "answers" (else: project.py's own key)
    readme_default: str = ""  # the "default" column of docs/cli.md
    # The template variable named after the answer: a plain value (str, number, bool
    # or a list of them) from the resolved one, e.g. ``context=int``; documented in
    # docs/templates.md with ``help``. None: context.py builds what templates see (the
    # answers below predate this).
    context: Callable[[Any], Any] | None = None

    @property
    def option(self) -> str:
        """The flag (``--loss``) or, for an argument, its metavar (``NAME``)."""
        if self.argument:
            return self.name.upper()
        return self.flag or "--" + self.name.replace("_", "-")

    def default_for(self, a: Resolved) -> Any:
        if self.default is None:
            raise UserError(self.missing or f"missing {self.option}")
        return self.default(a)

    def applies_to(self, a: Resolved) -> bool:
        """Whether the answer matters, given the answers resolved before it."""
        return (self.when if self.applies is None else self.applies)(a)

    def offered(self, a: Resolved) -> Sequence[tuple[str, str]] | None:
        return None if self.choices is None else self.choices(a)

    def asked(self, a: Resolved) -> bool:
        """Whether a prompt asks it, given the answers it depends on."""
        if self.prompt is None or not self.when(a):
            return False
        offered = self.offered(a)
        if offered is None:
            return True
        return len(offered) > (0 if self.kind.repeated else 1)


def _default_model_type(a: Resolved) -> str:
    """functional, when the recipe takes it; else the recipe's first model type."""
    accepted = a["recipe"].model_types
    return "functional" if "functional" in accepted else accepted[0]


def _outputs(a: Resolved) -> tuple[Output, ...]:
    """The named outputs among the resolved answers ``a`` (none when not resolved)."""
    return a.get("outputs") or ()


def _inputs(a: Resolved) -> tuple[Input, ...]:
    return a.get("inputs") or ()


def _no_sequential(a: Resolved, flag: str) -> None:
    if a["model_type"] == "sequential":
        raise UserError(
            f"{flag} with a sequential model: keras.Sequential takes one input and "
            "one output; use --model-type functional or subclassed"
        )


def _named_io(recipe: recipes.Recipe) -> bool:
    """Whether ``recipe`` takes named inputs and outputs (see :func:`_refuse_named`)."""
    return not recipe.networks


def _named_outputs(recipe: recipes.Recipe) -> bool:
    return _named_io(recipe) and recipe.compiles_loss


def _refuse_named(recipe: recipes.Recipe, outputs: bool) -> None:
    """Refuse named inputs (``outputs``: or outputs) that ``recipe`` cannot take."""
    if recipe.networks:
        raise UserError(
            f"recipe {recipe.name!r} with named inputs or outputs: its networks "
            f"({', '.join(recipe.networks)}) take one unnamed input and output; drop "
            "--output/--input or choose another recipe"
        )
    if outputs and not recipe.compiles_loss:
        raise UserError(
            f"recipe {recipe.name!r} with named outputs: the model owns one loss "
            "object for one output (compile gets no loss={...}); drop --output or "
            "choose another recipe"
        )


def _resolve_outputs(values: Sequence[str], a: Resolved) -> tuple[Output, ...]:
    # A sequential model is refused in _resolve_inputs (which knows the model type).
    if values:
        _refuse_named(a["recipe"], outputs=True)
    taken: dict[str, str] = {}
    outputs = tuple(parse_output(text, taken) for text in values)
    for output in outputs:
        recipes.check_loss(a["recipe"], output.loss.snake_name, output.name)
    return outputs


def _resolve_inputs(values: Sequence[str], a: Resolved) -> tuple[Input, ...]:
    if _outputs(a):
        _no_sequential(a, "--output")
    if not values:
        return ()
    _no_sequential(a, "--input")
    _refuse_named(a["recipe"], outputs=False)
    taken = {o.name: "an output" for o in _outputs(a)}
    inputs = tuple(parse_input(text, taken) for text in values)
    if not _outputs(a):
        vector_task(a["loss"], a["task"].name, f"loss {a['loss'].snake_name!r}")
    return inputs


def _recipe_losses(a: Resolved) -> tuple[catalog.Loss, ...]:
    """The losses the recipe trains with, in its order (every loss for most)."""
    accepted = a["recipe"].losses
    if not accepted:
        return catalog.LOSSES
    return tuple(catalog.LOSS_INDEX[name] for name in accepted)


def _loss_choices(a: Resolved) -> list[tuple[str, str]]:
    return [
        (loss.snake_name, "; ".join(filter(None, [", ".join(loss.tasks), loss.notes])))
        for loss in _recipe_losses(a)
    ]


def _default_loss(a: Resolved) -> str:
    """A named output's loss; else the recipe's first loss (the usual one: sparse
    categorical crossentropy when the recipe takes any)."""
    if _outputs(a):
        return _outputs(a)[0].loss.snake_name
    if a["recipe"].losses:
        return a["recipe"].losses[0]
    return "sparse_categorical_crossentropy"


def _recipe_metrics(recipe: recipes.Recipe, task: str) -> list[catalog.Metric]:
    """The metrics that fit ``task`` and that ``recipe`` can work with."""
    if not recipe.takes_metrics:
        return []
    return [
        m
        for m in catalog.compatible_metrics(task)
        if m.snake_name not in recipe.refused_metrics
    ]


def _metric_choices(a: Resolved) -> list[tuple[str, str]]:
    if _outputs(a):
        return [
            (f"{o.name}:{m.snake_name}", m.notes)
            for o in _outputs(a)
            for m in _recipe_metrics(a["recipe"], o.task.name)
        ]
    return [
        (m.snake_name, m.notes) for m in _recipe_metrics(a["recipe"], a["task"].name)
    ]


def _metric_list(
    values: Sequence[str], loss: catalog.Loss, task: catalog.Task
) -> list[catalog.Metric]:
    metrics: list[catalog.Metric] = []
    for value in values:
        metric = resolve_metric(value, loss, task)
        same = [m for m in metrics if m.class_name == metric.class_name]
        if same:
            twice = f" (as {same[0].name!r})" if same[0].name != metric.name else ""
            raise UserError(f"metric {value!r} is given twice{twice}")
        metrics.append(metric)
    return metrics


def _resolve_metrics(
    values: Sequence[str], a: Resolved
) -> tuple[catalog.Metric | OutputMetric, ...]:
    """The metrics; with named outputs, ``OutputMetric``s from ``OUTPUT:METRIC``."""
    if not _outputs(a):
        single = _metric_list(values, a["loss"], a["task"])
        recipes.check_metrics(a["recipe"], [m.snake_name for m in single])
        return tuple(single)
    outputs = {o.name: o for o in _outputs(a)}
    per_output = split_output_metrics(values, list(outputs))
    result: list[OutputMetric] = []
    for name, output in outputs.items():
        try:
            metrics = _metric_list(per_output[name], output.loss, output.task)
        except UserError as error:
            raise UserError(f"output {name!r}: {error}") from None
        result += [OutputMetric(name, metric) for metric in metrics]
    recipes.check_metrics(a["recipe"], [m.metric.snake_name for m in result])
    return tuple(result)


def _usual_metrics(recipe: recipes.Recipe, task: catalog.Task) -> tuple[str, ...]:
    """The task's usual metrics that the recipe works with (none: it takes none)."""
    if not recipe.takes_metrics:
        return ()
    return tuple(m for m in task.default_metrics if m not in recipe.refused_metrics)


def _default_metrics(a: Resolved) -> tuple[str, ...]:
    if not _outputs(a):
        return _usual_metrics(a["recipe"], a["task"])
    return tuple(
        f"{o.name}:{metric}"
        for o in _outputs(a)
        for metric in _usual_metrics(a["recipe"], o.task)
    )


def _head_tasks(a: Resolved) -> list[catalog.Task]:
    """The task of every output: the named ones, or the model's one."""
    return [o.task for o in _outputs(a)] or [a["task"]]


def _all_heads(a: Resolved) -> list[tuple[catalog.Task, catalog.Loss]]:
    """(task, loss) of every output: the named ones, or the model's one."""
    return [(o.task, o.loss) for o in _outputs(a)] or [(a["task"], a["loss"])]


def _min_output_units(a: Resolved) -> tuple[int, catalog.Loss]:
    _, loss = max(_all_heads(a), key=lambda head: head[1].min_output_units)
    return loss.min_output_units, loss


def _resolve_output_units(value: Any, a: Resolved) -> int:
    minimum, loss = _min_output_units(a)
    why = f"for loss {loss.snake_name!r}" if minimum > 1 else ""
    return at_least("output units", value, minimum, why)


def _default_output_units(a: Resolved) -> int:
    return max(default_output_units(task, loss) for task, loss in _all_heads(a))


def _resolve_loss(value: Any, a: Resolved) -> catalog.Loss:
    loss = resolve_loss(value)
    if _outputs(a) and loss != _outputs(a)[0].loss:
        raise UserError(
            f"--loss {value!r} with --output: give each output's loss in --output "
            f"{OUTPUT_SYNTAX}"
        )
    recipes.check_loss(a["recipe"], loss.snake_name)
    return loss


def _asks_loss(a: Resolved) -> bool:
    """Whether --loss and --task apply: not beside named outputs, nor for a recipe
    with its own loss."""
    return not _outputs(a) and not a["recipe"].own_loss


def _resolve_task(value: Any, a: Resolved) -> catalog.Task:
    if _outputs(a) and value != _outputs(a)[0].task.name:
        raise UserError(
            f"--task {value!r} with --output: give each output's task in --output "
            f"{OUTPUT_SYNTAX}"
        )
    task = resolve_task(a["loss"], value)
    if a["recipe"].own_loss and task.name != a["loss"].tasks[0]:
        raise UserError(
            f"recipe {a['recipe'].name!r} has its own loss ({a['recipe'].own_loss}) "
            "and takes no --task: drop it"
        )
    return task


def _learning_rate(value: Any, a: Resolved) -> float:
    return float(check_learning_rate(value))


def _setting_question(owners: tuple[str, ...], setting: recipes.Setting) -> Question:
    """The entry of one setting of the recipes ``owners``: asked only for them."""

    def resolve(value: Any, a: Resolved) -> int | float | str:
        return recipes.check_setting(setting, owners, value, a["recipe"], a)

    def when(a: Resolved) -> bool:
        return a["recipe"].name in owners and recipes.setting_applies(setting, a)

    return Question(
        name=setting.name,
        kind={int: INT, float: FLOAT, str: TEXT}[setting.type],
        label=setting.flag,
        flag=setting.flag,
        help=f"{setting.help[:1].upper()}{setting.help[1:]}. "
        f"Default: {setting.default!r}.",
        update_help=f"Change {setting.flag} (recipe {', '.join(owners)}).",
        depends_on=("recipe", *setting.requires[:1])
        if setting.requires
        else ("recipe",),
        when=when,
        resolve=resolve,
        default=lambda a: setting.default,
        prompt=f"{setting.flag} ({setting.help})",
        choices=(lambda a: [(c, "") for c in setting.choices])
        if setting.choices
        else None,
        completion=setting.choices,
        readme_default=f"`{setting.default}`"
        if setting.choices
        else f"`{setting.default!r}`",
    )


# The Keras dtype policies `--dtype-policy` chooses from.
DTYPE_POLICIES = (
    ("float32", "float32 compute and variables"),
    ("mixed_float16", "float16 compute, float32 variables, loss scaling"),
    ("mixed_bfloat16", "bfloat16 compute, float32 variables"),
)


ANSWERS: tuple[Question, ...] = (
    Question(
        name="name",
        kind=TEXT,
        label="name",
        argument=True,
        help="Module name (a Python identifier); writes NAME.py.",
        resolve=lambda value, a: validate_name(value),
        default=None,
        missing="missing NAME: give the module name, e.g. `new my_model`",
        prompt="Module name (a Python identifier)",
        readme_default="asked",
    ),
    Question(
        name="project",
        kind=MODULE_OR_PROJECT,
        label="module or project",
        help="Write an installable project NAME/ (package, `NAME-train` with "
        "--data/--test-data and the run's files, tests, `update`) instead of the "
        "module NAME.py; --no-project: the module. Default: the module (asked "
        "interactively).",
        resolve=lambda value, a: bool(value),
        default=lambda a: False,
        # Not recorded in a project's answers file: an answers file is a
        # project's (`project.read_answers`).
        applies=lambda a: False,
        prompt="Write a module (NAME.py) or an installable project (NAME/)",
        choices=lambda a: [
            ("module", "one file: the model, its steps, a demo"),
            ("project", "a package: train on your data files, tests, update"),
        ],
        readme_default="off (asked)",
    ),
    Question(
        name="recipe",
        kind=TEXT,
        label="recipe",
        help="The training algorithm in the steps: "
        + "; ".join(f"{r.name}: {r.summary}" for r in recipes.RECIPES)
        + ". Default: default. See `recipes`.",
        update_help="Switch to another recipe (see `recipes`); the old recipe's "
        "settings are dropped, the new one's take their defaults unless given.",
        # The first answer after the name: the model type, named inputs and outputs,
        # loss and metrics are checked against it, and their defaults follow it (a
        # recipe that takes some losses or model types only: its first one).
        resolve=lambda value, a: recipes.resolve_recipe(value),
        unparse=lambda recipe: recipe.name,
        default=lambda a: recipes.DEFAULT_RECIPE,
        prompt="Recipe (see `keras-jax-scaffold recipes`)",
        choices=lambda a: [(r.name, r.summary) for r in recipes.RECIPES],
        completion=tuple(recipes.RECIPE_INDEX),
        readme_default="`default`",
    ),
    # One entry per recipe setting; recipes.py holds their flags, types and checks.
    *(_setting_question(owners, setting) for owners, setting in recipes.SETTING_OWNERS),
    Question(
        name="model_type",
        kind=TEXT,
        label="model type",
        help="sequential, functional or subclassed (the recipes with several "
        "networks: functional or subclassed). Default: functional.",
        update_help="Change the model type (sequential, functional, subclassed).",
        depends_on=("recipe",),
        resolve=lambda value, a: recipes.check_model_type(
            a["recipe"], resolve_model_type(value)
        ),
        default=_default_model_type,
        prompt="Model type",
        choices=lambda a: [(t, "") for t in a["recipe"].model_types],
        completion=catalog.MODEL_TYPES,
        readme_default="`functional`",
    ),
    Question(
        name="outputs",
        kind=OUTPUT_SPECS,
        label="outputs",
        flag="--output",
        item="output",
        help="A named output NAME:LOSS[@TASK][:WEIGHT] (repeat the flag for several), "
        "e.g. box:mse:0.5 or tags:bce@multilabel: a head per output on the shared "
        "hidden layer, compiled with loss={...} and loss_weights={...} (WEIGHT, "
        "default 1); @TASK for a loss that fits several (default: its first vector "
        "task). Metrics per output: --metric NAME:METRIC. Replaces --loss/--task. "
        "Default: one unnamed output.",
        update_help="Replace the named outputs (repeatable; 'none' for one unnamed "
        "output). Recorded metrics that no longer fit are derived again.",
        depends_on=("model_type", "recipe"),
        resolve=_resolve_outputs,
        unparse=lambda outputs: tuple(o.text for o in outputs),
        default=lambda a: (),
        # Asked for the model types and recipes that take named outputs (the command
        # line writes the flag only for named outputs: none gives no argument).
        when=lambda a: a["model_type"] != "sequential" and _named_outputs(a["recipe"]),
        prompt="Outputs (NAME:LOSS[@TASK][:WEIGHT], comma-separated; 'none' for one "
        "unnamed output)",
        given_instead=("loss", "task"),
        readme_default="one unnamed output",
    ),
    Question(
        name="loss",
        kind=TEXT,
        label="loss",
        help="A Keras loss: class name, snake_case name or alias (mse, mae, ...). "
        "Default: sparse_categorical_crossentropy, or the recipe's first loss for a "
        "recipe that takes some only (gan: binary_crossentropy, vae: "
        "mean_squared_error). See `losses`.",
        update_help="Change the loss. Recorded answers that depend on it (task, "
        "metrics, input shape, classes, output units) are derived again unless given "
        "when they no longer fit or still had the old default; each is reported as a "
        "note.",
        depends_on=("outputs", "recipe"),
        when=_asks_loss,
        resolve=_resolve_loss,
        unparse=lambda loss: loss.snake_name,
        default=_default_loss,
        prompt="Loss (a number or a name)",
        choices=_loss_choices,
        menu="Losses (name, tasks; see `keras-jax-scaffold losses`):",
        item="loss",
        completion=tuple(loss.snake_name for loss in catalog.LOSSES),
        readme_default="`sparse_categorical_crossentropy`; the recipe's first loss "
        "for a recipe that takes some only",
    ),
    Question(
        name="task",
        kind=TEXT,
        label="task",
        help="The task, for losses that fit several (e.g. binary or multilabel). "
        "Default: the loss's first task.",
        update_help="Change the task (it must fit the loss). Recorded metrics, input "
        "shape, classes and output units are derived again as for --loss.",
        depends_on=("loss", "outputs", "recipe"),
        when=_asks_loss,
        resolve=_resolve_task,
        unparse=lambda task: task.name,
        default=lambda a: (
            _outputs(a)[0].task.name if _outputs(a) else a["loss"].tasks[0]
        ),
        prompt="Task",
        choices=lambda a: [(t, "") for t in a["loss"].tasks],
        completion=tuple(catalog.TASKS),
        readme_default="the loss's first task",
    ),
    Question(
        name="metrics",
        kind=LIST,
        label="metrics",
        item="metric",
        flag="--metric",
        short="-m",
        help="A Keras metric; repeat or comma-separate for several, 'none' for no "
        "metric. 'accuracy'/'acc' and 'crossentropy'/'ce' resolve by the output's "
        "shape as in Keras's compile; a metric logs under the name given. With "
        "--output: OUTPUT:METRIC. Default: the task's usual metric (none for a "
        "recipe that takes no metrics). See `metrics`.",
        update_help="Replace the metrics; repeat or comma-separate, 'none' for no "
        "metric.",
        depends_on=("loss", "task", "outputs", "recipe"),
        # Asked (and recorded) for the recipes that take metrics (gan logs its own
        # losses only); given to another, it is refused unless 'none'.
        when=lambda a: a["recipe"].takes_metrics,
        resolve=_resolve_metrics,
        unparse=lambda metrics: tuple(m.name for m in metrics),
        default=_default_metrics,
        prompt="Metrics (numbers or names, comma-separated; 'none' for no metric)",
        choices=_metric_choices,
        menu="Metrics that fit {loss} ({task}):",
        menu_empty="No built-in metric fits {task}; the model logs its loss only.",
        completion=tuple(m.snake_name for m in catalog.METRICS),
        readme_default="the task's usual metric (none for a recipe without metrics)",
    ),
    Question(
        name="optimizer",
        kind=TEXT,
        label="optimizer",
        help="A Keras optimizer (adam, adamw, sgd, ...) or an optax one, "
        "optax:NAME (optax:adamw, optax:lion, optax:adafactor, ...: the generated "
        "code then needs optax; see docs/optimizers.md). Default: adam.",
        update_help="Change the optimizer (a Keras one, or optax:NAME).",
        resolve=lambda value, a: resolve_optimizer(value),
        unparse=str.lower,
        default=lambda a: "adam",
        prompt="Optimizer (a Keras one, or optax:NAME)",
        completion=tuple(snake for _, snake in catalog.OPTIMIZERS)
        + tuple(catalog.OPTAX_PREFIX + name for name in catalog.OPTAX_OPTIMIZERS),
        readme_default="`adam`",
    ),
    Question(
        name="learning_rate",
        kind=FLOAT,
        label="learning rate",
        help="Learning rate. Default: 0.001.",
        update_help="Change the learning rate.",
        resolve=_learning_rate,
        default=lambda a: 1e-3,
        prompt="Learning rate",
        readme_default="`0.001`",
    ),
    Question(
        name="inputs",
        kind=SPECS,
        label="inputs",
        flag="--input",
        item="input",
        help="A named input NAME:SHAPE (repeat the flag for several), e.g. image:8,8,3: "
        "each is flattened and they are concatenated before the hidden layer; "
        "make_dataset gives x as a dict. Replaces --input-shape. Default: one "
        "unnamed input.",
        update_help="Replace the named inputs (repeatable; 'none' for one unnamed "
        "input).",
        depends_on=("model_type", "recipe", "outputs", "loss", "task"),
        resolve=_resolve_inputs,
        unparse=lambda inputs: tuple(i.text for i in inputs),
        default=lambda a: (),
        # Asked where named inputs fit: not sequential, vector inputs (the heads of
        # named outputs always sit on one vector).
        when=lambda a: (
            a["model_type"] != "sequential"
            and _named_io(a["recipe"])
            and (bool(_outputs(a)) or a["task"].input_kind == "vector")
        ),
        prompt="Inputs (NAME:SHAPE, space-separated, e.g. image:8,8,3; 'none' for one "
        "unnamed input)",
        given_instead=("input_shape",),
        readme_default="one unnamed input",
    ),
    Question(
        name="input_shape",
        kind=TEXT,
        label="input shape",
        help="Input shape without the batch axis, e.g. 16 or 8,8,3. "
        "Default: 16 (vectors), 8,8,3 (images), 12,8 (sequences).",
        update_help="Change the input shape, e.g. 16 or 8,8,3.",
        depends_on=("task", "inputs"),
        when=lambda a: not _inputs(a),
        resolve=lambda value, a: parse_input_shape(value, a["task"]),
        unparse=shape_text,
        default=lambda a: shape_text(catalog.INPUT_SHAPES[a["task"].input_kind]),
        prompt="Input shape ({task.input_kind})",
        readme_default="by task: `16`, `8,8,3` (segmentation), `12,8` (CTC)",
    ),
    Question(
        name="num_classes",
        kind=INT,
        label="number of classes",
        help="Number of classes. Default: 3.",
        update_help="Change the number of classes.",
        depends_on=("task", "outputs"),
        when=lambda a: any(task.uses_num_classes for task in _head_tasks(a)),
        resolve=lambda value, a: at_least(
            "number of classes",
            value,
            max(min_num_classes(task) for task in _head_tasks(a)),
        ),
        default=lambda a: 3,
        prompt="Number of classes",
        readme_default="`3`",
    ),
    Question(
        name="output_units",
        kind=INT,
        label="output units",
        help="Output units for regression / embeddings. Default: 1 / 8.",
        update_help="Change the output units.",
        depends_on=("task", "loss", "outputs"),
        when=lambda a: (
            not a["recipe"].own_loss
            and any(task.head_units == "output_units" for task in _head_tasks(a))
        ),
        resolve=_resolve_output_units,
        default=_default_output_units,
        prompt="Output units",
        readme_default="`1` / `8`",
    ),
    Question(
        name="hidden_units",
        kind=INT,
        label="hidden units",
        help="Units of the hidden layer. Default: 32.",
        update_help="Change the hidden layer's units.",
        resolve=lambda value, a: at_least("hidden units", value),
        default=lambda a: 32,
        prompt="Hidden units",
        readme_default="`32`",
    ),
    Question(
        name="dtype_policy",
        kind=TEXT,
        label="dtype policy",
        help="The Keras dtype policy: float32; mixed_float16 (float16 compute, "
        "float32 variables, loss scaling) or mixed_bfloat16 (bfloat16 compute, "
        "float32 variables): the module's build_model builds the model under it, a "
        "project's train uses it as the --dtype-policy default. Default: float32 "
        "(the model follows Keras's global policy).",
        update_help="Change the dtype policy (float32, mixed_float16, mixed_bfloat16).",
        resolve=lambda value, a: choose("dtype policy", value, DTYPE_POLICIES),
        default=lambda a: "float32",
        # Written on the command line only when not float32: the generated files
        # of older answers (float32) stay the same. A flag only (not asked). It
        # always applies: recorded even as float32, so that a later default never
        # changes a project.
        when=lambda a: a.get("dtype_policy", "float32") != "float32",
        applies=_always,
        choices=lambda a: DTYPE_POLICIES,
        completion=tuple(policy for policy, _ in DTYPE_POLICIES),
        readme_default="`float32`",
        context=str,
    ),
    Question(
        name="variables",
        kind=PAIRS,
        label="template variables",
        flag="--var",
        help="KEY=VALUE for custom templates, which read it as {{ vars.KEY }} "
        "(repeatable).",
        update_help="KEY=VALUE for custom templates (repeatable); merged over the "
        "recorded variables key by key.",
        resolve=lambda value, a: check_variables(value),
        default=lambda a: (),
        readme_default="none",
    ),
    Question(
        name="template_dirs",
        kind=PATHS,
        label="template directories",
        flag="--template-dir",
        short="-t",
        help="A directory of templates that override the built-ins file by file "
        "(repeatable; the first that has a template wins). A "
        ".keras-jax-scaffold/templates directory in the output directory or a parent "
        "is used too. See `templates`.",
        update_help="Template directories replacing the recorded ones (repeatable; "
        "the first that has a template wins).",
        resolve=lambda value, a: tuple(Path(d).as_posix() for d in value),
        default=lambda a: (),
        # Recorded at the top level of the answers file, relative to the project.
        stored=False,
        readme_default="none",
    ),
)
ANSWER_INDEX = {question.name: question for question in ANSWERS}

"""The training recipes of ``new NAME --recipe R``: the registry, read from the recipes'
directories.

A recipe is a training algorithm written into the generated steps. Each lives in one
directory of the templates, ``templates/recipes/NAME/`` (NAME is its ``--recipe``
name), which holds everything about it: ``recipe.json`` (its description: data only)
and its templates. This module reads the directories into :data:`RECIPES`, from which
everything the rest of the tool knows about recipes follows: the ``--recipe`` choices
and their settings (``answer_table.ANSWERS`` makes the ``recipe`` answer and one answer
per setting from this registry, with ``when`` = the setting's recipe: flags, prompts,
validation, help, answers file, `update`), the ``recipes`` listing, the table of
docs/recipes.md (checked by a test) and the template context (:func:`recipe_context`). There is no
per-recipe Python anywhere: shared code and shared templates ask the recipe's data,
never its name.

How to add a recipe
-------------------
Make a directory ``templates/recipes/NAME/`` with:

``recipe.json`` (required)
    Its description, plain data. Keys (only ``summary``, ``order`` and
    ``templates.proof`` are required; see :data:`DESCRIPTION_KEYS`):

    - ``summary``: one line for ``recipes``, ``--help`` and docs/recipes.md's table;
    - ``order``: its place in listings (the numbers of the others: 0, 10, ...);
    - ``settings``: its command-line settings, each ``{"name", "flag", "type"
      ("int", "float" or "path"), "default", "minimum", "minimum_inclusive"
      (default true), "maximum" (optional), "help"}``; a numeric setting becomes a
      class attribute of the steps (``self.clip_norm``), every setting is in
      ``recipe.setting_values`` (by name) for its templates. A setting is an answer of its
      own: add a field of that name to ``spec.Answers`` and ``spec.Spec`` (the type
      checker reads them; ``tests/generator/test_answers.py`` says which);
    - ``logs`` (what ``fit`` logs besides the loss and compiled metrics),
      ``train_only_logs`` (those of ``logs`` that ``evaluate`` does not log: a
      training value such as a gradient norm), ``loss_logs`` (the logged losses a
      project's NaN stop watches; default ``["loss"]``);
    - what it accepts: ``model_types`` (+ ``model_types_reason``), ``losses`` (snake
      names; none = any), ``takes_metrics``, ``refused_metrics``, ``networks`` (the
      networks its model holds; they take one unnamed input and output);
    - ``logits`` (the loss takes logits), ``compiles_loss`` (false: ``compile()``
      gets the optimizer only, so no named outputs), ``imports`` (standard-library
      modules its templates use);
    - ``own_loss``: what its own loss is, for a recipe that takes no ``--loss``
      (wgan-gp); ``losses`` then holds the one loss whose task its data follows,
      never asked, and ``--loss``/``--task`` are refused;
    - ``test_requirements``: packages its project's tests need besides the
      project's dependencies (the dev extra lists them, e.g. ``["optax"]``);
    - ``context``: data of its own for its templates (``recipe.context``), and
      ``context_by_loss``: what changes with the ``--loss`` (by snake name);
    - ``templates``: which template plays each part (:data:`TEMPLATE_ROLES`, each
      with a shared default), ``proof`` required;
    - ``files``: files of a layout it writes with its own template, ``{"layout
      template": "its template"}``; its template ``{% extends %}`` the layout's and
      overrides blocks (the multi-network recipes' tests, in
      ``partials/networks/``).

    A template name without ``/`` is a file of this directory; others are shared
    templates (``{model_type}`` is filled in).

``steps.py.jinja``
    Its train/test/predict steps: ``{% extends "partials/steps.py.jinja" %}`` and
    override only the blocks its algorithm changes (``forward``, ``compute_loss``,
    ``compute_gradients``, ``transform_batch``, ``transform_gradients``,
    ``after_update``, ``evaluation_weights``, ``extra_methods``, ``init_state``, ...;
    a recipe whose train step is another algorithm altogether, like ``gan``,
    overrides ``train_body`` and ``test_body``). State created with the model
    (trackers, loss objects) goes in ``init_state``. Without one: the default steps.

``proof.py.jinja``
    Its proof: a project's ``tests/test_parity.py``. It ``{% extends
    "project/tests/test_parity.py.jinja" %}`` and fills the block ``proof`` with
    ``run_mine_and_oracle`` (the recipe and its Keras oracle, used by
    ``tests/test_data_parallel.py`` too) and the tests comparing them, with a
    negative control where the oracle could be met by accident. The frame gives the
    built-in twin, ``build_with``, ``fit_and_evaluate`` and ``assert_same``. A
    recipe with several networks extends ``partials/networks/test_parity.py.jinja``
    instead and brings its own helpers: its ``run_mine_and_oracle(cls,
    data_parallel)`` and ``assert_matches`` are what
    ``partials/networks/test_data_parallel.py.jinja`` runs.

``model.py.jinja``, ``build.py.jinja``, ``compile.py.jinja`` (optional)
    A model class of its own (macro ``model_class``), networks and ``build_model``
    (macro ``build_model``), with the arguments of the model types' macros; a
    ``compile_model`` of its own, extending ``partials/compile_model.py.jinja``.

Then prove it in ``tests/`` against a Keras oracle, with a negative control
(``tests/generated/test_recipes.py``, ``test_multi_network_recipes.py``), add its
row to the recipe table of docs/recipes.md and regenerate docs/cli.md. Nothing else changes: no shared template and no
Python module names a recipe (a test checks it). ``docs/adding-a-recipe.md`` says the
same at more length. Templates receive only plain data (:func:`recipe_context`);
nothing here imports keras.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import catalog
from .errors import UserError, unknown
from .template_set import builtin_template_dir

MODEL_TYPES = ("sequential", "functional", "subclassed")
# Where the recipes' directories are, among the templates.
RECIPES_DIR = "recipes"
DESCRIPTION_FILE = "recipe.json"
# The parts a recipe's templates play, with the shared template of each (the
# templates choose them by these context keys: ``recipe.template``, ...).
TEMPLATE_ROLES = {
    # The steps (a partial extending partials/steps.py.jinja).
    "steps": "partials/steps.py.jinja",
    # Macro `model_class`: the model class up to its steps.
    "model": "partials/model_{model_type}.py.jinja",
    # Macro `build_model`: the networks and `build_model`.
    "build": "partials/build_{model_type}.py.jinja",
    # `compile_model` (blocks to extend).
    "compile": "partials/compile_model.py.jinja",
    # `make_dataset`: (x, y) pairs, or samples of x (partials/samples/data.py.jinja).
    "data": "partials/data.py.jinja",
    # Macros saying what a data file holds (for a project's data.py, README, tests).
    "arrays": "partials/arrays.py.jinja",
}
# The layout template a recipe's proof stands in for.
PROOF_FILE = "project/tests/test_parity.py.jinja"
DESCRIPTION_KEYS = (
    "summary",
    "order",
    "settings",
    "logs",
    "train_only_logs",
    "loss_logs",
    "model_types",
    "model_types_reason",
    "networks",
    "losses",
    "takes_metrics",
    "refused_metrics",
    "refused_metrics_reason",
    "losses_reason",
    "named_output_losses",
    "named_output_reason",
    "logits",
    "compiles_loss",
    "imports",
    "context",
    "context_by_loss",
    "own_loss",
    "test_requirements",
    "templates",
    "files",
)
SETTING_KEYS = (
    "name",
    "flag",
    "type",
    "default",
    "minimum",
    "minimum_inclusive",
    "maximum",
    "help",
    "choices",
    "requires",
)
# "choice": one of the setting's "choices" (a str, like a path).
SETTING_TYPES: dict[str, type] = {
    "int": int,
    "float": float,
    "path": str,
    "choice": str,
}


@dataclass(frozen=True)
class Setting:
    """One setting of a recipe: an answer ``name``, given as ``flag``."""

    name: str  # the answer's key in the answers file and the class attribute
    flag: str  # the command-line option, e.g. "--clip-norm"
    type: type  # int, float or str (a path)
    default: int | float | str
    minimum: int | float | None  # the smallest valid value (None for str)
    minimum_inclusive: bool
    help: str
    maximum: int | float | None = None  # the largest valid value (inclusive)
    # A str setting that names one of these (``--attack fgsm|pgd``), not a path.
    choices: tuple[str, ...] = ()
    # ``(setting, value)``: the setting only applies when that other setting of its
    # recipe has that value (``--attack-steps`` with ``--attack pgd``); otherwise it
    # keeps its default.
    requires: tuple[str, str] | None = None

    def check(self, value: Any, typed: str | None = None) -> int | float | str:
        """``value`` converted and validated; UserError naming it otherwise."""
        shown = repr(typed) if typed is not None else repr(value)
        if self.choices:
            return self._check_choice(value, shown)
        if self.type is str:
            return self._check_path(value, shown)
        assert self.minimum is not None  # every number setting has one
        converted: int | float
        try:
            if isinstance(value, bool):
                raise ValueError  # noqa: TRY004 (caught below: the one-line error)
            if self.type is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                converted = int(value)
            else:
                converted = float(value)
        except (TypeError, ValueError):
            kind = "an integer" if self.type is int else "a number"
            raise UserError(f"invalid {self.flag} {shown}: give {kind}") from None
        too_small = (
            converted < self.minimum
            if self.minimum_inclusive
            else converted <= self.minimum
        )
        too_large = self.maximum is not None and converted > self.maximum
        if not math.isfinite(converted) or too_small or too_large:
            bound = "at least" if self.minimum_inclusive else "greater than"
            if self.maximum is not None:
                bound = f"in {'[' if self.minimum_inclusive else '('}{self.minimum!r}, "
                raise UserError(
                    f"invalid {self.flag} {shown}: must be {bound}{self.maximum!r}] "
                    f"(default {self.default!r})"
                )
            raise UserError(
                f"invalid {self.flag} {shown}: must be {bound} {self.minimum!r} "
                f"(default {self.default!r})"
            )
        return converted

    def _check_choice(self, value: Any, shown: str) -> str:
        """One of ``choices`` (case forgiven)."""
        choice = value.strip().lower() if isinstance(value, str) else value
        if choice not in self.choices:
            raise UserError(
                f"invalid {self.flag} {shown}: choose {' or '.join(self.choices)} "
                f"(default {self.default!r})"
            )
        return choice

    def _check_path(self, value: Any, shown: str) -> str:
        """A ``.keras`` file path, or "" for none."""
        if not isinstance(value, str):
            raise UserError(f"invalid {self.flag} {shown}: give a path")
        if value and not value.endswith(".keras"):
            raise UserError(
                f"invalid {self.flag} {shown}: give the path of a .keras file saved "
                "with model.save(), e.g. teacher.keras"
            )
        return value

    def note(self, value: Any) -> str:
        """A note on a path setting naming no file yet (the generated code reads the
        file when it builds the model, so it may come later), else ""."""
        if not self.is_path or not value or Path(value).exists():
            return ""
        return (
            f"{self.flag} {value!r} does not exist yet; the generated code loads it "
            "(relative to the working directory) when it builds the model"
        )

    @property
    def is_path(self) -> bool:
        """A path setting (a module constant); the others are class attributes of
        the steps."""
        return self.type is str and not self.choices

    @property
    def constraint(self) -> str:
        if self.choices:
            return "|".join(self.choices)
        if self.type is str:
            return "path to a .keras file"
        if self.maximum is not None:
            opening = "[" if self.minimum_inclusive else "("
            return f"in {opening}{self.minimum!r}, {self.maximum!r}]"
        return f"{'>=' if self.minimum_inclusive else '>'} {self.minimum!r}"


@dataclass(frozen=True)
class RecipeTemplates:
    """The templates of a recipe, by part (``{model_type}`` not yet filled in)."""

    steps: str
    model: str
    build: str
    compile: str
    data: str
    arrays: str
    helpers: tuple[str, ...]  # rendered before the model class (``build_network``)
    # (layout template, the recipe's template that stands in for it), the proof first.
    files: tuple[tuple[str, str], ...]

    def names(self, model_type: str) -> dict[str, Any]:
        """``{part: template name}`` for ``model_type`` (``helpers``: a list)."""
        parts = {role: getattr(self, role) for role in TEMPLATE_ROLES}
        return {
            **{
                role: name.format(model_type=model_type) for role, name in parts.items()
            },
            "helpers": [name.format(model_type=model_type) for name in self.helpers],
            "files": [[layout, own] for layout, own in self.files],
        }


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str  # one line, for `recipes` and `--help`
    settings: tuple[Setting, ...]
    logs: tuple[str, ...]  # what it logs besides the loss and the compiled metrics
    # Those of ``logs`` only `fit` logs, not `evaluate` (no val_ either).
    train_only_logs: tuple[str, ...]
    # The losses `fit` logs, which the project's NaN stop watches: "loss", or the
    # gan's own (it logs no "loss"); the others among ``logs`` follow them.
    loss_logs: tuple[str, ...]
    model_types: tuple[str, ...]
    model_types_reason: str  # why the others are refused
    # The networks its model holds; they take one unnamed input and output.
    networks: tuple[str, ...]
    losses: tuple[str, ...]  # the losses it accepts (snake names); () = any
    takes_metrics: bool  # --metric makes sense (compiled metrics)
    # Metrics the recipe cannot work with, and why.
    refused_metrics: tuple[str, ...]
    refused_metrics_reason: str
    losses_reason: str  # why it refuses the losses it does not accept
    # The losses of named outputs, when fewer than ``losses`` (None: the same), and why.
    named_output_losses: tuple[str, ...] | None
    named_output_reason: str
    logits: bool  # the loss takes logits (`from_logits=True`)
    compiles_loss: bool  # compile() gets the loss and metrics
    imports: tuple[str, ...]  # standard-library modules its templates need
    templates: RecipeTemplates
    # Its own loss, when it takes no --loss (then `losses` holds the one loss whose
    # task its data follows, never asked); "" for the others.
    own_loss: str = ""
    # What its project's tests need besides the project's dependencies (dev extra).
    test_requirements: tuple[str, ...] = ()
    # Its own data for its templates, and what changes with the loss (by snake name).
    context: Mapping[str, Any] = field(default_factory=dict, hash=False)
    context_by_loss: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, hash=False
    )


def _template_name(recipe: str, name: str) -> str:
    """A template named in ``recipe``'s description: a file of its directory, or a
    shared template (a name with ``/``)."""
    return name if "/" in name else f"{RECIPES_DIR}/{recipe}/{name}"


def _setting(recipe: str, data: dict) -> Setting:
    unknown_keys = sorted(set(data) - set(SETTING_KEYS))
    if unknown_keys:
        raise ValueError(f"recipe {recipe!r}: unknown setting keys {unknown_keys}")
    kind = SETTING_TYPES[data["type"]]
    if kind is not str and "minimum" not in data:
        raise ValueError(f"recipe {recipe!r}: setting {data['name']!r} needs a minimum")
    choices = tuple(data.get("choices", ()))
    if (data["type"] == "choice") != bool(choices) or (
        choices and data["default"] not in choices
    ):
        raise ValueError(
            f"recipe {recipe!r}: setting {data['name']!r}: a choice setting names "
            "its choices, its default among them"
        )
    requires = data.get("requires")
    return Setting(
        name=data["name"],
        flag=data["flag"],
        type=kind,
        default=kind(data["default"]),
        minimum=data.get("minimum"),
        minimum_inclusive=data.get("minimum_inclusive", True),
        help=data["help"],
        maximum=data.get("maximum"),
        choices=choices,
        requires=(requires[0], requires[1]) if requires else None,
    )


def _templates(recipe: str, data: dict, files: dict) -> RecipeTemplates:
    unknown_roles = sorted(set(data) - {*TEMPLATE_ROLES, "helpers", "proof"})
    if unknown_roles:
        raise ValueError(f"recipe {recipe!r}: unknown template parts {unknown_roles}")
    named = {
        role: _template_name(recipe, data.get(role, default))
        for role, default in TEMPLATE_ROLES.items()
    }
    return RecipeTemplates(
        **named,
        helpers=tuple(_template_name(recipe, n) for n in data.get("helpers", ())),
        files=(
            (PROOF_FILE, _template_name(recipe, data["proof"])),
            *((layout, _template_name(recipe, own)) for layout, own in files.items()),
        ),
    )


def read_recipe(directory: Path) -> tuple[int, Recipe]:
    """``(order, recipe)`` from ``directory/recipe.json``; ValueError when it is not a
    valid description (a bug of the built-in templates, which a test catches)."""
    name = directory.name
    data = json.loads((directory / DESCRIPTION_FILE).read_text(encoding="utf-8"))
    unknown_keys = sorted(set(data) - set(DESCRIPTION_KEYS))
    if unknown_keys:
        raise ValueError(f"recipe {name!r}: unknown keys {unknown_keys}")
    recipe = Recipe(
        name=name,
        summary=data["summary"],
        settings=tuple(_setting(name, s) for s in data.get("settings", ())),
        logs=tuple(data.get("logs", ())),
        train_only_logs=tuple(data.get("train_only_logs", ())),
        loss_logs=tuple(data.get("loss_logs", ("loss",))),
        model_types=tuple(data.get("model_types", MODEL_TYPES)),
        model_types_reason=data.get("model_types_reason", ""),
        networks=tuple(data.get("networks", ())),
        losses=tuple(data.get("losses", ())),
        takes_metrics=data.get("takes_metrics", True),
        refused_metrics=tuple(data.get("refused_metrics", ())),
        refused_metrics_reason=data.get(
            "refused_metrics_reason",
            "Keras creates its variables on first use, which only compile() arranges",
        ),
        losses_reason=data.get("losses_reason", ""),
        named_output_losses=(
            tuple(data["named_output_losses"])
            if "named_output_losses" in data
            else None
        ),
        named_output_reason=data.get("named_output_reason", ""),
        logits=data.get("logits", False),
        compiles_loss=data.get("compiles_loss", True),
        imports=tuple(data.get("imports", ())),
        own_loss=data.get("own_loss", ""),
        test_requirements=tuple(data.get("test_requirements", ())),
        templates=_templates(name, data["templates"], data.get("files", {})),
        context=dict(data.get("context", {})),
        context_by_loss=dict(data.get("context_by_loss", {})),
    )
    if not set(recipe.train_only_logs) <= set(recipe.logs):
        raise ValueError(
            f"recipe {name!r}: train_only_logs {list(recipe.train_only_logs)} must be "
            f"among its logs {list(recipe.logs)}"
        )
    return data["order"], recipe


def read_recipes(root: Path) -> tuple[Recipe, ...]:
    """Every recipe under ``root/recipes/``, in their ``order`` (then by name)."""
    found = [
        read_recipe(d)
        for d in (root / RECIPES_DIR).iterdir()
        if (d / DESCRIPTION_FILE).is_file()
    ]
    found.sort(key=lambda item: (item[0], item[1].name))
    return tuple(recipe for _, recipe in found)


RECIPES: tuple[Recipe, ...] = read_recipes(builtin_template_dir())
RECIPE_INDEX = {recipe.name: recipe for recipe in RECIPES}
DEFAULT_RECIPE = "default"
if DEFAULT_RECIPE not in RECIPE_INDEX:  # an install without the recipes' data files
    raise RuntimeError(
        f"no {RECIPES_DIR}/{DEFAULT_RECIPE}/{DESCRIPTION_FILE} in "
        f"{builtin_template_dir()}: reinstall keras-jax-scaffold"
    )


def setting_owners(
    recipes: tuple[Recipe, ...],
) -> tuple[tuple[tuple[str, ...], Setting], ...]:
    """Every setting with the recipes it belongs to, in the order of first use. A
    setting several recipes share (gan's and wgan-gp's ``--noise-dim``) is described
    alike in each, else ValueError."""
    owners: dict[str, list[str]] = {}
    settings: dict[str, Setting] = {}
    for recipe in recipes:
        for setting in recipe.settings:
            if settings.setdefault(setting.name, setting) != setting:
                raise ValueError(
                    f"recipe {recipe.name!r}: setting {setting.name!r} differs from "
                    f"recipe {owners[setting.name][0]!r}'s"
                )
            owners.setdefault(setting.name, []).append(recipe.name)
    return tuple((tuple(owners[name]), settings[name]) for name in settings)


# Every setting with its recipes, and by answer name: each is an answer of its own
# (answer_table.ANSWERS).
SETTING_OWNERS = setting_owners(RECIPES)
SETTINGS = {setting.name: setting for _, setting in SETTING_OWNERS}


def resolve_recipe(value: str) -> Recipe:
    """The recipe named ``value`` (``_`` and case are forgiven); UserError otherwise.
    The model type, loss and metrics are checked against it later
    (:func:`check_model_type`, :func:`check_loss`, :func:`check_metrics`)."""
    recipe = RECIPE_INDEX.get(value.strip().lower().replace("_", "-"))
    if recipe is None:
        raise unknown(
            "recipe", value, list(RECIPE_INDEX), hint="see `keras-jax-scaffold recipes`"
        )
    return recipe


def check_model_type(recipe: Recipe, model_type: str) -> str:
    """``model_type``, if the recipe supports it; UserError saying why otherwise."""
    if model_type not in recipe.model_types:
        reason = f" ({recipe.model_types_reason})" if recipe.model_types_reason else ""
        raise UserError(
            f"recipe {recipe.name!r} does not support model type {model_type!r}"
            f"{reason}; use --model-type {' or '.join(recipe.model_types)}"
        )
    return model_type


def check_metrics(recipe: Recipe, metric_names) -> None:
    """Refuse metrics the recipe cannot work with, saying why."""
    if metric_names and not recipe.takes_metrics:
        raise UserError(
            f"recipe {recipe.name!r} takes no metrics (got: "
            f"{', '.join(metric_names)}): it logs {', '.join(recipe.logs)}; "
            "give -m none"
        )
    for name in metric_names:
        if name in recipe.refused_metrics:
            raise UserError(
                f"recipe {recipe.name!r} cannot work with metric {name!r}: "
                f"{recipe.refused_metrics_reason}; use --recipe default, or another "
                "metric"
            )


def check_setting(
    setting: Setting, owners: tuple[str, ...], value, recipe: Recipe, others=None
):
    """A setting's value, checked; a setting of other recipes may only keep its
    default (it does not apply), else the error names the recipes it belongs to. So
    may a setting whose ``requires`` is not met by ``others`` (the answers resolved
    before it, by name)."""
    checked = setting.check(value)
    if recipe.name not in owners and checked != setting.default:
        which = "recipes " if len(owners) > 1 else "recipe "
        raise UserError(
            f"{setting.flag} is a setting of {which}{' and '.join(map(repr, owners))}, "
            f"not of {recipe.name!r}: add --recipe {' or --recipe '.join(owners)}, "
            f"or drop {setting.flag}"
        )
    others = others or {}
    if not setting_applies(setting, others) and checked != setting.default:
        needed, value_needed = setting.requires or ("", "")
        flag = SETTINGS[needed].flag
        raise UserError(
            f"{setting.flag} {checked!r} applies to {flag} {value_needed} only, not "
            f"{flag} {others[needed]}: add {flag} {value_needed}, or drop "
            f"{setting.flag}"
        )
    return checked


def setting_applies(setting: Setting, others) -> bool:
    """Whether ``setting``'s ``requires`` holds among ``others`` (the answers by
    name; one not resolved yet counts as holding)."""
    if setting.requires is None:
        return True
    needed, value = setting.requires
    return others.get(needed, value) == value


def setting_notes(recipe: Recipe, values) -> tuple[str, ...]:
    """Notes on the settings of ``recipe`` (``values``: by name) for `new` to print."""
    return tuple(filter(None, (s.note(values[s.name]) for s in recipe.settings)))


def description(recipe: Recipe) -> str:
    """What it does, and what it logs besides the loss and metrics."""
    logs = f"; logs {', '.join(recipe.logs)}" if recipe.logs else ""
    return recipe.summary + logs


def check_loss(recipe: Recipe, loss_name: str, output: str = "") -> None:
    """Refuse a loss the recipe cannot train with, naming the ones it can (or, when
    it takes most, the ones it cannot); ``output``: the named output it is for."""
    if recipe.own_loss and loss_name not in recipe.losses:
        raise UserError(
            f"recipe {recipe.name!r} has its own loss ({recipe.own_loss}) and takes "
            "no --loss: drop it"
        )
    accepted, reason = recipe.losses, recipe.losses_reason
    if output and recipe.named_output_losses is not None:
        accepted, reason = recipe.named_output_losses, recipe.named_output_reason
    if not accepted or loss_name in accepted:
        return
    refused = [
        loss.snake_name for loss in catalog.LOSSES if loss.snake_name not in accepted
    ]
    flag = f"--output {output}:" if output else "--loss "
    if len(refused) < len(accepted):
        fix = f"use any loss but {', '.join(refused)}, e.g. {flag}{accepted[0]}"
    else:
        fix = f"use {flag}{f' or {flag}'.join(accepted)}"
    where = f" for output {output!r}" if output else ""
    because = f" ({reason})" if reason else ""
    raise UserError(
        f"recipe {recipe.name!r} does not work with loss {loss_name!r}{where}"
        f"{because}; {fix}"
    )


def settings_line(recipe: Recipe) -> str:
    """``--clip-norm C (float > 0.0, default 1.0)``, or ``-`` without settings."""
    parts = [
        f"{s.flag} ({s.type.__name__} {s.constraint}, default {s.default!r})"
        for s in recipe.settings
    ]
    return ", ".join(parts) or "-"


def recipe_context(
    recipe: Recipe, values, model_type: str = "functional", loss_name: str = ""
) -> dict:
    """The template context's ``recipe``: plain data (``values``: the settings by
    name). ``model_type`` fills in its templates' names, ``loss_name`` picks its
    ``context_by_loss``.
    """
    names = recipe.templates.names(model_type)
    settings = [
        {"name": s.name, "flag": s.flag, "value": values[s.name], "help": s.help}
        for s in recipe.settings
    ]
    return {
        "name": recipe.name,
        "is_default": recipe.name == DEFAULT_RECIPE,
        "summary": recipe.summary,
        # The templates that play each part (TEMPLATE_ROLES).
        "template": names["steps"],
        "model_template": names["model"],
        "build_template": names["build"],
        "compile_template": names["compile"],
        "data_template": names["data"],
        "arrays_template": names["arrays"],
        "helper_templates": names["helpers"],
        # [layout template, the recipe's template rendered instead], the proof first.
        "files": names["files"],
        "logs": list(recipe.logs),
        # Every key `fit` logs besides compiled metrics.
        "log_keys": list(dict.fromkeys([*recipe.loss_logs, *recipe.logs])),
        # Those `evaluate` does not log (a training value such as a gradient norm).
        "train_only_logs": list(recipe.train_only_logs),
        # The logged losses: a non-finite one stops the project's training.
        "loss_logs": list(recipe.loss_logs),
        "networks": list(recipe.networks),
        # Its own loss when it takes no --loss (else ""): what the README says.
        "own_loss": recipe.own_loss,
        "imports": list(recipe.imports),
        "settings": settings,
        # The settings but paths, rendered as class attributes of the steps.
        "class_attributes": [
            setting for setting, s in zip(settings, recipe.settings) if not s.is_path
        ],
        "setting_values": {s.name: values[s.name] for s in recipe.settings},
        "context": {
            **recipe.context,
            **recipe.context_by_loss.get(loss_name, {}),
        },
    }

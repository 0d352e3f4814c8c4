"""The training recipes of ``new NAME --recipe R``: the one home of recipe knowledge.

A recipe is a training algorithm written into the generated steps. Everything the rest of
the tool knows about recipes comes from :data:`RECIPES` here: the ``--recipe`` choices
and their settings (``answer_table.ANSWERS`` makes the ``recipe`` answer and one answer per
setting from this registry, with ``when`` = the setting's recipe: flags, prompts,
validation, help, answers file, `update`), the ``recipes`` listing, the README table
(checked by a test), the template context (:func:`recipe_context`) and which project
test carries the recipe's proof.

How to add a recipe
-------------------
1. Write ``templates/partials/recipes/NAME.py.jinja``. It ``{% extends
   "partials/steps.py.jinja" %}`` and overrides only the blocks its algorithm changes
   (``forward``, ``compute_loss``, ``extra_loss``, ``track_loss``, ``compute_metrics``,
   ``extra_metrics``, ``compute_gradients``, ``transform_gradients``,
   ``update_train_metrics``, ``extra_logs``, ``init_state``, ``extra_methods``), so
   users can still override any other block on top of it. Settings reach the steps as
   class attributes named after the setting (``self.clip_norm``); state created with
   the model (trackers, loss objects) goes in the ``init_state`` block, which the
   model's ``__init__`` runs for all three model types.
2. Write ``templates/partials/proofs/NAME.py.jinja``: the body of the project's
   ``tests/test_parity.py`` that proves the recipe against its Keras oracle
   (``run_mine_and_oracle``, used by ``test_data_parallel.py`` too).
3. Add a :class:`Recipe` to :data:`RECIPES` with its :class:`Setting`s, and a row for
   the README's recipe table (``tests/generated/test_recipes.py`` checks they agree).
4. Prove it in ``tests/`` against a Keras oracle, with a negative control.

Templates receive only plain data (:func:`recipe_context`); nothing here imports keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import catalog
from .errors import UserError, unknown

MODEL_TYPES = ("sequential", "functional", "subclassed")


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
                raise ValueError
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
class Recipe:
    name: str
    summary: str  # one line, for `recipes` and `--help`
    settings: tuple[Setting, ...]
    template: str  # the steps partial that implements it
    logs: tuple[str, ...]  # what it logs besides the loss and the compiled metrics
    project_test: str  # the body of the project's tests/test_parity.py
    compiles_loss: bool = True  # compile() gets the loss and metrics
    model_types: tuple[str, ...] = MODEL_TYPES
    # Metrics the recipe cannot work with, and why.
    refused_metrics: tuple[str, ...] = ()
    refused_metrics_reason: str = (
        "Keras creates its variables on first use, which only compile() arranges"
    )
    # Why a model type is refused (the recipes with several networks).
    model_types_reason: str = ""
    # Multi-network recipes (gan, distillation, vae): the model class holds several
    # networks; ``partials/recipes/NAME_model.py.jinja`` (macro ``model_class``) and
    # ``NAME_build.py.jinja`` (macro ``build_model``: the networks and build_model),
    # with the arguments of the model types' macros, and the shared
    # ``networks_MODEL_TYPE.py.jinja`` replace the single-network partials; their
    # ``project_test`` is the whole ``tests/test_parity.py``, not a body.
    networks: tuple[str, ...] = ()
    losses: tuple[str, ...] = ()  # the losses it accepts (snake names); () = any
    losses_reason: str = ""  # why it refuses the others
    # The losses of named outputs, when fewer than ``losses``, and why.
    named_output_losses: tuple[str, ...] | None = None
    named_output_reason: str = ""
    takes_metrics: bool = True  # --metric makes sense (compiled metrics)
    logits: bool = False  # the loss takes logits (`from_logits=True`)
    own_compile: bool = False  # its build partial defines compile_model
    learns_distribution: bool = False  # make_dataset gives samples x and no y
    # The losses `fit` logs, which the project's NaN stop watches: "loss", or the
    # gan's own (it logs no "loss"); the others among ``logs`` follow them.
    loss_logs: tuple[str, ...] = ("loss",)
    predicts_from_noise: bool = False  # predict() takes latent vectors (the gan)


MICROBATCHES = Setting(
    "microbatches",
    "--microbatches",
    int,
    4,
    1,
    True,
    "microbatches per batch (gradient-accumulation); the batch size must divide by it",
)
CLIP_NORM = Setting(
    "clip_norm",
    "--clip-norm",
    float,
    1.0,
    0.0,
    False,
    "largest global norm of the gradients (clip-gradients)",
)
RHO = Setting(
    "rho",
    "--rho",
    float,
    0.05,
    0.0,
    True,
    "radius of the SAM weight perturbation (sam); 0 is the default step",
)

NOISE_DIM = Setting(
    "noise_dim",
    "--noise-dim",
    int,
    8,
    1,
    True,
    "size of the generator's latent noise vectors (gan)",
)
TEMPERATURE = Setting(
    "temperature",
    "--temperature",
    float,
    3.0,
    0.0,
    False,
    "softmax temperature T of the teacher's and the student's logits (distillation)",
)
ALPHA = Setting(
    "alpha",
    "--alpha",
    float,
    0.1,
    0.0,
    True,
    "weight of the task loss; 1 - alpha weighs the distillation loss (distillation)",
    maximum=1.0,
)
TEACHER = Setting(
    "teacher",
    "--teacher",
    str,
    "",
    None,
    True,
    "a trained teacher saved with model.save() (distillation); without it the "
    "module trains a built-in one",
)
LATENT_DIM = Setting(
    "latent_dim",
    "--latent-dim",
    int,
    2,
    1,
    True,
    "size of the latent space (vae)",
)
MIXUP_ALPHA = Setting(
    "mixup_alpha",
    "--mixup-alpha",
    float,
    0.2,
    0.0,
    True,
    "alpha of lambda ~ Beta(alpha, alpha) (mixup); 0 is the default step",
)
ATTACK = Setting(
    "attack",
    "--attack",
    str,
    "fgsm",
    None,
    True,
    "fgsm (one signed-gradient step) or pgd (projected steps) (adversarial)",
    choices=("fgsm", "pgd"),
)
EPSILON = Setting(
    "epsilon",
    "--epsilon",
    float,
    0.1,
    0.0,
    True,
    "max-norm of the attack (adversarial); 0 is the default step",
)
ATTACK_STEPS = Setting(
    "attack_steps",
    "--attack-steps",
    int,
    7,
    1,
    True,
    "steps of 2.5 * epsilon / steps (adversarial, --attack pgd)",
    requires=("attack", "pgd"),
)
ADVERSARIAL_WEIGHT = Setting(
    "adversarial_weight",
    "--adversarial-weight",
    float,
    0.5,
    0.0,
    True,
    "W in (1 - W) * clean + W * adversarial (adversarial)",
    maximum=1.0,
)
MULTI_NETWORK_TYPES = ("functional", "subclassed")
VAE_LOSSES = (
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "log_cosh",
    "binary_crossentropy",
    "binary_focal_crossentropy",
)
# mixup mixes the targets, or for integer labels the losses of the two labels; not
# label sequences (ctc), labels compared within the batch (circle), nor a loss of
# integer labels that is not a mean over the samples' cross-entropies.
MIXUP_LOSSES = (
    "sparse_categorical_crossentropy",  # the only one of integer labels: first
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "kl_divergence",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "dice",
    "tversky",
    "hinge",
    "squared_hinge",
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "log_cosh",
    "cosine_similarity",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "poisson",
)
# adversarial trains on the clean and adversarial samples as one batch, weighted by
# sample weights: the loss must be a mean over samples (not dice or tversky, one
# overlap over the whole batch, nor circle, which pairs the samples of a batch).
ADVERSARIAL_LOSSES = (
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "categorical_hinge",
    "kl_divergence",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "hinge",
    "squared_hinge",
    "ctc",
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "log_cosh",
    "cosine_similarity",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "poisson",
)
# Losses whose targets are probabilities: a vae's decoder ends in a sigmoid and its
# samples lie in (0, 1).
UNIT_INTERVAL_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy")

RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "default",
        "Keras's own train step, written out (the reference for every other recipe)",
        (),
        "partials/steps.py.jinja",
        (),
        "partials/proofs/default.py.jinja",
    ),
    Recipe(
        "gradient-accumulation",
        "split each batch into K microbatches, average their gradients, apply once",
        (MICROBATCHES,),
        "partials/recipes/accumulation.py.jinja",
        (),
        "partials/proofs/accumulation.py.jinja",
    ),
    Recipe(
        "clip-gradients",
        "clip the true (unscaled) gradients to a global norm",
        (CLIP_NORM,),
        "partials/recipes/clip_gradients.py.jinja",
        ("grad_norm",),
        "partials/proofs/clip_gradients.py.jinja",
    ),
    Recipe(
        "sam",
        "sharpness-aware minimization: the gradient at w + rho*g/|g| updates w",
        (RHO,),
        "partials/recipes/sam.py.jinja",
        (),
        "partials/proofs/sam.py.jinja",
    ),
    Recipe(
        "custom-trackers",
        "the model owns its loss object and metric trackers; compile() gets only "
        "the optimizer",
        (),
        "partials/recipes/custom_trackers.py.jinja",
        (),
        "partials/proofs/custom_trackers.py.jinja",
        compiles_loss=False,
        refused_metrics=("f1_score", "fbeta_score"),
    ),
    Recipe(
        "gan",
        "a generator and a discriminator, one optimizer each: the discriminator on "
        "real and generated samples, then the generator through it",
        (NOISE_DIM,),
        "partials/recipes/gan.py.jinja",
        ("d_loss", "g_loss"),
        "partials/proofs/gan.py.jinja",
        model_types=MULTI_NETWORK_TYPES,
        model_types_reason="its model holds two networks (a generator and a "
        "discriminator) and a keras.Sequential is one stack of layers",
        networks=("generator", "discriminator"),
        losses=("binary_crossentropy",),
        takes_metrics=False,
        logits=True,
        own_compile=True,
        learns_distribution=True,
        loss_logs=("d_loss", "g_loss"),
        predicts_from_noise=True,
    ),
    Recipe(
        "distillation",
        "a student learns from the labels and a frozen teacher's softened logits "
        "(alpha * task + (1 - alpha) * T^2 * KL)",
        (TEMPERATURE, ALPHA, TEACHER),
        "partials/recipes/distillation.py.jinja",
        ("task_loss", "distillation_loss"),
        "partials/proofs/distillation.py.jinja",
        model_types=MULTI_NETWORK_TYPES,
        model_types_reason="its model holds two networks (a teacher and a student) "
        "and a keras.Sequential is one stack of layers",
        networks=("teacher", "student"),
        losses=("sparse_categorical_crossentropy", "categorical_crossentropy"),
        logits=True,
    ),
    Recipe(
        "vae",
        "variational autoencoder: encoder, reparameterized draw, decoder; "
        "reconstruction (--loss) + KL loss",
        (LATENT_DIM,),
        "partials/recipes/vae.py.jinja",
        ("reconstruction_loss", "kl_loss"),
        "partials/proofs/vae.py.jinja",
        model_types=MULTI_NETWORK_TYPES,
        model_types_reason="its model holds two networks (an encoder and a decoder) "
        "and a keras.Sequential is one stack of layers",
        networks=("encoder", "decoder"),
        losses=VAE_LOSSES,
        learns_distribution=True,
    ),
    Recipe(
        "mixup",
        "mix each batch with a shuffled copy of itself: inputs and targets by "
        "lambda ~ Beta(alpha, alpha) (integer labels: the losses of both labels)",
        (MIXUP_ALPHA,),
        "partials/recipes/mixup.py.jinja",
        (),
        "partials/proofs/mixup.py.jinja",
        losses=MIXUP_LOSSES,
        losses_reason="it mixes the targets of two samples, or the losses of their "
        "integer labels: not label sequences, labels compared within the batch, nor "
        "integer labels whose loss is not a cross-entropy",
        named_output_losses=MIXUP_LOSSES[1:],
        named_output_reason="with named outputs every output's targets are mixed; "
        "integer labels only with one unnamed output",
    ),
    Recipe(
        "adversarial",
        "adversarial training: inputs attacked along the input gradient at the "
        "current weights (fgsm or pgd), loss (1 - W) * clean + W * adversarial",
        (ATTACK, EPSILON, ATTACK_STEPS, ADVERSARIAL_WEIGHT),
        "partials/recipes/adversarial.py.jinja",
        (),
        "partials/proofs/adversarial.py.jinja",
        losses=ADVERSARIAL_LOSSES,
        losses_reason="it trains on clean and adversarial samples as one batch "
        "weighted by sample weights, so the loss must be a mean over the samples: "
        "not one overlap of the whole batch, nor pairs within it",
        refused_metrics=("pearson_correlation", "concordance_correlation"),
        refused_metrics_reason="it passes sample weights to the metrics (the clean "
        "and adversarial samples weighted in one batch), which this metric refuses",
    ),
)

RECIPE_INDEX = {recipe.name: recipe for recipe in RECIPES}
DEFAULT_RECIPE = "default"
# Every setting of every recipe with its recipe, and by answer name (a name belongs
# to one recipe): each is an answer of its own (answer_table.ANSWERS).
SETTING_OWNERS = tuple(
    (recipe.name, setting) for recipe in RECIPES for setting in recipe.settings
)
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


def check_setting(setting: Setting, owner: str, value, recipe: Recipe, others=None):
    """A setting's value, checked; a setting of another recipe may only keep its
    default (it does not apply), else the error names the recipe it belongs to. So
    may a setting whose ``requires`` is not met by ``others`` (the answers resolved
    before it, by name)."""
    checked = setting.check(value)
    if recipe.name != owner and checked != setting.default:
        raise UserError(
            f"{setting.flag} is a setting of recipe {owner!r}, not of "
            f"{recipe.name!r}: add --recipe {owner}, or drop {setting.flag}"
        )
    if not setting_applies(setting, others or {}) and checked != setting.default:
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
    raise UserError(
        f"recipe {recipe.name!r} does not work with loss {loss_name!r}{where} "
        f"({reason}); {fix}"
        if reason
        else f"recipe {recipe.name!r} does not work with loss {loss_name!r}{where}; "
        f"{fix}"
    )


def format_value(value: float | str) -> str:
    """A setting as Python source (``1.0``, ``4``, ``'teacher.keras'``)."""
    return repr(value)


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
    """The template context's ``recipe``: plain, precomputed data (``values``: the
    settings by name). ``model_type`` and ``loss_name`` choose the partials and the
    data of the multi-network recipes.
    """
    stem = recipe.name.replace("-", "_")
    unit_samples = loss_name in UNIT_INTERVAL_LOSSES
    if recipe.networks:
        templates = {
            "model_template": f"partials/recipes/{stem}_model.py.jinja",
            "build_template": f"partials/recipes/{stem}_build.py.jinja",
            "networks_template": f"partials/recipes/networks_{model_type}.py.jinja",
        }
    else:
        templates = {
            "model_template": f"partials/model_{model_type}.py.jinja",
            "build_template": f"partials/build_{model_type}.py.jinja",
            "networks_template": "",
        }
    settings = [
        {
            "name": s.name,
            "flag": s.flag,
            "value": format_value(values[s.name]),
            "help": s.help,
        }
        for s in recipe.settings
    ]
    return {
        **templates,
        "data_template": (
            "partials/recipes/samples_data.py.jinja"
            if recipe.learns_distribution
            else "partials/data.py.jinja"
        ),
        "own_compile": recipe.own_compile,
        "learns_distribution": recipe.learns_distribution,
        "predicts_from_noise": recipe.predicts_from_noise,
        # Every key `fit` logs besides compiled metrics.
        "log_keys": list(dict.fromkeys([*recipe.loss_logs, *recipe.logs])),
        # The logged losses: a non-finite one stops the project's training.
        "loss_logs": list(recipe.loss_logs),
        "networks": list(recipe.networks),
        # Standard-library modules the recipe's partials need.
        "imports": ["math"] if recipe.networks else [],
        "unit_samples": unit_samples,
        "decoder_activation": repr("sigmoid") if unit_samples else "None",
        "teacher_path": repr(values["teacher"]) if values.get("teacher") else "",
        # The settings but paths, rendered as class attributes of the steps.
        "class_attributes": [
            setting
            for setting, s in zip(settings, recipe.settings)
            if not s.is_path
        ],
        "name": recipe.name,
        "is_default": recipe.name == DEFAULT_RECIPE,
        "summary": recipe.summary,
        "template": recipe.template,
        "project_test": recipe.project_test,
        "compiles_loss": recipe.compiles_loss,
        "logs": list(recipe.logs),
        "settings": settings,
    }

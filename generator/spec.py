"""Answers -> spec: the raw :class:`Answers`, the validated :class:`Spec`, and the one
walk of the answer table that turns the first into the second.

:func:`walk` goes through :data:`~keras_jax_scaffold.answer_table.ANSWERS` in table
order (an entry comes after those it depends on): for each entry it takes a raw answer,
fills in the default when there is none, and resolves it against the answers resolved
before it. What differs between the walk's users is a :class:`Policy` passed in: which
raw answer an entry takes (given, recorded, asked or the default), whether an entry is
ready to be settled, and what a bad answer does. The policies:

* :class:`Resolve` (:func:`build_spec`): the given answers or the defaults; the first
  bad answer raises;
* :class:`Rederive` (:func:`rederive`, for ``update``): flags over the recorded answers,
  an answer whose inputs changed derived again; after a bad answer the rest is only
  merged (``build_spec`` says what is wrong);
* ``prompts.py``'s: the answers known without asking (a bad one raises, or stays
  unknown), the interactive session, and the flags a session would ask for.

Also here: the command that renders a spec again (:func:`command_line`), the explicit
answers of a spec (:func:`answers_from_spec`) and the entries' own template variables
(:func:`answer_context`). Nothing here touches the disk.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields
from typing import Any

from . import catalog, recipes
from .answer_table import ANSWER_INDEX, ANSWERS, Question, Resolved
from .errors import UserError
from .io_grammar import Input, Output, OutputMetric
from .values import class_name_for

__all__ = [
    "ANSWERS",
    "ANSWER_INDEX",
    "UNSETTLED",
    "Answers",
    "Policy",
    "Rederive",
    "Resolve",
    "Spec",
    "Walked",
    "answer_context",
    "answers_from_spec",
    "build_spec",
    "command_line",
    "rederive",
    "resolve_answers",
    "walk",
]


@dataclass(frozen=True)
class Answers:
    """The raw answers, one field per entry of ``ANSWERS``, in its order (typed as the
    entry's kind gives them); ``None`` means "not given"."""

    name: str | None = None
    project: bool | None = None
    recipe: str | None = None
    # The recipes' settings (recipes.SETTING_OWNERS), each an answer of its own.
    microbatches: int | None = None
    clip_norm: float | None = None
    rho: float | None = None
    noise_dim: int | None = None
    critic_steps: int | None = None
    gp_weight: float | None = None
    temperature: float | None = None
    alpha: float | None = None
    teacher: str | None = None
    latent_dim: int | None = None
    mixup_alpha: float | None = None
    attack: str | None = None
    epsilon: float | None = None
    attack_steps: int | None = None
    adversarial_weight: float | None = None
    model_type: str | None = None
    outputs: tuple[str, ...] | None = None
    loss: str | None = None
    task: str | None = None
    metrics: tuple[str, ...] | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    inputs: tuple[str, ...] | None = None
    input_shape: str | None = None
    num_classes: int | None = None
    output_units: int | None = None
    hidden_units: int | None = None
    dtype_policy: str | None = None
    variables: tuple[tuple[str, str], ...] | None = None
    template_dirs: tuple[str, ...] | None = None

    def merged(self, other: Answers) -> Answers:
        """These answers, with the ones missing here taken from ``other``."""
        values = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            values[f.name] = getattr(other, f.name) if mine is None else mine
        return Answers(**values)


@dataclass(frozen=True)
class Spec:
    """The validated answers, one field per entry of ``ANSWERS``, in its order (values
    as the entry's ``resolve`` returns them), plus the class name."""

    name: str
    project: bool  # a project NAME/ (else the module NAME.py)
    recipe: recipes.Recipe
    microbatches: int
    clip_norm: float
    rho: float
    noise_dim: int
    critic_steps: int
    gp_weight: float
    temperature: float
    alpha: float
    teacher: str
    latent_dim: int
    mixup_alpha: float
    attack: str
    epsilon: float
    attack_steps: int
    adversarial_weight: float
    model_type: str
    outputs: tuple[Output, ...]
    loss: catalog.Loss
    task: catalog.Task
    # With named outputs, an OutputMetric per ``OUTPUT:METRIC``.
    metrics: tuple[catalog.Metric | OutputMetric, ...]
    optimizer: str  # the Keras class name, or optax:NAME
    learning_rate: float
    inputs: tuple[Input, ...]
    input_shape: tuple[int, ...]
    num_classes: int
    output_units: int
    hidden_units: int
    dtype_policy: str
    variables: tuple[tuple[str, str], ...]
    template_dirs: tuple[str, ...]

    @property
    def class_name(self) -> str:
        return class_name_for(self.name)


# ------------------------------------------------------------------ the one walk


class _Unsettled:
    def __repr__(self) -> str:
        return "UNSETTLED"


# A raw answer that leaves its entry unknown in this walk (neither default nor resolved).
UNSETTLED: Any = _Unsettled()


class Policy:
    """What differs between the walks of the answer table (see :func:`walk`). The
    defaults: every entry is ready, and a bad answer raises."""

    def ready(self, question: Question, resolved: Resolved) -> bool:
        """Whether the walk settles ``question`` now; if not, :meth:`skipped` gives
        its raw answer and it stays unknown (so do the entries depending on it)."""
        return True

    def raw(self, question: Question, resolved: Resolved) -> Any:
        """The raw answer of ``question``: ``None`` takes its default (a required
        answer without one fails), :data:`UNSETTLED` leaves it unknown."""
        raise NotImplementedError

    def skipped(self, question: Question, resolved: Resolved) -> Any:
        """The raw answer recorded for a ``question`` that is not ready."""
        return None

    def resolve(self, question: Question, raw: Any, resolved: Resolved) -> Any:
        """``raw`` validated (UserError when it does not fit)."""
        return question.resolve(raw, resolved)

    def failed(self, question: Question, error: UserError) -> None:
        """A raw answer (or a default) that does not resolve: raise ``error``, or keep
        going with ``question`` unknown."""
        raise error


@dataclass(frozen=True)
class Walked:
    """What a walk settled: the raw answers (by name, as the policy gave them) and the
    resolved ones (only the entries that resolved)."""

    raw: dict[str, Any]
    resolved: dict[str, Any]


def walk(policy: Policy) -> Walked:
    """Go through the answer table in order, settling each entry as ``policy`` says."""
    raw: dict[str, Any] = {}
    resolved: dict[str, Any] = {}
    for question in ANSWERS:
        if not policy.ready(question, resolved):
            raw[question.name] = policy.skipped(question, resolved)
            continue
        value = raw[question.name] = policy.raw(question, resolved)
        if value is UNSETTLED:
            continue
        try:
            if value is None:
                value = question.default_for(resolved)
            resolved[question.name] = policy.resolve(question, value, resolved)
        except UserError as error:
            policy.failed(question, error)
    return Walked(raw, resolved)


class Resolve(Policy):
    """The ``given`` answers, or the defaults; the first bad answer raises."""

    def __init__(self, given: Answers):
        self.given = given

    def raw(self, question: Question, resolved: Resolved) -> Any:
        return getattr(self.given, question.name)


def resolve_answers(answers: Answers) -> dict[str, Any]:
    """``{name: resolved value}`` in table order, defaults filled; UserError on the first
    bad answer."""
    return walk(Resolve(answers)).resolved


def build_spec(answers: Answers) -> Spec:
    """Validate ``answers`` and fill defaults; raise UserError on the first problem."""
    return Spec(**resolve_answers(answers))


class Rederive(Policy):
    """``given`` (flags) over ``recorded``, and a note for each answer derived again.

    The one rule: when an answer's inputs (``depends_on``) change and it is not
    given, the recorded answer is derived again (its default rule) if it no longer
    validates or still had the old default. The recorded answers must resolve (the
    caller reports a bad answers file). After an answer that does not fit, the rest
    is only merged: ``build_spec`` says what is wrong.
    """

    def __init__(self, recorded: Answers, given: Answers):
        self.recorded = recorded
        self.given = given
        self.old = resolve_answers(recorded)
        self.notes: list[str] = []
        self.broken = False

    def _merged(self, question: Question) -> Any:
        before = getattr(self.recorded, question.name)
        mine = getattr(self.given, question.name)
        return before if mine is None else question.kind.merge(before, mine)

    def ready(self, question: Question, resolved: Resolved) -> bool:
        return not self.broken

    def skipped(self, question: Question, resolved: Resolved) -> Any:
        return self._merged(question)

    def failed(self, question: Question, error: UserError) -> None:
        self.broken = True

    def raw(self, question: Question, new: Resolved) -> Any:
        name = question.name
        before = getattr(self.recorded, name)
        changed = [d for d in question.depends_on if new[d] != self.old[d]]
        if getattr(self.given, name) is not None or before is None or not changed:
            return self._merged(question)
        reason = ""
        try:
            question.resolve(before, new)
        except UserError as error:
            reason = f"the recorded one no longer fits: {error}"
        else:
            if self.old[name] == question.resolve(
                question.default_for(self.old), self.old
            ):
                reason = f"the default for the new {' and '.join(changed)}"
        if not reason:
            return before
        raw = question.default_for(new)
        value = question.resolve(raw, new)
        # No note for an answer that no longer applies (a setting of the old
        # recipe): the answers file drops it.
        if value != self.old[name] and question.applies_to(new):
            shown = question.kind.text(question.unparse(value))
            self.notes.append(
                f"{question.label}: {shown} ({reason}; give {question.option} to choose)"
            )
        return raw


def rederive(recorded: Answers, given: Answers) -> tuple[Answers, list[str]]:
    """``given`` over ``recorded``, and the notes of the answers derived again (see
    :class:`Rederive`)."""
    policy = Rederive(recorded, given)
    return Answers(**walk(policy).raw), policy.notes


# ------------------------------------------------------------- from a spec back


def answers_from_spec(spec: Spec) -> Answers:
    """Every answer explicit, so a changed default never changes an existing project."""
    return Answers(**{q.name: q.unparse(getattr(spec, q.name)) for q in ANSWERS})


def answer_context(spec: Spec) -> dict[str, Any]:
    """The template variables that entries with a ``context`` give (``{name: data}``)."""
    return {
        q.name: q.context(getattr(spec, q.name))
        for q in ANSWERS
        if q.context is not None
    }


def command_line(spec: Spec) -> str:
    """The command that renders the same file again (every answer that applies,
    explicit; template directories relative to the output directory)."""
    values = {q.name: getattr(spec, q.name) for q in ANSWERS}
    parts = ["keras-jax-scaffold new"]
    for question in ANSWERS:
        if not question.when(values):
            continue
        raw = question.unparse(values[question.name])
        if question.argument:
            parts += [shlex.quote(value) for value in question.kind.arguments(raw)]
        else:
            parts += question.kind.flags(question.option, raw)
    return " ".join(parts)

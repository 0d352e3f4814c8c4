"""Interactive questions for the answers not given as flags, all derived from the answer
table (:data:`keras_jax_scaffold.answer_table.ANSWERS`), each a walk of the table
(:func:`keras_jax_scaffold.spec.walk`) with its own policy.

Questions come in table order. An answer whose ``when`` is false, a single-valued
choice with one choice, and a menu with no choice are not asked: they take their
default, as with ``--no-input``. Every answer is validated where it is asked (its
``resolve``): a bad one is re-asked with the reason. A question with a ``menu`` lists
its choices numbered, with notes, and takes numbers or names (comma-separated when it
takes several).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping
from typing import Any

import typer

from .answer_table import ANSWERS, Question, Resolved
from .errors import UserError
from .kinds import split_items
from .spec import UNSETTLED, Answers, Policy, walk


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def ask(question: str, default, check: Callable[[str], object]):
    """Ask until ``check`` accepts the answer; returns what ``check`` returns."""
    while True:
        text = typer.prompt(question, default=default, show_default=default is not None)
        try:
            return check(str(text).strip())
        except UserError as error:
            typer.echo(f"  {error}", err=True)


def _fill(text: str, a: Mapping[str, Any]) -> str:
    """``text`` with ``{loss}``/``{task}`` (their names) and ``{task.input_kind}``."""

    class Named:
        def __init__(self, value):
            self.value = value

        def __getattr__(self, attribute):
            return getattr(self.value, attribute)

        def __format__(self, spec):
            value = self.value
            return str(getattr(value, "snake_name", getattr(value, "name", value)))

    return text.format(**{key: Named(value) for key, value in a.items()})


def parse_choice(text: str, question: Question, offered, a: Mapping[str, Any]):
    """The raw answer typed at a menu: numbers or names (comma-separated for several);
    repeats dropped, order kept; each name is checked by the question's ``resolve``."""
    if not question.kind.repeated:
        parts = [text]
    elif text.lower() in ("none", "-"):
        return ()
    else:
        parts = list(split_items([text]))
    chosen: list[str] = []
    for part in parts:
        if part.isdigit():
            index = int(part)
            if not 1 <= index <= len(offered):
                item = question.item or question.label
                raise UserError(f"no {item} number {index}: choose 1 to {len(offered)}")
            part = offered[index - 1][0]
        # The canonical spelling, so that `mae` and `mean_absolute_error` are one.
        if question.kind.repeated:
            part = question.unparse(question.resolve((part,), a))[0]
        else:
            part = question.unparse(question.resolve(part, a))
        if part not in chosen:
            chosen.append(part)
    raw = tuple(chosen) if question.kind.repeated else chosen[0]
    question.resolve(raw, a)
    return raw


def ask_question(question: Question, a: Mapping[str, Any]):
    """Ask ``question`` (given the answers it depends on); returns the raw answer."""
    default = question.default_for(a) if question.default is not None else None
    shown = None if default is None else question.kind.text(default)
    offered = question.offered(a)
    assert question.prompt is not None  # asked questions have one
    text = _fill(question.prompt, a)
    if question.menu:
        assert offered is not None  # a menu lists the question's choices
        typer.echo(_fill(question.menu, a))
        for number, (value, note) in enumerate(offered, start=1):
            typer.echo(f"  {number:>2}. {value:<36} {note}")
        return ask(text, shown, lambda typed: parse_choice(typed, question, offered, a))
    if offered is not None:
        text += " [" + "/".join(value for value, _ in offered) + "]"

    def check(typed: str):
        raw = question.kind.from_text(typed, question.label)
        question.resolve(raw, a)
        return raw

    return ask(text, shown, check)


def _given_instead(question: Question, given) -> bool:
    """Whether an answer that stands for ``question`` is given (see ``given_instead``):
    then ``question`` takes its default, whatever the answers it depends on."""
    return any(getattr(given, name) is not None for name in question.given_instead)


def _asked(question: Question, a: Mapping[str, Any], given) -> bool:
    """Whether a session asks ``question`` (not given) after the answers ``a``."""
    return not _given_instead(question, given) and question.asked(a)


def _inputs_known(question: Question, known: Mapping[str, Any], given) -> bool:
    """Whether what decides ``question`` is known: the answers it depends on, or,
    not given, an answer that stands for it."""
    if getattr(given, question.name) is None and _given_instead(question, given):
        return True
    return all(d in known for d in question.depends_on)


class _Settle(Policy):
    """The answers known without asking: given (validated: a bad one raises) or not
    asked (defaults), each once the answers it depends on are known."""

    def __init__(self, given: Answers):
        self.given = given

    def ready(self, question: Question, known: Resolved) -> bool:
        return _inputs_known(question, known, self.given)

    def raw(self, question: Question, known: Resolved) -> Any:
        raw = getattr(self.given, question.name)
        if raw is None and (
            _asked(question, known, self.given) or question.default is None
        ):
            return UNSETTLED  # asked, or required: not known without asking
        return raw


class _Ask(Policy):
    """An interactive session: each answer not given and asked is asked (given the
    answers before it), the others take their defaults; the answers known before
    asking (``known``) are not resolved again."""

    def __init__(self, given: Answers, known: Resolved):
        self.given = given
        self.known = known

    def raw(self, question: Question, resolved: Resolved) -> Any:
        value = getattr(self.given, question.name)
        if value is not None:
            return value
        if _asked(question, resolved, self.given):
            return ask_question(question, resolved)
        if question.menu_empty and question.when(resolved):
            typer.echo(_fill(question.menu_empty, resolved))
        return question.default_for(resolved)

    def resolve(self, question: Question, raw: Any, resolved: Resolved) -> Any:
        if question.name in self.known:
            return self.known[question.name]
        return question.resolve(raw, resolved)


def ask_missing(given: Answers) -> Answers:
    """Ask for every answer that ``given`` lacks and that applies, in table order.

    The given answers are checked first (those whose inputs are known), so no question
    is asked in vain. Returns the answers, every one explicit.
    """
    known = walk(_Settle(given)).resolved
    _check_given_for_every_choice(given, known)
    return Answers(**walk(_Ask(given, known)).raw)


def _check_given_for_every_choice(given: Answers, known: Resolved) -> None:
    """The given answers that depend on a choice still to be asked that depends on
    nothing (the recipe, which the model type, loss and metrics follow), checked
    against each of its choices: if they fit none, the error for its default choice
    is raised before any question (a bad flag never costs a question)."""
    for question in ANSWERS:
        if (
            question.name in known
            or question.depends_on
            or question.choices is None
            or question.kind.repeated
            or not _asked(question, known, given)
        ):
            continue
        errors: dict[str, UserError] = {}
        for value, _ in question.offered(known) or ():
            try:
                chosen: dict[str, Any] = {question.name: value}
                walk(_Settle(dataclasses.replace(given, **chosen)))
            except UserError as error:
                errors[value] = error
            else:
                break
        else:
            default = question.unparse(
                question.resolve(question.default_for(known), known)
            )
            if errors:
                raise errors.get(default) or next(iter(errors.values()))


class _MissingFlags(Policy):
    """The options whose answers a session would ask for, in ``missing``: the
    questions of a session in which every asked answer takes its default. A bad or a
    required answer stays unknown, and so do the answers depending on it."""

    def __init__(self, given: Answers):
        self.given = given
        self.missing: list[str] = []

    def ready(self, question: Question, known: Resolved) -> bool:
        return _inputs_known(question, known, self.given)

    def raw(self, question: Question, known: Resolved) -> Any:
        raw = getattr(self.given, question.name)
        if raw is None and _asked(question, known, self.given):
            self.missing.append(question.option)
        return raw

    def skipped(self, question: Question, known: Resolved) -> Any:
        if (
            getattr(self.given, question.name) is None
            and question.prompt is not None
            and _asked_whatever_its_inputs(question)
        ):
            self.missing.append(question.option)
        return None

    def failed(self, question: Question, error: UserError) -> None:
        pass


def missing_flags(given: Answers) -> list[str]:
    """The options whose answers would be asked (to explain a non-terminal failure)."""
    policy = _MissingFlags(given)
    walk(policy)
    return policy.missing


def _asked_whatever_its_inputs(question: Question) -> bool:
    """Whether a question is asked before the answers it depends on are known: it
    always applies and is not a single-valued choice (which may be left with one)."""
    try:
        if not question.when(_Unknown()):
            return False
    except KeyError:
        return False
    return question.choices is None or question.kind.repeated


class _Unknown(dict):
    """Answers not known yet: a ``when`` that reads one is conditional."""

    def __getitem__(self, key):
        raise KeyError(key)

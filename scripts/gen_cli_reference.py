"""Write docs/cli.md from the code: `python scripts/gen_cli_reference.py`.

The page is ``scripts/cli.md.jinja`` rendered with data read from the package: every
command, argument and option of the Typer app (so a new command or option appears
without an edit here), the answers of ``new`` and ``update`` from the answer table
(``answer_table.ANSWERS``: flag, help, the default column ``readme_default``, what
``update`` does with it), and what the listing commands print (``recipes``,
``losses``, ``metrics``, ``tasks``: run in-process, their columns turned into tables).
The prose around them (prompts, output, errors, environment) is the page template's.

`--check` writes nothing and exits 1 when the committed page differs from what the code
produces now (tests/generator/test_docs.py runs it). Imports neither keras nor jax.
"""

from __future__ import annotations

import inspect
import itertools
import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root, for `scripts`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.generated_page import render_page, write_or_check

ROOT = Path(__file__).resolve().parents[1]
PAGE_TEMPLATE = Path(__file__).resolve().with_name("cli.md.jinja")
PROGRAM = "keras-jax-scaffold"
# Commands whose output is a table of what the generator knows: shown on the page.
LISTINGS = ("recipes", "losses", "metrics", "tasks")
# The page of docs/ that explains a command (by its first word), linked below its help.
GUIDES = {
    "new": ("Getting started", "getting-started.md"),
    "update": ("Updating a project", "update.md"),
    "check": ("Checking your steps", "check.md"),
    "recipes": ("Recipes", "recipes.md"),
    "losses": ("Tasks, losses and metrics", "tasks-losses-metrics.md"),
    "metrics": ("Tasks, losses and metrics", "tasks-losses-metrics.md"),
    "tasks": ("Tasks, losses and metrics", "tasks-losses-metrics.md"),
    "templates": ("Custom templates", "templates.md"),
}


def _commands():
    """``[(path, click command)]`` for every command, groups' commands included."""
    import typer.main
    from keras_jax_scaffold.cli import app

    found = []

    def walk(command, path):
        for name, sub in command.commands.items():
            if hasattr(sub, "commands"):
                walk(sub, (*path, name))
            else:
                found.append(((*path, name), sub))

    walk(typer.main.get_command(app), ())
    return found


def _argument(param) -> str:
    name = param.metavar or param.name.upper()
    if param.nargs == -1:
        name += " ..."
    return name if param.required else f"[{name}]"


def _flags(param) -> str:
    return ", ".join(f"`{flag}`" for flag in [*param.opts, *param.secondary_opts])


def _default(param) -> str:
    if param.default is None or param.default == ():
        return ""
    if param.default is False and getattr(param, "is_flag", False):
        return "off"
    return f"`{param.default}`"


def _without_default(text: str) -> str:
    """A help text without its closing "Default: ..." (the table has a column)."""
    head, found, _ = text.rpartition(" Default: ")
    return head if found else text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def command_data(path: tuple[str, ...], command) -> dict:
    """What the page prints of one command."""
    from keras_jax_scaffold.answer_table import ANSWERS

    answers = {q.name: q for q in ANSWERS}
    name = " ".join(path)
    is_answer_command = path in (("new",), ("update",))
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option"]
    usage = " ".join([PROGRAM, name, *map(_argument, arguments), "[OPTIONS]"])
    rows, answer_rows = [], []
    for param in [*arguments, *options]:
        question = answers.get(param.name) if is_answer_command else None
        flags = _flags(param) if param.param_type_name == "option" else _argument(param)
        if param.param_type_name == "argument":
            flags = f"`{flags}`"
        repeatable = " (repeatable)" if param.multiple else ""
        if question is None:
            rows.append(
                (flags, _cell((param.help or "") + repeatable), _default(param))
            )
        elif name == "new":
            text = _without_default(question.help)
            answer_rows.append((flags, _cell(text), _cell(question.readme_default)))
        else:
            answer_rows.append((flags, _cell(param.help or ""), ""))
    return {
        "name": name,
        "anchor": "-".join(path),
        "usage": usage,
        "help": inspect.cleandoc(command.help or ""),
        "guide": GUIDES.get(path[0]),
        "answers": answer_rows,
        "options": rows,
        "listing": listing(path[0]) if path[0] in LISTINGS and len(path) == 1 else None,
    }


def listing(command: str) -> dict:
    """The table a listing command prints, as ``{"header": [...], "rows": [...]}``,
    its columns found from the dashed line under the header."""
    from keras_jax_scaffold.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [command])
    if result.exit_code != 0:
        raise RuntimeError(f"{command} failed: {result.output}")
    lines = result.stdout.splitlines()
    spans = [m.span() for m in re.finditer(r"-+", lines[1])]
    starts = [start for start, _ in spans] + [None]

    def cells(line: str) -> list[str]:
        return [_cell(line[a:b]) for a, b in itertools.pairwise(starts)]

    return {"header": cells(lines[0]), "rows": [cells(line) for line in lines[2:]]}


def page_data() -> dict:
    from keras_jax_scaffold import __version__

    commands = [command_data(path, command) for path, command in _commands()]
    return {"commands": commands, "program": PROGRAM, "version": __version__}


def render_reference() -> str:
    """The text of docs/cli.md."""
    return render_page(PAGE_TEMPLATE, page_data())


def reference_path(root: Path) -> Path:
    return root / "docs" / "cli.md"


def main(argv: list[str]) -> int:
    path = reference_path(ROOT)
    return write_or_check(ROOT, path, render_reference(), "gen_cli_reference.py", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The templates as data, for `keras-jax-scaffold templates ...` and the reference page.

Names are the ones templates use (``partials/steps.py.jinja``). A built-in template's
one-line description is its first line, a Jinja comment ``{#- ... -#}``. With template
directories (``--template-dir``, then the project-local one) a name resolves the way
rendering resolves it: the first directory that has the file wins, then the built-in.
Nothing here imports keras or jax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.plan import FileChange, conflicts, plan_writes
from keras_jax_scaffold.render import (
    BUILTIN_PREFIX,
    TEMPLATE_SUFFIX,
    builtin_template_dir,
    builtin_template_names,
    suggest_template,
)

# The first line of a template: a Jinja comment, whitespace-trimmed or not.
_DESCRIPTION = re.compile(r"^\{#-?\s*(.*?)\s*-?#\}\s*$")


def read_template(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read template {str(path)!r}: {error}") from None


def description(source: str) -> str:
    """The first-line comment ``{#- ... -#}`` of a template, or ``""``."""
    first = source.split("\n", 1)[0]
    match = _DESCRIPTION.match(first)
    return match.group(1) if match else ""


def builtin_source(name: str) -> str:
    return read_template(builtin_template_dir() / name)


def blocks(source: str, name: str = "<template>") -> list[str]:
    """The names of the ``{% block %}``s a template defines, in source order."""
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    try:
        tree = env.parse(source, name=name)
    except jinja2.TemplateSyntaxError as error:
        raise UserError(f"{name}:{error.lineno}: {error.message}") from None
    return [node.name for node in tree.find_all(jinja2.nodes.Block)]


def user_template_names(directory: Path) -> list[str]:
    """Every ``*.jinja`` file under ``directory`` (hidden folders skipped), as a name."""
    names = []
    for path in directory.rglob(f"*{TEMPLATE_SUFFIX}"):
        relative = path.relative_to(directory)
        if path.is_file() and not any(p.startswith(".") for p in relative.parts):
            names.append(relative.as_posix())
    return sorted(names)


def unknown_template(name: str, names) -> UserError:
    return UserError(
        f"unknown template {name!r}{suggest_template(name, names)}; "
        "see `keras-jax-scaffold templates list`"
    )


@dataclass(frozen=True)
class TemplateInfo:
    """One template name and the file that renders it."""

    name: str
    path: Path  # the file used: the first user directory's, else the built-in
    status: str  # "built-in" | "overridden" (a user file replaces a built-in) | "user"
    description: str  # the effective file's first-line comment, else the built-in's

    @property
    def source(self) -> str:
        return read_template(self.path)


def templates(template_dirs: tuple[Path, ...] = ()) -> list[TemplateInfo]:
    """Every template rendering can use: the built-ins, overridden or not, then the
    user templates that override nothing."""
    builtin_names = builtin_template_names()
    user: dict[str, Path] = {}
    for directory in template_dirs:
        for name in user_template_names(directory):
            user.setdefault(name, directory / name)
    result = []
    for name in builtin_names:
        builtin_text = description(builtin_source(name))
        if name in user:
            own = description(read_template(user[name]))
            result.append(
                TemplateInfo(name, user[name], "overridden", own or builtin_text)
            )
        else:
            path = builtin_template_dir() / name
            result.append(TemplateInfo(name, path, "built-in", builtin_text))
    for name in sorted(set(user) - set(builtin_names)):
        own = description(read_template(user[name]))
        result.append(TemplateInfo(name, user[name], "user", own))
    return result


def find(name: str, template_dirs: tuple[Path, ...] = ()) -> TemplateInfo:
    """The template ``name`` resolves to; ``builtin/NAME`` is always the built-in."""
    builtin_names = builtin_template_names()
    prefix = f"{BUILTIN_PREFIX}/"
    if name.startswith(prefix):
        bare = name[len(prefix) :]
        if bare not in builtin_names:
            raise unknown_template(name, [prefix + n for n in builtin_names])
        path = builtin_template_dir() / bare
        return TemplateInfo(name, path, "built-in", description(read_template(path)))
    available = templates(template_dirs)
    for info in available:
        if info.name == name:
            return info
    raise unknown_template(name, [info.name for info in available])


def export_plan(
    directory: Path, names: list[str] | tuple[str, ...] = (), force: bool = False
) -> list[FileChange]:
    """What `templates export DIR [NAME ...]` would write: every built-in (or the named
    ones) at its relative path under ``directory``.

    Raises UserError (nothing written) for an unknown name or an existing different
    file without ``force``; `write.apply` checks that the files can be written.
    """
    builtin_names = builtin_template_names()
    prefix = f"{BUILTIN_PREFIX}/"
    chosen = []
    for name in names:
        bare = name.removeprefix(prefix)
        if bare not in builtin_names:
            raise unknown_template(name, builtin_names)
        chosen.append(bare)
    chosen = list(dict.fromkeys(chosen)) or builtin_names
    files = {name: builtin_source(name) for name in chosen}
    planned = plan_writes(files, directory, force)
    refused = conflicts(planned)
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise UserError(
            f"{str(directory / refused[0])!r}{more} exists and differs from the "
            "built-in template; use --force to overwrite it"
        )
    return planned

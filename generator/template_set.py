"""The templates as one object: where each name is found, the Jinja environment that
renders them, and what `templates list/show/export` and the reference page read.

Lookup, used by rendering and listing alike: each user directory in order
(``--template-dir``s, then the project-local ``.keras-jax-scaffold/templates``), then
the built-ins; the first directory that has the file wins. ``builtin/NAME`` always names
the built-in, so a user template can ``{% extends "builtin/NAME" %}`` the file it
replaces. Names are the ones templates use (``partials/steps.py.jinja``).

User templates render in Jinja's sandbox (built-ins too: they need nothing it forbids).
Importing this module imports neither black, keras, jax nor the pipeline.
"""

from __future__ import annotations

import functools
import re
import textwrap
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
import jinja2.sandbox

from .cache import template_bytecode_cache
from .errors import UserError, did_you_mean
from .layout import LOCAL_TEMPLATE_DIR

BUILTIN_PREFIX = "builtin"
TEMPLATE_SUFFIX = ".jinja"
# The first line of a template: a Jinja comment, whitespace-trimmed or not.
_DESCRIPTION = re.compile(r"^\{#-?\s*(.*?)\s*-?#\}\s*$")


@functools.cache
def builtin_template_dir() -> Path:
    return Path(str(resources.files("keras_jax_scaffold.templates")))


@functools.cache
def _resolved_builtin_dir() -> Path:
    return builtin_template_dir().resolve()


@functools.cache
def builtin_template_names() -> tuple[str, ...]:
    """Every built-in template, as the name templates use (``partials/data.py.jinja``)."""
    root = builtin_template_dir()
    return tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jinja")))


def template_files(directory: Path) -> list[str]:
    """Every ``*.jinja`` file under ``directory`` (hidden folders skipped), as a name."""
    names = []
    for path in directory.rglob(f"*{TEMPLATE_SUFFIX}"):
        relative = path.relative_to(directory)
        if path.is_file() and not any(p.startswith(".") for p in relative.parts):
            names.append(relative.as_posix())
    return sorted(names)


def find_local_template_dir(start: Path) -> Path | None:
    """The nearest ``.keras-jax-scaffold/templates`` in ``start`` or a parent of it."""
    directory = start.resolve()
    for candidate in (directory, *directory.parents):
        if (candidate / LOCAL_TEMPLATE_DIR).is_dir():
            return candidate / LOCAL_TEMPLATE_DIR
    return None


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


def reindent(text: str, width: int) -> str:
    """``text`` with its common indentation replaced by ``width`` spaces.

    The filter around every indented block of the built-in templates: a block override
    renders the same whether its lines are written flush-left or indented by any
    common amount. Blank lines stay empty.
    """
    pad = " " * width
    lines = textwrap.dedent(str(text)).split("\n")
    return "\n".join(pad + line if line.strip() else line for line in lines)


def closest_template(name: str, names) -> str | None:
    """The template of ``names`` closest to ``name``: by the whole name, else by the
    file name alone (``steps`` -> ``partials/steps.py.jinja``)."""
    import difflib

    names = list(names)
    close = difflib.get_close_matches(name, names, n=1)
    if not close:
        by_file: dict[str, str] = {}
        for candidate in names:
            by_file.setdefault(Path(candidate).name, candidate)
        given = Path(name).name
        if given and not given.endswith(TEMPLATE_SUFFIX):
            starts = [f for f in by_file if f.startswith(given + ".")]
            close = starts[:1]
        close = close or difflib.get_close_matches(given, list(by_file), n=1)
        close = [by_file[c] for c in close]
    return close[0] if close else None


def suggest_template(name: str, names) -> str:
    """`` (did you mean 'x'?)`` for :func:`closest_template`, or ``""``."""
    close = closest_template(name, names)
    return f" (did you mean {close!r}?)" if close else ""


def unknown_template(name: str, names) -> UserError:
    return UserError(
        f"unknown template {name!r}{suggest_template(name, names)}; "
        "see `keras-jax-scaffold templates list`"
    )


def parse(source: str, name: str) -> jinja2.nodes.Template:
    """The Jinja syntax tree of ``source``; a syntax error is ``FILE:LINE: message``."""
    try:
        return _PARSER.parse(source, name=name)
    except jinja2.TemplateSyntaxError as error:
        raise UserError(f"{name}:{error.lineno}: {error.message}") from None


def blocks(source: str, name: str = "<template>") -> list[str]:
    """The names of the ``{% block %}``s a template defines, in source order."""
    return [node.name for node in parse(source, name).find_all(jinja2.nodes.Block)]


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


class _Loader(jinja2.BaseLoader):
    """Jinja's view of a TemplateSet: every name resolves through ``TemplateSet.path``."""

    def __init__(self, template_set: TemplateSet):
        self.template_set = template_set

    def get_source(self, environment, template):
        path = self.template_set.path(template)
        if path is None:
            raise jinja2.TemplateNotFound(template)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"cannot read template {str(path)!r}: {error}") from None
        mtime = path.stat().st_mtime
        return source, str(path), lambda: path.stat().st_mtime == mtime


class RecordingEnvironment(jinja2.sandbox.SandboxedEnvironment):
    """A sandboxed environment that remembers which template files a render loaded
    (the file rendered and every include/extends/import), for error messages and for
    saying which user templates took part."""

    loaded: list[str]

    def get_template(self, name, parent=None, globals=None):
        template = super().get_template(name, parent, globals)
        if template.filename:
            self.loaded.append(template.filename)
        return template


class TemplateSet:
    """The built-in templates, overridden file by file by ``directories`` (first wins)."""

    def __init__(self, directories: tuple[Path, ...] = ()):
        self.directories = tuple(directories)
        self._user_files: dict[str, Path] | None = None

    @classmethod
    def search(cls, template_dirs: tuple[Path, ...], start: Path) -> TemplateSet:
        """``template_dirs`` (each must exist), then the project-local directory found in
        ``start`` or a parent, if any."""
        for directory in template_dirs:
            if not directory.is_dir():
                raise UserError(f"template directory {str(directory)!r} does not exist")
        local = find_local_template_dir(start)
        extra = (local,) if local is not None and local not in template_dirs else ()
        return cls((*template_dirs, *extra))

    # ----------------------------------------------------------------- lookup

    def path(self, name: str) -> Path | None:
        """The file ``name`` resolves to, or None."""
        prefix = f"{BUILTIN_PREFIX}/"
        if name.startswith(prefix):
            bare = name[len(prefix) :]
            builtin = bare in builtin_template_names()
            return builtin_template_dir() / bare if builtin else None
        if name in self.user_files():
            return self.user_files()[name]
        if name in builtin_template_names():
            return builtin_template_dir() / name
        return None

    def user_files(self) -> dict[str, Path]:
        """``{name: file}`` of every user template, the first directory's winning.

        A copy identical to the built-in it would replace is the built-in (e.g. from
        `templates export`): it changes nothing and is not listed.
        """
        if self._user_files is None:
            found: dict[str, Path] = {}
            for directory in self.directories:
                for name in template_files(directory):
                    found.setdefault(name, directory / name)
            self._user_files = {
                name: path
                for name, path in sorted(found.items())
                if name not in builtin_template_names()
                or read_template(path) != builtin_source(name)
            }
        return self._user_files

    def is_builtin_file(self, filename: str) -> bool:
        return Path(filename).resolve().is_relative_to(_resolved_builtin_dir())

    # ----------------------------------------------------------------- listing

    def templates(self) -> list[TemplateInfo]:
        """Every template rendering can use: the built-ins, overridden or not, then the
        user templates that override nothing."""
        user = self.user_files()
        result = []
        for name in builtin_template_names():
            builtin_text = description(builtin_source(name))
            if name in user:
                own = description(read_template(user[name]))
                result.append(
                    TemplateInfo(name, user[name], "overridden", own or builtin_text)
                )
            else:
                path = builtin_template_dir() / name
                result.append(TemplateInfo(name, path, "built-in", builtin_text))
        for name in sorted(set(user) - set(builtin_template_names())):
            own = description(read_template(user[name]))
            result.append(TemplateInfo(name, user[name], "user", own))
        return result

    def unused_names(self) -> list[str]:
        """User templates that are no built-in's name and that no user template
        extends, includes or imports: no layout can use them."""
        wanted: set[str] = set()
        for path in self.user_files().values():
            wanted |= referenced(parse(read_template(path), str(path)))
        return [
            name
            for name in self.user_files()
            if name not in builtin_template_names() and name not in wanted
        ]

    def find(self, name: str) -> TemplateInfo:
        """The template ``name`` resolves to; ``builtin/NAME`` is always the built-in."""
        prefix = f"{BUILTIN_PREFIX}/"
        if name.startswith(prefix):
            path = self.path(name)
            if path is None:
                names = [prefix + n for n in builtin_template_names()]
                raise unknown_template(name, names)
            return TemplateInfo(
                name, path, "built-in", description(read_template(path))
            )
        available = self.templates()
        for info in available:
            if info.name == name:
                return info
        raise unknown_template(name, [info.name for info in available])

    def sources(self) -> list[tuple[Path, list[str]]]:
        """``[(directory, [name, ...]), ...]``: the templates taken from each user
        directory (a file shadowed by an earlier directory is not taken)."""
        taken: dict[Path, list[str]] = {}
        for name, path in sorted(self.user_files().items()):
            directory = path.parents[len(Path(name).parts) - 1]
            taken.setdefault(directory, []).append(name)
        return [(d, taken[d]) for d in self.directories if d in taken]

    def source_lines(self) -> list[str]:
        """What a command prints when user templates take part: one line per
        directory with the templates taken from it."""
        return [
            f"templates from {directory}: {', '.join(names)}"
            for directory, names in self.sources()
        ]

    def source_labels(self) -> list[str]:
        """``["my-templates/partials/steps.py.jinja", ...]``: every user template
        taken, under its directory's name (no absolute paths: output stays the same
        wherever the directory is)."""
        labels = []
        for directory, names in self.sources():
            local = directory.as_posix().endswith(LOCAL_TEMPLATE_DIR)
            label = LOCAL_TEMPLATE_DIR if local else directory.name
            labels += [f"{label}/{name}" for name in names]
        return labels

    def defined_blocks(self, name: str, seen: tuple[str, ...] = ()) -> set[str]:
        """Every block template ``name`` defines or inherits (through `extends`)."""
        path = self.path(name)
        if path is None or name in seen:
            return set()
        tree = parse(read_template(path), str(path))
        found = {node.name for node in tree.find_all(jinja2.nodes.Block)}
        for parent in _extended(tree):
            found |= self.defined_blocks(parent, (*seen, name))
        return found

    def check_blocks(self) -> None:
        """UserError for a block override that its parent template does not define
        (Jinja would silently render nothing for it)."""
        for name, path in sorted(self.user_files().items()):
            tree = parse(read_template(path), str(path))
            for parent in _extended(tree):
                known = self.defined_blocks(parent)
                if self.path(parent) is None:
                    continue  # rendering reports the missing template with its line
                for node in tree.body:
                    if isinstance(node, jinja2.nodes.Block) and node.name not in known:
                        raise UserError(
                            f"{path}:{node.lineno}: block {node.name!r} is not a block "
                            f"of {parent!r}, so it would change nothing"
                            f"{self._block_hint(node.name, known)}"
                        )

    def _block_hint(self, block: str, known: set[str]) -> str:
        close = did_you_mean(block, sorted(known))
        if close:
            return close
        owners = [
            n for n in builtin_template_names() if block in self.defined_blocks(n)
        ]
        # The template that defines it first, before those that inherit it (recipes).
        owners.sort(key=lambda n: block not in blocks(builtin_source(n), n))
        if owners:
            return (
                f"; it is a block of {owners[0]!r}: extend "
                f'"{BUILTIN_PREFIX}/{owners[0]}" in a file named {owners[0]!r}'
            )
        return f"; its blocks: {', '.join(sorted(known)) or 'none'}"

    # ----------------------------------------------------------------- rendering

    @functools.cached_property
    def environment(self) -> RecordingEnvironment:
        """The one Jinja environment: sandboxed, strict, blocks re-indented."""
        env = RecordingEnvironment(
            loader=_Loader(self),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,
        )
        env.filters["reindent"] = reindent
        env.loaded = []
        env.bytecode_cache = template_bytecode_cache(env)  # compiled templates, reused
        return env


def _extended(tree: jinja2.nodes.Template) -> list[str]:
    """The names a template ``{% extends %}`` (constant names only)."""
    return [
        node.template.value
        for node in tree.find_all(jinja2.nodes.Extends)
        if isinstance(node.template, jinja2.nodes.Const)
    ]


def referenced(tree: jinja2.nodes.Template) -> set[str]:
    """The template names a template extends, includes or imports (constants only)."""
    import jinja2.meta

    return {n for n in jinja2.meta.find_referenced_templates(tree) if n}


def builtin_source(name: str) -> str:
    return read_template(builtin_template_dir() / name)


def export_plan(
    directory: Path, names: list[str] | tuple[str, ...] = (), force: bool = False
) -> list:
    """What `templates export DIR [NAME ...]` would write (``plan.FileChange``s): every
    built-in (or the named ones) at its relative path under ``directory``.

    Raises UserError (nothing written) for an unknown name or an existing different
    file without ``force``; `write.apply` checks that the files can be written.
    """
    from .plan import conflicts, plan_writes

    builtin_names = builtin_template_names()
    prefix = f"{BUILTIN_PREFIX}/"
    chosen = []
    for name in names:
        bare = name.removeprefix(prefix)
        if bare not in builtin_names:
            raise unknown_template(name, builtin_names)
        chosen.append(bare)
    chosen = list(dict.fromkeys(chosen)) or list(builtin_names)
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


# Parses templates for their blocks and references (never renders).
_PARSER = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)

"""Context -> rendered files (in memory), with strict undefined and located errors.

Templates are looked up in the user's template directories first (``--template-dir``,
then the project-local ``.keras-jax-scaffold/templates``), then in the built-ins: a
Jinja ``ChoiceLoader``, so a user directory overrides single templates (partials and
macros included) and everything else falls back. ``builtin/NAME`` always names the
built-in template, so a user template can ``{% extends "builtin/NAME" %}`` the file it
overrides and replace one block.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
from keras_jax_scaffold.cache import template_bytecode_cache
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.layout import OutputFile

BUILTIN_PREFIX = "builtin"
TEMPLATE_SUFFIX = ".jinja"


def builtin_template_dir() -> Path:
    return Path(str(resources.files("keras_jax_scaffold.templates")))


def builtin_template_names() -> list[str]:
    """Every built-in template, as the name templates use (``partials/data.py.jinja``)."""
    root = builtin_template_dir()
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jinja"))


@dataclass(frozen=True)
class Rendered:
    """One rendered (not yet formatted) file and where its source came from."""

    path: str  # output path, relative to the output directory
    source: str
    template: str  # template name, e.g. "module.py.jinja"
    template_file: str  # the file that rendered it (user override or built-in)
    user_templates: tuple[str, ...]  # user template files that took part, load order


class _RecordingEnvironment(jinja2.Environment):
    """An Environment that remembers which template files each render loaded
    (the file rendered and every include/extends/import), for error messages."""

    loaded: list[str]

    def get_template(self, name, parent=None, globals=None):
        template = super().get_template(name, parent, globals)
        if template.filename:
            self.loaded.append(template.filename)
        return template


def make_environment(template_dirs: tuple[Path, ...] = ()) -> _RecordingEnvironment:
    """A Jinja environment: user directories first, then the built-in templates."""
    builtin = jinja2.FileSystemLoader(str(builtin_template_dir()))
    loaders = [jinja2.PrefixLoader({BUILTIN_PREFIX: builtin})]
    loaders += [jinja2.FileSystemLoader(str(d)) for d in template_dirs]
    loaders.append(builtin)
    env = _RecordingEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.loaded = []
    env.bytecode_cache = template_bytecode_cache(env)  # compiled templates, reused
    return env


def _location(error: Exception, default: str) -> str:
    """``file:line`` of the template frame that raised ``error``."""
    filename, lineno = getattr(error, "filename", None), getattr(error, "lineno", None)
    if filename and lineno:
        return f"{filename}:{lineno}"
    tb = error.__traceback__
    location = default
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith(".jinja"):
            location = f"{code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return location


def suggest_template(name: str, names) -> str:
    """`` (did you mean 'x'?)``: by the whole name, else by the file name alone."""
    names = list(names)
    close = difflib.get_close_matches(name, names, n=1)
    if not close:
        by_file = {}
        for candidate in names:
            by_file.setdefault(Path(candidate).name, candidate)
        given = Path(name).name
        if given and not given.endswith(TEMPLATE_SUFFIX):
            starts = [f for f in by_file if f.startswith(given + ".")]
            close = starts[:1]
        close = close or difflib.get_close_matches(given, list(by_file), n=1)
        close = [by_file[c] for c in close]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _not_found(name: str) -> str:
    names = builtin_template_names()
    if name.startswith(f"{BUILTIN_PREFIX}/"):
        names = [f"{BUILTIN_PREFIX}/{n}" for n in names]
    return f"template {name!r} not found{suggest_template(name, names)}"


def render_template(env: jinja2.Environment, name: str, context: dict) -> str:
    """Render template ``name``; any error becomes a UserError ``FILE:LINE: message``.

    The location is the template frame that failed (a user template's, when one did);
    a missing top-level template has none.
    """
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as error:
        location = _location(error, "")
        message = _not_found(error.name)
        raise UserError(f"{location}: {message}" if location else message) from None
    except jinja2.TemplateError as error:  # syntax errors, undefined names, ...
        raise UserError(f"{_location(error, name)}: {error.message}") from None
    except Exception as error:  # noqa: BLE001 - any failure inside a user template
        location = _location(error, name)
        raise UserError(f"{location}: {type(error).__name__}: {error}") from None


def render_files(
    context: dict,
    layout: tuple[OutputFile, ...],
    template_dirs: tuple[Path, ...] = (),
) -> dict[str, Rendered]:
    """``{output path: Rendered}`` for every file of ``layout``; nothing touches disk."""
    env = make_environment(template_dirs)
    builtin_dir = builtin_template_dir().resolve()
    rendered = {}
    for item in layout:
        env.loaded.clear()
        source = render_template(env, item.template, context)
        files = list(dict.fromkeys(env.loaded))
        user = tuple(
            f for f in files if not Path(f).resolve().is_relative_to(builtin_dir)
        )
        path = item.output_path(context)
        rendered[path] = Rendered(
            path=path,
            source=source,
            template=item.template,
            template_file=files[0] if files else item.template,
            user_templates=user,
        )
    return rendered

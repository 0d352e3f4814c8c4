"""Context -> rendered files (in memory), with strict undefined and located errors.

Templates come from a :class:`~keras_jax_scaffold.template_set.TemplateSet`: the user's
template directories first, then the built-ins, file by file.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from keras_jax_scaffold.errors import UserError
from keras_jax_scaffold.layout import OutputFile
from keras_jax_scaffold.template_set import (
    BUILTIN_PREFIX,
    TemplateSet,
    builtin_template_names,
    suggest_template,
)


@dataclass(frozen=True)
class Rendered:
    """One rendered (not yet formatted) file and where its source came from."""

    path: str  # output path, relative to the output directory
    source: str
    template: str  # template name, e.g. "module.py.jinja"
    template_file: str  # the file that rendered it (user override or built-in)
    user_templates: tuple[str, ...]  # user template files that took part, load order


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
    except UserError:
        raise
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
    templates: TemplateSet | None = None,
) -> dict[str, Rendered]:
    """``{output path: Rendered}`` for every file of ``layout``; nothing touches disk."""
    templates = templates or TemplateSet()
    env = templates.environment
    rendered = {}
    for item in layout:
        env.loaded.clear()
        source = render_template(env, item.template, context)
        files = list(dict.fromkeys(env.loaded))
        user = tuple(f for f in files if not templates.is_builtin_file(f))
        path = item.output_path(context)
        rendered[path] = Rendered(
            path=path,
            source=source,
            template=item.template,
            template_file=files[0] if files else item.template,
            user_templates=user,
        )
    return rendered

"""Context -> rendered files (in memory), with strict undefined and located errors."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2
from keras_jax_scaffold.errors import UserError

# One template per generated file, named after it.
MODULE_TEMPLATE = "module.py.jinja"


def builtin_template_dir() -> Path:
    return Path(str(resources.files("keras_jax_scaffold.templates")))


def make_environment(template_dirs: tuple[Path, ...] = ()) -> jinja2.Environment:
    """A Jinja environment: user directories first, then the built-in templates."""
    loaders = [jinja2.FileSystemLoader(str(d)) for d in template_dirs]
    loaders.append(jinja2.FileSystemLoader(str(builtin_template_dir())))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


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


def render_template(env: jinja2.Environment, name: str, context: dict) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as error:
        raise UserError(f"{_location(error, name)}: {error.message}") from None
    except jinja2.UndefinedError as error:
        raise UserError(f"{_location(error, name)}: {error.message}") from None
    except jinja2.TemplateNotFound as error:
        raise UserError(f"template not found: {error.name}") from None


def render_module(
    context: dict, template_dirs: tuple[Path, ...] = ()
) -> dict[str, str]:
    """``{relative path: source}`` for a single-module render."""
    env = make_environment(template_dirs)
    source = render_template(env, MODULE_TEMPLATE, context)
    return {f"{context['module_name']}.py": source}

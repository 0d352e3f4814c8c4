"""Context -> rendered files (in memory), with strict undefined and located errors.

Templates come from a :class:`~keras_jax_scaffold.template_set.TemplateSet`: the user's
template directories first, then the built-ins, file by file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .errors import UserError, did_you_mean
from .layout import LAYOUTS, OutputFile
from .template_set import (
    BUILTIN_PREFIX,
    TemplateSet,
    builtin_template_names,
    closest_template,
    parse,
    read_template,
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


class Vars(dict):
    """``vars`` as templates see it: the ``--var`` values, remembering which keys the
    templates read (and tried to read), so that a ``--var`` nothing reads is an error.
    """

    def __init__(self, given):
        super().__init__(given)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def _all(self):
        self.read.update(self.keys())

    def __iter__(self):
        self._all()
        return super().__iter__()

    def items(self):
        self._all()
        return super().items()

    def values(self):
        self._all()
        return super().values()


_MISSING_ATTRIBUTE = re.compile(r"Vars object' has no attribute '(\w+)'")


def _message(error: jinja2.TemplateError) -> str:
    """Jinja's message, said in the user's terms where Jinja's are obscure."""
    message = error.message or str(error)
    missing = _MISSING_ATTRIBUTE.search(message)
    if missing:
        key = missing.group(1)
        return (
            f"vars.{key} is not given: pass --var {key}=VALUE (or read it as "
            f"{{{{ vars.{key} | default('...') }}}} to make it optional)"
        )
    if isinstance(error, jinja2.exceptions.SecurityError):
        return f"{message} (templates render in Jinja's sandbox)"
    return message


def _not_found(name: str) -> str:
    names = list(builtin_template_names())
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
        message = _not_found(str(error.name))
        raise UserError(f"{location}: {message}" if location else message) from None
    except jinja2.TemplateError as error:  # syntax errors, undefined names, ...
        raise UserError(f"{_location(error, name)}: {_message(error)}") from None
    except Exception as error:  # noqa: BLE001 - any failure inside a user template
        location = _location(error, name)
        raise UserError(f"{location}: {type(error).__name__}: {error}") from None


def render_files(
    context: dict,
    layout: tuple[OutputFile, ...],
    templates: TemplateSet | None = None,
    recorded_vars: tuple[str, ...] = (),
    unread_vars: list[str] | None = None,
) -> dict[str, Rendered]:
    """``{output path: Rendered}`` for every file of ``layout``; nothing touches disk.

    Raises UserError when a user template cannot take effect: a block its parent does
    not define, a file the layout never loads, a ``--var`` no template reads (but for
    ``recorded_vars``, kept from a project's answers file: those that went unread are
    appended to ``unread_vars``, for `update` to note).
    """
    templates = templates or TemplateSet()
    templates.check_blocks()
    env = templates.environment
    variables = Vars(context.get("vars", {}))
    context = {**context, "vars": variables}
    rendered = {}
    loaded: set[str] = set()
    for item in layout:
        env.loaded.clear()
        template = item.template_name(context)
        source = render_template(env, template, context)
        files = list(dict.fromkeys(env.loaded))
        loaded.update(files)
        user = tuple(f for f in files if not templates.is_builtin_file(f))
        path = item.output_path(context)
        rendered[path] = Rendered(
            path=path,
            source=source,
            template=template,
            template_file=files[0] if files else template,
            user_templates=user,
        )
    _check_all_used(templates, loaded, layout)
    unread = _check_vars_read(templates, variables, recorded_vars)
    if unread_vars is not None:
        unread_vars.extend(unread)
    return rendered


def _layout_name(layout: tuple[OutputFile, ...]) -> str:
    names = {
        "module": "a module (`new NAME`)",
        "project": "a project (`new --project`)",
    }
    return next((names[k] for k, v in LAYOUTS.items() if v == layout), "this layout")


def _check_all_used(
    templates: TemplateSet, loaded: set[str], layout: tuple[OutputFile, ...]
) -> None:
    """Every user template (the first directory's, for each name) took part."""
    used_names = [
        name for name in builtin_template_names() if str(templates.path(name)) in loaded
    ] or [item.template for item in layout]
    for name, path in sorted(templates.user_files().items()):
        if str(path) in loaded:
            continue
        if name in builtin_template_names():
            instead = _instead(templates, path, used_names)
            raise UserError(
                f"{path}: {name!r} is not used when rendering {_layout_name(layout)}, "
                f"so this override would change nothing{instead}"
            )
        hint = suggest_template(name, builtin_template_names())
        raise UserError(
            f"{path}: {name!r} matches no template and no template includes it, so it "
            f"would change nothing{hint}"
        )


def _instead(templates: TemplateSet, path: Path, used: list[str]) -> str:
    """``; it uses 'X' instead``: the used template defining the override's blocks,
    else the used template with the closest name."""
    tree = parse(read_template(path), str(path))
    own = {n.name for n in tree.body if isinstance(n, jinja2.nodes.Block)}
    if own:
        for name in used:
            if own <= templates.defined_blocks(name):
                return f"; it uses {name!r} instead (blocks {', '.join(sorted(own))})"
    close = closest_template(path.name, used)
    return f"; it uses {close!r} instead" if close else ""


def _check_vars_read(
    templates: TemplateSet, variables: Vars, recorded: tuple[str, ...]
) -> list[str]:
    """The ``recorded`` variables no template read; UserError for any other."""
    unread = sorted(set(dict.keys(variables)) - variables.read - set(recorded))
    if not unread:
        return sorted(set(recorded) - variables.read)
    wanted = set()
    for path in templates.user_files().values():
        tree = parse(read_template(path), str(path))
        wanted |= {
            node.attr
            for node in tree.find_all(jinja2.nodes.Getattr)
            if isinstance(node.node, jinja2.nodes.Name) and node.node.name == "vars"
        }
    hint = did_you_mean(unread[0], sorted(wanted - set(dict.keys(variables))))
    raise UserError(
        f"--var {unread[0]}={dict.get(variables, unread[0])} is not read by any template{hint}; "
        "templates read it as {{ vars." + unread[0] + " }}"
    )

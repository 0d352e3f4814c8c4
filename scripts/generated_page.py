"""What the scripts that write a docs page share: render the page's Jinja template,
write it, or check that it is current.

``python scripts/gen_X.py`` writes the page; ``--check`` writes nothing and exits 1
when the committed page differs from what the code produces now.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2


def render_page(
    template: Path, data: dict, filters: dict[str, Callable] | None = None
) -> str:
    """``template`` (a ``.md.jinja`` file) rendered with ``data``: strict undefined
    names, block tags leave no blank lines."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template.parent)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(filters or {})
    return env.get_template(template.name).render(data)


def write_or_check(
    root: Path, path: Path, text: str, script: str, argv: list[str]
) -> int:
    """Write ``text`` to ``path`` (a page under ``root``), or with ``--check`` compare."""
    relative = path.relative_to(root).as_posix()
    if "--check" in argv:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            print(f"stale: {relative}; run: python scripts/{script}")
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    print(f"wrote {relative}")
    return 0

"""What the scripts that write a docs page share: write it, or check that it is current.

``python scripts/gen_X.py`` writes the page; ``--check`` writes nothing and exits 1
when the committed page differs from what the code produces now.
"""

from __future__ import annotations

from pathlib import Path


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

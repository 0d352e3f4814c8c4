"""Write docs/templates.md from the code: `python scripts/gen_template_reference.py`.

`--check` writes nothing and exits 1 when the committed page differs from what the code
produces now (tests/test_templates.py runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from keras_jax_scaffold.reference import reference_path, render_reference

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    path = reference_path(ROOT)
    text = render_reference()
    relative = path.relative_to(ROOT).as_posix()
    if "--check" in argv:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            print(f"stale: {relative}; run: python scripts/gen_template_reference.py")
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

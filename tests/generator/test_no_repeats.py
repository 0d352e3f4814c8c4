"""Code written once: no run of six or more identical lines stands twice within
generator/ or within templates/ (a shared piece belongs in one function, macro or
partial). Blank lines, comments, imports and lines of punctuation alone do not count,
as in the `duplicates` tool the developers run over a change."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = 6
_SKIPPED = ("#", "{#", "import ", "from ")


def _counted_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, line with its white space folded)`` of the lines that count."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        folded = " ".join(line.split())
        if re.search(r"\w", folded) and not folded.startswith(_SKIPPED):
            lines.append((number, folded))
    return lines


def repeated_runs(directory: Path, suffixes: tuple[str, ...]) -> list[str]:
    """``"a:LINE ~ b:LINE"`` for each run of RUN counted lines found in two places
    (the first line of each maximal repeat only), files below ``directory``."""
    places = defaultdict(list)
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or not path.name.endswith(suffixes):
            continue
        lines = _counted_lines(path.read_text(encoding="utf-8"))
        name = path.relative_to(directory).as_posix()
        for start in range(len(lines) - RUN + 1):
            window = tuple(text for _, text in lines[start : start + RUN])
            places[window].append((name, start, lines[start][0]))
    repeats, covered = [], set()
    for window, found in places.items():
        if len(found) < 2:
            continue
        (name_a, index_a, line_a), (name_b, index_b, line_b) = found[:2]
        if (name_a, index_a - 1, name_b, index_b - 1) in covered:
            covered.add((name_a, index_a, name_b, index_b))
            continue
        covered.add((name_a, index_a, name_b, index_b))
        repeats.append(f"{name_a}:{line_a} ~ {name_b}:{line_b}: {window[0]!r}")
    return repeats


@pytest.mark.parametrize(
    "folder, suffixes",
    [("generator", (".py",)), ("templates", (".jinja", ".py", ".toml", ".cfg"))],
)
def test_no_six_identical_lines_repeat(folder, suffixes):
    assert repeated_runs(ROOT / folder, suffixes) == []


def test_a_repeat_is_found(tmp_path):
    """Negative control: a six-line run written twice (in other white space and with
    comments between) is found once, at its first line; five lines are not."""
    body = "\n".join(f"value_{n} = compute({n})" for n in range(6))
    (tmp_path / "a.py").write_text(f"import os\n{body}\n", encoding="utf-8")
    spaced = body.replace(" = ", "  =  ").replace("\n", "\n# note\n\n", 1)
    (tmp_path / "b.py").write_text(f"x = 1\n{spaced}\n", encoding="utf-8")
    (tmp_path / "c.py").write_text(body.rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    assert repeated_runs(tmp_path, (".py",)) == [
        "a.py:2 ~ b.py:2: 'value_0 = compute(0)'"
    ]

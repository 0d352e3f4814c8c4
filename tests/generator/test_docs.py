"""The documentation: README as a front door, docs/ as a site, and both in step with the
code.

Fast: the README's length, its set-up commands (the ones .ci/run runs), its excerpt of
a generated ``train_step`` (what ``new`` writes), its links and anchors and those of
every page, every page in the site's nav and linked from the README, no tracker numbers
in user docs, the command-line reference (docs/cli.md) current and listing every
answer, the hand-written tables against the catalog and the recipes. Slow: the site
builds with ``mkdocs build --strict``, and fails on a broken link, anchor, repository
file or a page left out of the nav (negative controls).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from keras_jax_scaffold import __version__, catalog, recipes
from keras_jax_scaffold.answer_table import ANSWERS

from scripts import gen_cli_reference
from scripts.mkdocs_hooks import github_slug, heading_anchors
from tests.helpers.cli import assert_golden, new_module

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MKDOCS = ROOT / "scripts" / "mkdocs.yml"
MAX_README_LINES = 200
EXCERPT_MARKER = "<!-- excerpt of `keras-jax-scaffold new my_model --no-input`"
# Tracker references: "issue 13", "issues 11 and 13", "#13" (not "keras#19402", an
# upstream project's issue, nor an anchor "(#name)").
TRACKER = re.compile(r"\b[Ii]ssues? #?\d+|(?<![\w/#(])#\d+\b")


def user_docs() -> list[Path]:
    """The files users read: README, the pages, the examples' and benchmarks'
    READMEs, a generated project's README and the page templates."""
    return sorted(
        [
            README,
            *DOCS.rglob("*.md"),
            *(ROOT / "examples").rglob("README.md"),
            ROOT / "benchmarks" / "README.md",
            ROOT / "templates" / "project" / "README.md.jinja",
            *(ROOT / "scripts").glob("*.md.jinja"),
        ]
    )


def code_block_after(text: str, marker: str) -> str:
    """The fenced code block that follows ``marker``, without its fences."""
    after = text[text.index(marker) :]
    start = after.index("```")
    start = after.index("\n", start) + 1
    return after[start : after.index("\n```", start) + 1]


def excerpt_chunks(excerpt: str) -> list[str]:
    """The runs of lines between the ``...`` lines of an excerpt."""
    chunks, lines = [], []
    for line in excerpt.splitlines(keepends=True):
        if line.strip() == "...":
            chunks.append("".join(lines))
            lines = []
        else:
            lines.append(line)
    return [chunk for chunk in [*chunks, "".join(lines)] if chunk]


def excerpt_missing(excerpt: str, source: str) -> str | None:
    """The first run of ``excerpt`` not found in ``source`` (after the runs before
    it, in order); None when every run is there."""
    position = 0
    for chunk in excerpt_chunks(excerpt):
        found = source.find(chunk, position)
        if found < 0:
            return chunk
        position = found + len(chunk)
    return None


def links(markdown: str) -> list[str]:
    """The targets of a Markdown text's inline links, outside code."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def broken_links(page: Path) -> list[str]:
    """The relative links of a Markdown file whose file, or heading anchor in a
    Markdown file, does not exist."""
    broken = []
    for url in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", url):
            continue
        path, _, anchor = url.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(url)
        elif anchor and target.suffix == ".md":
            anchors = heading_anchors(target.read_text(encoding="utf-8"))
            broken += [url] if anchor not in anchors else []
    return broken


def nav_pages() -> list[str]:
    """The pages of the site's nav, as paths in docs/."""
    found = []

    def walk(entry):
        if isinstance(entry, str):
            found.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                walk(value)
        elif isinstance(entry, list):
            for item in entry:
                walk(item)

    walk(yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))["nav"])
    return found


# ---------------------------------------------------------------------- the README


def test_readme_is_a_front_door_of_at_most_200_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"


def test_readme_set_up_commands_are_the_ones_ci_runs():
    """Command 1 (install, generate, train) and command 2 (the tests) are the first
    two code blocks of the set-up section; .ci/run runs each part of them."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Set-up (two commands)") :]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    first = blocks[0].strip().split(" && ")
    second = blocks[1].split("#")[0].strip()
    ci = [
        line.strip().replace(" -q ", " ")
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    ]
    assert first[0] == "python3 -m venv .venv" and len(first) == 4
    for part in [*first, second]:
        assert part in ci, f"{part!r} is in the README's set-up but not in .ci/run"


def test_readme_excerpt_is_what_new_generates(tmp_path):
    """The README's train_step excerpt appears, run by run in order, in the module
    `new my_model --no-input` writes."""
    excerpt = code_block_after(README.read_text(encoding="utf-8"), EXCERPT_MARKER)
    assert excerpt.startswith("    def train_step(self, state, data):\n")
    assert len(excerpt_chunks(excerpt)) >= 2
    source = new_module(tmp_path, name="my_model")
    assert excerpt_missing(excerpt, source) is None, excerpt_missing(excerpt, source)


def test_excerpt_check_catches_a_changed_line_or_order(tmp_path):
    """Negative control: an edited line, or two runs swapped, are reported."""
    excerpt = code_block_after(README.read_text(encoding="utf-8"), EXCERPT_MARKER)
    source = new_module(tmp_path, name="my_model")
    edited = excerpt.replace("training=True", "training=False")
    assert excerpt_missing(edited, source) is not None
    chunks = excerpt_chunks(excerpt)
    swapped = "    ...\n".join([chunks[1], chunks[0], *chunks[2:]])
    assert excerpt_missing(swapped, source) == chunks[0]


def test_readme_names_every_recipe():
    text = README.read_text(encoding="utf-8")
    for name in recipes.RECIPE_INDEX:
        assert f"`{name}`" in text, name


# ------------------------------------------------------------------- links and nav


@pytest.mark.parametrize(
    "page", [README, *sorted(DOCS.rglob("*.md"))], ids=lambda p: p.name
)
def test_links_and_anchors_resolve(page):
    """Each relative link reaches a file of the repository, and each #anchor into a
    Markdown file a heading there, as GitHub makes anchors (the site makes the same:
    scripts/mkdocs_hooks.py)."""
    assert broken_links(page) == []


def test_link_check_catches_a_missing_file_and_anchor(tmp_path):
    """Negative control of ``broken_links``."""
    (tmp_path / "b.md").write_text("# B\n\n## Known `place`\n", encoding="utf-8")
    page = tmp_path / "a.md"
    page.write_text(
        "[ok](b.md#known-place) [gone](c.md) [no anchor](b.md#nowhere) "
        "[self](#a) [web](https://example.org/x) `[code](d.md)`\n\n# A\n",
        encoding="utf-8",
    )
    assert broken_links(page) == ["c.md", "b.md#nowhere"]


def test_github_slugs():
    """Anchors as GitHub makes them (no collapsing of dashes, punctuation dropped)."""
    assert github_slug("Keras's own test files") == "kerass-own-test-files"
    assert github_slug("templates list") == "templates-list"
    assert github_slug("Recipes: --recipe R") == "recipes---recipe-r"
    assert github_slug("Set-up (two commands)") == "set-up-two-commands"
    text = "# Title\n```\n# not a heading\n```\n## In a project: `data` files\n"
    assert heading_anchors(text) == {"title", "in-a-project-data-files"}


def test_every_page_is_in_the_nav_and_linked_from_the_readme():
    """The site and the front door list the same pages: every docs/*.md is in the nav
    of scripts/mkdocs.yml (the README is its home page, index.md) and the README
    links to it."""
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    nav = nav_pages()
    assert nav[0] == "index.md" and not (DOCS / "index.md").exists()
    assert sorted(nav[1:]) == pages
    readme_links = {url.partition("#")[0] for url in links(README.read_text("utf-8"))}
    assert [p for p in pages if f"docs/{p}" not in readme_links] == []


def test_no_tracker_numbers_in_user_docs():
    found = {
        path.relative_to(ROOT).as_posix(): TRACKER.findall(path.read_text("utf-8"))
        for path in user_docs()
    }
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_tracker_pattern_finds_issue_numbers():
    """Negative control: the forms a tracker number takes are found; an upstream
    project's issue and a heading anchor are not."""
    text = "Training runs (issue 13); issues 11 and 13; see #12. keras#19402 [x](#a1)"
    assert TRACKER.findall(text) == ["issue 13", "issues 11", "#12"]


# ------------------------------------------------------- reference and tables


def test_cli_reference_is_up_to_date():
    assert_golden(
        gen_cli_reference.reference_path(ROOT),
        gen_cli_reference.render_reference(),
        "python scripts/gen_cli_reference.py",
    )


def test_gen_cli_reference_check_detects_a_stale_page(tmp_path, monkeypatch):
    monkeypatch.setattr(gen_cli_reference, "ROOT", tmp_path)
    assert gen_cli_reference.main(["--check"]) == 1  # missing
    assert gen_cli_reference.main([]) == 0
    assert gen_cli_reference.main(["--check"]) == 0
    page = tmp_path / "docs" / "cli.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert gen_cli_reference.main(["--check"]) == 1


def test_cli_reference_lists_every_answer_with_its_default():
    """The answer table's every entry is a row of `new`'s table in docs/cli.md, with
    its default (``readme_default``); `update`'s table lists those it can change."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    new = text[text.index("## new\n") : text.index("## update\n")]
    update = text[text.index("## update\n") : text.index("## recipes\n")]

    def rows(section):
        return [r.split(" | ") for r in section.splitlines() if r.startswith("| `")]

    for question in ANSWERS:
        option = rf"`\[?{re.escape(question.option)}\]?`"
        found = [row for row in rows(new) if re.match(rf"\| {option}", row[0])]
        assert found, question.option
        assert found[0][-1].rstrip(" |") == question.readme_default, question.option
        changed = [row for row in rows(update) if re.match(rf"\| {option}", row[0])]
        assert bool(changed) == (question.update_help is not None), question.option


def test_cli_reference_shows_every_command():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for path, _ in gen_cli_reference._commands():
        assert f"\n## {' '.join(path)}\n" in text


def test_task_table_lists_the_catalog_tasks():
    text = (DOCS / "tasks-losses-metrics.md").read_text(encoding="utf-8")
    table = text[text.index("| task |") :].split("\n\n")[0].splitlines()[2:]
    assert [row.split("|")[1].split()[0] for row in table] == list(catalog.TASKS)


def test_changelog_has_a_section_for_this_version():
    text = (DOCS / "changelog.md").read_text(encoding="utf-8")
    assert f"\n## {__version__}\n" in text


# --------------------------------------------------------------------- the site


def build_site(root: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            *(sys.executable, "-m", "mkdocs", "build", "--strict"),
            *("-f", str(root / "scripts" / "mkdocs.yml"), "-d", str(site)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=root,
    )


@pytest.mark.slow
def test_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`: no warning (a link, anchor or page left out)."""
    completed = build_site(ROOT, tmp_path / "site")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "WARNING" not in output, output
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="cli/"' in home  # the README's docs/cli.md, as a page of the site


def _tree_copy(tmp_path: Path) -> Path:
    """What the site is built from, in a copy to break."""
    root = tmp_path / "repo"
    for name in ("docs", "scripts", "examples", "benchmarks"):
        shutil.copytree(
            ROOT / name, root / name, ignore=shutil.ignore_patterns("*.pyc")
        )
    shutil.copy(README, root / "README.md")
    return root


BREAKAGES = {
    "link to a page": (
        "docs/getting-started.md",
        "](cli.md#prompts)",
        "](clii.md)",
        "'clii.md', but the target is not found",
    ),
    "anchor": (
        "docs/getting-started.md",
        "](cli.md#prompts)",
        "](cli.md#promptz)",
        "does not contain an anchor '#promptz'",
    ),
    "anchor in the README": (
        "README.md",
        "](docs/recipes.md)",
        "](docs/recipes.md#nowhere)",
        "does not contain an anchor '#nowhere'",
    ),
    "repository file": (
        "docs/verification.md",
        "](../benchmarks/README.md)",
        "](../benchmarks/READYOU.md)",
        "'benchmarks/READYOU.md' is not a file of the repository",
    ),
    "page left out of the nav": (
        "scripts/mkdocs.yml",
        "  - Changelog: changelog.md\n",
        "",
        "changelog.md",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_site_build_fails_on_a_broken_link_anchor_or_nav(tmp_path, breakage):
    """Negative controls: each breakage makes the strict build fail, naming it."""
    path, old, new, message = BREAKAGES[breakage]
    root = _tree_copy(tmp_path)
    text = (root / path).read_text(encoding="utf-8")
    assert old in text
    (root / path).write_text(text.replace(old, new, 1), encoding="utf-8")
    completed = build_site(root, tmp_path / "site")
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output
    assert "WARNING" in output and message in output, output

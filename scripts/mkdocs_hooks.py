"""MkDocs hooks of the documentation site (scripts/mkdocs.yml).

The docs are written to be read on GitHub as well as on the site, so links are
relative to the Markdown file in the repository. These hooks make the site read them
the same way:

* the repository's README.md is the site's home page (``index.md``): the front door
  and the site are one text, and the strict build checks the README's links too;
* a link into docs/ (``docs/cli.md#new`` in the README, ``cli.md#new`` in a page)
  becomes a link between pages, which MkDocs checks, anchors included;
* a link to another file of the repository (``../examples/custom_templates/README.md``)
  must exist, else a warning fails the strict build; on the site it points to the
  file at ``repo_url`` when the config sets one, else it becomes its text and the
  file's path;
* headings get GitHub's anchors (:func:`github_slug`), so ``#anchor`` works on both.

Nothing here imports keras or jax.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from xml.etree import ElementTree as etree

ROOT = Path(__file__).resolve().parents[1]
DOCS = "docs"
HOME = "index.md"  # the site's name for README.md
README = "README.md"

log = logging.getLogger(f"mkdocs.hooks.{__name__}")


def github_slug(value: str, separator: str = "-") -> str:
    """A heading's anchor as GitHub makes it: lowercase, every character but letters,
    digits, ``_``, ``-`` and spaces dropped, each space a ``-`` (no collapsing)."""
    value = re.sub(r"[^\w\- ]", "", value.strip().lower())
    return value.replace(" ", separator)


def heading_anchors(markdown: str) -> set[str]:
    """The anchors of a Markdown text's ``#`` headings (outside code fences)."""
    anchors = set()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} (.+?)\s*#*$", line)):
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match[1])  # [x](y) -> x
            anchors.add(github_slug(text.replace("`", "").replace("*", "")))
    return anchors


def repo_path(src_uri: str) -> str:
    """The repository file a page of the site comes from."""
    return README if src_uri == HOME else f"{DOCS}/{src_uri}"


def resolve(page_repo_path: str, url: str) -> tuple[str, str] | None:
    """``(repository path, anchor)`` a relative link of a page points to; None for
    what is not a relative link to a file (a URL, ``mailto:``, ``#anchor`` alone)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) or url.startswith(("/", "#")):
        return None
    path, _, anchor = url.partition("#")
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page_repo_path), path))
    return target, anchor


class _RepositoryLinks:
    """Rewrites the links of the page being rendered (see the module docstring)."""

    def __init__(self) -> None:
        self.page_uri = ""
        self.repo_url = ""

    def run(self, root: etree.Element) -> None:
        page_repo_path = repo_path(self.page_uri)
        for element in root.iter("a"):
            url = element.get("href")
            found = resolve(page_repo_path, url) if url else None
            if found is None:
                continue
            target, anchor = found
            if target.startswith(f"{DOCS}/"):
                here = posixpath.dirname(self.page_uri) or "."
                page = posixpath.relpath(target[len(DOCS) + 1 :], here)
                element.set("href", page + (f"#{anchor}" if anchor else ""))
                continue
            if not (ROOT / target).exists() or target.startswith(".."):
                log.warning(
                    f"Doc file '{page_repo_path}' links to '{url}', but '{target}' is "
                    "not a file of the repository."
                )
                continue
            if self.repo_url:
                kind = "tree" if (ROOT / target).is_dir() else "blob"
                element.set("href", f"{self.repo_url.rstrip('/')}/{kind}/HEAD/{target}")
            else:  # the text, then the file's path: nothing MkDocs would resolve
                del element.attrib["href"]
                element.tag = "span"
                code = etree.SubElement(element, "code")
                code.text = target
                code.tail = ")"
                last = element[-2] if len(element) > 1 else None
                if last is None:
                    element.text = (element.text or "") + " ("
                else:
                    last.tail = (last.tail or "") + " ("


LINKS = _RepositoryLinks()


def on_config(config):
    import markdown

    class Treeprocessor(markdown.treeprocessors.Treeprocessor):
        def run(self, root):
            LINKS.run(root)

    class Extension(markdown.extensions.Extension):
        def extendMarkdown(self, md):
            # After the inline links exist (20), before MkDocs resolves them (0).
            md.treeprocessors.register(Treeprocessor(md), "repository_links", 2)

    LINKS.repo_url = config.repo_url or ""
    config.markdown_extensions.append(Extension())
    config.mdx_configs.setdefault("toc", {})["slugify"] = github_slug
    return config


def on_files(files, config):
    from mkdocs.structure.files import File

    if files.get_file_from_path(HOME) is not None:
        log.warning(f"docs/{HOME} would hide {README}, the site's home page")
        return files
    files.append(File.generated(config, HOME, abs_src_path=str(ROOT / README)))
    return files


def on_page_markdown(markdown, page, config, files):
    LINKS.page_uri = page.file.src_uri  # the page rendered next
    return markdown

"""MkDocs hooks: pages written from the code at build time, so they never drift from it.

(The config reference is generated into ``docs/config-reference.md`` itself, by
``make config-reference``, so that it reads the same in the repository.)

- ``benchmarks.md``: the marker ``<!-- benchmarks -->`` is replaced by ``BENCHMARKS.md`` and the
  suite's ``benchmarks/README.md`` from the repository root; their links to repository files
  (outside the site) become plain file names.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPO_LINK = re.compile(r"\[([^\]]+)\]\((?!https?:|#|mailto:)([^)]+)\)")


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Fill the generated parts of a page (the hook MkDocs calls for every page)."""
    if "<!-- benchmarks -->" in markdown:
        parts = [repo_file("BENCHMARKS.md", level=0), repo_file("benchmarks/README.md", level=1)]
        markdown = markdown.replace("<!-- benchmarks -->", "\n\n".join(parts))
    return markdown


def repo_file(name: str, level: int) -> str:
    """A Markdown file of the repository, headings pushed down ``level`` levels, repository
    links turned into file names (they point outside the site)."""
    text = (ROOT / name).read_text(encoding="utf-8")
    text = REPO_LINK.sub(lambda m: f"{m[1]} (`{m[2]}` in the repository)", text)
    if level:
        text = re.sub(r"^(#+) ", lambda m: "#" * (len(m[1]) + level) + " ", text, flags=re.M)
    return text

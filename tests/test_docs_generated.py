"""The numbers the docs quote from runs: every generated table is what its committed source file
gives, and every one is included by a page (so a page cannot quote another number)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
generate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate)

INCLUDE = re.compile(r'--8<-- "docs/generated/([\w-]+)\.md"')


def included() -> dict[str, list[str]]:
    """Each table's pages: those that include its file, and the files that hold it in a block."""
    pages: dict[str, list[str]] = {}
    for page in (ROOT / "docs").rglob("*.md"):
        for name in INCLUDE.findall(page.read_text(encoding="utf-8")):
            pages.setdefault(name, []).append(str(page.relative_to(ROOT)))
    for path in generate.BLOCK_FILES:
        for name in generate.blocks(path.read_text(encoding="utf-8")):
            pages.setdefault(name, []).append(path.name)
    return pages


def test_every_table_has_its_source_committed():
    assert set(generate.available()) == set(generate.TABLES)


@pytest.mark.parametrize("name", sorted(set(generate.TABLES) - generate.BLOCK_TABLES))
def test_a_generated_table_matches_its_source(name):
    """``make docs-tables`` rewrites the table; a hand edit or a stale table fails here."""
    committed = (ROOT / "docs" / "generated" / f"{name}.md").read_text(encoding="utf-8")
    assert committed == generate.TABLES[name](), f"docs/generated/{name}.md is stale"


@pytest.mark.parametrize("path", generate.BLOCK_FILES, ids=lambda p: p.name)
def test_a_generated_block_matches_its_source(path):
    """BENCHMARKS.md's tables between their markers are what the benchmark run's JSON gives."""
    found = generate.blocks(path.read_text(encoding="utf-8"))
    assert found and set(found) <= generate.BLOCK_TABLES
    for name, text in found.items():
        assert text == generate.TABLES[name](), f"{path.name}: block {name} is stale"


def test_every_generated_table_is_on_a_page_and_every_include_exists():
    pages = included()
    assert set(pages) == set(generate.TABLES)
    for name in set(pages) - generate.BLOCK_TABLES:
        assert (ROOT / "docs" / "generated" / f"{name}.md").is_file()

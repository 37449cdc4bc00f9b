"""The built documentation site shows nothing from outside: no font, script, style or image that
the browser would fetch from another host (the site is read on machines without a network).

The site is built with MkDocs into a temporary folder (the ``docs`` extra must be installed:
``make docs`` runs these tests after its build; elsewhere they are skipped, saying why). Links a
reader may click (``<a href>``) may point outside; what a page loads on its own may not: every
``src``, ``srcset``, ``poster`` and ``data`` attribute, the ``href`` of every ``<link>``, and
``url(...)``/``@import`` in inline styles and in the site's CSS files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).parents[1]
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")
LOADED = {"src", "srcset", "poster", "data"}
"""Attributes whose URLs the browser fetches by itself, on any element."""


def is_external(url: str) -> bool:
    """True for a URL on another host (``https://...``, ``//host/...``); ``data:`` is local."""
    url = url.strip()
    return url.startswith("//") or urlsplit(url).scheme in ("http", "https", "ftp", "ws", "wss")


class _Loads(HTMLParser):
    """Collects the URLs a page loads on its own."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in LOADED:
                parts = value.split(",") if name == "srcset" else [value]
                self.urls += [part.split()[0] for part in parts if part.split()]
            elif name == "href" and tag == "link":
                self.urls.append(value)
            elif name == "style":
                self.urls += css_urls(value)

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style":
            self.urls += css_urls(data)


def css_urls(css: str) -> list[str]:
    """The URLs of ``url(...)`` and ``@import`` in a style sheet."""
    return [a or b for a, b in CSS_URL.findall(css)]


def loaded_urls(html: str) -> list[str]:
    """Every URL that a browser showing ``html`` fetches without a click."""
    parser = _Loads()
    parser.feed(html)
    return parser.urls


def external_loads(site: Path) -> dict[str, list[str]]:
    """External URLs loaded by each page and style sheet of ``site`` (only those with some)."""
    found = {}
    for path in sorted(site.rglob("*")):
        if path.suffix == ".html":
            urls = loaded_urls(path.read_text(encoding="utf-8"))
        elif path.suffix == ".css":
            urls = css_urls(path.read_text(encoding="utf-8"))
        else:
            continue
        external = sorted({url for url in urls if is_external(url)})
        if external:
            found[str(path.relative_to(site))] = external
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built strictly into a temporary folder."""
    pytest.importorskip("material", reason="the docs extra is not installed (make docs)")
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return out


def test_the_checker_tells_what_a_page_loads_from_what_it_links_to():
    page = """<html><head>
        <link rel="stylesheet" href="https://fonts.example.org/css?family=Roboto">
        <link rel="preconnect" href="//fonts.example.org">
        <script src="assets/bundle.js"></script><script src="http://cdn.example.org/x.js"></script>
        <style>body { background: url('https://img.example.org/b.png') }</style></head>
        <body><a href="https://example.org/paper.html">a cited paper</a>
        <img src="img/map.png" srcset="img/a.png 1x, https://img.example.org/a2.png 2x">
        <div style="background-image: url(data:image/png;base64,AAAA)"></div></body></html>"""
    external = sorted(url for url in loaded_urls(page) if is_external(url))
    assert external == [
        "//fonts.example.org",
        "http://cdn.example.org/x.js",
        "https://fonts.example.org/css?family=Roboto",
        "https://img.example.org/a2.png",
        "https://img.example.org/b.png",
    ]
    assert css_urls("@import 'https://x.example.org/a.css'; a { b: url(c.woff2) }") == [
        "https://x.example.org/a.css",
        "c.woff2",
    ]


def test_the_built_site_loads_nothing_from_outside(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 15
    assert external_loads(site) == {}


def test_the_built_site_ships_its_search_worker_polyfill(site):
    """Search from disk runs its worker in an iframe: the polyfill is the site's own file."""
    index = (site / "index.html").read_text(encoding="utf-8")
    assert '<script src="js/iframe-worker.js"></script>' in index
    assert (site / "js" / "iframe-worker.js").is_file()


def installed_megabytes(venv: Path) -> float:
    """Disk space of a folder as ``du -sm`` counts it (allocated blocks, hard links once)."""
    seen, blocks = set(), 0
    for folder, _dirs, files in os.walk(venv):
        for name in (".", *files):
            stat = os.lstat(os.path.join(folder, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                blocks += stat.st_blocks
    return blocks * 512 / 2**20


def test_the_installed_size_quoted_in_the_docs_is_measured():
    """README and getting-started quote the size of .venv with the test and documentation tools;
    measured here when exactly those extras are installed (as after ``make test`` and ``make
    docs``), within 10%."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    started = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    quoted = re.search(r"with both, `\.venv` takes ([\d,]+) MB", readme)
    assert quoted and f"with both, `.venv`\ntakes {quoted[1]} MB" in started
    venv = Path(sys.prefix)
    extras = {p.name.removeprefix(".installed-") for p in venv.glob(".installed-*")}
    if extras != {"test", "docs"}:
        pytest.skip(f"{venv} has the extras {sorted(extras)}, not exactly test and docs")
    measured = installed_megabytes(venv)
    assert abs(measured - int(quoted[1].replace(",", ""))) < 0.1 * measured, measured

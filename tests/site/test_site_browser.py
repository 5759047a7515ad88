"""A real browser (Debian's Chromium, driven by Playwright) against the built site served on 127.0.0.1.

It filters the catalogue by model type and privacy and compares the visible rows with ``Catalog.filter``,
checks the query string carries the filter and that reloading it restores the view, downloads the filtered
rows as BibTeX, CSV and JSON and compares them with the library's exports, opens a paper page and finds
its BibTeX and its reproduce verdict, measures the Compare pages' tables at a 1280 px viewport, and fails
on any console error or any request that leaves 127.0.0.1. Without
Chromium or Playwright it skips, except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sitehelpers import build_copy, real_site, require_mkdocs

from conftest import TOY_ENTRIES, make_entry, write_catalog
from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.query import Catalog
from fedgen_registry.runs.compare import FAMILIES
from fedgen_registry.sitegen.serve import HOST, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MODEL_TYPE, PRIVACY = "gan", "dp-sgd-local"


def _require(available: bool, reason: str) -> None:
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser test must run")
    pytest.skip(reason=reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    _require(sync_playwright is not None, "the playwright package is not installed (docs extra)")
    _require(shutil.which(CHROMIUM) is not None, f"{CHROMIUM} is missing (apt-get install chromium)")
    if os.environ.get("CI") is None:
        require_mkdocs()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _serve(directory: Path) -> Iterator[str]:
    server = make_server(directory, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site_url(browser: Any) -> Iterator[str]:
    """The real site, served; it asks for the browser first so that a missing one skips before the build."""
    yield from _serve(real_site().out)


class Watched:
    """A page whose console errors, page errors and non-local requests are recorded (the latter aborted)."""

    def __init__(self, browser: Any, javascript: bool = True) -> None:
        self.context = browser.new_context(java_script_enabled=javascript)
        self.context.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname == HOST:
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    watched = Watched(browser)
    yield watched
    watched.close()


def heading(page: Any) -> str:
    """The page's h1 without the permalink sign that the toc extension appends."""
    return page.locator("h1").inner_text().removesuffix("¶")


def visible_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all("#fg-catalogue tbody tr:not([hidden])", "rows => rows.map(r => r.id)")


def check(page: Any, facet: str, value: str) -> None:
    details = page.locator(f'details[data-facet="{facet}"]')
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()
    details.locator(f'input[value="{value}"]').check()


def test_filters_match_the_library_and_live_in_the_url(watched: Watched, site_url: str) -> None:
    catalog = load_catalog()
    expected = catalog.filter(model_type=MODEL_TYPE, privacy=PRIVACY)
    assert 0 < len(expected) < len(catalog.filter(model_type=MODEL_TYPE))  # the second filter narrows
    page = watched.page
    page.goto(site_url + "catalogue/")
    page.wait_for_selector("#fg-filters:not([hidden])")
    assert len(visible_ids(page)) == len(catalog)

    check(page, "model_type", MODEL_TYPE)
    assert sorted(visible_ids(page)) == sorted(catalog.filter(model_type=MODEL_TYPE).ids)
    check(page, "privacy", PRIVACY)
    assert sorted(visible_ids(page)) == sorted(expected.ids)
    assert page.locator("#fg-count").inner_text() == f"{len(expected)} of {len(catalog)} papers"
    assert parse_qs(urlsplit(page.url).query) == {"model_type": [MODEL_TYPE], "privacy": [PRIVACY]}

    page.reload()
    page.wait_for_selector("#fg-filters:not([hidden])")
    assert sorted(visible_ids(page)) == sorted(expected.ids)
    assert page.locator(f'input[name="privacy"][value="{PRIVACY}"]').is_checked()

    page.fill('input[name="year_from"]', "2021")
    assert sorted(visible_ids(page)) == sorted(expected.filter(year=(2021, None)).ids)
    assert parse_qs(urlsplit(page.url).query)["year"] == ["2021.."]

    page.goto(site_url + "catalogue/?search=diffusion+mnist&code_available=true")
    page.wait_for_selector("#fg-filters:not([hidden])")
    assert sorted(visible_ids(page)) == sorted(catalog.filter(text="diffusion mnist", code_available=True).ids)
    assert not page.locator("#__search").is_checked()  # Material's own search box stays shut (it opens on ?q=)


def test_paper_page_has_its_bibtex(watched: Watched, site_url: str) -> None:
    catalog = load_catalog()
    paper = catalog.filter(model_type=MODEL_TYPE, privacy=PRIVACY)[0]
    page = watched.page
    page.goto(site_url + f"catalogue/?model_type={MODEL_TYPE}&privacy={PRIVACY}")
    page.locator(f"tr#{paper.id} td a").first.click()
    page.wait_for_load_state()
    assert page.url == site_url + f"papers/{paper.id}/"
    assert heading(page) == paper.title
    bibtex = page.locator("pre code", has_text=f"{{{paper.id},").inner_text()
    assert bibtex.startswith("@") and f"year = {{{paper.year}}}" in bibtex
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.rstrip("/"))
    page.locator("pre", has_text=f"{{{paper.id},").locator('button[data-md-type="copy"]').click()
    assert page.evaluate("navigator.clipboard.readText()").strip() == bibtex.strip()


def test_catalogue_is_a_plain_table_without_javascript(browser: Any, site_url: str) -> None:
    watched = Watched(browser, javascript=False)
    watched.page.goto(site_url + "catalogue/?model_type=gan")
    assert len(visible_ids(watched.page)) == len(load_catalog())
    assert not watched.page.locator("#fg-filters").is_visible()
    watched.close()


def test_script_in_a_title_does_not_run(browser: Any, tmp_path: Path) -> None:
    title = "Evil </title><script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'> {{ 7 * 191 }}"
    entry = make_entry("evil-2024", title=title, summary="Summary " + title)
    catalog: Catalog = load_catalog(
        write_catalog(tmp_path / "catalog", [*TOY_ENTRIES, entry]), check_implementations=False
    )
    report = build_copy(catalog, tmp_path)
    for url in _serve(report.out):
        watched = Watched(browser)
        for path in ("papers/evil-2024/", "catalogue/"):
            watched.page.goto(url + path)
            assert watched.page.evaluate("typeof window.pwned") == "undefined"
        watched.page.goto(url + "papers/evil-2024/")
        assert heading(watched.page) == title
        assert watched.page.title().startswith(title)
        watched.close()


def test_clicking_a_heading_sorts_the_rows(watched: Watched, site_url: str) -> None:
    page = watched.page
    page.goto(site_url + "catalogue/?strand=attack")
    page.wait_for_selector("#fg-filters:not([hidden])")
    years = "rows => rows.map(r => Number(r.dataset.year))"
    year = page.locator("#fg-catalogue thead button", has_text="Year")  # the role name gains the ▲ arrow
    year.click()
    ascending = page.eval_on_selector_all("#fg-catalogue tbody tr:not([hidden])", years)
    year.click()
    descending = page.eval_on_selector_all("#fg-catalogue tbody tr:not([hidden])", years)
    assert ascending == sorted(ascending) and descending == sorted(ascending, reverse=True)
    assert len(ascending) == len(load_catalog().filter(strand="attack"))


def download(page: Any, name: str) -> bytes:
    """Click one export button and return the bytes of the file the browser saved."""
    with page.expect_download() as started:
        page.locator(f'#fg-export button[data-export="{name}"]').click()
    return Path(started.value.path()).read_bytes()


def test_downloads_are_the_library_exports_of_the_rows_shown(watched: Watched, site_url: str) -> None:
    catalog = load_catalog()
    expected = catalog.filter(model_type=MODEL_TYPE, privacy=PRIVACY)
    page = watched.page
    page.goto(site_url + f"catalogue/?model_type={MODEL_TYPE}&privacy={PRIVACY}")
    page.wait_for_selector("#fg-export:not([hidden])")
    assert download(page, "bibtex") == expected.to_bibtex().encode()
    assert download(page, "csv") == expected.to_csv().encode()
    assert download(page, "json") == expected.to_json().encode()

    page.locator("#fg-catalogue thead button", has_text="Year").click()  # the order shown is the order saved
    assert [entry["id"] for entry in json.loads(download(page, "json"))] == visible_ids(page)

    page.goto(site_url + "catalogue/?search=no-paper-has-this-word")
    page.wait_for_selector("#fg-export:not([hidden])")
    none = catalog.filter(text="no-paper-has-this-word")
    assert len(none) == 0
    assert download(page, "csv") == none.to_csv().encode() and download(page, "json") == b"[]"


def test_paper_page_shows_its_reproduce_verdict(watched: Watched, site_url: str) -> None:
    paper = next(p for p in load_catalog() if p.reproduction_result is not None)
    result = paper.reproduction_result
    assert result is not None
    page = watched.page
    page.goto(site_url + f"papers/{paper.id}/")
    claim = page.locator("h3", has_text="Headline claim")
    assert claim.is_visible()
    verdict = page.locator(f'a.fg-chip[href$="#verdict-{result.verdict.value}"]')
    assert verdict.inner_text() == result.verdict.value and verdict.is_visible()
    assert page.locator("code", has_text=f"fedgen reproduce {paper.id}").is_visible()
    first_run = next(iter(result.runs.values()))
    assert page.locator("td code", has_text=f"{first_run.run.implementation} @ {first_run.run.preset}").count() >= 1


# Per page: each visible table's width against its block's, its tallest row against one line of text, and
# whether the first chart comes before it in the document.
COMPARE_LAYOUT = """() => {
  const chart = document.querySelector("article img.fg-chart");
  return Array.from(document.querySelectorAll("article .fg-compare table"))
    .filter((table) => table.checkVisibility())
    .map((table) => {
      const cell = getComputedStyle(table.tBodies[0].rows[0].cells[0]);
      const line = parseFloat(cell.paddingTop) + parseFloat(cell.paddingBottom) + parseFloat(cell.lineHeight);
      const tallest = Math.max(...Array.from(table.tBodies[0].rows, (row) => row.getBoundingClientRect().height));
      return {
        width: table.scrollWidth,
        room: table.closest(".fg-compare").clientWidth,
        oneLine: tallest < line * 1.5,
        chartFirst: chart !== null && chart.complete && chart.naturalWidth > 0
          && Boolean(chart.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING),
      };
    });
}"""


def test_compare_pages_open_with_a_chart_and_tables_that_fit_the_page(watched: Watched, site_url: str) -> None:
    page = watched.page
    page.set_viewport_size({"width": 1280, "height": 900})
    cached = [
        f for f, c in FAMILIES.items() if (real_site().docs_dir / f"compare/results/{c.results_stem}.json").exists()
    ]
    assert "gan" in cached
    for family in cached:
        page.goto(site_url + f"compare/{family}/")
        page.wait_for_load_state("load")
        tables = page.evaluate(COMPARE_LAYOUT)
        assert tables, family
        for table in tables:
            assert table["width"] <= table["room"], (family, table)
            assert table["oneLine"] and table["chartFirst"], (family, table)
        details = page.locator("details", has_text="Every column of every run")
        assert not details.evaluate("d => d.open")  # the wide table is folded away

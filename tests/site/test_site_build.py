"""``mkdocs build --strict`` on the real catalogue, escaping in the built HTML, and the ``fedgen site`` command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sitehelpers import build_copy, copy_sources, real_site, require_mkdocs

from conftest import TOY_ENTRIES, make_entry, write_catalog
from fedgen_registry.catalog import load_catalog
from fedgen_registry.cli import main
from fedgen_registry.runs.compare import FAMILIES


@pytest.fixture(scope="module", autouse=True)
def _mkdocs() -> None:
    require_mkdocs()


def test_real_catalogue_builds_strictly_with_zero_warnings() -> None:
    report = real_site()
    assert report.warnings == []
    catalog = load_catalog()
    built = {p.parent.name for p in (report.out / "papers").glob("*/index.html")}
    assert built == set(catalog.ids)
    for page in ("index.html", "catalogue/index.html", "glossary/index.html"):
        assert (report.out / page).is_file(), page
    catalogue = (report.out / "catalogue/index.html").read_text(encoding="utf-8")
    assert catalogue.count('<tr id="') == len(catalog)
    api = (report.out / "reference/catalog/index.html").read_text(encoding="utf-8")
    assert "Catalog" in api and "filter" in api  # mkdocstrings rendered the API reference
    print(f"strict build of {len(catalog)} papers: {report.seconds:.1f} s")


def test_pages_live_at_their_public_addresses() -> None:
    """/catalogue/, /glossary/, /papers/<id>/, /compare/<family>/ (the `fedgen compare --family` word), and
    nothing under the internal name /generated/; every link in the navigation points at such an address."""
    out = real_site().out
    assert not (out / "generated").exists()
    for family in FAMILIES:
        assert (out / "compare" / family / "index.html").is_file(), family
    home = (out / "index.html").read_text(encoding="utf-8")
    for address in ("catalogue/", "glossary/", *(f"compare/{family}/" for family in FAMILIES)):
        assert f'href="{address}"' in home, address  # the navigation, relative to the home page
    assert re.findall(r'href="[^"]*generated/', home) == []
    paper = load_catalog().filter(model_type="gan")[0]
    catalogue = (out / "catalogue/index.html").read_text(encoding="utf-8")
    assert f'href="../papers/{paper.id}/"' in catalogue


def test_built_site_loads_nothing_from_other_hosts() -> None:
    """No CDN, fonts or scripts from elsewhere: every src/href to another host is a plain outbound link."""
    for page in real_site().out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        external = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"', html)
        assert external == [], (page, external[:3])


EVIL_TITLE = 'Evil </title><script>window.pwned = 1</script> {{ 7 * 191 }} {% raw %} <img src=x onerror="pwned=2">'


def test_script_and_template_syntax_in_a_title_render_inert(tmp_path: Path) -> None:
    evil = make_entry("evil-2024", title=EVIL_TITLE, summary="Summary " + EVIL_TITLE)
    catalog = load_catalog(write_catalog(tmp_path / "catalog", [*TOY_ENTRIES, evil]), check_implementations=False)
    report = build_copy(catalog, tmp_path)
    assert report.warnings == []
    for page in report.out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script>window.pwned" not in html and "</title><script>" not in html, page
        assert "<img src=x" not in html and "1337" not in html, page  # 7 * 191: no template ran
    index = (report.out / "search/search_index.json").read_text(encoding="utf-8")
    assert "<script>window.pwned" not in index and "<img src=x" not in index
    paper = (report.out / "papers/evil-2024/index.html").read_text(encoding="utf-8")
    assert "&lt;/title&gt;&lt;script&gt;window.pwned = 1&lt;/script&gt; {{ 7 * 191 }} {% raw %}" in paper  # as text
    catalogue = (report.out / "catalogue/index.html").read_text(encoding="utf-8")
    assert ">Evil &lt;/title&gt;&lt;script&gt;window.pwned = 1&lt;/script&gt; {{ 7 * 191 }}" in catalogue


def test_site_build_command(tmp_path: Path) -> None:
    config = copy_sources(tmp_path)
    planned_only = [e for e in TOY_ENTRIES if e.get("implementation", {}).get("status") != "available"]
    catalog = write_catalog(tmp_path / "catalog", planned_only)  # the CLI checks ids against the registry
    args = ["site", "build", "--catalog", str(catalog), "--config", str(config), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"built {len(planned_only)} paper pages" in result.output
    assert (tmp_path / "out/papers/alpha-gan-2019/index.html").is_file()
    home = (tmp_path / "out/index.html").read_text(encoding="utf-8")
    assert f"<strong>{len(planned_only)} papers</strong>" in home  # this catalogue's numbers, from any folder
    missing = CliRunner().invoke(main, [*args[:-4], "--config", str(tmp_path / "nope.yml")])
    assert missing.exit_code == 1 and "no mkdocs.yml" in missing.output

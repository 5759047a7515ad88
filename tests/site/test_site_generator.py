"""The generator's pages say what the library says: one page per paper, the library's counts and filters.

These tests read the generated Markdown and HTML directly (no MkDocs needed); they need matplotlib,
which draws the home page's charts.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO, TOY_ENTRIES, make_entry, write_catalog
from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.query import FACETS, Catalog
from fedgen_registry.catalog.vocab import ALL_VOCABULARIES
from fedgen_registry.sitegen import layout, taxonomy
from fedgen_registry.sitegen.catalogue import catalogue_page
from fedgen_registry.sitegen.generate import generate
from fedgen_registry.sitegen.markup import fence, md
from fedgen_registry.sitegen.related import related

pytest.importorskip("matplotlib", reason="matplotlib draws the home page's charts")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def docs(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    docs_dir = tmp_path_factory.mktemp("docs")
    generate(catalog, docs_dir)
    return docs_dir


def markdown_table(text: str, heading: str) -> dict[str, list[str]]:
    """The table under ``### heading`` as {first cell: other cells}, Markdown escapes and bold removed."""
    section = text.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]  # drop header and rule
    table = {}
    for line in rows:
        cells = [re.sub(r"\\(.)", r"\1", c.strip()).strip("*") for c in line.strip("|").split(" | ")]
        name = re.sub(r"^\[(.*)\]\(.*\)$", r"\1", cells[0])
        table[name] = cells[1:]
    return table


def test_every_paper_gets_a_page_with_its_bibtex(catalog: Catalog, docs: Path) -> None:
    pages = {p.stem for p in (docs / layout.GENERATED / "papers").glob("*.md")}
    assert pages == set(catalog.ids)
    page = (docs / layout.paper_page("md-gan-2018")).read_text(encoding="utf-8")
    assert "```bibtex\n@inproceedings{md-gan-2018," in page
    assert "[discriminator\\-feedback](../glossary.md#aggregation-method-discriminator-feedback)" in page


def test_home_tables_equal_the_library_counts(catalog: Catalog, docs: Path) -> None:
    home = (docs / layout.HOME_SNIPPET).read_text(encoding="utf-8")
    facets = catalog.facets()
    for heading, facet in (("Privacy mechanisms", "privacy"), ("Code released by the authors", "code_available")):
        assert {k: int(v[0]) for k, v in markdown_table(home, heading).items()} == facets[facet]
    per_year = markdown_table(home, "Papers per year, by model type")
    assert {year: int(cells[-1]) for year, cells in per_year.items()} == facets["year"]
    strands = markdown_table(home, "Strand x model type")
    assert {strand: int(cells[-1]) for strand, cells in strands.items()} == facets["strand"]
    implemented = markdown_table(home, "Implementations: available vs planned")
    assert int(implemented["available"][0]) == facets["implemented"].get("true", 0)
    assert sum(int(v[0]) for v in implemented.values()) == len(catalog)
    for image in ("papers-per-year", "strand-by-model-type", "privacy", "code-available", "implementations"):
        assert (docs / layout.IMAGES / f"{image}.png").stat().st_size > 1000
        assert re.search(rf"!\[[^\]]{{20,}}\]\(generated/img/{image}\.png\)", home), f"{image} lacks alt text"


class _Rows(HTMLParser):
    """The catalogue table's rows as {paper id: data attributes}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "tr" and "id" in values:
            self.rows[values["id"]] = {k[5:]: v for k, v in values.items() if k.startswith("data-")}


def test_catalogue_rows_carry_the_facet_values_the_library_filters_on(catalog: Catalog) -> None:
    parser = _Rows()
    parser.feed(catalogue_page(catalog))
    assert list(parser.rows) == catalog.ids
    counts = catalog.facets()
    for name in taxonomy.CATALOGUE_FACETS:
        for value in counts[name]:
            shown = [i for i, data in parser.rows.items() if value in data[name].split()]
            assert shown == catalog.filter(**{name: value}).ids, (name, value)
    for flag in taxonomy.CATALOGUE_FLAGS:
        shown = [i for i, data in parser.rows.items() if data[flag] == "true"]
        assert shown == catalog.filter(**{flag: True}).ids
    assert all(data["text"] == data["text"].lower() for data in parser.rows.values())


def test_glossary_has_every_term_with_the_library_counts(catalog: Catalog, docs: Path) -> None:
    glossary = (docs / layout.GLOSSARY).read_text(encoding="utf-8")
    for vocabulary in ALL_VOCABULARIES:
        for member in vocabulary:
            assert f"{{#{taxonomy.anchor(vocabulary, member.value)}}}" in glossary
    facets = catalog.facets()
    gan = glossary.split("{#model-type-gan}", 1)[1]
    assert f"**{facets['model_type']['gan']} papers**" in gan.split("###", 1)[0]
    assert set(FACETS) >= set(taxonomy.CATALOGUE_FACETS)


def test_related_papers_share_aggregation_or_model_type(catalog: Catalog) -> None:
    for paper in catalog:
        found = related(paper, catalog)
        assert len(found) <= 6 and paper.id not in {r.paper.id for r in found}
        for r in found:
            shares = r.paper.aggregation.method is paper.aggregation.method or bool(
                set(r.paper.model_types) & set(paper.model_types)
            )
            assert shares, (paper.id, r.paper.id)


EVIL = '<script>alert("x")</script> {{ 7 * 191 }} {% if 1 %}jinja{% endif %} *em* [a](http://evil.example) `x` | '


def test_untrusted_text_is_escaped_in_markdown_and_html(tmp_path: Path) -> None:
    entry = make_entry("evil-2024", title="Evil " + EVIL + "title", summary="Summary " + EVIL + "\n# heading\n```")
    catalog = load_catalog(write_catalog(tmp_path / "catalog", [*TOY_ENTRIES, entry]), check_implementations=False)
    generate(catalog, tmp_path / "docs")
    for path in (tmp_path / "docs" / layout.GENERATED).rglob("*.md"):
        text = re.sub(r"(`{3,})bibtex\n.*?\n\1\n", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        assert "<script>" not in text, path  # code blocks are left out: Markdown escapes those itself
        body = text.split("\n---\n", 1)[-1]  # after the front matter, which is YAML
        if path.name != "catalogue.md":  # the catalogue is one raw HTML block, where Markdown is not parsed
            assert "](http://evil.example)" not in body, path
    page = (tmp_path / "docs" / layout.paper_page("evil-2024")).read_text(encoding="utf-8")
    assert page.split("\n---\n\n", 1)[1].startswith(
        '# Evil &lt;script&gt;alert\\("x"\\)&lt;/script&gt; \\{\\{ 7 \\* 191 \\}\\}'
    )
    assert "\n# heading" not in page  # a newline in the summary cannot start a block
    assert md("a\nb") == "a b"
    assert fence("x ``` y").startswith("````\n")


def test_cli_import_stays_light() -> None:
    code = "import sys, fedgen_registry.cli; print(sorted(m for m in ('mkdocs', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"

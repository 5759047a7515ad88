"""The generator's pages say what the library says: one page per paper, the library's counts and filters.

These tests read the generated Markdown and HTML directly (no MkDocs needed); they need matplotlib,
which draws the home page's charts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO, TOY_ENTRIES, make_entry, write_catalog
from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.query import FACETS, Catalog
from fedgen_registry.catalog.vocab import ALL_VOCABULARIES, Verdict
from fedgen_registry.sitegen import exports, layout, taxonomy
from fedgen_registry.sitegen.catalogue import TABLE_ID, catalogue_page
from fedgen_registry.sitegen.generate import generate
from fedgen_registry.sitegen.markup import code_span, fence, md
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
    pages = {p.stem for p in (docs / layout.PAPERS).glob("*.md")}
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
        assert (docs / layout.CHARTS / f"{image}.png").stat().st_size > 1000
        assert re.search(rf"!\[[^\]]{{20,}}\]\(charts/{image}\.png\)", home), f"{image} lacks alt text"


class _Rows(HTMLParser):
    """The catalogue table's rows as {paper id: data attributes}, and the table's own data attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.table: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        data = {k[5:]: v for k, v in values.items() if k.startswith("data-")}
        if tag == "tr" and "id" in values:
            self.rows[values["id"]] = data
        if tag == "table" and values.get("id") == TABLE_ID:
            self.table = data


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


def test_the_export_shares_join_into_the_library_exports(catalog: Catalog, docs: Path) -> None:
    """The file the catalogue page fetches holds each paper's share of the library's exports; joined as
    ``exports`` documents (and the page's script does), they are the library's whole exports, byte for byte."""
    parser = _Rows()
    parser.feed((docs / layout.CATALOGUE).read_text(encoding="utf-8"))
    assert parser.table["exports"] == "exports.json"  # relative to /catalogue/, where the page is served
    data = json.loads((docs / layout.CATALOGUE_EXPORTS).read_text(encoding="utf-8"))
    assert list(data["papers"]) == catalog.ids
    shares = {f: [data["papers"][i][f] for i in catalog.ids] for f in exports.FORMATS}
    assert "\n".join(shares["bibtex"]) == catalog.to_bibtex()
    assert data["csv_header"] + "".join(shares["csv"]) == catalog.to_csv()
    assert exports.JSON_OPEN + ",\n".join(shares["json"]) + exports.JSON_CLOSE == catalog.to_json()
    one = catalog.filter(model_type="gan", privacy="dp-sgd-local")
    assert (
        exports.JSON_OPEN + ",\n".join(data["papers"][i]["json"] for i in one.ids) + exports.JSON_CLOSE == one.to_json()
    )


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
    for path in (p for p in generate(catalog, tmp_path / "docs") if p.suffix == ".md"):
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


def test_paper_pages_show_the_reproduce_verdict_numbers_and_command(catalog: Catalog, docs: Path) -> None:
    decided = [p for p in catalog if p.reproduction_result is not None]
    assert {p.reproduction for p in decided} >= {Verdict.REPRODUCED, Verdict.NOT_REPRODUCED}
    for paper in decided:
        result = paper.reproduction_result
        assert result is not None
        page = (docs / layout.paper_page(paper.id)).read_text(encoding="utf-8")
        claim = page.split("### Headline claim\n", 1)[1].split("\n### ", 1)[0]
        assert f"> {md(result.statement)}" in claim
        assert f"Verdict: [{md(result.verdict.value)}](../glossary.md#verdict-{result.verdict.value})" in claim
        for label, run in result.runs.items():
            row = next(line for line in claim.splitlines() if line.startswith(f"| {md(label)} | "))
            assert code_span(f"{run.run.implementation} @ {run.run.preset}") in row
            assert all(md(measure.text()) in row for measure in run.metrics.values()), (paper.id, label)
        for check in result.checks:
            assert code_span(check.text) in claim, (paper.id, check.text)
        assert f"```bash\nfedgen reproduce {paper.id}\n```" in claim


def test_a_rebuild_removes_stale_pages_and_never_overwrites_a_hand_written_one(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    full = load_catalog(write_catalog(tmp_path / "full", TOY_ENTRIES), check_implementations=False)
    generate(full, docs)
    gone = TOY_ENTRIES[0]["id"]
    assert (docs / layout.paper_page(gone)).is_file()
    smaller = load_catalog(write_catalog(tmp_path / "smaller", TOY_ENTRIES[1:]), check_implementations=False)
    written = generate(smaller, docs)
    assert not (docs / layout.paper_page(gone)).exists()
    assert {p.stem for p in (docs / layout.PAPERS).glob("*.md")} == set(smaller.ids)
    listed = (docs / layout.MANIFEST).read_text(encoding="utf-8").splitlines()
    assert sorted(listed) == sorted(p.relative_to(docs).as_posix() for p in written)
    listed.remove(layout.GLOSSARY)  # as if an author had written their own glossary page
    (docs / layout.MANIFEST).write_text("".join(f"{line}\n" for line in listed), encoding="utf-8")
    (docs / layout.GLOSSARY).write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not a file the site generator wrote"):
        generate(smaller, docs)
    assert (docs / layout.GLOSSARY).read_text(encoding="utf-8") == "mine"


def test_every_generated_file_is_ignored_by_git_and_no_source_is(docs: Path) -> None:
    written = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*") if p.is_file())
    assert layout.MANIFEST in written and len(written) > 100

    def ignored(paths: list[str]) -> set[str]:
        out = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin"],
            input="".join(f"site/{p}\n" for p in paths),
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert out.returncode in (0, 1), f"git check-ignore failed: {out.stderr.strip()}"  # 1: nothing ignored
        return set(out.stdout.split())

    assert ignored(written) == {f"site/{p}" for p in written}
    sources = subprocess.run(["git", "ls-files", "site"], capture_output=True, text=True, cwd=REPO).stdout.split()
    assert sources and ignored([s.removeprefix("site/") for s in sources]) == set()

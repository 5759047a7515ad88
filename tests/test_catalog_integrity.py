"""The real catalogue: valid, unique, sourced, and faithful to the team's checked bibliographies."""

from __future__ import annotations

import pytest
import yaml

from conftest import SHARED
from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.loader import _normalise_title
from fedgen_registry.catalog.vocab import VerificationStatus
from fedgen_registry.index import declared_ids

BIBLIOGRAPHIES = ("bibliography.yaml", "bibliography-extra.yaml")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def bibliography() -> dict[str, dict]:
    if not (SHARED / BIBLIOGRAPHIES[0]).exists():
        pytest.skip(reason="../shared/ (the checked bibliography) is not beside this checkout")
    entries: dict[str, dict] = {}
    for name in BIBLIOGRAPHIES:
        for item in yaml.safe_load((SHARED / name).read_text(encoding="utf-8")):
            entries[item["key"]] = item
    return entries


def test_catalogue_is_large(catalog) -> None:
    assert len(catalog) >= 140


def test_no_duplicate_ids_arxiv_dois_or_titles(catalog) -> None:
    for values in (
        [p.id for p in catalog],
        [p.links.arxiv for p in catalog if p.links.arxiv],
        [p.links.doi.lower() for p in catalog if p.links.doi],
        [_normalise_title(p.title) for p in catalog],
    ):
        assert len(values) == len(set(values))


def test_every_entry_has_a_source(catalog) -> None:
    assert all(p.verification.sources for p in catalog)


def test_verified_entries_have_the_core_facts(catalog) -> None:
    for paper in catalog:
        if paper.verification.status is VerificationStatus.VERIFIED:
            assert paper.title and paper.year and paper.first_author and paper.verification.sources, paper.id


def test_unverified_entries_explain_why(catalog) -> None:
    for paper in catalog:
        if paper.verification.status is not VerificationStatus.VERIFIED:
            assert len(paper.verification.note) > 20, paper.id


def test_implementation_ids_exist_or_are_planned(catalog) -> None:
    registered = declared_ids()
    for paper in catalog:
        impl = paper.implementation
        assert impl is not None, f"{paper.id}: say which implementation will run it (status: planned)"
        assert paper.implemented is (impl.id in registered) or impl.status.value == "planned", paper.id
        if paper.implemented:
            assert impl.id in registered, paper.id


def test_summaries_are_our_own_length(catalog) -> None:
    for paper in catalog:
        sentences = [s for s in paper.summary.replace("e.g.", "eg").replace("i.e.", "ie").split(". ") if s.strip()]
        assert 2 <= len(sentences) <= 6, (paper.id, len(sentences))


def test_facts_match_the_checked_bibliography(catalog, bibliography) -> None:
    """Where the bibliography marks a paper verified, title/year/first author/arXiv id must be identical."""
    keyed = [p for p in catalog if p.verification.bibliography_key]
    assert len(keyed) >= 140
    for paper in keyed:
        source = bibliography[paper.verification.bibliography_key]
        if not source["verified"]:
            continue
        assert paper.title == source["title"], paper.id
        assert paper.year == source["year"], paper.id
        assert paper.first_author == source["authors"][0], paper.id
        if source["arxiv"]:
            assert paper.links.arxiv == source["arxiv"], paper.id
        if source["doi"]:
            assert paper.links.doi == source["doi"], paper.id
        if source["code_url"]:
            assert paper.links.code == source["code_url"], paper.id


def test_every_bibliography_paper_is_catalogued(catalog, bibliography) -> None:
    catalogued = {p.verification.bibliography_key for p in catalog}
    assert set(bibliography) <= catalogued, sorted(set(bibliography) - catalogued)

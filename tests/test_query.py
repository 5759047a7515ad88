"""Query semantics of Catalog: lookup, facets (AND across, OR within), ranges, search, exports."""

from __future__ import annotations

import csv
import io
import json

import pytest

from fedgen_registry.catalog import Catalog
from fedgen_registry.suggest import UnknownIdError


def ids(catalog: Catalog) -> list[str]:
    return [p.id for p in catalog]


def test_len_iteration_and_order(toy_catalog: Catalog) -> None:
    assert len(toy_catalog) == 5
    assert ids(toy_catalog) == [
        "alpha-gan-2019",
        "beta-dp-2021",
        "delta-attack-2022",
        "gamma-diffusion-2023",
        "epsilon-lm-2024",
    ]
    assert "beta-dp-2021" in toy_catalog and "nope-2020" not in toy_catalog


def test_get_unknown_id_suggests_close_matches(toy_catalog: Catalog) -> None:
    assert toy_catalog.get("beta-dp-2021").year == 2021
    with pytest.raises(KeyError) as excinfo:
        toy_catalog.get("beta-dp-2020")
    assert isinstance(excinfo.value, UnknownIdError)
    assert "beta-dp-2021" in str(excinfo.value)
    assert excinfo.value.suggestions[0] == "beta-dp-2021"


def test_filter_or_within_a_facet_and_across_facets(toy_catalog: Catalog) -> None:
    assert ids(toy_catalog.filter(model_type="cgan")) == ["beta-dp-2021"]
    assert ids(toy_catalog.filter(model_type=["diffusion", "llm"])) == ["gamma-diffusion-2023", "epsilon-lm-2024"]
    # AND across facets: gan papers that also use record-level DP
    assert ids(toy_catalog.filter(model_type="gan", privacy="dp-sgd-local")) == ["beta-dp-2021"]
    assert ids(toy_catalog.filter(model_type="diffusion", privacy="dp-sgd-local")) == []


def test_strand_facet_includes_secondary_strands(toy_catalog: Catalog) -> None:
    generation = ids(toy_catalog.filter(strand="generation"))
    assert "gamma-diffusion-2023" in generation  # secondary strand
    assert "delta-attack-2022" not in generation
    assert ids(toy_catalog.filter(strand="heterogeneity")) == ["gamma-diffusion-2023"]


def test_year_ranges(toy_catalog: Catalog) -> None:
    assert ids(toy_catalog.filter(year=2021)) == ["beta-dp-2021"]
    assert ids(toy_catalog.filter(year=(2021, 2023))) == ["beta-dp-2021", "delta-attack-2022", "gamma-diffusion-2023"]
    assert ids(toy_catalog.filter(year=(2023, None))) == ["gamma-diffusion-2023", "epsilon-lm-2024"]
    assert ids(toy_catalog.filter(year=(None, 2019))) == ["alpha-gan-2019"]
    with pytest.raises(ValueError, match="empty"):
        toy_catalog.filter(year=(2024, 2020))


def test_boolean_facets(toy_catalog: Catalog) -> None:
    assert ids(toy_catalog.filter(code_available=True)) == ["alpha-gan-2019"]
    assert len(toy_catalog.filter(code_available=False)) == 4
    # planned implementations do not count as implemented
    assert ids(toy_catalog.filter(implemented=True)) == ["delta-attack-2022"]
    assert ids(toy_catalog.filter(one_shot=True)) == ["gamma-diffusion-2023"]
    with pytest.raises(ValueError, match="True or False"):
        toy_catalog.filter(implemented="yes")


def test_unknown_facet_and_value_are_clear_errors(toy_catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="did you mean 'model_type'"):
        toy_catalog.filter(model_types="gan")
    with pytest.raises(ValueError, match="did you mean 'diffusion'"):
        toy_catalog.filter(model_type="difusion")


def test_search_matches_every_word_across_fields(toy_catalog: Catalog) -> None:
    assert ids(toy_catalog.search("zed")) == ["delta-attack-2022"]  # author
    assert ids(toy_catalog.search("toy-mri")) == ["gamma-diffusion-2023"]  # dataset
    assert ids(toy_catalog.search("ONE-SHOT upload")) == []  # words must all appear
    assert ids(toy_catalog.search("upload diffusion")) == ["gamma-diffusion-2023"]
    assert ids(toy_catalog.filter(text="fictional", model_type="llm")) == ["epsilon-lm-2024"]


def test_facet_counts(toy_catalog: Catalog) -> None:
    facets = toy_catalog.facets()
    assert facets["model_type"] == {"gan": 3, "cgan": 1, "diffusion": 1, "llm": 1}
    assert facets["strand"]["generation"] == 4
    assert facets["year"] == {"2019": 1, "2021": 1, "2022": 1, "2023": 1, "2024": 1}
    assert facets["implemented"] == {"false": 4, "true": 1}
    assert sum(facets["verification"].values()) == 5


def test_to_frame_keeps_lists(toy_catalog: Catalog) -> None:
    frame = toy_catalog.to_frame()
    assert list(frame.index) == ids(toy_catalog)
    assert frame.loc["beta-dp-2021", "model_types"] == ["gan", "cgan"]
    assert frame.loc["beta-dp-2021", "epsilon"] == 1.0
    assert bool(frame.loc["alpha-gan-2019", "code_available"]) is True
    exploded = frame.explode("model_types")
    assert (exploded["model_types"] == "gan").sum() == 3


def test_json_roundtrip_keeps_every_field(toy_catalog: Catalog) -> None:
    data = json.loads(toy_catalog.to_json())
    assert [d["id"] for d in data] == ids(toy_catalog)
    beta = data[1]
    assert beta["privacy"]["dp"] == {"level": "record", "epsilon": 1.0, "delta": 1e-5}
    assert beta["code_available"] is False


def test_csv_has_one_row_per_paper_and_joined_lists(toy_catalog: Catalog) -> None:
    rows = list(csv.DictReader(io.StringIO(toy_catalog.to_csv())))
    assert [r["id"] for r in rows] == ids(toy_catalog)
    assert rows[1]["model_types"] == "gan; cgan"
    assert rows[0]["venue"] == ""


def test_bibtex_is_valid_and_typed(toy_catalog: Catalog) -> None:
    from pybtex.database import parse_string

    text = toy_catalog.to_bibtex()
    database = parse_string(text, "bibtex")
    assert set(database.entries) == set(ids(toy_catalog))
    beta, gamma, alpha = (database.entries[k] for k in ("beta-dp-2021", "gamma-diffusion-2023", "alpha-gan-2019"))
    assert beta.type == "inproceedings" and beta.fields["doi"] == "10.1234/beta.2021"
    assert gamma.type == "article" and gamma.fields["journal"] == "Journal of Toy Learning"
    assert alpha.type == "misc" and alpha.fields["eprint"] == "1901.00001"
    assert alpha.fields["archiveprefix"] == "arXiv"
    assert [str(p) for p in alpha.persons["author"]] == ["Tester, Ada", "Example, Bo"]


def test_bibtex_escapes_latex_specials() -> None:
    from pybtex.database import parse_string

    from conftest import make_entry
    from fedgen_registry.catalog.bibtex import paper_bibtex
    from fedgen_registry.catalog.schema import Paper

    paper = Paper.model_validate(make_entry("weird-2020", title="100% {unbalanced _ & #tricky} \\ title"))
    database = parse_string(paper_bibtex(paper), "bibtex")
    assert "weird-2020" in database.entries


def test_bibtex_type_follows_the_stated_venue_type() -> None:
    """A venue whose words mislead the guess ("Transactions" in a workshop name) still gets the stated type."""
    from pybtex.database import parse_string

    from conftest import make_entry
    from fedgen_registry.catalog.bibtex import paper_bibtex
    from fedgen_registry.catalog.schema import Paper

    def typed(venue: str, venue_type: str | None) -> str:
        paper = Paper.model_validate(make_entry("typed-2022", venue=venue, venue_type=venue_type))
        return parse_string(paper_bibtex(paper), "bibtex").entries["typed-2022"].type

    assert typed("Workshop on Transactions of Learning 2022", None) == "inproceedings"
    assert typed("Transactions Workshop 2022", "journal") == "article"
    assert typed("Some Journal", "preprint") == "misc"
    assert typed("TL 2022", "workshop") == "inproceedings"

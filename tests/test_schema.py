"""The schema: vocabularies are documented, the JSON Schema is current, strictness catches YAML traps."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from conftest import REPO, make_entry
from fedgen_registry.catalog.schema import Paper, json_schema
from fedgen_registry.catalog.vocab import ALL_VOCABULARIES, Vocabulary


@pytest.mark.parametrize("vocabulary", ALL_VOCABULARIES, ids=lambda v: v.__name__)
def test_every_vocabulary_member_has_a_definition(vocabulary: type[Vocabulary]) -> None:
    for member in vocabulary:
        assert len(member.definition.split()) >= 4, f"{vocabulary.__name__}.{member.name} is undocumented"
        assert member.value == member.value.lower() and " " not in member.value


def test_every_enum_of_the_schema_is_a_listed_vocabulary() -> None:
    enums_in_schema = {name for name, d in json_schema()["$defs"].items() if "enum" in d}
    assert len(enums_in_schema) >= 10
    assert enums_in_schema <= {v.__name__ for v in ALL_VOCABULARIES}


def test_committed_json_schema_is_current() -> None:
    committed = json.loads((REPO / "catalog" / "schema.json").read_text())
    assert committed == json_schema(), "run: fedgen schema -o catalog/schema.json"


def test_valid_entry_and_derived_fields() -> None:
    paper = Paper.model_validate(make_entry("ok-2020", links={"code": "https://example.org/x"}))
    assert paper.code_available and paper.first_author == "Ada Tester" and not paper.implemented


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"links": {"arxiv": 2301.0123}}, ("links", "arxiv")),  # YAML float, would lose the trailing zero
        ({"year": "2020"}, ("year",)),  # strict: no str -> int coercion
        ({"also_strands": ["generation"]}, ()),  # repeats the primary strand
        ({"model_types": []}, ("model_types",)),
        ({"model_types": ["gan", "gan"]}, ("model_types",)),
        ({"links": {"doi": "doi:10.1/x"}}, ("links", "doi")),
        ({"privacy": {"mechanisms": ["none"], "dp": {"level": "record"}}}, ("privacy",)),
        ({"id": "Bad_ID-2020"}, ("id",)),
        ({"summary": "   "}, ("summary",)),
    ],
)
def test_strictness(changes: dict, location: tuple) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Paper.model_validate(make_entry("ok-2020", **changes))
    assert any(tuple(e["loc"][: len(location)]) == location for e in excinfo.value.errors())


def test_integer_epsilon_is_accepted_as_a_number() -> None:
    entry = make_entry("dp-2020", privacy={"mechanisms": ["client-level-dp"], "dp": {"level": "client", "epsilon": 8}})
    assert Paper.model_validate(entry).privacy.dp.epsilon == 8.0


def test_catalog_readme_documents_every_vocabulary_value() -> None:
    readme = (REPO / "catalog" / "README.md").read_text(encoding="utf-8")
    for vocabulary in ALL_VOCABULARIES:
        assert f"### {vocabulary.__name__} " in readme
        for member in vocabulary:
            assert f"| `{member.value}` | {member.definition} |" in readme, f"{vocabulary.__name__}.{member.value}"

"""The loader on bad input: every broken file gets its own precise one-line message, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, make_entry, write_catalog
from fedgen_registry.catalog import CatalogError, load_catalog
from fedgen_registry.catalog.loader import load_papers

BAD = REPO / "tests" / "data" / "bad"

# file name -> (field location, a fragment of the message): what a contributor must be told.
EXPECTED = {
    "alias-bomb-2023.yaml": ("line 1", "aliases (*name) are not allowed"),
    "bad-source-url-2024.yaml": ("verification.sources[0]", "'www.example.org/paper' is not a URL"),
    "duplicate-key-2024.yaml": ("line 29", "duplicate key 'year'"),
    "empty-2022.yaml": ("", "file has no fields"),
    "enum-typo-2020.yaml": ("privacy.mechanisms[1]", "'dp' is not one of [none, dp-sgd-local"),
    "float-arxiv-2023.yaml": ("links.arxiv", "got the number 2301.0123: quote the value"),
    "id-mismatch-2020.yaml": ("id", "does not match the file name 'id-mismatch-2020'"),
    "latin1-2022.yaml": ("line 24", "not valid UTF-8"),
    "missing-field-2023.yaml": ("strand", "required field is missing"),
    "no-fidelity-2022.yaml": ("implementation", "must state its fidelity"),
    "none-plus-dp-2024.yaml": ("privacy", "'none' cannot be combined"),
    "python-tag-2023.yaml": ("line 2", "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
    "string-year-2023.yaml": ("year", "valid integer (got '2023')"),
    "syntax-error-2024.yaml": ("line 3", "invalid YAML"),
    "top-level-list-2024.yaml": ("", "expected a mapping of fields at the top level, got list"),
    "unknown-field-2023.yaml": ("sumary", "unknown field"),
    "verified-no-source-2024.yaml": ("verification", "needs at least one source URL"),
    "year-mismatch-2024.yaml": ("", "must end with the paper's year: -2019"),
    "dup-arxiv-b-2021.yaml": ("links.arxiv", "duplicate arxiv '2101.00001', already used by"),
    "dup-doi-b-2021.yaml": ("links.doi", "duplicate doi '10.1234/toy.1'"),
    "dup-id-2021.yml": ("id", "duplicate id 'dup-id-2021'"),
    "dup-title-b-2022.yaml": ("title", "duplicate title"),
    "unknown-impl-2022.yaml": ("implementation.id", "no registered implementation 'no-such-algorithm'"),
}


@pytest.fixture(scope="module")
def bad_problems():
    _, problems = load_papers(BAD, implementation_ids={"md-gan"}, display_base=REPO)
    return problems


def test_corpus_is_large_enough() -> None:
    assert len(list(BAD.iterdir())) >= 15


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_gets_its_message(bad_problems, name: str) -> None:
    location, fragment = EXPECTED[name]
    mine = [p for p in bad_problems if p.path.endswith("/" + name)]
    assert mine, f"{name} was accepted"
    assert any(p.location.startswith(location) and fragment in p.message for p in mine), [str(p) for p in mine]
    for problem in mine:
        assert str(problem).startswith(f"tests/data/bad/{name}: ")


def test_every_file_in_the_corpus_is_rejected_or_is_the_first_of_a_pair(bad_problems) -> None:
    rejected = {Path(p.path).name for p in bad_problems}
    first_of_pair = {"dup-arxiv-a-2021.yaml", "dup-doi-a-2021.yaml", "dup-id-2021.yaml", "dup-title-a-2022.yaml"}
    assert {f.name for f in BAD.iterdir()} - rejected == first_of_pair


def test_typo_suggestion() -> None:
    problems = load_papers(BAD / "enum-typo-2020.yaml")[1]
    assert problems[0].message.endswith("did you mean 'dp-sgd-local'?")


def test_load_catalog_raises_with_all_problems() -> None:
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(BAD)
    assert len(excinfo.value.problems) >= 20


def test_validate_cli_exits_1_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fedgen_registry", "validate", str(BAD)], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "privacy.mechanisms[1]: 'dp' is not one of" in result.stdout
    assert result.stderr.strip().startswith("error: ")


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    # nine levels of nine-fold aliases would expand to ~387 million strings if anything walked it
    _, problems = load_papers(BAD / "alias-bomb-2023.yaml")
    assert len(problems) == 1


def test_good_entries_load_and_problems_do_not_hide_good_ones(tmp_path: Path) -> None:
    root = write_catalog(tmp_path, [make_entry("good-one-2020"), make_entry("bad-one-2021", strand="generatoin")])
    papers, problems = load_papers(root)
    assert [p.id for p in papers] == ["good-one-2020"]
    assert len(problems) == 1 and "did you mean 'generation'" in problems[0].message


def test_parse_cache_sees_edits_and_survives_corruption(tmp_path: Path) -> None:
    from fedgen_registry.catalog.cache import ParseCache

    root = write_catalog(tmp_path / "cat", [make_entry("cached-2020")])
    assert load_catalog(root, check_implementations=False).get("cached-2020").title == "Fictional paper cached-2020"
    cache_file = ParseCache(root).path
    assert cache_file.exists()
    write_catalog(root, [make_entry("cached-2020", title="An edited, longer title")])
    assert load_catalog(root, check_implementations=False).get("cached-2020").title == "An edited, longer title"
    # an entry made invalid after caching is still rejected: the cache stores parsed YAML, never trust
    write_catalog(root, [make_entry("cached-2020", strand="nonsense")])
    with pytest.raises(CatalogError):
        load_catalog(root, check_implementations=False)
    cache_file.write_text("{not json")
    write_catalog(root, [make_entry("cached-2020")])
    assert len(load_catalog(root, check_implementations=False)) == 1

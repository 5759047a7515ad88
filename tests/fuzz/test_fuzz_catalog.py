"""Real catalogue entries mutated field by field (types, enums, unicode, huge strings, nesting, deletion) and
as raw text: the loader returns a paper or problems, one line each, and never raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from fedgen_registry.catalog.loader import parse_entry

REPO = Path(__file__).resolve().parents[2]
ENTRIES = sorted((REPO / "catalog" / "papers").glob("*.yaml"))
DELETE = object()

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8).map(lambda s: s * 4000),  # huge
    st.lists(st.text(max_size=6), max_size=4),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=6)), max_size=3),
    st.recursive(
        st.integers(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
        max_leaves=20,
    ),
    st.just(DELETE),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a loaded YAML document (dict keys and list indices), containers included."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def mutate(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def check(text: str) -> None:
    paper, problems = parse_entry(text, "papers/fuzz-2020.yaml")
    assert (paper is None) == bool(problems)
    for problem in problems:
        line = str(problem)
        assert line.startswith("papers/fuzz-2020.yaml") and "\n" not in line, line


@given(entry=st.sampled_from(ENTRIES), data=st.data())
def test_an_entry_mutated_in_one_field_is_a_paper_or_one_line_problems(entry: Path, data: st.DataObject) -> None:
    document = yaml.safe_load(entry.read_text(encoding="utf-8"))
    path = data.draw(st.sampled_from(paths(document)))
    mutate(document, path, data.draw(VALUES))
    check(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


@given(entry=st.sampled_from(ENTRIES), position=st.floats(0, 1), junk=st.text(max_size=30))
def test_an_entry_with_junk_text_inserted_is_a_paper_or_one_line_problems(
    entry: Path, position: float, junk: str
) -> None:
    text = entry.read_text(encoding="utf-8")
    cut = int(position * len(text))
    check(text[:cut] + junk + text[cut:])

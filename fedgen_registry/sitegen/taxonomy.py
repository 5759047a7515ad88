"""The catalogue's vocabularies as the site shows them: glossary anchors, chips and per-paper values.

A vocabulary that has a query facet (``FACETS``) is read through that facet, so the site's counts and
filters mean exactly what ``Catalog.filter`` and ``Catalog.facets`` mean. The few vocabularies that are
not facets (topology, shared artefacts, ...) are read from the flat export record instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fedgen_registry.catalog.export import record
from fedgen_registry.catalog.query import FACETS
from fedgen_registry.catalog.schema import Paper
from fedgen_registry.catalog.vocab import (
    Capability,
    DPLevel,
    ImplementationStatus,
    Participation,
    SharedArtifact,
    Topology,
    VenueType,
    Vocabulary,
)
from fedgen_registry.sitegen import layout
from fedgen_registry.sitegen.markup import md

# Facets the catalogue page filters on, in the order of its filter panel (all of them are FACETS keys).
CATALOGUE_FACETS: tuple[str, ...] = (
    "strand",
    "model_type",
    "aggregation",
    "privacy",
    "adversary",
    "modality",
    "fidelity",
    "reproduction",
)
CATALOGUE_FLAGS: tuple[str, ...] = ("code_available", "implemented")

_RECORD_COLUMNS: dict[type[Vocabulary], str] = {
    VenueType: "venue_type",
    Topology: "topology",
    Participation: "participation",
    SharedArtifact: "shared",
    DPLevel: "dp_level",
    Capability: "capabilities",
    ImplementationStatus: "implementation_status",
}


def facet_of(vocabulary: type[Vocabulary]) -> str | None:
    """The name of the query facet over this vocabulary, if there is one."""
    return next((name for name, facet in FACETS.items() if facet.vocabulary is vocabulary), None)


def values_of(vocabulary: type[Vocabulary]) -> Callable[[Paper], tuple[str, ...]]:
    """A function giving the slugs of ``vocabulary`` that a paper has."""
    name = facet_of(vocabulary)
    if name is not None:
        return FACETS[name].values_of
    column = _RECORD_COLUMNS.get(vocabulary)
    if column is None:
        raise KeyError(f"the site does not know how to read {vocabulary.__name__} from a paper")

    def read(paper: Paper) -> tuple[str, ...]:
        value = record(paper)[column]
        if value is None:
            return ()
        return tuple(value) if isinstance(value, list) else (value,)

    return read


def label(vocabulary: type[Vocabulary]) -> str:
    """``AggregationMethod`` -> ``Aggregation method``."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z]*", vocabulary.__name__)
    return " ".join([words[0], *(w if w.isupper() else w.lower() for w in words[1:])])


def section_anchor(vocabulary: type[Vocabulary]) -> str:
    return label(vocabulary).lower().replace(" ", "-")


def anchor(vocabulary: type[Vocabulary], value: str) -> str:
    """The glossary anchor of one term; slugs repeat across vocabularies ("other"), so it is prefixed."""
    return f"{section_anchor(vocabulary)}-{value}"


def chip(vocabulary: type[Vocabulary], value: str, from_page: str) -> str:
    """A Markdown link to the term's glossary entry (which holds its definition), styled as a chip."""
    target = f"{layout.link(from_page, layout.GLOSSARY)}#{anchor(vocabulary, value)}"
    return f"[{md(value)}]({target}){{ .fg-chip }}"


def chips(vocabulary: type[Vocabulary], values: tuple[str, ...] | list[str], from_page: str) -> str:
    return " ".join(chip(vocabulary, value, from_page) for value in values) or "none"

"""Flat, pandas-friendly records and the JSON/CSV exports built on them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from fedgen_registry.catalog.schema import Paper

COLUMNS: tuple[str, ...] = (
    "id", "title", "authors", "first_author", "year", "venue", "venue_type", "arxiv", "doi", "code", "url", "code_available",
    "strand", "also_strands", "model_types", "partitioning", "topology", "participation", "one_shot",
    "asynchronous", "personalized", "aggregation", "shared", "privacy", "dp_level", "epsilon", "delta",
    "adversary", "capabilities", "modalities", "datasets", "implementation_id", "preset", "implementation_status",
    "implemented", "fidelity", "reproduction", "verification", "summary",
)  # fmt: skip


def _values(items: Iterable[Any]) -> list[str]:
    return [getattr(item, "value", item) for item in items]


def record(paper: Paper) -> dict[str, Any]:
    """One row: scalars as scalars, multi-valued facets as lists of slugs."""
    impl, dp, fl = paper.implementation, paper.privacy.dp, paper.fl_setting
    row: dict[str, Any] = {
        "id": paper.id,
        "title": paper.title,
        "authors": list(paper.authors),
        "first_author": paper.first_author,
        "year": paper.year,
        "venue": paper.venue,
        "venue_type": paper.venue_type.value if paper.venue_type else None,
        "arxiv": paper.links.arxiv,
        "doi": paper.links.doi,
        "code": paper.links.code,
        "url": paper.links.url,
        "code_available": paper.code_available,
        "strand": paper.strand.value,
        "also_strands": _values(paper.also_strands),
        "model_types": _values(paper.model_types),
        "partitioning": fl.partitioning.value,
        "topology": fl.topology.value,
        "participation": fl.participation.value,
        "one_shot": fl.one_shot,
        "asynchronous": fl.asynchronous,
        "personalized": fl.personalized,
        "aggregation": paper.aggregation.method.value,
        "shared": _values(paper.aggregation.shared),
        "privacy": _values(paper.privacy.mechanisms),
        "dp_level": dp.level.value if dp else None,
        "epsilon": dp.epsilon if dp else None,
        "delta": dp.delta if dp else None,
        "adversary": paper.threat_model.adversary.value,
        "capabilities": _values(paper.threat_model.capabilities),
        "modalities": _values(paper.data.modalities),
        "datasets": list(paper.data.datasets),
        "implementation_id": impl.id if impl else None,
        "preset": impl.preset if impl else None,
        "implementation_status": impl.status.value if impl else None,
        "implemented": paper.implemented,
        "fidelity": impl.fidelity.value if impl and impl.fidelity else None,
        "reproduction": paper.reproduction.value if paper.reproduction else None,
        "verification": paper.verification.status.value,
        "summary": paper.summary,
    }
    assert tuple(row) == COLUMNS, "record() and COLUMNS disagree"
    return row


def entry_dict(paper: Paper) -> dict[str, Any]:
    """The full entry as plain JSON types, with the derived ``code_available`` added."""
    data = paper.model_dump(mode="json")
    data["code_available"] = paper.code_available
    return data


def to_json(papers: Iterable[Paper], indent: int | None = 2) -> str:
    return json.dumps([entry_dict(p) for p in papers], indent=indent, ensure_ascii=False)


def to_csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in records:
        writer.writerow({k: "; ".join(v) if isinstance(v, list) else ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue()

"""Related papers: the few entries closest to a paper by aggregation method and model type.

A candidate must share the aggregation method or at least one model type (the two axes the issue asks
for); candidates are ranked by how much they share, then by closeness in years, then by id, so the list
is stable from one build to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedgen_registry.catalog.query import Catalog
from fedgen_registry.catalog.schema import Paper

HOW_MANY = 6


@dataclass(frozen=True)
class Related:
    paper: Paper
    same_aggregation: bool
    shared_model_types: tuple[str, ...]

    def reason(self) -> str:
        reasons = []
        if self.same_aggregation:
            reasons.append(f"same aggregation ({self.paper.aggregation.method.value})")
        if self.shared_model_types:
            reasons.append("model type " + ", ".join(self.shared_model_types))
        return "; ".join(reasons)


def related(paper: Paper, catalog: Catalog, how_many: int = HOW_MANY) -> list[Related]:
    mine = {m.value for m in paper.model_types}
    found = []
    for other in catalog:
        if other.id == paper.id:
            continue
        same = other.aggregation.method is paper.aggregation.method
        shared = tuple(m.value for m in other.model_types if m.value in mine)
        if same or shared:
            found.append(Related(other, same, shared))
    found.sort(
        key=lambda r: (
            -(2 * r.same_aggregation + len(r.shared_model_types)),
            abs(r.paper.year - paper.year),
            r.paper.id,
        )
    )
    return found[:how_many]

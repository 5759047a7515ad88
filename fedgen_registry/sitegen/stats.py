"""The numbers behind the home page's charts, computed from the catalogue once and shown twice.

Each chart and the table beneath it are drawn from the same :class:`Tally` or :class:`Crosstab`, so the
picture and the numbers cannot disagree. Single-facet counts come straight from ``Catalog.facets()``;
cross tabulations use the same ``FACETS`` functions, so a paper with two model types counts once in each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from fedgen_registry.catalog.query import FACETS, Catalog
from fedgen_registry.catalog.schema import Paper
from fedgen_registry.catalog.vocab import ImplementationStatus, ModelType, Strand, Vocabulary


@dataclass(frozen=True)
class Tally:
    """Counts of one property, in display order."""

    name: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Crosstab:
    """Counts of (row value, column value) pairs; ``cells[i][j]`` belongs to ``rows[i]`` and ``columns[j]``."""

    row_name: str
    column_name: str
    rows: list[str]
    columns: list[str]
    cells: list[list[int]]

    def row_totals(self) -> list[int]:
        return [sum(row) for row in self.cells]


def crosstab(
    catalog: Catalog,
    row_name: str,
    rows_of: Callable[[Paper], tuple[str, ...]],
    column_name: str,
    columns_of: Callable[[Paper], tuple[str, ...]],
    columns: list[str],
) -> Crosstab:
    """Count every (row value, column value) pair of every paper; rows are sorted, columns kept as given."""
    pairs = Counter((r, c) for p in catalog for r in rows_of(p) for c in columns_of(p))
    rows = sorted({r for r, _ in pairs})
    cells = [[pairs[(r, c)] for c in columns] for r in rows]
    return Crosstab(row_name, column_name, rows, columns, cells)


def _present(vocabulary: type[Vocabulary], counts: dict[str, int]) -> list[str]:
    """Vocabulary values that occur, in the vocabulary's own order (stable colours and columns)."""
    return [v for v in vocabulary.values() if counts.get(v)]


def papers_per_year_by_model_type(catalog: Catalog) -> Crosstab:
    model_types = _present(ModelType, catalog.facets()["model_type"])
    return crosstab(
        catalog, "year", lambda p: (str(p.year),), "model type", FACETS["model_type"].values_of, model_types
    )


def strand_by_model_type(catalog: Catalog) -> Crosstab:
    counts = catalog.facets()
    table = crosstab(
        catalog,
        "strand",
        FACETS["strand"].values_of,
        "model type",
        FACETS["model_type"].values_of,
        _present(ModelType, counts["model_type"]),
    )
    order = _present(Strand, counts["strand"])
    by_row = dict(zip(table.rows, table.cells, strict=True))
    return Crosstab(table.row_name, table.column_name, order, table.columns, [by_row[r] for r in order])


def facet_tally(catalog: Catalog, name: str) -> Tally:
    """``Catalog.facets()[name]`` (most common first) under a display name."""
    return Tally(name, dict(catalog.facets()[name]))


def implementation_tally(catalog: Catalog) -> Tally:
    """Papers by implementation status, with papers that have no implementation entry counted apart."""
    counter = Counter(p.implementation.status.value if p.implementation else "none" for p in catalog)
    order = [*ImplementationStatus.values(), "none"]
    return Tally("implementation", {status: counter[status] for status in order})

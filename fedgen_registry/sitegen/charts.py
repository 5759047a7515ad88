"""PNG charts of the home page, drawn with matplotlib's object API (no pyplot, no global state).

Charts are drawn at build time from :mod:`fedgen_registry.sitegen.stats`, never committed. PNG metadata
is reduced to nothing version-specific so that rebuilding an unchanged catalogue gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fedgen_registry.sitegen.stats import Crosstab, Tally

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_DPI = 110
_PNG_METADATA = {"Software": None}


def _save(figure: Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=_DPI, metadata=_PNG_METADATA)


def bar_chart(tally: Tally, path: Path, title: str) -> None:
    """Horizontal bars, largest on top, each labelled with its count."""
    from matplotlib.figure import Figure

    labels = list(tally.counts)[::-1]
    values = [tally.counts[label] for label in labels]
    figure = Figure(figsize=(7, 0.45 * len(labels) + 1.2))
    axes = figure.add_subplot()
    bars = axes.barh(labels, values, color="#3f51b5")
    axes.bar_label(bars, padding=3)
    axes.set_title(title)
    axes.set_xlabel("papers")
    axes.set_xlim(0, max(values, default=0) * 1.15 + 1)
    axes.spines[["top", "right"]].set_visible(False)
    _save(figure, path)


def stacked_bar_chart(table: Crosstab, path: Path, title: str) -> None:
    """One bar per row value, stacked by column value (a legend names the colours)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    bottoms = [0] * len(table.rows)
    palette = colormaps["tab10"]
    for j, column in enumerate(table.columns):
        heights = [row[j] for row in table.cells]
        axes.bar(table.rows, heights, bottom=bottoms, label=column, color=palette(j % 10))
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    axes.set_title(title)
    axes.set_xlabel(table.row_name)
    axes.set_ylabel(f"papers (once per {table.column_name})")
    axes.legend(title=table.column_name, fontsize="small", frameon=False, loc="upper left")
    axes.spines[["top", "right"]].set_visible(False)
    _save(figure, path)


def heatmap(table: Crosstab, path: Path, title: str) -> None:
    """A grid of counts, darker for more papers, with each count written in its cell."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1.0 * len(table.columns) + 2.5, 0.6 * len(table.rows) + 1.8))
    axes = figure.add_subplot()
    image = axes.imshow(table.cells, cmap="Blues", aspect="auto")
    axes.set_xticks(range(len(table.columns)), table.columns, rotation=35, ha="right")
    axes.set_yticks(range(len(table.rows)), table.rows)
    peak = max((max(row) for row in table.cells), default=0)
    for i, row in enumerate(table.cells):
        for j, value in enumerate(row):
            colour = "white" if value > peak / 2 else "black"
            axes.text(j, i, str(value), ha="center", va="center", color=colour, fontsize="small")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="papers")
    _save(figure, path)

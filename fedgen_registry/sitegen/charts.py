"""PNG charts of the home page and the Compare pages, drawn with matplotlib's object API (no pyplot, no
global state).

Charts are drawn at build time from :mod:`fedgen_registry.sitegen.stats` and
:mod:`fedgen_registry.sitegen.comparison`, never committed. PNG metadata
is reduced to nothing version-specific so that rebuilding an unchanged catalogue gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fedgen_registry.sitegen.comparison import Point
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


def _wide(values: list[float]) -> bool:
    """Whether positive values span two decades or more, so that only a log axis shows them all."""
    return bool(values) and min(values) > 0 and max(values) >= 100 * min(values)


def scatter_panels(panels: dict[str, list[Point]], path: Path, x_label: str, y_label: str, x_unit: str = "") -> None:
    """One panel per partition, sharing the y axis: filled markers are ranked runs, hollow ones are not; only
    the points marked ``named`` are labelled, so that the labels stay legible. The x ticks are engineering
    numbers (``200 kB``), short enough not to collide."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter, MaxNLocator

    figure = Figure(figsize=(4.2 * len(panels) + 0.6, 4.2))
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    every = [p for points in panels.values() for p in points]
    for axis, (partition, points) in zip(axes, panels.items(), strict=True):
        for ranked, style in ((True, {"color": "#3f51b5"}), (False, {"facecolors": "none", "edgecolors": "#9e9e9e"})):
            chosen = [p for p in points if p.ranked is ranked]
            axis.scatter([p.x for p in chosen], [p.y for p in chosen], s=24, **style)
        for p in points:
            if p.named:
                axis.annotate(p.label, (p.x, p.y), xytext=(4, 3), textcoords="offset points", fontsize=7)
        if _wide([p.x for p in every]):
            axis.set_xscale("log")
        else:
            axis.xaxis.set_major_locator(MaxNLocator(nbins=4))
        axis.xaxis.set_major_formatter(EngFormatter(unit=x_unit))
        axis.set_title(partition)
        axis.set_xlabel(x_label)
        axis.spines[["top", "right"]].set_visible(False)
    if _wide([p.y for p in every]):
        axes[0].set_yscale("log")
    axes[0].set_ylabel(y_label)
    _save(figure, path)

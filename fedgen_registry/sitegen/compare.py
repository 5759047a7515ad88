"""One Compare page per registry family, rendered from the cached ``fedgen compare`` results.

A comparison takes minutes to an hour, so the site never runs one: ``fedgen compare --results
site/compare/results`` caches ``<stem>.json`` and its sample grids there. A quality comparison is read
into a :class:`~fedgen_registry.sitegen.comparison.Comparison` and shown to be read at a glance: a chart
of the headline against bytes uploaded first, then a narrow table sorted by the headline (the other
columns folded away), then the private methods against their epsilon. A smoke comparison keeps the
command's own table. A family without a cache still gets its page, saying how to make one, so the site
builds either way.
"""

from __future__ import annotations

import json
from pathlib import Path

from fedgen_registry.catalog.query import Catalog
from fedgen_registry.runs.compare import FAMILIES, markdown_table
from fedgen_registry.runs.quality_compare import QUALITY
from fedgen_registry.sitegen import charts, layout
from fedgen_registry.sitegen.comparison import BYTES, EPSILON, Comparison, Measure, read_comparison
from fedgen_registry.sitegen.markup import code_span, md, table

RESULTS_FOLDER = f"{layout.COMPARE}/results"
"""Where ``fedgen compare --results`` caches the data and figures the pages show (relative to the docs)."""
TABLE_CLASS = "fg-compare"
LABEL_ALL = 8
"""A bytes chart of this many implementations or fewer labels every point."""
COSTS = {BYTES: ("bytes", "bytes uploaded per client and round", "B"), EPSILON: ("epsilon", "epsilon", "")}
"""What a quality is charted against: the chart's file name, its x label and the unit of its ticks."""


def missing(family: str) -> str:
    return (
        "No comparison is cached for this family yet. This command makes one (runs shared with "
        "`fedgen reproduce` when `--out` is the same folder), then rebuild the site:\n\n"
        f"```bash\nfedgen compare --family {family} --preset quality --out runs/reproduce --results site/{RESULTS_FOLDER}\n```\n"
    )


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _measure(measure: Measure | None) -> str:
    """Mean, with its std over seeds in small print so the column stays narrow."""
    if measure is None or measure.mean is None:
        return "n/a"
    spread = f" <small>± {measure.std:.2g}</small>" if measure.std else ""
    return _number(measure.mean) + spread


def _bytes(value: float | None) -> str:
    if value is None:
        return "n/a"
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} B"


def _narrow(markdown: str) -> str:
    """A table in a ``fg-compare`` block, whose style keeps every cell on one line."""
    return f'<div class="{TABLE_CLASS}" markdown>\n\n{markdown}\n</div>\n'


def _heading(value: str, partition: str) -> str:
    """A column heading on two lines, the value over its partition, so headings never widen a column."""
    return f"{md(value)}<br><small>{md(partition)}</small>"


def _name(comparison: Comparison, implementation: str) -> str:
    tag = " <small>centralized baseline</small>" if implementation == comparison.baseline else ""
    return code_span(implementation) + tag


def _ranked_table(comparison: Comparison, implementations: list[str]) -> str:
    """One row per implementation: headline and second metric on each partition, then bytes uploaded."""
    shown = comparison.metrics[:2]
    header = ["implementation"]
    header += [_heading(m, p) for m in shown for p in comparison.partitions]
    header.append("bytes up<br>per client-round")
    rows = []
    for implementation in implementations:
        runs = [comparison.run(implementation, p) for p in comparison.partitions]
        cells = [_name(comparison, implementation)]
        cells += [_measure(r.values.get(m)) if r is not None else "n/a" for m in shown for r in runs]
        first = next((r for r in runs if r is not None and r.ok), None)
        cells.append(_bytes(first.value(BYTES) if first else None))
        rows.append(cells)
    return _narrow(table(header, rows))


def _private_table(comparison: Comparison) -> str:
    header = ["implementation"]
    header += [_heading("ε", p) for p in comparison.partitions]
    header += [_heading(comparison.headline, p) for p in comparison.partitions]
    rows = []
    for implementation in comparison.private():
        runs = [comparison.run(implementation, p) for p in comparison.partitions]
        cells = [_name(comparison, implementation)]
        cells += [_number(r.value(EPSILON)) if r else "n/a" for r in runs]
        cells += [_measure(r.values.get(comparison.headline)) if r else "n/a" for r in runs]
        rows.append(cells)
    return _narrow(table(header, rows))


def _papers(ids: tuple[str, ...], catalog: Catalog, page: str) -> str:
    known = set(catalog.ids)
    return ", ".join(f"[{md(i)}]({layout.link(page, layout.paper_page(i))})" if i in known else md(i) for i in ids)


def _every_column(comparison: Comparison, catalog: Catalog, page: str) -> str:
    """Every value of every run, folded: the wide table the page used to open with."""
    keys = [*comparison.metrics, "real_rows", EPSILON, "wall_s"]
    header = ["implementation", "partition", "fidelity", "evaluation", *map(md, keys), "papers"]
    rows = []
    for run in comparison.runs:
        values = [_measure(run.values.get(k)) for k in keys] if run.ok else [md(run.status)] + [""] * (len(keys) - 1)
        facts = [code_span(run.implementation), md(run.partition), md(run.fidelity or "n/a"), md(run.evaluation)]
        rows.append([*facts, *values, _papers(run.papers, catalog, page)])
    body = "\n".join("    " + line for line in table(header, rows).splitlines())
    return f'??? note "Every column of every run"\n\n{body}\n'


def _named(comparison: Comparison, partition: str) -> set[str] | None:
    """Which runs a bytes chart labels: all of them in a small comparison (None), else the baseline and the
    frontier, so that the labels of a crowded chart stay legible."""
    if len({r.implementation for r in comparison.runs}) <= LABEL_ALL:
        return None
    return comparison.frontier(partition) | {comparison.baseline}


def _chart(comparison: Comparison, docs_dir: Path, page: str, cost: str) -> str:
    """Draw one panel per partition of the headline against ``cost`` (bytes or epsilon); return its Markdown."""
    name, x_label, unit = COSTS[cost]
    # few runs are private, so an epsilon chart labels every one
    panels = {
        p: comparison.points(p, cost, _named(comparison, p) if cost == BYTES else None) for p in comparison.partitions
    }
    relative = f"{layout.CHARTS}/compare-{comparison.family}-{name}.png"
    better = "lower" if comparison.lower_is_better else "higher"
    charts.scatter_panels(panels, docs_dir / relative, x_label, f"{comparison.headline} ({better} is better)", unit)
    text = f"Scatter plot of {comparison.headline} against {x_label}, one panel per partition; the table below gives the numbers."
    return f"![{md(text)}]({layout.link(page, relative)}){{ .fg-chart }}\n"


def quality_body(comparison: Comparison, docs_dir: Path, catalog: Catalog, page: str, samples: str | None) -> str:
    seeds = ", ".join(map(str, comparison.seeds))
    if comparison.skewed_seeds != comparison.seeds:
        seeds += f"; non-IID federated runs seeds {', '.join(map(str, comparison.skewed_seeds))} only"
    better = "lower" if comparison.lower_is_better else "higher"
    parts = [
        f"Family `{comparison.family}` on {md(comparison.dataset or 'its generated corpus')}, preset `quality`, "
        f"means over seeds {seeds}; partitions {', '.join(comparison.partitions)} (Dirichlet alpha {comparison.alpha}). "
        f"Headline metric `{comparison.headline}`: {better} is better. Every quality preset draws the same real rows "
        "as the centralized baseline.\n",
        _chart(comparison, docs_dir, page, BYTES),
        "Filled markers: runs judged by the shared evaluation; hollow: runs that judge their own samples."
        + (
            " Named: the baseline and every shared run that no other beats on both quality and bytes."
            if _named(comparison, comparison.partitions[0]) is not None
            else ""
        )
        + "\n",
    ]
    ranked, own = comparison.ranking(True), comparison.ranking(False)
    if ranked:
        parts += ["## Ranked on the shared evaluation\n", _ranked_table(comparison, ranked)]
    if own:
        parts += [
            "## Judged by their own evaluation\n",
            "These implementations judge their own samples (a privacy ledger, several generators, or images "
            "generated from held-out inputs), so they are sorted here but not ranked against the shared evaluation.\n",
            _ranked_table(comparison, own),
        ]
    if comparison.private():
        parts += [
            "## Privacy against quality\n",
            _chart(comparison, docs_dir, page, EPSILON),
            _private_table(comparison),
        ]
    failed = [r for r in comparison.runs if not r.ok]
    if failed:
        parts.append(
            "Runs that did not finish:\n\n"
            + "\n".join(f"- {code_span(r.implementation)} on {md(r.partition)}: {md(r.status)}" for r in failed)
            + "\n"
        )
    if comparison.skipped:
        parts.append(
            "Skipped:\n\n"
            + "\n".join(f"- {code_span(s['implementation'])}: {md(s['reason'])}" for s in comparison.skipped)
            + "\n"
        )
    parts.append("## Details\n")
    parts.append(_every_column(comparison, catalog, page))
    if samples:
        parts.append(f'??? note "Samples of seed 0, side by side"\n\n    ![Sample grids of every run]({samples})\n')
    return "\n".join(parts)


def compare_body(docs_dir: Path, family: str, catalog: Catalog) -> str:
    """The cached results of one family, with links relative to its generated page."""
    stem = FAMILIES[family].results_stem
    results_file = docs_dir / RESULTS_FOLDER / f"{stem}.json"
    if not results_file.exists():
        return missing(family)
    results = json.loads(results_file.read_text(encoding="utf-8"))
    page = layout.compare_page(family)
    sample = docs_dir / RESULTS_FOLDER / f"{stem}.png"
    samples = layout.link(page, f"{RESULTS_FOLDER}/{sample.name}") if sample.exists() else None
    if results.get("preset") == QUALITY:
        return quality_body(read_comparison(results), docs_dir, catalog, page, samples)
    return markdown_table(results, samples)


def compare_page(docs_dir: Path, family: str, catalog: Catalog) -> str:
    comparison = FAMILIES[family]
    page = layout.compare_page(family)
    return (
        "---\nhide:\n  - toc\n---\n\n"
        f"# {comparison.title} side by side\n\n"
        f"Every registered {comparison.models} implementation beside the centralized twin `{comparison.baseline}` "
        "on the same partitions, as written by `fedgen compare` from the runs' own files (never by hand). "
        f"How the metrics are measured is on the [Compare overview]({layout.link(page, 'compare/index.md')}).\n\n"
        + compare_body(docs_dir, family, catalog)
    )

"""``fedgen compare --preset quality``: a family's implementations at the budget where each shows what it
does, over seeds, on IID and label-skewed partitions, beside the centralized twin.

The smoke comparison (:mod:`fedgen_registry.runs.compare`) equalises short runs with a probe; here every
``quality`` preset already carries the family's sample budget (the same real-row visits as the centralized
twin's), so each run is the preset itself with only the partition changed. Runs go through
:class:`~fedgen_registry.runs.reproduce.RunCache`, the same runs and folders as ``fedgen reproduce``: the IID
seeds of a comparison are the runs its claims were decided on, and neither command reruns what the other
finished. Each row is a mean +- std over the seeds; the page shows the headline metric and recall in the
main table, folds the other columns, and adds two charts (quality against bytes uploaded per client-round;
quality against epsilon for the private methods) and the sample grids of seed 0; the family algorithm's
IID grid beside the baseline's (``<stem>-reference.png``) is what the site's home page shows.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fedgen_registry.runs.compare import CompareSettings, FamilyComparison, sample_figure, select

QUALITY = "quality"
TRAFFIC = ("bytes_up_per_client_round", "epsilon", "real_rows", "wall_s")


def partition_overrides(partition: str, alpha: float) -> dict[str, Any]:
    """Nothing for IID (the quality presets' split, so the runs are the claims' own), else the split to use.

    The centralized baseline gets none: one client holds every row whatever the split, so its runs serve
    every partition's row."""
    return {} if partition == "iid" else {"data.partition": partition, "data.alpha": alpha}


def _summary(values: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def quality_row(
    comparison: FamilyComparison, per_seed: Sequence[Mapping[str, float]], base: Mapping[str, Any]
) -> dict[str, Any]:
    """One table row: each metric's mean and std over the seeds (absent when a seed lacks it)."""
    row = dict(base)
    for metric in (*comparison.metrics, *TRAFFIC):
        values = [measured[metric] for measured in per_seed if metric in measured]
        if len(values) == len(per_seed) and all(math.isfinite(v) for v in values):
            row[metric], row[f"{metric}_std"] = _summary(values)
        else:
            row[metric], row[f"{metric}_std"] = None, None
    return row


def compare_quality(
    settings: CompareSettings,
    seeds: Sequence[int],
    log: Any = print,
    skewed_seeds: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Run (or reread) every candidate's quality preset per partition and seed; write ``<stem>.json/.md/.png``.

    ``skewed_seeds`` (default: ``seeds``) are the seeds of the non-IID partitions, whose runs are not shared
    with the claims and so cost a full run each; every row records the seeds it averages."""
    from fedgen_registry.catalog.claims import ClaimRun
    from fedgen_registry.runs.reproduce import RunCache, run_folder

    comparison = settings.comparison
    candidates, skipped = select(settings, QUALITY)
    cache = RunCache(settings.out, log)
    rows: list[dict[str, Any]] = []
    for partition in settings.partitions:
        for candidate in candidates:
            skewed = partition != "iid" and candidate.implementation != comparison.baseline
            row_seeds = tuple(skewed_seeds if skewed and skewed_seeds else seeds)
            split = (
                {}
                if candidate.implementation == comparison.baseline
                else partition_overrides(partition, settings.alpha)
            )
            run = ClaimRun(implementation=candidate.implementation, overrides={**split, **settings.overrides})
            base = {
                "implementation": candidate.implementation,
                "partition": partition,
                "papers": list(candidate.papers),
                "fidelity": candidate.fidelity,
                "evaluation": "shared" if candidate.shared_evaluation else "own",
                "seeds": list(row_seeds),
                "run_dir": str(run_folder(settings.out, run, row_seeds[0])),
            }
            try:
                row = quality_row(comparison, [cache.get(run, seed) for seed in row_seeds], {**base, "status": "ok"})
            except Exception as exc:  # one failing implementation must not stop the comparison
                row = {**base, "status": f"failed: {type(exc).__name__}: {exc}"}
            rows.append(row)
            log(
                f"{partition:>10} {candidate.implementation:<28} {row['status']:<6} {comparison.headline}="
                f"{row.get(comparison.headline)}"
            )
    results = {
        "family": settings.family,
        "title": comparison.title,
        "dataset": comparison.dataset,
        "preset": QUALITY,
        "baseline": comparison.baseline,
        "reference": comparison.reference,
        "partitions": list(settings.partitions),
        "alpha": settings.alpha,
        "seeds": list(seeds),
        "skewed_seeds": list(skewed_seeds or seeds),
        "metrics": list(comparison.metrics),
        "lower_is_better": comparison.lower_is_better,
        "overrides": dict(settings.overrides),
        "rows": rows,
        "skipped": skipped,
    }
    write_quality_results(results, settings.results_dir, comparison.results_stem)
    return results


# ------------------------------------------------------------------------------------------------ output


def _number(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return text if std is None else f"{text} ± {std:.2g}"


def best_federated(results: Mapping[str, Any], partition: str) -> Mapping[str, Any] | None:
    """The best federated run (shared evaluation) on one partition by the headline metric."""
    headline = results["metrics"][0]
    scored = [
        r
        for r in results["rows"]
        if r["partition"] == partition
        and r.get(headline) is not None
        and r["implementation"] != results["baseline"]
        and r.get("evaluation") == "shared"
    ]
    sign = 1 if results["lower_is_better"] else -1
    return min(scored, key=lambda r: sign * r[headline], default=None)


def quality_markdown(results: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    """The page body: setting, main table (headline and recall or the second metric), folded details, charts."""
    metrics: list[str] = results["metrics"]
    main = metrics[:2]
    seeds = ", ".join(map(str, results["seeds"]))
    skewed = results.get("skewed_seeds", results["seeds"])
    if skewed != results["seeds"]:
        seeds += f" (non-IID federated rows: seeds {', '.join(map(str, skewed))}, so their ± is over fewer runs)"
    better = "lower" if results["lower_is_better"] else "higher"
    lines = [
        f"Family `{results['family']}` on {results['dataset'] or 'its generated corpus'}, preset `quality`, seeds {seeds} (mean ± std); "
        f"partitions {', '.join(results['partitions'])} (Dirichlet alpha {results['alpha']}); baseline "
        f"`{results['baseline']}`. Every quality preset draws the same real rows as its centralized twin (column "
        f"*real rows* in the details). Headline metric `{metrics[0]}`: {better} is better.",
        "",
        "| implementation | partition | " + " | ".join(main) + " | bytes up / client / round |",
        "|---|---|" + "---|" * len(main) + "---|",
    ]
    for row in results["rows"]:
        if row["status"] != "ok":
            lines.append(f"| {row['implementation']} | {row['partition']} | {row['status'][:80]} |")
            continue
        cells = [_number(row.get(m), row.get(f"{m}_std")) for m in main]
        lines.append(
            f"| {row['implementation']} | {row['partition']} | "
            + " | ".join(cells)
            + f" | {_number(row.get('bytes_up_per_client_round'))} |"
        )
    for partition in results["partitions"]:
        best = best_federated(results, partition)
        base = next(
            (r for r in results["rows"] if r["partition"] == partition and r["implementation"] == results["baseline"]),
            None,
        )
        if best is not None and base is not None and base.get(metrics[0]) is not None:
            lines.append(
                f"\nBest federated on {partition}: `{best['implementation']}` {metrics[0]} "
                f"{_number(best[metrics[0]], best[f'{metrics[0]}_std'])} against the baseline's "
                f"{_number(base[metrics[0]], base[f'{metrics[0]}_std'])}."
            )
    detail_keys = [*metrics, "real_rows", "epsilon", "wall_s"]
    lines += [
        "",
        '??? note "Every column"',
        "",
        "    | implementation | partition | fidelity | evaluation | " + " | ".join(detail_keys) + " |",
        "    |---|---|---|---|" + "---|" * len(detail_keys),
    ]
    for row in results["rows"]:
        if row["status"] == "ok":
            cells = [_number(row.get(k), row.get(f"{k}_std")) for k in detail_keys]
            lines.append(
                f"    | {row['implementation']} | {row['partition']} | {row.get('fidelity') or 'n/a'} | "
                f"{row['evaluation']} | " + " | ".join(cells) + " |"
            )
    lines += [
        "",
        "Evaluation `own`: the implementation judges its own samples (a privacy ledger, several generators, or "
        "images generated from held-out inputs), so it is not ranked against the shared evaluation.",
    ]
    if results["skipped"]:
        lines += ["", "Skipped:", ""] + [f"- `{s['implementation']}`: {s['reason']}" for s in results["skipped"]]
    captions = {
        "tradeoff": f"{metrics[0]} against bytes uploaded per client-round",
        "privacy": f"{metrics[0]} against epsilon (private methods)",
        "samples": "Samples of seed 0 side by side",
    }
    for name, path in figures.items():
        lines += ["", f"![{captions[name]}]({path})"]
    return "\n".join(lines) + "\n"


def _scatter(results: Mapping[str, Any], x_key: str, path: Path, log_x: bool) -> bool:
    """One marker per (implementation, partition) with the headline's std as error bar; False if nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    headline = results["metrics"][0]
    points = [r for r in results["rows"] if r.get(headline) is not None and r.get(x_key) is not None]
    if not points:
        return False
    figure, axis = pyplot.subplots(figsize=(7.5, 4.5))
    for partition, marker in zip(results["partitions"], "os^D", strict=False):
        chosen = [r for r in points if r["partition"] == partition]
        axis.errorbar(
            [r[x_key] for r in chosen],
            [r[headline] for r in chosen],
            yerr=[r.get(f"{headline}_std") or 0.0 for r in chosen],
            fmt=marker,
            capsize=2,
            label=partition,
        )
        for r in chosen:
            axis.annotate(r["implementation"], (r[x_key], r[headline]), fontsize=6, alpha=0.8)
    if log_x:
        axis.set_xscale("log")
    axis.set_xlabel(x_key.replace("_", " "))
    axis.set_ylabel(f"{headline} ({'lower' if results['lower_is_better'] else 'higher'} is better)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=96)
    pyplot.close(figure)
    return True


def write_quality_results(results: Mapping[str, Any], folder: Path, stem: str) -> dict[str, Path]:
    """``<stem>.json`` (the data), the charts and the sample grid, and ``<stem>.md`` rendered from the JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": folder / f"{stem}.json",
        "md": folder / f"{stem}.md",
        "tradeoff": folder / f"{stem}-tradeoff.png",
        "privacy": folder / f"{stem}-privacy.png",
        "samples": folder / f"{stem}.png",
        "reference": folder / f"{stem}-reference.png",
    }
    paths["json"].write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    pair = (results["baseline"], results["reference"])
    reference_rows = [
        r for r in results["rows"] if r["status"] == "ok" and r["partition"] == "iid" and r["implementation"] in pair
    ]
    drawn = {
        "tradeoff": _scatter(results, "bytes_up_per_client_round", paths["tradeoff"], log_x=True),
        "privacy": _scatter(results, "epsilon", paths["privacy"], log_x=True),  # epsilons span 10 to 1e5
        "samples": sample_figure(
            [r for r in results["rows"] if r["status"] == "ok"], results["partitions"], paths["samples"]
        ),
        "reference": sample_figure(reference_rows, ["iid"], paths["reference"]),
    }
    for name, made in drawn.items():
        if not made:
            paths[name].unlink(missing_ok=True)
    figures = {name: paths[name].name for name, made in drawn.items() if made and name != "reference"}
    paths["md"].write_text(quality_markdown(results, figures), encoding="utf-8")
    return paths

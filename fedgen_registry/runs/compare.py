"""Side by side comparison of one family's implementations on the same partitions (``fedgen compare``).

Every implementation runs its ``smoke`` preset with the same clients, partition and Dirichlet alpha,
next to the family's centralized baseline, and the table is built from what the runs wrote
(``metrics.json``, ``history.jsonl``, ``privacy.json``), never typed by hand. What differs between
families (baseline, dataset, results file, budget rule) is one :class:`FamilyComparison` in
:data:`FAMILIES`. The sample budget is the number of real rows drawn through
:meth:`~fedgen_registry.data.local.LocalData.batch`, counted by the run's own
:class:`~fedgen_registry.data.local.SampleMeter`: a one-round probe measures each run's rows per round
and its ``rounds`` are scaled to the baseline's smoke budget. Rows an algorithm reads without ``batch``
are not counted, so such runs keep their preset rounds and the table says their budget is not equalised.

This module imports only light libraries at the top: the site generator renders cached results with
:func:`markdown_table` without importing torch.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRESET = "smoke"
PR_TOLERANCE = 1e-9


@dataclass(frozen=True)
class FamilyComparison:
    """What one registry family is compared against, on what, where the results go, how budgets are equalised."""

    baseline: str
    """The centralized twin every federated run is set beside (its smoke run sets the sample budget)."""
    dataset: str | None
    """What every preset must train on (``data.name``), so the runs share the partitions; None for a family
    whose data is its own generated corpus, with no ``data.name`` to choose."""
    results_stem: str
    """The results files: ``<stem>.json``, ``<stem>.md``, ``<stem>.png``."""
    models: str
    """What a run of this family trains, as the skip reasons name it."""
    max_round_factor: int = 5
    """Equalised rounds are capped at this multiple of the preset's rounds (a run that reads few rows per round)."""
    title: str = "Federated GANs"
    """The heading of the family's Compare page."""
    reference: str = "fedavg-gan"
    """The family algorithm (FedAvg of the family's model) shown beside the baseline on the home page."""
    metrics: tuple[str, ...] = ("kid", "recall", "precision", "copied_fraction")
    """What the quality comparison reports per run (``metrics.json`` keys), the headline first."""
    lower_is_better: bool = True
    """Whether a smaller headline metric is a better result (KID, perplexity) or a larger one (quality score)."""

    @property
    def headline(self) -> str:
        return self.metrics[0]


FAMILIES: Mapping[str, FamilyComparison] = {
    "gan": FamilyComparison("centralized-gan", "digits", "gan", "image GAN"),
    "vae": FamilyComparison(
        "centralized-vae", "digits", "vae", "image VAE", title="Federated VAEs", reference="fedavg-vae"
    ),
    "diffusion": FamilyComparison(
        "centralized-diffusion",
        "digits",
        "diffusion",
        "image diffusion model",
        title="Federated diffusion models",
        reference="fedavg-diffusion",
    ),
    "tabular-gan": FamilyComparison(
        "centralized-tabular-gan",
        "breast-cancer",
        "tabular",
        "tabular GAN",
        title="Federated tabular GANs",
        reference="fedavg-tabular-gan",
        metrics=("quality_score", "tstr_accuracy", "trtr_accuracy", "copied_fraction"),
        lower_is_better=False,
    ),
    "language-model": FamilyComparison(
        "centralized-lm",
        None,
        "text",
        "language model",
        title="Federated language models",
        reference="fedavg-lm",
        metrics=("perplexity", "base_perplexity", "bigram_perplexity"),
    ),
}


@dataclass(frozen=True)
class CompareSettings:
    """What ``fedgen compare`` was asked for."""

    out: Path
    family: str = "gan"
    partitions: tuple[str, ...] = ("iid", "dirichlet")
    alpha: float = 0.1
    clients: int = 10
    only: tuple[str, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)
    results: Path | None = None

    @property
    def results_dir(self) -> Path:
        return self.results if self.results is not None else self.out

    @property
    def comparison(self) -> FamilyComparison:
        """The family's :class:`FamilyComparison`; a family without one is refused."""
        try:
            return FAMILIES[self.family]
        except KeyError:
            raise ValueError(
                f"no comparison is described for family {self.family!r}; families: {', '.join(FAMILIES)}"
            ) from None


@dataclass(frozen=True)
class Candidate:
    """An implementation that joins the comparison, with what the table says about it."""

    implementation: str
    preset_rounds: int
    papers: tuple[str, ...]
    fidelity: str | None
    shared_evaluation: bool


# ------------------------------------------------------------------------------------------------ selection


def _catalogue_uses() -> dict[str, list[tuple[str, str | None]]]:
    """Implementation id -> [(paper id, fidelity)] of the catalogue entries that use it."""
    from fedgen_registry.catalog import load_catalog

    uses: dict[str, list[tuple[str, str | None]]] = {}
    for paper in load_catalog():
        impl = paper.implementation
        if impl is not None and paper.implemented:
            uses.setdefault(impl.id, []).append((paper.id, impl.fidelity.value if impl.fidelity else None))
    return uses


REQUIRED_SETTINGS = frozenset({"rounds", "clients", "data.name", "data.partition", "data.alpha"})
"""What an implementation's config must offer to run on the shared partitions."""


def skip_reason(implementation: str, comparison: FamilyComparison, preset: str = PRESET) -> str | None:
    """Why an implementation cannot join the comparison at ``preset`` (``None``: it can)."""
    from fedgen_registry.registry import get_implementation
    from fedgen_registry.runs.runner import config_keys, resolve

    spec = get_implementation(implementation)
    if preset not in spec.presets:
        return f"no {preset!r} preset"
    required = REQUIRED_SETTINGS if comparison.dataset is not None else REQUIRED_SETTINGS - {"data.name"}
    missing = sorted(required - set(config_keys(spec.config)))
    if missing:
        return f"its config has no {', '.join(missing)} setting(s): not a partitioned {comparison.models}"
    config: Any = resolve(implementation, preset=preset).config
    if comparison.dataset is not None and config.data.name != comparison.dataset:
        return f"its {preset} preset trains on {config.data.name!r}, not {comparison.dataset!r}"
    return None


def select(settings: CompareSettings, preset: str = PRESET) -> tuple[list[Candidate], list[dict[str, str]]]:
    """The implementations to run at ``preset`` (baseline first) and those skipped, each with the reason."""
    from fedgen_registry.registry import get_implementation, list_implementations
    from fedgen_registry.runs.runner import resolve

    baseline = settings.comparison.baseline
    family_ids = [i for i in list_implementations() if get_implementation(i).family == settings.family]
    unknown = [i for i in settings.only if i not in family_ids]
    if unknown:
        raise ValueError(f"--only names no {settings.family!r} implementation: {', '.join(unknown)}")
    chosen = [i for i in family_ids if not settings.only or i in settings.only or i == baseline]
    if baseline not in chosen:
        raise ValueError(f"the baseline {baseline!r} is not registered in family {settings.family!r}")
    uses = _catalogue_uses()
    candidates: list[Candidate] = []
    skipped: list[dict[str, str]] = []
    for implementation in [baseline, *(i for i in chosen if i != baseline)]:
        reason = skip_reason(implementation, settings.comparison, preset)
        if reason is not None:
            skipped.append({"implementation": implementation, "reason": reason})
            continue
        papers = uses.get(implementation, [])
        fidelities = sorted({f for _, f in papers if f})
        config: Any = resolve(implementation, preset=preset).config
        candidates.append(
            Candidate(
                implementation,
                int(config.rounds),
                tuple(p for p, _ in papers),
                "/".join(fidelities) or ("baseline" if implementation == baseline else None),
                shared_evaluation(get_implementation(implementation).target),
            )
        )
    return candidates, skipped


# ------------------------------------------------------------------------------------------------ running


def run_overrides(settings: CompareSettings, implementation: str, partition: str) -> dict[str, Any]:
    """The same data split for everyone; the baseline keeps its single client."""
    overrides: dict[str, Any] = {"data.partition": partition, "data.alpha": settings.alpha}
    if implementation != settings.comparison.baseline:
        overrides["clients"] = settings.clients
    return {**overrides, **settings.overrides}


def _execute(implementation: str, overrides: Mapping[str, Any], run_dir: Path) -> tuple[int, float]:
    """Run once, quietly, into a fresh ``run_dir``; return the real rows its meter counted and its wall time."""
    from fedgen_registry.data.local import SampleMeter
    from fedgen_registry.runs.runner import RunContext, execute, resolve

    shutil.rmtree(run_dir, ignore_errors=True)
    resolved = resolve(implementation, overrides, preset=PRESET)
    meter, started = SampleMeter(), time.perf_counter()
    execute(resolved, RunContext(run_dir=run_dir, quiet=True, meter=meter))
    return meter.rows, time.perf_counter() - started


def budget_rounds(
    settings: CompareSettings, candidate: Candidate, partition: str, target_rows: int | None
) -> tuple[int, str]:
    """Rounds for this run and how they were set (fixed by an override, equalised, or not equalised)."""
    if "rounds" in settings.overrides:
        return int(settings.overrides["rounds"]), "fixed rounds (override)"
    is_baseline = candidate.implementation == settings.comparison.baseline
    if target_rows is None or is_baseline:
        return candidate.preset_rounds, "baseline smoke budget" if is_baseline else "preset"
    from fedgen_registry.runs.runner import RunError

    probe = settings.out / ".probe" / partition / candidate.implementation
    try:
        rows, _ = _execute(
            candidate.implementation,
            {**run_overrides(settings, candidate.implementation, partition), "rounds": 1},
            probe,
        )
    except RunError as exc:  # e.g. an algorithm whose schedule needs several rounds
        reason = str(exc).split(": ", 2)[-1][:80]
        return candidate.preset_rounds, f"not equalised: a 1-round probe is refused ({reason}); preset rounds"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if rows == 0:
        return candidate.preset_rounds, "not equalised: reads rows outside LocalData.batch; preset rounds"
    wanted = max(1, round(target_rows / rows))
    factor = settings.comparison.max_round_factor
    cap = factor * candidate.preset_rounds
    if wanted > cap:
        return cap, f"capped at {factor}x preset rounds ({rows} rows/round)"
    return wanted, f"equalised ({rows} rows/round)"


def _history(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "history.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def traffic(run_dir: Path) -> dict[str, float | None]:
    """Mean bytes up (client -> server) and down per participating client per round, from ``history.jsonl``."""
    history = _history(run_dir)
    client_rounds = sum(len(record.get("completed", [])) for record in history)
    if not client_rounds:
        return {"bytes_up_per_client_round": None, "bytes_down_per_client_round": None}
    return {
        "bytes_up_per_client_round": sum(r.get("bytes_up", 0) for r in history) / client_rounds,
        "bytes_down_per_client_round": sum(r.get("bytes_down", 0) for r in history) / client_rounds,
    }


def precision_recall(implementation: str, overrides: Mapping[str, Any], run_dir: Path, kid: float | None) -> dict:
    """Precision/recall of the final generator, re-sampled exactly as the run's evaluation did.

    The checkpointed server is rebuilt and sampled under the evaluation's seed; the samples are the
    run's own only if their KID equals ``metrics.json``'s, so any other case (an algorithm with its own
    evaluation, a server without one generator) gives ``None`` and the reason instead of a number
    for other samples.
    """
    import numpy as np
    import torch

    from fedgen_registry.federation.checkpoint import load_checkpoint
    from fedgen_registry.federation.local import CHECKPOINT
    from fedgen_registry.federation.seeding import derive_seed, deterministic, seed_everything
    from fedgen_registry.metrics.image import image_report
    from fedgen_registry.objectives.gan import generate
    from fedgen_registry.runs.runner import resolve
    from fedgen_registry.tasks.image_gan import HoldsGenerator

    empty = {"precision": None, "recall": None}
    if kid is None or not (run_dir / CHECKPOINT).exists():
        return {**empty, "pr_note": "no KID or no checkpoint"}
    resolved = resolve(implementation, overrides, preset=PRESET)
    if not shared_evaluation(resolved.spec.target):
        return {**empty, "pr_note": "its own evaluation samples differently; not re-sampled"}
    config: Any = resolved.config
    scratch = run_dir / ".rejudge"
    algorithm = resolved.spec.target(config, scratch)
    with deterministic(config.torch_threads):
        server = algorithm.make_server()
        server.load_state_dict(load_checkpoint(run_dir / CHECKPOINT)["state"]["server"])
        if not isinstance(server, HoldsGenerator):
            shutil.rmtree(scratch, ignore_errors=True)
            return {**empty, "pr_note": "the server holds no single generator"}
        seed_everything(derive_seed(config.seed, "finish"))
        count = config.eval.samples
        labels = np.arange(count) % algorithm.train.num_classes if config.model.conditional else None
        with torch.no_grad():
            samples = generate(
                server.generator, count, config.model.latent_dim, None if labels is None else torch.as_tensor(labels)
            ).numpy()
        report = image_report(samples, algorithm.test, labels, config.eval.kid_subsets, config.eval.kid_subset_size)
    shutil.rmtree(scratch, ignore_errors=True)
    if not math.isclose(report["kid"], kid, rel_tol=PR_TOLERANCE, abs_tol=PR_TOLERANCE):
        return {**empty, "pr_note": "its own evaluation samples differently; not re-sampled"}
    return {"precision": report["precision"], "recall": report["recall"], "pr_note": None}


def shared_evaluation(target: Any) -> bool:
    """Whether the run is judged like every image GAN: samples from noise (``ImageGANAlgorithm.finish``, or
    FedAvg-GAN's, which samples its moving-average generator the same way when one is kept).

    An algorithm with its own ``finish`` may judge other samples (translations, images generated from the
    held-out images' masks: an easier task), so the summary ranks only runs judged the shared way.
    """
    from fedgen_registry.strategies.gan import FedAvgGANAlgorithm
    from fedgen_registry.tasks.image_gan import ImageGANAlgorithm

    return getattr(target, "finish", None) in (ImageGANAlgorithm.finish, FedAvgGANAlgorithm.finish)


def _safe_precision_recall(
    implementation: str, overrides: Mapping[str, Any], run_dir: Path, kid: float | None
) -> dict[str, Any]:
    """:func:`precision_recall`, or ``None`` and the error: a failed re-sampling must not hide the run's row."""
    try:
        return precision_recall(implementation, overrides, run_dir, kid)
    except Exception as exc:  # the run's own numbers stand; only the extra metric is missing
        return {"precision": None, "recall": None, "pr_note": f"re-sampling failed: {type(exc).__name__}: {exc}"}


def collect(
    candidate: Candidate, partition: str, run_dir: Path, rows: int, wall_s: float, rounds: int, budget: str
) -> dict[str, Any]:
    """One table row, read from the files the run wrote."""
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    privacy_file = run_dir / "privacy.json"
    privacy = json.loads(privacy_file.read_text(encoding="utf-8")) if privacy_file.exists() else {}
    return {
        "implementation": candidate.implementation,
        "partition": partition,
        "papers": list(candidate.papers),
        "fidelity": candidate.fidelity,
        "status": "ok",
        "evaluation": "shared" if candidate.shared_evaluation else "own",
        "rounds": metrics.get("rounds", rounds),
        "budget": budget,
        "real_rows": rows,
        "kid": metrics.get("kid"),
        "kid_std": metrics.get("kid_std"),
        "label_accuracy": metrics.get("label_accuracy"),
        **traffic(run_dir),
        "epsilon": privacy.get("epsilon"),
        "wall_s": round(wall_s, 2),
        "run_dir": str(run_dir),
    }


def compare(settings: CompareSettings, log: Any = print) -> dict[str, Any]:
    """Run everything, write ``<stem>.json``, ``.md`` and ``.png`` into the results folder; return the results."""
    comparison = settings.comparison
    candidates, skipped = select(settings)
    rows: list[dict[str, Any]] = []
    for partition in settings.partitions:
        target_rows: int | None = None
        for candidate in candidates:
            run_dir = settings.out / partition / candidate.implementation
            overrides = run_overrides(settings, candidate.implementation, partition)
            try:
                rounds, budget = budget_rounds(settings, candidate, partition, target_rows)
                overrides = {**overrides, "rounds": rounds}
                drawn, wall_s = _execute(candidate.implementation, overrides, run_dir)
                row = collect(candidate, partition, run_dir, drawn, wall_s, rounds, budget)
            except Exception as exc:  # one failing implementation must not stop the comparison
                row = {
                    "implementation": candidate.implementation,
                    "partition": partition,
                    "papers": list(candidate.papers),
                    "fidelity": candidate.fidelity,
                    "status": f"failed: {type(exc).__name__}: {exc}",
                }
            if row["status"] == "ok":
                row |= _safe_precision_recall(candidate.implementation, overrides, run_dir, row["kid"])
            if candidate.implementation == comparison.baseline and row["status"] == "ok":
                target_rows = int(row["real_rows"]) or None
            rows.append(row)
            log(f"{partition:>10} {candidate.implementation:<28} {row['status']:<6} kid={row.get('kid')}")
    results = {
        "family": settings.family,
        "dataset": comparison.dataset,
        "preset": PRESET,
        "baseline": comparison.baseline,
        "partitions": list(settings.partitions),
        "alpha": settings.alpha,
        "clients": settings.clients,
        "overrides": dict(settings.overrides),
        "budget_rule": budget_rule(settings),
        "rows": rows,
        "skipped": skipped,
        "summary": summary(rows, settings.partitions, comparison.baseline),
    }
    write_results(results, settings.results_dir, comparison.results_stem)
    return results


def budget_rule(settings: CompareSettings) -> str:
    if "rounds" in settings.overrides:
        return f"Not equalised: every run has rounds={settings.overrides['rounds']} (override); real rows are measured."
    comparison = settings.comparison
    return (
        f"Equalised on real-row visits (rows drawn by LocalData.batch): each run's rounds are scaled from a 1-round "
        f"probe to the {comparison.baseline} smoke budget (capped at {comparison.max_round_factor}x preset rounds). "
        "Runs that read rows elsewhere keep their preset rounds and say so."
    )


def summary(rows: Sequence[Mapping[str, Any]], partitions: Sequence[str], baseline: str) -> dict[str, dict[str, Any]]:
    """Per partition: the baseline's KID, the best federated KID and their ratio.

    Only runs judged by the shared evaluation (samples from noise) are ranked; see :func:`shared_evaluation`.
    """
    result: dict[str, dict[str, Any]] = {}
    for partition in partitions:
        scored = [r for r in rows if r["partition"] == partition and r.get("kid") is not None]
        base = next((r["kid"] for r in scored if r["implementation"] == baseline), None)
        federated = [r for r in scored if r["implementation"] != baseline and r.get("evaluation") == "shared"]
        best = min(federated, key=lambda r: r["kid"], default=None)
        ratio = best["kid"] / base if best is not None and base not in (None, 0) else None
        result[partition] = {
            "baseline_kid": base,
            "best_federated": best["implementation"] if best else None,
            "best_federated_kid": best["kid"] if best else None,
            "ratio": ratio,
            "within_2x": ratio is not None and ratio <= 2,
        }
    return result


# ------------------------------------------------------------------------------------------------ output

COLUMNS = (
    ("implementation", "implementation"),
    ("partition", "partition"),
    ("fidelity", "fidelity"),
    ("evaluation", "evaluation"),
    ("rounds", "rounds"),
    ("real_rows", "real rows"),
    ("kid", "KID ± std"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("label_accuracy", "label acc."),
    ("bytes_up_per_client_round", "bytes up / client / round"),
    ("epsilon", "epsilon"),
    ("wall_s", "wall s"),
    ("budget", "budget"),
)


def cell(row: Mapping[str, Any], key: str) -> str:
    """The Markdown text of one value (tests read the table back through this)."""
    value = row.get(key)
    if key == "kid":
        if value is None:
            return "n/a"
        return f"{value:.4f} ± {row.get('kid_std') or 0:.4f}"
    if value is None:
        return "n/a"
    if key in ("precision", "recall", "label_accuracy"):
        return f"{value:.3f}"
    if key == "epsilon":
        return f"{value:.2f}"
    if key == "bytes_up_per_client_round":
        return f"{value:,.0f}"
    if key == "wall_s":
        return f"{value:.1f}"
    return str(value).replace("|", "\\|")


def markdown_table(results: Mapping[str, Any], figure: str | None = None) -> str:
    """The results as Markdown: budget rule, the table, KID ratios, skipped implementations, the figure."""
    lines = [
        f"Family `{results['family']}` on {results['dataset'] or 'its generated corpus'}, preset `{results['preset']}`, "
        f"{results['clients']} clients, Dirichlet alpha {results['alpha']}; baseline `{results['baseline']}`.",
        "",
        f"**Sample budget.** {results['budget_rule']}",
        "",
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in results["rows"]:
        if row.get("status") != "ok":
            lines.append(
                f"| {row['implementation']} | {row['partition']} | {cell(row, 'fidelity')} | "
                + " | ".join("" for _ in COLUMNS[3:-1])
                + f" | {cell(row, 'status')} |"
            )
            continue
        lines.append("| " + " | ".join(cell(row, key) for key, _ in COLUMNS) + " |")
    lines += [
        "",
        "Evaluation `own`: the implementation replaces the shared evaluation (to write a privacy ledger, sample "
        "several generators, or, as AsynDGAN and Fed-CycleGAN do, generate from the held-out images themselves), "
        "so its samples are not known to be drawn like the baseline's and it is not ranked. Best federated KID "
        "among `shared` runs against the centralized baseline:",
        "",
    ]
    for partition, info in results["summary"].items():
        if info["ratio"] is None:
            lines.append(f"- {partition}: not available")
        else:
            lines.append(
                f"- {partition}: `{info['best_federated']}` KID {info['best_federated_kid']:.4f} vs baseline "
                f"{info['baseline_kid']:.4f} (ratio {info['ratio']:.2f}, "
                f"{'within' if info['within_2x'] else 'not within'} 2x)"
            )
    if results["skipped"]:
        lines += ["", "Skipped:", ""]
        lines += [f"- `{s['implementation']}`: {s['reason']}" for s in results["skipped"]]
    if figure:
        lines += ["", f"![Sample grids side by side]({figure})"]
    return "\n".join(lines) + "\n"


def sample_figure(rows: Sequence[Mapping[str, Any]], partitions: Sequence[str], path: Path) -> bool:
    """One panel per (implementation, partition) from each run's ``samples.png``; False when there is none."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import image, pyplot

    ids = list(dict.fromkeys(r["implementation"] for r in rows))
    found = {
        (r["implementation"], r["partition"]): Path(r["run_dir"]) / "samples.png"
        for r in rows
        if r.get("run_dir") and (Path(r["run_dir"]) / "samples.png").exists()
    }
    if not found:
        return False
    figure, axes = pyplot.subplots(
        len(ids), len(partitions), figsize=(1.6 * len(partitions) + 1.2, 1.6 * len(ids)), squeeze=False
    )
    for i, implementation in enumerate(ids):
        for j, partition in enumerate(partitions):
            axis = axes[i][j]
            axis.set_xticks([])
            axis.set_yticks([])
            source = found.get((implementation, partition))
            if source is not None:
                axis.imshow(image.imread(source), cmap="gray")
            if i == 0:
                axis.set_title(partition, fontsize=9)
            if j == 0:
                axis.set_ylabel(implementation, fontsize=7, rotation=0, ha="right", va="center")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=64)
    pyplot.close(figure)
    return True


def write_results(results: Mapping[str, Any], folder: Path, stem: str) -> dict[str, Path]:
    """``<stem>.json`` (the data), ``<stem>.png`` (sample grids) and ``<stem>.md`` (rendered from the JSON)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {suffix: folder / f"{stem}.{suffix}" for suffix in ("json", "md", "png")}
    paths["json"].write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    has_figure = sample_figure(results["rows"], results["partitions"], paths["png"])
    paths["md"].write_text(markdown_table(results, paths["png"].name if has_figure else None), encoding="utf-8")
    return paths

"""The main job of the README: the three uses of fedgen, on what ships with the package.

Query the catalogue (facet counts, a filtered view, one record, a citation), run one paper's reference
implementation on the bundled digits data, and build the documentation site to browse offline.
``python -m fedgen_registry.demo``.
"""

from __future__ import annotations

from pathlib import Path

from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.bibtex import paper_bibtex
from fedgen_registry.runs.runner import run
from fedgen_registry.sitegen.build import SiteError, build_site


def main() -> None:
    catalog = load_catalog()
    facets = catalog.facets()
    print(f"fedgen catalogue: {len(catalog)} papers, {facets['code_available'].get('true', 0)} with code")
    for facet in ("strand", "model_type", "privacy", "verification"):
        counts = ", ".join(f"{value} {count}" for value, count in facets[facet].items())
        print(f"  {facet:<13} {counts}")

    private_gans = catalog.filter(model_type=["gan", "cgan"], privacy=["dp-sgd-local", "client-level-dp", "local-dp"])
    print(f"\nFederated GANs with differential privacy ({len(private_gans)}):")
    for paper in private_gans:
        print(f"  {paper.id:<32} {paper.year}  {paper.title[:70]}")

    paper = catalog.get("md-gan-2018")
    print(f"\n{paper.title} ({paper.year})\n  {paper.summary}\n")
    print(paper_bibtex(paper))

    print(f"Running {paper.id} (smoke preset) on the bundled digits data ...")
    result = run(paper.id, preset="smoke", out=Path("runs") / f"{paper.id}-smoke")
    metrics = result["metrics"]
    print(
        f"  KID {metrics['kid']:.3f} after {metrics['rounds']} rounds in {result['wall_time_s']:.1f} s; artefacts in {result['run_dir']}"
    )
    runnable = catalog.filter(implemented=True)
    print(f"  {len(runnable)} papers run by id so far: {', '.join(p.id for p in runnable)}\n")

    try:
        report = build_site(out=Path("public"))
    except SiteError as exc:
        print(f"Site not built: {exc}")
        return
    print(f"Site: {report.papers} paper pages in {report.out}; browse with `fedgen site serve`.")


if __name__ == "__main__":
    main()

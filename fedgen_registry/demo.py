"""The main job of the README: the three uses of fedgen, on what ships with the package.

Query the catalogue (facet counts, a filtered view, one record, a citation), train a federated GAN on the
bundled digits next to its centralized twin (KID, recall and copied rows of both, and where the sample grid
is), and build the documentation site to browse offline.
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

    print("Running FedAvg-GAN (quality preset: 10 clients, 2 a round, the stable GAN recipe) on the bundled digits,")
    print("and its centralized twin at the same sample budget ...")
    federated = run("fedavg-gan", preset="quality", out=Path("runs") / "fedavg-gan-quality")
    centralized = run("centralized-gan", preset="quality", out=Path("runs") / "centralized-gan-quality")
    for name, result in (("federated  ", federated), ("centralized", centralized)):
        metrics = result["metrics"]
        print(
            f"  {name} KID {metrics['kid']:.4f}  recall {metrics['recall']:.3f}  copies {metrics['copied_fraction']:.0%}"
            f"  ({result['wall_time_s']:.0f} s)"
        )
    print(f"  the federated samples: {Path(federated['run_dir']) / 'samples.png'}")
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

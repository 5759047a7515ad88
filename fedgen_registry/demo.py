"""The main job of the README: the three uses of fedgen, on what ships with the package.

Query the catalogue (facet counts, a filtered view, one record, a citation) and, where implementations
are registered, run one of them on the embedded digits data. ``python -m fedgen_registry.demo``.
"""

from __future__ import annotations

from fedgen_registry.catalog import load_catalog
from fedgen_registry.catalog.bibtex import paper_bibtex


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

    from fedgen_registry.registry import list_implementations

    available = list_implementations()
    if not available:
        print("No implementation is registered yet: `fedgen list --implemented` will list runnable papers.")


if __name__ == "__main__":
    main()

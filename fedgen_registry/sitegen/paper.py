"""One page per paper: facts with links, BibTeX, summary, taxonomy chips, threat model and privacy,
the implementation (or the honest word that it is planned) and related papers.

Every value from the entry goes through :mod:`fedgen_registry.sitegen.markup`; links to other pages are
Markdown ``.md`` links, so ``mkdocs build --strict`` fails on any that points nowhere.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from fedgen_registry.catalog.bibtex import paper_bibtex
from fedgen_registry.catalog.query import Catalog
from fedgen_registry.catalog.schema import Paper
from fedgen_registry.catalog.vocab import (
    Adversary,
    AggregationMethod,
    Capability,
    DPLevel,
    Fidelity,
    ImplementationStatus,
    Modality,
    ModelType,
    Participation,
    Partitioning,
    PrivacyMechanism,
    SharedArtifact,
    Strand,
    Topology,
    VerificationStatus,
    Vocabulary,
)
from fedgen_registry.sitegen import layout
from fedgen_registry.sitegen.markup import attr, code_span, fence, md, safe_url, table
from fedgen_registry.sitegen.related import related
from fedgen_registry.sitegen.reproduction import claim_section
from fedgen_registry.sitegen.runs import PRESET, RunArtefacts, scalar_rows
from fedgen_registry.sitegen.taxonomy import chip, chips

ADDING_AN_IMPLEMENTATION = "guides/adding-an-implementation.md"


def _url_link(text: str, url: str) -> str:
    return f"[{md(text)}]({safe_url(url)})"


def _facts(paper: Paper) -> list[list[str]]:
    links = paper.links
    rows = [
        ["id", code_span(paper.id)],
        ["Authors", md(", ".join(paper.authors))],
        ["Year", str(paper.year)],
        ["Venue", md(paper.venue) if paper.venue else "not recorded"],
    ]
    if links.arxiv:
        rows.append(["arXiv", _url_link(links.arxiv, f"https://arxiv.org/abs/{links.arxiv}")])
    if links.doi:
        rows.append(["DOI", _url_link(links.doi, f"https://doi.org/{quote(links.doi, safe='/')}")])
    rows.append(["Code", _url_link(links.code, links.code) if links.code else "not released"])
    if links.url:
        rows.append(["Web page", _url_link(links.url, links.url)])
    return rows


def _taxonomy(paper: Paper, page: str) -> list[list[str]]:
    def tags(vocabulary: type[Vocabulary], members: tuple[Vocabulary, ...] | list[Vocabulary]) -> str:
        return chips(vocabulary, [m.value for m in members], page)

    fl = paper.fl_setting
    flags = [name.replace("_", "-") for name in ("one_shot", "asynchronous", "personalized") if getattr(fl, name)]
    setting = " ".join(
        [
            chip(Partitioning, fl.partitioning.value, page),
            chip(Topology, fl.topology.value, page),
            chip(Participation, fl.participation.value, page),
        ]
    )
    datasets = md(", ".join(paper.data.datasets)) if paper.data.datasets else "not recorded"
    return [
        ["Strand", tags(Strand, paper.strands)],
        ["Model types", tags(ModelType, paper.model_types)],
        ["FL setting", setting + (" · " + ", ".join(flags) if flags else "")],
        [
            "Aggregation",
            chip(AggregationMethod, paper.aggregation.method.value, page) + " " + md(paper.aggregation.description),
        ],
        ["What leaves a client", tags(SharedArtifact, paper.aggregation.shared)],
        ["Data", tags(Modality, paper.data.modalities) + " · datasets: " + datasets],
    ]


def _threat_and_privacy(paper: Paper, page: str) -> list[list[str]]:
    threat, privacy = paper.threat_model, paper.privacy
    rows = [
        ["Adversary", chip(Adversary, threat.adversary.value, page)],
        ["Capabilities", chips(Capability, [c.value for c in threat.capabilities], page)],
    ]
    if threat.note:
        rows.append(["Threat model", md(threat.note)])
    rows.append(["Privacy mechanisms", chips(PrivacyMechanism, [m.value for m in privacy.mechanisms], page)])
    dp = privacy.dp
    if dp is not None:
        budget = [f"ε = {dp.epsilon:g}" if dp.epsilon is not None else "ε not reported"]
        if dp.delta is not None:
            budget.append(f"δ = {dp.delta:g}")
        rows.append(["Differential privacy", chip(DPLevel, dp.level.value, page) + " level, " + ", ".join(budget)])
    if privacy.note:
        rows.append(["Privacy", md(privacy.note)])
    return rows


def _verification(paper: Paper, page: str) -> str:
    check = paper.verification
    lines = [chip(VerificationStatus, check.status.value, page) + (" " + md(check.note) if check.note else "")]
    if check.sources:
        lines.append("")
        lines += [f"- {_url_link(source, source)}" for source in check.sources]
    return "\n".join(lines) + "\n"


def _run_results(paper: Paper, run: RunArtefacts | None, page: str) -> str:
    regenerate = fence(f"fedgen site runs {paper.id}", "bash")
    if run is None:
        return (
            "No smoke run is cached for this paper yet; this command runs one and keeps its artefacts for"
            " the site:\n\n" + regenerate
        )
    parts = [
        f"### Smoke run\n\nProduced by a real run of the {code_span(PRESET)} preset (settings below) on the"
        " bundled digits data; regenerate it with:\n",
        regenerate,
        table(["metric", "value"], [[md(k), md(v)] for k, v in scalar_rows(run.metrics)]),
    ]
    for image in run.images:
        name = image.rsplit("/", 1)[-1].removesuffix(".png")
        parts.append(f"![{name} of the smoke run of {attr(paper.id)}]({layout.link(page, image)})\n")
    for csv_file in run.tables:
        parts.append(f"[Synthetic rows of the smoke run (CSV)]({layout.link(page, csv_file)})\n")
    if run.privacy is not None:
        parts.append(
            "Privacy ledger:\n\n" + table(["field", "value"], [[md(k), md(v)] for k, v in scalar_rows(run.privacy)])
        )
    settings = json.dumps(run.config.get("config", run.config), indent=2)
    parts.append(
        '??? note "Settings of this run"\n\n'
        + "\n".join("    " + line for line in fence(settings, "json").splitlines())
        + "\n"
    )
    return "\n".join(parts)


def _implementation(paper: Paper, page: str, run: RunArtefacts | None) -> str:
    impl = paper.implementation
    guide = layout.link(page, ADDING_AN_IMPLEMENTATION)
    if impl is None:
        return f"No implementation is planned for this paper yet ([adding an implementation]({guide})).\n"
    names = f"implementation {code_span(impl.id)}, preset {code_span(impl.preset)}"
    if impl.status is ImplementationStatus.PLANNED:
        return (
            f'!!! note "Planned"\n\n    An implementation is planned ({names}) but not registered yet, so'
            f" `fedgen run {paper.id}` refuses to start for now ([adding an implementation]({guide})).\n"
        )
    assert impl.fidelity is not None  # the schema requires it for available implementations
    parts = [
        f"Runs with {names}:\n",
        fence(f"fedgen run {paper.id}", "bash"),
        "From Python:\n",
        fence(f'import fedgen_registry\n\nfedgen_registry.run("{paper.id}")', "python"),
        f"Fidelity: {chip(Fidelity, impl.fidelity.value, page)} {md(impl.fidelity.definition)}\n",
    ]
    if impl.deviations:
        parts.append("Deviations from the paper:\n\n" + "\n".join(f"- {md(d)}" for d in impl.deviations) + "\n")
    parts.append(claim_section(paper, page))
    parts.append(_run_results(paper, run, page))
    return "\n".join(parts)


def _related(paper: Paper, catalog: Catalog, page: str) -> str:
    found = related(paper, catalog)
    if not found:
        return "No other paper shares its aggregation method or a model type.\n"
    return (
        "\n".join(
            f"- [{md(r.paper.title)}]({layout.link(page, layout.paper_page(r.paper.id))}) ({r.paper.year}): {md(r.reason())}"
            for r in found
        )
        + "\n"
    )


def paper_page(paper: Paper, catalog: Catalog, run: RunArtefacts | None = None) -> str:
    page = layout.paper_page(paper.id)
    byline = md(", ".join(paper.authors)) + f" · {paper.year}" + (f" · {md(paper.venue)}" if paper.venue else "")
    # Material writes the page title into <title> through `striptags`, which decodes entities after removing
    # tags: a title taken from the heading could close <title> and open a script. A front-matter title is
    # written as given, so it goes in already HTML-escaped (JSON is valid YAML for the quoting).
    sections = [
        f"---\ntitle: {json.dumps(attr(paper.title))}\n---\n",
        f"# {md(paper.title)}\n\n{byline}\n",
        "## Summary\n\n" + md(paper.summary) + "\n",
        "## Facts\n\n" + table(["fact", "value"], _facts(paper)),
        "## Cite\n\n" + fence(paper_bibtex(paper), "bibtex"),
        "## Taxonomy\n\n" + table(["facet", "value"], _taxonomy(paper, page)),
        "## Threat model and privacy\n\n" + table(["aspect", "value"], _threat_and_privacy(paper, page)),
        "## Implementation\n\n" + _implementation(paper, page, run),
        "## Related papers\n\n" + _related(paper, catalog, page),
        "## Verification\n\n" + _verification(paper, page),
    ]
    return "\n".join(sections)

"""The glossary: every term of every controlled vocabulary, with its definition, count and papers.

Generated from ``ALL_VOCABULARIES`` so it can never miss a term; paper pages link their taxonomy chips
to the anchors written here (:func:`fedgen_registry.sitegen.taxonomy.anchor`), and strict MkDocs
builds fail if one of those anchors is missing.
"""

from __future__ import annotations

from fedgen_registry.catalog.query import Catalog
from fedgen_registry.catalog.vocab import ALL_VOCABULARIES, Vocabulary
from fedgen_registry.sitegen import layout, taxonomy
from fedgen_registry.sitegen.markup import md
from fedgen_registry.sitegen.urls import catalogue_filter

PAGE = layout.GLOSSARY


def _term(vocabulary: type[Vocabulary], member: Vocabulary, catalog: Catalog) -> str:
    values_of = taxonomy.values_of(vocabulary)
    papers = [p for p in catalog if member.value in values_of(p)]
    lines = [f"### {md(member.value)} {{#{taxonomy.anchor(vocabulary, member.value)}}}", "", md(member.definition), ""]
    if not papers:
        return "\n".join([*lines, "No paper in the catalogue yet.", ""])
    count = f"**{len(papers)} paper{'s' if len(papers) != 1 else ''}**"
    facet = taxonomy.facet_of(vocabulary)
    if facet in taxonomy.CATALOGUE_FACETS:
        count += f" · [show them in the catalogue]({catalogue_filter(PAGE, facet, member.value)})"
    lines += [count, "", f'??? note "The {len(papers)} paper{"s" if len(papers) != 1 else ""}"', ""]
    lines += [f"    - [{md(p.title)}]({layout.link(PAGE, layout.paper_page(p.id))}) ({p.year})" for p in papers]
    return "\n".join([*lines, ""])


def glossary_page(catalog: Catalog) -> str:
    parts = [
        "# Glossary\n",
        "Every value a catalogue entry may take in a classified field, grouped by vocabulary, with the number"
        " of papers that have it. Papers with several values (two model types, a primary and a secondary"
        " strand) count once under each.\n",
    ]
    for vocabulary in ALL_VOCABULARIES:
        parts.append(f"## {taxonomy.label(vocabulary)} {{#{taxonomy.section_anchor(vocabulary)}}}\n")
        facet = taxonomy.facet_of(vocabulary)
        if facet is not None:
            parts.append(f"Filter with `fedgen list --{facet.replace('_', '-')} VALUE`.\n")
        parts += [_term(vocabulary, member, catalog) for member in vocabulary]
    return "\n".join(parts)

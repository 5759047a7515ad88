"""BibTeX export: ``@inproceedings`` for conferences and workshops, ``@article`` for journals, ``@misc`` (with
the arXiv eprint) for preprints. The entry's ``venue_type`` decides; without one the type is guessed from the
venue text. The entry key is the paper id, so citations stay stable across exports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fedgen_registry.catalog.schema import Paper
from fedgen_registry.catalog.vocab import VenueType

_JOURNAL_WORDS = re.compile(
    r"\b(journal|transactions|letters|magazine|access|nature|neurocomputing|communications|computing|"
    r"sensors|electronics|applied sciences|patterns|frontiers|plos|information sciences|computers)\b",
    re.IGNORECASE,
)
_CONFERENCE_WORDS = re.compile(
    r"\b(conference|proceedings|workshop|symposium|congress|summit|meeting)\b", re.IGNORECASE
)
# "IPDPS 2019", "ACM CCS 2021", "IEEE TrustCom/BigDataSE 2019": an upper-case acronym followed by a year.
_ACRONYM_AND_YEAR = re.compile(r"\b[A-Z][A-Za-z/-]*[A-Z][A-Za-z/-]*\s+'?(19|20)?\d\d\b")
_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


_TYPE_OF_VENUE = {
    VenueType.CONFERENCE: "inproceedings", VenueType.WORKSHOP: "inproceedings", VenueType.JOURNAL: "article",
    VenueType.PREPRINT: "misc",
}  # fmt: skip


def entry_type(venue: str | None, venue_type: VenueType | None = None) -> str:
    """The BibTeX type: from ``venue_type`` when the entry states it, otherwise guessed from the venue text
    (conference words, then journal words, then an acronym + year)."""
    if venue_type is not None:
        return _TYPE_OF_VENUE[venue_type]
    if not venue:
        return "misc"
    if _CONFERENCE_WORDS.search(venue):
        return "inproceedings"
    if _JOURNAL_WORDS.search(venue):
        return "article"
    if _ACRONYM_AND_YEAR.search(venue):
        return "inproceedings"
    return "misc"


def escape(text: str) -> str:
    """Escape LaTeX specials one character at a time, so a field can never unbalance the entry's braces."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def paper_bibtex(paper: Paper) -> str:
    kind = entry_type(paper.venue, paper.venue_type)
    fields: list[tuple[str, str]] = [
        ("title", "{" + escape(paper.title) + "}"),  # double braces keep the title's capitalisation
        ("author", " and ".join(escape(a) for a in paper.authors)),
        ("year", str(paper.year)),
    ]
    if paper.venue:
        venue_field = {"article": "journal", "inproceedings": "booktitle"}.get(kind, "howpublished")
        fields.append((venue_field, escape(paper.venue)))
    if paper.links.doi:
        fields.append(("doi", paper.links.doi))
    if paper.links.arxiv:
        fields += [("eprint", paper.links.arxiv), ("archiveprefix", "arXiv")]
    url = paper.links.url or (f"https://arxiv.org/abs/{paper.links.arxiv}" if paper.links.arxiv else None)
    if url:
        fields.append(("url", url))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{paper.id},\n{body}\n}}\n"


def to_bibtex(papers: Iterable[Paper]) -> str:
    return "\n".join(paper_bibtex(p) for p in papers)

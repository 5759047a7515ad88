"""The in-memory catalogue: lookup, faceted filtering, search and facet counts.

Facets are declared once (``FACETS``) as functions from a paper to the values it has, so filtering,
counting, the CLI options and the site's filters all agree on what "model type" or "privacy" means.
Filtering is AND across facets and OR within one facet's list of values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fedgen_registry.catalog.schema import Paper
from fedgen_registry.catalog.vocab import (
    Adversary,
    AggregationMethod,
    Fidelity,
    Modality,
    ModelType,
    Partitioning,
    PrivacyMechanism,
    Strand,
    Verdict,
    VerificationStatus,
    Vocabulary,
)
from fedgen_registry.suggest import UnknownIdError, did_you_mean

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class Facet:
    """A filterable property: its name, the values a paper has for it, and its vocabulary if closed."""

    name: str
    values_of: Callable[[Paper], tuple[str, ...]]
    vocabulary: type[Vocabulary] | None
    help: str


def _fidelity(paper: Paper) -> tuple[str, ...]:
    impl = paper.implementation
    return (impl.fidelity.value,) if impl is not None and impl.fidelity is not None else ()


FACETS: dict[str, Facet] = {
    facet.name: facet
    for facet in (
        Facet("strand", lambda p: tuple(s.value for s in p.strands), Strand, "primary or secondary strand"),
        Facet("model_type", lambda p: tuple(m.value for m in p.model_types), ModelType, "generative model family"),
        Facet("aggregation", lambda p: (p.aggregation.method.value,), AggregationMethod, "aggregation method"),
        Facet("privacy", lambda p: tuple(m.value for m in p.privacy.mechanisms), PrivacyMechanism, "privacy mechanism"),
        Facet(
            "adversary", lambda p: (p.threat_model.adversary.value,), Adversary, "threat model: who the adversary is"
        ),
        Facet("modality", lambda p: tuple(m.value for m in p.data.modalities), Modality, "data modality"),
        Facet("partitioning", lambda p: (p.fl_setting.partitioning.value,), Partitioning, "how data is partitioned"),
        Facet("fidelity", _fidelity, Fidelity, "honesty label of the implementation"),
        Facet("verification", lambda p: (p.verification.status.value,), VerificationStatus, "fact-check status"),
        Facet(
            "reproduction",
            lambda p: (p.reproduction.value,) if p.reproduction else (),
            Verdict,
            "verdict of `fedgen reproduce` on the paper's headline claim",
        ),
    )
}
BOOLEAN_FACETS = {
    "code_available": "the authors released code",
    "implemented": "a registered implementation runs it",
    "one_shot": "one communication round",
    "personalized": "personalized FL",
    "asynchronous": "asynchronous FL",
}


def _boolean(paper: Paper, name: str) -> bool:
    if name in ("code_available", "implemented"):
        return bool(getattr(paper, name))
    return bool(getattr(paper.fl_setting, name))


class Catalog(Sequence[Paper]):
    """An immutable, ordered collection of papers (sorted by year, then id)."""

    def __init__(self, papers: Iterable[Paper]):
        self._papers: tuple[Paper, ...] = tuple(sorted(papers, key=lambda p: (p.year, p.id)))
        self._by_id = {p.id: p for p in self._papers}

    def __len__(self) -> int:
        return len(self._papers)

    def __iter__(self) -> Iterator[Paper]:
        return iter(self._papers)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return Catalog(self._papers[index])
        return self._papers[index]

    def __contains__(self, item: object) -> bool:
        return item in self._by_id if isinstance(item, str) else item in self._papers

    def __repr__(self) -> str:
        return f"<Catalog of {len(self)} papers>"

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self._papers]

    def get(self, paper_id: str) -> Paper:
        """The paper with this id; ``KeyError`` names close matches when there is none."""
        try:
            return self._by_id[paper_id]
        except KeyError:
            raise UnknownIdError("paper", paper_id, self._by_id) from None

    def filter(self, **facets: Any) -> Catalog:
        """Papers matching every given facet (AND); a list of values matches any of them (OR).

        ``year`` takes an int or an inclusive ``(start, end)`` range (either end may be ``None``);
        boolean facets (``implemented``, ``code_available``, ...) take ``True``/``False``; ``text`` is a
        free-text search. Unknown facets or values raise ``ValueError`` with the allowed ones.
        """
        predicates: list[Callable[[Paper], bool]] = []
        for name, wanted in facets.items():
            if wanted is None:
                continue
            predicates.append(_predicate(name, wanted))
        return Catalog(p for p in self._papers if all(pred(p) for pred in predicates))

    def search(self, text: str) -> Catalog:
        """Papers whose title, authors, summary or datasets contain every word of ``text`` (case-insensitive)."""
        words = text.lower().split()
        return Catalog(p for p in self._papers if all(w in _haystack(p) for w in words))

    def facets(self) -> dict[str, dict[str, int]]:
        """Value counts per facet (a paper with two model types counts once in each), most common first."""
        counts: dict[str, dict[str, int]] = {}
        for name, facet in FACETS.items():
            counter = Counter(v for p in self._papers for v in facet.values_of(p))
            counts[name] = dict(counter.most_common())
        counts["year"] = dict(sorted(Counter(str(p.year) for p in self._papers).items()))
        for name in BOOLEAN_FACETS:
            counter = Counter(str(_boolean(p, name)).lower() for p in self._papers)
            counts[name] = dict(counter.most_common())
        return counts

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per paper (lists stay lists): the shape of ``to_frame``, JSON and CSV exports."""
        from fedgen_registry.catalog.export import record

        return [record(p) for p in self._papers]

    def to_frame(self) -> pandas.DataFrame:
        """A pandas DataFrame, one row per paper, indexed by id; list-valued columns hold Python lists."""
        import pandas as pd

        from fedgen_registry.catalog.export import COLUMNS

        return pd.DataFrame.from_records(self.records(), columns=list(COLUMNS)).set_index("id", drop=False)

    def to_json(self, indent: int | None = 2) -> str:
        """The full entries (every field), as a JSON array."""
        from fedgen_registry.catalog.export import to_json

        return to_json(self._papers, indent=indent)

    def to_csv(self) -> str:
        """The flat records as CSV; list cells are joined with ``"; "``."""
        from fedgen_registry.catalog.export import to_csv

        return to_csv(self.records())

    def to_bibtex(self) -> str:
        """BibTeX entries for every paper (``@inproceedings``/``@article``/``@misc``)."""
        from fedgen_registry.catalog.bibtex import to_bibtex

        return to_bibtex(self._papers)


def _haystack(paper: Paper) -> str:
    return " ".join([paper.id, paper.title, *paper.authors, paper.summary, *paper.data.datasets]).lower()


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _predicate(name: str, wanted: Any) -> Callable[[Paper], bool]:
    if name == "year":
        return _year_predicate(wanted)
    if name == "text":
        words = str(wanted).lower().split()
        return lambda p: all(w in _haystack(p) for w in words)
    if name in BOOLEAN_FACETS:
        if not isinstance(wanted, bool):
            raise ValueError(f"facet {name!r} takes True or False, got {wanted!r}")
        return lambda p: _boolean(p, name) is wanted
    facet = FACETS.get(name)
    if facet is None:
        known = [*FACETS, *BOOLEAN_FACETS, "year", "text"]
        raise ValueError(f"unknown facet {name!r}; facets are {', '.join(known)}{did_you_mean(name, known)}")
    values = {str(v.value if isinstance(v, Vocabulary) else v) for v in _as_list(wanted)}
    if facet.vocabulary is not None:
        allowed = facet.vocabulary.values()
        for value in values:
            if value not in allowed:
                raise ValueError(
                    f"{name}: {value!r} is not one of [{', '.join(allowed)}]{did_you_mean(value, allowed)}"
                )
    return lambda p: bool(values.intersection(facet.values_of(p)))


def _year_predicate(wanted: Any) -> Callable[[Paper], bool]:
    if isinstance(wanted, int):
        return lambda p: p.year == wanted
    if isinstance(wanted, (tuple, list)) and len(wanted) == 2:
        start, end = wanted
        lo = start if start is not None else -(10**9)
        hi = end if end is not None else 10**9
        if lo > hi:
            raise ValueError(f"year range {wanted!r} is empty (start after end)")
        return lambda p: lo <= p.year <= hi
    raise ValueError(f"year takes an int or a (start, end) tuple, got {wanted!r}")

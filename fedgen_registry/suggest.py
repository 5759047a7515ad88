"""Close-match suggestions for mistyped names (ids, vocabulary values, config keys), and the error that carries them.

It sits below the catalogue and the registry, which both refuse unknown ids with :class:`UnknownIdError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(word: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Return up to ``n`` candidates that look like ``word``, best first.

    A candidate that contains the word (``gan`` in ``md-gan-2018``) counts as close even when the
    edit ratio is low, because people type the short name of a paper and leave off the year.
    """
    pool = list(candidates)
    lowered = word.lower()
    ranked = difflib.get_close_matches(lowered, pool, n=n, cutoff=cutoff)
    for candidate in sorted(pool):
        if len(ranked) >= n:
            break
        if lowered and candidate.startswith(lowered) and candidate not in ranked:
            ranked.append(candidate)
    return ranked[:n]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or the empty string when nothing is close."""
    matches = close_matches(word, candidates)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(repr(m) for m in matches) + "?"


class UnknownIdError(KeyError):
    """An id that does not exist; the message lists close matches."""

    def __init__(self, kind: str, wanted: str, known: Iterable[str]):
        self.kind = kind
        self.wanted = wanted
        self.suggestions = close_matches(wanted, known)
        hint = "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?" if self.suggestions else ""
        super().__init__(f"unknown {kind} id {wanted!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])

"""A small text corpus the project generates itself, and a character tokenizer for it.

Nothing is downloaded: sentences are drawn from topic grammars below with a fixed seed, so the corpus
is identical on every machine and independent of the run's seed. Each topic has its own words, so a
label-skewed split by topic (the project's partitioners) gives clients different vocabularies, the
non-IID setting federated language modelling papers study. The train/test split is fixed (seed 0,
stratified by topic).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.model_selection import train_test_split

TEST_FRACTION = 0.2
END = "\n"
"""Ends every sentence, so the model also learns where sentences stop."""

_TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "weather": {
        "subject": ("the wind", "a cold rain", "the morning fog", "a warm breeze", "the storm", "light snow"),
        "verb": ("rolls over", "settles on", "drifts across", "sweeps through", "falls on", "hangs above"),
        "object": ("the hills", "the quiet harbour", "the old town", "the valley", "the fields", "the coast"),
        "coda": ("before dawn", "all afternoon", "at night", "again today", "until noon", "without warning"),
    },
    "kitchen": {
        "subject": ("the cook", "my sister", "a young baker", "the chef", "our neighbour", "the waiter"),
        "verb": ("stirs", "slices", "bakes", "tastes", "serves", "seasons"),
        "object": ("the onion soup", "fresh bread", "a lemon tart", "the tomato sauce", "rice and beans", "the stew"),
        "coda": ("with care", "for dinner", "in a hurry", "with salt", "every sunday", "for the guests"),
    },
    "sport": {
        "subject": ("the keeper", "our striker", "the coach", "a tall runner", "the captain", "the young swimmer"),
        "verb": ("kicks", "catches", "passes", "chases", "wins", "throws"),
        "object": ("the ball", "the final race", "the trophy", "a long pass", "the match", "the relay"),
        "coda": ("in the rain", "after extra time", "at the stadium", "with ease", "near the line", "twice"),
    },
    "travel": {
        "subject": ("the train", "a small ferry", "the night bus", "our plane", "the old tram", "a taxi"),
        "verb": ("leaves", "reaches", "crosses", "circles", "stops at", "passes"),
        "object": ("the station", "the island", "the border", "the airport", "the bridge", "the city centre"),
        "coda": ("on time", "an hour late", "at midnight", "every morning", "in the snow", "before lunch"),
    },
}
TOPICS = tuple(_TOPICS)

_PUBLIC_TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "garden": {
        "subject": ("the gardener", "an old farmer", "the children", "a quiet man", "my father", "the girl"),
        "verb": ("waters", "plants", "picks", "trims", "digs up", "carries"),
        "object": ("the roses", "a young tree", "the potatoes", "the hedge", "wild berries", "the seeds"),
        "coda": ("in spring", "by the wall", "after school", "at sunset", "with a spade", "once a week"),
    },
    "school": {
        "subject": ("the teacher", "a new pupil", "the class", "our tutor", "the head", "a shy boy"),
        "verb": ("reads", "writes", "draws", "explains", "learns", "marks"),
        "object": ("the lesson", "a long poem", "the map", "an essay", "the numbers", "the answers"),
        "coda": ("in silence", "before the bell", "on the board", "at home", "by heart", "for the test"),
    },
}
"""Topics no client holds: the public text the shared base is pre-trained on before federation."""


@dataclass(frozen=True)
class Corpus:
    """Sentences (each ending in :data:`END`) and the topic index of each."""

    sentences: tuple[str, ...]
    topics: np.ndarray

    def __len__(self) -> int:
        return len(self.sentences)

    def subset(self, indices: np.ndarray) -> Corpus:
        return Corpus(tuple(self.sentences[int(i)] for i in indices), self.topics[indices])

    def text(self) -> str:
        return "".join(self.sentences)


def _sentence(topic: dict[str, tuple[str, ...]], rng: np.random.Generator) -> str:
    words = [topic[slot][int(rng.integers(len(topic[slot])))] for slot in ("subject", "verb", "object", "coda")]
    return " ".join(words) + "." + END


def _generate(grammars: dict[str, dict[str, tuple[str, ...]]], size: int, seed: int) -> Corpus:
    rng = np.random.default_rng(seed)
    names = tuple(grammars)
    topics = rng.integers(len(names), size=size)
    return Corpus(tuple(_sentence(grammars[names[t]], rng) for t in topics), topics.astype(np.int64))


@cache
def synthetic_corpus(size: int = 2000) -> tuple[Corpus, Corpus]:
    """``size`` private sentences (topics uniformly at random), split into fixed train and test corpora."""
    full = _generate(_TOPICS, size, seed=0)
    train, test = train_test_split(np.arange(size), test_size=TEST_FRACTION, random_state=0, stratify=full.topics)
    return full.subset(np.sort(train)), full.subset(np.sort(test))


@cache
def public_corpus(size: int = 1000) -> Corpus:
    """``size`` sentences of the public topics, which share no topic with the clients' text."""
    return _generate(_PUBLIC_TOPICS, size, seed=1)


class CharTokenizer:
    """One token per character of a fixed alphabet (the corpus's own characters, sorted)."""

    def __init__(self, alphabet: str) -> None:
        self.alphabet = "".join(sorted(set(alphabet)))
        self._index = {char: i for i, char in enumerate(self.alphabet)}

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet)

    def encode(self, text: str) -> np.ndarray:
        try:
            return np.fromiter((self._index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the tokenizer's alphabet") from None

    def decode(self, ids: np.ndarray) -> str:
        return "".join(self.alphabet[int(i)] for i in ids)


def corpus_alphabet() -> str:
    """Every character the grammars (private and public) can produce, so all text shares one tokenizer."""
    grammars = (*_TOPICS.values(), *_PUBLIC_TOPICS.values())
    words = " ".join(w for topic in grammars for slot in topic.values() for w in slot)
    return words + "." + END

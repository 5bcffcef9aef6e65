"""The bundled topic classifier: load the shipped weights and predict (Python and numpy).

A linear classifier (scikit-learn's LinearSVC, calibrated by temperature scaling) over two
TF-IDF blocks of the normalised headline and body (`crawler.arabic.tokens`): word unigrams
and bigrams, and character 2–4-grams inside each word. The character block sees through
Arabic clitics and inflection (و، ب، ال، ـات، ـها) that make one stem many words, so a
stem seen in training still counts when it comes with another prefix. Training happens
offline (`scripts/train_topics.py`, the `train` extra); the result is a gzipped JSON file
inside the package, so a crawl never downloads anything, never unpickles code and needs no
scikit-learn. Prediction is a dictionary lookup per distinct word and bigram, a cached
lookup per distinct word for its character grams, one small numpy product per block and
a softmax over the classes: a millisecond or two per article.

`featurize` is the one feature extractor: the training script hands it to scikit-learn,
so training and serving cannot drift apart.
"""

from __future__ import annotations

import gzip
import json
import math
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from itertools import chain, repeat
from operator import mul
from pathlib import Path

import numpy as np

from crawler.arabic import tokens
from crawler.taxonomy import TOPIC_IDS

MODEL_FORMAT = "akhbar-topics/2"
# importlib.resources, not Path(__file__): Scrapyd runs the project from a zipped egg.
BUNDLED_MODEL: Traversable = resources.files("pipelines") / "models" / "topics.json.gz"

# Headlines are short and dense with topic words, so they count twice. On validation
# splits of the training part this was neutral to slightly better (within 0.3 points); it
# mostly helps articles whose body is a short wire paragraph.
TITLE_REPEAT = 2
# Numbers (tolls, scores, dates, amounts) change every day; one shared token keeps the
# templated bulletins ("المغرب يسجل N اصابه") recognisable without a feature per figure.
NUMBER_TOKEN = "<n>"
# Feature blocks, each TF-IDF weighted and L2-normalised on its own so that the many
# character grams of a text do not drown its words.
BLOCKS: tuple[str, ...] = ("words", "chars")
CHAR_NGRAMS: tuple[int, int] = (2, 4)
_ROW = np.intc  # array("i"): a character-gram row number, as `TopicModel._char_cache` stores it
CHAR_CACHE_WORDS = 100_000
"""Words whose character-gram rows `TopicModel.scores` keeps (about 15 MB): a news
vocabulary's common part; the cache is emptied when full."""


class ModelError(ValueError):
    """The model file is missing, malformed or of an unknown format; the message says which."""


@dataclass(frozen=True)
class Prediction:
    topic: str
    confidence: float
    """Calibrated probability of `topic`, in [0, 1]."""
    probabilities: dict[str, float]


def _terms(text: str) -> list[str]:
    return [NUMBER_TOKEN if t.isdigit() else t for t in tokens(text)]


def char_grams(word: str) -> tuple[str, ...]:
    """Character n-grams of one word, padded with spaces so that a gram at the start or end
    of the word is told apart from the same letters inside it (the "ال" of a prefix against
    the one of "مال")."""
    padded = f" {word} "
    size = len(padded)
    lo, hi = CHAR_NGRAMS
    return tuple([padded[i : i + n] for n in range(lo, hi + 1) for i in range(size - n + 1)])


def _bigrams(terms: list[str]) -> list[str]:
    return list(map(" ".join, zip(terms, terms[1:])))  # C loops: no Python frame a pair


def word_counts(title: str | None, body: str | None) -> tuple[Counter[str], Counter[str]]:
    """(unigram counts, bigram counts ``"a b"``), the headline's counted `TITLE_REPEAT` times.
    Bigrams do not span the headline/body boundary: the two are separate texts."""
    # Lists counted once by Counter (C code) rather than a `+=` per gram.
    head, text = _terms(title or ""), _terms(body or "")
    return Counter(text + head * TITLE_REPEAT), Counter(_bigrams(text) + _bigrams(head) * TITLE_REPEAT)


def featurize(title: str | None, body: str | None) -> dict[str, Counter[str]]:
    """Raw counts per block: ``words`` (unigrams and bigrams) and ``chars`` (character
    grams of each word, as often as the word occurs; numbers give none)."""
    unigrams, bigrams = word_counts(title, body)
    grams: list[str] = []
    for word, count in unigrams.items():
        if word != NUMBER_TOKEN:
            grams.extend(char_grams(word) * count)
    words = unigrams + bigrams  # disjoint keys: a bigram holds a space, a word never does
    return {"words": words, "chars": Counter(grams)}


class _CharRows(dict[str, bytes]):
    """word -> its character-gram rows (`TopicModel._char_rows_of`), made on first sight;
    emptied when it holds `CHAR_CACHE_WORDS` (bounded memory on a long crawl, refilled from
    what recurs). Emptied in the middle of an article too: the rows already looked up are
    held by the caller, so the scores are the same."""

    def __init__(self, rows_of: Callable[[str], bytes]) -> None:
        super().__init__()
        self._rows_of = rows_of

    def __missing__(self, word: str) -> bytes:
        if len(self) >= CHAR_CACHE_WORDS:
            self.clear()
        rows = self[word] = self._rows_of(word)
        return rows


class TopicModel:
    """Weights of a trained model; `predict` maps a headline and body to a topic."""

    def __init__(self, data: dict) -> None:
        if data.get("format") != MODEL_FORMAT:
            raise ModelError(f"unknown topic model format {data.get('format')!r}, expected {MODEL_FORMAT!r}")
        try:
            self.classes: tuple[str, ...] = tuple(data["classes"])
            self.bias: tuple[float, ...] = tuple(float(b) for b in data["bias"])
            # softmax(beta * score): scikit-learn's temperature scaling, fitted on
            # cross-validated scores of the training part.
            self.beta = float(data["beta"])
            # Weights are stored as integers: value = int * scale (a third of the file).
            scale = float(data["weight_scale"])
            blocks = data["blocks"]
            k = len(self.classes)
            # Per block: term -> row, idf per row, weights (rows x classes).
            self._blocks: dict[str, tuple[dict[str, int], np.ndarray, np.ndarray]] = {}
            for name in BLOCKS:
                block = blocks[name]
                vocab: list[str] = block["vocab"]
                idf: list[float] = block["idf"]
                weights: list[int] = block["weights"]  # row-major: len(vocab) x len(classes)
                if len(idf) != len(vocab) or len(weights) != len(vocab) * k:
                    raise ModelError(f"topic model arrays of block {name!r} disagree in length")
                self._blocks[name] = (
                    {term: i for i, term in enumerate(vocab)},
                    np.asarray(idf, dtype=np.float64),
                    np.asarray(weights, dtype=np.float64).reshape(len(vocab), k) * scale,
                )
        except (KeyError, TypeError) as exc:
            raise ModelError(f"topic model lacks {exc}") from exc
        unknown = [c for c in self.classes if c not in TOPIC_IDS]
        if unknown:
            raise ModelError(f"topic model predicts unknown topic ids {unknown}")
        if len(self.bias) != len(self.classes):
            raise ModelError("topic model arrays disagree in length")
        self.meta: dict = data.get("meta", {})
        # A word's known character grams, as rows: looking up each gram of each article
        # was most of a prediction's time, and words recur article after article.
        self._char_cache: dict[str, bytes] = _CharRows(self._char_rows_of)

    def _char_rows_of(self, word: str) -> bytes:
        # int32 row numbers as bytes, -1 for a gram the model lacks (dropped in numpy):
        # `scores` repeats a word's rows by multiplying the bytes and joins a text's in
        # one C call
        return array("i", map(self._blocks["chars"][0].get, char_grams(word), repeat(-1))).tobytes()

    @classmethod
    def load(cls, path: str | Path | None = None) -> TopicModel:
        p: Path | Traversable = Path(path) if path else BUNDLED_MODEL
        try:
            with p.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError, EOFError) as exc:
            raise ModelError(f"cannot read topic model {p}: {exc}") from exc
        return cls(data)

    def __len__(self) -> int:
        """Number of features, all blocks together."""
        return sum(len(index) for index, _, _ in self._blocks.values())

    def scores(self, title: str | None, body: str | None) -> list[float]:
        """Decision scores per class (before calibration). The same features as
        `featurize`, gathered as vocabulary rows directly (tests hold the two equal)."""
        unigrams, bigrams = word_counts(title, body)
        scores = np.array(self.bias, dtype=np.float64)
        # Rows in order of first sight with their counts, as the Counters of the first
        # version gave them: the same order makes the same floating-point sums.
        # Words: a term has its own row (the vocabulary holds each term once) and the
        # unigram and bigram keys are disjoint, so each row is found once, with its count.
        index = self._blocks["words"][0]
        rows = np.fromiter(chain(map(index.get, unigrams, repeat(-1)), map(index.get, bigrams, repeat(-1))),
                           dtype=np.intp, count=len(unigrams) + len(bigrams))
        known = rows >= 0
        if known.any():
            tf = np.fromiter(chain(unigrams.values(), bigrams.values()), dtype=np.float64, count=len(rows))
            self._add(scores, "words", rows[known], tf[known])
        # Characters: every word's rows, as often as the word occurs, counted in numpy.
        words = [w for w in unigrams if w != NUMBER_TOKEN]
        # a new word's rows are made on its lookup (`_CharRows`): one dict lookup a word
        raw = b"".join(map(mul, map(self._char_cache.__getitem__, words), map(unigrams.__getitem__, words)))
        found = np.frombuffer(raw, dtype=_ROW).astype(np.intp)
        found = found[found >= 0]
        n = len(found)
        if n:
            at = np.arange(n)
            first = np.full(len(self._blocks["chars"][1]), n, dtype=np.intp)
            np.minimum.at(first, found, at)
            # `take`: the gathers of indexing with an array, with less overhead
            rows = found[first.take(found) == at]  # each row once, in order of first sight
            tf = np.bincount(found).take(rows).astype(np.float64)
            self._add(scores, "chars", rows, tf)
        return scores.tolist()

    def _add(self, scores: np.ndarray, block: str, rows: np.ndarray, tf: np.ndarray) -> None:
        """`scores` += the block's L2-normalised TF-IDF vector of `rows` (counts `tf`)
        times its weights."""
        _, idf, weights = self._blocks[block]
        x = (1.0 + np.log(tf)) * idf.take(rows)
        scores += (x / math.sqrt(float(x @ x))) @ weights.take(rows, axis=0)

    def scores_of_features(self, features: dict[str, Counter[str]]) -> list[float]:
        """Decision scores from `featurize`'s output: the plain reference `scores` must
        agree with (kept for the tests and for reading the model)."""
        scores = np.array(self.bias, dtype=np.float64)
        for name, counts in features.items():
            index, idf, weights = self._blocks[name]
            known = [(index[t], n) for t, n in counts.items() if t in index]
            if not known:
                continue
            rows = np.array([i for i, _ in known], dtype=np.intp)
            x = (1.0 + np.log(np.array([n for _, n in known], dtype=np.float64))) * idf[rows]
            scores += (x / math.sqrt(float(x @ x))) @ weights[rows]
        return scores.tolist()

    def predict(self, title: str | None, body: str | None) -> Prediction:
        """The most probable topic and its calibrated probability. A text with no known
        feature gets the softmax of the biases alone (near-uniform), so its confidence
        stays low."""
        scores = [self.beta * s for s in self.scores(title, body)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        probs = {c: e / total for c, e in zip(self.classes, exps)}
        best = max(probs, key=probs.__getitem__)
        return Prediction(best, probs[best], probs)


@lru_cache(maxsize=4)
def bundled_model(path: str | None = None) -> TopicModel:
    """The model shared by every pipeline in the process (loaded once)."""
    return TopicModel.load(path)

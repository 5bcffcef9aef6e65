"""The bundled topic classifier: load the shipped weights and predict, in pure Python.

A linear classifier (scikit-learn's LinearSVC, calibrated by temperature scaling) over two
TF-IDF blocks of the normalised headline and body (`crawler.arabic.tokens`): word unigrams
and bigrams, and character 2–4-grams inside each word. The character block sees through
Arabic clitics and inflection (و، ب، ال، ـات، ـها) that make one stem many words, so a
stem seen in training still counts when it comes with another prefix. Training happens
offline (`scripts/train_topics.py`, the `train` extra); the result is a gzipped JSON file
inside the package, so a crawl never downloads anything, never unpickles code and needs
neither scikit-learn nor numpy. Prediction is a dictionary lookup per feature and a
softmax over the classes: about a millisecond for a typical article.

`featurize` is the one feature extractor: the training script hands it to scikit-learn,
so training and serving cannot drift apart.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

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


def _char_grams(word: str, counts: Counter[str], repeat: int) -> None:
    # Padded with spaces so a gram at the start or end of the word is told apart from the
    # same letters inside it (the "ال" of a prefix against the one of "مال").
    padded = f" {word} "
    lo, hi = CHAR_NGRAMS
    for n in range(lo, hi + 1):
        for i in range(len(padded) - n + 1):
            counts[padded[i : i + n]] += repeat


def featurize(title: str | None, body: str | None) -> dict[str, Counter[str]]:
    """Raw counts per block: ``words`` (unigrams and bigrams ``"a b"``) and ``chars``
    (character grams of each word; numbers give none).

    Bigrams do not span the headline/body boundary: the two are separate texts."""
    words: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    for text, repeat in ((title or "", TITLE_REPEAT), (body or "", 1)):
        terms = _terms(text)
        for t in terms:
            words[t] += repeat
            if t != NUMBER_TOKEN:
                _char_grams(t, chars, repeat)
        for a, b in zip(terms, terms[1:]):
            words[f"{a} {b}"] += repeat
    return {"words": words, "chars": chars}


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
            self._rows: dict[str, dict[str, tuple[float, tuple[float, ...]]]] = {}
            for name in BLOCKS:
                block = blocks[name]
                vocab: list[str] = block["vocab"]
                idf: list[float] = block["idf"]
                weights: list[int] = block["weights"]  # row-major: len(vocab) x len(classes)
                if len(idf) != len(vocab) or len(weights) != len(vocab) * k:
                    raise ModelError(f"topic model arrays of block {name!r} disagree in length")
                self._rows[name] = {
                    term: (idf[i], tuple(w * scale for w in weights[i * k : (i + 1) * k]))
                    for i, term in enumerate(vocab)
                }
        except (KeyError, TypeError) as exc:
            raise ModelError(f"topic model lacks {exc}") from exc
        unknown = [c for c in self.classes if c not in TOPIC_IDS]
        if unknown:
            raise ModelError(f"topic model predicts unknown topic ids {unknown}")
        if len(self.bias) != len(self.classes):
            raise ModelError("topic model arrays disagree in length")
        self.meta: dict = data.get("meta", {})

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
        return sum(len(rows) for rows in self._rows.values())

    def scores(self, title: str | None, body: str | None) -> list[float]:
        """Decision scores per class (before calibration)."""
        k = len(self.classes)
        scores = list(self.bias)
        for name, counts in featurize(title, body).items():
            rows = self._rows[name]
            vec: list[tuple[float, tuple[float, ...]]] = []
            norm = 0.0
            for term, count in counts.items():
                row = rows.get(term)
                if row is None:
                    continue
                x = (1.0 + math.log(count)) * row[0]
                vec.append((x, row[1]))
                norm += x * x
            if norm > 0:
                inv = 1.0 / math.sqrt(norm)
                for x, w in vec:
                    xs = x * inv
                    for c in range(k):
                        scores[c] += xs * w[c]
        return scores

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

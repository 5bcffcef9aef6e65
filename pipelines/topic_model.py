"""The bundled topic classifier: load the shipped weights and predict, in pure Python.

A multinomial logistic regression over TF-IDF weighted word unigrams and bigrams of
the normalised headline and body (`crawler.arabic.tokens`). Training happens offline
(`scripts/train_topics.py`); the result is a gzipped JSON file inside the package, so a
crawl never downloads anything and never unpickles code. Prediction is a dictionary
lookup per feature and a 6-way softmax: well under a millisecond for a typical article,
no numpy needed.

`featurize` is the one feature extractor: the training script imports it, so training
and serving cannot drift apart.
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

MODEL_FORMAT = "akhbar-topics/1"
# importlib.resources, not Path(__file__): Scrapyd runs the project from a zipped egg.
BUNDLED_MODEL: Traversable = resources.files("pipelines") / "models" / "topics.json.gz"

# Headlines are short and dense with topic words, so they count twice. On validation
# splits of the training part this was neutral to slightly better (within 0.3 points); it
# mostly helps articles whose body is a short wire paragraph.
TITLE_REPEAT = 2
# Numbers (tolls, scores, dates, amounts) change every day; one shared token keeps the
# templated bulletins ("المغرب يسجل N اصابه") recognisable without a feature per figure.
NUMBER_TOKEN = "<n>"


class ModelError(ValueError):
    """The model file is missing, malformed or of an unknown format; the message says which."""


@dataclass(frozen=True)
class Prediction:
    topic: str
    confidence: float
    """Softmax probability of `topic`, in [0, 1]."""
    probabilities: dict[str, float]


def _terms(text: str) -> list[str]:
    return [NUMBER_TOKEN if t.isdigit() else t for t in tokens(text)]


def featurize(title: str | None, body: str | None) -> Counter[str]:
    """Raw counts of unigrams and bigrams (``"a b"``) of headline and body.

    Bigrams do not span the headline/body boundary: the two are separate texts."""
    counts: Counter[str] = Counter()
    for text, repeat in ((title or "", TITLE_REPEAT), (body or "", 1)):
        words = _terms(text)
        grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        for g in grams:
            counts[g] += repeat
    return counts


class TopicModel:
    """Weights of a trained model; `predict` maps a headline and body to a topic."""

    def __init__(self, data: dict) -> None:
        if data.get("format") != MODEL_FORMAT:
            raise ModelError(f"unknown topic model format {data.get('format')!r}, expected {MODEL_FORMAT!r}")
        try:
            self.classes: tuple[str, ...] = tuple(data["classes"])
            vocab: list[str] = data["vocab"]
            idf: list[float] = data["idf"]
            weights: list[float] = data["weights"]  # row-major: len(vocab) x len(classes)
            self.bias: tuple[float, ...] = tuple(data["bias"])
        except (KeyError, TypeError) as exc:
            raise ModelError(f"topic model lacks {exc}") from exc
        k = len(self.classes)
        unknown = [c for c in self.classes if c not in TOPIC_IDS]
        if unknown:
            raise ModelError(f"topic model predicts unknown topic ids {unknown}")
        if len(idf) != len(vocab) or len(weights) != len(vocab) * k or len(self.bias) != k:
            raise ModelError("topic model arrays disagree in length")
        self.meta: dict = data.get("meta", {})
        self._rows: dict[str, tuple[float, tuple[float, ...]]] = {
            term: (idf[i], tuple(weights[i * k : (i + 1) * k])) for i, term in enumerate(vocab)
        }

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
        return len(self._rows)

    def predict(self, title: str | None, body: str | None) -> Prediction:
        """The most probable topic and its probability. A text with no known feature gets
        the class prior (near-uniform), so its confidence stays low."""
        k = len(self.classes)
        scores = list(self.bias)
        vec: list[tuple[float, tuple[float, ...]]] = []
        norm = 0.0
        for term, count in featurize(title, body).items():
            row = self._rows.get(term)
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
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        probs = {c: e / total for c, e in zip(self.classes, exps)}
        best = max(probs, key=probs.__getitem__)
        return Prediction(best, probs[best], probs)


@lru_cache(maxsize=4)
def bundled_model(path: str | None = None) -> TopicModel:
    """The model shared by every pipeline in the process (loaded once: ~0.3 s)."""
    return TopicModel.load(path)

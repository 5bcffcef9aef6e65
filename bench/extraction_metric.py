"""The body-text metric of the article-extraction benchmark (scrapinghub), reimplemented.

Both texts are split into ``\\w+`` tokens (Unicode); every run of four consecutive tokens
is a shingle, counted. Per page: true positives are the shingle counts both share, false
positives the predicted ones in excess, false negatives the true ones missed; the three
are divided by their sum so that every page weighs the same. Precision, recall and F1
come from the means of those fractions over the pages, which is how the published
figures (trafilatura 0.958 etc.) were computed, so ours compare with them.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

SHINGLE = 4
_TOKEN = re.compile(r"\w+", re.UNICODE)


def shingles(text: str | None, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """Counted runs of `n` tokens; a text shorter than `n` tokens is one shingle of all of them."""
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)))


@dataclass(frozen=True)
class PageScore:
    tp: float
    fp: float
    fn: float

    @property
    def f1(self) -> float:
        return Score.of([self]).f1


def score_page(true: str | None, predicted: str | None) -> PageScore:
    t, p = shingles(true), shingles(predicted)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    if total == 0:  # nothing expected, nothing given: a perfect page
        return PageScore(1.0, 0.0, 0.0)
    return PageScore(tp / total, fp / total, fn / total)


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    pages: int

    @classmethod
    def of(cls, pages: Iterable[PageScore]) -> Score:
        pages = list(pages)
        if not pages:
            return cls(0.0, 0.0, 0.0, 0)
        tp = sum(p.tp for p in pages) / len(pages)
        fp = sum(p.fp for p in pages) / len(pages)
        fn = sum(p.fn for p in pages) / len(pages)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1, len(pages))


def evaluate(truth: Mapping[str, str], predicted: Mapping[str, str | None]) -> Score:
    """The set's score; a page missing from `predicted` counts as an empty prediction."""
    return Score.of(score_page(truth[k], predicted.get(k)) for k in truth)


@dataclass(frozen=True)
class LabelledPage:
    key: str
    url: str
    html: bytes
    body: str


def load_set(directory: Path) -> list[LabelledPage]:
    """Pages of a set laid out as ``html/<key>.html.gz`` + ``ground-truth.json`` (key ->
    ``url``, ``articleBody``), in key order."""
    truth = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for key in sorted(truth):
        path = directory / "html" / f"{key}.html.gz"
        out.append(LabelledPage(key, truth[key]["url"], gzip.decompress(path.read_bytes()), truth[key]["articleBody"]))
    return out

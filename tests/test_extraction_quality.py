"""The generic layer's article body on real pages of many sites, scored like the published
article-extraction benchmark: a regression below the floor fails here, not in production.

The pages (tests/fixtures/extraction/, MIT, see its LICENSE) are 23 of the 91 development
pages `bench/extract.py` scores; the generic layer scored F1 0.982 on them when the floor was
set (trafilatura's ``extract()``: 0.935), the density pick it replaced about 0.7.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from bench.extraction_metric import Score, evaluate, load_set, score_page, shingles
from spiders.generic_fields import GenericFields
from spiders.wordpress import WordPressArticlePage

SET = Path(__file__).parent / "fixtures" / "extraction"
F1_FLOOR = 0.95
PAGE_FLOOR = 0.6  # no page may lose most of its article (a wrong block picked)


def test_shingle_metric_on_texts_worked_by_hand() -> None:
    # 4-token shingles; punctuation and spacing are not tokens
    assert sum(shingles("a b, c d e").values()) == 2
    assert shingles("only three words") == {("only", "three", "words"): 1}
    assert score_page("a b c d e", "a b c d e").f1 == 1.0
    assert score_page("a b c d e", "v w x y z").f1 == 0.0
    # true: abcd, bcde; predicted: abcd -> tp 1, fn 1 -> P 1, R 0.5
    s = Score.of([score_page("a b c d e", "a b c d")])
    assert (s.precision, s.recall) == (1.0, 0.5)
    assert s.f1 == pytest.approx(2 / 3)
    # pages weigh the same whatever their length: a perfect long page and an empty short one
    long_text = " ".join(f"w{i}" for i in range(1000))
    s = evaluate({"long": long_text, "short": "a b c d e"}, {"long": long_text})
    assert s.recall == pytest.approx(0.5)
    # Unicode tokens (Arabic)
    assert score_page("قال الوزير إن الحكومة ستعلن", "قال الوزير إن الحكومة ستعلن").f1 == 1.0


def _generic_body(url: str, html: bytes) -> str:
    return GenericFields(HtmlResponse(url=url, body=html).selector).get("body_text") or ""


def test_generic_layer_body_f1_on_real_pages() -> None:
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    pages = load_set(SET)
    assert len(pages) == 23
    scores = {p.key: score_page(p.body, _generic_body(p.url, p.html)) for p in pages}
    total = Score.of(scores.values())
    worst = sorted(scores.items(), key=lambda kv: kv[1].f1)[:3]
    assert total.f1 >= F1_FLOOR, f"body F1 {total.f1:.3f} < {F1_FLOOR}; worst pages {worst}"
    assert all(s.f1 >= PAGE_FLOOR for s in scores.values()), f"pages below {PAGE_FLOOR}: {worst}"


def test_config_only_chain_gets_the_same_bodies() -> None:
    """What a new WordPress source gets: the merged layers, the body from the generic layer
    where the theme selectors miss."""
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    pages = load_set(SET)
    bodies = {p.key: WordPressArticlePage.from_bytes(p.url, p.html).to_article("t").body_text for p in pages}
    assert evaluate({p.key: p.body for p in pages}, bodies).f1 >= F1_FLOOR

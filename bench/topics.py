"""Topics pipeline throughput on the bundled snapshot sample.

    .venv/bin/python -m bench.topics [--repeat N]

Prints articles per second for the classifier path (no section) and the section-map
path, each with its ratio against a baseline measured in the same run: tokenising the
same headline and body with `crawler.arabic.tokens`, the normalisation every consumer
of the text (dedup, search, topics) pays anyway.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path

from scrapy.utils.test import get_crawler

from bench.common import result
from crawler.arabic import tokens
from crawler.items import Article
from pipelines.topic_model import bundled_model
from pipelines.topics import TopicsPipeline

SAMPLE = Path(__file__).resolve().parent.parent / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"


def load_articles() -> list[tuple[str, str]]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [(r["title"], r.get("body") or "\n\n".join(r.get("paragraphs") or [])) for r in rows]


def rate(n: int, fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="passes over the sample")
    args = ap.parse_args(argv)

    texts = load_articles() * args.repeat
    n = len(texts)
    start = time.perf_counter()
    bundled_model()
    load_s = time.perf_counter() - start
    pipe = TopicsPipeline.from_crawler(get_crawler(settings_dict={"TOPICS_MIN_CONFIDENCE": 0.5}))

    def baseline() -> None:
        for title, body in texts:
            tokens(title)
            tokens(body)

    def classify() -> None:
        for i, (title, body) in enumerate(texts):
            pipe.process_item(Article(url=f"u{i}", source="le12", title=title, body_text=body))

    def mapped() -> None:
        for i, (title, body) in enumerate(texts):
            pipe.process_item(Article(url=f"u{i}", source="hespress", section_raw="sport", title=title, body_text=body))

    base = rate(n, baseline)
    cls = rate(n, classify)
    sec = rate(n, mapped)
    print(f"articles: {n} ({n // args.repeat} sample articles x {args.repeat}); model load {load_s * 1000:.0f} ms")
    print(f"baseline (tokenise only)  {base:9.0f} articles/s")
    print(f"classifier path           {cls:9.0f} articles/s  ({1000 / cls:.2f} ms/article, {cls / base:.2f}x baseline)")
    print(f"section-map path          {sec:9.0f} articles/s  ({sec / base:.2f}x baseline)")
    result("topics", "topic pipeline, classifier path", round(cls), "articles/s", "tokenising only", round(base),
           round(cls / base, 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

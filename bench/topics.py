"""Topic classifier quality on the held-out split, and pipeline throughput.

    .venv/bin/python -m bench.topics [--repeat N] [--corpus PATH]

Quality: the project's held-out split of the Hespress corpus (`scripts/train_topics.py`:
the snapshot sample's articles set aside, then 20% of each topic, seed 20200705; the
bundled model never saw them), classified as the pipeline files an article without a
section: accuracy (filed under the right topic), share sent to `other`, precision and
recall per topic, against the targets (>= 90%, <= 5%). Reads ../shared/corpus by default;
without a corpus the bundled snapshot sample (also never trained on) stands in.

Speed: articles per second for the classifier path (no section) and the section-map path,
each with its ratio against a baseline measured in the same run: tokenising the same
headline and body with `crawler.arabic.tokens`, the normalisation every consumer of the
text (dedup, search, topics) pays anyway.
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
from pipelines.topics import DEFAULT_MIN_CONFIDENCE, TopicsPipeline
from scripts.train_topics import DEFAULT_CORPUS, evaluate, print_report, project_split

SAMPLE = Path(__file__).resolve().parent.parent / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
CORPUS_TO_TOPIC = {"crime_incidents": "incidents"}
ACCURACY_TARGET = 0.90
OTHER_TARGET = 0.05


def load_sample() -> list[dict]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [{"title": r["title"], "body": r.get("body") or "\n\n".join(r.get("paragraphs") or []),
             "topic": CORPUS_TO_TOPIC.get(r.get("category", ""), r.get("category", ""))} for r in rows]


def rate(n: int, fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def quality(corpus: Path) -> None:
    model = bundled_model()
    if corpus.exists():
        _, rows, _ = project_split(corpus)
        name = f"held-out split of {corpus.name}"
    else:
        rows = [r for r in load_sample() if r["topic"] in model.classes]
        name = f"bundled snapshot sample (no corpus at {corpus})"
    ev = evaluate(model, rows, DEFAULT_MIN_CONFIDENCE)
    print_report(name, ev, list(model.classes))
    result("topics", f"accuracy, {name}", round(ev["accuracy"], 4), "share", "", None, None,
           target=f">= {ACCURACY_TARGET}", met=ev["accuracy"] >= ACCURACY_TARGET, articles=ev["n"])
    result("topics", f"sent to other, {name}", round(ev["other_share"], 4), "share", "", None, None,
           target=f"<= {OTHER_TARGET}", met=ev["other_share"] <= OTHER_TARGET, articles=ev["n"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="passes over the sample for the speed figures")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="hespress_stories.jsonl.gz")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    bundled_model()
    load_s = time.perf_counter() - start
    quality(args.corpus)

    texts = [(r["title"], r["body"]) for r in load_sample()] * args.repeat
    n = len(texts)
    pipe = TopicsPipeline.from_crawler(get_crawler(settings_dict={"TOPICS_MIN_CONFIDENCE": DEFAULT_MIN_CONFIDENCE}))

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
    print(f"\narticles: {n} ({n // args.repeat} sample articles x {args.repeat}); model load {load_s * 1000:.0f} ms")
    print(f"baseline (tokenise only)  {base:9.0f} articles/s")
    print(f"classifier path           {cls:9.0f} articles/s  ({1000 / cls:.2f} ms/article, {cls / base:.2f}x baseline)")
    print(f"section-map path          {sec:9.0f} articles/s  ({sec / base:.2f}x baseline)")
    result("topics", "topic pipeline, classifier path", round(cls), "articles/s", "tokenising only", round(base),
           round(cls / base, 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

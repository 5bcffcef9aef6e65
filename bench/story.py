"""The story page's cost: `feeds.web.diff` over every labelled pair, a hostile body, and
`/api/stories/{id}` + `/story/{id}` on the running app.

    python -m bench.story [--quick]

Baselines, measured in the same run: plain `difflib` over whitespace-split words of the
same pairs (what a naive word diff costs: no paragraph matching, no normalisation), and the
app's 404 answer for an unknown story (the request without any story work). The hostile
figure is the difference of two 5 MB bodies of one word repeated against a real report's:
the caps must keep it within a small multiple (target ≤ 50×), not quadratic.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

from bench.common import result
from feeds.web.diff import diff_reports, split


def _pairs() -> list[tuple[dict, dict]]:
    from tests.story_support import fixture_rows

    rows = fixture_rows()
    docs = {r["id"]: r for r in rows if r["type"] == "doc"}
    out = []
    for r in rows:
        if r["type"] == "pair":
            a, b = sorted((docs[r["a"]], docs[r["b"]]), key=lambda d: d["published"])
            out.append((a, b))
    return out


def _per_pair(fn, pairs: list[tuple[dict, dict]], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        split.cache_clear()  # each pair's first report split afresh, as for a new story
        t = time.perf_counter()
        for a, b in pairs:
            fn(a, b)
        best = min(best, time.perf_counter() - t)
    return best / len(pairs) * 1000


def bench_diff(rounds: int) -> None:
    pairs = _pairs()
    ours = _per_pair(lambda a, b: diff_reports(a["body"], b["body"], a["title"], b["title"]), pairs, rounds)
    naive = _per_pair(lambda a, b: SequenceMatcher(None, a["body"].split(), b["body"].split()).get_opcodes(), pairs, rounds)
    print(f"diff of a labelled pair: {ours:.2f} ms; plain difflib on words: {naive:.2f} ms ({len(pairs)} pairs)")
    result("story", "word-level difference of one labelled pair", round(ours, 3), "ms", "plain difflib on words",
           round(naive, 3), round(ours / naive, 2), target="report", met=None)
    # Two real texts as long as the caps let through (every labelled report one after the
    # other, the second with its paragraphs in another order): what the longest honest
    # story costs. A hostile body must cost no more than that: the caps, not its size, decide.
    bodies = [d["body"] for a, b in pairs for d in (a, b)]
    long_a = "\n\n".join(bodies)
    long_b = "\n\n".join(reversed(bodies))
    huge = "كلمة " * 1_000_000

    def timed(x: str, y: str) -> float:
        best = float("inf")
        for _ in range(rounds):
            split.cache_clear()
            t = time.perf_counter()
            diff_reports(x, y)
            best = min(best, time.perf_counter() - t)
        return best * 1000

    capped = timed(long_a, long_b)
    hostile = timed(huge, huge + " أخرى")
    ratio = hostile / capped
    print(f"two 5 MB hostile bodies: {hostile:.0f} ms; two real texts at the caps: {capped:.0f} ms ({ratio:.2f}x)")
    result("story", "difference of two 5 MB bodies of one repeated word", round(hostile, 1), "ms",
           "two real texts at the caps", round(capped, 1), round(ratio, 2), target="<= 2x", met=ratio <= 2)


def bench_app(requests: int) -> None:
    from crawler.archive import open_archive
    from tests.story_support import fill_labelled, get, running

    data = Path(tempfile.mkdtemp(prefix="bench-story-"))
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    with open_archive(url) as archive:
        fill_labelled(archive)
        story_id, size = Counter(r["story_id"] for r in archive.fetch("SELECT story_id FROM articles")).most_common(1)[0]
    with running(data, url) as server:
        def median_ms(path: str) -> float:
            get(server, path)
            times = []
            for _ in range(requests):
                t = time.perf_counter()
                status, _, _ = get(server, path)
                times.append(time.perf_counter() - t)
                assert status in (200, 404), (path, status)
            return statistics.median(times) * 1000

        base = median_ms("/api/stories/s0000000000000000")
        api = median_ms(f"/api/stories/{story_id}")
        page = median_ms(f"/story/{story_id}")
    print(f"story of {size} reports: API {api:.1f} ms, page {page:.1f} ms; unknown story (404) {base:.1f} ms")
    result("story", f"GET /api/stories/<id>, {size} reports", round(api, 2), "ms (median)", "404 of an unknown story",
           round(base, 2), round(api / base, 1), target="report", met=None)
    result("story", f"GET /story/<id>, {size} reports", round(page, 2), "ms (median)", "404 of an unknown story",
           round(base, 2), round(page / base, 1), target="report", met=None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds and requests (CI: catches breakage)")
    args = ap.parse_args()
    bench_diff(rounds=2 if args.quick else 5)
    bench_app(requests=10 if args.quick else 50)


if __name__ == "__main__":
    main()

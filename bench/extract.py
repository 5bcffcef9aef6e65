"""Extraction: page-object speed on the snapshot, generic-layer quality on real pages.

    .venv/bin/python -m bench.extract [--rounds N] [--dev DIR | --no-dev] [--no-snapshot]

Snapshot part: fetches every article page of the five emulated sites once (real HTTP on
loopback), then times `to_article()` for each site's page object over those bytes. The
baseline, measured in the same run, is parsing the same bytes into a Scrapy `HtmlResponse`
selector (lxml) and nothing else: the ratio says how much extraction (JSON-LD, meta,
selectors, generic, boilerplate removal) costs on top of the unavoidable parse.

Dev-set part (``--dev``, default ``../shared/extraction/dev``; skipped with a message where
the set is missing): real article pages of many sites with hand-checked bodies. For each
page, in one run and interleaved so machine load hits both alike: Akhbar's generic layer
(parse + `GenericFields` body, what a config-only source and every selector miss get) and
trafilatura's ``extract()`` on the same bytes (the baseline), plus an lxml parse alone.
Body quality is the benchmark's shingle F1 (bench/extraction_metric.py); the config-only
chain (`WordPressArticlePage.to_article`, layers merged) is scored too.
"""

from __future__ import annotations

import argparse
import logging
import time
import urllib.request
from pathlib import Path

from scrapy.http import HtmlResponse

from bench.common import ROOT, result
from bench.extraction_metric import LabelledPage, Score, load_set, score_page
from crawler.snapshot import SnapshotServer
from spiders.belpresse import BelpresseArticlePage
from spiders.generic_fields import GenericFields
from spiders.hespress import HespressArticlePage
from spiders.hibapress import HibapressArticlePage
from spiders.le12 import Le12ArticlePage
from spiders.rue20 import Rue20ArticlePage
from spiders.wordpress import WordPressArticlePage

DEFAULT_DEV = ROOT.parent / "shared" / "extraction" / "dev"

PAGES = {
    "hespress": HespressArticlePage,
    "hibapress": HibapressArticlePage,
    "le12": Le12ArticlePage,
    "rue20": Rue20ArticlePage,
    "belpresse": BelpresseArticlePage,
}


def fetch_pages(truth: dict[str, str] | None = None) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Every snapshot article page as served; `truth` (when given) gets each URL's true body."""
    out = []
    with SnapshotServer(sites=list(PAGES)) as srv:
        for site in PAGES:
            for art in srv.articles(site):
                with urllib.request.urlopen(art["url"]) as resp:
                    out.append((site, art["url"], resp.read(), {"Content-Type": resp.headers["Content-Type"]}))
                if truth is not None:
                    truth[art["url"]] = art["body_text"]
    return out


def snapshot_part(rounds: int) -> None:
    truth: dict[str, str] = {}
    pages = fetch_pages(truth)
    parse_t = extract_t = 0.0
    bad = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _site, url, body, headers in pages:
            HtmlResponse(url=url, body=body, headers=headers).selector.root  # noqa: B018 (force the parse)
        t1 = time.perf_counter()
        for site, url, body, headers in pages:
            a = PAGES[site].from_bytes(url, body, headers=headers).to_article(site)
            bad += not (a.title and a.body_text)
        t2 = time.perf_counter()
        parse_t += t1 - t0
        extract_t += t2 - t1
    n = len(pages) * rounds
    print(f"pages: {len(pages)} x {rounds} rounds, incomplete articles: {bad}")
    print(f"extraction: {n / extract_t:.0f} pages/s ({1000 * extract_t / n:.2f} ms/page)")
    print(f"baseline (lxml parse only): {n / parse_t:.0f} pages/s ({1000 * parse_t / n:.2f} ms/page)")
    print(f"ratio extraction/parse time: {extract_t / parse_t:.1f}x")
    result("extract", "extraction (page objects)", round(n / extract_t), "pages/s", "HtmlResponse lxml parse only",
           round(n / parse_t), round(extract_t / parse_t, 1), "(time ratio)")
    # The generic layer alone on the same Arabic pages (what a selector miss falls back to),
    # against the snapshot's true bodies, beside the sites' own page objects.
    generic, own = [], []
    for site, url, body, headers in pages:
        generic.append(score_page(truth[url], GenericFields(HtmlResponse(url=url, body=body, headers=headers).selector).get("body_text")))
        own.append(score_page(truth[url], PAGES[site].from_bytes(url, body, headers=headers).to_article(site).body_text))
    g, o = Score.of(generic), Score.of(own)
    print(f"snapshot body F1: generic layer alone {g.f1:.3f} (P {g.precision:.3f} R {g.recall:.3f}); "
          f"site page objects {o.f1:.3f}")
    result("extract", "generic body F1 (snapshot, Arabic)", round(g.f1, 3), "F1", "site page objects", round(o.f1, 3),
           round(g.f1 / o.f1, 3) if o.f1 else None)


def akhbar_generic_body(page: LabelledPage) -> str:
    """What the generic layer gives as the body: parse, then `GenericFields`' body group."""
    sel = HtmlResponse(url=page.url, body=page.html).selector
    return GenericFields(sel).get("body_text") or ""


def trafilatura_body(page: LabelledPage) -> str:
    """The baseline as a user calls it: ``trafilatura.extract()`` on the page bytes."""
    import trafilatura

    return trafilatura.extract(page.html, url=page.url) or ""


def lxml_parse(page: LabelledPage) -> str:
    HtmlResponse(url=page.url, body=page.html).selector.root  # noqa: B018 (force the parse)
    return ""


def dev_part(directory: Path, rounds: int) -> None:
    if not (directory / "ground-truth.json").is_file():
        print(f"dev set: {directory} not found (a checkout without ../shared); generic-layer quality skipped."
              " Point --dev at a directory of html/<key>.html.gz + ground-truth.json.")
        return
    try:
        import trafilatura  # noqa: F401
    except ImportError:
        print("dev set: trafilatura (the baseline) is not installed: pip install -e '.[bench]'; skipped")
        return
    # trafilatura warns on every page it finds nothing on; the figures say it already
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    pages = load_set(directory)
    runners = {"akhbar": akhbar_generic_body, "trafilatura": trafilatura_body, "lxml": lxml_parse}
    seconds = dict.fromkeys(runners, 0.0)
    bodies: dict[str, dict[str, str]] = {name: {} for name in runners}
    for r in range(rounds):
        for i, page in enumerate(pages):
            # alternate the order so neither side always runs on a warm cache
            order = list(runners) if (i + r) % 2 == 0 else list(reversed(runners))
            for name in order:
                t = time.perf_counter()
                out = runners[name](page)
                seconds[name] += time.perf_counter() - t
                bodies[name].setdefault(page.key, out)
    chain = {}
    for page in pages:
        a = WordPressArticlePage.from_bytes(page.url, page.html).to_article("dev")
        chain[page.key] = a.body_text or ""
    n = len(pages) * rounds
    ms = {name: 1000 * t / n for name, t in seconds.items()}
    scores = {name: Score.of(score_page(p.body, bodies[name][p.key]) for p in pages) for name in ("akhbar", "trafilatura")}
    scores["chain"] = Score.of(score_page(p.body, chain[p.key]) for p in pages)
    import trafilatura

    labels = {"akhbar": "Akhbar generic layer", "trafilatura": f"trafilatura {trafilatura.__version__} extract()",
              "chain": "Akhbar config-only chain (WordPressArticlePage)"}
    print(f"dev set: {len(pages)} pages from {directory}, {rounds} round(s)")
    print(f"{'extractor':48} {'F1':>6} {'prec':>6} {'recall':>6} {'ms/page':>8}")
    for name, s in scores.items():
        timing = f"{ms[name]:8.1f}" if name in ms else f"{'-':>8}"
        print(f"{labels[name]:48} {s.f1:6.3f} {s.precision:6.3f} {s.recall:6.3f} {timing}")
    print(f"{'lxml parse only':48} {'':6} {'':6} {'':6} {ms['lxml']:8.1f}")
    a, t = scores["akhbar"], scores["trafilatura"]
    result("extract", "generic body F1 (dev set)", round(a.f1, 3), "F1", labels["trafilatura"], round(t.f1, 3),
           round(a.f1 / t.f1, 3) if t.f1 else None, ">= 0.96", a.f1 >= 0.96,
           precision=round(a.precision, 3), recall=round(a.recall, 3), pages=len(pages),
           baseline_precision=round(t.precision, 3), baseline_recall=round(t.recall, 3))
    result("extract", "generic body time (dev set)", round(ms["akhbar"], 1), "ms/page", labels["trafilatura"],
           round(ms["trafilatura"], 1), round(ms["akhbar"] / ms["trafilatura"], 2), "<= trafilatura",
           ms["akhbar"] <= ms["trafilatura"])
    result("extract", "generic body speed (dev set)", round(1000 / ms["akhbar"]), "pages/s", "HtmlResponse lxml parse only",
           round(1000 / ms["lxml"]), round(ms["akhbar"] / ms["lxml"], 1), "(time ratio)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dev", type=Path, default=DEFAULT_DEV,
                    help="labelled real pages: html/<key>.html.gz + ground-truth.json (default ../shared/extraction/dev)")
    ap.add_argument("--no-dev", action="store_true", help="skip the dev-set part")
    ap.add_argument("--no-snapshot", action="store_true", help="skip the snapshot page-object part")
    args = ap.parse_args()
    if not args.no_snapshot:
        snapshot_part(args.rounds)
    if not args.no_dev:
        dev_part(args.dev, args.rounds)


if __name__ == "__main__":
    main()

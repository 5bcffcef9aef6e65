"""Page-object extraction speed on the snapshot's article pages.

    .venv/bin/python -m bench.extract [--rounds N]

Fetches every article page of the five emulated sites once (real HTTP on loopback), then
times `to_article()` for each site's page object over those bytes. The baseline, measured
in the same run, is parsing the same bytes into a Scrapy `HtmlResponse` selector (lxml)
and nothing else: the ratio says how much extraction (JSON-LD, meta, selectors, generic,
boilerplate removal) costs on top of the unavoidable parse.
"""

from __future__ import annotations

import argparse
import time
import urllib.request

from scrapy.http import HtmlResponse

from bench.common import result
from crawler.snapshot import SnapshotServer
from spiders.belpresse import BelpresseArticlePage
from spiders.hespress import HespressArticlePage
from spiders.hibapress import HibapressArticlePage
from spiders.le12 import Le12ArticlePage
from spiders.rue20 import Rue20ArticlePage

PAGES = {
    "hespress": HespressArticlePage,
    "hibapress": HibapressArticlePage,
    "le12": Le12ArticlePage,
    "rue20": Rue20ArticlePage,
    "belpresse": BelpresseArticlePage,
}


def fetch_pages() -> list[tuple[str, str, bytes, dict[str, str]]]:
    out = []
    with SnapshotServer(sites=list(PAGES)) as srv:
        for site in PAGES:
            for art in srv.articles(site):
                with urllib.request.urlopen(art["url"]) as resp:
                    out.append((site, art["url"], resp.read(), {"Content-Type": resp.headers["Content-Type"]}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    pages = fetch_pages()
    parse_t = extract_t = 0.0
    bad = 0
    for _ in range(args.rounds):
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
    n = len(pages) * args.rounds
    print(f"pages: {len(pages)} x {args.rounds} rounds, incomplete articles: {bad}")
    print(f"extraction: {n / extract_t:.0f} pages/s ({1000 * extract_t / n:.2f} ms/page)")
    print(f"baseline (lxml parse only): {n / parse_t:.0f} pages/s ({1000 * parse_t / n:.2f} ms/page)")
    print(f"ratio extraction/parse time: {extract_t / parse_t:.1f}x")
    result("extract", "extraction (page objects)", round(n / extract_t), "pages/s", "HtmlResponse lxml parse only",
           round(n / parse_t), round(extract_t / parse_t, 1), "(time ratio)")


if __name__ == "__main__":
    main()

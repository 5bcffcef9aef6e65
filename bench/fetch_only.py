"""Scrapy fetching the crawl's article pages and doing nothing else: the floor of any
Scrapy-based crawl of these pages on this machine.

    .venv/bin/python -m bench.fetch_only URLS_FILE [--concurrency 16] [--per-domain 8]

Run by `bench.crawl` in a process of its own over the same article URLs the naive scraper
fetches, with the crawl's concurrency. The spider's callback returns nothing: no
extraction, no item, no pipeline, no WARC, no robots.txt. Whatever a Scrapy crawl does
per page on top costs more, so ``fetch-only pages/min / naive pages/min`` bounds what
any Scrapy crawl can reach against the naive scraper under the same conditions. Prints one
JSON line: ``{"pages": n, "seconds": s, "pages_per_min": r}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def fetch_only(urls: list[str], concurrency: int, per_domain: int) -> dict[str, float]:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class FetchOnly(scrapy.Spider):
        name = "fetch_only"

        async def start(self) -> Any:
            for url in urls:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response: Any) -> None:
            return None

    settings = {
        "LOG_LEVEL": "WARNING",
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain,
        "ROBOTSTXT_OBEY": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_INSTALL_ROOT_HANDLER": False,
    }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(FetchOnly)
    done = process.crawl(crawler)
    done.addErrback(lambda f: print(f"fetch-only crawl failed: {f.getErrorMessage()}", flush=True))
    t = time.perf_counter()
    process.start()
    seconds = time.perf_counter() - t
    assert crawler.stats is not None
    pages = int(crawler.stats.get_value("response_received_count", 0))
    return {"pages": pages, "seconds": seconds, "pages_per_min": 60 * pages / seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("urls_file", type=Path)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--per-domain", type=int, default=8)
    args = ap.parse_args(argv)
    urls = args.urls_file.read_text(encoding="utf-8").split()
    print(json.dumps(fetch_only(urls, args.concurrency, args.per_domain)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

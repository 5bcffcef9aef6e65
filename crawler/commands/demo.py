"""`akhbar demo [--once]`: the whole chain offline.

Serve the bundled snapshot of the five sites on 127.0.0.1, crawl them all through
the pipelines, then (unless ``--once``) keep serving and print the URLs to open.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from crawler.commands.crawl import crawl_sites
from crawler.config import load_sources

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="serve the offline snapshot, crawl it, run every pipeline, then serve")
    p.add_argument("--once", action="store_true", help="exit after crawling instead of serving")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="port of the feeds/API/front-page app")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crawler.snapshot import SnapshotServer

    data = Path(args.data)
    sites = list(load_sources())
    with SnapshotServer(sites=sites) as snap:
        for site, url in snap.base_urls.items():
            print(f"snapshot  {site:<10} {url}")
        stats = crawl_sites(sites, data, base_urls=snap.base_urls)
        for site, s in stats.items():
            print(f"crawled   {site:<10} {s.get('item_scraped_count', 0)} articles")
        print(f"items     {data / 'items.jsonl'}")
        if args.once:
            return 0
        print("snapshot keeps serving; Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0

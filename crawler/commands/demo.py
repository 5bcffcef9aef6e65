"""`akhbar demo [--once]`: the whole chain offline.

Serve the bundled snapshot of the five sites on 127.0.0.1, crawl them all through
every pipeline (validate, dates, topics, dedup, archive), publish the feeds into
``DIR/public/``, then (unless ``--once``) serve feeds, API and front page and print
the URLs to open.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from crawler.commands.crawl import crawl_sites
from crawler.config import load_config, load_sources

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="serve the offline snapshot, crawl it, run every pipeline, publish, then serve")
    p.add_argument("--once", action="store_true", help="exit after publishing instead of serving")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="port of the feeds/API/front-page app (0: any free port)")
    p.add_argument("--limit", type=int, default=50, help="stories per feed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    from crawler.snapshot import SnapshotServer
    from feeds.query import publish
    from feeds.web.server import PortInUse, bind, url_of

    data = args.ctx.data_dir
    sock = None
    if not args.once:
        # The app's port is taken before the snapshot starts or anything is crawled: a busy
        # port is reported at once, not after the whole chain has run.
        try:
            sock = bind(args.host, args.port)
        except PortInUse as exc:
            print(f"akhbar demo: {exc} (another server is running there? choose another --port, or --once)",
                  file=sys.stderr)
            return 1
    try:
        sites = list(load_sources())
        with SnapshotServer(sites=sites) as snap:
            for site, url in snap.base_urls.items():
                print(f"snapshot    {site:<10} {url}")
            # The demo prints its own summary; Scrapy's INFO chatter (stats dumps) only with -v.
            level = os.environ.get("AKHBAR_LOG_LEVEL") or ("DEBUG" if args.verbose else "WARNING")
            stats = crawl_sites(sites, data, base_urls=snap.base_urls, settings={"LOG_LEVEL": level, **args.ctx.scrapy_settings()})
            for site, s in stats.items():
                dropped = sum(v for k, v in s.items() if k.startswith("akhbar/dropped/"))
                print(
                    f"crawled     {site:<10} {s.get('item_scraped_count', 0)} articles"
                    f" ({dropped} dropped, {s.get('dates/unparsed', 0)} dates unparsed)"
                )
            print(f"items       {data / 'items.jsonl'}")
            url = args.ctx.archive_url
            print(f"archive     {url}")
            base = url_of(sock) if sock is not None else f"http://{args.host}:{args.port}"
            report = publish(data, url, limit=args.limit, base_url=base)
            print(f"published   {data / 'public'}: {report.summary()}")
            if sock is None:
                return 0
            from crawler.commands.feeds_cmds import print_urls, serve_until_interrupted
            from feeds.build import DEFAULT_TTL_MINUTES
            from feeds.web.context import WebContext
            from feeds.web.server import WebServer, app_factory

            server = WebServer(app_factory(WebContext(data, url, DEFAULT_TTL_MINUTES, base_url=base,
                                                   config=load_config(validate=False))), sock=sock, factory=True)
            print_urls(server.url)
            serve_until_interrupted(server)
    finally:
        if sock is not None:
            sock.close()
    return 0

"""`akhbar publish` and `akhbar serve`: feeds from the archive, and the HTTP app.

``publish`` writes every feed (all, per topic, per source; RSS, Atom, JSON Feed),
the OPML list and a static front page into ``DIR/public/`` atomically.
``serve`` answers the feed files with conditional GET, the JSON API under
``/api`` and the live Arabic front page with search. See docs/feeds.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8080


def _archive_url(args: argparse.Namespace) -> str:

    return str(args.ctx.archive_url)


def _base_url(args: argparse.Namespace, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> str:
    return args.base_url or os.environ.get("AKHBAR_FEEDS_BASE_URL") or f"http://{host}:{port}"


def register(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--archive", default=None, help="archive URL (default: AKHBAR_ARCHIVE_URL or DIR/archive.sqlite3)")
    common.add_argument(
        "--base-url",
        default=None,
        help="public URL where DIR/public is served, used in feed links (default AKHBAR_FEEDS_BASE_URL or http://HOST:PORT)",
    )
    common.add_argument("--ttl", type=int, default=None, help="minutes readers may cache a feed (RSS ttl, max-age; default 15)")

    p = sub.add_parser("publish", parents=[common], help="write every feed and the OPML list into DIR/public/ atomically")
    p.add_argument("--limit", type=int, default=50, help="stories per feed (default 50)")
    p.set_defaults(func=run_publish)

    s = sub.add_parser("serve", parents=[common], help="serve the feeds, the JSON API and the Arabic front page")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=DEFAULT_PORT)
    s.add_argument("--no-publish", action="store_true", help="serve DIR/public as it is, without publishing first")
    s.add_argument("--limit", type=int, default=50, help="stories per feed when publishing first")
    s.set_defaults(func=run_serve)


def run_publish(args: argparse.Namespace) -> int:
    from feeds.query import publish

    if args.limit < 1:
        raise SystemExit("akhbar: --limit must be at least 1")
    from crawler.commands.existing import existing_archive

    report = publish(args.ctx.data_dir, existing_archive(_archive_url(args), "publish"), limit=args.limit, base_url=_base_url(args), ttl_minutes=args.ttl)
    print(report.summary())
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from feeds.build import DEFAULT_TTL_MINUTES
    from feeds.query import publish
    from feeds.web.app import build_app
    from feeds.web.server import WebServer

    from crawler.commands.existing import existing_archive

    url = existing_archive(_archive_url(args), "serve")
    # Bind first: with --port 0 the feeds' links need the port actually chosen.
    server = WebServer(build_app(args.ctx.data_dir, url, ttl_minutes=args.ttl or DEFAULT_TTL_MINUTES), args.host, args.port)
    if not args.no_publish:
        report = publish(args.ctx.data_dir, url, limit=args.limit, base_url=args.base_url
                         or os.environ.get("AKHBAR_FEEDS_BASE_URL") or server.url, ttl_minutes=args.ttl)
        print(report.summary())
    print_urls(server.url)
    serve_until_interrupted(server)
    return 0


def serve_until_interrupted(server: Any) -> None:
    """Serve until Ctrl-C, then release the socket and the archive connections."""
    print("serving; Ctrl-C to stop")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def print_urls(base: str) -> None:
    print(f"front page  {base}/")
    print(f"feeds       {base}/feeds/all.rss  {base}/feeds/all.atom  {base}/feeds/all.json")
    print(f"OPML        {base}/feeds.opml")
    print(f"API         {base}/api  (OpenAPI: {base}/api/openapi.json)")
    print(f"status      {base}/status  (per source: health, last and next run)")

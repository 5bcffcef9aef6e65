"""`akhbar publish` and `akhbar serve`: feeds from the archive, and the HTTP app.

``publish`` writes every feed (all, per topic, per source; RSS, Atom, JSON Feed),
the OPML list and a static front page into ``DIR/public/`` atomically.
``serve`` runs the web app (feeds/web: feed files with conditional GET, the JSON API under
``/api``, the Arabic pages) under uvicorn, hardened by feeds/web/protocol.py. See
docs/feeds.md and docs/deployment.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
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

    s = sub.add_parser("serve", parents=[common], help="serve the feeds, the JSON API and the Arabic front page (uvicorn)",
                       description="Serve feeds, API and pages under uvicorn. Options not given here come from the "
                                   "[serve] table of the sources file, then the defaults (docs/deployment.md).")
    s.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help=f"port to listen on (default {DEFAULT_PORT}; 0: any free port)")
    s.add_argument("--workers", type=int, default=None, help="worker processes sharing the port (default 1)")
    s.add_argument("--proxy-headers", action="store_true", default=None,
                   help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips (behind a reverse proxy)")
    s.add_argument("--forwarded-allow-ips", default=None,
                   help="comma-separated proxy addresses (or *) whose forwarded headers are trusted (default 127.0.0.1,::1)")
    s.add_argument("--root-path", default=None, help="URL prefix the reverse proxy serves the app under, e.g. /news")
    s.add_argument("--access-log", action="store_true", default=None, help="log every request (uvicorn's access log)")
    s.add_argument("--graceful-timeout", type=float, default=None,
                   help="seconds in-flight requests get to finish on SIGINT/SIGTERM (default 10)")
    s.add_argument("--no-publish", action="store_true", help="serve DIR/public as it is, without publishing first")
    s.add_argument("--limit", type=int, default=50, help="stories per feed when publishing first")
    s.set_defaults(func=run_serve)


# --- [serve] -------------------------------------------------------------------------
# Keys of the [serve] table besides the limits (feeds.web.limits.ServeLimits), with types.
SERVE_KEY_TYPES: dict[str, type] = {
    "host": str, "port": int, "workers": int, "proxy_headers": bool, "forwarded_allow_ips": str,
    "root_path": str, "access_log": bool,
}


def serve_settings(cfg: Any) -> tuple[dict[str, Any], Any]:
    """The [serve] table checked: (options other than limits, `ServeLimits`); ConfigError
    naming the file, the key and the reason."""
    from crawler.config import ConfigError
    from feeds.web.limits import LIMIT_KEYS, ServeLimits

    table = cfg.table("serve")
    where = f"{cfg.path}: [serve]"
    unknown = sorted(set(table) - set(SERVE_KEY_TYPES) - set(LIMIT_KEYS))
    if unknown:
        raise ConfigError(f"{where} unknown key(s) {', '.join(unknown)}; known: {', '.join([*SERVE_KEY_TYPES, *LIMIT_KEYS])}")
    options: dict[str, Any] = {}
    for key, wanted in SERVE_KEY_TYPES.items():
        if key not in table:
            continue
        value = table[key]
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise ConfigError(f"{where} {key}: expected {'true or false' if wanted is bool else wanted.__name__}, got {value!r}")
        options[key] = value
    for key in ("port", "workers"):
        if key in options and not (0 if key == "port" else 1) <= options[key] <= (65535 if key == "port" else 256):
            raise ConfigError(f"{where} {key}: out of range: {options[key]!r}")
    try:
        limits = ServeLimits.from_table(table, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return options, limits


def validate(cfg: Any) -> None:
    """`crawler.config.TABLE_VALIDATORS` hook for ``[serve]``."""
    serve_settings(cfg)


def run_publish(args: argparse.Namespace) -> int:
    from feeds.query import publish

    if args.limit < 1:
        raise SystemExit("akhbar: --limit must be at least 1")
    from crawler.commands.existing import existing_archive

    report = publish(args.ctx.data_dir, existing_archive(_archive_url(args), "publish"), limit=args.limit, base_url=_base_url(args), ttl_minutes=args.ttl)
    print(report.summary())
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from crawler.commands.existing import existing_archive
    from crawler.config import load_config
    from feeds.build import DEFAULT_TTL_MINUTES
    from feeds.query import publish
    from feeds.web.context import WebContext
    from feeds.web.server import (
        PortInUse,
        WebServer,
        app_factory,
        bind,
        run_workers,
        url_of,
    )

    cfg = load_config(validate=False)
    table, limits = serve_settings(cfg)
    host = args.host or table.get("host", "127.0.0.1")
    port = args.port if args.port is not None else table.get("port", DEFAULT_PORT)
    workers = args.workers if args.workers is not None else table.get("workers", 1)
    if workers < 1:
        raise SystemExit("akhbar serve: --workers must be at least 1")
    limits = limits.replace(graceful_timeout=args.graceful_timeout)
    options = {
        "proxy_headers": bool(args.proxy_headers or table.get("proxy_headers", False)),
        "forwarded_allow_ips": args.forwarded_allow_ips or table.get("forwarded_allow_ips"),
        "root_path": (args.root_path if args.root_path is not None else table.get("root_path", "")).rstrip("/"),
        "access_log": bool(args.access_log or table.get("access_log", False)),
    }
    url = existing_archive(_archive_url(args), "serve")
    # Bind before anything else: a busy port is reported before publishing, and with
    # --port 0 the feeds' links need the port actually chosen.
    try:
        sock = bind(host, port, limits.backlog)
    except PortInUse as exc:
        print(f"akhbar serve: {exc} (another server is running there? choose another --port)", file=sys.stderr)
        return 1
    try:
        bound = url_of(sock)
        explicit_base = args.base_url or os.environ.get("AKHBAR_FEEDS_BASE_URL")
        if not args.no_publish:
            report = publish(args.ctx.data_dir, url, limit=args.limit, base_url=explicit_base or bound + options["root_path"],
                             ttl_minutes=args.ttl)
            print(report.summary())
        # the base the feeds were published for: the hub's topics and the feeds' self links
        ctx = WebContext(args.ctx.data_dir, url, args.ttl or DEFAULT_TTL_MINUTES,
                         base_url=explicit_base or bound + options["root_path"], config=cfg)
        print_urls(bound + options["root_path"])
        print(f"serving with {workers} worker{'s' if workers > 1 else ''}; Ctrl-C (SIGINT) or SIGTERM to stop")
        sys.stdout.flush()
        if workers > 1:
            run_workers(app_factory(ctx), sock, workers, limits=limits, **options)
        else:
            server = WebServer(app_factory(ctx), sock=sock, factory=True, limits=limits, **options)
            server.serve_forever()
    finally:
        sock.close()
    print("stopped")
    return 0


def serve_until_interrupted(server: Any) -> None:
    """Serve on this thread until SIGINT or SIGTERM (the server's own handlers: in-flight
    requests finish), then release the socket."""
    print("serving; Ctrl-C (SIGINT) or SIGTERM to stop")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print("stopped")


def print_urls(base: str) -> None:
    print(f"front page  {base}/")
    print(f"feeds       {base}/feeds/all.rss  {base}/feeds/all.atom  {base}/feeds/all.json")
    print(f"OPML        {base}/feeds.opml")
    print(f"API         {base}/api  (OpenAPI: {base}/api/openapi.json)")
    print(f"status      {base}/status  (per source: health, last and next run)")

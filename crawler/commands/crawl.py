"""`akhbar crawl [SITE ...] [--snapshot]`: run site spiders in one Scrapy process."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from crawler.config import ConfigError, load_config, load_sources

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("crawl", help="crawl sites (all configured sites when none is named)")
    p.add_argument("sites", nargs="*", help="source ids from the sources file")
    p.add_argument("--snapshot", action="store_true", help="crawl the bundled offline snapshot on 127.0.0.1")
    p.add_argument("--permalinks", default=None, metavar="STRUCTURE",
                   help="with --snapshot: serve its articles under other URLs (see akhbar snapshot serve --help)")
    p.add_argument("-O", "--output", default=None, help="also write items to this JSON Lines file")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE", help="Scrapy setting")
    p.add_argument("--base-url", default=None, help="crawl this address instead of the source's base_url (one site)")
    p.add_argument("--run-id", default=None, help="id of the run's crawl_runs row (one site; `akhbar run` sets it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        sources = load_config().sources
    except ConfigError as exc:  # file, key and reason in one line, before anything starts
        print(f"akhbar: {exc}", file=sys.stderr)
        return 2
    sites = args.sites or list(sources)
    unknown = [s for s in sites if s not in sources]
    if unknown:
        raise SystemExit(f"akhbar: unknown site(s) {', '.join(unknown)}; known: {', '.join(sources)}")
    if (args.base_url or args.run_id) and len(sites) != 1:
        raise SystemExit("akhbar: --base-url and --run-id need exactly one site")
    run_ids = {sites[0]: args.run_id} if args.run_id else None
    # the invocation's archive (--archive, environment, [cluster]); -s AKHBAR_ARCHIVE_URL=... wins
    overrides = {**args.ctx.scrapy_settings(), **dict(kv.split("=", 1) for kv in args.set)}
    if str(overrides.get("ARCHIVE_ENABLED", "true")).lower() not in ("0", "false", "no", "off"):
        preflight_archive(overrides.get("AKHBAR_ARCHIVE_URL"))
    preflight_redis(overrides)
    if args.snapshot:
        from crawler.snapshot import SnapshotServer

        try:
            snapshot = SnapshotServer(sites=sites, permalinks=args.permalinks)
        except ValueError as exc:
            raise SystemExit(f"akhbar crawl: {exc}") from None
        with snapshot as snap:
            stats = crawl_sites(sites, args.ctx.data_dir, base_urls=snap.base_urls, output=args.output, settings=overrides,
                                run_ids=run_ids)
    else:
        base_urls = {sites[0]: args.base_url} if args.base_url else None
        stats = crawl_sites(sites, args.ctx.data_dir, base_urls=base_urls, output=args.output, settings=overrides,
                            run_ids=run_ids)
    return 0 if stats else 1


def preflight_archive(url: str | None) -> None:
    """Open (and migrate) the archive before Scrapy starts: a pipeline that cannot open
    it inside the crawl only logs a traceback, and the crawl would run and keep nothing."""
    from scrapy.utils.project import get_project_settings

    from crawler.archive import archive_url, open_archive

    target = url or archive_url(get_project_settings())
    try:
        open_archive(target).close()
    except Exception as exc:
        raise SystemExit(f"akhbar: cannot open the archive {target.split('?')[0]}: {exc}") from None


def preflight_redis(overrides: dict[str, Any]) -> None:
    """With a Redis frontier configured, reach Redis before Scrapy starts: when the cluster
    scheduler cannot open inside the crawl, Twisted logs an unhandled error, nothing is
    crawled or recorded, and the process still exits 0."""
    import redis
    from scrapy.utils.project import get_project_settings

    from crawler.ops.cluster import _redacted, redis_url

    settings = get_project_settings()
    settings.setdict(overrides, priority="cmdline")
    url = redis_url(settings) if settings.getbool("CLUSTER_ENABLED", True) else None
    if not url:
        return
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=10)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise SystemExit(f"akhbar: cannot reach the Redis frontier at {_redacted(url)}: {exc}") from None


def crawl_sites(
    sites: list[str],
    data_dir: Path,
    *,
    base_urls: dict[str, str] | None = None,
    output: str | None = None,
    settings: dict[str, Any] | None = None,
    run_ids: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Crawl `sites` in this process (the reactor runs once) and return stats per site;
    `run_ids` names a site's ``crawl_runs`` row (the scheduler reads it back)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    sources = load_sources()
    data_dir.mkdir(parents=True, exist_ok=True)
    project = get_project_settings()
    project.set("AKHBAR_DATA", str(data_dir), priority="cmdline")
    # One file per spider (URI params come from spider attributes): several crawlers
    # in one process must not write the same file; they are merged after the run.
    per_site = data_dir / "items"
    feeds = {str(per_site / "%(source_id)s.jsonl"): {"format": "jsonlines", "encoding": "utf8", "overwrite": True}}
    project.set("FEEDS", feeds, priority="cmdline")
    for key, value in (settings or {}).items():
        project.set(key, value, priority="cmdline")
    # Scrapy installs its own root handler filtered at LOG_LEVEL; the CLI's basic handler
    # would otherwise let every DEBUG line (each scraped item) through as well.
    for handler in list(logging.root.handlers):
        logging.root.removeHandler(handler)
    process = CrawlerProcess(project)
    crawlers = {}
    for site in sites:
        source = sources[site]
        kwargs: dict[str, Any] = {"source": site}
        if base_urls and site in base_urls:
            kwargs["base_url"] = base_urls[site]
        crawler = process.create_crawler(source.spider)
        if run_ids and site in run_ids:
            # read by crawler.archive.runs.run_id_for; Scrapy's Crawler has no field for it
            crawler.akhbar_run_id = run_ids[site]  # type: ignore[attr-defined]
        crawlers[site] = crawler
        process.crawl(crawler, **kwargs)
    _treat_repeated_sigterm_as_one(process)
    process.start()
    # Scrapy leaves its shutdown handlers installed after the reactor stops; give Ctrl-C
    # back to Python so a command that goes on serving (demo) can still be interrupted.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    merge_items([per_site / f"{site}.jsonl" for site in sites], data_dir / "items.jsonl",
                output=Path(output) if output else None)
    return {site: dict(c.stats.get_stats()) if c.stats else {} for site, c in crawlers.items()}


def _treat_repeated_sigterm_as_one(process: Any) -> None:
    """A service manager signalling the whole control group (systemd's default KillMode)
    and the scheduler forwarding its own SIGTERM give a crawl two SIGTERMs; Scrapy takes
    a second signal as "stop now" and the crawl would end without its checkpoint. Only
    SIGTERM repeats are ignored: a second Ctrl-C still forces the stop, and SIGKILL is
    what ends a crawl whose graceful close hangs."""
    graceful = getattr(process, "_signal_shutdown", None)  # Scrapy's first-signal handler
    if graceful is None:
        return

    def shutdown(signum: int, frame: Any) -> None:
        graceful(signum, frame)  # reinstalls Scrapy's "kill" handler for the next signal
        if signum == signal.SIGTERM:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    process._signal_shutdown = shutdown


def merge_items(parts: list[Path], target: Path, *, output: Path | None = None) -> int:
    """Append this run's per-site JSON Lines files to `target` (every crawl's items, oldest
    first: a crawl that finds nothing, or fails, never shortens it) and, when given, write
    them alone to `output`. Crawls finishing side by side (`akhbar run`) append whole runs
    one at a time under an exclusive lock. Returns the lines this run added."""
    n = 0
    out_tmp = output.with_name(f"{output.name}.{os.getpid()}.tmp") if output else None
    with target.open("ab") as out, (out_tmp.open("wb") if out_tmp else contextlib.nullcontext()) as copy:
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
        try:
            for part in parts:
                if part.exists():
                    with part.open("rb") as f:
                        for line in f:
                            if not line.endswith(b"\n"):
                                line += b"\n"
                            out.write(line)
                            if copy is not None:
                                copy.write(line)
                            n += 1
            out.flush()
            os.fsync(out.fileno())
        finally:
            fcntl.flock(out.fileno(), fcntl.LOCK_UN)
    if out_tmp is not None and output is not None:
        out_tmp.replace(output)
    logger.info("%d items added to %s", n, target)
    return n

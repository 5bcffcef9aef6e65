"""`akhbar run [SOURCE ...] [--once] [--max-runs N] [--snapshot]`: the scheduler.

Crawls each source on its schedule (crawler/ops/schedule.py), one crawl process per
source, at most ``[schedule] max_parallel`` at once, publishes the feeds after each crawl
and records every run in the archive; SIGTERM or Ctrl-C stops it cleanly (running crawls
checkpoint and resume on the next start). See docs/scheduler.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from crawler.config import ConfigError, load_config


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run the scheduler: crawl each source on its schedule, publish, record every run")
    p.add_argument("only", nargs="*", metavar="SOURCE", help="only these sources (default: every source in the sources file)")
    p.add_argument("--once", action="store_true", help="crawl every source due now once, publish, exit")
    p.add_argument("--max-runs", type=int, default=None, metavar="N", help="exit after N crawls have finished")
    p.add_argument("--snapshot", action="store_true",
                   help="serve the bundled offline snapshot and crawl it instead of the live sites")
    p.add_argument("--snapshot-port-base", type=int, default=0, metavar="PORT",
                   help="with --snapshot: serve the sites on consecutive ports from PORT (default: any free ports; "
                        "a fixed base lets an interrupted crawl resume against the same addresses)")
    p.add_argument("--max-parallel", type=int, default=None, metavar="N", help="overrides [schedule] max_parallel")
    p.add_argument("--no-publish", action="store_true", help="do not publish the feeds after each crawl")
    p.add_argument("-s", "--set", action="append", default=[], metavar="[SOURCE:]NAME=VALUE",
                   help="Scrapy setting for every crawl (or one source's, with SOURCE:)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from crawler.ops.schedule import scheduler_options
    from crawler.ops.scheduler import Scheduler

    try:
        cfg = load_config()
        options = scheduler_options(cfg)
    except ConfigError as exc:  # file, key and reason in one line, before anything starts
        print(f"akhbar: {exc}", file=sys.stderr)
        return 2
    unknown = [s for s in args.only if s not in cfg.sources]
    if unknown:
        print(f"akhbar: unknown source(s) {', '.join(unknown)}; known: {', '.join(cfg.sources)}", file=sys.stderr)
        return 2
    if args.max_runs is not None and args.max_runs < 1:
        print("akhbar: --max-runs must be at least 1", file=sys.stderr)
        return 2
    if args.max_parallel is not None:
        if args.max_parallel < 1:
            print("akhbar: --max-parallel must be at least 1", file=sys.stderr)
            return 2
        options = replace(options, max_parallel=args.max_parallel)
    sources = args.only or list(cfg.sources)
    common, per_source = split_settings(args.set, sources)
    from crawler.commands.crawl import preflight_redis

    preflight_redis(dict(kv.split("=", 1) for kv in common))  # a cluster's frontier down: say so now, once
    data = args.ctx.data_dir
    data.mkdir(parents=True, exist_ok=True)

    def scheduler(base_urls: dict[str, str] | None) -> Scheduler:
        return Scheduler(cfg, data, args.ctx.archive_url, sources=sources, base_urls=base_urls, once=args.once,
                         max_runs=args.max_runs, crawl_settings=common, per_source_settings=per_source,
                         options=options, publish=False if args.no_publish else None)

    if not args.snapshot:
        return scheduler(None).run()
    from crawler.snapshot import SnapshotServer
    from crawler.snapshot.sites import SITES

    served = [s for s in sources if s in SITES]
    ports = {s: args.snapshot_port_base + i for i, s in enumerate(served)} if args.snapshot_port_base else None
    with SnapshotServer(sites=served, ports=ports) as snap:
        for site, url in snap.base_urls.items():
            print(f"snapshot {site:<10} {url}", flush=True)
        return scheduler(snap.base_urls).run()


def split_settings(values: list[str], sources: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """``NAME=VALUE`` for every crawl, ``SOURCE:NAME=VALUE`` for one source's."""
    common: list[str] = []
    per: dict[str, list[str]] = {}
    for kv in values:
        if "=" not in kv:
            raise SystemExit(f"akhbar: -s expects NAME=VALUE, got {kv!r}")
        name = kv.split("=", 1)[0]
        if ":" in name:
            source, _, rest = kv.partition(":")
            if source not in sources:
                raise SystemExit(f"akhbar: -s {kv!r}: unknown source {source!r}")
            per.setdefault(source, []).append(rest)
        else:
            common.append(kv)
    return common, per

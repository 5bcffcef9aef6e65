"""`akhbar status [--format table|json]`: per source the last run, its health, the next run."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, TextIO

HEALTH_MARKS = {"ok": "ok", "degraded": "DEGRADED", "failing": "FAILING", "unknown": "unknown"}


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="per source: last run, health (ok/degraded/failing), next run")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--archive", help="archive URL (default: AKHBAR_ARCHIVE_URL or <data>/archive.sqlite3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crawler.archive import open_archive
    from crawler.config import load_config
    from crawler.ops.health import source_status

    try:  # registers the scheduler's lease table before the archive migrates
        import crawler.ops.leases  # noqa: F401
    except ImportError:
        pass
    cfg = load_config()
    from crawler.commands.existing import existing_archive
    from crawler.ops.reaper import reap_dead_runs

    with open_archive(existing_archive(args.ctx.archive_url, "status")) as archive:
        reap_dead_runs(archive)
        status = source_status(archive, cfg)
    if args.format == "json":
        json.dump(status.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        write_table(status.to_dict(), sys.stdout)
    return 0


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


def write_table(status: dict[str, Any], out: TextIO) -> None:
    header = ("source", "health", "last run (UTC)", "status", "new", "upd", "pages", "next run (UTC)", "30 days", "failed monitors")
    rows = []
    for s in status["sources"]:
        last = s["last_run"] or {}
        nxt = _when(s["next_run"])
        if s["running"]:
            nxt = "running now"
        rows.append((
            s["id"], HEALTH_MARKS.get(s["health"], s["health"]), _when(last.get("started_at")), last.get("status") or "-",
            str(last.get("articles_new") if last.get("articles_new") is not None else "-"),
            str(last.get("articles_updated") if last.get("articles_updated") is not None else "-"),
            str(last.get("pages") if last.get("pages") is not None else "-"),
            nxt, str(s["articles_30d"]),
            ", ".join(m["name"] for m in last.get("failed_monitors") or []) or "-",
        ))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        out.write("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() + "\n")

"""`akhbar failed`: the URLs that failed for good, why, and what to do with them.

Lists the archive's ``failed_urls`` (crawler/ops/failed_urls.py): URL, source, reason,
last HTTP status, attempts, last failure. ``--reset`` sets attempts back to zero so the
next run of each source retries URLs it had given up on (``FAILED_URLS_MAX_ATTEMPTS``);
``--forget URL`` drops rows (a page the site removed for good).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("failed", help="URLs that failed for good: reason, status, attempts (retried by the next run)")
    p.add_argument("--archive", default=None, help="archive URL (default: AKHBAR_ARCHIVE_URL or DIR/archive.sqlite3)")
    p.add_argument("--source", default=None, help="only this source")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--reset", action="store_true", help="attempts back to 0: the next run retries every listed URL")
    p.add_argument("--forget", nargs="+", metavar="URL", default=None, help="delete these URLs' rows")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crawler.archive import open_archive
    from crawler.commands.existing import existing_archive
    from crawler.exporters import to_jsonable
    from crawler.ops.failed_urls import FailedUrls

    archive = open_archive(existing_archive(args.ctx.archive_url, "failed"))
    try:
        failed = FailedUrls(archive)
        if args.forget:
            print(f"forgot {failed.clear(args.forget)} URL(s)")
            return 0
        if args.reset:
            where, params = ("WHERE source = ?", (args.source,)) if args.source else ("", ())
            n = archive.execute(f"UPDATE failed_urls SET attempts = 0 {where}", params)
            print(f"{n} URL(s) will be retried by the next run of their source")
            return 0
        rows = failed.rows(args.source)
    finally:
        archive.close()
    if args.format == "json":
        for row in rows:
            print(json.dumps(to_jsonable(row), ensure_ascii=False))
        return 0
    if not rows:
        print("no failed URLs")
        return 0
    print(f"{'source':<10} {'status':>6} {'tries':>5}  {'last failed (UTC)':<19}  reason / URL")
    for r in rows:
        last = str(r["last_failed_at"])[:19].replace("T", " ")
        print(f"{r['source'] or '-':<10} {r['status'] or '-':>6} {r['attempts']:>5}  {last:<19}  {r['reason']}\n{'':>46}{r['url']}")
    return 0

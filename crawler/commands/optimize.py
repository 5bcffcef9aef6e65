"""`akhbar optimize`: tidy the archive's search index after a bulk load.

A backfill leaves the full-text index in many small pieces (SQLite FTS5 segments, the
PostgreSQL GIN pending list) that every search then reads, and planner statistics from
when the archive was small; the PostgreSQL search plans also keep an index over the
newest articles that only this step makes or renews. `akhbar import` runs it by itself
after a large import (``--optimize-after``); a scheduler or cron can run it nightly.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("optimize", help="merge the search index and refresh planner statistics (after a bulk load)")
    p.add_argument("--archive", default=None, help="archive URL (default: AKHBAR_ARCHIVE_URL or DIR/archive.sqlite3)")
    p.set_defaults(func=run)


def optimize_archive(url: str) -> float:
    """Optimise the archive at `url`; the seconds it took."""
    from crawler.archive import open_archive

    start = time.monotonic()
    archive = open_archive(url)
    try:
        archive.optimize()
    finally:
        archive.close()
    return time.monotonic() - start


def run(args: argparse.Namespace) -> int:
    from crawler.commands.existing import existing_archive

    url = existing_archive(args.ctx.archive_url, "optimize")
    print(f"akhbar optimize: search index merged and statistics refreshed in {optimize_archive(url):.1f} s")
    return 0

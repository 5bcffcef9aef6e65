"""`akhbar dedup`: stories in the archive.

- ``akhbar dedup``: give every archived article without a story its story (what a
  crawl with dedup off left behind).
- ``akhbar dedup --rebuild``: forget every story and recompute them for the whole
  archive in one streaming pass (after a threshold change, say).
- ``akhbar dedup --story ID``: the story's reports (canonical first, then "also
  reported by") and its related stories, as JSON.
- ``akhbar dedup --export FILE``: one JSON line per story (canonical report, also
  reported by, related stories), streamed.
- ``--threshold J``: the whole-text Jaccard above which two reports are one story
  (default 0.75); with ``--rebuild`` it is recorded and used by later crawls.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from typing import Any

from crawler.archive import open_archive

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("dedup", help="group near-identical reports into stories (rebuild, inspect, export)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--rebuild", action="store_true", help="recompute every story of the archive (one streaming pass)")
    g.add_argument("--story", metavar="ID", help="print one story's reports and related stories as JSON")
    g.add_argument("--export", metavar="FILE", help="write every story as JSON Lines (- for standard output)")
    p.add_argument("--threshold", type=float, default=None,
                   help="whole-text Jaccard for 'same story' (default 0.75; with --rebuild)")
    p.add_argument("--archive", help="archive URL (default: AKHBAR_ARCHIVE_URL or <data>/archive.sqlite3)")
    p.set_defaults(func=run)


def _params(args: argparse.Namespace, archive: Any) -> Any:
    from crawler.dedup.stories import stored_params

    # keep the thresholds the archive was built with (a rebuild takes this version's
    # index parameters: it recomputes the index anyway)
    params = stored_params(archive, index=not args.rebuild)
    if args.threshold is not None:
        from crawler.dedup.fingerprint import DedupParams

        if not 0.0 < args.threshold <= 1.0:
            raise ValueError("--threshold must be in (0, 1]")
        params = replace(params or DedupParams(), strong_jaccard=args.threshold)
    return params


def run(args: argparse.Namespace) -> int:
    from crawler.commands.existing import existing_archive
    from crawler.dedup import stories

    url = existing_archive(args.ctx.archive_url, "dedup")
    with open_archive(url) as archive:
        stories.ensure_schema(archive)
        if args.story:
            members = stories.story_members(archive, args.story)
            if not members:
                print(f"akhbar dedup: no story {args.story}", file=sys.stderr)
                return 1
            out = {"story_id": args.story, "canonical": members[0], "also_reported_by": members[1:],
                   "related": stories.related_stories(archive, args.story)}
            print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
            return 0
        if args.export:
            return _export(archive, args.export)
        params = _params(args, archive)
        t0 = time.perf_counter()
        if args.rebuild:
            def progress(n: int, secs: float) -> None:
                if n % 10_000 < stories.BATCH:
                    logger.info("dedup rebuild: %d articles, %.0f/s", n, n / max(secs, 1e-9))

            n = stories.rebuild(archive, params, progress=progress)
            what = "rebuilt stories for"
        else:
            if args.threshold is not None:
                raise ValueError("--threshold only applies with --rebuild (it changes every story)")
            n = stories.ArchiveDedup(archive, params).index_missing(workers=None)
            what = "assigned stories to"
        secs = time.perf_counter() - t0
        count = archive.fetchval("SELECT COUNT(*) FROM stories")
        print(f"{what} {n} articles in {secs:.1f}s ({n / max(secs, 1e-9):.0f}/s); {count} stories", file=sys.stderr)
    return 0


def _export(archive: Any, target: str) -> int:
    from crawler.dedup import stories
    from crawler.exporters import to_jsonable

    out = sys.stdout if target == "-" else open(target, "w", encoding="utf-8")
    n = 0
    try:
        last = ""
        while True:
            rows = archive.fetch("SELECT story_id FROM stories WHERE story_id > ? ORDER BY story_id LIMIT 500", (last,))
            if not rows:
                break
            for r in rows:
                members = stories.story_members(archive, r["story_id"])
                if not members:
                    continue
                rec = {"story_id": r["story_id"], "canonical": members[0], "also_reported_by": members[1:],
                       "related": stories.related_stories(archive, r["story_id"])}
                out.write(json.dumps(to_jsonable(rec), ensure_ascii=False) + "\n")
                n += 1
            last = rows[-1]["story_id"]
    finally:
        if out is not sys.stdout:
            out.close()
    if target != "-":
        print(f"exported {n} stories to {target}", file=sys.stderr)
    return 0

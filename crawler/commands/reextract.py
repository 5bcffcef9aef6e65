"""`akhbar reextract [--source S] [--since DATE]`: extraction again over the kept responses.

Every archived article keeps where its raw response is (``warc_record``: the run's WARC
file under the data directory, an offset, a record id; crawler/warc.py). This command
reads each of those responses back, runs the source's page object over it again, with
the discovery hints the record kept, and sends the new article through the same item
pipelines as a crawl (validate, dates, topics, archive, dedup), in one Scrapy run that
fetches nothing. So an extractor fix (a page object, the generic layer, noise removal)
reaches the archive without a re-crawl:

- ids stay: the article keeps its URL, canonical URL and site id (what the archive keys
  it on), its fetch time (relative dates resolve against it) and its WARC reference;
- a changed title or body leaves the previous text in ``article_versions`` (the
  archive's upsert), dates and topics are derived again, and dedup re-assigns stories;
- a field the new extraction leaves empty keeps its archived value (the archive's merge);
- the feeds are published after (``--no-publish`` to skip).

An article whose WARC file is missing or truncated, or whose record is not the one
named, is reported with its id and the reason and the others go on. Counts: re-read,
changed, unchanged, missing WARC record, failed (extraction errors, items the pipelines
dropped, archive errors); exit 1 when any failed. See docs/archive.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)

STAT = "reextract/"
"""Prefix of the run's own stats (kept in step with `crawler.reextract`)."""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "reextract",
        help="re-run extraction over the responses kept in the WARC files and update the archived articles in place",
    )
    p.add_argument("--source", action="append", default=None, metavar="S",
                   help="only this source's articles (repeat for several; default every source)")
    p.add_argument("--since", default=None, metavar="DATE",
                   help="only articles fetched at or after DATE (YYYY-MM-DD or ISO 8601, UTC)")
    p.add_argument("--archive", default=None, help="archive URL (default: AKHBAR_ARCHIVE_URL or DIR/archive.sqlite3)")
    p.add_argument("--no-publish", action="store_true", help="do not publish the feeds afterwards")
    p.add_argument("--base-url", default=None,
                   help="public URL of DIR/public for the feeds' links (default AKHBAR_FEEDS_BASE_URL or http://127.0.0.1:8080)")
    p.set_defaults(func=run)


@dataclass
class ReextractReport:
    reread: int = 0
    changed: int = 0
    unchanged: int = 0
    missing: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    """One line per article that was not re-extracted: ``article <id> <url>: <reason>``."""

    def summary(self) -> str:
        return (f"re-read {self.reread}, changed {self.changed}, unchanged {self.unchanged}, "
                f"missing WARC record {self.missing}, failed {self.failed}")

    @classmethod
    def from_stats(cls, stats: dict[str, Any]) -> ReextractReport:
        failed = (int(stats.get(f"{STAT}extract_error", 0)) + int(stats.get("item_dropped_count", 0))
                  + int(stats.get("archive/errors", 0)) + int(stats.get("dedup/errors", 0))
                  # a new row means the article's identity was not kept: never expected
                  + int(stats.get("archive/inserted", 0)))
        return cls(
            reread=int(stats.get(f"{STAT}reread", 0)),
            changed=int(stats.get("archive/updated", 0)),
            unchanged=int(stats.get("archive/unchanged", 0)),
            missing=int(stats.get(f"{STAT}missing_warc", 0)),
            failed=failed,
            problems=list(stats.get(f"{STAT}problems") or []),
        )


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    from crawler.archive.search import QueryError, parse_date_bound

    try:
        return parse_date_bound(value)
    except QueryError as exc:
        raise SystemExit(f"akhbar reextract: --since: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from crawler.commands.crawl import preflight_archive
    from crawler.config import load_sources

    since = _since(args.since)
    known = load_sources()
    for s in args.source or []:
        if s not in known:
            print(f"akhbar reextract: unknown source {s!r}; known: {', '.join(known)}", file=sys.stderr)
            return 2
    url = args.ctx.archive_url
    preflight_archive(url)
    from crawler.reextract import reextract

    stats = reextract(args.ctx.data_dir, url, sources=args.source, since=since)
    report = ReextractReport.from_stats(stats)
    for line in report.problems:
        print(f"akhbar reextract: {line}", file=sys.stderr)
    print(report.summary())
    reason = stats.get("finish_reason")
    if reason != "finished":
        print(f"akhbar reextract: the run did not finish (reason: {reason or 'it did not start'}); see the log above",
              file=sys.stderr)
        return 1
    if not args.no_publish:
        from feeds.query import publish

        base = args.base_url or os.environ.get("AKHBAR_FEEDS_BASE_URL") or "http://127.0.0.1:8080"
        print(publish(args.ctx.data_dir, url, base_url=base).summary())
    return 1 if report.failed else 0

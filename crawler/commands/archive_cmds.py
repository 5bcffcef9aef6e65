"""Archivists' commands: `akhbar search`, `akhbar export`, `akhbar import`.

- ``search QUERY [--source --topic --story --since --until --sort --limit --offset --format]``
- ``export --format jsonl|csv [--output FILE]``: every article with every field, streamed
  (constant memory), to standard output unless ``--output`` is given.
- ``import FILE.jsonl[.gz]``: JSON Lines records with `Article` fields go through the same
  item pipelines as a crawl (ITEM_PIPELINES, in order), without fetching anything.

Every command takes ``--archive URL`` (default: ``AKHBAR_ARCHIVE_URL`` or the SQLite file
under ``--data``).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import IO, Any, Iterator

from crawler.archive import QueryError, archive_url, open_archive
from crawler.archive.records import META_COLUMNS
from crawler.exporters import to_jsonable
from crawler.items import ARTICLE_FIELDS

logger = logging.getLogger(__name__)

EXPORT_COLUMNS: tuple[str, ...] = ("id", *ARTICLE_FIELDS, *META_COLUMNS)
SEARCH_CSV_COLUMNS: tuple[str, ...] = ("id", "date_published", "source", "topic", "story_id", "title", "url", "score")


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="full-text search of the archive (Arabic-aware)")
    p.add_argument("query", nargs="?", default="", help='words and "phrases"; word* for a prefix; empty lists the latest')
    p.add_argument("--source", help="only this source id")
    p.add_argument("--topic", help="only this topic id")
    p.add_argument("--story", help="only this story id")
    p.add_argument("--since", help="from this date (YYYY-MM-DD or ISO datetime, inclusive)")
    p.add_argument("--until", help="up to this date (inclusive)")
    p.add_argument("--sort", choices=("date", "relevance"), default=None, help="default: relevance with a query, else date")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--archive", help="archive URL (default: AKHBAR_ARCHIVE_URL or <data>/archive.sqlite3)")
    p.set_defaults(func=run_search)

    p = sub.add_parser("export", help="write every archived article (every field), streamed")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.add_argument("--archive", help="archive URL")
    p.set_defaults(func=run_export)

    p = sub.add_parser("import", help="run JSON Lines articles through the item pipelines into the archive")
    p.add_argument("file", help="JSON Lines file (.jsonl or .jsonl.gz; - for standard input)")
    p.add_argument("--archive", help="archive URL")
    p.set_defaults(func=run_import)


def _url(args: argparse.Namespace) -> str:
    if getattr(args, "archive", None):
        os.environ["AKHBAR_ARCHIVE_URL"] = args.archive
        return args.archive
    return archive_url()


# --- search ------------------------------------------------------------------------


def run_search(args: argparse.Namespace) -> int:
    sort = args.sort or ("relevance" if args.query.strip() else "date")
    with open_archive(_url(args)) as archive:
        try:
            res = archive.search(
                args.query or None, source=args.source, topic=args.topic, story=args.story,
                since=args.since, until=args.until, sort=sort, limit=args.limit, offset=args.offset,
            )
        except QueryError as exc:
            print(f"akhbar search: {exc}", file=sys.stderr)
            return 2
    out = sys.stdout
    for hint in res.hints:
        print(f"akhbar search: {hint}", file=sys.stderr)
    if args.format == "json":
        for item in res.items:
            item.pop("body_html", None)
        json.dump({"items": to_jsonable(res.items), "has_more": res.has_more, "offset": res.offset,
                   "limit": res.limit, **({"hints": res.hints} if res.hints else {})}, out, ensure_ascii=False, indent=1)
        out.write("\n")
    elif args.format == "csv":
        w = csv.writer(out)
        w.writerow(SEARCH_CSV_COLUMNS)
        for item in res.items:
            w.writerow([_cell(item.get(c)) for c in SEARCH_CSV_COLUMNS])
    else:
        if not res.items:
            print("no articles found", file=sys.stderr)
        for item in res.items:
            date = item["date_published"].strftime("%Y-%m-%d %H:%M") if item.get("date_published") else "-" * 16
            print(f"{item['id']:>8}  {date}  {item['source']:<10} {(item.get('title') or '')[:90]}")
            print(f"{'':>8}  {item['url']}")
        if res.has_more:
            print(f"... more: --offset {res.offset + res.limit}", file=sys.stderr)
    return 0


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(to_jsonable(v), ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    return to_jsonable(v)


# --- export ------------------------------------------------------------------------


def write_export(archive: Any, out: IO[str], fmt: str) -> int:
    n = 0
    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(EXPORT_COLUMNS)
        for item in archive.iter_articles():
            w.writerow([_cell(item.get(c)) for c in EXPORT_COLUMNS])
            n += 1
    else:
        for item in archive.iter_articles():
            out.write(json.dumps({c: to_jsonable(item.get(c)) for c in EXPORT_COLUMNS}, ensure_ascii=False))
            out.write("\n")
            n += 1
    return n


def run_export(args: argparse.Namespace) -> int:
    with open_archive(_url(args)) as archive:
        if args.output:
            target = Path(args.output)
            tmp = target.with_name(target.name + ".tmp")
            with tmp.open("w", encoding="utf-8", newline="") as f:
                n = write_export(archive, f, args.format)
            tmp.replace(target)
            print(f"exported {n} articles to {target}", file=sys.stderr)
        else:
            out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=False)
            try:
                write_export(archive, out, args.format)
                out.flush()
            except BrokenPipeError:
                # `akhbar export | head`: the reader has enough; not an error.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            finally:
                try:
                    out.detach()
                except ValueError:
                    pass
    return 0


# --- import ------------------------------------------------------------------------


def read_records(path: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed record or the exception) for every non-blank line."""
    if path == "-":
        f: IO[str] = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    elif path.endswith(".gz"):
        f = gzip.open(path, "rt", encoding="utf-8")
    else:
        f = open(path, encoding="utf-8")
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, exc


def import_file(path: str, data_dir: Path, *, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Feed the records of `path` through the project's item pipelines in one Scrapy
    crawl without requests; returns the crawl stats (``import/records``,
    ``import/bad_records``, ``archive/inserted``...)."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from crawler.archive.records import article_from_record

    class ImportSpider(scrapy.Spider):
        name = "import"
        custom_settings = {"ROBOTSTXT_OBEY": False}

        async def start(self) -> Any:  # type: ignore[override]
            stats = self.crawler.stats
            for lineno, rec in read_records(path):
                try:
                    if isinstance(rec, Exception):
                        raise ValueError(f"not JSON: {rec}")
                    article = article_from_record(rec)
                except (ValueError, TypeError) as exc:
                    stats.inc_value("import/bad_records")
                    self.logger.error("%s:%d: skipped: %s", path, lineno, exc)
                    continue
                stats.inc_value("import/records")
                yield article

    project = get_project_settings()
    project.set("AKHBAR_DATA", str(data_dir), priority="cmdline")
    project.set("LOG_LEVEL", os.environ.get("AKHBAR_LOG_LEVEL", "WARNING"), priority="cmdline")
    for k, v in (settings or {}).items():
        project.set(k, v, priority="cmdline")
    project.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # Scrapy logs every item at DEBUG: an import of a dataset is not a crawl to watch.
        logging.getLogger("scrapy").setLevel(logging.WARNING)
    process = CrawlerProcess(project)
    crawler = process.create_crawler(ImportSpider)
    process.crawl(crawler)
    process.start()
    return dict(crawler.stats.get_stats()) if crawler.stats else {}


def run_import(args: argparse.Namespace) -> int:
    if args.file != "-" and not Path(args.file).is_file():
        print(f"akhbar import: no such file: {args.file}", file=sys.stderr)
        return 2
    url = _url(args)
    # an import, like a crawl, must not "succeed" with nothing when its pipelines cannot open
    from crawler.commands.crawl import preflight_archive

    preflight_archive(url)
    stats = import_file(args.file, Path(args.data), settings={"AKHBAR_ARCHIVE_URL": url})
    good, bad = stats.get("import/records", 0), stats.get("import/bad_records", 0)
    parts = [f"{k.split('/')[1]} {stats[k]}" for k in ("archive/inserted", "archive/updated", "archive/unchanged", "archive/errors") if stats.get(k)]
    dropped = stats.get("item_dropped_count", 0)
    print(f"imported {good} records ({', '.join(parts) or 'nothing archived'}); {bad} bad records skipped; {dropped} dropped by pipelines",
          file=sys.stderr)
    reason = stats.get("finish_reason")
    if reason != "finished":
        print(f"akhbar import: the import did not finish (reason: {reason or 'it did not start'}); see the log above",
              file=sys.stderr)
        return 1
    if stats.get("archive/errors"):
        print(f"akhbar import: {stats['archive/errors']} records could not be archived; see the log above", file=sys.stderr)
        return 1
    return 1 if bad and not good else 0

"""Archivists' commands: `akhbar search`, `akhbar export`, `akhbar import`.

- ``search QUERY [--source --topic --story --since --until --sort --limit --offset --format]``
- ``export --format jsonl|csv [--output FILE]``: every article with every field, streamed
  (constant memory), to standard output unless ``--output`` is given.
- ``import FILE.jsonl[.gz]``: JSON Lines records with `Article` fields go through the same
  item pipelines as a crawl (ITEM_PIPELINES, in order), without fetching anything: in
  batches, the pipelines before the archive in worker processes and one archive
  transaction per batch (`crawler.import_batch`); ``--one-at-a-time`` runs the records
  through a Scrapy crawl one by one instead (also chosen when ITEM_PIPELINES has a
  pipeline after the archive that the batched import does not know).

Every command takes ``--archive URL`` (default: ``AKHBAR_ARCHIVE_URL`` or the SQLite file
under ``--data``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import IO, Any

from crawler.archive import QueryError, SearchTimeout, open_archive
from crawler.archive.records import META_COLUMNS
from crawler.commands.existing import existing_archive
from crawler.exporters import to_jsonable
from crawler.items import ARTICLE_FIELDS

logger = logging.getLogger(__name__)

EXPORT_COLUMNS: tuple[str, ...] = ("id", *ARTICLE_FIELDS, *META_COLUMNS)
OPTIMIZE_AFTER = 10_000
"""Inserted articles from which an import ends by optimising the search index: a backfill
leaves it in pieces every search reads (crawler/commands/optimize.py); a small import's
few pieces are merged by the index's own upkeep."""
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
    p.add_argument("--errors", metavar="FILE", help="write every rejected line, with its number and reason, to FILE")
    p.add_argument("--max-line-bytes", type=int, default=None,
                   help="refuse lines longer than this without reading them (default 16 MiB)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="records per archive transaction (default 500); a kill loses at most one batch")
    p.add_argument("--workers", type=int, default=None,
                   help="processes running the pipelines before the archive (default: one per core; 0: none)")
    p.add_argument("--one-at-a-time", action="store_true",
                   help="each record through a Scrapy crawl and its own transaction (the slower, older path)")
    p.add_argument("--optimize-after", type=int, default=OPTIMIZE_AFTER, metavar="N",
                   help=f"run `akhbar optimize` at the end when N or more articles were inserted "
                        f"(default {OPTIMIZE_AFTER:,}; 0: never)")
    p.set_defaults(func=run_import)


def _url(args: argparse.Namespace) -> str:
    return str(args.ctx.archive_url)


# --- search ------------------------------------------------------------------------


def run_search(args: argparse.Namespace) -> int:
    sort = args.sort or ("relevance" if args.query.strip() else "date")
    from crawler.arabic import fold_digits
    from crawler.taxonomy import TOPIC_IDS

    # dates as typed on an Arabic keyboard (٢٠٢٦-١٢-٠١) are dates too
    args.since = fold_digits(args.since) if args.since else args.since
    args.until = fold_digits(args.until) if args.until else args.until
    if args.topic and args.topic not in TOPIC_IDS:
        print(f"akhbar search: unknown topic {args.topic!r}; known: {', '.join(sorted(TOPIC_IDS))}", file=sys.stderr)
        return 2
    with open_archive(existing_archive(_url(args), "search")) as archive:
        if args.source:
            known = sorted({s["id"] for s in archive.sources()} | _configured_sources())
            if args.source not in known:
                print(f"akhbar search: unknown source {args.source!r}; known: {', '.join(known)}", file=sys.stderr)
                return 2
        _warn_inverted_range(args.since, args.until)
        try:
            res = archive.search(
                args.query or None, source=args.source, topic=args.topic, story=args.story,
                since=args.since, until=args.until, sort=sort, limit=args.limit, offset=args.offset,
            )
        except QueryError as exc:
            print(f"akhbar search: {exc}", file=sys.stderr)
            return 2
        except SearchTimeout as exc:
            print(f"akhbar search: {exc} (AKHBAR_SEARCH_BUDGET=SECONDS sets the budget, 0 for none)", file=sys.stderr)
            return 1
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


def _configured_sources() -> set[str]:
    from crawler.config import ConfigError, load_sources

    try:
        return set(load_sources())
    except (ConfigError, OSError):
        return set()


def _warn_inverted_range(since: str | None, until: str | None) -> None:
    from crawler.archive.search import parse_date_bound

    try:
        lo, hi = parse_date_bound(since), parse_date_bound(until, end=True)
    except (QueryError, OverflowError, ValueError):
        return  # the search reports a bad date itself
    if lo and hi and lo > hi:
        print(f"akhbar search: warning: --since {since} is after --until {until}: nothing can match",
              file=sys.stderr)


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
    with open_archive(existing_archive(_url(args), "export")) as archive:
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


class ImportLog:
    """Rejected lines of an import, with their reasons (``--errors FILE``): nothing an
    import refuses is lost. One JSON object a line: ``line``, ``offset`` (bytes, in the
    decompressed input), ``reason`` and ``record`` (the line as read) or, for a line that
    was not read whole or not decodable, ``preview_base64`` and ``size``."""

    def __init__(self, path: str | None, source: str) -> None:
        self.source = source
        self.f: IO[str] | None = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115
        self.counts: dict[str, int] = {}

    def reject(self, line: Any, reason: str, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        logger.error("%s:%d: %s", self.source, line.number, reason)
        if self.f is None:
            return
        entry: dict[str, Any] = {"line": line.number, "offset": line.offset, "reason": reason}
        if line.text is not None:
            entry["record"] = line.text
        else:
            import base64

            entry["preview_base64"] = base64.b64encode(line.preview).decode("ascii")
            entry["size"] = line.size
        self.f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.f.flush()

    def close(self) -> None:
        if self.f is not None:
            self.f.close()


def import_file(path: str, data_dir: Path, *, settings: dict[str, Any] | None = None,
                errors: str | None = None, max_line_bytes: int | None = None) -> dict[str, Any]:
    """Feed the records of `path` through the project's item pipelines in one Scrapy
    crawl without requests; returns the crawl stats (``import/records``,
    ``import/rejected/<kind>``, ``archive/inserted``, ``akhbar/dropped/<reason>``...)."""
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from crawler.import_records import DEFAULT_MAX_LINE_BYTES, RecordError, open_input, parse_line, read_lines

    log = ImportLog(errors, path)
    pending: dict[int, Any] = {}

    class ImportSpider(scrapy.Spider):
        name = "import"
        # an import is not a crawl: no robots.txt, and no site health to judge
        custom_settings = {"ROBOTSTXT_OBEY": False, "EXTENSIONS": {"crawler.ops.monitors.MonitorsExtension": None}}

        async def start(self) -> Any:
            stats = self.crawler.stats
            with open_input(path) as stream:
                for line in read_lines(stream, max_bytes=max_line_bytes or DEFAULT_MAX_LINE_BYTES):
                    if line.text is None:
                        log.reject(line, line.error or "unreadable", "unreadable")
                        stats.inc_value("import/rejected")
                        continue
                    try:
                        article = parse_line(line)
                    except RecordError as exc:
                        log.reject(line, str(exc), "invalid")
                        stats.inc_value("import/rejected")
                        continue
                    stats.inc_value("import/records")
                    pending[id(article)] = line
                    yield article

    def dropped(item: Any, response: Any, exception: Any, spider: Any) -> None:
        line = pending.pop(id(item), None)
        if line is not None:
            log.reject(line, f"dropped by the pipelines: {exception}", "dropped")

    def done(item: Any, **_: Any) -> None:
        pending.pop(id(item), None)

    def failed(item: Any, response: Any, spider: Any, failure: Any) -> None:
        line = pending.pop(id(item), None)
        if line is not None:
            log.reject(line, f"pipeline error: {failure.getErrorMessage()}", "failed")

    project = get_project_settings()
    project.set("AKHBAR_DATA", str(data_dir), priority="cmdline")
    project.set("LOG_LEVEL", os.environ.get("AKHBAR_LOG_LEVEL", "WARNING"), priority="cmdline")
    for k, v in (settings or {}).items():
        project.set(k, v, priority="cmdline")
    project.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # Scrapy logs every item at DEBUG and its banner at INFO: an import is not a crawl to watch.
        logging.getLogger("scrapy").setLevel(logging.WARNING)
    process = CrawlerProcess(project)
    crawler = process.create_crawler(ImportSpider)
    crawler.signals.connect(dropped, signal=signals.item_dropped)
    crawler.signals.connect(done, signal=signals.item_scraped)
    crawler.signals.connect(failed, signal=signals.item_error)
    try:
        process.crawl(crawler)
        process.start()
    finally:
        log.close()
    stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
    for kind, n in log.counts.items():
        stats[f"import/rejected/{kind}"] = n
    return stats


def _batch_refusal(data_dir: Path, overrides: dict[str, Any]) -> str | None:
    from crawler.import_batch import batchable, project_settings

    return batchable(project_settings(data_dir, overrides))


def import_batched(path: str, data_dir: Path, *, settings: dict[str, Any] | None = None, errors: str | None = None,
                   max_line_bytes: int | None = None, batch_size: int | None = None,
                   workers: int | None = None, progress: bool = True) -> dict[str, Any]:
    """`import_file` in batches (`crawler.import_batch`): the same stats keys, the same
    rejected-lines log."""
    from crawler.import_batch import DEFAULT_BATCH, project_settings, run_batched
    from crawler.import_records import DEFAULT_MAX_LINE_BYTES

    log = ImportLog(errors, path)
    try:
        stats = run_batched(path, project_settings(data_dir, settings or {}), reject=log.reject,
                            max_line_bytes=max_line_bytes or DEFAULT_MAX_LINE_BYTES,
                            batch_size=batch_size or DEFAULT_BATCH, workers=workers, progress=progress)
    finally:
        log.close()
    for kind, n in log.counts.items():
        stats[f"import/rejected/{kind}"] = n
    return stats


def run_import(args: argparse.Namespace) -> int:
    if args.file != "-" and not Path(args.file).is_file():
        print(f"akhbar import: no such file: {args.file}", file=sys.stderr)
        return 2
    url = _url(args)
    # an import, like a crawl, must not "succeed" with nothing when its pipelines cannot open
    from crawler.commands.crawl import preflight_archive

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # an import's output is its rejected lines and its summary, not a crawl's INFO log
        # (Scrapy resets its own loggers to DEBUG when it starts: filter at the handlers)
        logging.getLogger().setLevel(logging.WARNING)
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.WARNING)
    preflight_archive(url)
    if args.batch_size is not None and args.batch_size < 1:
        print("akhbar import: --batch-size must be at least 1", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 0:
        print("akhbar import: --workers must not be negative", file=sys.stderr)
        return 2
    overrides = {"AKHBAR_ARCHIVE_URL": url}
    why_not = None if args.one_at_a_time else _batch_refusal(args.ctx.data_dir, overrides)
    if args.one_at_a_time or why_not:
        if why_not:
            logger.warning("akhbar import: one record at a time (%s)", why_not)
        stats = import_file(args.file, args.ctx.data_dir, settings=overrides, errors=args.errors,
                            max_line_bytes=args.max_line_bytes)
    else:
        stats = import_batched(args.file, args.ctx.data_dir, settings=overrides, errors=args.errors,
                               max_line_bytes=args.max_line_bytes, batch_size=args.batch_size,
                               workers=args.workers)
    print(import_summary(stats), file=sys.stderr)
    reason = stats.get("finish_reason")
    if reason != "finished":
        print(f"akhbar import: the import did not finish (reason: {reason or 'it did not start'}); see the log above",
              file=sys.stderr)
        return 1
    inserted = int(stats.get("archive/inserted", 0))
    if args.optimize_after > 0 and inserted >= args.optimize_after:
        from crawler.commands.optimize import optimize_archive

        print(f"akhbar import: {inserted:,} articles inserted; optimising the search index (--optimize-after 0 skips)",
              file=sys.stderr)
        print(f"akhbar import: optimised in {optimize_archive(url):.1f} s", file=sys.stderr)
    failed = sum(stats.get(f"import/rejected/{k}", 0) for k in ("unreadable", "invalid", "failed"))
    failed += stats.get("archive/errors", 0)
    if failed:
        where = f"; rejected lines with reasons in {args.errors}" if args.errors else "; --errors FILE keeps them"
        print(f"akhbar import: {failed} records failed{where}", file=sys.stderr)
        return 1
    return 0


def import_summary(stats: dict[str, Any]) -> str:
    """One line: read, imported (inserted/updated), skipped by reason, failed by reason."""
    inserted, updated = stats.get("archive/inserted", 0), stats.get("archive/updated", 0)
    skipped = {"unchanged (already stored)": stats.get("archive/unchanged", 0)}
    for key, n in sorted(stats.items()):
        if key.startswith("akhbar/dropped/"):
            skipped[f"dropped: {key.rsplit('/', 1)[1].replace('_', ' ')}"] = n
    failed = {"unreadable lines": stats.get("import/rejected/unreadable", 0),
              "invalid records": stats.get("import/rejected/invalid", 0),
              "pipeline errors": stats.get("import/rejected/failed", 0),
              "archive errors": stats.get("archive/errors", 0)}
    read = stats.get("import/records", 0) + stats.get("import/rejected", 0)

    def parts(d: dict[str, int]) -> str:
        shown = [f"{k} {v}" for k, v in d.items() if v]
        return f" ({', '.join(shown)})" if shown else ""

    return (f"import: {read} records read; imported {inserted + updated} (inserted {inserted}, updated {updated}); "
            f"skipped {sum(skipped.values())}{parts(skipped)}; failed {sum(failed.values())}{parts(failed)}")

"""The archive interface, with everything both backends share.

Backends (`SQLiteArchive`, `PostgresArchive`) supply a connection, transactions,
value encoding and the full-text search query; the rest (idempotent upsert,
versions, runs, seen URLs, listings) is written once here in SQL both accept.

SQL given to `execute`/`fetch`/`fetchone`/`iter_rows` uses ``?`` placeholders on
both backends (PostgreSQL's are rewritten to ``%s``); values are always passed as
parameters, never formatted into the SQL.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.archive import migrations as _migrations
from crawler.archive.canonical import fold_url, key_url, own_key_url, site_id_key
from crawler.archive.records import (
    BOOL_FIELDS,
    DATETIME_FIELDS,
    JSON_FIELDS,
    SORT_SHIFT,
    article_dict,
    changed_fields,
    content_hash,
    decode_row,
    merge,
    parse_datetime,
    search_text,
    sort_date,
    sort_key_bounds,
    sort_key_for,
    text_fields,
    utc,
)
from crawler.archive.runs import layer_counts
from crawler.archive.search import QueryError, SearchQuery, parse_date_bound, parse_query
from crawler.items import ARTICLE_FIELDS

logger = logging.getLogger(__name__)

SORTS = ("date", "relevance")
MAX_LIMIT = 1000
RELEVANCE_CANDIDATES = 300
"""Relevance ranks at most this many of the newest matches: bm25 over every match of
a common word is what makes naive ranked FTS slow at a million articles."""


@dataclass
class UpsertResult:
    id: int
    action: str
    """``inserted``, ``updated`` (a field changed) or ``unchanged``."""
    version: int


@dataclass
class SearchResult:
    items: list[dict[str, Any]]
    has_more: bool
    limit: int
    offset: int
    hints: list[str] = field(default_factory=list)
    """How the query was read where it differs from what was typed (see `parse_query`)."""


EXACT_SCAN_MAX = 5000
"""Index matches of a quoted phrase's stems checked for its typed form, at most: past
that, a phrase whose typed form is rare among its stems' matches shows fewer results."""


def now_utc() -> datetime:
    return datetime.now(UTC)


class Archive(ABC):
    dialect: str = ""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._conns: list[Any] = []
        self._conns_lock = threading.Lock()
        self.relevance_candidates = RELEVANCE_CANDIDATES

    # --- connection and thin SQL API ---------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _run(self, conn: Any, sql: str, params: Sequence[Any]) -> Any:
        """Execute and return the cursor."""

    @abstractmethod
    def _begin(self, conn: Any) -> None: ...

    @abstractmethod
    def _end(self, conn: Any, commit: bool) -> None: ...

    @abstractmethod
    def _rows(self, cursor: Any) -> list[dict[str, Any]]: ...

    @abstractmethod
    def iter_rows(self, sql: str, params: Sequence[Any] = (), batch: int = 500) -> Iterator[dict[str, Any]]:
        """Stream a large result in batches (constant memory)."""

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.depth = 0
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the affected row count."""
        cur = self._run(self._conn(), sql, params)
        return cur.rowcount

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement over many parameter rows (PostgreSQL: pipelined, one round trip)."""
        if rows:
            self._run_many(self._conn(), sql, rows)

    def _run_many(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._rows(self._run(self._conn(), sql, params))

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.fetch(sql, params)
        return rows[0] if rows else None

    def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.fetchone(sql, params)
        return next(iter(row.values())) if row else None

    @contextmanager
    def transaction(self) -> Iterator[Archive]:
        """One write transaction on this thread's connection; nested calls join it.
        On SQLite it takes the write lock up front (BEGIN IMMEDIATE), so two writers
        queue on the busy timeout instead of failing mid-transaction."""
        conn = self._conn()
        depth = self._local.depth
        if depth:
            self._local.depth += 1
            try:
                yield self
            finally:
                self._local.depth -= 1
            return
        self._begin(conn)
        self._local.depth = 1
        try:
            yield self
        except BaseException:
            self._local.depth = 0
            self._end(conn, commit=False)
            raise
        self._local.depth = 0
        self._end(conn, commit=True)

    def optimize(self) -> None:
        """Tidy the search index after a bulk load (`akhbar optimize`): each backend's own."""
        raise NotImplementedError

    def close(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.close()
            except Exception:  # closing from another thread may fail; nothing to lose
                logger.debug("closing connection failed", exc_info=True)
        self._local = threading.local()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- values ------------------------------------------------------------------

    def enc_datetime(self, value: Any) -> Any:
        return value

    def enc_json(self, value: Any) -> Any:
        return value

    def enc_bool(self, value: Any) -> Any:
        return value

    def encode_field(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in DATETIME_FIELDS:
            return self.enc_datetime(utc(value))
        if name in JSON_FIELDS:
            return self.enc_json(value)
        if name in BOOL_FIELDS:
            return self.enc_bool(bool(value))
        return value

    # --- schema --------------------------------------------------------------------

    @abstractmethod
    def _migration_lock(self) -> None:
        """Serialise concurrent migrators (inside the migration transaction)."""

    def schema_version(self) -> int:
        return max(self.applied_migrations() or [0])

    def applied_migrations(self) -> list[int]:
        try:
            return [r["version"] for r in self.fetch("SELECT version FROM schema_migrations ORDER BY version")]
        except Exception:
            return []

    def migrate(self, target: int | None = None) -> list[int]:
        """Apply every registered migration not yet applied (up to `target`), each in
        its own transaction; returns the versions applied."""
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done: list[int] = []
        for m in list(_migrations.MIGRATIONS):
            if target is not None and m.version > target:
                break
            with self.transaction():
                self._migration_lock()
                if self.fetchone("SELECT version FROM schema_migrations WHERE version = ?", (m.version,)):
                    continue
                logger.debug("archive %s: applying migration %d (%s)", self.dialect, m.version, m.name)
                for step in m.steps(self.dialect):
                    if callable(step):
                        step(self)
                    else:
                        self.execute(step)
                self.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.name, now_utc().isoformat()),
                )
                done.append(m.version)
        if done:
            logger.info("archive %s: schema migrated (%d migration%s applied, now at %d)", self.dialect,
                        len(done), "" if len(done) == 1 else "s", done[-1])
        return done

    # --- articles ------------------------------------------------------------------

    def _row_by_keys(self, site_key: str | None, url_key: str) -> dict[str, Any] | None:
        if site_key:
            row = self.fetchone("SELECT * FROM articles WHERE site_key = ?", (site_key,))
            if row:
                return row
        return self.fetchone("SELECT * FROM articles WHERE url_key = ?", (url_key,))

    def _free_sort_key(self, key: int) -> int:
        while self.fetchone("SELECT 1 AS x FROM articles WHERE sort_key = ?", (key,)):
            key += 1
        return key

    @abstractmethod
    def _write_search_text(self, article_id: int, sort_key: int, title: str, body: str, *, replace: bool) -> None: ...

    def _columns_for(self, rec: dict[str, Any]) -> dict[str, Any]:
        return {name: self.encode_field(name, rec.get(name)) for name in ARTICLE_FIELDS}

    def upsert_article(self, item: Any, *, run_id: str | None = None, hosts: Iterable[str] = ()) -> UpsertResult:
        """Store an article, idempotently: keyed on the site's article id when it has one,
        else the folded canonical URL (only when the canonical is on the fetched URL's host
        or one of the source's own `hosts`). A re-crawl updates the row in place; a changed
        title/body first copies the previous text into ``article_versions``. A row is only
        ever updated by its own source: a key another source's row holds is qualified with
        this source's id instead."""
        rec = _clean_record(article_dict(item))
        keyed, url_key = self._key_for(rec, hosts)
        skey = site_id_key(rec["source"], rec.get("site_article_id"))
        now = now_utc()
        with self.transaction():
            self._ensure_source(rec["source"], now)
            for _attempt in range(5):
                existing = self._row_by_keys(skey, url_key)
                if existing is not None and existing["source"] != rec["source"]:
                    # Two sources claiming one address (shared host, hostile import): each
                    # keeps its own row; this one's key names its source.
                    url_key = f"{rec['source']}!{url_key}"
                    existing = self._row_by_keys(None, url_key)
                if existing is not None:
                    result = self._update(existing, rec, run_id, now)
                    break
                inserted = self._insert(rec, url_key, skey, run_id, now)
                if inserted is not None:  # None: another writer took the key first; look again
                    result = inserted
                    break
            else:
                raise RuntimeError(f"could not store {rec['url']}: key conflict persisted")
            fetched = parse_datetime(rec.get("fetched_at")) or now
            for u in {rec["url"], keyed}:
                # A URL another source has fetched stays that source's (its seen-set and
                # article link are not this crawl's to change).
                self.execute(
                    "INSERT INTO seen_urls (url_key, source, article_id, last_fetched_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (url_key) DO UPDATE SET article_id = excluded.article_id, "
                    "last_fetched_at = excluded.last_fetched_at, source = excluded.source "
                    "WHERE seen_urls.source = excluded.source",
                    # the URL the article is keyed on is folded already (~14 µs a URL)
                    (url_key if u == keyed else fold_url(u), rec["source"], result.id, self.enc_datetime(fetched)),
                )
        return result

    def _key_for(self, rec: dict[str, Any], hosts: Iterable[str]) -> tuple[str, str]:
        """(URL the row is keyed on, its folded key). A canonical on a foreign host is a key
        only when this source's own row already holds it (an import of a crawl's dump:
        the importer does not know the address the crawl ran against)."""
        keyed = own_key_url(rec.get("url"), rec.get("canonical_url"), hosts)
        url_key = fold_url(keyed)
        declared = key_url(rec.get("url"), rec.get("canonical_url"))
        if declared != keyed:
            ckey = fold_url(declared)
            row = self.fetchone("SELECT source FROM articles WHERE url_key = ?", (ckey,))
            if row is not None and row["source"] == rec.get("source"):
                return declared, ckey
        return keyed, url_key

    def article_id_for(self, item: Any, *, hosts: Iterable[str] = ()) -> int | None:
        """The id `upsert_article(item, hosts=hosts)` stored the item under, or None."""
        rec = article_dict(item)
        source = rec.get("source")
        skey = site_id_key(source, rec.get("site_article_id"))
        if skey:
            aid = self.fetchval("SELECT id FROM articles WHERE site_key = ?", (skey,))
            if aid is not None:
                return int(aid)
        _, url_key = self._key_for(rec, hosts)
        row = self.fetchone("SELECT id, source FROM articles WHERE url_key = ?", (url_key,))
        if row is not None and row["source"] != source:
            row = self.fetchone("SELECT id, source FROM articles WHERE url_key = ?", (f"{source}!{url_key}",))
        return None if row is None else int(row["id"])

    def upsert_many(self, items: Iterable[Any], *, run_id: str | None = None) -> list[UpsertResult]:
        """Several upserts in one transaction (bulk imports and benchmarks)."""
        with self.transaction():
            return [self.upsert_article(i, run_id=run_id) for i in items]

    def _insert(self, rec: dict[str, Any], url_key: str, skey: str | None, run_id: str | None, now: datetime) -> UpsertResult | None:
        sort_key = self._free_sort_key(sort_key_for(sort_date(rec, now), url_key))
        cols = self._columns_for(rec)
        cols.update(
            url_key=url_key,
            site_key=skey,
            sort_key=sort_key,
            content_hash=content_hash(rec),
            version=1,
            archived_at=self.enc_datetime(now),
            updated_at=self.enc_datetime(now),
            run_id=run_id,
        )
        names = list(cols)
        sql = (
            f"INSERT INTO articles ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            "ON CONFLICT DO NOTHING RETURNING id"
        )
        row = self.fetchone(sql, [cols[n] for n in names])
        if row is None:
            return None  # a concurrent writer stored it first, or the sort key collided: retry
        title, body = search_text(rec)
        self._write_search_text(row["id"], sort_key, title, body, replace=False)
        return UpsertResult(row["id"], "inserted", 1)

    def _update(self, existing: dict[str, Any], rec: dict[str, Any], run_id: str | None, now: datetime) -> UpsertResult:
        old = decode_row(existing)
        merged = merge(old, rec)
        changed = changed_fields(old, merged)
        version = existing["version"]
        new_hash = content_hash(merged)
        if new_hash != existing["content_hash"]:
            self.execute(
                "INSERT INTO article_versions (article_id, version, title, body_text, body_html, summary, content_hash, "
                "date_modified, fetched_at, warc_record, superseded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    existing["id"], version, existing["title"], existing["body_text"], existing["body_html"],
                    existing["summary"], existing["content_hash"], existing["date_modified"], existing["fetched_at"],
                    # decoded already on PostgreSQL (jsonb), text on SQLite: re-encoded either way
                    self.enc_json(_json_value(existing["warc_record"])), self.enc_datetime(now),
                ),
            )
            version += 1
        # Re-key only when the publication date moved (a parser fix, a site correction);
        # without one the article keeps the place it got when first archived.
        sort_key = existing["sort_key"]
        published = parse_datetime(merged.get("date_published"))
        if published is not None and int(published.timestamp()) != sort_key // SORT_SHIFT:
            sort_key = self._free_sort_key(sort_key_for(published, existing["url_key"]))
        cols = self._columns_for(merged)
        cols.update(sort_key=sort_key, content_hash=new_hash, version=version, run_id=run_id or existing["run_id"])
        if changed:
            cols["updated_at"] = self.enc_datetime(now)
        names = list(cols)
        self.execute(
            f"UPDATE articles SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
            [cols[n] for n in names] + [existing["id"]],
        )
        if sort_key != existing["sort_key"] or search_text(merged) != search_text(old):
            title, body = search_text(merged)
            self._write_search_text(existing["id"], sort_key, title, body, replace=True)
        return UpsertResult(existing["id"], "updated" if changed else "unchanged", version)

    def get_article(self, article_id: int) -> dict[str, Any] | None:
        row = self.fetchone("SELECT * FROM articles WHERE id = ?", (int(article_id),))
        return decode_row(row) if row else None

    def find_article(self, url: str, *, source: str | None = None, site_article_id: str | None = None) -> dict[str, Any] | None:
        """The archived article for a URL (any spelling that folds to the same key)."""
        row = self._row_by_keys(site_id_key(source, site_article_id), fold_url(url))
        if row is None:
            seen = self.fetchone("SELECT article_id FROM seen_urls WHERE url_key = ?", (fold_url(url),))
            if seen and seen["article_id"] is not None:
                row = self.fetchone("SELECT * FROM articles WHERE id = ?", (seen["article_id"],))
        return decode_row(row) if row else None

    def versions(self, article_id: int) -> list[dict[str, Any]]:
        """Earlier versions of an article, oldest first (the current one is the article)."""
        rows = self.fetch("SELECT * FROM article_versions WHERE article_id = ? ORDER BY version", (int(article_id),))
        out = []
        for r in rows:
            d = dict(r)
            for k in ("date_modified", "fetched_at", "superseded_at"):
                d[k] = parse_datetime(d.get(k))
            d["warc_record"] = _json_value(d.get("warc_record"))
            out.append(d)
        return out

    def count_articles(self) -> int:
        return int(self.fetchval("SELECT COUNT(*) AS n FROM articles") or 0)

    def iter_articles(self, batch: int = 500) -> Iterator[dict[str, Any]]:
        """Every article, oldest id first, streamed."""
        for row in self.iter_rows("SELECT * FROM articles ORDER BY id", (), batch):
            yield decode_row(row)

    # --- seen URLs -------------------------------------------------------------------

    def is_fresh(self, url: str, within: timedelta) -> bool:
        """True when `url` (folded) was archived and fetched less than `within` ago."""
        row = self.fetchone("SELECT last_fetched_at FROM seen_urls WHERE url_key = ?", (fold_url(url),))
        if row is None:
            return False
        last = parse_datetime(row["last_fetched_at"])
        return last is not None and now_utc() - last < within

    # --- sources and runs ----------------------------------------------------------

    def _ensure_source(self, source_id: str, now: datetime) -> None:
        self.execute(
            "INSERT INTO sources (id, first_seen_at, last_seen_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (source_id, self.enc_datetime(now), self.enc_datetime(now)),
        )

    def upsert_source(self, source_id: str, *, name: str | None = None, name_en: str | None = None,
                      base_url: str | None = None, language: str | None = None) -> None:
        now = self.enc_datetime(now_utc())
        self.execute(
            "INSERT INTO sources (id, name, name_en, base_url, language, first_seen_at, last_seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "name = COALESCE(excluded.name, sources.name), name_en = COALESCE(excluded.name_en, sources.name_en), "
            "base_url = COALESCE(excluded.base_url, sources.base_url), "
            "language = COALESCE(excluded.language, sources.language), last_seen_at = excluded.last_seen_at",
            (source_id, name, name_en, base_url, language, now, now),
        )

    def sources(self) -> list[dict[str, Any]]:
        rows = self.fetch(
            "SELECT s.*, (SELECT COUNT(*) FROM articles a WHERE a.source = s.id) AS articles FROM sources s ORDER BY s.id"
        )
        return [{**r, "first_seen_at": parse_datetime(r["first_seen_at"]), "last_seen_at": parse_datetime(r["last_seen_at"])} for r in rows]

    def start_run(self, run_id: str, *, spider: str | None = None, source: str | None = None,
                  warc_file: str | None = None) -> None:
        self.execute(
            "INSERT INTO crawl_runs (id, spider, source, started_at, status, stats, errors, warc_file, host, pid) "
            "VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (run_id, spider, source, self.enc_datetime(now_utc()), self.enc_json({}), self.enc_json([]), warc_file,
             socket.gethostname(), os.getpid()),
        )

    def add_run_error(self, run_id: str, message: str, *, url: str | None = None) -> None:
        with self.transaction():
            row = self.fetchone("SELECT errors FROM crawl_runs WHERE id = ?", (run_id,))
            if row is None:
                return
            errors = _json_value(row["errors"]) or []
            errors.append({"time": now_utc().isoformat(), "message": message, "url": url})
            self.execute("UPDATE crawl_runs SET errors = ? WHERE id = ?", (self.enc_json(errors[-1000:]), run_id))

    def finish_run(self, run_id: str, *, status: str, stats: dict[str, Any] | None = None,
                   warc_file: str | None = None) -> None:
        """Close a run: its status (a Scrapy close reason, or the scheduler's own), stats,
        and the record columns derived from the stats (see `run_record`)."""
        from crawler.exporters import to_jsonable

        now = now_utc()
        stats = stats or {}
        rec = run_record(stats)
        if rec["duration_s"] is None:
            row = self.fetchone("SELECT started_at FROM crawl_runs WHERE id = ?", (run_id,))
            started = parse_datetime(row["started_at"]) if row else None
            rec["duration_s"] = round((now - started).total_seconds(), 3) if started else None
        self.execute(
            "UPDATE crawl_runs SET finished_at = ?, status = ?, stats = ?, warc_file = COALESCE(?, warc_file), "
            "articles_new = ?, articles_updated = ?, articles_failed = ?, pages = ?, http_errors = ?, duration_s = ?, "
            "layers = ? WHERE id = ?",
            (
                self.enc_datetime(now), run_status(status, stats), self.enc_json(to_jsonable(stats)), warc_file,
                rec["articles_new"], rec["articles_updated"], rec["articles_failed"], rec["pages"],
                self.enc_json(rec["http_errors"]), rec["duration_s"], self.enc_json(rec["layers"]), run_id,
            ),
        )

    def runs(self, *, limit: int = 50, offset: int = 0, source: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        rows = self.fetch(
            f"SELECT * FROM crawl_runs {where} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, int(limit), int(offset)],
        )
        return [
            {
                **r,
                "started_at": parse_datetime(r["started_at"]),
                "finished_at": parse_datetime(r["finished_at"]),
                "stats": _json_value(r["stats"]) or {},
                "errors": _json_value(r["errors"]) or [],
                "http_errors": _json_value(r.get("http_errors")) or {},
                "monitors": _json_value(r.get("monitors")) or [],
                "layers": _json_value(r.get("layers")) or {},
            }
            for r in rows
        ]

    # --- search ----------------------------------------------------------------------

    def search(
        self,
        query: str | None = None,
        *,
        source: str | None = None,
        topic: str | None = None,
        story: str | None = None,
        since: Any = None,
        until: Any = None,
        sort: str = "date",
        limit: int = 20,
        offset: int = 0,
        canonical_only: bool = False,
    ) -> SearchResult:
        """Articles matching `query` (None: all) and the filters, newest first or by
        relevance, `limit` per page from `offset`. Raises `QueryError` on bad input."""
        q = parse_query(query)
        if sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        try:
            limit, offset = int(limit), int(offset)
        except (TypeError, ValueError):
            raise QueryError("limit and offset must be integers") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            raise QueryError("offset must not be negative")
        for name, value in (("source", source), ("topic", topic), ("story", story), ("since", since), ("until", until)):
            if isinstance(value, str) and "\x00" in value:
                raise QueryError(f"{name} must not contain NUL characters")
        try:
            lo, hi = sort_key_bounds(parse_date_bound(since), parse_date_bound(until, end=True))
        except (OverflowError, ValueError) as exc:  # a date whose UTC instant is outside years 1-9999
            raise QueryError(f"date out of range: {exc}") from None
        # (column, value) equality filters; column names come from this fixed list only
        filters: list[tuple[str, Any]] = []
        if source:
            filters.append(("source", source))
        if topic:
            filters.append(("topic", topic))
        if story:
            filters.append(("story_id", story))
        if canonical_only:
            filters.append(("is_canonical", self.enc_bool(True)))
        if q is None or not q.terms:
            rows = self._list_rows(filters, lo, hi, limit + 1, offset)
        elif q.exact_terms:
            rows = self._exact_rows(q, filters, lo, hi, sort, limit + 1, offset)
        else:
            rows = self._search_rows(q, filters, lo, hi, sort, limit + 1, offset)
        items = [decode_row(r) for r in rows[:limit]]
        return SearchResult(items=items, has_more=len(rows) > limit, limit=limit, offset=offset,
                            hints=list(q.hints) if q else [])

    def _exact_rows(self, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None, hi: int | None,
                    sort: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Quoted phrases: the index matches their stems (a superset: "حكومات" for
        "الحكومة"); keep the rows holding the typed form, in the index's order. Fetched
        in growing pages so a phrase whose stems mostly match the typed form (the usual
        case) costs one query."""
        want = limit + offset
        fetch = want + 4
        while True:
            rows = self._search_rows(q, filters, lo, hi, sort, fetch, 0)
            kept: list[dict[str, Any]] = []
            for r in rows:
                if q.matches_exact(*text_fields(r)):
                    kept.append(r)
                    if len(kept) == want:  # the rest need no check
                        return kept[offset:]
            if len(rows) < fetch or fetch >= EXACT_SCAN_MAX:
                return kept[offset:offset + limit]
            fetch = min(EXACT_SCAN_MAX, fetch * 4)

    def _list_rows(self, filters: list[tuple[str, Any]], lo: int | None, hi: int | None, limit: int, offset: int) -> list[dict[str, Any]]:
        where = [f"a.{c} = ?" for c, _ in filters]
        params: list[Any] = [v for _, v in filters]
        if lo is not None:
            where.append("a.sort_key >= ?")
            params.append(lo)
        if hi is not None:
            where.append("a.sort_key <= ?")
            params.append(hi)
        sql = "SELECT a.* FROM articles a"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY a.sort_key DESC LIMIT ? OFFSET ?"
        return self.fetch(sql, [*params, limit, offset])

    @abstractmethod
    def _search_rows(self, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None, hi: int | None,
                     sort: str, limit: int, offset: int) -> list[dict[str, Any]]: ...

    @abstractmethod
    def bare_search(self, q: SearchQuery, limit: int = 20, *, ranked: bool = False) -> list[int]:
        """The bare full-text query on the same index (benchmark floor): matching ids only."""

    @abstractmethod
    def like_search(self, text: str, limit: int = 20) -> list[int]:
        """A LIKE scan over normalised text (benchmark baseline)."""


def run_record(stats: dict[str, Any]) -> dict[str, Any]:
    """The ``crawl_runs`` record columns from a crawl's Scrapy stats."""
    http_errors: dict[str, int] = {}
    prefix = "downloader/response_status_count/"
    for key, value in stats.items():
        if key.startswith(prefix) and key[len(prefix):].isdigit() and int(key[len(prefix):]) >= 400:
            http_errors[key[len(prefix):]] = int(value)
    elapsed = stats.get("elapsed_time_seconds")
    return {
        "articles_new": int(stats.get("archive/inserted", 0)),
        "articles_updated": int(stats.get("archive/updated", 0)),
        "articles_failed": int(stats.get("archive/errors", 0)) + int(stats.get("item_dropped_count", 0)),
        "pages": int(stats.get("response_received_count", 0)),
        "http_errors": dict(sorted(http_errors.items())),
        "duration_s": round(float(elapsed), 3) if isinstance(elapsed, (int, float)) else None,
        "layers": layer_counts(stats),
    }


def run_status(reason: str, stats: dict[str, Any]) -> str:
    """A run's status from the spider's close reason: Scrapy's ``shutdown`` (SIGTERM or
    Ctrl-C; with a JOBDIR the next start resumes) is recorded as ``interrupted``; a
    ``finished`` crawl whose every request failed (connection errors, or only 4xx/5xx
    answers: the site was down) as ``failed``."""
    if reason == "shutdown":
        return "interrupted"
    prefix = "downloader/response_status_count/"
    failed = int(stats.get("downloader/exception_count", 0) or 0)
    answered = 0
    for key, value in stats.items():
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            if int(key[len(prefix):]) < 400:
                answered += int(value)
            else:
                failed += int(value)
    if reason == "finished" and failed and not answered:
        return "failed"
    return reason


def _json_value(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def _clean_record(rec: dict[str, Any]) -> dict[str, Any]:
    if not rec.get("url") or not rec.get("source"):
        raise ValueError("an article needs 'url' and 'source' to be archived")
    for name in DATETIME_FIELDS:
        v = rec.get(name)
        if v is not None and not isinstance(v, datetime):
            parsed = parse_datetime(v)
            if parsed is None:
                raw = f"{name}_raw"
                if raw in rec and not rec.get(raw):
                    rec[raw] = str(v)
            rec[name] = parsed
    if rec.get("tags") is None:
        rec["tags"] = []
    if rec.get("extra") is None:
        rec["extra"] = {}
    return rec

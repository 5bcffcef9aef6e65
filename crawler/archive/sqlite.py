"""SQLite backend: one file under the data directory, nothing to install.

WAL journaling lets readers (search, the API) run while a crawl writes; writers take
the lock up front (``BEGIN IMMEDIATE``) and wait on a busy timeout, so two crawls or
a crawl and an import queue rather than fail. Full-text search is an FTS5 index over
the normalised text whose rowid is the date-ordered ``sort_key`` (see docs/archive.md).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from crawler.archive.base import Archive, SearchResult
from crawler.archive.records import iso_utc
from crawler.archive.search import SearchQuery, SearchTimeout, search_budget_default

BUSY_TIMEOUT_S = 60.0
TITLE_WEIGHT = 4.0
EXACT_BM25_MAX = 300
"""bm25 ranks all matches when the query terms together match at most this many articles."""
PROGRESS_STEPS = 1000
"""SQLite instructions between two looks at a search's deadline (a few µs of work)."""


def path_from_url(url: str) -> Path:
    """``sqlite:///relative/path``, ``sqlite:////absolute/path`` or a bare path."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    if url.startswith("sqlite://"):
        return Path(url[len("sqlite://"):])
    return Path(url)


class SQLiteArchive(Archive):
    dialect = "sqlite"

    def __init__(self, url: str, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        super().__init__(url)
        self.path = path_from_url(url)
        self.busy_timeout = busy_timeout
        self.exact_bm25_max = EXACT_BM25_MAX
        self.search_budget = search_budget_default()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path), timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        self._set_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache per connection
        return conn

    def _set_wal(self, conn: sqlite3.Connection) -> None:
        # Switching a new file to WAL needs a lock that SQLite does not wait for: two
        # processes opening a fresh archive at once made one fail with "database is
        # locked" (and lose its whole import). Retry within the busy timeout instead.
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.01
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _run(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        return conn.execute(sql, tuple(params))

    def _rows(self, cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
        if cursor.description is None:
            return []
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]

    def _begin(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def _end(self, conn: sqlite3.Connection, commit: bool) -> None:
        conn.execute("COMMIT" if commit else "ROLLBACK")

    def iter_rows(self, sql: str, params: Sequence[Any] = (), batch: int = 500) -> Iterator[dict[str, Any]]:
        # A separate connection: the read snapshot of a long export must not hold this
        # thread's connection (and its transactions) hostage.
        conn = self._connect()
        # a stream reads each page once: the archive's 64 MiB page cache would only make an
        # export's memory grow with the archive up to that size
        conn.execute("PRAGMA cache_size = -4096")
        try:
            cur = conn.execute(sql, tuple(params))
            names = [d[0] for d in cur.description]
            while True:
                rows = cur.fetchmany(batch)
                if not rows:
                    return
                for r in rows:
                    yield dict(zip(names, r))
        finally:
            conn.close()

    def _migration_lock(self) -> None:
        pass  # BEGIN IMMEDIATE already serialises migrators

    def enc_datetime(self, value: Any) -> Any:
        return iso_utc(value) if value is not None else None

    def enc_json(self, value: Any) -> Any:
        from crawler.archive.records import encode_json

        return encode_json(value)

    def enc_bool(self, value: Any) -> Any:
        return None if value is None else int(bool(value))

    def _write_search_text(self, article_id: int, sort_key: int, title: str, body: str, *, replace: bool) -> None:
        if replace:
            self.execute("DELETE FROM article_text WHERE article_id = ?", (article_id,))
        self.execute(
            "INSERT INTO article_text (sort_key, article_id, title, body) VALUES (?, ?, ?, ?)",
            (sort_key, article_id, title, body),
        )

    def search(self, *args: Any, **kwargs: Any) -> SearchResult:
        """`Archive.search` under the time budget (`search_budget` seconds; None: none):
        a progress handler stops the statement running at the deadline (each statement of
        a search, so also the later rounds of a phrase's exact-form check); `SearchTimeout`.
        (FTS5's own work inside one step, such as merging a prefix's postings, cannot be
        stopped: `crawler.archive.search.MIN_PREFIX_CHARS` bounds it.)"""
        budget = self.search_budget
        if not budget:
            return super().search(*args, **kwargs)
        conn = self._conn()
        deadline = time.monotonic() + budget
        conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
        try:
            return super().search(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc) and time.monotonic() > deadline:
                raise SearchTimeout(budget) from None
            raise
        finally:
            conn.set_progress_handler(None, 0)

    def _search_rows(self, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None, hi: int | None,
                     sort: str, limit: int, offset: int) -> list[dict[str, Any]]:
        # FTS drives the loop (CROSS JOIN fixes the order): matches come newest first
        # from the index, each probes its article by sort_key (the source/topic/story
        # filters use covering indexes), and the scan stops at LIMIT. A date range is a
        # rowid range inside FTS. (An FTS5 `source` column intersected inside the MATCH
        # measured slower for rare words: the source doclist is a fifth of the index.)
        where = ["f.article_fts MATCH ?"]
        params: list[Any] = [q.fts5_text()]
        if lo is not None:
            where.append("f.rowid >= ?")
            params.append(lo)
        if hi is not None:
            where.append("f.rowid <= ?")
            params.append(hi)
        where += [f"a.{c} = ?" for c, _ in filters]
        params += [v for _, v in filters]
        cond = " AND ".join(where)
        if sort == "date":
            sql = (
                "SELECT a.* FROM article_fts f CROSS JOIN articles a ON a.sort_key = f.rowid "
                f"WHERE {cond} ORDER BY f.rowid DESC LIMIT ? OFFSET ?"
            )
            return self.fetch(sql, [*params, limit, offset])
        return self._relevance_rows(q, cond, params, bool(filters), limit, offset)

    def _match_count(self, fts_query: str, cap: int) -> int:
        """Matches of `fts_query`, counted up to `cap` (bounded cost)."""
        return int(self.fetchval(
            "SELECT COUNT(*) AS n FROM (SELECT rowid FROM article_fts WHERE article_fts MATCH ? LIMIT ?)",
            (fts_query, cap),
        ) or 0)

    def _relevance_rows(self, q: SearchQuery, cond: str, params: list[Any], join: bool, limit: int,
                        offset: int) -> list[dict[str, Any]]:
        # FTS5's bm25() first counts every document containing each query term, over the
        # whole index, whatever LIMIT the query has: for a word in half the archive that
        # is tens of ms at a million articles. So bm25 only runs when the terms are rare
        # enough (their match counts, counted up to a bound, stay under `exact_bm25_max`);
        # that is where ranking matters most. Otherwise the newest `relevance_candidates`
        # matches are ranked: those with the whole query in the title first, each tier
        # newest first (see docs/archive.md).
        budget = self.exact_bm25_max
        for t in q.terms:
            budget -= self._match_count("{title body} : " + q.term_fts5(t), budget + 1)
            if budget < 0:
                break
        source = "article_fts f CROSS JOIN articles a ON a.sort_key = f.rowid" if join else "article_fts f"
        if budget >= 0:
            # scores over the index only; article rows are read for the page alone
            sql = (
                "SELECT a.*, c.score AS score FROM ("
                f"SELECT f.rowid AS rid, -bm25(article_fts, {TITLE_WEIGHT}, 1.0) AS score FROM {source} "
                f"WHERE {cond} ORDER BY score DESC, f.rowid DESC LIMIT ? OFFSET ?"
                ") c CROSS JOIN articles a ON a.sort_key = c.rid ORDER BY c.score DESC, c.rid DESC"
            )
            return self.fetch(sql, [*params, limit, offset])
        # With a row filter every candidate costs an index probe as well: fewer of them.
        k = self.relevance_candidates if not join else max(1, self.relevance_candidates * 2 // 3)
        cands = [r["rid"] for r in self.fetch(
            f"SELECT f.rowid AS rid FROM {source} WHERE {cond} ORDER BY f.rowid DESC LIMIT ?",
            [*params, k],
        )]
        if not cands:
            return []
        # Title hits among the candidates, checked on their normalised titles (short rows
        # read by primary key), not by a title-column FTS query over a whole date range.
        titles = self.fetch(
            f"SELECT sort_key, title FROM article_text WHERE sort_key IN ({', '.join('?' * len(cands))})", cands
        )
        in_title = {r["sort_key"] for r in titles if q.matches_words(r["title"])}
        ranked = sorted(cands, key=lambda rid: (rid in in_title, rid), reverse=True)[offset:offset + limit]
        if not ranked:
            return []
        rows = self.fetch(
            f"SELECT a.* FROM articles a WHERE a.sort_key IN ({', '.join('?' * len(ranked))})", ranked
        )
        by_key = {r["sort_key"]: r for r in rows}
        return [{**by_key[k], "score": 1.0 if k in in_title else 0.0} for k in ranked if k in by_key]

    def bare_search(self, q: SearchQuery, limit: int = 20, *, ranked: bool = False) -> list[int]:
        order = f"bm25(article_fts, {TITLE_WEIGHT}, 1.0)" if ranked else "rowid DESC"
        rows = self.fetch(
            f"SELECT rowid AS r FROM article_fts WHERE article_fts MATCH ? ORDER BY {order} LIMIT ?",
            (q.fts5_text(), limit),
        )
        return [r["r"] for r in rows]

    def like_search(self, text: str, limit: int = 20) -> list[int]:
        rows = self.fetch(
            "SELECT article_id FROM article_text WHERE title LIKE ? OR body LIKE ? ORDER BY sort_key DESC LIMIT ?",
            (f"%{text}%", f"%{text}%", limit),
        )
        return [r["article_id"] for r in rows]

    def optimize(self) -> None:
        """Merge FTS segments (after a bulk load) and refresh planner statistics."""
        self.execute("INSERT INTO article_fts (article_fts) VALUES ('optimize')")
        self.execute("ANALYZE")

    def rebuild_search_index(self) -> None:
        self.execute("INSERT INTO article_fts (article_fts) VALUES ('rebuild')")

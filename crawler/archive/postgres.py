"""PostgreSQL backend (psycopg 3): one archive shared by many crawler machines.

Selected by a ``postgresql://`` archive URL. An extra ``schema=NAME`` query
parameter puts every table in that schema (created when missing), so several
archives, or parallel test runs, share one database. Search uses a ``tsvector``
over the normalised text (``simple`` configuration: normalisation is ours, not a
stemmer's) with a GIN index.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterator, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from crawler.archive.base import Archive
from crawler.archive.search import SearchQuery

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MIGRATION_LOCK_KEY = 0x616B6862  # "akhb": one advisory lock for schema migrations


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s``; literal ``%`` doubled. Quoted strings
    and identifiers are left alone."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def split_schema(url: str) -> tuple[str, str | None]:
    """The connection URL without our ``schema`` parameter, and the schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = [(k, v) for k, v in query if k != "schema"]
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise ValueError(f"bad schema name {schema!r} in archive URL")
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


class PostgresArchive(Archive):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.conninfo, self.schema = split_schema(url)

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row, connect_timeout=10)
        conn.execute("SET TIME ZONE 'UTC'")
        if self.schema:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(f'SET search_path TO "{self.schema}"')
        return conn

    def _run(self, conn: psycopg.Connection, sql: str, params: Sequence[Any]) -> Any:
        return conn.execute(to_pyformat(sql), tuple(params))

    def _rows(self, cursor: Any) -> list[dict[str, Any]]:
        return list(cursor.fetchall()) if cursor.description else []

    def _begin(self, conn: psycopg.Connection) -> None:
        conn.execute("BEGIN")

    def _end(self, conn: psycopg.Connection, commit: bool) -> None:
        conn.execute("COMMIT" if commit else "ROLLBACK")

    def iter_rows(self, sql: str, params: Sequence[Any] = (), batch: int = 500) -> Iterator[dict[str, Any]]:
        # Server-side cursor on its own connection: constant memory on the client.
        conn = self._connect()
        try:
            with conn.transaction():
                with conn.cursor(name="akhbar_iter") as cur:
                    cur.itersize = batch
                    cur.execute(to_pyformat(sql), tuple(params))
                    for row in cur:
                        yield row
        finally:
            conn.close()

    def _migration_lock(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_KEY,))

    def migrate(self, target: int | None = None) -> list[int]:
        # CREATE TABLE IF NOT EXISTS races between two first openers; the advisory lock
        # taken here around the bookkeeping table makes it safe.
        with self.transaction():
            self._migration_lock()
            self.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        return super().migrate(target)

    def enc_json(self, value: Any) -> Any:
        from crawler.exporters import to_jsonable

        return None if value is None else Jsonb(to_jsonable(value))

    def _write_search_text(self, article_id: int, sort_key: int, title: str, body: str, *, replace: bool) -> None:
        self.execute(
            "INSERT INTO article_text (article_id, sort_key, title, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (article_id) DO UPDATE SET sort_key = excluded.sort_key, title = excluded.title, "
            "body = excluded.body",
            (article_id, sort_key, title, body),
        )

    def _search_rows(self, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None, hi: int | None,
                     sort: str, limit: int, offset: int) -> list[dict[str, Any]]:
        where = ["t.tsv @@ to_tsquery('simple', ?)"]
        params: list[Any] = [q.tsquery()]
        if lo is not None:
            where.append("t.sort_key >= ?")
            params.append(lo)
        if hi is not None:
            where.append("t.sort_key <= ?")
            params.append(hi)
        where += [f"a.{c} = ?" for c, _ in filters]
        params += [v for _, v in filters]
        cond = " AND ".join(where)
        join = "JOIN articles a ON a.id = t.article_id" if filters else ""
        if sort == "date":
            sql = (
                f"SELECT a.* FROM (SELECT t.article_id, t.sort_key FROM article_text t {join} WHERE {cond} "
                "ORDER BY t.sort_key DESC LIMIT ? OFFSET ?) c JOIN articles a ON a.id = c.article_id "
                "ORDER BY c.sort_key DESC"
            )
            return self.fetch(sql, [*params, limit, offset])
        # Rank the newest N matches with ts_rank (per-document work, no whole-index statistics).
        k = self.relevance_candidates if not filters else max(1, self.relevance_candidates * 2 // 3)
        sql = (
            "SELECT a.*, r.score AS score FROM ("
            "SELECT c.article_id, c.sort_key, ts_rank(c.tsv, to_tsquery('simple', ?)) AS score FROM ("
            f"SELECT t.article_id, t.sort_key, t.tsv FROM article_text t {join} WHERE {cond} "
            "ORDER BY t.sort_key DESC LIMIT ?) c ORDER BY score DESC, c.sort_key DESC LIMIT ? OFFSET ?"
            ") r JOIN articles a ON a.id = r.article_id ORDER BY r.score DESC, r.sort_key DESC"
        )
        return self.fetch(sql, [q.tsquery(), *params, k, limit, offset])

    def bare_search(self, q: SearchQuery, limit: int = 20, *, ranked: bool = False) -> list[int]:
        order = "ts_rank(tsv, to_tsquery('simple', ?)) DESC" if ranked else "sort_key DESC"
        params: list[Any] = [q.tsquery()] + ([q.tsquery()] if ranked else []) + [limit]
        rows = self.fetch(
            f"SELECT article_id FROM article_text WHERE tsv @@ to_tsquery('simple', ?) ORDER BY {order} LIMIT ?",
            params,
        )
        return [r["article_id"] for r in rows]

    def like_search(self, text: str, limit: int = 20) -> list[int]:
        rows = self.fetch(
            "SELECT article_id FROM article_text WHERE title LIKE ? OR body LIKE ? ORDER BY sort_key DESC LIMIT ?",
            (f"%{text}%", f"%{text}%", limit),
        )
        return [r["article_id"] for r in rows]

    def drop_schema(self) -> None:
        """Drop this archive's schema and everything in it (tests, teardown)."""
        if not self.schema:
            raise ValueError("drop_schema needs an archive URL with schema=NAME")
        self.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

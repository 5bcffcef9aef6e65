"""PostgreSQL backend (psycopg 3): one archive shared by many crawler machines.

Selected by a ``postgresql://`` archive URL. An extra ``schema=NAME`` query
parameter puts every table in that schema (created when missing), so several
archives, or parallel test runs, share one database. Search uses a ``tsvector``
over the normalised text (``simple`` configuration: normalisation is ours, not a
stemmer's) with a GIN index; each query is steered to walking the date index or to
the GIN bitmap by `crawler.archive.pg_plan`.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from crawler.archive.base import Archive, SearchResult
from crawler.archive.pg_plan import (
    PAIR_INDEX,
    PERIOD_INDEX,
    RECENT_INDEX,
    RECENT_SHARE,
    SLICE_MARGIN,
    STATS_TTL,
    TextStats,
    choose_walk,
    load_stats,
    pair_lexemes,
    pair_tsquery,
    period_bounds_plan,
    period_of,
    period_range_pays,
    range_bitmap_pays,
    recent_index_plan,
    slice_cheaper,
    slice_span,
)
from crawler.archive.search import SearchQuery, SearchTimeout, Term, search_budget_default

RANK_ALL_MAX = 100
"""Relevance ranks its candidates with ts_rank when there are at most this many (every
match of a rare query); more, by title and date (see `PostgresArchive._search_rows`)."""
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MIGRATION_LOCK_KEY = 0x616B6862  # "akhb": one advisory lock for schema migrations
log = logging.getLogger(__name__)


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
        self._stats: TextStats | None = None
        self.search_budget = search_budget_default()
        self.use_slices = True
        """Search the newest slice of the archive first where that is cheaper (tests and
        benchmarks compare with False)."""
        self.use_pairs = True
        """Answer quoted phrases from the word-pair index where there is one (tests and
        benchmarks compare with False)."""
        self.use_periods = True
        """Read a period GIN index where a statement's date range lies inside one (tests and
        benchmarks compare with False)."""
        self._plain: dict[tuple[str, ...], bool] = {}

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        conn = psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row, connect_timeout=10)
        conn.execute("SET TIME ZONE 'UTC'")
        # The archive's statements are short index lookups: JIT compilation (triggered by
        # cost estimates of a few large-looking plans) costs 50-200 ms, more than any of
        # them; and a generic plan for a prepared search ignores which words are searched.
        conn.execute("SET jit = off")
        conn.execute("SET plan_cache_mode = force_custom_plan")
        # Nor parallel workers: launching them costs ~5 ms a statement (at 1M a search's
        # bitmap scans of a few hundred rows went parallel; `"الحدود البحريه"` + le12,
        # date-sorted, 64-87 -> 30-33 ms median without them), more than any of its work.
        conn.execute("SET max_parallel_workers_per_gather = 0")
        if self.schema:
            try:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateSchema):
                pass  # IF NOT EXISTS is not atomic: another first opener created it at the same moment
            conn.execute(f'SET search_path TO "{self.schema}"')
        return conn

    def _run(self, conn: psycopg.Connection, sql: str, params: Sequence[Any]) -> Any:
        deadline = getattr(self._local, "deadline", None)
        if deadline is not None:
            # each statement of a search gets what is left of its budget
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                raise SearchTimeout(self.search_budget or 0.0)
            conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(left_ms),))
        return conn.execute(to_pyformat(sql), tuple(params))

    def _run_many(self, conn: psycopg.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(to_pyformat(sql), rows)

    def search(self, *args: Any, **kwargs: Any) -> SearchResult:
        """`Archive.search` under the time budget (`search_budget` seconds; None: none):
        in a transaction whose every statement runs with ``statement_timeout`` set
        (``SET LOCAL``) to what is left of the budget; past it, `SearchTimeout`."""
        budget = self.search_budget
        if not budget:
            return super().search(*args, **kwargs)
        conn = self._conn()
        outer = self._local.depth > 0
        previous = conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"] if outer else None
        try:
            with self.transaction():
                self._local.deadline = time.monotonic() + budget
                try:
                    result = super().search(*args, **kwargs)
                finally:
                    self._local.deadline = None
                if outer:  # SET LOCAL lasts to the end of the caller's transaction
                    conn.execute("SELECT set_config('statement_timeout', %s, true)", (previous,))
                return result
        except psycopg.errors.QueryCanceled:
            raise SearchTimeout(budget) from None

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
                    yield from cur
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

    def _text_stats(self) -> TextStats:
        st = self._stats
        if st is None or time.monotonic() - st.loaded_at > STATS_TTL:
            st = self._stats = load_stats(self)
        return st

    def optimize(self) -> None:
        """After a bulk import: merge the GIN pending lists (every search scans them until
        then), refresh the planner statistics the plan choice reads, and make or renew the
        recent GIN index (`crawler.archive.pg_plan.recent_index_plan`)."""
        self.execute("SELECT gin_clean_pending_list('article_text_tsv'::regclass)")
        self.execute("ANALYZE article_text")
        self.execute("ANALYZE articles")
        self._stats = None
        self._renew_recent_index()
        self._renew_period_indexes()

    def _recent_indexes(self) -> list[str]:
        return [r["name"] for r in self.fetch(
            "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'article_text'::regclass AND c.relname LIKE ?", (RECENT_INDEX + "%",))]

    def _renew_recent_index(self) -> None:
        """A partial GIN index over the newest articles (`RECENT_SHARE` of them), built
        CONCURRENTLY (writers go on) outside a transaction, then the older one dropped;
        kept as is (its pending list merged) while it has not grown much past its share."""
        st = load_stats(self)
        make, want = recent_index_plan(st)
        old = self._recent_indexes()
        if not make:
            for name in old:
                self.execute(f"SELECT gin_clean_pending_list('\"{name}\"'::regclass)")
            self._renew_pair_index()
            return
        cut = self.fetchval("SELECT sort_key FROM article_text ORDER BY sort_key DESC OFFSET ? LIMIT 1", (want,))
        if cut is None:
            return
        name = f"{RECENT_INDEX}_{uuid.uuid4().hex[:8]}"
        concurrently = "" if self._local.depth else "CONCURRENTLY "
        # The predicate is on sort_key + 0, and slice statements repeat their bound on it
        # (`_lower_bound`): PostgreSQL's bitmap planner drops a partial index whose
        # predicate a cheaper B-tree range on the same column already implies
        # (choose_bitmap_and), and read the whole GIN index for narrow slices (140k
        # postings, 20 ms, instead of 1 ms). (btree_gin's (tsv, sort_key) avoided that too,
        # but scanned a wide sort_key range entry by entry: 49 ms for 20k rows.)
        try:
            self.execute(f'CREATE INDEX {concurrently}"{name}" ON article_text USING GIN (tsv) '
                         f"WITH (gin_pending_list_limit = 512) WHERE sort_key + 0 >= {int(cut)}::bigint")
        except psycopg.Error:
            # a failed CONCURRENTLY build leaves an invalid index behind: not read, but written
            self.execute(f'DROP INDEX {concurrently}IF EXISTS "{name}"')
            raise
        for stale in old:
            self.execute(f'DROP INDEX {concurrently}IF EXISTS "{stale}"')
        self.execute("ANALYZE article_text")
        log.info("recent GIN index %s: the newest %d articles (sort_key >= %d)", name, want, cut)
        self._stats = None
        self._renew_pair_index()

    def _renew_pair_index(self) -> None:
        """The recent word-pair index (GIN over `tsv_pairs(tsv)`, migration 370) over the
        same newest articles as the recent words' index: made when missing or when its cut
        is not that index's (renewed with it), built CONCURRENTLY, then the older dropped.
        Expanding an article's pairs costs ~1-3 ms (SQL over its tsv): minutes at 1M for
        the newest tenth, and as much on each insert above the cut."""
        st = load_stats(self)
        if st.recent_cut is None or st.pair_cut == st.recent_cut:
            for name in self._pair_indexes():
                self.execute(f"SELECT gin_clean_pending_list('\"{name}\"'::regclass)")
            return
        if not self.fetchval("SELECT count(*) FROM pg_proc WHERE proname = 'tsv_pairs' "
                             "AND pronamespace = current_schema()::regnamespace"):
            return  # not migrated to 370 (a read-only opener)
        old = self._pair_indexes()
        name = f"{PAIR_INDEX}_{uuid.uuid4().hex[:8]}"
        concurrently = "" if self._local.depth else "CONCURRENTLY "
        try:
            self.execute(f'CREATE INDEX {concurrently}"{name}" ON article_text USING GIN (tsv_pairs(tsv)) '
                         f"WITH (gin_pending_list_limit = 512) WHERE sort_key + 0 >= {int(st.recent_cut)}::bigint")
        except psycopg.Error:
            self.execute(f'DROP INDEX {concurrently}IF EXISTS "{name}"')
            raise
        for stale in old:
            self.execute(f'DROP INDEX {concurrently}IF EXISTS "{stale}"')
        log.info("recent word-pair index %s (sort_key >= %d)", name, st.recent_cut)
        self._stats = None

    def _period_indexes(self) -> list[str]:
        return [r["name"] for r in self.fetch(
            "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'article_text'::regclass AND c.relname LIKE ?", (PERIOD_INDEX + "%",))]

    def _renew_period_indexes(self) -> None:
        """The period GIN indexes (`crawler.archive.pg_plan.PERIOD_INDEX`) below the recent
        index's cut: with none yet, the archive below the cut in periods of as many articles
        as the recent index holds; after the recent index was renewed with a later cut, one
        more period up to it. Built CONCURRENTLY, one at a time; kept otherwise (their
        pending lists merged). Together they index every article below the cut once more
        (as the recent index those above it): an insert writes the whole GIN index and its
        period's (or the recent) one."""
        st = load_stats(self)
        for name in self._period_indexes():
            self.execute(f"SELECT gin_clean_pending_list('\"{name}\"'::regclass)")
        cut = st.recent_cut
        if cut is None:
            return
        keys: list[int] = []
        if not st.periods:
            want = max(1, int(st.rows * RECENT_SHARE))
            # every want-th sort_key below the cut, newest first, while at least half a
            # period remains below it (the oldest period takes the remainder)
            keys = [int(r["sort_key"]) for r in self.fetch(
                "SELECT sort_key FROM (SELECT sort_key, row_number() OVER (ORDER BY sort_key DESC) AS n, "
                "count(*) OVER () AS total FROM article_text WHERE sort_key < ?) s "
                "WHERE n % ? = 0 AND total - n >= ? ORDER BY sort_key DESC", (cut, want, want // 2))]
        concurrently = "" if self._local.depth else "CONCURRENTLY "
        for a, b in period_bounds_plan(keys, cut, st.periods):
            name = f"{PERIOD_INDEX}_{uuid.uuid4().hex[:8]}"
            pred = (f"sort_key + 0 >= {int(a)}::bigint AND " if a is not None else "") + f"sort_key + 0 < {int(b)}::bigint"
            t0 = time.monotonic()
            try:
                self.execute(f'CREATE INDEX {concurrently}"{name}" ON article_text USING GIN (tsv) '
                             f"WITH (gin_pending_list_limit = 512) WHERE {pred}")
            except psycopg.Error:
                self.execute(f'DROP INDEX {concurrently}IF EXISTS "{name}"')
                raise
            log.info("period GIN index %s (%s) in %.1f s", name, pred, time.monotonic() - t0)
        self._stats = None

    def _period_range(self, col: str, lo: int | None, hi: int | None,
                      q: SearchQuery) -> tuple[list[str], list[Any]] | None:
        """The conditions (and their parameters) for ``lo <= col <= hi`` on the GIN path when
        one period index holds that whole range: the index's own predicate repeated (so the
        planner can prove it; redundant for the rows), and the range itself, on ``col`` (a
        B-tree bitmap the planner may AND in) where that pays (`period_range_pays`), else on
        ``col + 0`` (tested on the period's matches as they are fetched), and not at all when
        it is the whole period. None: no period index holds it (or `use_periods` is off)."""
        st = self._stats
        if not self.use_periods or st is None or not st.periods:
            return None
        period = period_of(st, lo, hi)
        if period is None or hi is None:
            return None
        a, b = period
        conds = [f"{col} + 0 < ?"]
        params: list[Any] = [b]
        if a is not None:
            conds.append(f"{col} + 0 >= ?")
            params.append(a)
        if lo == a and hi == b - 1:
            return conds, params
        plus = "" if period_range_pays(st, q, lo, hi, period) else " + 0"
        if lo is not None:
            conds.append(f"{col}{plus} >= ?")
            params.append(lo)
        conds.append(f"{col}{plus} <= ?")
        params.append(hi)
        return conds, params

    def _pair_indexes(self) -> list[str]:
        return [r["name"] for r in self.fetch(
            "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'article_text'::regclass AND c.relname LIKE ?", (PAIR_INDEX + "%",))]

    def _lower_bound(self, col: str, lo: int, q: SearchQuery | None) -> list[str]:
        """The conditions for ``col >= lo`` (each takes `lo` as its parameter). On the GIN
        path (`q` given), at or above the recent index's cut, the bound is repeated on
        ``sort_key + 0`` as the index's predicate is, so the planner may use that index;
        only that form (no B-tree range for the planner to AND in) exactly at the cut, where
        the index's predicate is the bound (8 ms at 1M for 100k rows, for nothing), and
        where the range would cost more than fetching the words' recent matches
        (`range_bitmap_pays`)."""
        st = self._stats
        if q is None or st is None or st.recent_cut is None or lo < st.recent_cut:
            return [f"{col} >= ?"]
        if lo == st.recent_cut or not range_bitmap_pays(st, q, lo):
            return [f"{col} + 0 >= ?"]
        return [f"{col} >= ?", f"{col} + 0 >= ?"]

    def _candidates_sql(self, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None, hi: int | None,
                        needed: int, with_tsv: bool, walk: bool | None) -> tuple[str, list[Any]]:
        """``SELECT article_id, sort_key[, tsv]`` of the matches, newest first (no LIMIT yet).

        Walk: ``ts_match_vq`` (the function behind ``@@``) cannot use the GIN index, so
        the planner walks a ``sort_key`` index: ``article_text``'s, or with a filter the
        ``articles`` (source, sort_key)-style index, probing each row's text. GIN:
        ``ORDER BY sort_key + 0`` cannot use a date index, so the planner takes the GIN
        bitmap (and a top-N sort). See `crawler.archive.pg_plan`."""
        phrase = any(len(t.words) > 1 for t in q.terms)
        pairs = self._pairs(q)
        st = self._stats
        if pairs is not None and st is not None and st.pair_cut is not None and lo is not None and lo >= st.pair_cut:
            return self._pair_candidates_sql(q, pairs, filters, lo, hi)
        if walk is False and (phrase or filters):
            return self._phrase_candidates_sql(q, filters, lo, hi, with_tsv, phrase)
        match = "ts_match_vq(t.tsv, to_tsquery('simple', ?))" if walk else "t.tsv @@ to_tsquery('simple', ?)"
        # with filters, drive from articles (their indexes end in sort_key); a.sort_key
        # always equals t.sort_key (written in the same transaction)
        key = "a.sort_key" if filters else "t.sort_key"
        where = [match]
        params: list[Any] = [q.tsquery()]
        period = self._period_range(key, lo, hi, q) if walk is False and not filters else None
        if period is not None:
            where += period[0]
            params += period[1]
        else:
            if lo is not None:
                conds = self._lower_bound(key, lo, q if walk is False and not filters else None)
                where += conds
                params += [lo] * len(conds)
            if hi is not None:
                where.append(f"{key} <= ?")
                params.append(hi)
        where += [f"a.{c} = ?" for c, _ in filters]
        params += [v for _, v in filters]
        join = "JOIN articles a ON a.id = t.article_id" if filters else ""
        order = key if walk is not False else f"{key} + 0"
        cols = f"t.article_id, {key} AS sort_key" + (", t.tsv" if with_tsv else "")
        return f"SELECT {cols} FROM article_text t {join} WHERE {' AND '.join(where)} ORDER BY {order} DESC", params

    def _phrase_candidates_sql(self, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None,
                               hi: int | None, with_tsv: bool, phrase: bool) -> tuple[str, list[Any]]:
        """Phrases and filters on the GIN path. GIN has no positions, so a phrase query
        re-reads the ``tsv`` of every article holding all its words before sorting, and a
        filter probes ``articles`` for every match. Instead: the GIN bitmap of the words
        alone (exact, no re-read: only the narrow heap for sort_key), sorted newest first,
        then the filters and the phrase tested on those in that order, stopping at LIMIT:
        ~LIMIT / (share of candidates passing) probes."""
        words = SearchQuery(tuple(Term((w,), t.prefix and i == len(t.words) - 1)
                                  for t in q.terms for i, w in enumerate(t.words)))
        inner = ["tsv @@ to_tsquery('simple', ?)"]
        params: list[Any] = [words.tsquery()]
        period = self._period_range("sort_key", lo, hi, words)
        if period is not None:
            inner += period[0]
            params += period[1]
        else:
            if lo is not None:
                conds = self._lower_bound("sort_key", lo, words)
                inner += conds
                params += [lo] * len(conds)
            if hi is not None:
                inner.append("sort_key <= ?")
                params.append(hi)
        # filters first (an articles probe, ~6 µs), then the phrase (a TOASTed tsv read,
        # 8-25 µs at 1M), each a LATERAL ... OFFSET 0 probe in date order (a join here
        # becomes a hash join over a seq scan of every tsv). The phrase probe is keyed on
        # the filter probe's output so the planner cannot test the phrase first: with one
        # join of both it did, reading 1,369 tsv values for 200 le12 candidates at 1M.
        # The candidates carry their tsv (a TOAST pointer: read only if the phrase is
        # tested), so the phrase probe needs no second lookup of the row (59 -> 42 ms for
        # the 300 newest of '"ازمه كورونا"' at 1M).
        sql = (f"SELECT c.article_id, c.sk AS sort_key{', m.tsv' if with_tsv else ''} FROM "
               f"(SELECT article_id, sort_key + 0 AS sk, tsv AS ctsv FROM article_text "
               f"WHERE {' AND '.join(inner)} ORDER BY sk DESC) c")
        probe, probe_params, key = self._filter_probe(filters)
        sql += probe
        params += probe_params
        if phrase or with_tsv:
            cond = [f"{key} IS NOT NULL"]
            if phrase:
                cond.append("ts_match_vq(c.ctsv, to_tsquery('simple', ?))")
                params.append(q.tsquery())
            sql += f" CROSS JOIN LATERAL (SELECT c.ctsv AS tsv WHERE {' AND '.join(cond)} OFFSET 0) m"
        sql += " ORDER BY c.sk DESC"
        return sql, params

    @staticmethod
    def _filter_probe(filters: list[tuple[str, Any]]) -> tuple[str, list[Any], str]:
        """The LATERAL probe of `articles` for the filters, in the candidates' order (see
        `_phrase_candidates_sql`): its SQL, its parameters and the column a later probe
        keys on (``c.article_id`` without filters)."""
        if not filters:
            return "", [], "c.article_id"
        return (" CROSS JOIN LATERAL (SELECT a.id FROM articles a WHERE "
                + " AND ".join(["a.id = c.article_id", *(f"a.{col} = ?" for col, _ in filters)]) + " OFFSET 0) f",
                [v for _, v in filters], "f.id")

    def _pairs(self, q: SearchQuery) -> tuple[list[str], SearchQuery, bool] | None:
        """`pg_plan.pair_lexemes` of `q` when the word-pair index can answer it here."""
        st = self._stats
        if not self.use_pairs or st is None or st.pair_cut is None:
            return None
        plan = pair_lexemes(q)
        if plan is None:
            return None
        for t in q.terms:
            if len(t.words) > 1 and not self._plain_words(t.words):
                return None
        return plan

    def _plain_words(self, words: tuple[str, ...]) -> bool:
        """Does ``to_tsvector('simple', ...)`` read `words` as themselves, one position
        each? Then the phrase's tsquery is their pairs' (`pg_plan.pair_lexemes` only lets
        letters and digits through; this is the server's word on it, cached)."""
        ok = self._plain.get(words)
        if ok is None:
            got = self.fetchval(
                "SELECT array_agg(lexeme ORDER BY positions[1]) = ?::text[] AND bool_and(cardinality(positions) = 1) "
                "AND max(positions[1]) = ? FROM unnest(to_tsvector('simple', ?))",
                (list(words), len(words), " ".join(words)))
            ok = bool(got) and len(set(words)) == len(words)
            if len(self._plain) > 1000:
                self._plain.clear()
            self._plain[words] = ok
        return ok

    def _pair_candidates_sql(self, q: SearchQuery, pairs: tuple[list[str], SearchQuery, bool],
                             filters: list[tuple[str, Any]], lo: int | None, hi: int | None) -> tuple[str, list[Any]]:
        """Phrases from the word-pair index (migration 370): the bitmap of the phrase's pair
        lexemes (ANDed with the other terms' words and a B-tree range of the slice where the
        planner finds that cheaper), sorted newest first, then the filters probed in that
        order as on the words' GIN path (`_phrase_candidates_sql`). A two-word phrase is
        then exact: no tsv is read. A longer one, or another phrase the pairs cannot answer,
        is still tested on its candidates' tsv."""
        lexemes, rest, check = pairs
        inner = ["tsv_pairs(tsv) @@ ?::tsquery"]
        params: list[Any] = [pair_tsquery(lexemes)]
        if rest.terms:
            inner.append("tsv @@ to_tsquery('simple', ?)")
            params.append(rest.tsquery())
        if lo is not None:
            # `lo` is at or above the pair index's cut (`_candidates_sql`): the bound on
            # sort_key + 0 lets the planner prove the index's predicate, as for the recent
            # words' index (`_lower_bound`), a B-tree range ANDed in only where it pays
            conds = self._lower_bound("sort_key", lo, SearchQuery(tuple(
                Term((w,)) for t in q.terms for w in t.words)))
            if "sort_key + 0 >= ?" not in conds:
                conds.append("sort_key + 0 >= ?")
            inner += conds
            params += [lo] * len(conds)
        if hi is not None:
            inner.append("sort_key <= ?")
            params.append(hi)
        sql = (f"SELECT c.article_id, c.sk AS sort_key FROM "
               f"(SELECT article_id, sort_key + 0 AS sk{', tsv AS ctsv' if check else ''} FROM article_text "
               f"WHERE {' AND '.join(inner)} ORDER BY sk DESC) c")
        probe, probe_params, key = self._filter_probe(filters)
        sql += probe
        params += probe_params
        if check:
            sql += (f" CROSS JOIN LATERAL (SELECT 1 WHERE {key} IS NOT NULL AND "
                    "ts_match_vq(c.ctsv, to_tsquery('simple', ?)) OFFSET 0) m")
            params.append(q.tsquery())
        sql += " ORDER BY c.sk DESC"
        return sql, params

    def _plan(self, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None, hi: int | None,
              needed: int) -> tuple[bool | None, float | None]:
        """(walk the date index?, the span of the newest slice to search first or None);
        see `crawler.archive.pg_plan`."""
        st = self._text_stats()
        if self._pairs(q) is not None and not any(c not in ("source", "topic") for c, _ in filters):
            # above the pair index's cut, the phrase's matches themselves, as a rare word's
            # GIN bitmap gives them: slices from the newest, the first stopping at the cut
            # (`_sliced`), the rest as before (the words' index and the tsv test)
            span = slice_span(st, q, filters, needed)
            if span is not None:
                return False, span
        walk = choose_walk(st, q, filters, lo, hi, needed)
        if walk is None or any(c not in ("source", "topic") for c, _ in filters):
            return walk, None
        if walk and not slice_cheaper(st, q, filters, needed, hi):
            return True, None
        span = slice_span(st, q, filters, needed)
        # no estimate for the slice: the walk or the whole GIN plan, as chosen
        return (walk, None) if span is None else (False, span)

    def _sliced(self, run: Any, lo: int | None, hi: int | None, span: float | None, needed: int, *,
                incremental: bool = False) -> list[dict[str, Any]]:
        """`run(lower, upper, want)` on the newest slice (below `hi`) of `span` sort-key
        units, then on a wider one, until the slices held `needed` rows or reached `lo` or
        the oldest article. A widening that would cross the recent GIN index's cut stops at
        the cut first (a slice above it reads that index's postings only, a tenth of the
        whole index's). The next slice is sized from the matches the last ones held (at
        least 4x wider); none at all: the estimate was far off (a filter value the word
        never meets), and the rest is asked at once.

        `incremental`: `run` returns every match of its slice up to `want` newest first, so
        a wider slice asks only for the part below the last one (`upper`) and for what is
        still missing, and the rows are concatenated: a phrase's tsv is not read twice.
        Otherwise each slice is asked again from `hi` (date order with an OFFSET).

        With period indexes (`incremental` only), every slice stops at the edge of the period
        it starts in, so each statement reads one period's postings; the next is sized for
        the rows still missing at the density met so far, and when that reaches past `lo`
        the rest is asked at once."""
        st = self._stats
        if not self.use_slices or span is None or st is None or st.key_lo is None or st.key_hi is None:
            return list(run(lo, hi, needed))
        floor = max(lo if lo is not None else st.key_lo, st.key_lo)
        top = min(hi, st.key_hi) if hi is not None else st.key_hi
        cut = st.recent_cut
        # relevance's slices each within one period index (or the recent one): a slice
        # reaching past the lower edge of the period it starts in stops at that edge
        edges = sorted({a for a, _ in st.periods if a is not None} | ({cut} if cut is not None else set())) \
            if incremental and self.use_periods and st.periods else []
        got: list[dict[str, Any]] = []
        upper = hi
        while True:
            bound = int(top - span)
            if edges:
                if bound <= floor:  # the rest at once (the whole index, one statement)
                    return got + list(run(lo, upper, needed - len(got)))
                edge = max((e for e in edges if floor < e <= (upper if upper is not None else top)), default=None)
                if edge is not None and bound < edge:
                    bound = edge
            elif cut is not None and bound < cut < top and cut > floor:
                bound = cut
                cut = None  # once
            elif bound <= floor:
                return got + list(run(lo, upper, needed - len(got))) if incremental else list(run(lo, hi, needed))
            rows = list(run(bound, upper, needed - len(got) if incremental else needed))
            if incremental:
                got += rows
                upper = bound - 1
            else:
                got = rows
            if len(got) >= needed:
                return got
            if not got:
                return list(run(lo, hi, needed))
            covered = top - bound
            if edges:
                # no slice is read twice here: sized for what is still missing at the
                # density found so far, a statement a period while that stays within reach,
                # else the rest at once (a statement for each of many thin periods costs more)
                span = covered + SLICE_MARGIN * (needed - len(got)) * covered / len(got)
            else:
                span = covered * max(4.0, SLICE_MARGIN * needed / len(got))

    def _search_rows(self, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None, hi: int | None,
                     sort: str, limit: int, offset: int) -> list[dict[str, Any]]:
        if sort == "date":
            walk, span = self._plan(q, filters, lo, hi, limit + offset)

            def run_date(bound: int | None, upper: int | None, want: int) -> list[dict[str, Any]]:
                inner, params = self._candidates_sql(q, filters, bound, upper, limit + offset, False, walk)
                sql = (
                    f"SELECT a.* FROM ({inner} LIMIT ? OFFSET ?) c JOIN articles a ON a.id = c.article_id "
                    "ORDER BY c.sort_key DESC"
                )
                return self.fetch(sql, [*params, want, offset])

            return self._sliced(run_date, lo, hi, span, limit)
        # Relevance ranks the newest k matches. Few of them (a rare query: every match):
        # ts_rank. Many: as on SQLite, those with the whole query in the title first, each
        # tier newest first, read from the titles alone: ts_rank reads each candidate's
        # whole tsv (a TOASTed ~2 KB value, ~40 µs at 1M), 300 of them a page.
        k = self.relevance_candidates if not filters else max(1, self.relevance_candidates * 2 // 3)
        walk, span = self._plan(q, filters, lo, hi, k)

        def run_cands(bound: int | None, upper: int | None, want: int) -> list[dict[str, Any]]:
            inner, params = self._candidates_sql(q, filters, bound, upper, want, False, walk)
            return self.fetch(f"{inner} LIMIT ?", [*params, want])

        cands = self._sliced(run_cands, lo, hi, span, k, incremental=True)
        if not cands:
            return []
        ids = [c["article_id"] for c in cands]
        key = {c["article_id"]: c["sort_key"] for c in cands}
        if len(cands) <= RANK_ALL_MAX:
            scores = {r["article_id"]: float(r["score"]) for r in self.fetch(
                "SELECT article_id, ts_rank(tsv, to_tsquery('simple', ?)) AS score FROM article_text "
                "WHERE article_id = ANY(?)", [q.tsquery(), ids])}
        else:
            scores = {r["article_id"]: 1.0 if q.matches_words(r["title"]) else 0.0 for r in self.fetch(
                "SELECT article_id, title FROM article_text WHERE article_id = ANY(?)", [ids])}
        ranked = sorted(ids, key=lambda i: (scores.get(i, 0.0), key[i]), reverse=True)[offset:offset + limit]
        if not ranked:
            return []
        by_id = {r["id"]: r for r in self.fetch("SELECT a.* FROM articles a WHERE a.id = ANY(?)", [ranked])}
        return [{**by_id[i], "score": scores.get(i, 0.0)} for i in ranked if i in by_id]

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

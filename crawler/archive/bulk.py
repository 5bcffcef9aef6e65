"""Bulk writes for imports: many new articles in a few statements, inside the caller's
transaction, with the same rows `Archive.upsert_article` would write one at a time.

`prepare` runs wherever it is cheapest (an import's worker processes): it derives
everything that does not need the archive (keys, content hash, the normalised search
text, the date the sort key is made of). The writer then calls `lookup` for the whole
batch (one query per few hundred records instead of two or three per record) and
`insert_new` for the articles no row holds yet: one multi-row ``INSERT`` (SQLite) or
``COPY`` (PostgreSQL) each for the rows, their search text and their seen URLs.

Only plain inserts are done in bulk. A record whose key an archived row (or an earlier
record of the batch) holds, or whose canonical URL is on another host, is left to the
caller's one-at-a-time path (`upsert_article`): updates, versions and the
two-sources-one-address rules are written once, there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawler.archive.base import Archive, _clean_record
from crawler.archive.canonical import fold_url, key_url, own_key_url, site_id_key
from crawler.archive.records import (
    BOOL_FIELDS,
    DATETIME_FIELDS,
    JSON_FIELDS,
    article_dict,
    changed_fields,
    content_hash,
    decode_row,
    encode_json,
    iso_utc,
    merge,
    parse_datetime,
    search_text,
    sort_key_for,
    to_article,
)
from crawler.items import ARTICLE_FIELDS, Article

_IN_CHUNK = 400  # values per IN (...) list: well under every SQLite build's parameter limit
_VOLATILE = ("fetched_at", "warc_record", "http_status")


@dataclass
class Prepared:
    """One article ready to store: what `upsert_article` would derive, computed ahead.

    Built in an import's worker process and sent to the writer: it carries what the bulk
    insert needs and no more (the whole record only for PostgreSQL, which encodes it in
    the writer), since every byte of it is pickled there and unpickled here."""

    source: str
    url_key: str
    skey: str | None
    seen_keys: tuple[str, ...]
    """The folded URLs its ``seen_urls`` rows are keyed on (fetched URL, key URL)."""
    declared_key: str | None
    """The folded declared canonical when it is on another host, else None: such an
    article is keyed by the one-at-a-time path, which looks for this source's row under
    the declared address first (and may key it there)."""
    content_hash: str
    fts_title: str
    fts_body: str
    sort_key: int | None
    """`sort_key_for` its publication (else fetch) time; None: the write time's. (No
    datetime travels: unpickling an aware one costs more than the rest of the row.)"""
    values: tuple[Any, ...] | None = None
    """The Article fields as SQLite stores them (`sqlite_values`), when prepared for SQLite."""
    rec: dict[str, Any] | None = None
    """The article's fields, cleaned as `upsert_article` cleans them: always set by
    `prepare` without `sqlite`; else dropped for the trip to the writer, which sets it
    again (`record`) only to compare with an archived row."""

    def published(self) -> Any:
        """``date_published`` (what story assignment orders reports by): as stored, or None."""
        if self.values is not None:
            return self.values[_PUBLISHED]
        assert self.rec is not None
        return self.rec.get("date_published")

    def fetched(self, archive: Archive, now: datetime) -> Any:
        """``fetched_at`` (else `now`) as `archive` stores it: the seen URLs' last fetch."""
        if self.values is not None and archive.dialect == "sqlite":
            return self.values[_FETCHED] or archive.enc_datetime(now)
        when = self.values[_FETCHED] if self.values is not None else (self.rec or {}).get("fetched_at")
        return archive.enc_datetime(parse_datetime(when) or now)

    def article(self) -> Article:
        """The article again, from what is kept of it (SQLite: its stored encoding, which
        gives the same row back; PostgreSQL: its cleaned record)."""
        if self.values is not None:
            return to_article({"id": None, **dict(zip(ARTICLE_FIELDS, self.values))})
        assert self.rec is not None
        return Article(**self.rec)


_PUBLISHED = ARTICLE_FIELDS.index("date_published")
_FETCHED = ARTICLE_FIELDS.index("fetched_at")


def record(item: Any) -> dict[str, Any]:
    """The article's fields as `upsert_article` cleans them (`Prepared.rec`)."""
    return _clean_record(article_dict(item))


_DT, _JS, _BO = 1, 2, 3
_ENCODERS: tuple[tuple[str, int], ...] = tuple(
    (name, _DT if name in DATETIME_FIELDS else _JS if name in JSON_FIELDS else _BO if name in BOOL_FIELDS else 0)
    for name in ARTICLE_FIELDS)


def sqlite_values(rec: dict[str, Any]) -> tuple[Any, ...]:
    """`SQLiteArchive.encode_field` of every Article field (ISO UTC text, JSON text, 0/1),
    computed where the record is prepared, not in the writer."""
    out: list[Any] = []
    get = rec.get
    for name, kind in _ENCODERS:
        v = get(name)
        if v is None or not kind:
            out.append(v)
        elif kind == _DT:
            out.append(iso_utc(v))
        elif kind == _JS:
            # the common values, as `encode_json` writes them, without its checks
            out.append("[]" if v == [] else "{}" if v == {} else encode_json(v))
        else:
            out.append(int(bool(v)))
    return tuple(out)


def prepare(item: Any, *, sqlite: bool = False) -> Prepared:
    """`sqlite`: also encode the fields as SQLite stores them."""
    rec = record(item)
    keyed = own_key_url(rec.get("url"), rec.get("canonical_url"), ())
    url_key = fold_url(keyed)
    seen = tuple(dict.fromkeys(url_key if u == keyed else fold_url(u) for u in (rec["url"], keyed)))
    declared = key_url(rec.get("url"), rec.get("canonical_url"))
    title, body = search_text(rec)
    when = parse_datetime(rec.get("date_published")) or parse_datetime(rec.get("fetched_at"))
    return Prepared(rec["source"], url_key, site_id_key(rec["source"], rec.get("site_article_id")), seen,
                    None if declared == keyed else fold_url(declared), content_hash(rec), title, body,
                    None if when is None else sort_key_for(when, url_key),
                    sqlite_values(rec) if sqlite else None, rec)


def _chunks(values: Sequence[Any], n: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), n):
        yield values[i:i + n]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


@dataclass
class Existing:
    """A batch's archived rows (`lookup`), and the keys its articles took so far."""

    by_url: dict[str, dict[str, Any]]
    by_site: dict[str, dict[str, Any]]
    taken: set[str] = field(default_factory=set)

    def claim(self, p: Prepared) -> tuple[bool, dict[str, Any] | None]:
        """Route `p`, the batch's next article in order: ``(True, None)`` when it is a plain
        insert (`insert_new`); else ``(False, row)`` for `upsert_article`, with the archived
        row it would update (None when there is none, or when an earlier article of the
        batch holds one of its keys: that row is not the one it will meet). Its keys count
        as taken for the articles after it, a foreign canonical's declared one too."""
        keys = {p.url_key, *((p.skey,) if p.skey else ())}
        earlier = not self.taken.isdisjoint(keys)
        row = self.row_for(p)
        self.taken |= keys
        if p.declared_key is not None:
            self.taken.add(p.declared_key)
        if earlier or p.declared_key is not None or self.qualified(p) or row is not None:
            return False, None if earlier else row
        return True, None

    def row_for(self, p: Prepared) -> dict[str, Any] | None:
        """The row `upsert_article` would find for `p` (site id first, then URL key)."""
        if p.skey and p.skey in self.by_site:
            return self.by_site[p.skey]
        return self.by_url.get(p.url_key)

    def qualified(self, p: Prepared) -> bool:
        """Another source's row holds this URL key, and this source's qualified one exists."""
        return f"{p.source}!{p.url_key}" in self.by_url


def lookup(archive: Archive, preps: Sequence[Prepared]) -> Existing:
    """Every archived row holding one of the batch's keys (URL key, its source-qualified
    form, site id), whole (the unchanged check compares every field)."""
    url_keys = sorted({k for p in preps for k in (p.url_key, f"{p.source}!{p.url_key}")})
    site_keys = sorted({p.skey for p in preps if p.skey})
    by_url: dict[str, dict[str, Any]] = {}
    by_site: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(url_keys):
        for r in archive.fetch(f"SELECT * FROM articles WHERE url_key IN ({_marks(len(chunk))})", chunk):
            by_url[r["url_key"]] = r
    for chunk in _chunks(site_keys):
        for r in archive.fetch(f"SELECT * FROM articles WHERE site_key IN ({_marks(len(chunk))})", chunk):
            by_site[r["site_key"]] = r
    return Existing(by_url, by_site)


def unchanged(row: dict[str, Any], p: Prepared) -> bool:
    """True when upserting `p` over `row` would change nothing but its run id: same
    source, same content hash, no field changed, the per-fetch fields equal too.
    Needs ``p.rec``."""
    if row["source"] != p.source or row["content_hash"] != p.content_hash:
        return False
    assert p.rec is not None, "unchanged() compares the whole record: set Prepared.rec"
    old = decode_row(row)
    merged = merge(old, p.rec)
    if changed_fields(old, merged) or content_hash(merged) != row["content_hash"]:
        return False
    return all(old.get(n) == merged.get(n) for n in _VOLATILE)


def _encode(archive: Archive, name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in DATETIME_FIELDS or name in JSON_FIELDS or name in BOOL_FIELDS:
        return archive.encode_field(name, value)
    return value


def _free_sort_keys(archive: Archive, preps: Sequence[Prepared], now: datetime) -> list[int]:
    """A free sort key for each article (`sort_key_for`, moved up past any taken one),
    checked against the archive in a few queries and against each other."""
    want = [sort_key_for(now, p.url_key) if p.sort_key is None else p.sort_key for p in preps]
    taken: set[int] = set()
    for chunk in _chunks(sorted(set(want))):
        taken.update(r["sort_key"] for r in archive.fetch(
            f"SELECT sort_key FROM articles WHERE sort_key IN ({_marks(len(chunk))})", chunk))
    out: list[int] = []
    used: set[int] = set()
    for key in want:
        while key in taken or key in used:
            key += 1
            if key not in used and archive.fetchone("SELECT 1 AS x FROM articles WHERE sort_key = ?", (key,)):
                taken.add(key)
        used.add(key)
        out.append(key)
    return out


_META = ("url_key", "site_key", "sort_key", "content_hash", "version", "archived_at", "updated_at", "run_id")
COLUMNS: tuple[str, ...] = ("id", *ARTICLE_FIELDS, *_META)


def _new_ids(archive: Archive, n: int) -> list[int]:
    if archive.dialect == "postgresql":
        rows = archive.fetch("SELECT nextval(pg_get_serial_sequence('articles', 'id')) AS id "
                             "FROM generate_series(1, ?)", (n,))
        return [int(r["id"]) for r in rows]
    # SQLite: the writer holds the database write lock (BEGIN IMMEDIATE), so nobody else
    # can take these ids before the transaction ends
    top = int(archive.fetchval("SELECT COALESCE(MAX(id), 0) AS m FROM articles") or 0)
    return list(range(top + 1, top + 1 + n))


class TextInsert:
    """A batch's search-text rows (SQLite: each one's FTS5 insert, by trigger) written by a
    helper thread on the writer's own connection, inside its open transaction.

    The FTS5 insert is most of a bulk write's time, and sqlite3 runs it without the GIL:
    meanwhile the writer's thread can do its own Python work (story assignment) instead of
    waiting. The two threads' statements interleave on one connection (SQLite serialises
    each call), one transaction for both: nothing the other thread writes or reads is in
    ``article_text``. `wait` must be called before anything else touches the search text,
    and before the transaction ends (commit or rollback): it re-raises the thread's error,
    so a failed insert fails the batch like any other statement of it."""

    def __init__(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        import threading

        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(conn, rows), name="akhbar-fts", daemon=True)
        self._thread.start()

    def _run(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        try:
            conn.executemany(_TEXT_SQL, rows)
        except BaseException as exc:  # handed to the writer's thread by `wait`
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error


_TEXT_SQL = "INSERT INTO article_text (article_id, sort_key, title, body) VALUES (?, ?, ?, ?)"


def insert_new(archive: Archive, preps: Sequence[Prepared], *, run_id: str | None, now: datetime,
               background: list[TextInsert] | None = None) -> list[int]:
    """Insert articles no row holds yet (the caller checked with `lookup`), with their
    search text and seen URLs; returns their ids. Call inside ``archive.transaction()``:
    a key taken meanwhile raises (unique constraint) and the caller redoes the batch
    one record at a time.

    `background` (SQLite): the search text is written by a `TextInsert` appended to it,
    still running on return; the caller `wait`s for it before the transaction ends,
    also when something else of the batch failed."""
    if not preps:
        return []
    for source in sorted({p.source for p in preps}):
        archive._ensure_source(source, now)
    sort_keys = _free_sort_keys(archive, preps, now)
    ids = _new_ids(archive, len(preps))
    stamp = archive.enc_datetime(now)
    rows = []
    sqlite = archive.dialect == "sqlite"
    for aid, p, skey in zip(ids, preps, sort_keys):
        if sqlite and p.values is not None:
            values = p.values
        else:
            rec = p.rec
            assert rec is not None, "prepared without sqlite: the record is kept"
            values = tuple(_encode(archive, n, rec.get(n)) for n in ARTICLE_FIELDS)
        rows.append((aid, *values, p.url_key, p.skey, skey, p.content_hash, 1, stamp, stamp, run_id))
    text_rows = [(aid, skey, p.fts_title, p.fts_body) for aid, p, skey in zip(ids, preps, sort_keys)]
    seen_rows: list[tuple[Any, ...]] = []
    for aid, p in zip(ids, preps):
        fetched = p.fetched(archive, now)
        seen_rows.extend((key, p.source, aid, fetched) for key in p.seen_keys)
    if archive.dialect == "postgresql":
        _copy(archive, "articles", COLUMNS, rows)
        _copy(archive, "article_text", ("article_id", "sort_key", "title", "body"), text_rows)
    else:
        conn = archive._conn()
        conn.executemany(f"INSERT INTO articles ({', '.join(COLUMNS)}) VALUES ({_marks(len(COLUMNS))})", rows)
        _upsert_seen(archive, seen_rows)
        if background is not None:
            background.append(TextInsert(conn, text_rows))
        else:
            conn.executemany(_TEXT_SQL, text_rows)
        return ids
    _upsert_seen(archive, seen_rows)
    return ids


def _copy(archive: Archive, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    conn = archive._conn()
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)


_SEEN_SQL = ("INSERT INTO seen_urls (url_key, source, article_id, last_fetched_at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT (url_key) DO UPDATE SET article_id = excluded.article_id, "
             "last_fetched_at = excluded.last_fetched_at, source = excluded.source "
             "WHERE seen_urls.source = excluded.source")


def _upsert_seen(archive: Archive, rows: Sequence[tuple[Any, ...]]) -> None:
    """As `upsert_article` writes them: a URL another source fetched stays that source's."""
    archive.execute_many(_SEEN_SQL, rows)

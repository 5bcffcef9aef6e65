"""The batched story assignment (`StoryIndex.add_batch`: the store reads a batch's band
rows, candidates and heads ahead and writes at flush) gives exactly what assigning one
article at a time, each in its own transaction, gives: the same story ids, canonical
flags, story heads and sizes, related stories and index rows, on SQLite and PostgreSQL.
The labelled pairs arrive shuffled, so earlier reports of a story come later (stories
renamed) and stories merge inside a batch."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from crawler.archive import open_archive
from crawler.dedup import ArchiveDedup
from crawler.dedup.engine import Head, epoch_keys, published_key
from crawler.dedup.stories import iter_article_rows
from crawler.items import Article
from tests.test_dedup_archive import DOCS, check_labels, url_of

ORDER = random.Random(7).sample(DOCS, len(DOCS))


def _other(url: str, tag: str) -> str:
    """A second empty archive on the same backend as `url`."""
    if url.startswith("sqlite:///"):
        return url.replace("archive.sqlite3", f"archive-{tag}.sqlite3")
    return f"{url}{tag}"


@pytest.fixture
def archives(archive_url: str) -> Iterator[dict[str, Any]]:
    """Three archives holding the same articles (same ids): one for each path."""
    opened = {tag: open_archive(archive_url if tag == "one" else _other(archive_url, tag))
              for tag in ("one", "rows", "many")}
    try:
        for a in opened.values():
            _store(a, ORDER)
        yield opened
    finally:
        for tag, a in opened.items():
            if tag != "one" and a.dialect == "postgresql":
                a.drop_schema()
            a.close()


def _store(archive: Any, docs: list[dict[str, Any]], *, body_suffix: str = "", shift: int = 0) -> list[int]:
    ids = []
    for d in docs:
        when = datetime.fromisoformat(d["published"]).replace(tzinfo=UTC)
        art = Article(url=url_of(d), source=d["source"], title=d["title"], body_text=d["body"] + body_suffix,
                      date_published=when.replace(day=max(1, when.day - shift)))
        ids.append(archive.upsert_article(art).id)
    return ids


def snapshot(archive: Any) -> dict[str, Any]:
    """Everything story assignment writes, keyed by URL (ids agree anyway)."""
    url = {r["id"]: r["url"] for r in archive.fetch("SELECT id, url FROM articles")}
    return {
        "articles": sorted((r["url"], r["story_id"], bool(r["is_canonical"]))
                           for r in archive.fetch("SELECT url, story_id, is_canonical FROM articles")),
        "stories": sorted((r["story_id"], r["head_published"], r["head_key"], url.get(r["canonical_id"]), r["size"])
                          for r in archive.fetch("SELECT * FROM stories")),
        "related": sorted((r["story_id"], r["related_id"], round(float(r["score"]), 9))
                          for r in archive.fetch("SELECT * FROM story_related")),
        "docs": sorted((url[r["article_id"]], r["story_id"], r["published"], r["key"], bytes(r["shingles"]),
                        r["figures"]) for r in archive.fetch("SELECT * FROM dedup_doc")),
        "bands": sorted((r["band_key"], url[r["article_id"]]) for r in archive.fetch("SELECT * FROM dedup_band")),
    }


def _ids(archive: Any) -> list[int]:
    by_url = {r["url"]: r["id"] for r in archive.fetch("SELECT id, url FROM articles")}
    return [by_url[url_of(d)] for d in ORDER]


def _batches(xs: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(xs), n):
        yield xs[i:i + n]


def test_batches_give_the_stories_of_one_article_at_a_time(archives: dict[str, Any]) -> None:
    one, rows, many = archives["one"], archives["rows"], archives["many"]
    for aid in _ids(one):
        assert ArchiveDedup(one).assign(aid) is not None
    # the import's path: fingerprints computed ahead, nothing indexed yet
    dedup = ArchiveDedup(rows)
    for batch in iter_article_rows(rows, batch=10_000):
        order = {r["id"]: r for r in batch}
        rows_in_order = [order[i] for i in _ids(rows)]
        fps = [dedup.fingerprinter.fingerprint(title=r["title"], body=r["body_text"], summary=r["summary"])
               for r in rows_in_order]
        for chunk in _batches(list(zip(rows_in_order, fps)), 37):
            dedup.add_rows([r for r, _ in chunk], [f for _, f in chunk], known_new=True)
    # the crawl's path: ids of a stored batch, looked up first (one id twice)
    ids = _ids(many)
    for chunk in _batches(ids, 50):
        results = ArchiveDedup(many).assign_many([*chunk, chunk[0]])
        assert all(r is not None for r in results)
    want = snapshot(one)
    assert len({s for _, s, _ in want["articles"]}) < len(ORDER)  # stories with several reports
    assert any(r[1] != r[0] for r in want["related"])
    assert snapshot(rows) == want
    assert snapshot(many) == want
    check_labels(rows)


def test_the_stream_whose_workers_read_the_texts_gives_the_stories_of_one_at_a_time(
        archives: dict[str, Any]) -> None:
    """`add_stream` on rows without their texts (a rebuild's): the worker processes read
    them by id from the archive and send back packed fingerprints and band keys; the
    stories are those of one article at a time."""
    one, rows = archives["one"], archives["rows"]
    for aid in _ids(one):
        ArchiveDedup(one).assign(aid)
    keyed = {r["id"]: r for r in rows.fetch("SELECT id, url_key FROM articles")}
    batches = [[keyed[i] for i in chunk] for chunk in _batches(_ids(rows), 37)]
    done = ArchiveDedup(rows).add_stream(iter(batches), workers=2, known_new=True, per_transaction=100)
    assert done == len(ORDER)
    assert snapshot(rows) == snapshot(one)


def test_reindexing_changed_articles_in_a_batch_matches_one_at_a_time(archives: dict[str, Any]) -> None:
    one, many = archives["one"], archives["many"]
    for a in (one, many):
        ArchiveDedup(a).assign_many(_ids(a))
    # a third of the reports change (text and an earlier date: heads move, stories split)
    changed = ORDER[::3]
    for a in (one, many):
        _store(a, changed, body_suffix=" وأضاف المصدر أن التحقيق ما زال جاريا.", shift=1)
    by_url = {r["url"]: r["id"] for r in one.fetch("SELECT id, url FROM articles")}
    for d in changed:
        ArchiveDedup(one).assign(by_url[url_of(d)])
    by_url = {r["url"]: r["id"] for r in many.fetch("SELECT id, url FROM articles")}
    ArchiveDedup(many).assign_many([by_url[url_of(d)] for d in changed])
    assert snapshot(many) == snapshot(one)


def test_a_band_row_left_without_its_report_does_not_stop_a_batch(archives: dict[str, Any],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """An inconsistent index (a band row whose report is gone) is inserted past, as the
    one-at-a-time path did, instead of failing the batch's COPY forever."""
    one, many = archives["one"], archives["many"]
    ids = _ids(many)
    dedup = ArchiveDedup(many)
    row = many.fetchone("SELECT title, body_text, summary, date_published FROM articles WHERE id = ?", (ids[0],))
    assert row is not None
    fp = dedup.fingerprinter.fingerprint(title=row["title"], body=row["body_text"], summary=row["summary"])
    stale = epoch_keys(fp.band_keys, published_key(row["date_published"]))[0]
    for a in (one, many):
        with a.transaction():
            a.execute("INSERT INTO dedup_band (band_key, article_id) VALUES (?, ?)", (stale, ids[0]))
    for aid in _ids(one):
        ArchiveDedup(one).assign(aid)
    with caplog.at_level(logging.WARNING, logger="crawler.dedup.sqlstore"):
        dedup.assign_many(ids)
    assert snapshot(many) == snapshot(one)
    if many.dialect == "postgresql":
        assert "band rows already stored" in caplog.text


def test_band_rows_read_through_in_lists_give_the_stories_of_the_json_path(archives: dict[str, Any]) -> None:
    """SQLite reads a batch's band rows through ``json_each``; a build without JSON falls
    back to ``IN (...)`` lists (PostgreSQL: one array). Both give the same stories."""
    rows, many = archives["rows"], archives["many"]
    by_json, by_lists = ArchiveDedup(rows), ArchiveDedup(many)
    by_lists.store._json_each = False
    for dedup in (by_json, by_lists):
        ids = _ids(dedup.archive)
        for chunk in _batches(ids, 40):
            assert all(r is not None for r in dedup.assign_many(chunk))
    assert by_json.store._json_each  # this build has JSON: the json_each path ran (SQLite)
    assert snapshot(many) == snapshot(rows)
    check_labels(many)


def test_band_rows_written_mid_transaction_are_found_by_a_later_lookup(archive_url: str) -> None:
    """After the store writes its pending band rows inside a transaction, a lookup of
    the same keys reads them again (they were pending, now stored): the written report
    stays a candidate."""
    archive = open_archive(archive_url)
    try:
        ids = _store(archive, ORDER[:2])
        dedup = ArchiveDedup(archive)
        store = dedup.store
        fp = dedup.fingerprinter.fingerprint(title="t", body=ORDER[0]["body"])
        keys = epoch_keys(fp.band_keys, published_key(ORDER[0]["published"]))
        with archive.transaction():
            store.lock()
            store.prefetch([(keys, ids[1])], 50, known_new=True)  # the keys looked up: none stored
            assert store.candidates(keys, 50) == []
            store.add("k", published_key(ORDER[0]["published"]), "s1", fp, ids[0], keys, new_story=True)
            store.set_head("s1", Head(published_key(ORDER[0]["published"]), "k"))
            store.flush()
            assert store.candidates(keys, 50) == [ids[0]]
            store.prefetch([(keys, ids[1])], 50, known_new=True)
            assert store.candidates(keys, 50) == [ids[0]]
    finally:
        archive.close()

"""The batched `akhbar import` stores what the one-at-a-time import stores, and a
``kill -9`` mid-import loses nothing.

Every import runs the real command in a subprocess against a real archive (SQLite file;
a fresh PostgreSQL schema). Two inputs: the labelled dedup pairs (tests/fixtures/dedup:
near-duplicates and look-alikes, so story ids and canonical reports are exercised) and
the bundled snapshot sample (site sections, tags, local-time dates, republished copies).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from crawler.archive import open_archive

PAIRS = ROOT / "tests" / "fixtures" / "dedup" / "pairs.jsonl.gz"
SAMPLE = ROOT / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"

# Columns that differ between two imports of the same file by design: the row id (an
# implementation detail, and another archive's), when the row was written, by which run.
VOLATILE_COLUMNS = {"id", "archived_at", "updated_at", "run_id"}


def pairs_records() -> list[dict[str, Any]]:
    with gzip.open(PAIRS, "rt", encoding="utf-8") as fh:
        docs = [r for r in map(json.loads, fh) if r["type"] == "doc"]
    return [{"url": f"https://{d['source']}.example/{d['id']}", "source": d["source"], "title": d["title"],
             "body_text": d["body"], "date_published": d["published"] + "+00:00"} for d in docs]


def sample_records() -> list[dict[str, Any]]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh if line.strip()]
    out = []
    for r in recs:
        if r["site"] == "wpdemo":
            continue
        rec: dict[str, Any] = {
            "url": f"https://{r['site']}.example/{r['id']}/{r['slug']}", "source": r["site"], "title": r["title"],
            "body_text": "\n\n".join(r["paragraphs"]), "author": r.get("author"), "section_raw": r.get("section"),
            "tags": r.get("tags") or [], "site_article_id": r["id"], "fetched_at": "2020-10-01T12:00:00+00:00",
            # local time as the sites print it: the dates pipeline resolves it in Casablanca
            "date_published_raw": r["corpus_date"],
        }
        out.append(rec)
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    env["AKHBAR_ARCHIVE_URL"] = url
    return env


def akhbar_import(data: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), "import", *args],
                          cwd=ROOT, env=env_for(url), capture_output=True, text=True, timeout=600)


def snapshot(url: str) -> dict[str, Any]:
    """Everything an import writes, keyed by URL instead of row id."""
    with open_archive(url) as a:
        rows = a.fetch("SELECT * FROM articles ORDER BY url")
        url_of = {r["id"]: r["url"] for r in rows}
        articles = {r["url"]: {k: v for k, v in r.items() if k not in VOLATILE_COLUMNS} for r in rows}
        text = {url_of[r["article_id"]]: (r["sort_key"], r["title"], r["body"])
                for r in a.fetch("SELECT article_id, sort_key, title, body FROM article_text")}
        seen = {r["url_key"]: (r["source"], url_of.get(r["article_id"]))
                for r in a.fetch("SELECT url_key, source, article_id FROM seen_urls")}
        stories = {r["story_id"]: (r["head_published"], r["head_key"], url_of.get(r["canonical_id"]), r["size"])
                   for r in a.fetch("SELECT * FROM stories")}
        related = {(r["story_id"], r["related_id"]): round(float(r["score"]), 6)
                   for r in a.fetch("SELECT * FROM story_related")}
        docs = {url_of[r["article_id"]]: (r["story_id"], r["published"], r["key"], bytes(r["shingles"]), r["figures"])
                for r in a.fetch("SELECT * FROM dedup_doc")}
        bands = sorted((r["band_key"], url_of[r["article_id"]]) for r in a.fetch("SELECT * FROM dedup_band"))
        if a.dialect == "sqlite":
            fts = a.fetchval("SELECT COUNT(*) AS n FROM article_fts WHERE article_fts MATCH ?", ("الحكوم*",))
        else:
            fts = a.fetchval("SELECT COUNT(*) AS n FROM article_text WHERE tsv @@ to_tsquery('simple', 'الحكوم:*')")
    return {"articles": articles, "text": text, "seen": seen, "stories": stories, "related": related,
            "docs": docs, "bands": bands, "fts_matches": fts}


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["articles"].keys() == b["articles"].keys()
    for url, row in a["articles"].items():
        other = b["articles"][url]
        diff = {k: (row[k], other[k]) for k in row if row[k] != other[k]}
        assert not diff, f"{url}: {diff}"
    for part in ("text", "seen", "stories", "related", "docs", "bands", "fts_matches"):
        assert a[part] == b[part], part


def summary(proc: subprocess.CompletedProcess[str]) -> str:
    return next(ln for ln in reversed(proc.stderr.splitlines()) if ln.startswith("import:"))


@pytest.fixture(params=["sqlite", "postgresql"])
def two_archives(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'one.sqlite3'}", f"sqlite:///{tmp_path / 'batched.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_url")
    tag = uuid.uuid4().hex[:8]
    urls = (f"{base}?schema=t_one_{tag}", f"{base}?schema=t_batch_{tag}")
    try:
        yield urls
    finally:
        for u in urls:
            with open_archive(u, migrate=False) as a:
                a.drop_schema()  # type: ignore[attr-defined]


@pytest.mark.parametrize("records", [pairs_records, sample_records], ids=["labelled-pairs", "sample"])
def test_batched_import_stores_what_one_at_a_time_stores(records: Any, two_archives: tuple[str, str],
                                                         tmp_path: Path) -> None:
    recs = records()
    # a record twice (the second a correction): an update inside one batch
    fixed = dict(recs[3], title=recs[3]["title"] + " (تحديث)")
    f = write_jsonl(tmp_path / "in.jsonl", recs + [fixed])
    one, batched = two_archives
    p1 = akhbar_import(tmp_path / "d1", one, str(f), "--one-at-a-time")
    # small batches over two worker processes: many batch boundaries, stories across them
    p2 = akhbar_import(tmp_path / "d2", batched, str(f), "--batch-size", "37", "--workers", "2")
    assert p1.returncode == 0 and p2.returncode == 0, (p1.stderr[-2000:], p2.stderr[-2000:])
    assert summary(p1) == summary(p2) == (f"import: {len(recs) + 1} records read; imported {len(recs) + 1} "
                                          f"(inserted {len(recs)}, updated 1); skipped 0; failed 0")
    a, b = snapshot(one), snapshot(batched)
    assert_same(a, b)
    stories = {r["story_id"] for r in a["articles"].values()}
    assert None not in stories and len(stories) < len(recs)  # near-duplicates joined, and every article has one
    assert {r["topic"] for r in a["articles"].values()} - {None} and all(r["topic"] for r in a["articles"].values())
    # stored records again (as last imported): every one skipped as stored, nothing written
    again = write_jsonl(tmp_path / "again.jsonl", recs[:3] + [fixed] + recs[4:])
    p3 = akhbar_import(tmp_path / "d2", batched, str(again), "--batch-size", "37")
    assert summary(p3) == (f"import: {len(recs)} records read; imported 0 (inserted 0, updated 0); "
                           f"skipped {len(recs)} (unchanged (already stored) {len(recs)}); failed 0")
    assert_same(a, snapshot(batched))


def _count(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_kill_9_mid_import_loses_nothing_and_the_rerun_finishes(tmp_path: Path) -> None:
    # enough records that the import is still running after its first batches commit
    base = pairs_records() + sample_records()
    recs = base + [dict(r, url=r["url"] + "?copy=2", site_article_id=None) for r in base]
    f = write_jsonl(tmp_path / "in.jsonl", recs)
    db = tmp_path / "killed.sqlite3"
    url = f"sqlite:///{db}"
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "d"), "import", str(f),
                             "--batch-size", "20", "--workers", "0"],
                            cwd=ROOT, env=env_for(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        stored = _count(db)
        if stored >= 60:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    at_kill = _count(db)
    assert 60 <= at_kill < len(recs), f"killed with {at_kill} of {len(recs)} stored: not mid-import"
    assert at_kill % 20 == 0  # whole batches only: one transaction each
    rerun = akhbar_import(tmp_path / "d", url, str(f), "--batch-size", "20")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    line = summary(rerun)
    assert f"(inserted {len(recs) - at_kill}, updated 0)" in line and \
        f"skipped {at_kill} (unchanged (already stored) {at_kill})" in line, line
    clean = f"sqlite:///{tmp_path / 'clean.sqlite3'}"
    assert akhbar_import(tmp_path / "c", clean, str(f), "--batch-size", "20").returncode == 0
    assert_same(snapshot(clean), snapshot(url))
    with open_archive(url) as a:
        runs = a.runs(limit=5)
    assert [r["status"] for r in runs][0] == "finished" and all(r["spider"] == "import" for r in runs)


def test_progress_line_only_on_a_terminal(tmp_path: Path) -> None:
    import pty

    f = write_jsonl(tmp_path / "in.jsonl", pairs_records()[:30])
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    piped = akhbar_import(tmp_path / "d", url, str(f))
    assert "/s" not in piped.stderr.replace("records read", "") and "ETA" not in piped.stderr
    # on a terminal: records, rate, share read and ETA, redrawn on one line
    main, sub = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "d"), "import", str(f),
                             "--batch-size", "5"],
                            cwd=ROOT, env=env_for(f"sqlite:///{tmp_path / 'b.sqlite3'}"), stdout=subprocess.DEVNULL,
                            stderr=sub)
    os.close(sub)
    out = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=120)
    os.close(main)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "import: 30 records, " in text and "/s" in text and "% read, ETA" in text, text


def test_a_failed_search_text_insert_in_the_helper_thread_fails_its_batch_cleanly(tmp_path: Path) -> None:
    """The FTS5 insert runs in a helper thread (`bulk.TextInsert`): its error rolls back the
    whole batch (no article without its search text or story), the batch is written again
    one record at a time, and a rerun once the fault is gone stores what is missing, the
    same as an import that never failed."""
    records = pairs_records()[:120]
    records[40]["title"] = "BOOM " + records[40]["title"]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    clean, url = f"sqlite:///{tmp_path / 'clean.sqlite3'}", f"sqlite:///{tmp_path / 'faulty.sqlite3'}"
    assert akhbar_import(tmp_path / "d0", clean, str(src)).returncode == 0
    with open_archive(url) as a:  # a fault only the search text's insert meets, for one record
        a.execute("CREATE TRIGGER boom BEFORE INSERT ON article_text WHEN new.title LIKE '%boom%' "
                  "BEGIN SELECT RAISE(ABORT, 'boom'); END")
    first = akhbar_import(tmp_path / "d1", url, str(src))
    assert "written one record at a time" in first.stderr and "boom" in first.stderr
    with open_archive(url) as a:
        stored = {r["url"] for r in a.fetch("SELECT url FROM articles")}
        assert stored == {r["url"] for r in records} - {records[40]["url"]}
        # nothing half-written: every stored article has its search text and its story
        assert a.fetchval("SELECT COUNT(*) AS n FROM articles WHERE id NOT IN (SELECT article_id FROM article_text) "
                          "OR story_id IS NULL") == 0
        a.execute("DROP TRIGGER boom")
    rerun = akhbar_import(tmp_path / "d1", url, str(src))
    assert rerun.returncode == 0, rerun.stderr
    assert "inserted 1," in summary(rerun)
    with open_archive(url) as a:
        a.execute("INSERT INTO article_fts (article_fts, rank) VALUES ('integrity-check', 1)")
    one, two = snapshot(clean), snapshot(url)
    assert one["text"] == two["text"] and one["articles"].keys() == two["articles"].keys()
    assert one["fts_matches"] == two["fts_matches"]


def test_text_insert_hands_its_error_to_the_writer(tmp_path: Path) -> None:
    from crawler.archive import bulk

    conn = sqlite3.connect(str(tmp_path / "t.sqlite3"), isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TABLE article_text (article_id INTEGER UNIQUE, sort_key INTEGER PRIMARY KEY, "
                 "title TEXT, body TEXT)")
    conn.execute("BEGIN")
    job = bulk.TextInsert(conn, [(1, 10, "a", "b"), (2, 10, "c", "d")])  # the second's sort key is taken
    with pytest.raises(sqlite3.IntegrityError):
        job.wait()
    job.wait()  # raised once: the writer's cleanup may wait again
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT COUNT(*) FROM article_text").fetchone()[0] == 0

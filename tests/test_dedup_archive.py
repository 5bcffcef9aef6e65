"""Dedup in the archive (SQLite and PostgreSQL): stories persist across runs and
processes, canonical = earliest report, related stories, rebuild, concurrent
crawls, the pipeline through `akhbar import`, and the snapshot sample end to end."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import open_archive
from crawler.dedup import ArchiveDedup, related_stories, story_members
from crawler.dedup.fingerprint import DedupParams
from crawler.dedup.sqlstore import IndexMismatch
from crawler.dedup.stories import rebuild, stored_params
from crawler.items import Article

ROOT = Path(__file__).resolve().parent.parent
PAIRS = Path(__file__).parent / "fixtures" / "dedup" / "pairs.jsonl.gz"


def _load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with gzip.open(PAIRS, "rt", encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh]
    return [r for r in recs if r["type"] == "doc"], [r for r in recs if r["type"] == "pair"]


DOCS, PAIRS_LIST = _load()


def url_of(d: dict[str, Any]) -> str:
    return f"https://{d['source']}.example/{d['id']}"


def record(d: dict[str, Any]) -> dict[str, Any]:
    return {"url": url_of(d), "source": d["source"], "title": d["title"], "body_text": d["body"],
            "date_published": d["published"] + "+00:00"}


def store_all(archive: Any, docs: list[dict[str, Any]]) -> dict[str, int]:
    ids = {}
    for d in docs:
        art = Article(url=url_of(d), source=d["source"], title=d["title"], body_text=d["body"],
                      date_published=datetime.fromisoformat(d["published"]).replace(tzinfo=UTC))
        ids[d["id"]] = archive.upsert_article(art).id
    return ids


def partition(archive: Any) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for r in archive.fetch("SELECT url, story_id FROM articles"):
        assert r["story_id"], f"{r['url']} has no story"
        groups[r["story_id"]].add(r["url"])
    return {frozenset(g) for g in groups.values()}


def stories_by_url(archive: Any) -> dict[str, str]:
    return {r["url"]: r["story_id"] for r in archive.fetch("SELECT url, story_id FROM articles")}


def check_labels(archive: Any) -> None:
    sid = stories_by_url(archive)
    by_id = {d["id"]: d for d in DOCS}
    wrong = [p for p in PAIRS_LIST
             if (sid[url_of(by_id[p["a"]])] == sid[url_of(by_id[p["b"]])]) != bool(p["label"])]
    assert not wrong


def check_canonical(archive: Any) -> None:
    rows = archive.fetch("SELECT id, story_id, date_published, is_canonical FROM articles")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["story_id"]].append(r)
    for sid, members in groups.items():
        canon = [m for m in members if m["is_canonical"]]
        assert len(canon) == 1, sid
        first = min(members, key=lambda m: (str(m["date_published"]), m["id"]))
        assert canon[0]["id"] == first["id"]


def test_stories_in_the_archive_match_the_labels(archive_url: str) -> None:
    with open_archive(archive_url) as archive:
        ids = store_all(archive, DOCS)
        dedup = ArchiveDedup(archive)
        # arrival order is not publication order: the latest first
        for d in sorted(DOCS, key=lambda d: d["published"], reverse=True):
            res = dedup.assign(ids[d["id"]])
            assert res is not None and res.story_id
        check_labels(archive)
        check_canonical(archive)

        # the motivating case: one story, the earliest report canonical, the other "also reported by"
        pair = next(p for p in PAIRS_LIST if p["kind"] == "edit:board_meeting")
        sid = archive.fetchval("SELECT story_id FROM articles WHERE id = ?", (ids[pair["a"]],))
        members = story_members(archive, sid)
        assert members[0]["id"] == ids[pair["a"]] and members[0]["is_canonical"] is True
        assert ids[pair["b"]] in {m["id"] for m in members[1:]}
        assert all(m["source"] and m["url"] for m in members)

        # a series member: its siblings are related stories, not the same one
        by_id = {d["id"]: d for d in DOCS}
        series = min((p for p in PAIRS_LIST if p["kind"] == "series"),
                     key=lambda p: abs(datetime.fromisoformat(by_id[p["a"]]["published"])
                                       - datetime.fromisoformat(by_id[p["b"]]["published"])))
        s1 = archive.fetchval("SELECT story_id FROM articles WHERE id = ?", (ids[series["a"]],))
        s2 = archive.fetchval("SELECT story_id FROM articles WHERE id = ?", (ids[series["b"]],))
        assert s1 != s2
        related = related_stories(archive, s1)
        assert s2 in {r["story_id"] for r in related}
        assert all(0 < r["score"] <= 1 and r["title"] for r in related)

        # persisted: a new process (new object) sees the same index; re-assigning changes nothing
        before = partition(archive)
        again = ArchiveDedup(archive)
        assert again.assign(ids[DOCS[0]["id"]]).story_id == stories_by_url(archive)[url_of(DOCS[0])]
        assert partition(archive) == before


def test_rebuild_recomputes_the_same_stories_and_records_thresholds(archive_url: str) -> None:
    with open_archive(archive_url) as archive:
        ids = store_all(archive, DOCS)
        dedup = ArchiveDedup(archive)
        for d in DOCS:
            dedup.assign(ids[d["id"]])
        before = partition(archive)
        assert rebuild(archive, batch=7) == len(DOCS)
        assert partition(archive) == before
        check_canonical(archive)

        # a stricter threshold: recorded, and used by the next ArchiveDedup
        rebuild(archive, DedupParams(strong_jaccard=0.99, match_jaccard=0.99, match_containment=1.0))
        assert stored_params(archive).strong_jaccard == 0.99
        assert len(partition(archive)) > len(before)
        assert ArchiveDedup(archive).fingerprinter.params.strong_jaccard == 0.99

        # parameters the index depends on cannot change silently
        with pytest.raises(IndexMismatch, match="--rebuild"):
            ArchiveDedup(archive, DedupParams(bands=16))

        # an index recorded before passage keys existed keeps working as it was (no
        # passage keys, lead bands) until a rebuild, which takes this version's index
        # parameters and keeps the recorded thresholds
        old = {**json.loads(archive.fetchval("SELECT value FROM dedup_state WHERE name = 'params'")),
               "lead_bands": 8}
        del old["passage_keys"], old["passage_window"]
        with archive.transaction():
            archive.execute("UPDATE dedup_state SET value = ? WHERE name = 'params'", (json.dumps(old),))
        legacy = ArchiveDedup(archive).fingerprinter.params
        assert (legacy.passage_keys, legacy.lead_bands, legacy.strong_jaccard) == (0, 8, 0.99)
        rebuild(archive)
        now = stored_params(archive)
        assert (now.passage_keys, now.lead_bands, now.strong_jaccard) == (DedupParams().passage_keys, 0, 0.99)


def _akhbar(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AKHBAR_LOG_LEVEL="WARNING")
    return subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _write_jsonl(path: Path, recs: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def test_two_crawls_at_once_give_the_stories_of_one(archive_url: str, tmp_path: Path) -> None:
    # the same reports, split between two `akhbar import` processes writing at once
    # (the real pipelines: archive then dedup), against one process alone
    recs = [record(d) for d in DOCS]
    half_a = _write_jsonl(tmp_path / "a.jsonl", recs[0::2])
    half_b = _write_jsonl(tmp_path / "b.jsonl", recs[1::2][::-1])
    env = dict(os.environ, AKHBAR_LOG_LEVEL="WARNING")
    cmd = [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "data")]
    procs = [subprocess.Popen([*cmd, "import", str(f), "--archive", archive_url], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in (half_a, half_b)]
    errs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        errs.append(err)
    single_url = f"sqlite:///{tmp_path / 'single.sqlite3'}"
    done = _akhbar("import", str(_write_jsonl(tmp_path / "all.jsonl", recs)), "--archive", single_url,
                   data=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    with open_archive(archive_url) as two, open_archive(single_url) as one:
        assert two.fetchval("SELECT COUNT(*) FROM articles") == len(DOCS), errs
        assert partition(two) == partition(one)
        assert stories_by_url(two) == stories_by_url(one)  # ids too: they derive from the earliest report
        check_labels(two)
        check_canonical(two)


def test_export_and_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    data = tmp_path / "data"
    recs = [record(d) for d in DOCS[:30]]
    # archived with dedup off: `akhbar dedup` gives them their stories afterwards
    with open_archive(url) as archive:
        for r in recs:
            archive.upsert_article(Article(url=r["url"], source=r["source"], title=r["title"], body_text=r["body_text"],
                                           date_published=datetime.fromisoformat(r["date_published"])))
    res = _akhbar("dedup", "--archive", url, data=data)
    assert res.returncode == 0, res.stderr
    assert "assigned stories to 30 articles" in res.stderr
    res = _akhbar("export", "--archive", url, data=data)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 30
    assert all(r["story_id"] for r in rows)
    per_story: dict[str, int] = defaultdict(int)
    for r in rows:
        per_story[r["story_id"]] += bool(r["is_canonical"])
    assert set(per_story.values()) == {1}

    res = _akhbar("dedup", "--rebuild", "--archive", url, data=data)
    assert res.returncode == 0 and "rebuilt stories for 30 articles" in res.stderr, res.stderr
    res = _akhbar("dedup", "--export", "-", "--archive", url, data=data)
    stories = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(stories) == len(per_story)
    multi = [s for s in stories if s["also_reported_by"]]
    assert multi and all(s["canonical"]["is_canonical"] for s in multi)
    assert all(m["source"] and m["url"] for s in multi for m in s["also_reported_by"])
    res = _akhbar("dedup", "--story", multi[0]["story_id"], "--archive", url, data=data)
    assert res.returncode == 0 and json.loads(res.stdout)["story_id"] == multi[0]["story_id"]
    res = _akhbar("dedup", "--story", "nope", "--archive", url, data=data)
    assert res.returncode == 1 and "no story" in res.stderr


def test_snapshot_sample_republished_copies_are_one_story(tmp_path: Path) -> None:
    """The snapshot's republished stories (story_key ground truth, copies with wire
    edits on other sites) through `akhbar import` (every pipeline)."""
    catalog = pytest.importorskip("crawler.snapshot.catalog")
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    recs, truth = [], {}
    sites = sorted({r["site"] for r in catalog.load_sample()} - {"wpdemo"})
    for site in sites:
        cat = catalog.build_catalog(site, f"http://{site}.test", now)
        for post in cat.posts:
            url = cat.url(post.path)
            recs.append({"url": url, "source": site, "title": post.title,
                         "body_text": "\n\n".join(post.lead_paragraphs()),
                         "date_published": post.published.isoformat()})
            truth[url] = post.record.get("story_key") or url
    assert len(set(truth.values())) < len(truth), "the sample has republished stories"
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    res = _akhbar("import", str(_write_jsonl(tmp_path / "s.jsonl", recs)), "--archive", url, data=tmp_path / "d")
    assert res.returncode == 0, res.stderr
    with open_archive(url) as archive:
        got = stories_by_url(archive)
        archived = set(got)
    expected: dict[str, set[str]] = defaultdict(set)
    for u, key in truth.items():
        if u in archived:
            expected[key].add(u)
    mine: dict[str, set[str]] = defaultdict(set)
    for u, sid in got.items():
        mine[sid].add(u)
    assert {frozenset(g) for g in mine.values()} == {frozenset(g) for g in expected.values()}


# --- schema ---------------------------------------------------------------------------------

_FRESH = """
import json, sys
from crawler.archive import open_archive
from crawler.archive.migrations import MIGRATIONS
archive = open_archive(sys.argv[1], migrate=False)
first = archive.migrate(int(sys.argv[2])) if len(sys.argv) > 2 else []
rest = archive.migrate()
tables = archive.fetchval("SELECT COUNT(*) FROM dedup_band") if 100 in archive.applied_migrations() else None
archive.close()
print(json.dumps({"first": first, "rest": rest, "listed": [m.version for m in MIGRATIONS], "tables": tables,
                  "dedup_imported": sorted(m for m in sys.modules if m.startswith("crawler.dedup"))}))
"""


def _migrate_in_a_fresh_process(url: str, *first: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _FRESH, url, *first], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_fresh_archive_without_dedup_imported_gets_every_migration_in_order(archive_url: str) -> None:
    got = _migrate_in_a_fresh_process(archive_url)
    assert got["dedup_imported"] == []  # the process never imported the dedup package
    assert 100 in got["listed"] and got["listed"] == sorted(got["listed"])
    assert got["rest"] == got["listed"]  # applied in one pass, in ascending order, the stories among them
    assert got["tables"] == 0
    # and the dedup package, imported later, finds its tables there and adds nothing
    with open_archive(archive_url) as archive:
        assert archive.migrate() == []
        ArchiveDedup(archive)
        assert archive.applied_migrations() == got["listed"]


def test_an_archive_from_before_the_stories_upgrades_in_order(archive_url: str) -> None:
    got = _migrate_in_a_fresh_process(archive_url, "20")  # the core schema only, as an early archive
    assert got["first"] and max(got["first"]) == 20 and got["tables"] is not None
    assert got["rest"] == [v for v in got["listed"] if v > 20] and got["rest"][0] == 100

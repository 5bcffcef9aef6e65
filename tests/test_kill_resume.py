"""kill -9 of a crawl at a random moment, then a restart: the restart resumes, and the
archive holds every article of the site exactly once, uncorrupted, each with its story.

`akhbar --sources S crawl le12` runs as a subprocess against a snapshot served by this
process; it is killed with SIGKILL once the snapshot has served a seeded random number
of article pages (so the kill lands mid-crawl, whatever the machine's speed), restarted,
and left to finish; one seed also persists Scrapy's queue (JOBDIR), as scheduled crawls do,
and one pages the REST API 10 posts at a time: the restart finds the newest pages all
archived and must page past them, since the killed run never reached the older ones.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from crawler.snapshot import SnapshotServer

SITE = "le12"
FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_MAX_DELAY=0.2", "-s", "LOG_LEVEL=INFO"]


@pytest.fixture(scope="module")
def snapshot():
    with SnapshotServer(sites=[SITE]) as srv:
        yield srv


def _sources(srv: SnapshotServer, path: Path, per_page: int | None = None) -> Path:
    bundled = (ROOT / "crawler" / "sources.toml").read_text(encoding="utf-8")
    block = re.search(rf"^\[sources\.{SITE}\]\n(?:.*\n)*?base_url = \"[^\"]*\"", bundled, re.M)
    assert block is not None
    start, end = block.span()
    paging = f"\nper_page = {per_page}" if per_page else ""
    text = (bundled[:start] + re.sub(r'base_url = "[^"]*"$', f'base_url = "{srv.base_urls[SITE]}"{paging}', block.group(0))
            + bundled[end:])
    path.write_text(text, encoding="utf-8")
    return path


def _crawl(data: Path, sources: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for var in ("AKHBAR_DATA", "AKHBAR_SOURCES", "AKHBAR_ARCHIVE_URL"):
        env.pop(var, None)
    log = open(data / "crawl.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(data), "--sources", str(sources),
                             "crawl", SITE, *FAST, *extra], cwd=ROOT, env=env, stdout=log, stderr=log)


def _article_hits(srv: SnapshotServer) -> int:
    return sum(n for path, n in srv.hits(SITE).items() if path.startswith("/article/"))


# seed 3 also keeps Scrapy's request queue on disk (JOBDIR), as `akhbar run` crawls do;
# seed 4 pages the REST API (10 posts a page: the site's 52 articles on six pages)
@pytest.mark.parametrize("seed, per_page", [(1, None), (2, None), (3, None), (4, 10)])
def test_kill_9_then_restart_keeps_every_article_once(snapshot: SnapshotServer, tmp_path: Path, seed: int,
                                                      per_page: int | None) -> None:
    truth = snapshot.articles(SITE)
    sources = _sources(snapshot, tmp_path / "sources.toml", per_page)
    data = tmp_path / "data"
    data.mkdir()
    jobdir = ("-s", f"JOBDIR={tmp_path / 'job'}") if seed == 3 else ()
    target = random.Random(seed).randint(2, len(truth) - 5)

    base = _article_hits(snapshot)  # the log spans the module's tests
    proc = _crawl(data, sources, *jobdir)
    deadline = time.monotonic() + 120
    while _article_hits(snapshot) - base < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, f"the crawl ended before {target} article pages were served"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    killed_at = _article_hits(snapshot)

    archive = data / "archive.sqlite3"
    with sqlite3.connect(archive) as db:  # what the killed crawl left: whole rows only
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert before < len(truth)

    proc = _crawl(data, sources, *jobdir)
    assert proc.wait(180) == 0, (data / "crawl.log").read_text()[-3000:]
    # the restart resumed: it fetched (about) what the killed run had not archived
    refetched = _article_hits(snapshot) - killed_at
    assert refetched <= len(truth) - before + 2, (refetched, before)

    with sqlite3.connect(archive) as db:
        db.row_factory = sqlite3.Row
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.execute("INSERT INTO article_fts (article_fts) VALUES ('integrity-check')")
        rows = db.execute("SELECT id, url, title, body_text, story_id, is_canonical FROM articles WHERE source = ?",
                          (SITE,)).fetchall()
        urls = [r["url"] for r in rows]
        assert sorted(urls) == sorted(a["url"] for a in truth)  # every article, exactly once
        titles = {a["url"]: a["title"] for a in truth}
        for r in rows:
            assert r["title"] == titles[r["url"]] and r["body_text"], r["url"]
            assert r["story_id"], f"{r['url']} has no story"
        # stories consistent: each has exactly one canonical report, its size is its reports
        stories = {s["story_id"]: s for s in db.execute("SELECT story_id, canonical_id, size FROM stories")}
        by_story: dict[str, list[sqlite3.Row]] = {}
        for r in rows:
            by_story.setdefault(r["story_id"], []).append(r)
        for sid, reports in by_story.items():
            assert sid in stories, sid
            canon = [r for r in reports if r["is_canonical"]]
            assert len(canon) == 1, (sid, len(canon))
            assert stories[sid]["canonical_id"] == canon[0]["id"]
            assert stories[sid]["size"] == len(reports)
        text_rows = db.execute("SELECT count(*) FROM article_text").fetchone()[0]
        docs = db.execute("SELECT count(*) FROM dedup_doc").fetchone()[0]
        assert text_rows == docs == len(rows)
        runs = db.execute("SELECT status FROM crawl_runs ORDER BY started_at").fetchall()
        assert [r[0] for r in runs][-1] == "finished"


def test_kill_9_with_a_batch_open_then_restart_archives_everything(snapshot: SnapshotServer, tmp_path: Path) -> None:
    """The archive pipeline commits articles in batches (pipelines/archive.py). A kill -9
    while a batch waits loses that batch from the archive and nothing else: its URLs were
    not marked seen either, so the restart fetches and stores them."""
    truth = snapshot.articles(SITE)
    sources = _sources(snapshot, tmp_path / "sources.toml")
    data = tmp_path / "data"
    data.mkdir()
    batch = 8
    # no timer flush during the test: only full batches reach the archive before the kill
    proc = _crawl(data, sources, "-s", f"ARCHIVE_BATCH_ITEMS={batch}", "-s", "ARCHIVE_BATCH_SECONDS=600")
    archive = data / "archive.sqlite3"
    base = _article_hits(snapshot)

    def archived() -> int:
        try:
            with sqlite3.connect(f"file:{archive}?mode=ro", uri=True) as db:
                return db.execute("SELECT count(*) FROM articles").fetchone()[0]
        except sqlite3.Error:  # not created or not migrated yet
            return 0

    # two batches committed, and more articles served than stored: the next batch is open
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not (
            archived() >= 2 * batch and _article_hits(snapshot) - base >= archived() + batch // 2):
        time.sleep(0.01)
    assert proc.poll() is None, "the crawl ended before the kill"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    served = _article_hits(snapshot) - base
    killed_at = _article_hits(snapshot)

    with sqlite3.connect(archive) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        seen = {r[0] for r in db.execute("SELECT article_id FROM seen_urls")}
        ids = {r[0] for r in db.execute("SELECT id FROM articles")}
    assert before % batch == 0 and 2 * batch <= before < served, (before, served)
    assert seen == ids  # a URL is seen only with its stored article

    proc = _crawl(data, sources)  # the project's batches: the last one is stored by its timer
    assert proc.wait(180) == 0, (data / "crawl.log").read_text()[-3000:]
    refetched = _article_hits(snapshot) - killed_at
    assert refetched <= len(truth) - before + 2, (refetched, before)
    with sqlite3.connect(archive) as db:
        rows = db.execute("SELECT url, story_id FROM articles WHERE source = ?", (SITE,)).fetchall()
        assert db.execute("SELECT count(*) FROM dedup_doc").fetchone()[0] == len(rows)
    assert sorted(u for u, _ in rows) == sorted(a["url"] for a in truth)  # every article, exactly once
    assert all(story for _, story in rows)

"""`akhbar --data DIR demo --once`: the whole chain offline, end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

SITES = ("hespress", "hibapress", "le12", "rue20", "belpresse")
REQUIRED = ("title", "body_text", "date_published_raw", "section_raw", "url")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "AKHBAR_LOG_LEVEL": "WARNING"}
    env.pop("AKHBAR_DATA", None)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--data", str(data), "demo", "--once"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return data


def _items(data: Path) -> list[dict]:
    with (data / "items.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_demo_leaves_forty_articles_per_site(demo_dir: Path) -> None:
    counts = Counter(item["source"] for item in _items(demo_dir))
    for site in SITES:
        assert counts[site] >= 40, counts


def test_demo_items_have_the_required_fields(demo_dir: Path) -> None:
    items = _items(demo_dir)
    for field in REQUIRED:
        have = sum(1 for item in items if item.get(field))
        assert have / len(items) >= 0.99, (field, have, len(items))


def test_demo_items_carry_parsed_dates(demo_dir: Path) -> None:
    items = _items(demo_dir)
    parsed = [item for item in items if item.get("date_published")]
    assert len(parsed) / len(items) >= 0.99
    # Aware ISO 8601 with an offset: feed readers need the time zone.
    assert all(item["date_published"][-6] in "+-" for item in parsed)


def test_demo_leaves_the_archive(demo_dir: Path) -> None:
    import sqlite3

    items = _items(demo_dir)
    db = sqlite3.connect(demo_dir / "archive.sqlite3")
    try:
        (n,) = db.execute("SELECT count(*) FROM articles").fetchone()
        (stories,) = db.execute("SELECT count(DISTINCT story_id) FROM articles").fetchone()
    finally:
        db.close()
    assert n == len(items)
    # The snapshot republishes ~20 stories on two or three sites: fewer stories than articles.
    assert 0 < stories < n
    assert list((demo_dir / "warc").glob("*.warc.gz"))


def test_demo_publishes_valid_feeds(demo_dir: Path) -> None:
    import feedparser

    public = demo_dir / "public"
    assert (public / "feeds.opml").exists()
    for name in ("all.rss", "all.atom", "topic-politics.rss", "source-hespress.atom"):
        matches = list(public.rglob(name))
        assert matches, name
        parsed = feedparser.parse(matches[0].read_bytes())
        assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))
        assert 0 < len(parsed.entries) <= 50
    guids = [e.id for e in feedparser.parse((public / "feeds" / "all.rss").read_bytes()).entries]
    assert len(guids) == len(set(guids))


def test_demo_serves_what_it_published(tmp_path: Path) -> None:
    """Plain `akhbar demo` keeps serving: the printed URLs answer while it runs."""
    import re
    import signal
    import urllib.request

    env = {**os.environ, "AKHBAR_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path), "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        front = None
        for line in proc.stdout:
            match = re.match(r"front page\s+(\S+)", line)
            if match:
                front = match.group(1)
                break
        assert front, "demo never printed its front page URL"
        with urllib.request.urlopen(front, timeout=10) as resp:
            page = resp.read().decode("utf-8")
        assert 'dir="rtl"' in page
        with urllib.request.urlopen(front.rstrip("/") + "/feeds/all.rss", timeout=10) as resp:
            assert resp.status == 200 and b"<rss" in resp.read()
        with urllib.request.urlopen(front.rstrip("/") + "/api/articles?limit=1", timeout=10) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0

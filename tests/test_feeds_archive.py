"""Feeds read from a real archive, SQLite and PostgreSQL: one entry per story (the
canonical report), "also reported by" from the story's other reports, topic and
source feeds filtered, `limit` honoured; then `akhbar publish` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from crawler.archive import open_archive
from crawler.items import Article
from feeds.model import story_guid
from feeds.query import ArchiveStore, feeds_from_archive, latest_rows, publish
from feeds.samples import SOURCES, fill_archive, sample_stories

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 7, 16, 12, 0, tzinfo=UTC)


@pytest.fixture
def archive(archive_url: str) -> Iterator[Any]:
    a = open_archive(archive_url)
    yield a
    a.close()


def _article(i: int, **kw: Any) -> Article:
    base = dict(url=f"https://www.hespress.com/a-{i}.html", source="hespress", title=f"خبر {i}",
                body_html=f"<p>نص {i}</p>", date_published=T0 - timedelta(hours=i), topic="politics",
                story_id=f"s{i}", is_canonical=True)
    base.update(kw)
    return Article(**base)


def test_one_entry_per_story_with_other_reports(archive: Any, tmp_path: Path) -> None:
    archive.upsert_many([
        _article(0, canonical_url="https://www.hespress.com/a-0.html?utm_source=x"),
        # the same story on two other sites (one twice), not canonical
        _article(100, url="https://www.le12.ma/b.html", source="le12", story_id="s0", is_canonical=False,
                 title="خبر 0 من le12", date_published=T0 + timedelta(minutes=20)),
        _article(101, url="https://www.le12.ma/b-amp.html", source="le12", story_id="s0", is_canonical=False,
                 date_published=T0 + timedelta(minutes=50)),
        _article(102, url="https://www.rue20.com/c.html", source="rue20", story_id="s0", is_canonical=False,
                 date_published=T0 + timedelta(minutes=30)),
        _article(1, topic="sports", source="le12", url="https://www.le12.ma/1.html"),
        # not yet through dedup: its own story
        _article(2, story_id=None, is_canonical=None, topic=None),
        # no parsed date: cannot be a feed entry
        _article(3, date_published=None, story_id="s3"),
    ])
    feeds = dict((spec.key, stories) for spec, stories in feeds_from_archive(archive, names=dict(SOURCES)))
    assert [s.title for s in feeds["all"]] == ["خبر 0", "خبر 1", "خبر 2"]
    first = feeds["all"][0]
    assert first.url == "https://www.hespress.com/a-0.html?utm_source=x"  # the declared canonical URL
    assert [(o.source, o.url) for o in first.also_reported_by] == [
        ("le12", "https://www.le12.ma/b.html"), ("rue20", "https://www.rue20.com/c.html")]
    assert first.also_reported_by[0].source_name == "LE12"
    assert [s.title for s in feeds["topic-politics"]] == ["خبر 0"]
    assert [s.title for s in feeds["topic-sports"]] == ["خبر 1"]
    assert [s.title for s in feeds["source-le12"]] == ["خبر 1"]
    assert feeds["topic-video"] == []
    assert feeds["all"][0] is feeds["topic-politics"][0]  # one object per story: sanitised once
    assert first.published == T0 and first.published.tzinfo is not None

    report = publish(tmp_path, archive, base_url="http://feeds.test")
    assert report.stories == 3
    # a topic with no story is not published: no file, no OPML entry
    assert not (tmp_path / "public/feeds/topic-video.rss").exists()
    assert (tmp_path / "public/feeds/topic-sports.rss").exists()
    assert b"topic-video" not in (tmp_path / "public/feeds.opml").read_bytes()
    d = feedparser.parse((tmp_path / "public/feeds/all.atom").read_bytes())
    assert d.bozo == 0
    assert [e.id for e in d.entries] == [story_guid(s.url) for s in feeds["all"]]
    related = [link.href for link in d.entries[0].links if link.rel == "related"]
    assert related == ["https://www.le12.ma/b.html", "https://www.rue20.com/c.html"]
    assert (tmp_path / "public/index.html").read_text().startswith("<!DOCTYPE html>")


def test_latest_rows_honours_limit_and_order(archive: Any) -> None:
    fill_archive(archive, sample_stories(70))
    rows = latest_rows(archive, limit=50)
    assert len(rows) == 50
    dates = [r["date_published"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    assert all(r["is_canonical"] for r in rows)
    assert len(latest_rows(archive, source="le12", limit=5)) == 5
    store = ArchiveStore(archive, dict(SOURCES))
    found = store.search("خبر", limit=10)
    assert found and len({s.story_id for s in found}) == len(found)


def test_akhbar_publish_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    a = open_archive(url)
    stories = sample_stories(30)
    fill_archive(a, stories)
    a.close()
    cmd = [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path), "publish", "--limit", "10",
           "--base-url", "https://akhbar.example/"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    # + feeds.opml + index.html; only topics with a story get a feed (the samples use 7 of 16)
    n = 3 * (1 + len({s.topic for s in stories}) + len(SOURCES)) + 2
    assert f"published {n} files" in run.stdout
    d = feedparser.parse((tmp_path / "public/feeds/all.rss").read_bytes())
    assert d.bozo == 0 and len(d.entries) == 10 and d.feed.link == "https://akhbar.example/"
    doc = json.loads((tmp_path / "public/feeds/all.json").read_bytes())
    assert doc["feed_url"] == "https://akhbar.example/feeds/all.json"
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert f"0 written, {n} unchanged" in again.stdout

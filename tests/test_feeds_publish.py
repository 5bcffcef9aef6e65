"""Publishing: atomic replace, unchanged files left alone (same bytes, same mtime),
stale feeds removed, and a publish killed midway leaves every feed file valid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import feedparser
from lxml import etree

from feeds.publish import TMP_PREFIX, clean_stale_temps, publish_stories, write_atomic
from feeds.samples import SOURCES, sample_feeds, sample_stories

ROOT = Path(__file__).resolve().parent.parent


def _snapshot(public: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(public).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in public.rglob("*") if p.is_file()}


def test_unchanged_files_keep_bytes_and_mtime(tmp_path: Path) -> None:
    public = tmp_path / "public"
    stories = sample_stories(60)
    first = publish_stories(public, sample_feeds(stories))
    # a topic feed is published once the topic has a story: the samples use 7 of the 16
    assert first.files == len(first.written) == 1 + 3 * (1 + len({s.topic for s in stories}) + len(SOURCES))
    old = time.time() - 86400
    for p in public.rglob("*"):
        if p.is_file():
            os.utime(p, (old, old))
    before = _snapshot(public)
    again = publish_stories(public, sample_feeds(sample_stories(60)))
    assert again.written == [] and len(again.unchanged) == first.files
    assert _snapshot(public) == before
    # one edited story: only the feeds that show it change
    edited = list(stories)
    edited[1] = replace(edited[1], title="عنوان جديد")  # le12, topic economy
    third = publish_stories(public, sample_feeds(edited))
    changed = {p.rsplit(".", 1)[0] for p in third.written}
    assert changed == {"feeds/all", "feeds/source-le12", "feeds/topic-economy"}
    after = _snapshot(public)
    for rel, (data, mtime) in before.items():
        if rel.rsplit(".", 1)[0] in changed:
            assert after[rel][0] != data and after[rel][1] > mtime
        else:
            assert after[rel] == (data, mtime)


def test_removed_feeds_are_deleted_and_temps_cleaned(tmp_path: Path) -> None:
    public = tmp_path / "public"
    publish_stories(public, sample_feeds(sample_stories(20)))
    fewer = {k: v for k, v in SOURCES.items() if k != "belpresse"}
    stale = public / "feeds" / f"{TMP_PREFIX}all.rss.abc"
    stale.write_bytes(b"<rss")
    os.utime(stale, (time.time() - 3600,) * 2)
    report = publish_stories(public, sample_feeds(sample_stories(20), fewer))
    assert sorted(report.removed) == ["feeds/source-belpresse.atom", "feeds/source-belpresse.json", "feeds/source-belpresse.rss"]
    assert not stale.exists()
    fresh = public / f"{TMP_PREFIX}x"
    fresh.write_bytes(b"x")
    assert clean_stale_temps(public) == 0 and fresh.exists()  # may belong to a running publish
    assert clean_stale_temps(public, older_than=-1) == 1


def test_write_atomic_leaves_no_temp_and_readable_mode(tmp_path: Path) -> None:
    target = tmp_path / "a" / "f.rss"
    assert write_atomic(target, b"one") is True
    assert write_atomic(target, b"one") is False
    assert write_atomic(target, b"two") is True
    assert target.read_bytes() == b"two"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in target.parent.iterdir()] == ["f.rss"]


CHILD = r"""
import sys, time
from datetime import timedelta
from pathlib import Path
from feeds.build import FeedContext, build_feed_files
from feeds.publish import write_files
from feeds.samples import START, sample_feeds, sample_stories

version = int(sys.argv[2])
stories = sample_stories(1500, seed=version, start=START + timedelta(days=version),
                         body_html="<p>" + "نص طويل " * 120 + "</p>")
files = build_feed_files(sample_feeds(stories, limit=150), FeedContext())
print("built", flush=True)
write_files(Path(sys.argv[1]), files)
print("done", flush=True)
"""


def _start(public: Path, version: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(public), str(version)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "built"
    return proc


def _check_all_valid(public: Path) -> dict[str, str]:
    """Every feed file parses, whole; returns file name -> title of its first entry
    (titles differ between versions)."""
    firsts = {}
    for p in sorted((public / "feeds").iterdir()):
        if p.name.startswith(TMP_PREFIX):
            continue
        data = p.read_bytes()
        if p.suffix == ".json":
            doc = json.loads(data)
            assert len(doc["items"]) in (0, 150)
            firsts[p.name] = doc["items"][0]["title"] if doc["items"] else ""
        elif p.stem == "all":
            d = feedparser.parse(data)
            assert d.bozo == 0, f"{p.name}: {d.get('bozo_exception')}"
            assert len(d.entries) == 150
            firsts[p.name] = d.entries[0].title
        else:  # well-formed and complete (lxml is 20x faster than feedparser here)
            root = etree.fromstring(data)
            entries = root.findall("channel/item") or root.findall("{http://www.w3.org/2005/Atom}entry")
            assert len(entries) in (0, 150), p.name
            title = entries[0].find("title") if entries and entries[0].tag == "item" else (
                entries[0].find("{http://www.w3.org/2005/Atom}title") if entries else None)
            firsts[p.name] = title.text if title is not None else ""
    return firsts


def test_publish_killed_midway_leaves_valid_files(tmp_path: Path) -> None:
    public = tmp_path / "public"
    # version 1, complete; then time a complete version 2 write to aim the kills
    proc = _start(public, 1)
    assert proc.wait(120) == 0
    # Timed from "built" to "done", not to the exit: tearing the child down takes longer
    # than the write itself, and kills aimed at the teardown would land after the write.
    proc = _start(public, 2)
    t0 = time.perf_counter()
    assert proc.stdout is not None and proc.stdout.readline().strip() == "done"
    write_seconds = time.perf_counter() - t0
    assert proc.wait(120) == 0
    firsts = _check_all_valid(public)
    mixed = 0
    for i, fraction in enumerate((0.2, 0.4, 0.6, 0.8)):
        version = 3 + i
        proc = _start(public, version)
        time.sleep(write_seconds * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        now = _check_all_valid(public)
        updated = [name for name in now if now[name] != firsts[name]]
        if 0 < len(updated) < len(now):
            mixed += 1  # this kill landed midway: some files new, the rest still the earlier ones
        firsts = now
    assert mixed >= 1, f"no kill landed during the write phase ({write_seconds:.2f}s)"

"""Killing `akhbar publish` at any moment leaves the previous valid feed files in place.

`akhbar publish` runs as a subprocess over a real SQLite archive (600 stories, 150 per
feed, so a publish takes a moment), after newer stories arrived; it is killed with
SIGKILL at several points: 30, 60 and 90 % of a full publish's
duration, and as soon as the first file of the new set appears. After each kill every
file in ``public/`` is byte for byte either the previous publish's version or the new
one (both checked to parse: feedparser, JSON, XML): never a partial file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from conftest import ROOT
from lxml import etree

from crawler.archive import open_archive
from feeds.publish import TMP_PREFIX
from feeds.samples import START, fill_archive, sample_stories

BODY = "<p>" + "نص طويل " * 60 + "</p>"


def _publish(data: Path, archive: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for var in ("AKHBAR_DATA", "AKHBAR_SOURCES", "AKHBAR_ARCHIVE_URL"):
        env.pop(var, None)
    return subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(data), "publish", "--archive", archive,
                             "--limit", "150", "--base-url", "http://feeds.test"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _files(public: Path) -> dict[str, bytes]:
    return {p.relative_to(public).as_posix(): p.read_bytes() for p in public.rglob("*")
            if p.is_file() and not p.name.startswith(TMP_PREFIX)}


def _parses(rel: str, data: bytes) -> None:
    if rel.endswith(".json"):
        doc = json.loads(data)
        assert doc["version"].startswith("https://jsonfeed.org/version/"), rel
    elif rel.endswith((".rss", ".atom")):
        d = feedparser.parse(data)
        assert d.bozo == 0, f"{rel}: {d.get('bozo_exception')}"
    elif rel.endswith((".opml", ".xml")):
        etree.fromstring(data)
    elif rel.endswith(".html"):
        assert data.rstrip().endswith(b"</html>"), rel


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("publish")
    archive = f"sqlite:///{root / 'archive.sqlite3'}"
    a = open_archive(archive)
    fill_archive(a, sample_stories(600, seed=1, body_html=BODY))
    a.close()
    old = root / "old"
    proc = _publish(old, archive)
    assert proc.wait(120) == 0, proc.stderr.read() if proc.stderr else ""
    # newer stories arrive: every non-empty feed changes
    a = open_archive(archive)
    fill_archive(a, [s for s in sample_stories(60, seed=2, body_html=BODY, start=START + timedelta(days=1))])
    a.close()
    new = root / "new"
    shutil.copytree(old / "public", new / "public")
    t0 = time.perf_counter()
    proc = _publish(new, archive)
    assert proc.wait(120) == 0, proc.stderr.read() if proc.stderr else ""
    seconds = time.perf_counter() - t0
    before, after = _files(old / "public"), _files(new / "public")
    assert before.keys() == after.keys()
    for rel in before:  # both versions are valid, so a file equal to one of them is valid
        _parses(rel, before[rel])
        _parses(rel, after[rel])
    assert sum(before[k] != after[k] for k in before) >= 20
    return {"root": root, "archive": archive, "old": old / "public", "before": before, "after": after, "seconds": seconds}


def _kill_and_check(versions: dict[str, Any], name: str, wait: Any) -> str:
    """Publish over a copy of the previous files, SIGKILL it when `wait` returns, check every file."""
    data = versions["root"] / name
    public = data / "public"
    shutil.copytree(versions["old"], public)
    mtimes = {p: p.stat().st_mtime_ns for p in public.rglob("*") if p.is_file()}
    proc = _publish(data, versions["archive"])
    wait(proc, public, mtimes)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    now = _files(public)
    assert now.keys() == versions["before"].keys(), "a feed file vanished"
    new = 0
    for rel, data_now in now.items():
        assert data_now in (versions["before"][rel], versions["after"][rel]), f"{name}: {rel} is neither version"
        new += data_now != versions["before"][rel]
    changed = sum(versions["before"][k] != versions["after"][k] for k in now)
    return "old" if new == 0 else "new" if new == changed else "mixed"


def test_publish_killed_at_any_moment_leaves_whole_files(versions: dict[str, Any]) -> None:
    outcomes = []
    for fraction in (0.3, 0.6, 0.9):
        def after(proc: Any, public: Path, mtimes: dict[Path, int], fraction: float = fraction) -> None:
            time.sleep(versions["seconds"] * fraction)  # a kill point in time, not a synchronisation
        outcomes.append(_kill_and_check(versions, f"kill-{fraction}", after))

    def first_file_replaced(proc: Any, public: Path, mtimes: dict[Path, int]) -> None:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if any(p.stat().st_mtime_ns != m for p, m in mtimes.items()):
                return
            time.sleep(0.0005)
    # every outcome was checked; one kill must land mid-write (a loaded machine may need a retry)
    for attempt in range(3):
        outcomes.append(_kill_and_check(versions, f"kill-first-write-{attempt}", first_file_replaced))
        if outcomes[-1] == "mixed":
            break
    assert "mixed" in outcomes, outcomes

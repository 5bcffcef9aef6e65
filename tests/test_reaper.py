"""Runs whose process is gone are marked crashed by the next command that reads runs
(crawler/ops/reaper.py): a real crawl process killed with SIGKILL, then `akhbar status`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import ROOT

from crawler.archive import open_archive
from crawler.ops.reaper import process_alive, reap_dead_runs


def test_a_killed_crawl_is_marked_crashed_by_the_next_status(archive_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    env["AKHBAR_ARCHIVE_URL"] = archive_url
    # a crawl of the snapshot slowed down so it is still running when killed
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "data"), "crawl", "le12", "--snapshot",
         "-s", "DOWNLOAD_DELAY=2", "-s", "AUTOTHROTTLE_ENABLED=false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        running: list[dict] = []
        while time.monotonic() < deadline and not running:
            time.sleep(0.5)
            try:
                with open_archive(archive_url) as a:
                    running = a.fetch("SELECT id, pid, host FROM crawl_runs WHERE status = 'running'")
            except Exception:
                continue
        assert running, "the crawl never recorded its run"
        assert running[0]["pid"] == proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with open_archive(archive_url) as a:
        assert a.fetchval("SELECT status FROM crawl_runs WHERE id = ?", (running[0]["id"],)) == "running"
    out = subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "data"), "status",
                          "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with open_archive(archive_url) as a:
        row = a.fetchone("SELECT status, finished_at, errors FROM crawl_runs WHERE id = ?", (running[0]["id"],))
    assert row["status"] == "crashed" and row["finished_at"]
    errors = row["errors"] if isinstance(row["errors"], list) else json.loads(row["errors"])
    assert "process" in errors[-1]["message"] and "gone" in errors[-1]["message"]


def test_live_and_remote_runs_are_left_alone(archive_url: str) -> None:
    with open_archive(archive_url) as a:
        a.start_run("live", spider="le12", source="le12")  # this test's own process: alive
        old = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
        a.execute("INSERT INTO crawl_runs (id, source, started_at, status, stats, errors, host, pid) "
                  "VALUES ('remote-new', 'rue20', ?, 'running', ?, ?, 'elsewhere', 1)",
                  (a.enc_datetime(datetime.now(UTC)), a.enc_json({}), a.enc_json([])))
        a.execute("INSERT INTO crawl_runs (id, source, started_at, status, stats, errors, host, pid) "
                  "VALUES ('remote-old', 'hespress', ?, 'running', ?, ?, 'elsewhere', 1)",
                  (a.enc_datetime(datetime.fromisoformat(old)), a.enc_json({}), a.enc_json([])))
        assert reap_dead_runs(a) == ["remote-old"]
        assert {r["id"]: r["status"] for r in a.fetch("SELECT id, status FROM crawl_runs")} == {
            "live": "running", "remote-new": "running", "remote-old": "crashed"}


def test_a_reused_pid_is_not_a_live_run() -> None:
    """A pid whose process started after the run did is not the run's process."""
    assert process_alive(os.getpid(), datetime.now(UTC))
    assert not process_alive(os.getpid(), datetime(2000, 1, 1, tzinfo=UTC))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not process_alive(dead.pid)

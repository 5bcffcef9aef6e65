"""`akhbar optimize`, and `akhbar import` running it after a large import.

What is checked is what optimising does that a search can use: fresh planner statistics
(SQLite's `sqlite_stat1`; PostgreSQL's analyze count of the search table), on both backends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT
from test_import_hostile import line, rec

from crawler.archive import open_archive


def akhbar(data: Path, archive_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    env["AKHBAR_ARCHIVE_URL"] = archive_url
    return subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def analyzed(archive_url: str) -> int:
    """How many times the archive's statistics were gathered (SQLite: 0 or 1, whether any are)."""
    with open_archive(archive_url) as a:
        if a.dialect == "sqlite":
            if not a.fetchval("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"):
                return 0
            return 1 if a.fetchval("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'articles'") else 0
        return int(a.fetchval("SELECT analyze_count FROM pg_stat_user_tables "
                              "WHERE schemaname = current_schema() AND relname = 'article_text'") or 0)


def analyzed_after(archive_url: str, before: int) -> bool:
    # PostgreSQL's statistics reach other sessions at the writer's next report: poll a little
    deadline = time.monotonic() + 10
    while analyzed(archive_url) <= before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def write_records(path: Path, n: int) -> Path:
    path.write_bytes(b"\n".join(line(rec(i)) for i in range(n)) + b"\n")
    return path


def test_optimize_refreshes_the_statistics_searches_plan_with(archive_url: str, tmp_path: Path) -> None:
    src = write_records(tmp_path / "a.jsonl", 30)
    done = akhbar(tmp_path / "d", archive_url, "import", str(src))
    assert done.returncode == 0, done.stderr
    assert "optimis" not in done.stderr  # 30 articles: under the default threshold
    before = analyzed(archive_url)
    done = akhbar(tmp_path / "d", archive_url, "optimize")
    assert done.returncode == 0, done.stderr
    assert "search index merged and statistics refreshed" in done.stdout
    assert analyzed_after(archive_url, before)
    with open_archive(archive_url) as a:  # the same articles, still found
        assert len(a.search("الخبر", limit=50).items) == 30


def test_a_large_import_ends_by_optimising(archive_url: str, tmp_path: Path) -> None:
    before = analyzed(archive_url) if archive_url.startswith("postgresql") else 0
    src = write_records(tmp_path / "a.jsonl", 12)
    done = akhbar(tmp_path / "d", archive_url, "import", str(src), "--optimize-after", "10")
    assert done.returncode == 0, done.stderr
    assert "12 articles inserted; optimising the search index" in done.stderr
    assert analyzed_after(archive_url, before)
    # again: nothing new inserted, so nothing to optimise
    done = akhbar(tmp_path / "d", archive_url, "import", str(src), "--optimize-after", "10")
    assert done.returncode == 0 and "optimis" not in done.stderr, done.stderr


def test_optimize_refuses_an_archive_that_does_not_exist(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'archive.sqlite3'}"
    done = akhbar(tmp_path / "nowhere", url, "optimize")
    assert done.returncode == 2
    assert "akhbar optimize: no archive in" in done.stderr
    assert not (tmp_path / "nowhere" / "archive.sqlite3").exists()

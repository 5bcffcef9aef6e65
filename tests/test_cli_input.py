"""Bad input at the command line, as a new user types it: a data directory with a typo, an
unknown source or topic, dates in Arabic-Indic digits, an inverted date range."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest
from conftest import ROOT

from crawler.archive import open_archive
from crawler.items import Article


def akhbar(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    return subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    from datetime import datetime

    d = tmp_path / "newsdata"
    d.mkdir()
    with open_archive(d / "archive.sqlite3") as a:
        a.upsert_article(Article(url="https://le12.ma/x-1/", source="le12", title="الحكومة تعلن",
                                 body_text="نص عن الحكومة", date_published=datetime(2026, 12, 1, 9, tzinfo=UTC)))
    return d


@pytest.mark.parametrize("command", [["search", "المغرب"], ["status"], ["publish"], ["export"], ["failed"],
                                     ["dedup", "--story", "x"]])
def test_reading_commands_refuse_a_missing_archive(data: Path, command: list[str]) -> None:
    typo = data.parent / "newsdta"
    proc = akhbar(typo, *command)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"akhbar {command[0]}: no archive in {typo}; did you mean {data}? "
        "(`akhbar crawl` or `akhbar import` creates one)")
    assert not typo.exists() or not (typo / "archive.sqlite3").exists(), "a reading command created an archive"


def test_unknown_source_and_topic_list_the_known_ones(data: Path) -> None:
    proc = akhbar(data, "search", "الحكومة", "--source", "nosuch")
    assert proc.returncode == 2 and "unknown source 'nosuch'; known: " in proc.stderr and "le12" in proc.stderr
    proc = akhbar(data, "search", "الحكومة", "--topic", "nosuch")
    assert proc.returncode == 2 and "unknown topic 'nosuch'; known: " in proc.stderr and "politics" in proc.stderr


def test_arabic_indic_dates_and_an_inverted_range(data: Path) -> None:
    proc = akhbar(data, "search", "الحكومة", "--since", "٢٠٢٦-١٢-٠١")
    assert proc.returncode == 0, proc.stderr
    assert "https://le12.ma/x-1/" in proc.stdout
    proc = akhbar(data, "search", "الحكومة", "--since", "2026-12-02", "--until", "2026-11-01")
    assert proc.returncode == 0
    assert "warning: --since 2026-12-02 is after --until 2026-11-01" in proc.stderr

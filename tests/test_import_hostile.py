"""`akhbar import` never stops on one record, and loses nothing it refuses.

Each test runs the real command in a subprocess against a real archive (SQLite file and a
fresh PostgreSQL schema): bad dates, undecodable bytes, wrong value types, a BOM, CRLF,
NUL characters, a giant line, gzip and standard input — and a property-based fuzz that
checks every valid record is stored once and every other line is reported.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from process_support import run_measured

from crawler.archive import open_archive


def akhbar_import(data: Path, archive_url: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    env["AKHBAR_ARCHIVE_URL"] = archive_url
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), "import", *args],
                          cwd=ROOT, env=env, capture_output=True, input=stdin, timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(errors="replace"),
                                       proc.stderr.decode(errors="replace"))


def rec(n: int, **kw: Any) -> dict[str, Any]:
    base = {"url": f"https://le12.ma/import-{n}/", "source": "le12", "title": f"خبر رقم {n}",
            "body_text": f"نص الخبر رقم {n} عن الاقتصاد.", "date_published": "2025-07-16T10:00:00+01:00"}
    base.update(kw)
    return base


def line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def stored(archive_url: str) -> dict[str, dict[str, Any]]:
    with open_archive(archive_url) as a:
        return {r["url"]: r for r in a.iter_articles()}


def test_one_bad_record_never_ends_the_import(archive_url: str, tmp_path: Path) -> None:
    lines = [
        b"\xef\xbb\xbf" + line(rec(1)),                                        # BOM before the first record
        line(rec(2, date_published="0001-01-01T00:00:00+05:00")),             # before year 1 in UTC: kept raw
        line(rec(3, title="عنوان \xe9")).replace("\xe9".encode(), b"\xe9"),    # one undecodable byte
        line(rec(4, tags="وسم واحد")),                                         # a string for tags: one tag
        line(rec(5, http_status="200")),                                       # a numeric string status
        line(rec(6, http_status="ok")),                                        # not a status: rejected
        line(rec(7, tags={"a": 1})),                                           # not a list: rejected
        line(rec(8, title="عنوان\x00 فيه صفر", body_text="نص\x00\x00 فيه أصفار")),  # NULs removed on both backends
        line(rec(9, date_published="9999-12-31T23:59:59-23:59")),             # after the range in UTC: kept raw
        line(rec(10)) + b"\r",                                                 # CRLF
        b"[1, 2, 3]",                                                          # JSON, not an object
        line(rec(11, url="javascript:alert(1)")),                              # not a web address
        line(rec(12, site_article_id=12345, topic_confidence="0.5")),          # numbers where text/number mean it
        line(rec(13)),
    ]
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    errors = tmp_path / "errors.jsonl"
    proc = akhbar_import(tmp_path / "d", archive_url, str(f), "--errors", str(errors))
    assert proc.returncode == 1, proc.stderr
    got = stored(archive_url)
    ok = {1, 2, 4, 5, 8, 9, 10, 12, 13}
    assert set(got) == {f"https://le12.ma/import-{n}/" for n in ok}
    assert got["https://le12.ma/import-1/"]["title"] == "خبر رقم 1"
    two = got["https://le12.ma/import-2/"]
    assert two["date_published_raw"] == "0001-01-01T00:00:00+05:00"
    assert got["https://le12.ma/import-4/"]["tags"] == ["وسم واحد"]
    assert got["https://le12.ma/import-5/"]["http_status"] == 200
    eight = got["https://le12.ma/import-8/"]
    assert (eight["title"], eight["body_text"]) == ("عنوان فيه صفر", "نص فيه أصفار")
    assert got["https://le12.ma/import-12/"]["site_article_id"] == "12345"
    rejected = [json.loads(x) for x in errors.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rejected] == [3, 6, 7, 11, 12]
    reasons = {r["line"]: r["reason"] for r in rejected}
    assert reasons[3].startswith("not UTF-8") and "preview_base64" in rejected[0]
    assert reasons[6].startswith("http_status") and reasons[7].startswith("tags")
    assert "expected a JSON object" in reasons[11] and reasons[12].startswith("url: not an http(s) address")
    assert "import: 14 records read; imported 9 (inserted 9, updated 0)" in proc.stderr
    assert "failed 5 (unreadable lines 1, invalid records 4)" in proc.stderr
    assert ":3: not UTF-8" in proc.stderr
    assert "Scrapy" not in proc.stderr and "monitor" not in proc.stderr  # an import is not a crawl


def test_a_giant_line_is_refused_without_reading_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    f = tmp_path / "giant.jsonl"
    with f.open("wb") as out:
        out.write(line(rec(1)) + b"\n")
        out.write(b'{"url": "https://le12.ma/giant/", "source": "le12", "title": "')
        chunk = "كلمة ".encode() * 10_000
        for _ in range(60 * 1024 * 1024 // len(chunk)):
            out.write(chunk)
        out.write(b'"}\n')
        out.write(line(rec(2)) + b"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    env["AKHBAR_ARCHIVE_URL"] = url
    errors = tmp_path / "errors.jsonl"
    run = run_measured([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "d"), "import", str(f),
                        "--max-line-bytes", "1000000", "--errors", str(errors)],
                       cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert run.code == 1, run.stderr
    assert run.peak_mb < 400, f"peak RSS {run.peak_mb:.0f} MB for a 60 MB line"
    assert set(stored(url)) == {"https://le12.ma/import-1/", "https://le12.ma/import-2/"}
    (entry,) = [json.loads(x) for x in errors.read_text().splitlines()]
    assert entry["line"] == 2 and entry["size"] > 60_000_000 and "longer than 1000000 bytes" in entry["reason"]


def test_gzip_and_standard_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(line(rec(1)) + b"\n" + line(rec(2)) + b"\n"))
    assert akhbar_import(tmp_path / "d", url, str(gz)).returncode == 0
    proc = akhbar_import(tmp_path / "d", url, "-", stdin=line(rec(3)) + b"\r\n" + line(rec(1)) + b"\r\n")
    assert proc.returncode == 0, proc.stderr
    assert "inserted 1, updated 0); skipped 1 (unchanged (already stored) 1)" in proc.stderr
    assert len(stored(url)) == 3


def test_bounds_future_dates_and_giant_titles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    f = tmp_path / "b.jsonl"
    f.write_bytes(b"\n".join([line(rec(1, date_published="2099-01-01T00:00:00+00:00")),
                              line(rec(2, title="ع" * 300_000, tags=[f"t{i}" for i in range(500)])),
                              line(rec(3))]))
    assert akhbar_import(tmp_path / "d", url, str(f)).returncode == 0
    got = stored(url)
    future = got["https://le12.ma/import-1/"]
    assert future["date_published"] is None and future["date_published_raw"] == "2099-01-01T00:00:00+00:00"
    assert future["extra"]["date_future"].startswith("2099-01-01")
    giant = got["https://le12.ma/import-2/"]
    assert len(giant["title"]) == 500 and len(giant["extra"]["title_full"]) == 20_000 and len(giant["tags"]) == 50
    from datetime import datetime, timedelta

    from crawler.archive.records import SORT_SHIFT

    with open_archive(url) as a:
        key = a.fetchval("SELECT sort_key FROM articles WHERE url = ?", ("https://le12.ma/import-1/",))
    # ordered by when it was imported, not by 2099: newer articles published tomorrow come first
    assert key // SORT_SHIFT < (datetime.now(UTC) + timedelta(days=1)).timestamp()


# --- property: random records and random bytes -----------------------------------------

valid_record = st.builds(
    lambda n, title, body, tags: {"url": f"https://example.com/fuzz/{n}", "source": "fuzz", "title": title,
                                  "body_text": body, "tags": tags},
    st.integers(0, 10**9),
    st.text(min_size=1, max_size=40).filter(lambda t: t.replace("\x00", "").strip()),
    st.text(min_size=1, max_size=200).filter(lambda t: t.replace("\x00", "").strip()),
    st.lists(st.text(max_size=10), max_size=5),
)
invalid_line = st.one_of(
    st.binary(min_size=1, max_size=60).filter(lambda b: b.strip(b" \t\r\n\x0b\x0c") and b"\n" not in b and b"\r" not in b),
    st.builds(lambda n: json.dumps({"url": f"https://example.com/bad/{n}", "source": "fuzz", "title": "t",
                                    "body_text": "b", "tags": {"x": n}}).encode(), st.integers()),
    st.builds(lambda t: json.dumps({"title": t}).encode(), st.text(max_size=20)),
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(valid_record.map(lambda r: ("valid", r)),
                                invalid_line.map(lambda b: ("bytes", b))), min_size=1, max_size=25))
def test_fuzz_every_valid_record_stored_once_every_other_line_reported(
        backend: str, lines: list[tuple[str, Any]], tmp_path_factory: pytest.TempPathFactory,
        request: pytest.FixtureRequest) -> None:
    import uuid

    tmp = tmp_path_factory.mktemp("fuzz")
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'archive.sqlite3'}"
    else:
        url = f"{request.getfixturevalue('postgres_url')}?schema=t_fuzz_{uuid.uuid4().hex[:8]}"
    seen: set[str] = set()
    body: list[bytes] = []
    valid: set[str] = set()
    for kind, value in lines:
        if kind == "valid":
            if value["url"] in seen:
                continue
            seen.add(value["url"])
            valid.add(value["url"])
            body.append(line(value))
        else:
            try:  # random bytes that happen to be a valid record are judged as one
                parsed = json.loads(value)
            except (ValueError, UnicodeDecodeError):
                parsed = None
            if isinstance(parsed, dict) and isinstance(parsed.get("url"), str):
                continue
            body.append(value)
    f = tmp / "fuzz.jsonl"
    f.write_bytes(b"\n".join(body) + b"\n")
    errors = tmp / "errors.jsonl"
    try:
        proc = akhbar_import(tmp / "d", url, str(f), "--errors", str(errors))
        got = stored(url) if body else {}
    finally:
        if backend == "postgresql":
            with open_archive(url, migrate=False) as a:
                a.drop_schema()
    rejected = [json.loads(x) for x in errors.read_text().splitlines()] if errors.exists() else []
    # blank as `read_lines` judges it: whitespace once a whole BOM is removed (a lone 0xEF
    # byte is a line that is not UTF-8, reported)
    nonblank = sum(1 for b in body if b.removeprefix(b"\xef\xbb\xbf").strip(b" \t\r\n\x0b\x0c"))
    assert set(got) <= valid and all(u in got or any(str(r.get("record", "")).find(u) >= 0 for r in rejected)
                                     for u in valid), proc.stderr[-2000:]
    assert len(got) + len(rejected) == nonblank, proc.stderr[-2000:]
    assert proc.returncode == (1 if any(not r["reason"].startswith("dropped") for r in rejected) else 0)

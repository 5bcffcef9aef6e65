"""`akhbar reextract` (crawler/reextract.py, crawler/commands/reextract.py): real crawls of
the offline snapshot writing WARC files, with an extractor that has a bug (a spider module
given by SPIDER_MODULES whose le12 page object stops the body after its first paragraph);
then `akhbar reextract` as a subprocess with the project's own extractor, checked in the
archive (same ids, version rows, the new text, stories) and in the published feed; WARC
files missing or cut short, and a response that no longer gives an article."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archive import open_archive
from crawler.warc import WarcReadError, read_record
from tests.conftest import ROOT

BUGGY_SPIDERS = '''
"""le12 with an extraction bug: the body stops after its first paragraph."""
from spiders.le12 import Le12ArticlePage, Le12Spider


class FirstParagraphPage(Le12ArticlePage):
    def _body(self, element):
        for p in element.xpath(".//p")[1:]:
            p.getparent().remove(p)
        return super()._body(element)


class BuggyLe12Spider(Le12Spider):
    name = "le12"
    page_class = FirstParagraphPage
'''


def akhbar(data: Path, *args: str, archive_url: str | None = None, pythonpath: Path | None = None,
           timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    if archive_url:
        env["AKHBAR_ARCHIVE_URL"] = archive_url
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(ROOT)])
    return subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def crawl_with_buggy_extractor(tmp_path: Path, data: Path, archive_url: str | None = None) -> None:
    (tmp_path / "buggy_spiders.py").write_text(BUGGY_SPIDERS, encoding="utf-8")
    run = akhbar(data, "crawl", "le12", "--snapshot", "-s", "SPIDER_MODULES=buggy_spiders",
                 archive_url=archive_url, pythonpath=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]


def articles(url: str) -> dict[int, dict[str, Any]]:
    archive = open_archive(url)
    try:
        return {a["id"]: a for a in archive.iter_articles()}
    finally:
        archive.close()


def summary(stdout: str) -> dict[str, int]:
    m = re.search(r"re-read (\d+), changed (\d+), unchanged (\d+), missing WARC record (\d+), failed (\d+)", stdout)
    assert m, stdout
    return dict(zip(("reread", "changed", "unchanged", "missing", "failed"), map(int, m.groups())))


def plain(html_text: str) -> str:
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", html_text)))


def test_reextract_brings_an_extractor_fix_to_the_archive_and_the_feeds(archive_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    crawl_with_buggy_extractor(tmp_path, data, archive_url)
    before = articles(archive_url)
    assert len(before) >= 50
    assert all(a["warc_record"] and a["version"] == 1 for a in before.values())
    assert all("\n\n" not in (a["body_text"] or "") for a in before.values())  # the bug: one paragraph each

    run = akhbar(data, "reextract", "--source", "le12", archive_url=archive_url)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = summary(run.stdout)
    assert counts["reread"] == len(before) and counts["missing"] == 0 and counts["failed"] == 0
    assert counts["changed"] + counts["unchanged"] == len(before)
    assert counts["changed"] >= 0.8 * len(before), counts
    assert "published " in run.stdout

    after = articles(archive_url)
    assert set(after) == set(before)  # same ids, nothing added
    archive = open_archive(archive_url)
    try:
        changed = 0
        for aid, new in after.items():
            old = before[aid]
            assert (new["url"], new["canonical_url"], new["site_article_id"], new["warc_record"], new["fetched_at"]) == (
                old["url"], old["canonical_url"], old["site_article_id"], old["warc_record"], old["fetched_at"])
            # dates and topics derived again, the same as the crawl's
            assert new["date_published"] == old["date_published"] and new["topic"] == old["topic"]
            assert new["story_id"] is not None
            versions = archive.versions(aid)
            if new["body_text"] == old["body_text"]:
                assert new["version"] == 1 and versions == []
                continue
            changed += 1
            # the fix: the whole body, which begins with what the bug kept
            assert new["body_text"].startswith(old["body_text"]) and new["body_text"].count("\n\n") >= 1
            assert new["version"] == 2 and [v["version"] for v in versions] == [1]
            assert versions[0]["body_text"] == old["body_text"] and versions[0]["body_html"] == old["body_html"]
        assert changed == counts["changed"]
        # dedup ran over every re-extracted article, in the reextract run
        run_row = next(r for r in archive.runs(limit=5) if r["spider"] == "reextract")
        stats = run_row["stats"]
        assert stats["dedup/new_story"] + stats.get("dedup/joined", 0) == len(before)
        assert run_row["layers"]["body_text"] == {"selectors": len(before)}
        stories = archive.fetchval("SELECT COUNT(*) AS n FROM stories")
        assert stories and stories <= len(before)
    finally:
        archive.close()

    # the published feed carries the new text
    feed = json.loads((data / "public" / "feeds" / "all.json").read_text(encoding="utf-8"))
    by_url = {a["url"]: a for a in after.values()}
    seen = 0
    for item in feed["items"]:
        a = by_url.get(item["url"])
        if a is None or a["body_text"] == before[a["id"]]["body_text"]:
            continue
        second = a["body_text"].split("\n\n")[1]
        assert re.sub(r"\s+", " ", second)[:40] in plain(item["content_html"]), item["url"]
        seen += 1
    assert seen >= 5, seen

    # a second run finds nothing left to change
    again = akhbar(data, "reextract", "--no-publish", archive_url=archive_url)
    assert again.returncode == 0, again.stderr[-3000:]
    assert summary(again.stdout) == {"reread": len(before), "changed": 0, "unchanged": len(before), "missing": 0, "failed": 0}
    assert "published " not in again.stdout

    # the selection: fetched since a later day, or another source's articles: none
    fetched = max(a["fetched_at"] for a in after.values())
    later = akhbar(data, "reextract", "--no-publish", "--since", (fetched + timedelta(days=1)).date().isoformat(),
                   archive_url=archive_url)
    assert later.returncode == 0 and summary(later.stdout)["reread"] == 0, later.stderr[-2000:]
    since = akhbar(data, "reextract", "--no-publish", "--since", fetched.date().isoformat(), "--source", "hespress",
                   "--source", "le12", archive_url=archive_url)
    assert since.returncode == 0 and summary(since.stdout)["reread"] == len(before), since.stderr[-2000:]
    bad = akhbar(data, "reextract", "--since", "last tuesday", archive_url=archive_url)
    assert bad.returncode != 0 and "--since: bad date 'last tuesday'" in bad.stderr


def _set_warc(url: str, aid: int, record: dict[str, Any]) -> None:
    archive = open_archive(url)
    try:
        archive.execute("UPDATE articles SET warc_record = ? WHERE id = ?", (archive.enc_json(record), aid))
    finally:
        archive.close()


def test_missing_and_truncated_warc_files_are_reported_per_article_and_the_rest_go_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    crawl_with_buggy_extractor(tmp_path, data)
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    before = articles(url)
    by_offset = sorted(before.values(), key=lambda a: a["warc_record"]["offset"])
    warc = data / by_offset[0]["warc_record"]["file"]
    assert all(a["warc_record"]["file"] == by_offset[0]["warc_record"]["file"] for a in by_offset)

    # 0. an article whose kept response is windows-1256 labelled UTF-8 (docs/faults.md): the
    # crawl's charset fix applies on re-extraction too
    legacy = by_offset[2]
    page = read_record(data, legacy["warc_record"]).body.decode("utf-8").encode("cp1256", "xmlcharrefreplace")
    assert b"charset" in page.lower()
    # 1. the WARC file cut in the middle of a record: that one and every later one are lost
    cut_at = len(by_offset) * 2 // 3
    with warc.open("r+b") as fh:
        fh.truncate(by_offset[cut_at]["warc_record"]["offset"] + 300)
    lost = {a["id"] for a in by_offset[cut_at:]}
    # 2. an article whose WARC file is gone
    gone = by_offset[0]
    _set_warc(url, gone["id"], {**gone["warc_record"], "file": "warc/deleted-run.warc.gz"})
    # 3. an article whose kept response no longer gives an article (no title, no body)
    empty = by_offset[1]
    other = data / "warc" / "other.warc.gz"
    with other.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        body = b"<html><head></head><body><div></div></body></html>"
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                           ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        rec = writer.create_warc_record(empty["url"], "response", payload=BytesIO(body), http_headers=http)
        writer.write_record(rec)
        fh.flush()
        legacy_offset = fh.tell()
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                           ("Content-Length", str(len(page)))], protocol="HTTP/1.1")
        legacy_rec = writer.create_warc_record(legacy["url"], "response", payload=BytesIO(page), http_headers=http)
        writer.write_record(legacy_rec)
    _set_warc(url, empty["id"], {"file": "warc/other.warc.gz", "offset": 0,
                                 "record_id": rec.rec_headers.get_header("WARC-Record-ID")})
    _set_warc(url, legacy["id"], {"file": "warc/other.warc.gz", "offset": legacy_offset,
                                  "record_id": legacy_rec.rec_headers.get_header("WARC-Record-ID")})

    run = akhbar(data, "reextract")
    assert run.returncode == 1, run.stderr[-3000:]  # one failed
    counts = summary(run.stdout)
    assert counts["missing"] == len(lost) + 1 and counts["failed"] == 1
    assert counts["reread"] == len(before) - len(lost) - 1
    assert counts["changed"] + counts["unchanged"] == counts["reread"] - 1
    assert counts["changed"] >= 0.8 * counts["reread"] - 1
    lines = [line for line in run.stderr.splitlines() if line.startswith("akhbar reextract: article ")]
    assert len(lines) == len(lost) + 2
    assert any(f"article {gone['id']} {gone['url']}: WARC file missing: " in line for line in lines)
    first_lost = by_offset[cut_at]
    cut = next(line for line in lines if f"article {first_lost['id']} " in line)
    assert f"WARC file {warc} is truncated" in cut, cut
    for aid in lost:
        assert any(f"article {aid} " in line and "is truncated" in line for line in lines), aid
    assert any(f"article {empty['id']} {empty['url']}: dropped by the pipelines: no_title" in line for line in lines)
    assert "published " in run.stdout  # what was re-extracted reaches the feeds even so

    after = articles(url)
    assert set(after) == set(before)
    for aid in lost | {gone["id"], empty["id"]}:  # kept as they were, nothing lost
        assert after[aid]["body_text"] == before[aid]["body_text"] and after[aid]["version"] == 1
    fixed = [a for a in after.values() if a["id"] not in lost | {gone["id"], empty["id"]}]
    assert sum(a["version"] == 2 for a in fixed) == counts["changed"]
    # decoded as windows-1256: the whole body, beginning with the (UTF-8) paragraph the bug kept
    assert after[legacy["id"]]["body_text"].startswith(before[legacy["id"]]["body_text"])
    assert after[legacy["id"]]["body_text"].count("\n\n") >= 1 and after[legacy["id"]]["title"] == before[legacy["id"]]["title"]


def test_read_record_reads_back_what_the_crawl_wrote_with_its_hints(tmp_path: Path) -> None:
    data = tmp_path / "data"
    crawl_with_buggy_extractor(tmp_path, data)
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    everything = articles(url)
    some = sorted(everything.values(), key=lambda a: a["id"])[:5]
    for a in some:
        kept = read_record(data, a["warc_record"])
        assert kept.url == a["url"] and kept.status == 200 and b"</html>" in kept.body
        assert kept.record_id == a["warc_record"]["record_id"]
        # le12 articles are discovered through its REST API: the hints came along
        assert kept.hints.get("via") == "api" and kept.hints.get("site_article_id") == a["site_article_id"]
        assert kept.hints.get("date_published_raw")
    a = some[0]
    with pytest.raises(WarcReadError, match="holds record"):
        read_record(data, {**a["warc_record"], "record_id": "<urn:uuid:not-this-one>"})
    with pytest.raises(WarcReadError, match="not a response"):
        read_record(data, {**a["warc_record"], "offset": 0, "record_id": None})
    with pytest.raises(WarcReadError, match="WARC file missing"):
        read_record(data, {**a["warc_record"], "file": "warc/none.warc.gz"})
    with pytest.raises(WarcReadError, match="no WARC record reference"):
        read_record(data, None)
    # a file cut inside a record's body (its gzip member ends early)
    first, second = sorted(everything.values(), key=lambda a: a["warc_record"]["offset"])[:2]
    start, nxt = first["warc_record"]["offset"], second["warc_record"]["offset"]
    cut = data / "warc" / "cut.warc.gz"
    cut.write_bytes((data / first["warc_record"]["file"]).read_bytes()[: start + (nxt - start) * 3 // 4])
    with pytest.raises(WarcReadError, match="truncated|unreadable at offset"):
        read_record(data, {**first["warc_record"], "file": "warc/cut.warc.gz"})

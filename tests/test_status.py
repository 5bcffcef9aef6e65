"""Status (crawler/ops/health.py): per source the last run, its health, the next run and
articles per day, from a real archive on both backends; `akhbar status`, GET /api/status
(checked against its OpenAPI schema) and the /status page rendered in headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from email.message import Message
from pathlib import Path

import jsonschema
import pytest

from crawler.archive import open_archive
from crawler.ops.health import WINDOW_DAYS, source_status
from crawler.ops.monitors import record_health
from feeds.web.server import WebServer
from tests.browser_support import check_results, chromium_cmd, dump_dom
from tests.conftest import ROOT
from tests.serving_support import app_server, serving

LE12_PER_DAY = {0: 3, 1: 1, 5: 2, 29: 4}
"""Days ago -> le12 articles published that day (inside the 30-day window)."""
OUTSIDE = {30: 7, -1: 5}
"""Published 30 days ago or tomorrow: outside the window."""
FAILED = {"name": "site_answered", "ok": False, "value": 0, "threshold": "> 0", "message": "the site answered none of 16 requests"}


def _noon(days_ago: int, now: datetime) -> datetime:
    return datetime.combine(now.date() - timedelta(days=days_ago), time(12), UTC)


def fill(url: str, now: datetime) -> None:
    archive = open_archive(url)
    try:
        n = 0
        for days_ago, count in {**LE12_PER_DAY, **OUTSIDE}.items():
            for _ in range(count):
                n += 1
                archive.upsert_article({"url": f"https://le12.ma/a/{n}", "source": "le12", "title": f"t{n}",
                                        "body_text": "b", "date_published": _noon(days_ago, now), "fetched_at": now})
        for i in range(2):  # no parsed date: counted on the day it was fetched
            archive.upsert_article({"url": f"https://rue20.com/u/{i}", "source": "rue20", "title": "t", "body_text": "b",
                                    "fetched_at": now})
        ok_monitor = {"name": "min_articles", "ok": True, "value": 3, "threshold": 1, "message": "3 articles found"}
        archive.start_run("le12-1", spider="le12", source="le12")
        archive.finish_run("le12-1", status="finished", stats={"item_scraped_count": 3, "archive/inserted": 3,
                                                               "archive/updated": 0, "response_received_count": 5,
                                                               "elapsed_time_seconds": 2.5})
        record_health(archive, {"run_id": "le12-1", "source": "le12", "health": "ok", "monitors": [ok_monitor]})
        archive.start_run("rue20-1", spider="rue20", source="rue20")
        archive.finish_run("rue20-1", status="finished", stats={"response_received_count": 0})
        record_health(archive, {"run_id": "rue20-1", "source": "rue20", "health": "failing", "monitors": [FAILED]})
        archive.start_run("hespress-1", spider="hespress", source="hespress")
        archive.finish_run("hespress-1", status="finished", stats={"item_scraped_count": 9})
        record_health(archive, {"run_id": "hespress-1", "source": "hespress", "health": "degraded",
                                "monitors": [{**FAILED, "name": "coverage/title", "value": 0.5, "threshold": 0.95}]})
        archive.start_run("hespress-2", spider="hespress", source="hespress")  # running now, not judged yet
        archive.start_run("belpresse-1", spider="belpresse", source="belpresse")
        archive.finish_run("belpresse-1", status="finished", stats={"item_scraped_count": 4})
        record_health(archive, {"run_id": "belpresse-1", "source": "belpresse", "health": "ok", "monitors": [ok_monitor]})
        archive.start_run("belpresse-2", spider="belpresse", source="belpresse")
        archive.finish_run("belpresse-2", status="crashed", stats={})  # the crawl process died: never judged
    finally:
        archive.close()


def expected_le12(now: datetime) -> list[int]:
    counts = [0] * WINDOW_DAYS
    for days_ago, n in LE12_PER_DAY.items():
        counts[WINDOW_DAYS - 1 - days_ago] = n
    return counts


def test_source_status_from_the_archive(archive_url: str) -> None:
    now = datetime.now(UTC)
    fill(archive_url, now)
    archive = open_archive(archive_url)
    try:
        status = source_status(archive, now=now).to_dict()
    finally:
        archive.close()
    assert len(status["days"]) == WINDOW_DAYS and status["days"][-1] == now.date().isoformat()
    by_id = {s["id"]: s for s in status["sources"]}
    assert list(by_id) == ["hespress", "hibapress", "le12", "rue20", "belpresse"]
    le12 = by_id["le12"]
    assert le12["health"] == "ok" and le12["articles_per_day"] == expected_le12(now) and le12["articles_30d"] == 10
    last = le12["last_run"]
    assert last["id"] == "le12-1" and last["status"] == "finished" and last["articles_new"] == 3
    assert last["pages"] == 5 and last["duration_s"] == 2.5 and last["failed_monitors"] == []
    assert by_id["rue20"]["health"] == "failing" and by_id["rue20"]["last_run"]["failed_monitors"] == [FAILED]
    assert by_id["rue20"]["articles_per_day"][-1] == 2
    # a run in progress does not hide the last judged one
    assert by_id["hespress"]["health"] == "degraded" and by_id["hespress"]["last_run"]["id"] == "hespress-1"
    assert by_id["hibapress"]["health"] == "unknown" and by_id["hibapress"]["last_run"] is None
    # a crawl that crashed (no monitors ran) leaves its source failing
    assert by_id["belpresse"]["health"] == "failing" and by_id["belpresse"]["last_run"]["status"] == "crashed"
    assert by_id["hibapress"]["articles_per_day"] == [0] * WINDOW_DAYS
    # next run: what the scheduler computes (never run: due now or at the end of quiet
    # hours); the source that just ran is due later
    from crawler.ops.schedule import next_run

    assert datetime.fromisoformat(by_id["hibapress"]["next_run"]) == next_run("hibapress", now)
    assert datetime.fromisoformat(le12["next_run"]) > now


@pytest.fixture()
def sqlite_status(tmp_path: Path) -> tuple[Path, str, datetime]:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    now = datetime.now(UTC)
    fill(url, now)
    return tmp_path, url, now


def test_status_command_json_and_table(sqlite_status: tuple[Path, str, datetime]) -> None:
    data, url, now = sqlite_status
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    cmd = [sys.executable, "-m", "crawler.cli", "--data", str(data), "status"]
    run = subprocess.run([*cmd, "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    by_id = {s["id"]: s for s in body["sources"]}
    assert by_id["le12"]["health"] == "ok" and by_id["rue20"]["health"] == "failing"
    assert by_id["le12"]["articles_per_day"] == expected_le12(now)
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = {line.split()[0]: line for line in run.stdout.splitlines()}
    assert "health" in lines["source"] and "next run" in lines["source"]
    assert " ok " in lines["le12"] and " 10 " in lines["le12"]
    assert "FAILING" in lines["rue20"] and "site_answered" in lines["rue20"]
    assert "DEGRADED" in lines["hespress"] and "coverage/title" in lines["hespress"]
    assert "unknown" in lines["hibapress"] and "FAILING" in lines["belpresse"] and "crashed" in lines["belpresse"]


@pytest.fixture()
def served(sqlite_status: tuple[Path, str, datetime]) -> Iterator[tuple[WebServer, Path, datetime]]:
    data, url, now = sqlite_status
    with serving(app_server(data, url)) as server:
        yield server, data, now


def _get(url: str) -> tuple[int, Message, bytes]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.headers, r.read()  # header names are case-insensitive: not a dict


def test_api_status_conforms_to_its_openapi_schema(served: tuple[WebServer, Path, datetime]) -> None:
    server, _, now = served
    status, headers, raw = _get(server.url + "/api/status")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    body = json.loads(raw)
    _, _, raw_doc = _get(server.url + "/api/openapi.json")
    doc = json.loads(raw_doc)
    assert "/api/status" in doc["paths"]
    schema = {"$ref": "#/components/schemas/Status", "components": doc["components"]}
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(body)
    by_id = {s["id"]: s for s in body["sources"]}
    assert by_id["le12"]["articles_per_day"] == expected_le12(now) and by_id["rue20"]["health"] == "failing"
    # a response that breaks the schema is caught by it (the check can fail)
    broken = json.loads(raw)
    broken["sources"][0]["health"] = "fine"
    assert not validator.is_valid(broken)


CHECK_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="f" src="/status" style="width:1100px;height:900px"></iframe><div id="out"></div>
<script>
window.addEventListener('load', function () {
  var out = document.getElementById('out');
  try {
    var w = document.getElementById('f').contentWindow, d = w.document;
    var sections = d.querySelectorAll('section.source'), bars = [], drawn = [], health = [], labels = [], widths = [];
    sections.forEach(function (s) {
      var rects = s.querySelectorAll('svg.chart rect.bar');
      bars.push(rects.length);
      drawn.push(Array.prototype.filter.call(rects, function (r) { return r.getBoundingClientRect().height > 0.5; }).length);
      widths.push(Math.round(s.querySelector('svg.chart').getBoundingClientRect().width));
      health.push(s.getAttribute('data-health'));
      labels.push(s.querySelector('.health').textContent);
    });
    out.setAttribute('data-sources', sections.length);
    out.setAttribute('data-bars', bars.join(','));
    out.setAttribute('data-drawn', drawn.join(','));
    out.setAttribute('data-widths', widths.join(','));
    out.setAttribute('data-health', health.join(','));
    out.setAttribute('data-labels', labels.join(','));
    out.setAttribute('data-dir', d.documentElement.getAttribute('dir'));
    out.setAttribute('data-direction', w.getComputedStyle(d.body).direction);
    out.setAttribute('data-scripts', d.scripts.length);
  } catch (e) { out.setAttribute('data-error', String(e)); }
});
</script></body></html>"""


@pytest.mark.browser
def test_status_page_renders_health_and_30_day_charts_in_chromium(
    served: tuple[WebServer, Path, datetime], chromium: str, tmp_path: Path
) -> None:
    server, data, now = served
    status, headers, raw = _get(server.url + "/status")
    assert status == 200 and "script-src" not in headers["Content-Security-Policy"]
    assert "استجابة الموقع (<code>site_answered</code>)" in raw.decode("utf-8")  # rue20's failed monitor
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    # Same origin as the page, so the check script may read the framed document.
    (data / "public" / "status-check.html").write_text(CHECK_PAGE, encoding="utf-8")
    cmd = chromium_cmd(chromium, tmp_path / "chromium-profile", window="1200,1000")
    attrs = check_results(dump_dom(cmd, server.url + "/status-check.html"))
    assert attrs["data-sources"] == "5"
    assert attrs["data-bars"] == ",".join([str(WINDOW_DAYS)] * 5)
    # order: hespress, hibapress, le12, rue20, belpresse; bars drawn only on days with articles
    assert attrs["data-drawn"] == f"0,0,{len(LE12_PER_DAY)},1,0", attrs
    assert all(int(w) > 200 for w in attrs["data-widths"].split(",")), attrs
    assert attrs["data-health"] == "degraded,unknown,ok,failing,failing"
    assert attrs["data-labels"].split(",") == ["متدهور", "لم يُفحص بعد", "سليم", "متعطل", "متعطل"]
    assert attrs["data-dir"] == "rtl" and attrs["data-direction"] == "rtl" and attrs["data-scripts"] == "0"
    shot = tmp_path / "status.png"
    run = subprocess.run([*cmd, f"--screenshot={shot}", server.url + "/status"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.stat().st_size > 10_000, run.stderr[-2000:]

"""Monitors after each run (crawler/ops/monitors.py) and alerts (crawler/ops/alerts.py):
real crawls of the offline snapshot in a subprocess (`akhbar crawl`), a site down on a
closed port, a site whose pages lose their dates and sections behind a loopback proxy
(a layout change), a real webhook receiver on loopback, both archive backends."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import open_archive
from crawler.archive.runs import LAYER_FIELDS
from crawler.config import BUNDLED_SOURCES, ConfigError, load_config
from crawler.ops.alerts import post_webhook, send
from crawler.ops.monitors import COVERAGE_FIELDS, Thresholds, health_of, monitors_of, record_health, run_monitors, thresholds_for
from crawler.snapshot import SnapshotServer
from crawler.snapshot.faults import Fault
from tests.conftest import ROOT
from tests.serving_support import LoopbackService, reply

ALL_MONITORS = {"no_articles", "site_answered", "min_articles", "error_rate", "finish_reason",
                *(f"coverage/{f}" for f in COVERAGE_FIELDS), *(f"selectors_stale/{f}" for f in LAYER_FIELDS)}
BASE_URLS = {"hespress": "https://www.hespress.com", "hibapress": "https://ar.hibapress.com", "le12": "https://le12.ma",
             "rue20": "https://rue20.com", "belpresse": "https://www.belpresse.com"}


# --- helpers ------------------------------------------------------------------------------


def write_sources(path: Path, base_urls: dict[str, str], extra: str = "") -> Path:
    """The bundled sources file with some sites moved (snapshot, closed port, proxy)."""
    text = BUNDLED_SOURCES.read_text(encoding="utf-8")
    for site, url in base_urls.items():
        old = f'base_url = "{BASE_URLS[site]}"'
        assert text.count(old) == 1, old
        text = text.replace(old, f'base_url = "{url}"')
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path


def akhbar(data: Path, *args: str, archive_url: str | None = None, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    if archive_url:
        env["AKHBAR_ARCHIVE_URL"] = archive_url
    return subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runs_by_source(url: str) -> dict[str, dict[str, Any]]:
    archive = open_archive(url)
    try:
        return {r["source"]: r for r in archive.runs(limit=50)}
    finally:
        archive.close()


def by_name(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in monitors_of(row)}


class Receiver(LoopbackService):
    """A webhook endpoint on loopback recording every POST; `fail_first` answers 503s first."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.got = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.attempts += 1
                if outer.attempts <= outer.fail_first:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.posts.append({"content_type": self.headers.get("Content-Type"), "body": json.loads(body)})
                self.send_response(204)
                self.end_headers()
                outer.got.set()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)
        self.url = f"{self.base_url}/hook"


class RedesignProxy(LoopbackService):
    """Serves a snapshot site through loopback as if its theme changed: every HTML page
    loses its dates (JSON-LD, article:* meta, the displayed date) and its category links."""

    STRIP = [
        re.compile(r'<script type="application/ld\+json"[^>]*>.*?</script>', re.S),
        re.compile(r'<meta property="article:[^"]*"[^>]*>'),
        re.compile(r'<span class="date[^"]*"[^>]*>.*?</span>', re.S),
        re.compile(r'<span class="post-cat-wrap">.*?</span>', re.S),
    ]

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                try:
                    with urllib.request.urlopen(outer.upstream + self.path, timeout=30) as r:
                        status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
                except urllib.error.HTTPError as exc:
                    status, ctype, body = exc.code, exc.headers.get("Content-Type", ""), exc.read()
                if ctype.startswith(("text/", "application/")):
                    text = body.decode("utf-8").replace(outer.upstream, outer.url)
                    if "html" in ctype:
                        text = outer.redesign(text)
                    body = text.encode("utf-8")
                reply(self, status, body, ctype)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)
        self.url = self.base_url

    def redesign(self, html: str) -> str:
        """An HTML page as the new theme serves it."""
        for pattern in self.STRIP:
            html = pattern.sub("", html)
        return html


# --- crawls -------------------------------------------------------------------------------


def test_snapshot_crawl_records_health_ok(archive_url: str, tmp_path: Path) -> None:
    run = akhbar(tmp_path, "crawl", "le12", "--snapshot", archive_url=archive_url)
    assert run.returncode == 0, run.stderr[-3000:]
    row = runs_by_source(archive_url)["le12"]
    assert row["status"] == "finished" and row["health"] == "ok", row
    checks = by_name(row)
    assert set(checks) == ALL_MONITORS
    for m in checks.values():
        assert set(m) == {"name", "ok", "value", "threshold", "message"} and m["ok"] is True, m
    assert checks["no_articles"]["value"] >= 50 and checks["site_answered"]["value"] >= 50
    assert checks["coverage/title"]["value"] == 1.0 and checks["coverage/date_published"]["value"] >= 0.8
    assert checks["error_rate"]["value"] == 0.0 and checks["finish_reason"]["value"] == "finished"
    assert row["stats"]["coverage/items"] == row["stats"]["item_scraped_count"]
    assert "monitors: run " in run.stderr and " of le12 is ok" in run.stderr


def test_site_down_fails_its_source_alerts_webhook_and_others_go_on(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    with SnapshotServer(sites=["le12"]) as snap, Receiver() as hook:
        sources = write_sources(tmp_path / "sources.toml", {"le12": snap.base_urls["le12"], "rue20": dead},
                                f'[alerts]\nwebhook_url = "{hook.url}"\ntimeout = 10\n')
        # AutoThrottle off: the dead site's retries are the point, not the politeness delays.
        run = akhbar(tmp_path / "data", "--sources", str(sources), "crawl", "le12", "rue20",
                     "-s", "AUTOTHROTTLE_ENABLED=False")
        assert run.returncode == 0, run.stderr[-3000:]
        assert hook.got.wait(30), run.stderr[-3000:]
    runs = runs_by_source(f"sqlite:///{tmp_path / 'data' / 'archive.sqlite3'}")
    assert runs["le12"]["health"] == "ok" and runs["le12"]["stats"]["item_scraped_count"] >= 50
    down = runs["rue20"]
    assert down["health"] == "failing", down
    checks = by_name(down)
    assert not checks["no_articles"]["ok"] and not checks["site_answered"]["ok"]
    assert checks["site_answered"]["value"] == 0 and checks["error_rate"]["value"] == 1.0
    # one POST, for the failing run only, with its failed monitors
    assert len(hook.posts) == 1
    post = hook.posts[0]
    assert post["content_type"].startswith("application/json")
    body = post["body"]
    assert body["source"] == "rue20" and body["run_id"] == down["id"] and body["health"] == "failing"
    assert {m["name"] for m in body["failed"]} >= {"no_articles", "site_answered", "min_articles"}
    assert all(m["ok"] is False for m in body["failed"])
    # and a log line per failed monitor
    assert re.search(r"WARNING.*monitor site_answered failed for rue20", run.stderr), run.stderr[-3000:]
    assert "failed for le12" not in run.stderr


def test_site_answering_only_errors_is_failing(tmp_path: Path) -> None:
    every_request_503 = Fault(kind="status", site="le12", match="*", times=None, params={"status": 503})
    with SnapshotServer(sites=["le12"], faults=[every_request_503]) as snap:
        sources = write_sources(tmp_path / "sources.toml", {"le12": snap.base_urls["le12"]})
        run = akhbar(tmp_path / "data", "--sources", str(sources), "crawl", "le12", "-s", "AUTOTHROTTLE_ENABLED=False")
    assert run.returncode == 0, run.stderr[-3000:]
    row = runs_by_source(f"sqlite:///{tmp_path / 'data' / 'archive.sqlite3'}")["le12"]
    checks = by_name(row)
    assert row["health"] == "failing", checks
    assert row["stats"]["response_received_count"] > 0  # it answered, with errors only
    assert not checks["site_answered"]["ok"] and checks["site_answered"]["message"].startswith("all ")
    assert checks["error_rate"]["value"] == 1.0


def test_layout_change_drops_coverage_and_degrades(tmp_path: Path) -> None:
    with SnapshotServer(sites=["hibapress"]) as snap, RedesignProxy(snap.base_urls["hibapress"]) as proxy:
        sources = write_sources(tmp_path / "sources.toml", {"hibapress": proxy.url})
        run = akhbar(tmp_path / "data", "--sources", str(sources), "crawl", "hibapress")
    assert run.returncode == 0, run.stderr[-3000:]
    row = runs_by_source(f"sqlite:///{tmp_path / 'data' / 'archive.sqlite3'}")["hibapress"]
    checks = by_name(row)
    assert row["health"] == "degraded", checks
    # the site answered and articles came; what changed shows as coverage drops
    assert checks["no_articles"]["ok"] and checks["site_answered"]["ok"] and checks["min_articles"]["ok"]
    assert checks["coverage/title"]["ok"] and checks["coverage/body_text"]["ok"]
    for n in ("coverage/date_published", "coverage/section_raw"):
        assert not checks[n]["ok"] and checks[n]["value"] < checks[n]["threshold"], checks[n]
    assert re.search(r"WARNING.*monitor coverage/\w+ failed for hibapress", run.stderr)


def test_thresholds_from_sources_file_make_a_run_degraded(tmp_path: Path) -> None:
    extra = "[monitors]\nmin_articles = 5\n[monitors.sources.le12]\nmin_articles = 500\nmax_error_rate = 0.5\n"
    sources = write_sources(tmp_path / "sources.toml", {}, extra)
    run = akhbar(tmp_path / "data", "--sources", str(sources), "crawl", "le12", "--snapshot")
    assert run.returncode == 0, run.stderr[-3000:]
    row = runs_by_source(f"sqlite:///{tmp_path / 'data' / 'archive.sqlite3'}")["le12"]
    checks = by_name(row)
    assert row["health"] == "degraded"
    assert checks["min_articles"] == {**checks["min_articles"], "ok": False, "threshold": 500}
    assert checks["error_rate"]["threshold"] == 0.5
    assert [n for n, m in checks.items() if not m["ok"]] == ["min_articles"]


# --- recording, independent of the archive pipeline's own spider_closed ---------------------


@pytest.mark.parametrize("order", ["pipeline-first", "monitors-first", "monitors-before-row"])
def test_health_record_is_independent_of_handler_order(archive_url: str, order: str) -> None:
    archive = open_archive(archive_url)
    try:
        report = {"run_id": "r1", "source": "le12", "spider": "le12", "health": "degraded",
                  "monitors": [{"name": "coverage/title", "ok": False, "value": 0.5, "threshold": 0.95, "message": "m"}]}
        if order != "monitors-before-row":
            archive.start_run("r1", spider="le12", source="le12")
        if order == "pipeline-first":
            archive.finish_run("r1", status="finished", stats={"item_scraped_count": 3})
            record_health(archive, report)
        else:
            record_health(archive, report)
            archive.start_run("r1", spider="le12", source="le12")  # the pipeline's open (no-op if there)
            archive.finish_run("r1", status="finished", stats={"item_scraped_count": 3})
        row = archive.fetchone("SELECT * FROM crawl_runs WHERE id = ?", ("r1",))
        assert row is not None
        assert row["status"] == "finished" and row["health"] == "degraded"
        assert monitors_of(row) == report["monitors"]
        assert archive.runs(source="le12")[0]["stats"] == {"item_scraped_count": 3}
    finally:
        archive.close()


# --- thresholds, validation, health ---------------------------------------------------------


def test_thresholds_merge_defaults_table_and_source_override() -> None:
    table = {"min_articles": 10, "coverage": {"section_raw": 0.2}, "sources": {"le12": {"min_articles": 3, "coverage": {"title": 0.5}}}}
    le12, other = thresholds_for(table, "le12"), thresholds_for(table, "rue20")
    assert le12.min_articles == 3 and other.min_articles == 10
    assert le12.coverage["title"] == 0.5 and other.coverage["title"] == 0.95
    assert le12.coverage["section_raw"] == other.coverage["section_raw"] == 0.2
    assert le12.max_error_rate == 0.25


@pytest.mark.parametrize("extra, key", [
    ("[monitors]\nmin_articles = -1\n", "min_articles"),
    ("[monitors]\ncoverage = { titel = 0.5 }\n", "coverage.titel"),
    ("[monitors]\nmax_error_rate = 2\n", "max_error_rate"),
    ("[monitors]\nmin_artciles = 3\n", "min_artciles"),
    ("[monitors.sources.nosuch]\nmin_articles = 1\n", "[monitors.sources.nosuch]"),
    ('[alerts]\nwebhook_url = "ftp://x"\n', "webhook_url"),
    ("[alerts]\nretries = -1\n", "retries"),
    ('[alerts]\nwebhok_url = "http://x"\n', "webhok_url"),
])
def test_broken_monitors_or_alerts_table_is_a_one_line_error(tmp_path: Path, extra: str, key: str) -> None:
    path = write_sources(tmp_path / "sources.toml", {}, extra)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert key in str(exc.value) and str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_broken_table_stops_the_crawl_at_start(tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "sources.toml", {}, "[monitors]\nmin_articles = \"many\"\n")
    run = akhbar(tmp_path / "data", "--sources", str(sources), "crawl", "le12", "--snapshot", timeout=120)
    # one line naming file, key and reason, exit 2 (not a traceback, not a crawl that ran anyway)
    assert run.returncode == 2, run.stderr[-3000:]
    assert run.stderr.strip().splitlines() == [f"akhbar: {sources}: [monitors] min_articles: must be a whole number >= 0, "
                                               "not 'many'"]
    assert not (tmp_path / "data" / "items.jsonl").exists() or (tmp_path / "data" / "items.jsonl").stat().st_size == 0


class _Spider:
    name = "le12"


def test_cluster_worker_that_joined_is_not_judged_on_article_counts() -> None:
    # A worker joining a run others are crawling may get no article to fetch at all.
    stats = {"downloader/request_count": 4, "response_received_count": 4, "downloader/response_status_count/200": 4,
             "cluster/worker": "w2", "finish_reason": "finished"}
    run = {"source": "le12", "spider": "le12", "run_id": "w2-run"}
    joined = run_monitors({**stats, "cluster/joined_workers": 1}, spider=_Spider(), thresholds=Thresholds(), run=run,
                          reason="finished")
    assert joined["health"] == "ok", joined
    first = run_monitors({**stats, "cluster/joined_workers": 0}, spider=_Spider(), thresholds=Thresholds(), run=run,
                         reason="finished")
    assert first["health"] == "failing"
    assert [m["name"] for m in first["monitors"] if not m["ok"]] == ["no_articles", "min_articles"]


@pytest.mark.parametrize("reason, requests, health", [
    ("shutdown", 0, "ok"),          # stopped at once, to be resumed: nothing held against the site
    ("shutdown", 6, "failing"),     # stopped, but everything it sent failed
    ("closespider_errorcount", 0, "failing"),
    ("finished", 0, "failing"),
])
def test_interrupted_runs_are_not_judged_on_what_they_did_not_reach(reason: str, requests: int, health: str) -> None:
    stats = {"downloader/request_count": requests, "downloader/exception_count": requests}
    report = run_monitors(stats, spider=_Spider(), thresholds=Thresholds(), run={"run_id": "r", "source": "le12"},
                          reason=reason)
    assert report["health"] == health, report
    checks = {m["name"]: m for m in report["monitors"]}
    assert checks["finish_reason"]["ok"] is (reason in ("finished", "shutdown"))
    assert checks["no_articles"]["ok"] is (reason == "shutdown")


def test_health_from_checks() -> None:
    ok = {"name": "min_articles", "ok": True}
    assert health_of([ok]) == "ok"
    assert health_of([ok, {"name": "coverage/title", "ok": False}]) == "degraded"
    assert health_of([{"name": "coverage/title", "ok": False}, {"name": "site_answered", "ok": False}]) == "failing"


# --- alerts -------------------------------------------------------------------------------


def test_webhook_is_retried_until_delivered() -> None:
    with Receiver(fail_first=2) as hook:
        assert post_webhook(hook.url, {"run_id": "r"}, timeout=10, retries=2) is True
    assert hook.attempts == 3 and hook.posts[0]["body"] == {"run_id": "r"}


def test_unreachable_webhook_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    report = {"source": "le12", "run_id": "r9", "health": "failing",
              "monitors": [{"name": "site_answered", "ok": False, "value": 0, "threshold": "> 0", "message": "none"}]}
    with caplog.at_level(logging.WARNING, logger="crawler.ops.alerts"):
        port = closed_port()
        delivered = send(report, {"webhook_url": f"http://u:pw@127.0.0.1:{port}/hook/T0SECRET?token=s3cret",
                                  "timeout": 2, "retries": 1})
    assert delivered is False
    messages = [r.getMessage() for r in caplog.records]
    assert any("monitor site_answered failed for le12 (run r9" in m for m in messages)
    assert any(f"not delivered to the webhook at http://127.0.0.1:{port}: " in m for m in messages), messages
    # the webhook's secret (path, query, credentials) stays out of the logs
    assert not any(secret in m for m in messages for secret in ("T0SECRET", "s3cret", "pw@"))


def test_no_failures_sends_nothing() -> None:
    with Receiver() as hook:
        report = {"source": "le12", "run_id": "r", "health": "ok", "monitors": [{"name": "min_articles", "ok": True}]}
        assert send(report, {"webhook_url": hook.url}) is True
    assert hook.attempts == 0

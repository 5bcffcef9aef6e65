"""Which extraction layer gave title, body and date, per run (crawl_runs.layers), and the
selectors-stale monitor over a source's recent runs (crawler/ops/monitors.py): real crawls
of the offline snapshot in a subprocess, a redesign made by a loopback proxy that renames
every class attribute (the site's selectors miss, the generic layer takes over), a real
webhook receiver and the web app's status page on loopback, both archive backends for the
run record."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import open_archive
from crawler.archive.runs import LAYER_FIELDS, layer_counts, record_layers
from crawler.config import ConfigError, load_config
from crawler.ops.monitors import Thresholds, run_monitors, stale_streak, thresholds_for
from crawler.snapshot import SnapshotServer
from tests.serving_support import app_server, serving
from tests.test_monitors import Receiver, RedesignProxy, akhbar, by_name, write_sources

STALE = "selectors_stale/body_text"


class ClassRenameProxy(RedesignProxy):
    """Serves a snapshot site through loopback as if its theme were renamed: every token of
    every ``class`` attribute of an HTML page gets a prefix, so CSS class selectors miss
    while the text, JSON-LD and meta tags stay as they were."""

    CLASS_ATTR = re.compile(r'class="([^"]*)"')

    def __init__(self, upstream: str, prefix: str = "v2-") -> None:
        super().__init__(upstream)
        self.prefix = prefix

    def redesign(self, html: str) -> str:
        return self.CLASS_ATTR.sub(lambda m: 'class="' + " ".join(self.prefix + t for t in m.group(1).split()) + '"', html)


def latest_run(url: str, source: str) -> dict[str, Any]:
    archive = open_archive(url)
    try:
        return archive.runs(limit=1, source=source)[0]
    finally:
        archive.close()


def crawl_le12(data: Path, base_url: str, extra: str = "") -> tuple[dict[str, Any], str]:
    """One crawl of le12 at `base_url` into `data`; its run row and stderr."""
    port = base_url.rsplit(":", 1)[-1]
    sources = write_sources(data.parent / f"sources-{port}.toml", {"le12": base_url}, extra)
    run = akhbar(data, "--sources", str(sources), "crawl", "le12")
    assert run.returncode == 0, run.stderr[-3000:]
    return latest_run(f"sqlite:///{data / 'archive.sqlite3'}", "le12"), run.stderr


# --- crawls ----------------------------------------------------------------------------------


def test_renamed_classes_raise_selectors_stale_since_the_first_stale_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with SnapshotServer(sites=["le12"]) as snap, Receiver() as hook:
        extra_hook = (f'[alerts]\nwebhook_url = "{hook.url}"\ntimeout = 10\n'
                      "[monitors.selectors_stale]\nruns = 2\n")
        # 1. the site as it was: its own selectors give every body
        before, _ = crawl_le12(data, snap.base_urls["le12"], extra_hook)
        assert before["health"] == "ok", by_name(before)
        assert before["layers"]["body_text"] == {"selectors": before["stats"]["akhbar/articles_extracted"]}
        assert set(before["layers"]) == set(LAYER_FIELDS)
        ok = by_name(before)[STALE]
        assert ok["ok"] and ok["value"] == 0.0 and ok["threshold"] == 0.5, ok

        # 2. redesigned (a fresh address each time, so the articles are fetched again): one
        # stale run is not yet a streak of `runs = 2`
        with ClassRenameProxy(snap.base_urls["le12"]) as proxy:
            first, _ = crawl_le12(data, proxy.url, extra_hook)
        extracted = first["stats"]["akhbar/articles_extracted"]
        assert extracted >= 50
        bodies = first["layers"]["body_text"]
        assert bodies.get("generic", 0) >= 0.85 * extracted and not bodies.get("selectors"), bodies
        # titles and dates come from JSON-LD, which a theme's class names do not touch
        assert first["layers"]["title"] == {"jsonld": extracted}
        assert by_name(first)[STALE]["ok"], by_name(first)[STALE]
        assert not hook.posts

        # 3. still redesigned: the streak is two runs long and began with run 2
        with ClassRenameProxy(snap.base_urls["le12"], prefix="v3-") as proxy:
            second, stderr = crawl_le12(data, proxy.url, extra_hook)
        assert hook.got.wait(30), stderr[-3000:]

    stale = by_name(second)[STALE]
    assert not stale["ok"] and second["health"] == "degraded", stale
    generic = first["layers"]["body_text"].get("generic", 0) + second["layers"]["body_text"].get("generic", 0)
    total = sum(first["layers"]["body_text"].values()) + sum(second["layers"]["body_text"].values())
    share = round(generic / total, 4)
    assert stale["value"] == share and stale["threshold"] == 0.5
    message = f"selectors stale: {round(share * 100)} % of bodies from the generic layer since run {first['id']}"
    assert stale["message"].startswith(message), stale["message"]
    assert f"({generic} of {total} in 2 runs" in stale["message"]
    # titles and dates are not stale
    for name in ("selectors_stale/title", "selectors_stale/date_published_raw"):
        assert by_name(second)[name]["ok"], by_name(second)[name]
    # the webhook, like any other alert: this run, its failed monitors
    assert len(hook.posts) == 1
    body = hook.posts[0]["body"]
    assert body["source"] == "le12" and body["run_id"] == second["id"] and body["health"] == "degraded"
    sent = {m["name"]: m for m in body["failed"]}
    assert sent[STALE]["message"] == stale["message"]
    assert re.search(r"WARNING.*monitor selectors_stale/body_text failed for le12.*selectors stale: ", stderr)

    # the status page of the web app shows it under the source's last run
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    with serving(app_server(data, url)) as server:
        port = server.port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as r:
            page = r.read().decode("utf-8")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=30) as r:
            api = json.loads(r.read())
    section = page[page.index('id="source-le12"'):]
    section = section[: section.index("</section>")]
    assert 'data-health="degraded"' in section
    assert "محددات النصوص" in section and f"<code>{STALE}</code>" in section
    assert message in section
    le12 = next(s for s in api["sources"] if s["id"] == "le12")
    assert le12["last_run"]["layers"]["body_text"] == second["layers"]["body_text"]
    assert any(m["name"] == STALE for m in le12["last_run"]["failed_monitors"])


# --- the run record, both backends ----------------------------------------------------------


def test_layer_counts_are_kept_on_the_run_row(archive_url: str) -> None:
    stats: dict[str, Any] = {}

    class Stats:
        def inc_value(self, key: str, n: int = 1) -> None:
            stats[key] = stats.get(key, 0) + n

    class Art:
        date_published_raw = "١٦-٠٧-٢٠٢٥"

    record_layers(Stats(), {"title": "jsonld", "body_text": "generic", "date_displayed_raw": "selectors"}, Art())
    record_layers(Stats(), {"title": "jsonld", "body_text": "selectors", "date_published_raw": "meta"}, Art())
    record_layers(Stats(), {"title": "generic"}, type("NoDate", (), {"date_published_raw": None})())
    counts = layer_counts(stats)
    assert counts == {"title": {"generic": 1, "jsonld": 2},
                      "body_text": {"generic": 1, "none": 1, "selectors": 1},
                      # the displayed date stood in for the machine-readable one
                      "date_published_raw": {"meta": 1, "none": 1, "selectors": 1}}
    archive = open_archive(archive_url)
    try:
        archive.start_run("run-1", spider="le12", source="le12")
        archive.finish_run("run-1", status="finished", stats=stats)
        archive.start_run("run-0", spider="le12", source="le12")  # a run that never finished
        rows = {r["id"]: r for r in archive.runs(source="le12")}
    finally:
        archive.close()
    assert rows["run-1"]["layers"] == counts
    assert rows["run-0"]["layers"] == {}


# --- the streak ---------------------------------------------------------------------------


def _counts(generic: int, selectors: int) -> dict[str, dict[str, int]]:
    return {"body_text": {"generic": generic, "selectors": selectors}, "title": {"jsonld": generic + selectors}}


def test_streak_runs_back_from_the_newest_run_to_the_first_stale_one() -> None:
    history = [("r5", _counts(9, 1)), ("r4", {}), ("r3", _counts(8, 2)), ("r2", _counts(1, 9)), ("r1", _counts(10, 0))]
    streak = stale_streak(history, "body_text", 0.5)
    # r4 extracted nothing: it neither ends nor extends the streak; r2 was healthy
    assert streak.runs == ["r5", "r3"] and streak.since == "r3"
    assert (streak.generic, streak.total, round(streak.share, 2)) == (17, 20, 0.85)
    assert stale_streak(history, "title", 0.5).runs == []
    assert stale_streak([("r2", _counts(1, 9)), ("r1", _counts(10, 0))], "body_text", 0.5).runs == []
    # exactly at the threshold is not stale
    assert stale_streak([("r1", _counts(5, 5))], "body_text", 0.5).runs == []


def _judge(history: list[tuple[str, Any]], thresholds: Thresholds) -> dict[str, dict[str, Any]]:
    class Spider:
        name = "le12"

    report = run_monitors({"item_scraped_count": 10, "downloader/request_count": 10, "response_received_count": 10,
                           "finish_reason": "finished"}, spider=Spider(), thresholds=thresholds,
                          run={"source": "le12", "spider": "le12", "run_id": history[0][0]}, reason="finished",
                          history=history)
    return {m["name"]: m for m in report["monitors"]}


def test_monitor_thresholds_runs_and_minimum_articles() -> None:
    history = [("r3", _counts(17, 3)), ("r2", _counts(9, 1)), ("r1", _counts(0, 20))]
    checks = _judge(history, Thresholds())
    assert not checks[STALE]["ok"]
    assert checks[STALE]["message"] == ("selectors stale: 87 % of bodies from the generic layer since run r2 "
                                        "(26 of 30 in 2 runs; at most 50% expected)")
    assert checks["selectors_stale/title"]["ok"]
    assert checks["selectors_stale/date_published_raw"]["message"] == "no dates extracted this run"
    # a higher share allowed, or a longer streak required: not stale
    assert _judge(history, Thresholds(selectors_stale={"max_generic_share": 0.9, "runs": 1, "min_articles": 5}))[STALE]["ok"]
    assert _judge(history, Thresholds(selectors_stale={"max_generic_share": 0.5, "runs": 3, "min_articles": 5}))[STALE]["ok"]
    # too few articles to judge
    few = [("r2", _counts(2, 0)), ("r1", _counts(0, 20))]
    assert _judge(few, Thresholds())[STALE]["ok"]
    ok = _judge([("r1", _counts(1, 19))], Thresholds())[STALE]
    assert ok["ok"] and ok["value"] == 0.05 and ok["message"] == "1 of 20 bodies from the generic layer this run (5%; stale above 50%)"


def test_selectors_stale_table_from_the_sources_file(tmp_path: Path) -> None:
    extra = ("[monitors.selectors_stale]\nmax_generic_share = 0.6\n"
             "[monitors.sources.le12.selectors_stale]\nruns = 3\n")
    cfg = load_config(write_sources(tmp_path / "s.toml", {}, extra))
    t = thresholds_for(cfg.table("monitors"), "le12")
    assert t.selectors_stale == {"max_generic_share": 0.6, "runs": 3.0, "min_articles": 5.0}
    assert thresholds_for(cfg.table("monitors"), "rue20").selectors_stale["runs"] == 1


@pytest.mark.parametrize("table,key", [("max_generic_share = 1.5", "max_generic_share"), ("runs = 0", "runs"),
                                       ("min_articles = -1", "min_articles"), ("share = 0.5", "share")])
def test_broken_selectors_stale_table_is_a_one_line_error(tmp_path: Path, table: str, key: str) -> None:
    path = write_sources(tmp_path / "s.toml", {}, f"[monitors.selectors_stale]\n{table}\n")
    with pytest.raises(ConfigError, match=rf"selectors_stale\.{key}"):
        load_config(path)

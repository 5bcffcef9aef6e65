"""The fault matrix (docs/faults.md): crawls of the snapshot while it misbehaves on the
wire, each test asserting what is kept.

- transient faults (5xx bursts, 429 + Retry-After, a stall past the download timeout, a
  reset and a short body mid-page): the article is archived after retries;
- wrong or missing charsets: the Arabic text is decoded right;
- hostile inputs (billion laughs and external entities in the feed and sitemap, invalid
  JSON from the REST API, a gzip bomb, a 20 MB page, a redirect loop): rejected without
  memory blow-up or entity expansion, and the run goes on;
- robots.txt: a disallowed section is never requested;
- permanent faults: every URL is recorded in ``failed_urls`` with its reason and on the
  run, and the next run retries it first and archives it (both backends).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import ROOT
from process_support import run_measured

from crawler.archive import open_archive
from crawler.snapshot import SnapshotServer
from crawler.snapshot.faults import Fault, load_faults

FAST = {"AUTOTHROTTLE_START_DELAY": "0", "AUTOTHROTTLE_MAX_DELAY": "0.2", "LOG_LEVEL": "INFO"}
# a normal crawl of four sites stays near 200 MB; a gzip bomb inflated in memory is 4 GiB
MAX_RSS_MB = 600

CRAWL = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from crawler.commands.crawl import crawl_sites\n"
    "a = json.loads(sys.argv[1])\n"
    "stats = crawl_sites(a['sites'], Path(a['data']), base_urls=a['urls'], settings=a['settings'])\n"
    "Path(a['data'], 'stats.json').write_text(json.dumps(stats, default=str))\n"
)


def crawl(srv: SnapshotServer, sites: list[str], data: Path, archive: str, sources: Path | None = None,
          **settings: str) -> dict[str, Any]:
    """`sites` crawled in a subprocess as `akhbar crawl` does; stats per site and the child's peak RSS."""
    data.mkdir(parents=True, exist_ok=True)
    args = {"sites": sites, "data": str(data), "urls": {s: srv.base_urls[s] for s in sites},
            "settings": {**FAST, "AKHBAR_ARCHIVE_URL": archive, **settings}}
    env = dict(os.environ, AKHBAR_DATA=str(data), PYTHONPATH=str(ROOT))
    env.pop("AKHBAR_SOURCES", None)
    env.pop("AKHBAR_ARCHIVE_URL", None)
    if sources is not None:
        env["AKHBAR_SOURCES"] = str(sources)
    log = data / "crawl.log"
    with log.open("w") as err:
        run = run_measured([sys.executable, "-c", CRAWL, json.dumps(args)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=err)
    assert run.code == 0, log.read_text()[-3000:]
    return {"stats": json.loads((data / "stats.json").read_text()), "max_rss_mb": run.peak_mb,
            "log": log.read_text()}


def archived(archive: str, source: str) -> dict[str, dict[str, Any]]:
    with open_archive(archive) as a:
        return {r["url"]: r for r in a.fetch("SELECT url, title, body_text, story_id FROM articles WHERE source = ?", (source,))}


def glob(article: dict[str, Any]) -> str:
    """The article's decoded path, as fault globs match it."""
    return unquote(article["path"])


# --- transient faults, charsets, hostile inputs, robots -----------------------------------

@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with SnapshotServer(sites=["le12", "rue20", "belpresse", "hibapress"]) as srv:
        le12, rue20, bel = srv.articles("le12"), srv.articles("rue20"), srv.articles("belpresse")
        plan = {
            "burst503": Fault("status", site="le12", match=glob(le12[1]), times=2, params={"status": 503}),
            "once502": Fault("status", site="le12", match=glob(le12[2]), times=1, params={"status": 502}),
            "retry_after": Fault("status", site="le12", match=glob(le12[3]), times=1, params={"status": 429, "retry_after": 1}),
            "slow": Fault("slow", site="le12", match=glob(le12[4]), times=1, params={"delay": 4}),
            "reset": Fault("reset", site="le12", match=glob(le12[5]), times=1, params={"fraction": 0.4}),
            "short": Fault("truncate", site="le12", match=glob(le12[6]), times=1, params={"fraction": 0.7}),
            "utf8_as_1256": Fault("charset", site="le12", match=glob(le12[7]), times=None,
                                  params={"body_encoding": "utf-8", "header_charset": "windows-1256"}),
            "json": Fault("invalid_json", site="le12", match="/wp-json/wp/v2/posts", times=None),
            "laughs": Fault("xml_bomb", site="rue20", match="/feed/", times=None, params={"variant": "laughs"}),
            "external": Fault("xml_bomb", site="rue20", match="/post-sitemap.xml", times=None, params={"variant": "external"}),
            "canary": Fault("status", match="/xxe-canary", times=None, params={"status": 404}),
            "cut_html": Fault("truncated_html", site="rue20", match=glob(rue20[3]), times=None, params={"fraction": 0.6}),
            "cut_once": Fault("truncated_html", site="rue20", match=glob(rue20[4]), times=1, params={"fraction": 0.6}),
            "1256_as_utf8": Fault("charset", site="belpresse", match=glob(bel[1]), times=None,
                                  params={"body_encoding": "windows-1256", "header_charset": "UTF-8"}),
            "no_charset": Fault("charset", site="belpresse", match=glob(bel[2]), times=None,
                                params={"body_encoding": "windows-1256", "header_charset": None}),
            "robots": Fault("robots", site="hibapress", params={"disallow": ["/section-22.html"]}),
            # a tripwire: any request for the disallowed section shows up in the fault log
            "tripwire": Fault("status", site="hibapress", match="/section-22.html*", times=None, params={"status": 410}),
        }
        srv.set_faults(plan.values())
        data = tmp_path_factory.mktemp("matrix")
        url = f"sqlite:///{data / 'archive.sqlite3'}"
        run = crawl(srv, ["le12", "rue20", "belpresse", "hibapress"], data, url, DOWNLOAD_TIMEOUT="1.5")
        yield {"srv": srv, "run": run, "url": url, "plan": plan, "log": srv.fault_log(),
               "truth": {s: srv.articles(s) for s in srv.sites}}


def _injected(m: dict[str, Any], key: str) -> int:
    """How many times the plan's fault `key` was served."""
    fault: Fault = m["plan"][key]
    return sum(1 for i in m["log"] if i.kind == fault.kind and (fault.site is None or i.site == fault.site)
               and (fault.kind == "robots" or fnmatchcase(i.path, fault.match)))


def test_transient_faults_archived_after_retries(matrix: dict[str, Any]) -> None:
    le12 = matrix["truth"]["le12"]
    kept = archived(matrix["url"], "le12")
    for key, i in [("burst503", 1), ("once502", 2), ("retry_after", 3), ("slow", 4), ("reset", 5), ("short", 6)]:
        assert _injected(matrix, key) >= 1, key  # the fault did happen ...
        row = kept.get(le12[i]["url"])
        assert row is not None, f"{key}: {le12[i]['url']} not archived"  # ... and the article was kept
        assert row["title"] == le12[i]["title"], key
        assert row["body_text"] and le12[i]["paragraphs"][-1][:40] in row["body_text"], key
    stats = matrix["run"]["stats"]["le12"]
    assert stats.get("retry/retry_after_honoured", 0) >= 1
    assert stats.get("retry/count", 0) >= 6
    assert not stats.get("akhbar/failed_urls/recorded")
    # retry reasons are stats keys: one per status, never one per retried URL
    assert stats.get("retry/reason_count/503 Service Unavailable", 0) >= 2
    assert not [k for k in stats if k.startswith("retry/reason_count/") and "http" in k], stats


def test_wrong_and_missing_charsets_decoded_right(matrix: dict[str, Any]) -> None:
    cases = [("le12", 7), ("belpresse", 1), ("belpresse", 2)]
    for site, i in cases:
        truth = matrix["truth"][site][i]
        row = archived(matrix["url"], site).get(truth["url"])
        assert row is not None, (site, i)
        assert row["title"] == truth["title"], (site, i, row["title"])
        assert "\ufffd" not in row["body_text"] and truth["paragraphs"][0][:30] in row["body_text"]
    assert matrix["run"]["stats"]["belpresse"].get("akhbar/charset_fixed", 0) >= 1
    assert matrix["run"]["stats"]["le12"].get("akhbar/charset_fixed", 0) >= 1


def test_xml_bombs_rejected_and_discovery_goes_on(matrix: dict[str, Any]) -> None:
    truth = matrix["truth"]["rue20"]
    kept = archived(matrix["url"], "rue20")
    assert _injected(matrix, "laughs") >= 1 and _injected(matrix, "external") >= 1
    # the feed and the sitemap were read despite their DTDs: every article but the cut one
    missing = {a["url"] for a in truth} - set(kept) - {truth[3]["url"]}
    assert not missing, sorted(missing)[:3]
    # no entity was expanded or fetched
    assert not [i for i in matrix["log"] if i.path == "/xxe-canary"]
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\x00"
    for row in kept.values():
        assert "lollol" not in (row["body_text"] or "") and "lollol" not in row["title"]
        assert hostname not in row["title"]
    stats = matrix["run"]["stats"]["rue20"]
    assert stats.get("akhbar/xml_doctype_stripped", 0) >= 2
    # read, not merely survived: neither path fell back to the next (wp-json alone would
    # archive every article too)
    assert "akhbar/discovery_fallback/rss" not in stats and "akhbar/discovery_fallback/sitemap" not in stats, stats
    assert matrix["run"]["max_rss_mb"] < MAX_RSS_MB


def test_truncated_html_is_never_lost(matrix: dict[str, Any]) -> None:
    """A page cut before </html> (complete HTTP answer) was archived with part of its body
    and never fetched again; now it is retried, and recorded when every attempt is cut."""
    cut, once = matrix["truth"]["rue20"][3], matrix["truth"]["rue20"][4]
    assert _injected(matrix, "cut_html") >= 2 and _injected(matrix, "cut_once") == 1
    with open_archive(matrix["url"]) as a:
        failed = a.fetch("SELECT reason, status FROM failed_urls WHERE url = ?", (cut["url"],))
        stored = a.fetch("SELECT body_text FROM articles WHERE url = ?", (cut["url"],))
    assert stored == [] and [(r["reason"], r["status"]) for r in failed] == [("truncated page (no </html>)", 200)]
    row = archived(matrix["url"], "rue20")[once["url"]]  # cut once: archived whole after a retry
    assert once["paragraphs"][-1][:40] in row["body_text"]
    assert matrix["run"]["stats"]["rue20"].get("akhbar/truncated_html", 0) >= 3


def test_invalid_json_counted_and_falls_back(matrix: dict[str, Any]) -> None:
    stats = matrix["run"]["stats"]["le12"]
    assert stats.get("akhbar/invalid_json", 0) >= 1
    assert stats.get("akhbar/discovery_fallback/wp-json") == 1
    kept = archived(matrix["url"], "le12")
    assert len(kept) >= 20  # the RSS feed's articles
    assert "Traceback" not in matrix["run"]["log"]


def test_robots_disallowed_section_never_requested(matrix: dict[str, Any]) -> None:
    assert _injected(matrix, "robots") >= 1
    assert not [i for i in matrix["log"] if i.kind == "status" and i.site == "hibapress"]
    stats = matrix["run"]["stats"]["hibapress"]
    assert stats.get("robotstxt/forbidden", 0) >= 1
    truth = matrix["truth"]["hibapress"]
    kept = archived(matrix["url"], "hibapress")
    others = {a["url"] for a in truth if a["section"] != "section-22"}
    assert others <= set(kept)


# --- permanent faults: recorded, retried next run -----------------------------------------

def test_permanent_failures_recorded_then_retried(archive_url: str, tmp_path: Path) -> None:
    with SnapshotServer(sites=["le12"]) as srv:
        truth = srv.articles("le12")
        broken = {
            1: (Fault("status", site="le12", match=glob(truth[1]), times=None, params={"status": 503}), "http 503"),
            2: (Fault("status", site="le12", match=glob(truth[2]), times=None, params={"status": 404}), "http 404"),
            3: (Fault("slow", site="le12", match=glob(truth[3]), times=None, params={"delay": 8}), "timeout"),
            4: (Fault("huge", site="le12", match=glob(truth[4]), times=None, params={"size": 20 << 20}), "too large (DOWNLOAD_MAXSIZE)"),
            5: (Fault("redirect_loop", site="le12", match=glob(truth[5]), times=None), "redirect loop"),
            6: (Fault("gzip_bomb", site="le12", match=glob(truth[6]), times=None), "too large after decompression"),
            7: (Fault("reset", site="le12", match=glob(truth[7]), times=None), "connection lost"),
            8: (Fault("empty", site="le12", match=glob(truth[8]), times=None), "dropped: no_body"),
            9: (Fault("truncated_html", site="le12", match=glob(truth[9]), times=None, params={"fraction": 0.7}),
                "truncated page"),
        }
        srv.set_faults(f for f, _ in broken.values())
        # RETRY_TIMES 1 holds for every request of the run: a timeout of 1 s let an ordinary
        # page on a loaded machine fail twice and land in failed_urls (or lose API page 1)
        first = crawl(srv, ["le12"], tmp_path / "run1", archive_url, DOWNLOAD_TIMEOUT="3", RETRY_TIMES="1")
        assert first["max_rss_mb"] < MAX_RSS_MB  # the gzip bomb and the 20 MB page were not held
        with open_archive(archive_url) as a:
            rows = {r["url"]: r for r in a.fetch("SELECT * FROM failed_urls")}
            kept = {r["url"] for r in a.fetch("SELECT url FROM articles")}
            run = a.runs(limit=1)[0]
        for i, (fault, reason) in broken.items():
            row = rows.get(truth[i]["url"])
            assert row is not None, f"{fault.kind}: {truth[i]['url']} not recorded"
            assert row["reason"].startswith(reason), (fault.kind, row["reason"])
            assert row["source"] == "le12" and row["attempts"] == 1 and row["run_id"] == run["id"]
        assert rows.keys() == {truth[i]["url"] for i in broken}
        assert rows[truth[1]["url"]]["status"] == 503 and rows[truth[2]["url"]]["status"] == 404
        # the run went on: every other article is archived, and the run lists each failure
        assert kept == {t["url"] for t in truth} - set(rows)
        errors = {e.get("url") for e in run["errors"] if str(e.get("message", "")).startswith("failed: ")}
        assert set(rows) <= errors
        assert first["stats"]["le12"].get("akhbar/failed_urls/recorded") == len(broken)

        # the site recovers: the next run retries the failed URLs first and keeps them
        srv.set_faults([])
        second = crawl(srv, ["le12"], tmp_path / "run2", archive_url)
        assert second["stats"]["le12"].get("akhbar/failed_urls/requeued") == len(broken)
        assert second["stats"]["le12"].get("akhbar/failed_urls/cleared") == len(broken)
        with open_archive(archive_url) as a:
            assert a.fetch("SELECT url FROM failed_urls") == []
            assert {r["url"] for r in a.fetch("SELECT url FROM articles")} == {t["url"] for t in truth}


def test_failed_api_page_is_retried_next_run(tmp_path: Path) -> None:
    """A REST API page past the first failing for good: the run pages on past it, and the
    page is kept in failed_urls for the next run, which fetches it first (an incremental
    run stops paging at the first all-fresh page: without the row, its articles, and
    before this every article behind it, were never reached again)."""
    bundled = (ROOT / "crawler" / "sources.toml").read_text(encoding="utf-8")
    sources = tmp_path / "sources.toml"
    sources.write_text(bundled.replace('[sources.le12]\n', '[sources.le12]\nper_page = 10\n', 1), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    with SnapshotServer(sites=["le12"]) as srv:
        truth = {t["url"] for t in srv.articles("le12")}
        srv.set_faults([Fault("status", site="le12", match="/wp-json/wp/v2/posts?*page=2&*", times=None,
                              params={"status": 503})])
        first = crawl(srv, ["le12"], tmp_path / "run1", url, sources=sources, RETRY_TIMES="1")
        with open_archive(url) as a:
            rows = a.fetch("SELECT url, reason, status FROM failed_urls")
            kept = {r["url"] for r in a.fetch("SELECT url FROM articles")}
        # the run went on past the gap (pages 3-6): only page 2's ten articles are missing
        assert len(kept) == len(truth) - 10 and kept < truth
        assert [(r["reason"], r["status"]) for r in rows] == [("discovery wp-json page 2: http 503", 503)]
        assert "page=2" in rows[0]["url"] and first["stats"]["le12"].get("akhbar/failed_urls/recorded") == 1

        srv.set_faults([])
        second = crawl(srv, ["le12"], tmp_path / "run2", url, sources=sources)
        assert second["stats"]["le12"].get("akhbar/failed_urls/requeued") == 1
        with open_archive(url) as a:
            assert {r["url"] for r in a.fetch("SELECT url FROM articles")} == truth
            assert a.fetch("SELECT url FROM failed_urls") == []


def test_run_after_a_failed_first_api_page_pages_on(archive_url: str, tmp_path: Path) -> None:
    """API page 1 failing for good: the run falls back to the feed (the newest 20). The next
    run found page 1 (10 posts) all fresh and stopped: the other 32 were never reached.
    A run after one whose discovery failed pages past fresh pages (both backends: the
    run's errors are JSON text on SQLite, JSONB on PostgreSQL)."""
    bundled = (ROOT / "crawler" / "sources.toml").read_text(encoding="utf-8")
    sources = tmp_path / "sources.toml"
    sources.write_text(bundled.replace('[sources.le12]\n', '[sources.le12]\nper_page = 10\n', 1), encoding="utf-8")
    with SnapshotServer(sites=["le12"]) as srv:
        truth = {t["url"] for t in srv.articles("le12")}
        srv.set_faults([Fault("status", site="le12", match="/wp-json/wp/v2/posts?*page=1&*", times=None,
                              params={"status": 503})])
        crawl(srv, ["le12"], tmp_path / "run1", archive_url, sources=sources, RETRY_TIMES="1")
        with open_archive(archive_url) as a:
            assert 0 < len(a.fetch("SELECT url FROM articles")) < len(truth) - 10
        srv.set_faults([])
        second = crawl(srv, ["le12"], tmp_path / "run2", archive_url, sources=sources)
        assert second["stats"]["le12"].get("akhbar/resume_deep") == 1
        with open_archive(archive_url) as a:
            assert {r["url"] for r in a.fetch("SELECT url FROM articles")} == truth


def test_failed_listing_page_is_retried_next_run(tmp_path: Path) -> None:
    """The same for a section listing's page 2 (Hiba Press): its next link is on the failed
    page, so the run cannot go past it; the next run fetches it first."""
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    with SnapshotServer(sites=["hibapress"]) as srv:
        truth = {t["url"] for t in srv.articles("hibapress")}
        srv.set_faults([Fault("status", site="hibapress", match="/section-3.html/page/2*", times=None,
                              params={"status": 503})])
        crawl(srv, ["hibapress"], tmp_path / "run1", url, RETRY_TIMES="1")
        with open_archive(url) as a:
            rows = a.fetch("SELECT url, reason FROM failed_urls")
            assert len(a.fetch("SELECT url FROM articles")) < len(truth)
        assert [r["reason"] for r in rows] == ["discovery sections page 2: http 503"]
        srv.set_faults([])
        second = crawl(srv, ["hibapress"], tmp_path / "run2", url)
        assert second["stats"]["hibapress"].get("akhbar/failed_urls/requeued") == 1
        with open_archive(url) as a:
            assert {r["url"] for r in a.fetch("SELECT url FROM articles")} == truth
            assert a.fetch("SELECT url FROM failed_urls") == []


def test_fault_plan_file(tmp_path: Path) -> None:
    plan = tmp_path / "faults.toml"
    plan.write_text('[[faults]]\nkind = "status"\nsite = "le12"\nmatch = "/article/*"\ntimes = 2\nstatus = 503\n'
                    '[[faults]]\nkind = "slow"\ntimes = "always"\ndelay = 3\n', encoding="utf-8")
    faults = load_faults(plan)
    assert faults[0] == Fault("status", match="/article/*", site="le12", times=2, params={"status": 503})
    assert faults[1].times is None and faults[1].params == {"delay": 3}
    bad = tmp_path / "bad.json"
    bad.write_text('{"faults": [{"kind": "nonsense"}]}', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown kind"):
        load_faults(bad)
    # a typo or a bad value is an error when the plan loads, not a traceback at the first request
    for entry, message in [('{"kind": "status", "stauts": 503}', "unknown param 'stauts'"),
                           ('{"kind": "status", "status": "abc"}', "bad status"),
                           ('{"kind": "charset", "body_encoding": "no-such-codec"}', "bad body_encoding"),
                           ('{"kind": "xml_bomb", "variant": "quadratic"}', "bad variant")]:
        bad.write_text(f'{{"faults": [{entry}]}}', encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_faults(bad)


def test_failed_command_lists_resets_and_forgets(archive_url: str, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from crawler.cli import main
    from crawler.ops.failed_urls import FailedUrls

    # main() exports these for the commands it runs; restored after the test
    for var, value in (("AKHBAR_DATA", str(tmp_path)), ("AKHBAR_ARCHIVE_URL", archive_url),
                       ("SCRAPY_SETTINGS_MODULE", "crawler.settings")):
        monkeypatch.setenv(var, value)

    with open_archive(archive_url) as a:
        failed = FailedUrls(a, max_attempts=2)
        for _ in range(2):
            failed.record("https://le12.ma/article/1/", source="le12", reason="http 503", status=503, run_id="r1")
        failed.record("https://www.rue20.com/2.html?utm_source=x", source="rue20", reason="timeout (DOWNLOAD_TIMEOUT)")
        assert failed.pending("le12") == []  # given up after max_attempts ...
    assert main(["--data", str(tmp_path), "failed", "--archive", archive_url, "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["source"], r["reason"], r["status"], r["attempts"]) for r in rows] == [
        ("le12", "http 503", 503, 2), ("rue20", "timeout (DOWNLOAD_TIMEOUT)", None, 1)]
    assert main(["--data", str(tmp_path), "failed", "--archive", archive_url, "--reset", "--source", "le12"]) == 0
    assert main(["--data", str(tmp_path), "failed", "--archive", archive_url, "--forget", "https://rue20.com/2.html"]) == 0  # any spelling
    assert "forgot 1 URL(s)" in capsys.readouterr().out
    with open_archive(archive_url) as a:
        pending = FailedUrls(a, max_attempts=2).pending("le12")  # ... until reset
        assert [r["url"] for r in pending] == ["https://le12.ma/article/1/"]
        assert FailedUrls(a).rows("rue20") == []


def test_failed_command_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    """`akhbar failed | head`: the reader leaving is not an error to print."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("AKHBAR_ARCHIVE_URL", None)
    from crawler.archive import open_archive

    open_archive(tmp_path / "archive.sqlite3").close()  # `failed` reads an archive; it creates none
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path), "failed"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # before the command prints anything (it is still importing)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141 and b"akhbar: error" not in err and b"Traceback" not in err, err.decode()[-2000:]


def test_unreadable_page_recorded_for_the_next_run(tmp_path: Path) -> None:
    """An article the page object cannot read is kept in failed_urls (the next run, maybe
    with a fixed extractor, retries it), besides being counted."""
    from scrapy.http import Request, Response
    from scrapy.utils.test import get_crawler

    from spiders.le12 import Le12Spider

    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    crawler = get_crawler(Le12Spider, {"AKHBAR_ARCHIVE_URL": url,
                                       "AKHBAR_FAILED_STORE": "crawler.ops.failed_urls.FailedUrlsStore"})
    spider = Le12Spider.from_crawler(crawler)
    page = "https://le12.ma/article/7/"
    assert list(spider.parse_article(Response(page, body=b"\x89PNG\r\n", request=Request(page)), {})) == []
    spider.failed.close()
    with open_archive(url) as a:
        rows = a.fetch("SELECT url, source, reason, status FROM failed_urls")
    assert len(rows) == 1 and rows[0]["url"] == page and rows[0]["source"] == "le12"
    assert rows[0]["reason"].startswith("extraction failed: ") and rows[0]["status"] == 200

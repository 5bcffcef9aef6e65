"""The admin endpoints of the web app need the configured token and are off without one;
wrong tokens are throttled per client; jobs are kept in the archive. Real server on loopback, real crawl of the snapshot
as a subprocess, real stories rebuild. An admin crawl starts as `akhbar run` starts one
(run id known in advance, the per-source JOBDIR, the progress file): stopped by SIGTERM it
is resumed from its checkpoint by the next crawl, from the endpoint or from the scheduler,
and it excludes a scheduled crawl of its source through the same lease."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from crawler.archive import open_archive
from crawler.config import BUNDLED_SOURCES, ConfigError, load_config
from crawler.ops.crawl_process import jobdir_for, progress_file_for
from crawler.ops.leases import Leases
from crawler.ops.progress import read_progress
from crawler.snapshot.faults import Fault
from crawler.web_config import TOKEN_ENV
from feeds.query import publish
from feeds.samples import fill_archive, sample_stories
from feeds.web.app import create_app
from feeds.web.context import WebContext
from feeds.web.server import WebServer

TOKEN = "s3cret-admin-token-0123456789-abcdefgh"
JOB_TIMEOUT_S = 180


def _sources(tmp_path: Path, extra: str = "", replace: dict[str, str] | None = None) -> Path:
    text = BUNDLED_SOURCES.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "sources.toml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path


class Served:
    """The app under uvicorn on a thread, over `data` and its archive."""

    def __init__(self, data: Path, sources: Path) -> None:
        self.data = data
        self.archive_url = f"sqlite:///{data / 'archive.sqlite3'}"
        self.app = create_app(WebContext(data, self.archive_url, config=load_config(sources)))
        self.web = WebServer(self.app)
        self.host, self.port, self.url = self.web.host, self.web.port, self.web.url
        self._thread = threading.Thread(target=self.web.serve_forever, daemon=True)

    def __enter__(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.web.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.web.shutdown()
        self._thread.join(60)
        self.web.server_close()


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources: Path, stories: int = 12) -> Iterator[Served]:
    monkeypatch.setenv("AKHBAR_SOURCES", str(sources))  # what `akhbar run` and the crawls read
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    with open_archive(url) as archive:
        if not archive.count_articles():
            fill_archive(archive, sample_stories(stories))
    with Served(tmp_path, sources) as server:
        publish(tmp_path, url, base_url=server.url)
        yield server


def call(server: Served, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None, source_address: str | None = None,
         ) -> tuple[int, dict[str, str], bytes]:
    c = http.client.HTTPConnection(server.host, server.port, timeout=30,
                                   source_address=(source_address, 0) if source_address else None)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def wait_job(server: Served, job_url: str) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        status, _, body = call(server, "GET", job_url, token=TOKEN)
        assert status == 200, body
        job = json.loads(body)
        if job["status"] != "running":
            return job
        time.sleep(0.5)  # polling a job's state, not synchronising on time
    pytest.fail(f"job {job_url} still running after {JOB_TIMEOUT_S}s")


ADMIN_ON = f'[admin]\ntoken = "{TOKEN}"\nthrottle_failures = 1000\n'


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """Admin off: the bundled sources, no token anywhere."""
    yield from _serve(tmp_path, monkeypatch, _sources(tmp_path))


def _admin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, faults: list[Fault] | None = None,
                replace: dict[str, str] | None = None) -> Iterator[tuple[Served, Path, int]]:
    from crawler.snapshot import SnapshotServer

    with SnapshotServer(sites=["le12"], faults=faults or False) as snap:
        sources = _sources(tmp_path, ADMIN_ON,
                           {'base_url = "https://le12.ma"': f'base_url = "{snap.base_urls["le12"]}"', **(replace or {})})
        for server in _serve(tmp_path, monkeypatch, sources, stories=30):
            yield server, tmp_path, len(snap.articles("le12"))


@pytest.fixture()
def admin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Served, Path]]:
    """Admin on (token in the sources file), le12 pointing at the offline snapshot."""
    for server, data, _ in _admin_site(tmp_path, monkeypatch):
        yield server, data


SLOW = {"faults": [Fault("slow", site="le12", times=1, params={"delay": 0.3})],
        "replace": {'schedule = "every 1h"\njitter = "5m"': 'schedule = "every 1s"\njitter = "0"'}}


@pytest.fixture()
def slow_admin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Served, Path, int]]:
    """As `admin_site`, with every snapshot URL answering its first request after 0.3 s: a
    crawl of le12 (one request at a time) takes long enough to be stopped or raced midway.
    Every source is due a second after its last start, so `akhbar run --once` always wants
    to crawl it. Also yields how many articles le12 has."""
    yield from _admin_site(tmp_path, monkeypatch, **SLOW)  # type: ignore[arg-type]


# --- admin off ---------------------------------------------------------------------------

def test_admin_endpoints_are_off_without_a_token(site: Served) -> None:
    for method, path in [("POST", "/api/admin/crawl?source=le12"), ("POST", "/api/admin/rebuild-stories"),
                         ("GET", "/api/admin/jobs"), ("GET", "/api/admin")]:
        for token in (None, TOKEN):
            status, headers, body = call(site, method, path, token=token)
            assert status == 404, (method, path, body)
            assert "www-authenticate" not in headers
    assert not (site.data / "logs").exists()  # nothing was started


# --- admin on ----------------------------------------------------------------------------

def test_wrong_or_missing_token_is_401_with_a_bearer_challenge(admin_site) -> None:
    server, data = admin_site
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Bearer {TOKEN[:-1]}"},
                    {"Authorization": "Bearer"}):
        for method, path in [("POST", "/api/admin/crawl?source=le12"), ("POST", "/api/admin/rebuild-stories"),
                             ("GET", "/api/admin/jobs")]:
            status, got, body = call(server, method, path, headers=headers)
            assert status == 401, (headers, path, body)
            assert got["www-authenticate"].startswith("Bearer ")
            assert TOKEN not in body.decode()
    status, _, body = call(server, "GET", "/api/admin/jobs", token=TOKEN)
    assert status == 200 and json.loads(body)["items"] == []  # no refused request started anything


def test_crawl_endpoint_runs_one_crawl_per_source(admin_site) -> None:
    server, data = admin_site
    assert call(server, "POST", "/api/admin/crawl", token=TOKEN)[0] == 400  # no source
    status, _, body = call(server, "POST", "/api/admin/crawl?source=nosuchsite", token=TOKEN)
    assert status == 400 and "unknown source" in json.loads(body)["error"]
    status, headers, _ = call(server, "GET", "/api/admin/crawl", token=TOKEN)
    assert status == 405 and headers["allow"] == "POST, OPTIONS"  # the app answers OPTIONS on every path

    # A scheduler elsewhere holds the source's lease: refused, nothing started.
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    with open_archive(url) as archive:
        other = Leases(archive, "scheduler-on-another-machine")
        assert other.acquire("le12", timedelta(minutes=5))
        status, _, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
        assert status == 409 and "lease" in json.loads(body)["error"]
        other.release("le12")

    status, headers, body = call(server, "POST", "/api/admin/crawl", token=TOKEN, body=b'{"source": "le12"}',
                                 headers={"Content-Type": "application/json"})
    assert status == 202, body
    with open_archive(url) as archive:
        lease = Leases(archive).get("le12")
        assert lease is not None and lease.holder.startswith("admin:")  # akhbar run keeps off it
    job = json.loads(body)["job"]
    assert job["kind"] == "crawl" and job["source"] == "le12" and job["status"] == "running"
    assert headers["location"] == job["url"]
    assert job["run_id"] and job["run_id"].endswith(tuple("0123456789abcdef")) and "-le12-" in job["run_id"]
    assert job["run_status"] is None
    # The crawl process takes seconds to even import Scrapy: a second request lands while it runs.
    status, headers, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
    assert status == 409, body
    assert headers["location"] == job["url"]

    done = wait_job(server, job["url"])
    assert done["status"] == "succeeded", Path(done["log"]).read_text()[-3000:]
    with open_archive(url) as archive:
        n = archive.fetchval("SELECT COUNT(*) FROM articles WHERE source = 'le12' AND url LIKE 'http://127.0.0.1:%'")
        assert Leases(archive).get("le12") is None  # released when the crawl ended
        (run,) = [r for r in archive.runs(source="le12") if r["id"] == job["run_id"]]
    assert n >= 40
    # its run is recorded under the id the endpoint returned, and the job says how it ended
    assert run["status"] == done["run_status"] == "finished" and run["articles_new"] == n
    status, _, body = call(server, "GET", "/api/admin/jobs", token=TOKEN)
    assert [j["id"] for j in json.loads(body)["items"]] == [job["id"]]


def test_rebuild_stories_endpoint(admin_site) -> None:
    server, data = admin_site
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    with open_archive(url) as archive:
        archive.execute("UPDATE articles SET story_id = NULL, is_canonical = NULL")
        assert archive.fetchval("SELECT COUNT(*) FROM articles WHERE story_id IS NOT NULL") == 0
    status, _, body = call(server, "POST", "/api/admin/rebuild-stories", token=TOKEN, body=b"",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 202, body
    job = json.loads(body)["job"]
    assert call(server, "POST", "/api/admin/rebuild-stories", token=TOKEN)[0] == 409
    done = wait_job(server, job["url"])
    assert done["status"] == "succeeded", Path(done["log"]).read_text()[-3000:]
    with open_archive(url) as archive:
        assert archive.fetchval("SELECT COUNT(*) FROM articles WHERE story_id IS NULL") == 0
    assert call(server, "POST", "/api/admin/rebuild-stories", token=TOKEN)[0] == 202  # free again


def test_oversized_bodies_are_refused(admin_site) -> None:
    server, _ = admin_site
    status, headers, body = call(server, "POST", "/api/admin/crawl", token=TOKEN, body=b"x" * (65 * 1024))
    assert status == 413 and "error" in json.loads(body)
    status, _, body = call(server, "POST", "/api/admin/crawl", token=TOKEN, body=b"[1, 2]",
                           headers={"Content-Type": "application/json"})
    assert status == 400 and "object" in json.loads(body)["error"]
    assert json.loads(call(server, "GET", "/api/admin/jobs", token=TOKEN)[2])["items"] == []


def test_wrong_tokens_are_throttled_per_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    limit, window = 20, 15
    sources = _sources(tmp_path, f'[admin]\ntoken = "{TOKEN}"\nthrottle_failures = {limit}\n'
                                 f"throttle_window_seconds = {window}\n")
    for server in _serve(tmp_path, monkeypatch, sources):
        wrong = "wrong-token-" + "x" * 32

        def guess(i: int, server: Served = server, wrong: str = wrong) -> tuple[int, str | None]:
            status, headers, _ = call(server, "GET", "/api/admin/jobs", token=f"{wrong}{i}")
            return status, headers.get("retry-after")

        with ThreadPoolExecutor(16) as pool:  # 300 wrong tokens in a burst from one client
            answers = list(pool.map(guess, range(300)))
        statuses = [a[0] for a in answers]
        assert statuses.count(401) == limit - 1 and statuses.count(429) == 300 - (limit - 1), statuses
        assert all(ra is not None and 1 <= int(ra) <= window for st, ra in answers if st == 429)
        # the right token from that client waits out the window too
        status, headers, body = call(server, "GET", "/api/admin/jobs", token=TOKEN)
        assert status == 429 and 1 <= int(headers["retry-after"]) <= window and "error" in json.loads(body)
        # another client is not affected: its right token works, its wrong one is a plain 401
        assert call(server, "GET", "/api/admin/jobs", token=TOKEN, source_address="127.0.0.2")[0] == 200
        assert call(server, "GET", "/api/admin/jobs", token=wrong, source_address="127.0.0.2")[0] == 401
        # once the window has passed, the first client is let in again
        deadline = time.monotonic() + window + 30
        while (status := call(server, "GET", "/api/admin/jobs", token=TOKEN)[0]) == 429:
            assert time.monotonic() < deadline
            time.sleep(0.2)  # polling for the end of the window
        assert status == 200


SERVER_SCRIPT = """
import sys
from pathlib import Path
from crawler.config import load_config
from feeds.web.app import create_app
from feeds.web.context import WebContext
from feeds.web.server import WebServer

data, url, sources = sys.argv[1:4]
server = WebServer(create_app(WebContext(Path(data), url, config=load_config(sources))))
print(server.port, flush=True)
server.serve_forever()
"""


def test_jobs_outlive_the_server_and_dead_ones_show_crashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.snapshot import SnapshotServer
    from tests.test_run_command import ROOT

    with SnapshotServer(sites=["le12"], faults=SLOW["faults"]) as snap:
        sources = _sources(tmp_path, ADMIN_ON, {'base_url = "https://le12.ma"': f'base_url = "{snap.base_urls["le12"]}"'})
        # a finished job is still there, as it ended, for the next server
        for server in _serve(tmp_path, monkeypatch, sources, stories=30):
            status, _, body = call(server, "POST", "/api/admin/rebuild-stories", token=TOKEN)
            assert status == 202, body
            rebuilt = wait_job(server, json.loads(body)["job"]["url"])
            assert rebuilt["status"] == "succeeded", Path(rebuilt["log"]).read_text()[-3000:]

        # a server killed (SIGKILL) while its crawl runs: the crawl goes on without it
        url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(tmp_path), url, str(sources)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        crawl_pid = None
        try:
            assert proc.stdout is not None
            killed = Served.__new__(Served)
            killed.host, killed.port = "127.0.0.1", int(proc.stdout.readline())
            deadline = time.monotonic() + 60
            while True:
                try:
                    if call(killed, "GET", "/api/admin/jobs", token=TOKEN)[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the server process did not start"
                time.sleep(0.1)
            status, _, body = call(killed, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
            assert status == 202, body
            job = json.loads(body)["job"]
            crawl_pid = job["pid"]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        try:
            with Served(tmp_path, sources) as server:
                items = {j["id"]: j for j in json.loads(call(server, "GET", "/api/admin/jobs", token=TOKEN)[2])["items"]}
                assert items[rebuilt["id"]]["status"] == "succeeded"
                # its process still runs: the job says so, and a second crawl of le12 is refused
                assert items[job["id"]]["status"] == "running" and items[job["id"]]["pid"] == crawl_pid
                status, _, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
                assert status == 409, body
                os.kill(crawl_pid, signal.SIGTERM)  # now it ends, with nobody to record how
                crawl_pid = None
                done = wait_job(server, job["url"])
                assert done["status"] == "crashed" and "gone" in done["error"], done
                assert done["finished_at"] is not None and done["returncode"] is None
        finally:
            if crawl_pid is not None:
                os.kill(crawl_pid, signal.SIGKILL)


def test_admin_paths_are_in_the_openapi_document_with_a_bearer_scheme(site: Served) -> None:
    status, _, body = call(site, "GET", "/api/openapi.json")
    doc = json.loads(body)
    assert doc["components"]["securitySchemes"]["adminToken"] == {
        **doc["components"]["securitySchemes"]["adminToken"], "type": "http", "scheme": "bearer"}
    for path in ("/api/admin/crawl", "/api/admin/rebuild-stories"):
        op = doc["paths"][path]["post"]
        assert op["security"] == [{"adminToken": []}]
        assert {"202", "401", "404", "409"} <= set(op["responses"])


# --- configuration -----------------------------------------------------------------------

def test_token_configuration_is_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.web_config import configured_token

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    for bad, reason in [('token = "short"', "at least 32"), ('token = "s3cret-admin-token-0123456789"', "at least 32"),
                        ('token = "change-me-to-a-long-random-string"', "documentation's example"), ("token = 12345678901234567890", "string"),
                        ('token = "has spaces in the middle of it"', "without spaces"), ('tokn = "x"', "unknown key")]:
        path = _sources(tmp_path, f"[admin]\n{bad}\n")
        with pytest.raises(ConfigError, match=reason) as err:
            load_config(path)
        assert str(path) in str(err.value)
    cfg = load_config(_sources(tmp_path, f'[admin]\ntoken = "{TOKEN}"\n'))
    assert configured_token(cfg) == TOKEN
    monkeypatch.setenv(TOKEN_ENV, "another-token-from-the-environment-0123456")
    assert configured_token(cfg) == "another-token-from-the-environment-0123456"  # the environment wins
    assert configured_token(load_config(_sources(tmp_path))) == "another-token-from-the-environment-0123456"
    monkeypatch.delenv(TOKEN_ENV)
    assert configured_token(load_config(_sources(tmp_path))) is None


# --- an admin crawl is a scheduled crawl ---------------------------------------------------

def _le12_articles(url: str) -> int:
    with open_archive(url) as archive:
        return archive.fetchval("SELECT COUNT(*) FROM articles WHERE source = 'le12' AND url LIKE 'http://127.0.0.1:%'")


def _wait_for_articles(url: str, at_least: int, job_url: str, server: Served) -> int:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        n = _le12_articles(url)
        if n >= at_least:
            return n
        status, _, body = call(server, "GET", job_url, token=TOKEN)
        assert json.loads(body)["status"] == "running", body
        time.sleep(0.2)  # polling the archive, not synchronising on time
    pytest.fail(f"fewer than {at_least} articles after {JOB_TIMEOUT_S}s")


def _akhbar_run_once(data: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    from tests.test_run_command import ROOT, TIMEOUT, env_for

    env = env_for(url, Path(os.environ["AKHBAR_SOURCES"]))
    return subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), "run", "--once", "--no-publish",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.mark.parametrize("resume_with", ["admin", "scheduler"])
def test_an_admin_crawl_stopped_by_sigterm_resumes_from_its_jobdir(slow_admin_site, resume_with: str) -> None:
    server, data, expected = slow_admin_site
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    status, _, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
    assert status == 202, body
    job = json.loads(body)["job"]
    log = Path(job["log"])
    # started as `akhbar run` starts a crawl: its run id, the source's JOBDIR and progress file
    header = log.read_text(encoding="utf-8").splitlines()[0]
    assert f"run {job['run_id']}: " in header and "(resuming)" not in header
    assert f"--run-id {job['run_id']} " in header
    assert f"JOBDIR={jobdir_for(data, 'le12')} " in header and str(data / "jobs" / "le12") in header
    assert f"PROGRESS_FILE={progress_file_for(data, 'le12')}" in header

    archived = _wait_for_articles(url, 3, job["url"], server)
    assert archived < expected  # mid-crawl
    assert (data / "jobs" / "le12").is_dir()
    os.kill(job["pid"], signal.SIGTERM)
    done = wait_job(server, job["url"])
    assert done["run_status"] == "interrupted", log.read_text()[-3000:]
    with open_archive(url) as archive:
        (first,) = [r for r in archive.runs(source="le12") if r["id"] == job["run_id"]]
        assert Leases(archive).get("le12") is None
    assert first["status"] == "interrupted" and 0 < first["articles_new"] < expected
    assert (data / "jobs" / "le12" / "requests.queue").exists()  # the checkpoint is kept
    assert read_progress(data / "progress" / "le12.json") is not None

    if resume_with == "admin":
        status, _, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
        assert status == 202, body
        again = json.loads(body)["job"]
        assert again["run_id"] != job["run_id"]
        second_done = wait_job(server, again["url"])
        text = Path(again["log"]).read_text(encoding="utf-8")
        assert text.splitlines()[0].startswith("---") and "(resuming)" in text.splitlines()[0]
        assert "Resuming crawl" in text, text[-3000:]  # Scrapy read the pending requests from the JOBDIR
        assert second_done["run_status"] == "finished", text[-3000:]
        second_id = again["run_id"]
    else:  # `akhbar run` finds the interrupted run due now and resumes the admin crawl's checkpoint
        proc = _akhbar_run_once(data, url, "le12")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "le12: started run" in proc.stdout and "(resuming)" in proc.stdout, proc.stdout
        assert "Resuming crawl" in (data / "logs" / "le12.log").read_text(encoding="utf-8")
        second_id = proc.stdout.split("le12: started run ")[1].split()[0]
    with open_archive(url) as archive:
        (second,) = [r for r in archive.runs(source="le12") if r["id"] == second_id]
        urls = [r["url_key"] for r in archive.fetch(
            "SELECT url_key FROM articles WHERE source = 'le12' AND url LIKE 'http://127.0.0.1:%'")]
    assert second["status"] == "finished"
    assert len(urls) == len(set(urls)) == expected
    # exactly once: what the first run stored, the resumed one did not store again
    assert first["articles_new"] + second["articles_new"] == expected
    assert not (data / "jobs" / "le12").exists()  # a finished run leaves no JOBDIR


def test_an_admin_crawl_and_a_scheduled_crawl_of_a_source_exclude_each_other(slow_admin_site) -> None:
    server, data, expected = slow_admin_site
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    status, _, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
    assert status == 202, body
    job = json.loads(body)["job"]
    _wait_for_articles(url, 1, job["url"], server)  # it is crawling, not just starting
    # `akhbar run` on the same archive does not start le12 while the admin crawl holds it
    proc = _akhbar_run_once(data, url, "le12")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "le12: skipped: a crawl of it is running elsewhere (lease held by admin:" in proc.stdout, proc.stdout
    assert "started run" not in proc.stdout
    assert json.loads(call(server, "GET", job["url"], token=TOKEN)[2])["status"] == "running"  # undisturbed
    done = wait_job(server, job["url"])
    assert done["run_status"] == "finished", Path(done["log"]).read_text()[-3000:]
    with open_archive(url) as archive:
        assert [r["id"] for r in archive.runs(source="le12")] == [job["run_id"]]  # one crawl, the admin's
    assert _le12_articles(url) == expected

    # and the other way round: while `akhbar run` crawls le12, the endpoint answers 409
    from tests.test_run_command import ROOT, env_for

    sched = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(data), "run", "--once", "--no-publish",
                              "le12", "-s", "DOWNLOAD_DELAY=0.3", "-s", "AUTOTHROTTLE_ENABLED=false"], cwd=ROOT,
                             env=env_for(url, Path(os.environ["AKHBAR_SOURCES"])), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        assert sched.stdout is not None
        for line in sched.stdout:
            if "le12: started run" in line:
                break
        status, _, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
        assert status == 409 and "lease" in json.loads(body)["error"], body
        out, _ = sched.communicate(timeout=JOB_TIMEOUT_S)
    finally:
        if sched.poll() is None:
            sched.kill()
            sched.wait()
    assert sched.returncode == 0, out[-3000:]
    status, _, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
    assert status == 202, body  # free again once the scheduled crawl ended
    assert wait_job(server, json.loads(body)["job"]["url"])["run_status"] == "finished"


def test_jobs_rows_on_both_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive_url: str) -> None:
    """One running job per kind and source, held by the archive's unique index; the job
    row follows its process to the end, on SQLite and PostgreSQL."""
    from crawler.web_config import AdminSettings
    from feeds.web.admin import Admin, AdminError

    monkeypatch.setenv("AKHBAR_SOURCES", str(_sources(tmp_path)))
    admin = Admin(AdminSettings(TOKEN), tmp_path, archive_url=archive_url)
    try:
        job, _ = admin.rebuild()
        assert job.status == "running" and job.pid and job.host
        with pytest.raises(AdminError) as busy:
            admin.rebuild()
        assert busy.value.status == 409 and job.id in busy.value.message
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while admin.job(job.id).status == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)  # polling the job's row
        done = admin.job(job.id)
        assert done.status == "succeeded" and done.returncode == 0, Path(done.log).read_text()[-3000:]
        assert [j.id for j in admin.jobs()] == [job.id]
        again, _ = admin.rebuild()  # free again
        assert again.status == "running"
    finally:
        admin.close()
    with open_archive(archive_url) as archive:
        assert archive.fetchval("SELECT status FROM admin_jobs WHERE id = ?", (again.id,)) == "failed"  # terminated


def test_the_archive_comes_from_the_run_context_not_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's `WebContext` is the one source: an AKHBAR_ARCHIVE_URL left in the
    server's environment does not send admin's crawls and rebuilds to another archive."""
    from crawler.archive import default_url
    from crawler.web_config import AdminSettings
    from feeds.web.admin import Admin

    elsewhere = tmp_path / "elsewhere.sqlite3"
    monkeypatch.setenv("AKHBAR_ARCHIVE_URL", f"sqlite:///{elsewhere}")
    admin = Admin(AdminSettings(TOKEN), tmp_path / "data")
    try:
        assert admin.archive_url == default_url(tmp_path / "data")
    finally:
        admin.close()
    assert not elsewhere.exists()
    given = f"sqlite:///{tmp_path / 'given.sqlite3'}"
    admin = Admin(AdminSettings(TOKEN), tmp_path / "data", archive_url=given)
    try:
        assert admin.archive_url == given
    finally:
        admin.close()


# --- the generated document, fuzzed ----------------------------------------------------------

_DOC = create_app(WebContext(Path("."), None)).openapi()
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(_DOC))).include(path_regex=r"^/(api/admin|websub)")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Admin on with a token the fuzzer never has; the hub on."""
    data = tmp_path_factory.mktemp("fuzz")
    mp = pytest.MonkeyPatch()
    sources = _sources(data, ADMIN_ON)
    mp.setenv("AKHBAR_SOURCES", str(sources))
    with open_archive(f"sqlite:///{data / 'archive.sqlite3'}") as archive:
        fill_archive(archive, sample_stories(12))
    try:
        with Served(data, sources) as server:
            publish(data, server.archive_url, base_url=server.url)
            yield server
    finally:
        mp.undo()


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_admin_and_hub_conform_to_the_generated_document(case: schemathesis.Case, fuzzed: Served) -> None:
    # A schema-valid hub request still names a topic that must be one of the app's feeds,
    # which no JSON schema states: its 400 is documented, not a rejected valid request.
    excluded = [positive_data_acceptance] if case.operation.path == "/websub" else []
    response = case.call_and_validate(base_url=fuzzed.url, excluded_checks=excluded)
    assert response.status_code < 500
    assert "Traceback" not in response.text
    if case.operation.path.startswith("/api/admin"):
        # without the token nothing succeeds; OPTIONS (204 + Allow) tells only the methods
        allowed = (204,) if case.method.upper() == "OPTIONS" else ()
        assert response.status_code in (401, 404, 405, 413, 422, 429, *allowed), (case.path, case.method, response.status_code)


def test_the_document_has_the_admin_and_hub_operations() -> None:
    ops = {f"{op.ok().method.upper()} {op.ok().path}" for op in schema.get_all_operations()}
    assert ops == {"POST /api/admin/crawl", "POST /api/admin/rebuild-stories", "GET /api/admin/jobs",
                   "GET /api/admin/jobs/{job_id}", "POST /websub"}

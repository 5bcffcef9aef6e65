"""The web app is read-only except for its admin endpoints, which need the configured
token and are off without one. Real server on loopback, real crawl of the snapshot
as a subprocess, real stories rebuild."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from crawler.admin import TOKEN_ENV
from crawler.archive import open_archive
from crawler.ops.leases import Leases
from crawler.config import BUNDLED_SOURCES, ConfigError, load_config
from feeds.query import publish
from feeds.samples import fill_archive, sample_stories
from feeds.serve import FeedServer, make_server

TOKEN = "s3cret-admin-token-0123456789"
JOB_TIMEOUT_S = 180


def _sources(tmp_path: Path, extra: str = "", replace: dict[str, str] | None = None) -> Path:
    text = BUNDLED_SOURCES.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "sources.toml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources: Path, stories: int = 12) -> Iterator[FeedServer]:
    monkeypatch.setenv("AKHBAR_SOURCES", str(sources))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    archive = open_archive(url)
    fill_archive(archive, sample_stories(stories))
    server = make_server(tmp_path, url, "127.0.0.1", 0)
    publish(tmp_path, archive, base_url=server.url)
    archive.close()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def call(server: FeedServer, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None, conn: http.client.HTTPConnection | None = None,
         ) -> tuple[int, dict[str, str], bytes]:
    host, port = server.server_address[:2]
    c = conn or http.client.HTTPConnection(host, port, timeout=30)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    if conn is None:
        c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def wait_job(server: FeedServer, job_url: str) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        status, _, body = call(server, "GET", job_url, token=TOKEN)
        assert status == 200, body
        job = json.loads(body)
        if job["status"] != "running":
            return job
        time.sleep(0.5)  # polling a job's state, not synchronising on time
    pytest.fail(f"job {job_url} still running after {JOB_TIMEOUT_S}s")


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    """Admin off: the bundled sources, no token anywhere."""
    yield from _serve(tmp_path, monkeypatch, _sources(tmp_path))


@pytest.fixture()
def admin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FeedServer, Path]]:
    """Admin on (token in the sources file), le12 pointing at the offline snapshot."""
    from crawler.snapshot import SnapshotServer

    with SnapshotServer(sites=["le12"]) as snap:
        sources = _sources(tmp_path, f'[admin]\ntoken = "{TOKEN}"\n',
                           {'base_url = "https://le12.ma"': f'base_url = "{snap.base_urls["le12"]}"'})
        for server in _serve(tmp_path, monkeypatch, sources, stories=30):
            yield server, tmp_path


# --- read-only ---------------------------------------------------------------------------

READ_ONLY_PATHS = ["/", "/search?q=x", "/index.html", "/feeds/all.rss", "/feeds.opml", "/api", "/api/articles",
                   "/api/articles/1", "/api/sources", "/api/runs", "/api/openapi.json", "/api/stories/abc",
                   "/no/such/file", "/api/no-such-endpoint"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "PROPFIND", "TRACE"])
def test_every_non_admin_path_refuses_writes_with_405(site: FeedServer, method: str) -> None:
    for path in READ_ONLY_PATHS:
        status, headers, body = call(site, method, path, body=b'{"title": "x"}',
                                     headers={"Content-Type": "application/json"})
        assert status == 405, (method, path, status, body)
        assert headers["allow"] == "GET, HEAD, OPTIONS"
        assert "error" in json.loads(body)
    status, _, _ = call(site, "GET", "/api/articles/1")
    assert status == 200  # nothing was changed


def test_options_head_and_keep_alive_after_refused_bodies(site: FeedServer) -> None:
    status, headers, body = call(site, "OPTIONS", "/api/articles")
    assert status == 204 and headers["allow"] == "GET, HEAD, OPTIONS" and body == b""
    host, port = site.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        # A refused POST's body is read, so the next request on the connection parses.
        assert call(site, "POST", "/api/articles", body=b"x" * 5000, conn=conn)[0] == 405
        status, _, body = call(site, "GET", "/api/sources", conn=conn)
        assert status == 200 and json.loads(body)["items"]
    finally:
        conn.close()
    # A body too large for any endpoint: 413 and the connection is closed, never a hang.
    status, headers, _ = call(site, "POST", "/api/admin/crawl", body=b"x" * (65 * 1024))
    assert status == 413 and headers.get("connection") == "close"


def test_chunked_bodies_are_refused_cleanly(site: FeedServer) -> None:
    host, port = site.server_address[:2]
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(b"POST /api/articles HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 413") or data.startswith(b"HTTP/1.1 405"), data[:200]


# --- admin off ---------------------------------------------------------------------------

def test_admin_endpoints_are_off_without_a_token(site: FeedServer) -> None:
    for method, path in [("POST", "/api/admin/crawl?source=le12"), ("POST", "/api/admin/rebuild-stories"),
                         ("GET", "/api/admin/jobs"), ("GET", "/api/admin")]:
        for token in (None, TOKEN):
            status, headers, body = call(site, method, path, token=token)
            assert status == 404, (method, path, body)
            assert "www-authenticate" not in headers
    assert not (Path(site.app.static.root).parent / "logs").exists()  # nothing was started


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
    assert status == 405 and headers["allow"] == "POST"

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
    # The crawl process takes seconds to even import Scrapy: a second request lands while it runs.
    status, headers, body = call(server, "POST", "/api/admin/crawl?source=le12", token=TOKEN)
    assert status == 409, body
    assert headers["location"] == job["url"]

    done = wait_job(server, job["url"])
    assert done["status"] == "succeeded", Path(done["log"]).read_text()[-3000:]
    with open_archive(url) as archive:
        n = archive.fetchval("SELECT COUNT(*) FROM articles WHERE source = 'le12' AND url LIKE 'http://127.0.0.1:%'")
        assert Leases(archive).get("le12") is None  # released when the crawl ended
    assert n >= 40
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


def test_admin_paths_are_in_the_openapi_document_with_a_bearer_scheme(site: FeedServer) -> None:
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
    from crawler.admin import configured_token

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    for bad, reason in [('token = "short"', "at least 16"), ("token = 12345678901234567890", "string"),
                        ('token = "has spaces in the middle of it"', "without spaces"), ('tokn = "x"', "unknown key")]:
        path = _sources(tmp_path, f"[admin]\n{bad}\n")
        with pytest.raises(ConfigError, match=reason) as err:
            load_config(path)
        assert str(path) in str(err.value)
    cfg = load_config(_sources(tmp_path, f'[admin]\ntoken = "{TOKEN}"\n'))
    assert configured_token(cfg) == TOKEN
    monkeypatch.setenv(TOKEN_ENV, "another-token-from-the-env")
    assert configured_token(cfg) == "another-token-from-the-env"  # the environment wins
    assert configured_token(load_config(_sources(tmp_path))) == "another-token-from-the-env"
    monkeypatch.delenv(TOKEN_ENV)
    assert configured_token(load_config(_sources(tmp_path))) is None

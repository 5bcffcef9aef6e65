"""The app as a WebSub hub for its own feeds, end to end on loopback: the real ASGI app
under uvicorn over a SQLite archive, subscribers that are real HTTP servers answering (or
failing) the hub's verification and pushes, publishes done as `akhbar publish` does them,
external hubs pinged. Waits poll the archive or the subscriber for what the hub did, with a
deadline; nothing asserts how long anything took."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import feedparser
import pytest

from crawler.archive import open_archive
from crawler.config import BUNDLED_SOURCES, ConfigError, load_config
from feeds.model import FeedStory
from feeds.query import publish
from feeds.samples import fill_archive, sample_stories
from feeds.web.app import create_app
from feeds.web.context import WebContext
from feeds.web.server import WebServer

SECRET = "a-subscriber-secret-" + "x" * 20
WAIT_S = 60
HUB_TEST_SETTINGS = "allow_private_callbacks = true\npoll_seconds = 0.05\nretry_seconds = 0.1\nmin_lease_seconds = 1\n"


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)  # polling for what the hub did, not synchronising on time
    pytest.fail(f"not seen within {WAIT_S}s: {what}")


# --- a subscriber ------------------------------------------------------------------------

@dataclass
class Push:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Subscriber:
    """A WebSub subscriber on loopback: answers verifications (echoing the challenge, or
    not) and records pushes, answering each with the next of `push_statuses` (200 after)."""

    echo: bool = True
    push_statuses: list[int] = field(default_factory=list)
    verifications: list[dict[str, str]] = field(default_factory=list)
    pushes: list[Push] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        sub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                with sub.lock:
                    sub.verifications.append(params)
                challenge = params.get("hub.challenge", "")
                self._answer(200, challenge.encode() if sub.echo else b"not the challenge")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sub.lock:
                    sub.pushes.append(Push(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = sub.push_statuses.pop(0) if sub.push_statuses else 200
                self._answer(status, b"")

        return Handler


@contextmanager
def subscriber(**kwargs: Any) -> Iterator[Subscriber]:
    sub = Subscriber(**kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), sub.handler())
    sub.url = f"http://127.0.0.1:{server.server_address[1]}"
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield sub
    finally:
        server.shutdown()
        server.server_close()
        t.join(10)


# --- the app ---------------------------------------------------------------------------------

@dataclass
class Site:
    data: Path
    archive_url: str
    server: WebServer
    app: Any

    @property
    def url(self) -> str:
        return self.server.url

    def topic(self, name: str = "all.atom") -> str:
        return f"{self.url}/feeds/{name}"

    def post(self, form: dict[str, str] | bytes, content_type: str = "application/x-www-form-urlencoded",
             ) -> tuple[int, bytes]:
        body = form if isinstance(form, bytes) else urlencode(form).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("POST", "/websub", body=body, headers={"Content-Type": content_type})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def subscribe(self, sub: Subscriber, *, topic: str | None = None, mode: str = "subscribe", path: str = "/cb",
                  **extra: str) -> tuple[int, bytes]:
        form = {"hub.mode": mode, "hub.topic": topic or self.topic(), "hub.callback": sub.url + path, **extra}
        return self.post(form)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with open_archive(self.archive_url) as archive:
            return archive.fetch(sql, params)

    def publish_new_article(self, title: str) -> Any:
        story = FeedStory(url=f"https://www.hespress.ma/new-{uuid.uuid4().hex[:8]}.html", title=title,
                          source="hespress", source_name="هسبريس", published=datetime.now(UTC),
                          story_id=f"story-{uuid.uuid4().hex[:8]}", summary=title, body_html=f"<p>{title}</p>")
        with open_archive(self.archive_url) as archive:
            fill_archive(archive, [story])
        return publish(self.data, self.archive_url, base_url=self.url)

    def all_fanned_out(self) -> bool:
        return not self.rows("SELECT id FROM websub_changes WHERE fanned_out_at IS NULL")

    def hub_idle(self) -> bool:
        """No verification in flight (every intent answered and recorded)."""
        return not self.app.state.hub.verifying


def _sources(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(BUNDLED_SOURCES.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path


@contextmanager
def hub_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, websub: str = HUB_TEST_SETTINGS,
             data: Path | None = None, archive_url: str | None = None) -> Iterator[Site]:
    """The app over a published archive with `websub` as its ``[websub]`` table; `akhbar
    publish` in this process reads the same file (AKHBAR_SOURCES, as the CLI does)."""
    data = data or tmp_path / "data"
    data.mkdir(exist_ok=True)
    sources = _sources(tmp_path, f"[websub]\n{websub}")
    monkeypatch.setenv("AKHBAR_SOURCES", str(sources))
    url = archive_url or f"sqlite:///{data / 'archive.sqlite3'}"
    with open_archive(url) as archive:
        if not archive.count_articles():
            fill_archive(archive, sample_stories(12))
    app = create_app(WebContext(data, url, config=load_config(sources)))
    server = WebServer(app)
    publish(data, url, base_url=server.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    wait_for("the server started", lambda: server.server.started)
    site = Site(data, url, server, app)
    try:
        wait_for("the hub took the first publish", site.all_fanned_out)  # before any subscriber
        yield site
    finally:
        server.shutdown()
        thread.join(30)
        server.server_close()


def verify_signature(push: Push, secret: str) -> None:
    expected = "sha256=" + hmac.new(secret.encode(), push.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(push.headers["x-hub-signature"], expected)


def subscribed(site: Site, sub: Subscriber, **extra: str) -> dict[str, str]:
    """Subscribe and wait until the hub verified and stored it; the verification's parameters."""
    seen = len(sub.verifications)
    status, body = site.subscribe(sub, **extra)
    assert status == 202, body
    wait_for("the verification GET", lambda: len(sub.verifications) > seen)
    wait_for("the verification finished", site.hub_idle)
    assert site.rows("SELECT id FROM websub_subscriptions WHERE callback = ?", (sub.url + "/cb",))
    return sub.verifications[seen]


# --- tests ----------------------------------------------------------------------------------

def test_subscribe_publish_receive_signed_push_unsubscribe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          archive_url: str) -> None:
    with hub_site(tmp_path, monkeypatch, archive_url=archive_url) as site, subscriber() as sub:
        # every feed names the hub and itself
        feed = (site.data / "public" / "feeds" / "all.atom").read_text(encoding="utf-8")
        assert f'<link href="{site.url}/websub" rel="hub"/>' in feed
        assert f'href="{site.topic()}" rel="self"' in feed
        rss = feedparser.parse((site.data / "public" / "feeds" / "all.rss").read_bytes()).feed
        assert {(link["rel"], link["href"]) for link in rss["links"]} >= {
            ("hub", f"{site.url}/websub"), ("self", site.topic("all.rss"))}
        jf = json.loads((site.data / "public" / "feeds" / "all.json").read_bytes())
        assert jf["hubs"] == [{"type": "WebSub", "url": f"{site.url}/websub"}]

        check = subscribed(site, sub, **{"hub.secret": SECRET})
        assert check["hub.mode"] == "subscribe" and check["hub.topic"] == site.topic()
        assert int(check["hub.lease_seconds"]) == 864000 and len(check["hub.challenge"]) >= 32
        assert sub.pushes == []

        report = site.publish_new_article("خبر جديد عن الأمطار في الرباط")
        assert "feeds/all.atom" in report.websub.changed
        push = wait_for("the push", lambda: sub.pushes and sub.pushes[0])
        verify_signature(push, SECRET)
        assert push.path == "/cb"
        assert push.headers["content-type"].startswith("application/atom+xml")
        assert push.headers["link"] == f'<{site.url}/websub>; rel="hub", <{site.topic()}>; rel="self"'
        parsed = feedparser.parse(push.body)
        assert parsed.entries[0].title == "خبر جديد عن الأمطار في الرباط"
        assert push.body == (site.data / "public" / "feeds" / "all.atom").read_bytes()  # the whole feed
        # a tampered body fails the check the subscriber makes
        with pytest.raises(AssertionError):
            verify_signature(Push(push.path, push.headers, push.body + b" "), SECRET)
        wait_for("the delivery recorded", lambda: site.rows(
            "SELECT id FROM websub_deliveries WHERE status = 'delivered' AND attempts = 1"))
        assert len(sub.pushes) == 1  # only the subscribed feed, once

        status, body = site.subscribe(sub, mode="unsubscribe")
        assert status == 202, body
        wait_for("the unsubscription verified", lambda: not site.rows("SELECT id FROM websub_subscriptions"))
        assert sub.verifications[-1]["hub.mode"] == "unsubscribe" and "hub.lease_seconds" not in sub.verifications[-1]

        report = site.publish_new_article("خبر آخر بعد إلغاء الاشتراك")
        assert "feeds/all.atom" in report.websub.changed
        wait_for("the publish fanned out", site.all_fanned_out)
        assert site.rows("SELECT COUNT(*) AS n FROM websub_deliveries")[0]["n"] == 1
        assert len(sub.pushes) == 1  # nothing more


def test_bad_requests_are_refused_with_4xx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hub_site(tmp_path, monkeypatch) as site, subscriber() as sub:
        cb = sub.url + "/cb"
        ok = {"hub.mode": "subscribe", "hub.topic": site.topic(), "hub.callback": cb}
        cases: list[tuple[dict[str, str], int, str]] = [
            ({**ok, "hub.secret": "s" * 200}, 400, "hub.secret"),
            ({**ok, "hub.secret": "ث" * 100}, 400, "hub.secret"),  # 200 bytes in UTF-8
            ({**ok, "hub.secret": ""}, 400, "hub.secret"),
            ({**ok, "hub.topic": "https://elsewhere.example/feeds/all.atom"}, 400, "hub.topic"),
            ({**ok, "hub.topic": site.topic("nosuch.atom")}, 400, "hub.topic"),
            ({**ok, "hub.topic": f"{site.url}/feeds.opml"}, 400, "hub.topic"),
            ({**ok, "hub.topic": f"{site.url}/feeds/../index.html"}, 400, "hub.topic"),
            ({**ok, "hub.topic": site.topic() + "?x=1"}, 400, "hub.topic"),
            ({**ok, "hub.callback": "ftp://127.0.0.1/cb"}, 400, "hub.callback"),
            ({**ok, "hub.callback": cb + "#frag"}, 400, "hub.callback"),
            ({**ok, "hub.callback": "/relative"}, 400, "hub.callback"),
            ({**ok, "hub.lease_seconds": "soon"}, 400, "hub.lease_seconds"),
            ({**ok, "hub.lease_seconds": "-5"}, 400, "hub.lease_seconds"),
            ({**ok, "hub.mode": "publish"}, 400, "hub.mode"),
            ({"hub.mode": "subscribe", "hub.topic": site.topic()}, 400, "hub.callback"),
        ]
        for form, status, word in cases:
            got, body = site.post(form)
            assert got == status and word in json.loads(body)["error"], (form, got, body)
        got, _ = site.post(json.dumps(ok).encode(), "application/json")
        assert got == 415
        assert site.hub_idle() and sub.verifications == []  # nothing refused was verified

        # accepted, but the callback does not echo the challenge: nothing stored
        with subscriber(echo=False) as liar:
            status, body = site.subscribe(liar, **{"hub.secret": SECRET})
            assert status == 202, body
            wait_for("the verification GET", lambda: liar.verifications)
            wait_for("the verification finished", site.hub_idle)
        assert site.rows("SELECT id FROM websub_subscriptions") == []


def test_private_callbacks_are_refused_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hub_site(tmp_path, monkeypatch, websub="poll_seconds = 0.05\n") as site, subscriber() as sub:
        for host in ("127.0.0.1", "localhost", "[::1]", "10.0.0.7", "169.254.169.254", "2130706433"):
            status, body = site.post({"hub.mode": "subscribe", "hub.topic": site.topic(),
                                      "hub.callback": f"http://{host}:{sub.url.rsplit(':', 1)[1]}/cb"})
            assert status == 400, (host, body)
            assert "allow_private_callbacks" in json.loads(body)["error"] or "resolve" in json.loads(body)["error"]
        assert sub.verifications == []


def test_lease_expiry_and_renewal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hub_site(tmp_path, monkeypatch, websub=HUB_TEST_SETTINGS + "lease_seconds = 600\nmax_lease_seconds = 3600\n") as site, \
            subscriber() as sub:
        # asked more than the hub grants: clamped, and the subscriber is told the lease it got
        assert subscribed(site, sub, **{"hub.lease_seconds": "999999"})["hub.lease_seconds"] == "3600"
        (row,) = site.rows("SELECT lease_seconds, expires_at FROM websub_subscriptions")
        assert row["lease_seconds"] == 3600
        # renewed with a 1-second lease (the hub's configured minimum here): it runs out
        assert subscribed(site, sub, **{"hub.lease_seconds": "1"})["hub.lease_seconds"] == "1"
        assert len(site.rows("SELECT id FROM websub_subscriptions")) == 1  # renewed, not doubled
        wait_for("the lease expired and the subscription dropped",
                 lambda: not site.rows("SELECT id FROM websub_subscriptions"))
        site.publish_new_article("خبر بعد انتهاء الاشتراك")
        wait_for("the publish fanned out", site.all_fanned_out)
        assert sub.pushes == [] and site.rows("SELECT id FROM websub_deliveries") == []


def test_a_failed_push_is_retried_with_backoff_then_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hub_site(tmp_path, monkeypatch, websub=HUB_TEST_SETTINGS + "max_attempts = 3\n") as site, \
            subscriber(push_statuses=[500]) as flaky, subscriber(push_statuses=[503, 500, 502, 500]) as broken:
        subscribed(site, flaky, **{"hub.secret": SECRET})
        subscribed(site, broken, topic=site.topic("all.json"))
        site.publish_new_article("خبر يصل في المحاولة الثانية")
        wait_for("flaky's retry delivered", lambda: site.rows(
            "SELECT d.attempts, d.last_status FROM websub_deliveries d JOIN websub_subscriptions s "
            "ON s.id = d.subscription_id WHERE s.callback = ? AND d.status = 'delivered'", (flaky.url + "/cb",)))
        assert len(flaky.pushes) == 2 and flaky.pushes[0].body == flaky.pushes[1].body
        for push in flaky.pushes:
            verify_signature(push, SECRET)
        (done,) = site.rows("SELECT attempts, last_status FROM websub_deliveries WHERE status = 'delivered'")
        assert done == {"attempts": 2, "last_status": 200}

        (failed,) = wait_for("broken's delivery given up",
                             lambda: site.rows("SELECT * FROM websub_deliveries WHERE status = 'failed'"))
        assert failed["attempts"] == 3 and failed["last_status"] == 502 and "502" in failed["last_error"]
        assert len(broken.pushes) == 3  # bounded
        assert "x-hub-signature" not in broken.pushes[0].headers  # no secret given: unsigned
        assert broken.pushes[0].headers["content-type"].startswith("application/feed+json")


def test_subscriptions_survive_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    with subscriber() as sub:
        with hub_site(tmp_path, monkeypatch, data=data) as site:
            subscribed(site, sub, topic=site.topic("all.rss"), **{"hub.secret": SECRET})
            old_url = site.url
        # a new server process on another port, same archive; the feeds still name the old URL
        with hub_site(tmp_path, monkeypatch, data=data) as site:
            assert len(site.rows("SELECT id FROM websub_subscriptions WHERE topic = ?", (f"{old_url}/feeds/all.rss",))) == 1
            # this server's own first publish (its new address in the links) was pushed too
            wait_for("the first publish pushed", lambda: not site.rows(
                "SELECT id FROM websub_deliveries WHERE status = 'pending'"))
            sub.pushes.clear()
            story = FeedStory(url="https://www.hespress.ma/after-restart.html", title="خبر بعد إعادة التشغيل",
                              source="hespress", source_name="هسبريس", published=datetime.now(UTC),
                              story_id="story-restart")
            with open_archive(site.archive_url) as archive:
                fill_archive(archive, [story])
            publish(site.data, site.archive_url, base_url=old_url)
            push = wait_for("the push after restart", lambda: sub.pushes and sub.pushes[0])
            verify_signature(push, SECRET)
            assert "خبر بعد إعادة التشغيل" in push.body.decode()


def test_external_hubs_are_pinged_and_named_in_the_feeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with subscriber() as external:
        hubs = f'hubs = ["{external.url}/hub", "http://127.0.0.1:9/unreachable"]\n'
        with hub_site(tmp_path, monkeypatch, websub=HUB_TEST_SETTINGS + hubs + "timeout_seconds = 5\n") as site:
            feed = feedparser.parse((site.data / "public" / "feeds" / "all.atom").read_bytes()).feed
            assert [link["href"] for link in feed["links"] if link["rel"] == "hub"] == [
                f"{site.url}/websub", f"{external.url}/hub", "http://127.0.0.1:9/unreachable"]
            external.pushes.clear()  # the first publish pinged too
            report = site.publish_new_article("خبر يعلن للموزعين الخارجيين")
            assert report.websub.pinged == [f"{external.url}/hub"]
            assert list(report.websub.failed) == ["http://127.0.0.1:9/unreachable"]  # logged, publish stands
            (ping,) = external.pushes
            form = parse_qs(ping.body.decode())
            assert form["hub.mode"] == ["publish"]
            assert set(form["hub.url"]) == {f"{site.url}/{p}" for p in report.websub.changed}
            assert f"{site.url}/feeds/all.atom" in form["hub.url"]


def test_websub_table_is_validated(tmp_path: Path) -> None:
    for bad, reason in [('hubs = ["ftp://x"]', "http"), ('poll = 1', "unknown key"), ("max_attempts = 0", "positive"),
                        ('allow_private_callbacks = "yes"', "wrong type"), ('hub_url = "nope"', "http"),
                        ("lease_seconds = 10", "between")]:
        path = _sources(tmp_path, f"[websub]\n{bad}\n")
        with pytest.raises(ConfigError, match=reason) as err:
            load_config(path)
        assert str(path) in str(err.value)
    assert load_config(_sources(tmp_path, f"[websub]\n{HUB_TEST_SETTINGS}")).table("websub")["poll_seconds"] == 0.05


def test_unclaimed_changes_are_superseded(archive_url: str) -> None:
    """With no hub running, publishes leave at most one waiting change per feed."""
    from feeds.web import websub_store as store

    with open_archive(archive_url) as archive:
        for n in range(5):
            files = {"feeds/all.atom": b"v%d" % n, "feeds/all.rss": b"r%d" % n, "index.html": b"x"}
            assert store.record_changes(archive, files, list(files)) == 2  # feeds only
        rows = archive.fetch("SELECT path, sha256 FROM websub_changes ORDER BY path")
        assert [(r["path"], r["sha256"]) for r in rows] == [
            ("feeds/all.atom", hashlib.sha256(b"v4").hexdigest()), ("feeds/all.rss", hashlib.sha256(b"r4").hexdigest())]


def test_back_off_doubles(archive_url: str) -> None:
    """The schedule itself, on the store: attempt n waits retry_seconds x 2^(n-1)."""
    from feeds.web import websub_store as store

    with open_archive(archive_url) as archive:
        store.subscribe(archive, "http://h/feeds/all.atom", "feeds/all.atom", "http://cb/", None, 3600)
        store.record_changes(archive, {"feeds/all.atom": b"x"}, ["feeds/all.atom"])
        assert store.claim_changes(archive) == 1
        (d,) = store.claim_due(archive)
        waits = []
        for attempt in range(4):
            before = datetime.now(UTC)
            assert store.failed(archive, d.id, attempt, "answered 500", 500, max_attempts=5, retry_seconds=60)
            (row,) = archive.fetch("SELECT next_attempt_at FROM websub_deliveries")
            from crawler.archive.records import parse_datetime

            waits.append(parse_datetime(row["next_attempt_at"]) - before)
        assert [round(w / timedelta(seconds=60)) for w in waits] == [1, 2, 4, 8]
        assert not store.failed(archive, d.id, 4, "answered 500", 500, max_attempts=5, retry_seconds=60)
        assert archive.fetchval("SELECT status FROM websub_deliveries") == "failed"

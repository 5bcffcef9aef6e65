"""The egress policy (crawler/egress.py): every request and redirect hop is checked after
DNS resolution; refused URLs are recorded with their reason and nothing internal is fetched.

The crawls run against small loopback sites: ``site`` lists three articles in its RSS feed,
one of which redirects to a second loopback server (the "internal" service), one to
another page of its own host, and one answers directly.
"""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from serving_support import SitesAt, article_page, loopback_server, reply, rss, serving, sources_with
from test_faults import crawl

from crawler.archive import open_archive
from crawler.egress import EgressPolicy, forbidden_address, literal_address


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("10.0.0.1", "private"),
    ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "private"),
    ("0.0.0.0", "private"), ("100.64.0.1", "not-global"), ("224.0.0.1", "multicast"),
    ("240.0.0.1", "private"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"), ("fe80::1", "private"), ("fc00::1", "private"),
    ("ff02::1", "multicast"), ("2002:7f00:1::", "loopback"), ("::", "private"),
    ("8.8.8.8", None), ("2606:4700:4700::1111", None), ("196.200.131.5", None),
])
def test_forbidden_addresses(address: str, why: str | None) -> None:
    assert forbidden_address(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
    ("017700000001", "127.0.0.1"), ("[::1]", "::1"), ("hespress.com", None), ("localhost", None),
])
def test_literal_addresses_in_every_spelling(host: str, address: str | None) -> None:
    got = literal_address(host)
    assert (str(got) if got else None) == address


def test_static_rules() -> None:
    policy = EgressPolicy(["https://www.le12.ma", "http://cdn.le12.ma"], allow_private=False)
    assert policy.static_reason("file:///etc/passwd", redirected=False) == "scheme file not allowed"
    assert policy.static_reason("gopher://le12.ma/", redirected=True) == "scheme gopher not allowed"
    assert policy.static_reason("https://le12.ma/a", redirected=True) is None
    assert policy.static_reason("https://amp.le12.ma/a", redirected=True) is None
    assert policy.static_reason("http://cdn.le12.ma/a", redirected=True) is None
    assert policy.static_reason("https://evil.example/a", redirected=True) == "redirect to another host (evil.example)"
    assert policy.static_reason("https://evil.example/a", redirected=False) is None
    assert policy.address_reason("localhost") == "loopback address 127.0.0.1"
    assert EgressPolicy([], allow_private=True).address_reason("localhost") is None


class Hits:
    def __init__(self) -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def add(self, path: str) -> None:
        with self.lock:
            self.paths.append(path)


def internal_handler(hits: Hits) -> type[BaseHTTPRequestHandler]:
    class Internal(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            hits.add(self.path)
            body = ('<html><head><title>secret admin</title></head><body><article><h1>سر داخلي</h1>'
                    + "<p>معلومات داخلية لا يجوز نشرها في أي خلاصة.</p>" * 6 + "</article></body></html>").encode()
            reply(self, 200, body, "text/html; charset=utf-8")

    return Internal


def site_handler(internal: str, hits: Hits) -> type[BaseHTTPRequestHandler]:
    class Site(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            hits.add(self.path)
            base = f"http://{self.headers['Host']}"
            if self.path.startswith("/feed"):
                reply(self, 200, rss(base, [f"{base}/2025/07/post-{i}/" for i in range(3)]), "application/rss+xml")
            elif self.path == "/2025/07/post-0/":
                self.send_response(302)
                self.send_header("Location", f"{internal}/admin/secret")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/2025/07/post-1/":
                self.send_response(301)
                self.send_header("Location", f"{base}/2025/07/post-1-moved/")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path.startswith("/2025/07/post-"):
                slug = self.path.strip("/").rsplit("/", 1)[1]
                body = article_page(f"مقال {slug}", "فقرة {k} من مقال عادي عن الاقتصاد الوطني والسياسة.")
                reply(self, 200, body, "text/html; charset=utf-8")
            else:
                reply(self, 404, b"", "text/plain")

    return Site


def test_redirect_to_an_internal_address_is_refused_and_recorded(tmp_path: Path) -> None:
    internal_hits, site_hits = Hits(), Hits()
    with serving(loopback_server(internal_handler(internal_hits))) as internal:
        internal_url = f"http://127.0.0.1:{internal.server_address[1]}"
        with serving(loopback_server(site_handler(internal_url, site_hits))) as site:
            base = f"http://127.0.0.1:{site.server_address[1]}"
            url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
            run = crawl(SitesAt({"site": base}), ["site"], tmp_path / "data", url, sources=sources_with(tmp_path, "site", base))
    assert internal_hits.paths == [], "the internal service was reached"
    stats = run["stats"]["site"]
    assert stats.get("akhbar/egress/refused/redirect") == 1
    assert stats.get("akhbar/egress/redirect_followed") == 1
    with open_archive(url) as a:
        titles = sorted(r["title"] for r in a.fetch("SELECT title FROM articles"))
        failed = a.fetch("SELECT url, reason FROM failed_urls")
    assert titles == ["مقال post-1-moved", "مقال post-2"]
    assert [(f["url"].rsplit("/", 2)[-2], f["reason"]) for f in failed] == [
        ("post-0", f"refused by egress policy: redirect to another host (127.0.0.1:{internal.server_address[1]})")]


@pytest.mark.parametrize("allow", [False, True])
def test_a_host_name_resolving_to_loopback_needs_allow_private_network(tmp_path: Path, allow: bool) -> None:
    """``localhost`` is a name, not an address typed by the operator: its crawl is refused
    after resolution unless the source's table allows private networks."""
    hits = Hits()
    with serving(loopback_server(site_handler("http://127.0.0.1:9", hits))) as site:
        base = f"http://localhost:{site.server_address[1]}"
        url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        extra = "allow_private_network = true\n" if allow else ""
        run = crawl(SitesAt({"site": base}), ["site"], tmp_path / "data", url, sources=sources_with(tmp_path, "site", base, extra))
    with open_archive(url) as a:
        archived = a.count_articles()
    if allow:
        assert archived == 2 and "/feed/" in hits.paths
    else:
        assert hits.paths == [] and archived == 0
        assert run["stats"]["site"].get("akhbar/egress/refused/loopback", 0) >= 1
        assert "egress: refused http://localhost" in run["log"]

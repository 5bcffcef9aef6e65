"""A hostile (or careless) source cannot change another source's articles.

A loopback site ``evil`` lists, in its own RSS feed, pages on its own host that declare
LE12 articles of the snapshot as their canonical URL and carry another title and body —
what a wire copy pointing at the original outlet does by accident. After LE12 and then
``evil`` are crawled, every LE12 row is as LE12 published it (same id, source, title, no
version row), LE12's seen-set still points at LE12's rows, and ``evil``'s pages are kept as
rows of their own with the cross-site canonical kept as data.
"""

from __future__ import annotations

import html
from datetime import UTC
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from serving_support import SitesAt, article_page, loopback_server, reply, rss, serving, sources_with
from test_faults import crawl

from crawler.archive import open_archive
from crawler.archive.canonical import fold_url
from crawler.snapshot import SnapshotServer

STOLEN = 5


def evil_handler(victims: list[str]) -> type[BaseHTTPRequestHandler]:
    class Evil(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            base = f"http://{self.headers['Host']}"
            if self.path.startswith("/feed"):
                reply(self, 200, rss(base, [f"{base}/2025/07/fake-{i}/" for i in range(len(victims))]),
                      "application/rss+xml; charset=utf-8")
                return
            if self.path.startswith("/2025/07/fake-"):
                i = int(self.path.rstrip("/").rsplit("-", 1)[1])
                victim = html.escape(victims[i])
                body = article_page(f"عنوان مزور {i}", f"نص مزور يحل محل المقال الأصلي، الفقرة {{k}} من الصفحة {i}.",
                                    head=f'<link rel="canonical" href="{victim}"><meta property="og:url" content="{victim}">')
                reply(self, 200, body, "text/html; charset=utf-8")
                return
            reply(self, 404, b"not found", "text/plain")

    return Evil


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_cross_source_canonical_never_touches_the_other_sources_rows(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url") + f"?schema=t_hostile_{tmp_path.name[-8:].replace('-', '_')}"
    with SnapshotServer(sites=["le12"]) as srv:
        crawl(srv, ["le12"], tmp_path / "le12", url)
        with open_archive(url) as a:
            before = {r["url"]: r for r in a.fetch(
                "SELECT id, url, source, title, body_text, url_key FROM articles WHERE source = 'le12'")}
        assert len(before) >= STOLEN
        victims = sorted(before)[:STOLEN]
        with serving(loopback_server(evil_handler(victims))) as evil:
            base = f"http://127.0.0.1:{evil.server_address[1]}"
            sources = sources_with(tmp_path, "evil", base)
            crawl(SitesAt({"evil": base}), ["evil"], tmp_path / "evil", url, sources=sources)  # type: ignore[arg-type]
    with open_archive(url) as a:
        try:
            after = {r["url"]: r for r in a.fetch(
                "SELECT id, url, source, title, body_text, url_key FROM articles WHERE source = 'le12'")}
            evil_rows = a.fetch("SELECT id, url, canonical_url, title FROM articles WHERE source = 'evil'")
            versions = a.fetchval("SELECT COUNT(*) FROM article_versions")
            seen = {r["url_key"]: r for r in a.fetch("SELECT url_key, source, article_id FROM seen_urls")}
            from crawler.dedup import related_stories

            hints = {r["url"]: [(x["source"], x["score"]) for x in related_stories(a, r["story_id"])]
                     for r in a.fetch("SELECT url, story_id FROM articles WHERE source = 'evil'")}
        finally:
            if backend == "postgres":
                a.drop_schema()
    assert after == before, "an LE12 row changed after another source's crawl"
    assert versions == 0
    assert len(evil_rows) == STOLEN, "the hostile pages are kept as the hostile source's own rows"
    assert {fold_url(r["canonical_url"]) for r in evil_rows} == {fold_url(v) for v in victims}
    assert all(r["title"].startswith("عنوان مزور") for r in evil_rows)
    # the claim is kept as a hint for stories: each copy's story lists LE12's as related
    assert all(("le12", 1.0) in related for related in hints.values()), hints
    for victim in victims:
        row = seen[fold_url(victim)]
        assert row["source"] == "le12" and row["article_id"] == before[victim]["id"]


# --- the archive's own rules, on both backends ------------------------------------------

@pytest.fixture
def archive(archive_url: str) -> Any:
    a = open_archive(archive_url)
    yield a
    a.close()


def _art(source: str, url: str, title: str, canonical: str | None = None) -> Any:
    from datetime import datetime

    from crawler.items import Article

    return Article(url=url, source=source, canonical_url=canonical, title=title, body_text=f"نص {title}",
                   date_published=datetime(2025, 7, 16, tzinfo=UTC), fetched_at=datetime.now(UTC))


def test_same_address_from_two_sources_gives_two_rows(archive: Any) -> None:
    """An import (or two sources sharing a host) naming another source's URL gets a row
    of its own: the first source's row keeps its id, title and seen-set entry."""
    le12 = archive.upsert_article(_art("le12", "https://le12.ma/a-1/", "الأصل"))
    evil = archive.upsert_article(_art("evil", "https://le12.ma/a-1/", "مزور"))
    again = archive.upsert_article(_art("evil", "https://le12.ma/a-1/", "مزور مرة أخرى"))
    assert evil.id != le12.id and again.id == evil.id and evil.action == "inserted"
    row = archive.fetchone("SELECT source, title, version FROM articles WHERE id = ?", (le12.id,))
    assert (row["source"], row["title"], row["version"]) == ("le12", "الأصل", 1)
    assert archive.fetchval("SELECT source FROM seen_urls WHERE url_key = ?", (fold_url("https://le12.ma/a-1/"),)) == "le12"
    assert archive.article_id_for(_art("evil", "https://le12.ma/a-1/", "x")) == evil.id
    assert archive.article_id_for(_art("le12", "https://le12.ma/a-1/", "x")) == le12.id


def test_canonical_is_a_key_only_on_the_sources_own_hosts(archive: Any) -> None:
    first = archive.upsert_article(_art("le12", "https://le12.ma/a-2/?utm_source=x", "عنوان",
                                        canonical="https://www.le12.ma/a-2/"))
    amp = archive.upsert_article(_art("le12", "https://amp.le12.ma/a-2/amp/", "عنوان",
                                      canonical="https://le12.ma/a-2/"))
    assert amp.id == first.id  # same host family: the canonical folds the AMP copy in
    cdn = archive.upsert_article(_art("le12", "https://le12.ma/?p=2", "عنوان",
                                      canonical="https://news.le12.ma/a-2/"), hosts=["news.le12.ma"])
    foreign = archive.upsert_article(_art("le12", "https://le12.ma/?p=3", "عنوان",
                                          canonical="https://le12.ma/a-2/"))
    assert foreign.id == first.id  # own host: keyed by its canonical
    wire = archive.upsert_article(_art("belpresse", "https://belpresse.com/wire-1/", "برقية",
                                       canonical="https://le12.ma/a-2/"))
    assert wire.id not in (first.id, cdn.id)
    assert archive.fetchval("SELECT canonical_url FROM articles WHERE id = ?", (wire.id,)) == "https://le12.ma/a-2/"

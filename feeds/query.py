"""Read what the feeds and the front page show from the archive.

Fast at a million articles: each feed is one query on the archive's
``(topic|source, is_canonical, date_published)`` indexes that stops after `limit`
rows, and "also reported by" for every story of every feed is one more query on
``story_id`` (chunked), instead of one per story.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds.model import FeedSpec, FeedStory, OtherReport, RelatedStory, feed_specs
from feeds.publish import PublishReport, write_files

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
_COLUMNS = (
    "id, url, canonical_url, source, title, summary, body_html, author, topic, image_url, "
    "date_published, date_modified, story_id, is_canonical"
)
_IN_CHUNK = 500


def source_names() -> dict[str, str]:
    from crawler.config import load_sources

    return {sid: s.name for sid, s in load_sources().items()}


def open_archive_url(url: str) -> Any:
    from crawler.archive import open_archive

    return open_archive(url)


def _story_url(row: dict[str, Any]) -> str:
    canon = row.get("canonical_url") or ""
    return canon if canon.startswith(("http://", "https://")) else row["url"]


def _dt(value: Any) -> Any:
    from crawler.archive.records import parse_datetime

    return parse_datetime(value)


def latest_rows(archive: Any, *, topic: str | None = None, source: str | None = None,
                limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """The newest `limit` canonical reports (optionally of one topic or source).

    Reports not yet through dedup (``is_canonical IS NULL``) count as their own
    story; rows without a parsed publication date are left out (a feed entry needs
    one, and NULLs sort first on PostgreSQL, which would defeat the index).
    """
    rows: list[dict[str, Any]] = []
    for canon_clause, canon_params in (("a.is_canonical = ?", [archive.enc_bool(True)]), ("a.is_canonical IS NULL", [])):
        where = [canon_clause, "a.date_published IS NOT NULL"]
        params: list[Any] = list(canon_params)
        if topic is not None:
            where.append("a.topic = ?")
            params.append(topic)
        if source is not None:
            where.append("a.source = ?")
            params.append(source)
        sql = f"SELECT {_prefixed(_COLUMNS)} FROM articles a WHERE {' AND '.join(where)} ORDER BY a.date_published DESC LIMIT ?"
        rows.extend(archive.fetch(sql, [*params, limit]))
    for r in rows:
        r["date_published"] = _dt(r["date_published"])
        r["date_modified"] = _dt(r["date_modified"])
    rows.sort(key=lambda r: (r["date_published"], r["id"]), reverse=True)
    return rows[:limit]


def _prefixed(cols: str) -> str:
    return ", ".join("a." + c.strip() for c in cols.split(","))


def other_reports(archive: Any, stories: dict[str, tuple[int, str]]) -> dict[str, list[dict[str, Any]]]:
    """story_id -> the other sources' reports (one per source, earliest first), for
    every story in `stories` (story_id -> (canonical article id, its source))."""
    out: dict[str, list[dict[str, Any]]] = {}
    ids = list(stories)
    for i in range(0, len(ids), _IN_CHUNK):
        chunk = ids[i : i + _IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = archive.fetch(
            f"SELECT id, story_id, source, url, canonical_url, title, date_published FROM articles "
            f"WHERE story_id IN ({marks})",
            chunk,
        )
        for r in rows:
            canon_id, canon_source = stories[r["story_id"]]
            if r["id"] == canon_id or r["source"] == canon_source:
                continue
            out.setdefault(r["story_id"], []).append(r)
    for sid, rs in out.items():
        rs.sort(key=lambda r: (str(r["date_published"] or "~"), r["id"]))
        seen: set[str] = set()
        kept = []
        for r in rs:  # one report per outlet: its earliest
            if r["source"] not in seen:
                seen.add(r["source"])
                kept.append(r)
        out[sid] = kept
    return out


class StoryBuilder:
    """Turns archive rows into `FeedStory` objects, one object per article even when
    it appears in several feeds (so it is sanitised once)."""

    def __init__(self, archive: Any, names: dict[str, str] | None = None) -> None:
        self.archive = archive
        self.names = names if names is not None else source_names()
        self.by_id: dict[int, FeedStory] = {}
        self._rows: dict[int, dict[str, Any]] = {}

    def add(self, rows: Iterable[dict[str, Any]]) -> list[FeedStory]:
        out = []
        for r in rows:
            s = self.by_id.get(r["id"])
            if s is None:
                s = self.by_id[r["id"]] = FeedStory(
                    url=_story_url(r),
                    title=r.get("title") or "",
                    source=r["source"],
                    source_name=self.names.get(r["source"], r["source"]),
                    published=r["date_published"],
                    updated=r.get("date_modified"),
                    story_id=r.get("story_id"),
                    summary=r.get("summary"),
                    body_html=r.get("body_html"),
                    author=r.get("author"),
                    topic=r.get("topic"),
                    image_url=r.get("image_url"),
                )
                self._rows[r["id"]] = r
            out.append(s)
        return out

    def attach_other_reports(self) -> None:
        """Fill ``also_reported_by`` of every story added so far, in one pass."""
        stories = {
            r["story_id"]: (aid, r["source"]) for aid, r in self._rows.items() if r.get("story_id")
        }
        if not stories:
            return
        others = other_reports(self.archive, stories)
        for aid, r in self._rows.items():
            sid = r.get("story_id")
            if sid and sid in others:
                self.by_id[aid].also_reported_by = [
                    OtherReport(o["source"], self.names.get(o["source"], o["source"]), _story_url(o), o.get("title") or "")
                    for o in others[sid]
                ]


def feeds_from_archive(archive: Any, *, limit: int = DEFAULT_LIMIT, names: dict[str, str] | None = None,
                       specs: list[FeedSpec] | None = None) -> list[tuple[FeedSpec, list[FeedStory]]]:
    builder = StoryBuilder(archive, names)
    specs = specs if specs is not None else feed_specs(builder.names)
    feeds = []
    for spec in specs:
        rows = latest_rows(
            archive,
            topic=spec.value if spec.kind == "topic" else None,
            source=spec.value if spec.kind == "source" else None,
            limit=limit,
        )
        feeds.append((spec, builder.add(rows)))
    builder.attach_other_reports()
    return feeds


def publish(data_dir: Path, archive: Any, limit: int = DEFAULT_LIMIT, *, base_url: str | None = None,
            ttl_minutes: int | None = None, front_page: bool = True) -> PublishReport:
    """Build every feed (all, per topic, per source; RSS, Atom, JSON) and the OPML
    list from `archive` (an `Archive` or its URL) into ``data_dir/public/``."""
    from feeds.build import DEFAULT_TTL_MINUTES, FeedContext, build_feed_files

    own = isinstance(archive, str)
    if own:
        archive = open_archive_url(archive)
    try:
        t0 = time.perf_counter()
        names = source_names()
        feeds = feeds_from_archive(archive, limit=limit, names=names)
        t1 = time.perf_counter()
        from feeds.web import websub_publish

        hub_settings = websub_publish.settings()
        base = base_url or "http://127.0.0.1:8080"
        ctx = FeedContext(base_url=base, ttl_minutes=ttl_minutes or DEFAULT_TTL_MINUTES,
                          hubs=websub_publish.feed_hubs(hub_settings, base))
        files = build_feed_files(feeds, ctx)
        if front_page:
            from feeds.page import render_page

            latest = next((stories for spec, stories in feeds if spec.kind == "all"), [])
            page_ctx = default_page_context(names)
            page_ctx.published_topics = frozenset(spec.value for spec, stories in feeds
                                                  if spec.kind == "topic" and spec.value and stories)
            files["index.html"] = render_page(latest[:30], page_ctx).encode("utf-8")
        t2 = time.perf_counter()
        report = write_files(Path(data_dir) / "public", files)
        # WebSub: the own hub (in `akhbar serve`, maybe another process) pushes what changed
        report.websub = websub_publish.announce(archive, files, report.written, ctx.url, hub_settings)
        report.stories = len({id(s) for _, stories in feeds for s in stories})
        report.timings = {"query": t1 - t0, "build": t2 - t1, "write": report.seconds}
        report.seconds = time.perf_counter() - t0
        logger.debug(report.summary())  # every command prints it; a library caller logs it at its own level
        return report
    finally:
        if own:
            archive.close()


def default_page_context(names: dict[str, str] | None = None) -> Any:
    from crawler.taxonomy import TOPICS
    from feeds.page import PageContext

    return PageContext(topics=[(t.id, t.ar) for t in TOPICS], sources=names if names is not None else source_names())


def _related(archive: Any, story_id: str, names: dict[str, str], limit: int = 3) -> list[RelatedStory]:
    try:
        from crawler.dedup.stories import related_stories
    except ImportError:  # dedup not installed: the page renders without related stories
        return []
    try:
        found = related_stories(archive, story_id, limit=limit)
    except Exception:  # related stories are a nicety; the page renders without them
        logger.exception("related stories of %s failed", story_id)
        return []
    out = []
    for r in list(found or [])[:limit]:
        get = r.get if isinstance(r, dict) else (lambda k, _r=r: getattr(_r, k, None))
        url = get("canonical_url") or get("url")
        if url:
            src = get("source") or ""
            out.append(RelatedStory(title=get("title") or url, url=url, source_name=names.get(src, src)))
    return out


@dataclass
class ArchiveStore:
    """The pages' `StoryStore` over an archive."""

    archive: Any
    names: dict[str, str]
    owns_archive: bool = False

    @classmethod
    def open(cls, url: str) -> ArchiveStore:
        return cls(open_archive_url(url), source_names(), owns_archive=True)

    def close(self) -> None:
        if self.owns_archive:
            self.archive.close()

    def _finish(self, builder: StoryBuilder, stories: list[FeedStory]) -> list[FeedStory]:
        builder.attach_other_reports()
        for s in stories:
            if s.story_id:
                s.related = _related(self.archive, s.story_id, self.names)
        return stories

    def latest(self, *, topic: str | None = None, source: str | None = None, limit: int = 30) -> list[FeedStory]:
        builder = StoryBuilder(self.archive, self.names)
        return self._finish(builder, builder.add(latest_rows(self.archive, topic=topic, source=source, limit=limit)))

    def search(self, query: str | None, *, limit: int = 30, source: str | None = None, topic: str | None = None,
               since: str | None = None, until: str | None = None) -> list[FeedStory]:
        """Full-text search (None: every report), newest first, within the filters; one result per
        story (its first matching report). Raises `QueryError` on a malformed query or filter."""
        result = self.archive.search(query or None, limit=limit, source=source, topic=topic, since=since, until=until)
        rows, seen = [], set()
        for r in result.items:
            key = r.get("story_id") or f"id:{r['id']}"
            if key in seen or r.get("date_published") is None:
                continue
            seen.add(key)
            rows.append(r)
        builder = StoryBuilder(self.archive, self.names)
        return self._finish(builder, builder.add(rows))

"""Bounds: what one page may put in the archive and the feeds.

A source is a stranger's web site. One page dated 2099 would stay first in every feed for
seventy years; one 300,000-character title would be stored, indexed and served whole in
every feed entry. This pipeline (after dates, before the archive) keeps each item within
bounds and counts every cut as ``akhbar/bounded/<what>``:

- a publication or modification date more than ``BOUNDS_FUTURE_TOLERANCE`` (default one
  day) after the fetch is not used: the parsed value is cleared (ordering then falls back
  to the fetch time), the raw string stays, and ``extra["date_future"]`` keeps the value
  the page claimed, so nothing is lost and the flag is queryable;
- title, summary and author are cut to ``BOUNDS_MAX_TITLE`` / ``_SUMMARY`` / ``_AUTHOR``
  characters, the full title kept in ``extra["title_full"]`` up to ``BOUNDS_MAX_RAW``;
- at most ``BOUNDS_MAX_TAGS`` tags of at most ``BOUNDS_MAX_TAG`` characters each;
- body text and HTML at most ``BOUNDS_MAX_BODY`` characters each.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.item_fields import Fields, fields_of

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, int] = {
    "BOUNDS_MAX_TITLE": 500,
    "BOUNDS_MAX_SUMMARY": 5_000,
    "BOUNDS_MAX_AUTHOR": 200,
    "BOUNDS_MAX_TAGS": 50,
    "BOUNDS_MAX_TAG": 100,
    "BOUNDS_MAX_BODY": 2_000_000,
    "BOUNDS_MAX_RAW": 20_000,
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


class Bounds:
    """The rules, apart from Scrapy (also used by `akhbar import`)."""

    def __init__(self, limits: dict[str, int] | None = None, future: timedelta = timedelta(days=1)) -> None:
        self.limits = {**DEFAULTS, **(limits or {})}
        self.future = future

    def apply(self, adapter: Fields) -> list[str]:
        """Bound the item in place; returns what was cut (``future_date``, ``title``...)."""
        cuts: list[str] = []
        lim = self.limits
        fetched = adapter.get("fetched_at")
        now = fetched if isinstance(fetched, datetime) and fetched.tzinfo else datetime.now(UTC)
        for name in ("date_published", "date_modified"):
            when = adapter.get(name)
            if isinstance(when, datetime) and when.tzinfo and when - now > self.future:
                extra = dict(adapter.get("extra") or {})
                extra["date_future" if name == "date_published" else "date_modified_future"] = when.isoformat()
                adapter["extra"] = extra
                adapter[name] = None
                cuts.append("future_date" if name == "date_published" else "future_modified")
        title = adapter.get("title")
        if isinstance(title, str) and len(title) > lim["BOUNDS_MAX_TITLE"]:
            extra = dict(adapter.get("extra") or {})
            extra["title_full"] = title[: lim["BOUNDS_MAX_RAW"]]
            adapter["extra"] = extra
            adapter["title"] = _cut(title, lim["BOUNDS_MAX_TITLE"])
            cuts.append("title")
        for name, key in (("summary", "BOUNDS_MAX_SUMMARY"), ("author", "BOUNDS_MAX_AUTHOR")):
            value = adapter.get(name)
            if isinstance(value, str) and len(value) > lim[key]:
                adapter[name] = _cut(value, lim[key])
                cuts.append(name)
        tags = adapter.get("tags")
        if isinstance(tags, list):
            bounded = [_cut(str(t), lim["BOUNDS_MAX_TAG"]) for t in tags[: lim["BOUNDS_MAX_TAGS"]]]
            if len(tags) > lim["BOUNDS_MAX_TAGS"] or bounded != tags:
                adapter["tags"] = bounded
                cuts.append("tags")
        for name in ("body_text", "body_html"):
            value = adapter.get(name)
            if isinstance(value, str) and len(value) > lim["BOUNDS_MAX_BODY"]:
                adapter[name] = value[: lim["BOUNDS_MAX_BODY"]]
                cuts.append(name)
        return cuts


class BoundsPipeline:
    def __init__(self, bounds: Bounds, stats: Any = None) -> None:
        self.bounds = bounds
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> BoundsPipeline:
        s = crawler.settings
        limits = {k: s.getint(k, v) for k, v in DEFAULTS.items()}
        future = timedelta(hours=s.getfloat("BOUNDS_FUTURE_TOLERANCE_HOURS", 24.0))
        return cls(Bounds(limits, future), crawler.stats)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = fields_of(item)
        cuts = self.bounds.apply(adapter)
        for what in cuts:
            if self.stats is not None:
                self.stats.inc_value(f"akhbar/bounded/{what}")
        if cuts:
            logger.warning("bounds: %s cut %s", adapter.get("url"), ", ".join(cuts))
        return item

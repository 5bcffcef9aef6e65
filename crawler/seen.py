"""The seen-set spiders consult for incremental crawling.

Spiders ask `is_fresh(url)` before requesting an article: True means the archive
already holds it and it was fetched inside the re-check window, so the request is
skipped, and a listing page whose articles are all fresh ends paging. The store
lives in the archive (not in memory) so a restarted or second crawler sees it too;
the implementation is named by the ``AKHBAR_SEEN_STORE`` setting and built with
``from_crawler``. Without it every URL is fetched.
"""

from __future__ import annotations

from typing import Any, Protocol

from scrapy.utils.misc import load_object


class SeenStore(Protocol):
    def is_fresh(self, url: str, *, source: str | None = None) -> bool:
        """True when `url` is archived and was fetched within the source's re-check window."""
        ...


class NoSeenStore:
    """Nothing is known: every URL is fetched."""

    def is_fresh(self, url: str, *, source: str | None = None) -> bool:
        return False


def seen_store_for(crawler: Any) -> SeenStore:
    path = crawler.settings.get("AKHBAR_SEEN_STORE")
    if not path:
        return NoSeenStore()
    cls = load_object(path)
    return cls.from_crawler(crawler) if hasattr(cls, "from_crawler") else cls()

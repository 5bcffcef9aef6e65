"""Drop articles that are not articles: no title or no body.

Runs first (order 50) so later pipelines see only complete items. Every drop is
counted in the crawl stats as ``akhbar/dropped/<reason>`` (``no_title``, ``no_body``)
and logged with the URL; a missing optional field never drops an item.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import DropItem

from pipelines.item_fields import fields_of

logger = logging.getLogger(__name__)


def _blank(value: Any) -> bool:
    """``not (value or "").strip()`` without copying a whole body to strip it."""
    if isinstance(value, str):
        return not value or value.isspace()
    return not (value or "").strip()


class ValidatePipeline:
    def __init__(self, stats: Any = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> ValidatePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = fields_of(item)
        reason = None
        if _blank(adapter.get("title")):
            reason = "no_title"
        elif _blank(adapter.get("body_text")):
            reason = "no_body"
        if reason is None:
            return item
        if self.stats is not None:
            self.stats.inc_value(f"akhbar/dropped/{reason}")
            self.stats.inc_value("akhbar/dropped")
        raise DropItem(f"{reason}: {adapter.get('url')}")

"""Drop articles that are not articles: no title or no body.

Runs first (order 50) so later pipelines see only complete items. Every drop is
counted in the crawl stats as ``akhbar/dropped/<reason>`` (``no_title``, ``no_body``)
and logged with the URL; a missing optional field never drops an item.
"""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

logger = logging.getLogger(__name__)


class ValidatePipeline:
    def __init__(self, stats: Any = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> ValidatePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        reason = None
        if not (adapter.get("title") or "").strip():
            reason = "no_title"
        elif not (adapter.get("body_text") or "").strip():
            reason = "no_body"
        if reason is None:
            return item
        if self.stats is not None:
            self.stats.inc_value(f"akhbar/dropped/{reason}")
            self.stats.inc_value("akhbar/dropped")
        raise DropItem(f"{reason}: {adapter.get('url')}")

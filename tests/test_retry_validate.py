"""Retry-After parsing and the validate pipeline, on their own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import Article
from crawler.middlewares import retry_after_seconds
from pipelines.validate import ValidatePipeline


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2025, 7, 16, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds("Wed, 16 Jul 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 16 Jul 2025 11:00:00 GMT", now) == 0.0  # in the past: no wait
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(b"soon") is None


def _pipeline() -> tuple[ValidatePipeline, object]:
    crawler = get_crawler()
    return ValidatePipeline.from_crawler(crawler), crawler.stats


def test_complete_article_passes_even_without_optional_fields() -> None:
    pipe, stats = _pipeline()
    item = Article(url="https://x.ma/1.html", source="x", title="عنوان", body_text="نص")
    assert pipe.process_item(item) is item
    assert stats.get_value("akhbar/dropped") is None


@pytest.mark.parametrize(
    ("title", "body", "reason"),
    [(None, "نص", "no_title"), ("  ", "نص", "no_title"), ("عنوان", None, "no_body"), ("عنوان", "\n", "no_body")],
)
def test_missing_title_or_body_dropped_with_reason(title: str | None, body: str | None, reason: str) -> None:
    pipe, stats = _pipeline()
    with pytest.raises(DropItem, match=reason):
        pipe.process_item(Article(url="https://x.ma/1.html", source="x", title=title, body_text=body))
    assert stats.get_value(f"akhbar/dropped/{reason}") == 1
    assert stats.get_value("akhbar/dropped") == 1

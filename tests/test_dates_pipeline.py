"""DatesPipeline inside real Scrapy crawler objects: fields filled on `Article`, stats
counted, unparseable strings kept visible (never guessed), and a real crawl through
Scrapy's engine with the project's pipeline registration."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.items import Article
from pipelines.dates import DatesPipeline

ROOT = Path(__file__).resolve().parent.parent
FETCHED = datetime(2025, 7, 16, 11, 47, 30, tzinfo=UTC)  # 12:47:30 in Casablanca


def pipeline(**settings: Any) -> tuple[DatesPipeline, Crawler]:
    crawler = get_crawler(settings_dict=settings)
    return DatesPipeline.from_crawler(crawler), crawler


def article(**fields: Any) -> Article:
    return Article(url="https://www.hespress.com/x-1.html", source="hespress", fetched_at=FETCHED, **fields)


def test_published_and_modified_are_filled_from_raw_strings() -> None:
    pipe, crawler = pipeline()
    item = article(
        date_published_raw="الخميس 05 دجنبر 2019 - 16:51",
        date_modified_raw="2019-12-06T09:00:00+01:00",
    )
    assert pipe.process_item(item) is item
    assert item.date_published == datetime.fromisoformat("2019-12-05T16:51:00+01:00")
    assert item.date_published.utcoffset() == timedelta(hours=1)
    assert item.date_published_precision == "minute"
    assert item.date_modified == datetime.fromisoformat("2019-12-06T08:00:00+00:00")
    stats = crawler.stats.get_stats()
    assert stats["dates/parsed/minute"] == 1
    assert stats["dates/modified_parsed"] == 1
    assert "dates/unparsed" not in stats


def test_relative_dates_resolve_against_fetched_at_with_their_precision() -> None:
    pipe, crawler = pipeline()
    hours = article(date_published_raw="منذ 3 ساعات")
    days = article(date_published_raw="منذ 5 أيام")
    pipe.process_item(hours)
    pipe.process_item(days)
    assert hours.date_published == FETCHED - timedelta(hours=3, seconds=30)
    assert hours.date_published_precision == "hour"
    assert days.date_published == FETCHED - timedelta(days=5, seconds=30)
    assert days.date_published_precision == "day"
    assert crawler.stats.get_value("dates/parsed/hour") == 1
    assert crawler.stats.get_value("dates/parsed/day") == 1


def test_years_ago_get_year_precision_and_hijri_uses_umm_al_qura() -> None:
    pipe, crawler = pipeline()
    years = article(date_published_raw="منذ عامين")
    hijri = article(date_published_raw="21 محرم 1447 هـ")
    pipe.process_item(years)
    pipe.process_item(hijri)
    assert years.date_published == FETCHED - timedelta(days=730, seconds=30)
    assert years.date_published_precision == "year"
    # Umm al-Qura: 1 Muharram 1447 = 26 June 2025, so the 21st is 16 July (the tabular
    # calendar said the 17th).
    assert hijri.date_published == datetime.fromisoformat("2025-07-16T00:00:00+01:00")
    assert hijri.date_published_precision == "day"
    assert crawler.stats.get_value("dates/parsed/year") == 1
    assert crawler.stats.get_value("dates/parsed/day") == 1


def test_hijri_outside_the_tables_is_kept_raw_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    pipe, crawler = pipeline()
    item = article(date_published_raw="12 رجب 1520 هـ", date_displayed_raw="1 محرم 1300 هـ")
    with caplog.at_level("WARNING", logger="pipelines.dates"):
        assert pipe.process_item(item) is item
    assert item.date_published is None and item.date_published_precision is None
    assert item.date_published_raw == "12 رجب 1520 هـ"
    stats = crawler.stats.get_stats()
    assert stats["dates/hijri_out_of_range"] == 2
    assert stats["dates/unparsed"] == 2
    assert stats["dates/unparsed_samples"] == ["12 رجب 1520 هـ", "1 محرم 1300 هـ"]
    assert "1520" in caplog.text


def test_invalid_dates_are_not_counted_as_hijri_out_of_range() -> None:
    pipe, crawler = pipeline()
    pipe.process_item(article(date_published_raw="31 فبراير 2025"))
    assert crawler.stats.get_value("dates/unparsed") == 1
    assert crawler.stats.get_value("dates/hijri_out_of_range") is None


def test_ramadan_local_time_is_utc() -> None:
    pipe, _ = pipeline()
    item = article(date_published_raw="الأحد 2 مارس 2025 - 14:30")
    pipe.process_item(item)
    assert item.date_published == datetime(2025, 3, 2, 14, 30, tzinfo=UTC)


def test_unparseable_string_keeps_the_item_empty_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    pipe, crawler = pipeline()
    item = article(title="عنوان", date_published_raw="تاريخ غير معروف")
    with caplog.at_level("WARNING", logger="pipelines.dates"):
        assert pipe.process_item(item) is item
    assert item.date_published is None
    assert item.date_published_precision is None
    assert item.title == "عنوان"
    stats = crawler.stats.get_stats()
    assert stats["dates/unparsed"] == 1
    assert stats["dates/unparsed/date_published_raw"] == 1
    assert stats["dates/unparsed_samples"] == ["تاريخ غير معروف"]
    assert not any(key.startswith("dates/parsed/") for key in stats)
    assert "تاريخ غير معروف" in caplog.text


def test_displayed_date_is_the_fallback_for_a_bad_published_string() -> None:
    pipe, crawler = pipeline()
    item = article(date_published_raw="31/02/2025", date_displayed_raw="١٦-٠٧-٢٠٢٥")
    pipe.process_item(item)
    assert item.date_published == datetime.fromisoformat("2025-07-16T00:00:00+01:00")
    assert item.date_published_precision == "day"
    stats = crawler.stats.get_stats()
    assert stats["dates/unparsed"] == 1
    assert stats["dates/from_displayed"] == 1
    assert stats["dates/parsed/day"] == 1


def test_missing_published_uses_the_displayed_date() -> None:
    pipe, crawler = pipeline()
    item = article(date_displayed_raw="منذ ساعتين")
    pipe.process_item(item)
    assert item.date_published_precision == "hour"
    assert crawler.stats.get_value("dates/unparsed") is None


def test_no_date_at_all_is_counted_as_missing_not_guessed() -> None:
    pipe, crawler = pipeline()
    item = article()
    pipe.process_item(item)
    assert item.date_published is None
    assert crawler.stats.get_value("dates/missing") == 1


def test_samples_are_bounded_and_distinct() -> None:
    pipe, crawler = pipeline(DATES_UNPARSED_SAMPLES=2)
    for raw in ("x1", "x1", "x2", "x3"):
        pipe.process_item(article(date_published_raw=raw))
    assert crawler.stats.get_value("dates/unparsed") == 4
    assert crawler.stats.get_value("dates/unparsed_samples") == ["x1", "x2"]


def test_dateparser_fallback_follows_its_setting() -> None:
    on, on_crawler = pipeline()
    off, off_crawler = pipeline(DATES_DATEPARSER_FALLBACK=False)
    a, b = article(date_published_raw="July 16, 2025"), article(date_published_raw="July 16, 2025")
    on.process_item(a)
    off.process_item(b)
    assert a.date_published == datetime.fromisoformat("2025-07-16T00:00:00+01:00")
    assert on_crawler.stats.get_value("dates/dateparser_fallback") == 1
    assert b.date_published is None
    assert off_crawler.stats.get_value("dates/unparsed") == 1


def test_works_on_plain_dict_items_with_string_fetched_at() -> None:
    pipe, _ = pipeline()
    item = {"date_published_raw": "منذ ساعة", "fetched_at": "2025-07-16T11:47:30+00:00"}
    pipe.process_item(item)
    assert item["date_published"] == FETCHED - timedelta(hours=1, seconds=30)


def test_disabled_pipeline_is_not_configured() -> None:
    with pytest.raises(NotConfigured):
        pipeline(DATES_ENABLED=False)


def test_registered_in_project_settings_at_200() -> None:
    from crawler import settings

    assert settings.ITEM_PIPELINES["pipelines.dates.DatesPipeline"] == 200
    assert settings.DATES_DATEPARSER_FALLBACK is True


_CRAWL = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime, timezone
    from scrapy import Spider
    from scrapy.crawler import CrawlerProcess
    from crawler.items import Article

    FETCHED = datetime(2025, 7, 16, 11, 47, 30, tzinfo=timezone.utc)
    RAWS = ["الجمعة 8 أبريل 2022 - 23:56", "منذ 3 ساعات", "LE12١٦-٠٧-٢٠٢٥", "لا تاريخ"]
    done = []

    class Dated(Spider):
        name = "dated"

        async def start(self):
            for i, raw in enumerate(RAWS):
                yield Article(url=f"http://example.invalid/{i}", source="hespress",
                              date_published_raw=raw, fetched_at=FETCHED)

    class Collect:
        def process_item(self, item):
            done.append([item.date_published_raw,
                         item.date_published.isoformat() if item.date_published else None,
                         item.date_published_precision])
            return item

    sys.modules["__main__"].Collect = Collect
    process = CrawlerProcess({
        "ITEM_PIPELINES": {"pipelines.dates.DatesPipeline": 200, "__main__.Collect": 900},
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
    })
    crawler = process.create_crawler(Dated)
    process.crawl(crawler)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if k.startswith("dates/")}
    print(json.dumps({"items": done, "stats": stats}, ensure_ascii=False))
    """
)


def test_real_crawl_runs_items_through_the_pipeline() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CRAWL], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    items = {raw: (value, precision) for raw, value, precision in result["items"]}
    assert items["الجمعة 8 أبريل 2022 - 23:56"] == ("2022-04-08T23:56:00+00:00", "minute")  # Ramadan 2022
    assert items["منذ 3 ساعات"] == ("2025-07-16T09:47:00+01:00", "hour")
    assert items["LE12١٦-٠٧-٢٠٢٥"] == ("2025-07-16T00:00:00+01:00", "day")
    assert items["لا تاريخ"] == (None, None)
    assert result["stats"]["dates/unparsed"] == 1
    assert result["stats"]["dates/unparsed_samples"] == ["لا تاريخ"]
    assert result["stats"]["dates/parsed/minute"] == 1
    assert "unparseable date_published_raw 'لا تاريخ'" in out.stderr

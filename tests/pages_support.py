"""Helpers shared by the page-object tests: load a saved fixture page, boilerplate checks."""

from __future__ import annotations

from pathlib import Path

from crawler.items import Article
from spiders.page import ArticlePage

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Text that belongs to boilerplate in the fixtures: none of it may reach title, body or summary.
BOILERPLATE = ("اقرأ أيضا", "اقرأ أيضاً", "إقرأ أيضا", "ذات صلة", "حمّلوا تطبيق", "تطبيق", "النشرة",
               "فيسبوك", "تويتر", "واتساب", "شارك", "إعلان", "جميع الحقوق محفوظة", "adsbygoogle",
               "googletag", "ظهر أولاً على", "اتصل بنا")


def load(page_class: type[ArticlePage], rel: str, url: str, **kw: object) -> Article:
    body = (FIXTURES / rel).read_bytes()
    return page_class.from_bytes(url, body, **kw).to_article("test")  # type: ignore[arg-type]


def assert_no_boilerplate(article: Article) -> None:
    for field in ("title", "body_text", "body_html", "summary", "author"):
        value = getattr(article, field) or ""
        for marker in BOILERPLATE:
            assert marker not in value, f"{field} holds boilerplate {marker!r}"
    # No markup that is never content survives in the body HTML.
    for tag in ("<script", "<ins", "<iframe", "<form", "<button", "<footer", "<nav"):
        assert tag not in (article.body_html or ""), f"body_html keeps {tag}"


def paragraphs(article: Article) -> list[str]:
    return (article.body_text or "").split("\n\n")

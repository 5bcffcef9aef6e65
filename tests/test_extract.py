"""The shared extractors on small pages: JSON-LD shapes, boilerplate rules, selector priority."""

from __future__ import annotations

from pathlib import Path

import pytest
from parsel import Selector

from spiders.extract import (
    BOILERPLATE_MAX_LEN,
    extract_jsonld,
    is_boilerplate_paragraph,
    is_boilerplate_text,
    paragraphs,
)
from spiders.generic_fields import GenericFields, extract_generic
from spiders.page import ArticlePage, css_alternatives


@pytest.mark.parametrize(
    "text",
    ["اقرأ أيضاً: الحكومة تصادق", "إقرأ أيضا", "ذات صلة", "حمّلوا تطبيق هبة بريس", "تابعونا على قناة هسبريس عبر واتساب",
     "اشتركوا في النشرة البريدية", "الخبر عنوان ما ظهر أولاً على زنقة 20."],
)
def test_boilerplate_lines(text: str) -> None:
    assert is_boilerplate_text(text)


@pytest.mark.parametrize(
    "text",
    ["تابع الوزير حديثه على قناة الجزيرة", "وقال إن الحكومة ماضية في الإصلاح", "شاهد العيان أكد للشرطة ما رآه",
     "شاهد العيان أكد للشرطة " + "ما رآه " * 60],
)
def test_article_lines_are_not_boilerplate(text: str) -> None:
    # article sentences that open with a word boilerplate also uses (تابع, شاهد)
    assert not is_boilerplate_text(text)
    assert not is_boilerplate_paragraph(text)


def test_long_paragraph_opening_like_boilerplate_is_kept() -> None:
    # the opening matches the "read also" rule; only the length keeps it as article text
    long = "اقرأ أيضا ما قاله الوزير أمام البرلمان، " + "وأضاف أن الحكومة ماضية في الإصلاح " * 12
    assert len(long) > BOILERPLATE_MAX_LEN and is_boilerplate_text(long)
    assert not is_boilerplate_paragraph(long)
    assert is_boilerplate_paragraph(long[:40])


def test_jsonld_graph_references_and_lists() -> None:
    sel = Selector(text="""<html><head><script type="application/ld+json">
    [{"@type": "WebSite", "name": "x"},
     {"@context": "https://schema.org", "@graph": [
       {"@type": ["NewsArticle", "Article"], "headline": "عنوان", "author": [{"@id": "#p1"}, {"name": "ب"}],
        "image": {"@id": "#img"}, "articleSection": ["", "سياسة"], "keywords": "أ, ب ,ب",
        "datePublished": "2025-07-16T14:30:00+01:00", "mainEntityOfPage": {"@id": "https://s.ma/1/"}},
       {"@type": "Person", "@id": "#p1", "name": "أ"},
       {"@type": "ImageObject", "@id": "#img", "contentUrl": "https://s.ma/i.jpg"}]}]
    </script><script type="application/ld+json">{not json</script></head></html>""")
    got = extract_jsonld(sel)
    assert got == {
        "title": "عنوان", "author": "أ، ب", "image_url": "https://s.ma/i.jpg", "section_raw": "سياسة",
        "tags": ["أ", "ب"], "date_published_raw": "2025-07-16T14:30:00+01:00", "canonical_url": "https://s.ma/1/",
    }


def test_paragraphs_split_at_blocks_and_keep_inline_text_together() -> None:
    root = Selector(text="<div>مقدمة <b>مهمة</b><p>فقرة <a>أولى</a></p><ul><li>بند</li></ul>ذيل</div>").css("div")[0].root
    assert paragraphs(root) == ["مقدمة مهمة", "فقرة أولى", "بند", "ذيل"]


def test_selector_list_is_a_priority_order() -> None:
    assert css_alternatives('a, b[x="1,2"], :is(c, d) e') == ["a", 'b[x="1,2"]', ":is(c, d) e"]

    class Page(ArticlePage):
        date_displayed_css = "header .date, .date"

    html = '<html><body><aside><span class="date">منذ يومين</span></aside><header><span class="date">منذ ساعة</span></header><p>x</p></body></html>'
    a = Page.from_bytes("https://s.ma/1/", html.encode()).to_article("t")
    assert a.date_displayed_raw == "منذ ساعة"  # the first alternative wins, not the first in the document


_FIXTURE_PAGES = sorted((Path(__file__).parent / "fixtures").glob("*/*.html"))


def _fixture_selector(path: Path) -> Selector:
    # Belpress is served in windows-1256; the others in UTF-8 (each page says so in its <meta>).
    raw = path.read_bytes()
    return Selector(text=raw.decode("cp1256" if b"windows-1256" in raw[:2000].lower() else "utf-8"))


@pytest.mark.parametrize("path", _FIXTURE_PAGES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_generic_fields_read_one_at_a_time_equal_the_whole_extraction(path: Path) -> None:
    whole = extract_generic(_fixture_selector(path))
    assert whole.get("title") and whole.get("body_text"), "the fixture gives the generic layer something to find"
    fields = list(GenericFields._GROUP_OF)
    for order in (fields, fields[::-1]):
        lazy = GenericFields(_fixture_selector(path))
        assert {f: lazy.get(f) for f in order if lazy.get(f)} == whole


def test_generic_date_alone_does_not_look_for_the_content_block() -> None:
    # A page object reads the generic layer for the fields its own selectors miss (Belpress:
    # the displayed date); scoring and cleaning the content block is the layer's costliest part.
    path = next(p for p in _FIXTURE_PAGES if p.parent.name == "belpresse")
    lazy = GenericFields(_fixture_selector(path))
    assert lazy.get("date_displayed_raw") == extract_generic(_fixture_selector(path))["date_displayed_raw"]
    assert lazy.get("date_displayed_raw")
    assert not lazy._content_done and "_body" not in lazy._done
    assert lazy.get("body_text")
    assert "_body" in lazy._done

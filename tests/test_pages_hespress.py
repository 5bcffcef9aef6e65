"""Hespress page object on a saved article page (OpenGraph + article:* meta, no JSON-LD)."""

from __future__ import annotations

import re
from datetime import UTC

from pages_support import FIXTURES, assert_no_boilerplate, load, paragraphs

from spiders.hespress import HespressArticlePage

URL = "https://www.hespress.com/%D8%A7%D9%84%D8%A7%D8%AA%D8%AD%D8%A7%D8%AF-458123.html"


def article():
    return load(HespressArticlePage, "hespress/article-politique.html", URL,
                headers={"Content-Type": "text/html; charset=UTF-8"})


def test_every_field() -> None:
    a = article()
    assert a.url == URL
    assert a.source == "test"
    assert a.canonical_url == "https://www.hespress.com/الاتحاد-الدستوري-ينفي-مقاطعة-اجتماع-في-الرباط-458123.html"
    assert a.site_article_id == "458123"
    # og:title carries " - هسبريس": the site name must be gone, the quotes kept.
    assert a.title == '"الاتحاد الدستوري" ينفي مقاطعة اجتماع في الرباط'
    assert a.author == "هسبريس من الرباط"
    assert a.section_raw == "سياسة"
    assert a.tags == ["الاتحاد الدستوري", "المكتب السياسي"]
    assert a.image_url == "https://i1.hespress.com/wp-content/uploads/2020/01/ud-union-constitutionnelle.jpg"
    assert a.summary == "تفاعل المكتب السياسي لحزب الاتحاد الدستوري مع ما جرى تداوله حول مقاطعة الاجتماع"
    assert a.language == "ar"
    assert a.date_published_raw == "2020-01-31T04:34:00+01:00"
    assert a.date_displayed_raw == "الجمعة 31 يناير 2020 - 04:34"
    assert a.date_modified_raw == "2020-01-31T09:12:45+01:00"
    assert a.date_published is None  # dates are parsed by the dates pipeline, not here
    assert a.fetched_at is not None and a.fetched_at.tzinfo is UTC
    assert a.http_status == 200
    assert a.extraction == "meta,selectors"
    paras = paragraphs(a)
    assert len(paras) == 3
    assert paras[0].startswith("تفاعل المكتب السياسي لحزب الاتحاد الدستوري")
    assert paras[1].startswith('وأكد أعضاء المكتب السياسي لحزب "الحصان"')
    assert paras[2].endswith("وفق تعبير الوثيقة سالفة الذكر.")
    assert a.body_html is not None and a.body_html.count("<p>") == 3


def test_no_boilerplate() -> None:
    a = article()
    assert_no_boilerplate(a)
    # The inline "اقرأ أيضا" paragraph's link title and the related card must not leak in.
    assert "ساجد" not in (a.body_text or "")
    assert "أخنوش" not in (a.body_text or "")
    assert "هسبريس 2020" not in (a.body_text or "")


def test_missing_optional_fields_keep_the_article() -> None:
    """Without tags, image, author and meta the article is still extracted from the markup."""
    raw = (FIXTURES / "hespress/article-politique.html").read_bytes()
    stripped = raw.replace(b'<section class="box-tags">', b'<section class="x">').replace(
        b'property="og:image"', b'property="x"').replace(b'class="author"', b'class="x"')
    a = HespressArticlePage.from_bytes(URL, stripped).to_article("test")
    assert a.title and a.body_text and a.date_published_raw
    assert a.image_url == "https://i1.hespress.com/wp-content/uploads/2020/01/ud-union-constitutionnelle-1024x576.jpg"
    assert a.tags == []


def test_no_title_page_yields_no_title() -> None:
    """A page without headline gives title None (the validate pipeline drops it), not the site name."""
    raw = (FIXTURES / "hespress/article-politique.html").read_bytes()
    html = raw.decode("utf-8")
    html = re.sub(r'<h1 class="post-title">.*?</h1>', "", html)
    html = re.sub(r'<meta property="og:title" content="[^"]*">', "", html)
    html = re.sub(r"<title>.*?</title>", "<title>هسبريس</title>", html)
    a = HespressArticlePage.from_bytes(URL, html.encode("utf-8")).to_article("test")
    assert a.title is None
    assert a.body_text

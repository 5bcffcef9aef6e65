"""LE12 page object on a saved page (JSON-LD NewsArticle, Arabic-Indic displayed date)."""

from __future__ import annotations

from pages_support import assert_no_boilerplate, load, paragraphs

from spiders.le12 import Le12ArticlePage

URL = "https://le12.ma/article/190999/"


def article():
    return load(Le12ArticlePage, "le12/article-190999.html", URL)


def test_every_field() -> None:
    a = article()
    assert a.url == URL
    assert a.canonical_url == URL
    assert a.site_article_id == "190999"
    assert a.title == "العثور على جثتين متحلّلتين لشقيقين في الناظور"  # shadda kept as published
    assert a.author == "محمد العبوسي"
    assert a.section_raw == "حوادث"
    assert a.tags == ["الناظور", "جثث"]  # JSON-LD keywords string split
    assert a.image_url == "https://le12.ma/wp-content/uploads/2020/08/nador.jpg"
    assert a.summary == "عثرت العناصر الأمنية على جثتين متحللتين لشقيقين بالناظور"
    # JSON-LD datePublished beats article:published_time.
    assert a.date_published_raw == "2020-08-04T20:06:00+01:00"
    assert a.date_displayed_raw == "٠٤-٠٨-٢٠٢٠ ٢٠:٠٦"
    assert a.date_modified_raw == "2020-08-04T21:00:00+01:00"
    assert a.language == "ar"
    assert a.extraction == "jsonld,selectors"
    paras = paragraphs(a)
    assert len(paras) == 4
    assert paras[0].startswith("عثرت العناصر الأمنية، الثلاثاء")
    assert paras[3].endswith("في انتظار ما سيسفر عنه التحقيق حول الحادثة.")


def test_no_boilerplate() -> None:
    a = article()
    assert_no_boilerplate(a)
    assert "توقيف مروج مخدرات" not in (a.body_text or "")
    assert "قناة LE12" not in (a.body_text or "")

"""Zanqa 20 page object on a saved page (WordPress theme markup, dateline paragraph, feed tail)."""

from __future__ import annotations

from pages_support import assert_no_boilerplate, load, paragraphs

from spiders.rue20 import Rue20ArticlePage

URL = "https://rue20.com/901999.html"


def article():
    return load(Rue20ArticlePage, "rue20/901999.html", URL)


def test_every_field() -> None:
    a = article()
    assert a.url == URL
    assert a.canonical_url == URL
    assert a.site_article_id == "901999"
    assert a.title == "الجامعة الوطنية للصحة تخوض احتجاجات في شتنبر"
    assert a.author == "سعيد الزوبير"
    assert a.section_raw == "مجتمع"
    assert a.tags == ["الصحة"]  # rel="category tag" is the section, not a tag
    assert a.image_url == "https://rue20.com/wp-content/uploads/2020/08/sante.jpg"
    assert a.summary == "أعلنت الجامعة الوطنية للصحة خوض وقفات احتجاجية جهوية في فاتح شتنبر المقبل"
    assert a.date_published_raw == "2020-08-24T07:48:00+01:00"
    assert a.date_displayed_raw == "24 أغسطس 2020 - 07:48"
    assert a.date_modified_raw == "2020-08-24T08:00:00+01:00"
    assert a.extra == {"dateline": "زنقة 20 | الرباط"}
    assert a.extraction == "jsonld,selectors"
    paras = paragraphs(a)
    assert len(paras) == 3
    assert paras[0].startswith("أعلنت الجامعة الوطنية للصحة")
    assert paras[2].endswith('على المستويين المحلي والوطني".')


def test_no_boilerplate() -> None:
    a = article()
    assert_no_boilerplate(a)
    body = a.body_text or ""
    assert not body.startswith("زنقة 20")  # the dateline is not body text
    assert "الممرضون يحتجون" not in body

"""Belpress page object on a saved page served in windows-1256 (undescribed markup, og:title only)."""

from __future__ import annotations

from pages_support import FIXTURES, assert_no_boilerplate, load, paragraphs

from spiders.belpresse import BelpresseArticlePage
from spiders.page import ArticlePage

URL = "https://www.belpresse.com/2020/04/saham-assurance-corona/"
REL = "belpresse/article-2020-04-saham.html"
TITLE = "سَهام للتأمين تتعبأ إلى جانب المواطنين لمواجهة كورونا"


def test_fixture_is_windows_1256() -> None:
    raw = (FIXTURES / REL).read_bytes()
    assert TITLE.encode("windows-1256") in raw
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:  # pragma: no cover - the fixture would prove nothing
        raise AssertionError("fixture decodes as UTF-8")


def check(a) -> None:
    assert a.url == URL
    assert a.canonical_url == URL  # og:url
    assert a.title == TITLE
    assert a.author == "بلبريس - متابعة"
    assert a.section_raw == "اقتصاد"  # breadcrumb's last link
    assert a.image_url == "https://www.belpresse.com/wp-content/uploads/2020/04/saham.jpg"
    # No machine-readable date anywhere: the displayed Levantine date (with its time) is the raw date.
    assert a.date_displayed_raw == "الثلاثاء 28 نيسان/أبريل 2020 09:37"
    assert a.date_published_raw == "الثلاثاء 28 نيسان/أبريل 2020 09:37"
    assert a.date_modified_raw is None
    assert a.summary is None  # never invented
    assert a.tags == []
    assert a.language == "ar"
    paras = paragraphs(a)
    assert len(paras) == 4
    assert paras[0].startswith("غيّرت جائحة فيروس كورونا المستجد")
    assert paras[3].endswith("وتبقى معبأة إلى جانبهم دائماً.")
    assert_no_boilerplate(a)
    assert "البنوك تؤجل" not in (a.body_text or "")


def test_decoded_from_the_content_type_header() -> None:
    check(load(BelpresseArticlePage, REL, URL, headers={"Content-Type": "text/html; charset=windows-1256"}))


def test_decoded_from_the_meta_charset_alone() -> None:
    check(load(BelpresseArticlePage, REL, URL, headers={"Content-Type": "text/html"}))


def test_generic_extractor_alone_copes() -> None:
    """The base page object, with no site selectors at all, extracts the same article."""
    a = load(ArticlePage, REL, URL, headers={"Content-Type": "text/html"})
    check(a)
    assert a.extraction == "meta,generic"

"""Hiba Press page object on a saved Jannah-theme page (Yoast @graph JSON-LD, relative date, desk line)."""

from __future__ import annotations

from pages_support import assert_no_boilerplate, load, paragraphs

from spiders.hibapress import HibapressArticlePage

URL = "https://ar.hibapress.com/details-1234567.html"


def article():
    return load(HibapressArticlePage, "hibapress/details-1234567.html", URL)


def test_every_field() -> None:
    a = article()
    assert a.url == URL
    assert a.canonical_url == URL
    assert a.site_article_id == "1234567"
    assert a.title == 'جامعة الكراطي تتبرع بمليون درهم ضد "كورونا"'
    # The desk paragraph is the byline: it wins over the Yoast graph's generic "هبة بريس".
    assert a.author == "هبة بريس ـ رياضة"
    assert a.section_raw == "رياضة"  # JSON-LD articleSection list
    assert a.tags == ["كورونا", "الكراطي"]
    # The image is an @id reference into the graph, resolved.
    assert a.image_url == "https://ar.hibapress.com/wp-content/uploads/2020/03/karate.jpg"
    assert a.summary == "قررت الجامعة الملكية المغربية للكراطي المساهمة في الصندوق الخاص بتدبير وباء كورونا"
    assert a.language == "ar"
    assert a.date_published_raw == "2020-03-19T22:06:00+00:00"
    assert a.date_displayed_raw == "منذ 3 ساعات"
    assert a.date_modified_raw == "2020-03-19T22:40:13+00:00"
    assert a.extraction == "jsonld,selectors"
    paras = paragraphs(a)
    assert len(paras) == 3
    assert paras[0].startswith('قررت الجامعة الملكية المغربية لـ"الكراطي"')
    assert paras[2].endswith('لمحاربة انتشار "فيروس كورونا" المستجد.')


def test_no_boilerplate() -> None:
    a = article()
    assert_no_boilerplate(a)
    body = a.body_text or ""
    assert "هبة بريس ـ رياضة" not in body  # the desk line left the body
    assert "الرجاء يعلق تداريبه" not in body  # the related list after the "اقرأ أيضاً" heading
    assert "1٬204" not in body  # view counter


def test_without_yoast_graph_falls_back_to_meta_and_selectors() -> None:
    from pages_support import FIXTURES

    raw = (FIXTURES / "hibapress/details-1234567.html").read_bytes()
    start = raw.index(b'<script type="application/ld+json"')
    end = raw.index(b"</script>", start) + len(b"</script>")
    a = HibapressArticlePage.from_bytes(URL, raw[:start] + raw[end:]).to_article("test")
    assert a.title == 'جامعة الكراطي تتبرع بمليون درهم ضد "كورونا"'  # og:title minus " | هبة بريس"
    assert a.date_published_raw == "2020-03-19T22:06:00+00:00"  # article:published_time
    assert a.section_raw == "رياضة"  # a.post-cat
    assert a.tags == ["كورونا", "الكراطي"]  # rel=tag links
    assert a.extraction == "meta,selectors"

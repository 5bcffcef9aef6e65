"""Generic WordPress page object on a default-theme page no site spider knows."""

from __future__ import annotations

from pages_support import assert_no_boilerplate, load, paragraphs

from spiders.wordpress import WordPressArticlePage

URL = "https://news.example.ma/2020/08/08/melilla-covid/"


def test_every_field() -> None:
    a = load(WordPressArticlePage, "wordpress/article-wpdemo.html", URL)
    assert a.canonical_url == URL
    assert a.site_article_id == "7781"  # shortlink ?p=
    assert a.title == 'مليلية ترصد 3 إصابات جديدة بـ"كوفيد-19"'
    assert a.author == "عبد الكريم هرواش"  # not "بقلم ..."
    assert a.section_raw == "جهات"
    assert a.tags == ["مليلية", "كوفيد"]
    assert a.image_url == "https://news.example.ma/wp-content/uploads/2020/08/melilla.jpg"
    assert a.date_published_raw == "2020-08-08T07:28:00+01:00"  # time[datetime]
    assert a.date_displayed_raw == "8 أغسطس 2020"
    assert a.date_modified_raw == "2020-08-08T10:02:00+01:00"
    assert a.summary is None
    assert a.extraction == "selectors"
    paras = paragraphs(a)
    assert len(paras) == 4
    assert paras[1].endswith("ارتفعت إلى 151 حالة.")
    assert_no_boilerplate(a)
    assert "الناظور تسجل" not in (a.body_text or "")
    assert "ووردبريس" not in (a.body_text or "")

"""Author, section and printed date by structure (spiders/byline.py), with no class names to go by."""

from __future__ import annotations

import json

import pytest
from parsel import Selector

from spiders.byline import StructuralFields

URL = "https://www.site.ma/2025/07/budget-vote/"


def fields(body: str, url: str = URL, head: str = "", title: str | None = "الحكومة تصادق على الميزانية") -> dict[str, str]:
    html = f"<html><head>{head}</head><body><nav><a href='/'>الموقع</a><a href='/category/x/'>قسم القائمة</a></nav>{body}" \
           "<footer><a href='/author/footer-man/'>كاتب التذييل</a> <a rel='category' href='/c/'>تذييل</a></footer></body></html>"
    return StructuralFields(Selector(text=html), url, title, site_names=("الموقع",)).all()


H1 = "<h1>الحكومة تصادق على الميزانية</h1>"


@pytest.mark.parametrize("body,author", [
    (f'{H1}<div><a rel="author" href="/u/7">سعيد بلقاضي</a></div>', "سعيد بلقاضي"),
    (f'{H1}<div><span><a href="https://www.site.ma/author/226/">هسبريس - فلان (كاريكاتير: فلانة)</a></span></div>',
     "هسبريس - فلان (كاريكاتير: فلانة)"),
    (f'{H1}<div><a href="/auteur/karim/">Karim Alaoui</a></div>', "Karim Alaoui"),
    (f"{H1}<div><span>بقلم <span>عبد الكريم هرواش</span></span></div>", "عبد الكريم هرواش"),
    (f"{H1}<p>كتب: محمد الراجي</p>", "محمد الراجي"),
    (f"{H1}<div>Par Yasmine Benali</div>", "Yasmine Benali"),
    (f"{H1}<div><span>بلبريس - متابعة</span> <span>الأربعاء 16 تموز/يوليو 2025</span> <span>14:30</span></div>", "بلبريس - متابعة"),
    (f"{H1}<div><p>الموقع من الرباط</p><p>أعلنت الحكومة عن الإجراءات.</p></div>", "الموقع من الرباط"),
    (f"{H1}<div><p>الموقع - وكالات</p><p>أعلنت الحكومة عن الإجراءات.</p></div>", "الموقع - وكالات"),
    (f"{H1}<div><p>الموقعان يتفقان على البرنامج</p></div>", None),
    # A link to another site's author page, a category next to the date, a footer author: no author.
    (f'{H1}<div><a href="https://other.ma/author/x/">غريب</a></div>', None),
    (f'{H1}<div><a href="/category/politique/">سياسة</a> <span>16 يوليو 2025</span></div>', None),
    (f"{H1}<p>كتب الوزير في تدوينة أن القرار نهائي</p>", None),
])
def test_author(body: str, author: str | None) -> None:
    assert fields(body).get("author") == author


@pytest.mark.parametrize("body,url,section", [
    (f'<nav aria-label="breadcrumb"><ol><li><a href="/">الرئيسية</a></li><li><a href="/politique/">سياسة</a></li>'
     f"<li>الحكومة تصادق على الميزانية</li></ol></nav>{H1}", URL, "سياسة"),
    (f'<div><a href="/">الرئيسية</a> › <a href="/category/iqtisad/">اقتصاد</a></div>{H1}', URL, "اقتصاد"),
    (f'<div><a href="https://www.site.ma/">Accueil</a> » <a href="/fr/sport/">Sport</a> » <a href="/fr/foot/">Football</a></div>{H1}',
     URL, "Football"),
    (f'{H1}<span><a rel="category tag" href="/c/societe/">مجتمع</a></span>', URL, "مجتمع"),
    (f'<header><span><a href="/section-3.html">سياسة</a></span>{H1}</header>', URL, "سياسة"),
    (H1, "https://fr.belpresse.com/a-la-une/un-titre/", "a-la-une"),
    (H1, "https://www.site.ma/category/%D8%B1%D9%8A%D8%A7%D8%B6%D8%A9/match-1.html", "رياضة"),
    (H1, "https://www.site.ma/article/190999/", None),
    (H1, "https://www.site.ma/2025/07/budget-vote/", None),
    # The site menu (nav) and the footer never give the section.
    (f"{H1}<p>نص</p>", URL, None),
])
def test_section(body: str, url: str, section: str | None) -> None:
    assert fields(body, url).get("section_raw") == section


def test_section_from_a_jsonld_breadcrumb_list() -> None:
    crumbs = {"@context": "https://schema.org", "@graph": [{"@type": "BreadcrumbList", "itemListElement": [
        {"@type": "ListItem", "position": 1, "name": "الرئيسية", "item": "https://www.site.ma/"},
        {"@type": "ListItem", "position": 3, "name": "الحكومة تصادق على الميزانية"},
        {"@type": "ListItem", "position": 2, "name": "سياسة", "item": "https://www.site.ma/politique/"},
    ]}]}
    head = f'<script type="application/ld+json">{json.dumps(crumbs, ensure_ascii=False)}</script>'
    assert fields(H1, head=head)["section_raw"] == "سياسة"


@pytest.mark.parametrize("body,date", [
    (f"{H1}<div><span>بلبريس</span> <span>الأربعاء 16 تموز/يوليو 2025</span> <span>14:30</span></div>",
     "الأربعاء 16 تموز/يوليو 2025 14:30"),
    (f"{H1}<div><span>الجمعة 8 أبريل 2022 - 23:56</span></div>", "الجمعة 8 أبريل 2022 - 23:56"),
    (f"{H1}<div><span>منذ 3 ساعات</span></div>", "منذ 3 ساعات"),
    (f"{H1}<span>١٦-٠٧-٢٠٢٥</span>", "١٦-٠٧-٢٠٢٥"),
    # A date in the first paragraph's running text is not the printed date.
    (f"{H1}<p>أعلنت الحكومة يوم 16 يوليو 2025 عن إجراءات جديدة لدعم القدرة الشرائية للمواطنين في جميع الجهات.</p>", None),
])
def test_displayed_date(body: str, date: str | None) -> None:
    assert fields(body).get("date_displayed_raw") == date


def test_groups_are_computed_on_demand() -> None:
    sf = StructuralFields(Selector(text=f"<html><body>{H1}<a rel='author' href='/a/'>س</a></body></html>"), URL)
    assert sf.get("author") == "س"
    assert sf._done == {"_author"}

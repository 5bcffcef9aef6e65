"""Noise removal by structure and text (spiders/noise.py): (input, must keep, must drop) tables.

No case relies on a class or id: every block is written with meaningless class names, as
after a theme change. "Keep" and "drop" strings are looked for in the cleaned HTML (text and
link targets alike).
"""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html

from spiders.noise import clean_fragment, is_share_href, remove_noise

URL = "https://www.site.ma/politique/article-1001.html"
TITLE = "الحكومة تصادق على مشروع قانون المالية"
P1 = "صادق مجلس الحكومة، اليوم الخميس، على مشروع قانون المالية للسنة المقبلة بعد نقاش طويل بين مكوناته."
P2 = "وأوضح الناطق الرسمي باسم الحكومة أن المشروع يتضمن إجراءات جديدة لدعم القدرة الشرائية للمواطنين."


def art(*blocks: str) -> str:
    """A body: the two article paragraphs around the blocks under test."""
    return f"<p>{P1}</p>" + "".join(blocks) + f"<p>{P2}</p>"


CASES: list[tuple[str, str, list[str], list[str]]] = [
    # --- related links, labelled ------------------------------------------------------
    ("read also box with a list",
     art('<div class="q1"><strong>اقرأ أيضا</strong><ul><li><a href="/a-2.html">خبر أول</a></li>'
         '<li><a href="https://www.site.ma/b-3.html">خبر ثان</a></li></ul></div>'),
     [P1, P2], ["اقرأ أيضا", "خبر أول", "خبر ثان"]),
    ("inline read also line", art('<p><strong>اقرأ أيضاً:</strong> <a href="/a-2.html">الوزير يرد على المعارضة</a></p>'),
     [P1, P2], ["اقرأ أيضاً", "الوزير يرد"]),
    ("label inside the link's strong", art('<p><strong>إقرأ أيضا: <a href="/a-2.html">عنوان آخر</a></strong></p>'),
     [P1, P2], ["إقرأ أيضا", "عنوان آخر"]),
    ("label paragraph then one-link paragraphs",
     art('<p><strong>إقرأ المزيد :</strong></p><p><a href="/a-2.html">عنوان أول</a></p><p><a href="/a-3.html">عنوان ثان</a></p>'),
     [P1, P2], ["إقرأ المزيد", "عنوان أول", "عنوان ثان"]),
    ("related heading then list", art('<h3>مواضيع ذات صلة</h3><ul><li><a href="/x-5.html">موضوع</a></li><li><a href="/x-6.html">آخر</a></li></ul>'),
     [P1, P2], ["مواضيع ذات صلة", "موضوع", "x-6"]),
    ("most read ordered list", art('<div class="k"><b>الأكثر قراءة</b><ol><li><a href="/m-1.html">الأول</a></li><li><a href="/m-2.html">الثاني</a></li></ol></div>'),
     [P1, P2], ["الأكثر قراءة", "m-1", "m-2"]),
    ("jetpack related with dates and context",
     art('<div><h3><em>مواضيع ذات صلة</em></h3><div><div><h4><a href="/r-1.html">عنوان مرتبط</a></h4>'
         '<p>الأربعاء 16 يوليو 2025</p><p>في "سياسة"</p></div><div><h4><a href="/r-2.html">عنوان ثان</a></h4>'
         '<p>الثلاثاء 15 يوليو 2025</p><p>في "مجتمع"</p></div></div></div>'),
     [P1, P2], ["مواضيع ذات صلة", "عنوان مرتبط", "16 يوليو", "في \"مجتمع\""]),
    ("cards with a stretched empty link",
     art('<div><h3>مقالات ذات صلة</h3><div><a href="/c-1.html"></a><h3>بطاقة أولى</h3></div>'
         '<div><a href="/c-2.html"></a><h3>بطاقة ثانية</h3></div></div>'),
     [P1, P2], ["مقالات ذات صلة", "بطاقة أولى", "c-2"]),
    ("French: À lire aussi", art('<p><strong>À lire aussi :</strong> <a href="/fr/x-9.html">Le budget adopté</a></p>'),
     [P1, P2], ["lire aussi", "Le budget adopté"]),
    ("French: Sur le même sujet", art('<h4>Sur le même sujet</h4><ul><li><a href="/fr/a-1">Un</a></li><li><a href="/fr/a-2">Deux</a></li></ul>'),
     [P1, P2], ["même sujet", "/fr/a-1"]),
    ("English: Related articles", art('<section><h2>Related articles</h2><a href="/en/a-1">One story</a> <a href="/en/a-2">Two</a></section>'),
     [P1, P2], ["Related", "One story"]),
    ("English: Read more line", art('<p>Read more: <a href="/en/budget-7">Budget passes</a></p>'),
     [P1, P2], ["Read more", "Budget passes"]),
    # --- related links, unlabelled ----------------------------------------------------
    ("bare list of the site's links", art('<ul><li><a href="/a-1.html">عنوان واحد</a></li><li><a href="/a-2.html">عنوان اثنان</a></li></ul>'),
     [P1, P2], ["عنوان واحد", "a-2.html"]),
    ("one-link paragraph to another article", art('<p><a href="https://www.site.ma/a-9.html">الحكومة تعلن عن التدابير الجديدة</a></p>'),
     [P1, P2], ["a-9.html", "التدابير الجديدة"]),
    # --- must keep: links that are content ----------------------------------------------
    ("a link inside a sentence stays",
     art('<p>وكانت هسبريس قد نشرت <a href="/a-2.html">تقريرا مفصلا</a> حول الموضوع نفسه قبل أسبوعين، وأكدت فيه مصادر مطلعة هذه المعطيات.</p>'),
     [P1, P2, "تقريرا مفصلا", "قبل أسبوعين", "/a-2.html"], []),
    ("two links inside sentences stay",
     art('<p>أشار <a href="/a-2.html">البلاغ</a> إلى أن <a href="/a-3.html">الاجتماع</a> سيعقد الأسبوع المقبل بحضور جميع الأطراف المعنية بالملف.</p>'),
     [P1, P2, "البلاغ", "الاجتماع", "الأسبوع المقبل"], []),
    ("a link to an outside source stays",
     art('<p><a href="https://www.finances.gov.ma/projet-loi.pdf">نص مشروع القانون</a></p>'),
     [P1, P2, "نص مشروع القانون", "finances.gov.ma"], []),
    ("a long paragraph opening like a label stays",
     art("<p>شاهد أيضا المواطنون ارتفاع الأسعار خلال الأسابيع الماضية، وهو ما دفع الحكومة إلى التدخل من خلال "
         "مجموعة من الإجراءات التي تهدف إلى حماية القدرة الشرائية، وفق ما أكده الوزير في تصريح صحافي، "
         'مضيفا أن <a href="/a-4.html">الدعم</a> سيستمر إلى نهاية السنة الجارية دون أي تغيير في قيمته أو شروطه.</p>'),
     [P1, P2, "شاهد أيضا المواطنون", "نهاية السنة الجارية"], []),
    ("a subheading and its paragraphs stay",
     art("<h3>تفاصيل المشروع</h3><p>يتضمن المشروع ثلاثة محاور أساسية تهم الاستثمار والتشغيل والحماية الاجتماعية.</p>"),
     [P1, P2, "تفاصيل المشروع", "ثلاثة محاور"], []),
    ("a list of points stays", art("<ul><li>رفع الأجور بنسبة خمسة في المائة.</li><li>خفض الضريبة على الدخل.</li></ul>"),
     [P1, P2, "رفع الأجور", "خفض الضريبة"], []),
    ("short news paragraphs in a wrapper after a read-also line",
     '<div><p><strong>اقرأ أيضا:</strong> <a href="/a-2.html">خبر قديم</a></p>'
     "<p>أعلنت الوزارة عن فتح باب الترشيح للمباراة.</p><p>وسيتم الإعلان عن النتائج الأسبوع المقبل.</p></div>",
     ["فتح باب الترشيح", "الإعلان عن النتائج"], ["خبر قديم"]),
    ("news about a newsletter with 'سجلت' stays",
     art("<p>سجلت النشرة الإخبارية للقناة الأولى نسبة مشاهدة مرتفعة خلال شهر رمضان.</p>"),
     [P1, P2, "سجلت النشرة الإخبارية"], []),
    ("a sentence starting with تعليقات stays",
     art("<p>تعليقات الوزير أثارت جدلا واسعا في البرلمان.</p>"), [P1, P2, "تعليقات الوزير"], []),
    ("a sentence about an advertisement stays",
     art("<p>إعلان الحكومة عن الإجراءات الجديدة لقي ترحيبا واسعا.</p>"), [P1, P2, "إعلان الحكومة"], []),
    ("a unique caption stays",
     art('<figure><img src="/u/1.jpg" alt=""><figcaption>رئيس الحكومة خلال الاجتماع</figcaption></figure>'),
     [P1, P2, "رئيس الحكومة خلال الاجتماع", "/u/1.jpg"], []),
    ("a video player becomes a link",
     art('<iframe src="https://www.youtube.com/embed/abc123" width="560" height="315"></iframe>'),
     [P1, P2, "https://www.youtube.com/embed/abc123"], ["<iframe"]),
    ("an embedded tweet keeps its text and link",
     art('<blockquote class="twitter-tweet"><p>نص التغريدة الأصلية</p>&mdash; الوزير '
         '<a href="https://twitter.com/minister/status/123">يوليو 2025</a></blockquote>'
         '<script async src="https://platform.twitter.com/widgets.js"></script>'),
     [P1, P2, "نص التغريدة الأصلية", "twitter.com/minister/status/123"], ["widgets.js"]),
    # --- share and social ------------------------------------------------------------------
    ("share bar by endpoints",
     art('<div><a href="https://www.facebook.com/sharer/sharer.php?u=x"><i></i> شارك</a>'
         '<a href="https://twitter.com/intent/tweet?url=x">غرد</a><a href="https://api.whatsapp.com/send?text=x">واتساب</a>'
         '<a href="https://telegram.me/share/url?url=x">تيليغرام</a></div>'),
     [P1, P2], ["sharer", "intent/tweet", "whatsapp", "telegram", "شارك", "غرد"]),
    ("share bar with a label", art('<div><span>شارك</span><a href="https://x.com/intent/post?url=u">X</a><a href="whatsapp://send?text=u">واتساب</a></div>'),
     [P1, P2], ["شارك", "x.com", "واتساب"]),
    ("jetpack sharing (?share=)",
     art('<div><h3>شارك هذا:</h3><ul><li><a href="https://www.site.ma/politique/article-1001.html?share=facebook"><span>فيسبوك</span></a></li>'
         '<li><a href="https://www.site.ma/politique/article-1001.html?share=twitter"><span>X</span></a></li><li></li></ul></div>'),
     [P1, P2], ["شارك هذا", "share=", "فيسبوك"]),
    ("follow-us line", art('<p>تابعوا آخر الأخبار على <a href="https://www.facebook.com/site">فيسبوك</a> و<a href="https://t.me/site">تيليغرام</a></p>'),
     [P1, P2], ["تابعوا", "facebook.com/site", "t.me/site"]),
    ("a sentence citing a tweet stays",
     art('<p>وكتب الوزير في تدوينة على <a href="https://twitter.com/minister/status/9">حسابه الرسمي</a> أن الحكومة ستواصل الإصلاحات رغم الصعوبات.</p>'),
     [P1, P2, "حسابه الرسمي", "ستواصل الإصلاحات"], []),
    # --- ads -----------------------------------------------------------------------------------
    ("adsense slot", art('<div><ins class="adsbygoogle" data-ad-client="ca-pub-1" data-ad-slot="2"></ins><script>(adsbygoogle=window.adsbygoogle||[]).push({});</script></div>'),
     [P1, P2], ["<ins", "adsbygoogle", "<script", "<div"]),
    ("labelled slot", art('<div><span>إعلان</span><div data-slot="inarticle"></div></div>'), [P1, P2], ["إعلان", "data-slot"]),
    ("إشهار label with a zone", art('<div><small>إشهار</small><div data-zone="77"></div></div>'), [P1, P2], ["إشهار", "data-zone"]),
    ("Publicité", art("<p>Publicité</p>"), [P1, P2], ["Publicité"]),
    ("ad iframe", art('<div><iframe src="https://ads.example.net/serve?z=1"></iframe></div>'), [P1, P2], ["ads.example.net", "<iframe"]),
    ("sponsored link", art('<p><a rel="sponsored nofollow" href="https://shop.example/x"><img src="/b.gif"></a></p>'),
     [P1, P2], ["shop.example", "/b.gif"]),
    ("empty placeholders", art('<div></div><div><div> </div></div><p>&nbsp;</p>'), [P1, P2], ["<div"]),
    # --- newsletter and comments -------------------------------------------------------------
    ("newsletter box with a form",
     art('<div><h4>النشرة الإخبارية</h4><p>اشترك في نشرتنا البريدية لتصلك أهم الأخبار</p>'
         '<form action="/nl"><input type="email"><button>اشترك</button></form></div>'),
     [P1, P2], ["النشرة الإخبارية", "نشرتنا", "<form", "<input"]),
    ("newsletter line without a form", art("<p>اشتركوا في النشرة البريدية لتصلكم آخر المستجدات</p>"), [P1, P2], ["النشرة البريدية"]),
    ("French newsletter", art("<div><p>Inscrivez-vous à notre newsletter</p></div>"), [P1, P2], ["newsletter"]),
    ("comment form", art('<div><h3>أضف تعليقك</h3><form><textarea></textarea><input type="text"><button>إرسال التعليق</button></form></div>'),
     [P1, P2], ["أضف تعليقك", "إرسال", "textarea"]),
    ("Leave a Reply", art("<h3>Leave a Reply</h3>"), [P1, P2], ["Leave a Reply"]),
    # --- captions and credits ----------------------------------------------------------------
    ("caption repeating the headline", art(f'<figure><img src="/u/2.jpg"><figcaption>{TITLE}</figcaption></figure>'),
     [P1, P2, "/u/2.jpg"], ["<figcaption"]),
    ("repeated caption", art('<figure><img src="/u/3.jpg"><figcaption>صورة من الاجتماع</figcaption></figure>'
                             '<figure><img src="/u/4.jpg"><figcaption>صورة من الاجتماع</figcaption></figure>'),
     [P1, P2, "صورة من الاجتماع", "/u/4.jpg"], []),
    ("caption printed again as a paragraph",
     art('<figure><img src="/u/5.jpg"><figcaption>الوزير خلال الندوة</figcaption></figure><p>الوزير خلال الندوة</p>'),
     [P1, P2, "/u/5.jpg"], ["</figcaption><p>", "</figure><p>الوزير"]),
    ("share label left alone", art("<p>شارك المقال</p>"), [P1, P2], ["شارك المقال"]),
    ("photo credit", art("<p>الصورة: أرشيف هسبريس</p>"), [P1, P2], ["أرشيف هسبريس"]),
    ("credit in parentheses", art("<p><em>(صورة: أرشيف)</em></p>"), [P1, P2], ["أرشيف"]),
    ("French credit", art("<p>Photo : DR</p>"), [P1, P2], ["Photo : DR"]),
]


@pytest.mark.parametrize("name,html,keep,drop", CASES, ids=[c[0] for c in CASES])
def test_noise_table(name: str, html: str, keep: list[str], drop: list[str]) -> None:
    out = clean_fragment(html, page_url=URL, title=TITLE)
    for text in keep:
        assert text in out, f"{name}: lost {text!r}\n{out}"
    for text in drop:
        assert text not in out, f"{name}: kept {text!r}\n{out}"


def test_repeated_caption_keeps_the_first() -> None:
    out = clean_fragment(CASES[[c[0] for c in CASES].index("repeated caption")][1], page_url=URL, title=TITLE)
    assert out.count("صورة من الاجتماع") == 1


def test_clean_body_of_real_article_paragraphs_is_unchanged() -> None:
    """A body without noise comes out as it went in (paragraphs, inline markup, links)."""
    html = (f"<p>{P1}</p><h3>عنوان فرعي</h3>"
            '<p>قال <strong>الوزير</strong> إن <a href="/a-2.html">القرار</a> نهائي، وإن الحكومة لن تتراجع عنه مهما كانت الضغوط.</p>'
            f"<blockquote><p>نحن ملتزمون بتنفيذ البرنامج.</p></blockquote><p>{P2}</p>")
    assert clean_fragment(html, page_url=URL, title=TITLE) == html


def test_counts_by_kind_and_in_place() -> None:
    root = lxml_html.fragment_fromstring(
        art('<div><a href="https://www.facebook.com/sharer.php?u=x">فيسبوك</a><a href="https://twitter.com/intent/tweet">X</a></div>',
            '<div><strong>اقرأ أيضا</strong><ul><li><a href="/a-1.html">أ</a></li></ul></div>',
            '<ins data-ad-slot="1"></ins>', "<div></div>"),
        create_parent="div")
    removed = remove_noise(root, page_url=URL)
    assert removed == {"share": 1, "related": 1, "ad": 1, "empty": 1}
    assert [p.text for p in root] == [P1, P2]


def test_without_page_url_site_links_are_any_web_links() -> None:
    html = art('<ul><li><a href="https://other.ma/a-1.html">واحد</a></li><li><a href="/a-2.html">اثنان</a></li></ul>')
    assert "واحد" not in clean_fragment(html)
    # With the page's address, a list of links elsewhere is a list of sources: it stays.
    assert "واحد" in clean_fragment(
        art('<ul><li><a href="https://other.ma/a-1.html">واحد</a></li><li><a href="https://third.ma/b">اثنان</a></li></ul>'),
        page_url=URL)


@pytest.mark.parametrize("href,share", [
    ("https://www.facebook.com/sharer/sharer.php?u=x", True),
    ("https://m.facebook.com/sharer.php?u=x", True),
    ("https://www.facebook.com/dialog/share?app_id=1", True),
    ("https://twitter.com/intent/tweet?url=x", True),
    ("https://x.com/intent/post?url=x", True),
    ("https://twitter.com/share?url=x", True),
    ("https://api.whatsapp.com/send?text=x", True),
    ("https://wa.me/?text=x", True),
    ("whatsapp://send?text=x", True),
    ("https://t.me/share/url?url=x", True),
    ("https://www.linkedin.com/shareArticle?url=x", True),
    ("https://pinterest.com/pin/create/button/?url=x", True),
    ("mailto:?subject=x&body=y", True),
    ("https://www.site.ma/a-1.html?share=facebook", True),
    ("https://www.facebook.com/hespress", False),
    ("https://twitter.com/minister/status/123", False),
    ("https://t.me/site", False),
    ("mailto:contact@site.ma", False),
    ("https://www.site.ma/a-1.html?share=1", False),
    ("/a-1.html", False),
])
def test_share_endpoints(href: str, share: bool) -> None:
    assert is_share_href(href) is share


def test_real_article_sentences_all_stay() -> None:
    """Every sentence of the bundled sample's 257 real articles, each as its own paragraph
    (every other one with an in-sentence link to the site): nothing is taken for noise,
    except the wire-copy tails the sample adds on purpose ("اقرأ أيضا: …", the app line)."""
    from html import escape

    from crawler.snapshot.catalog import load_sample

    sentence_end = re.compile(r"(?<=[.!؟])\s+")
    total = 0
    for rec in load_sample():
        tails = set(rec.get("tails") or ())
        sentences = [s for p in rec["paragraphs"] if p not in tails for s in sentence_end.split(p) if s.strip()]
        parts = []
        for i, s in enumerate(sentences):
            w = s.split()
            if i % 2 and len(w) > 6:
                parts.append(f"<p>{escape(' '.join(w[:3]))} <a href=\"/x-{i}.html\">{escape(' '.join(w[3:5]))}</a> "
                             f"{escape(' '.join(w[5:]))}</p>")
            else:
                parts.append(f"<p>{escape(s)}</p>")
        root = lxml_html.fragment_fromstring("".join(parts), create_parent="div")
        remove_noise(root, page_url="https://www.site.ma/a-1.html", title=rec["title"])
        left = [" ".join(p.text_content().split()) for p in root]
        assert left == [" ".join(s.split()) for s in sentences], rec["title"]
        total += len(sentences)
    assert total > 2000

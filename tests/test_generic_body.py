"""The generic layer's body rules (spiders/generic_body.py) on small Arabic pages built to show
one rule each, through the real trafilatura: split article blocks joined, a next article or
an author box never joined, the headline not repeated, comments inside a paragraph harmless,
boilerplate lines out of text and HTML alike."""

from __future__ import annotations

from lxml import etree
from scrapy.http import HtmlResponse

from spiders.generic_body import add_continuations, trafilatura_body
from spiders.generic_fields import GenericFields

SENTENCES = [
    "أعلنت وزارة الصحة اليوم عن تسجيل تراجع ملحوظ في عدد الحالات الجديدة بعدد من جهات المملكة خلال الأسبوع الماضي.",
    "وأوضح بلاغ الوزارة أن نسبة التعافي ارتفعت بشكل واضح بفضل الإجراءات الوقائية التي اتخذتها السلطات المحلية.",
    "ودعت الوزارة المواطنين إلى مواصلة احترام التدابير الصحية وارتداء الكمامات في الفضاءات العمومية والمغلقة.",
    "وأشار المصدر ذاته إلى أن حملة التلقيح ستتواصل في جميع المراكز الصحية وفق البرنامج المسطر سلفا.",
    "وسجلت جهة الدار البيضاء سطات أكبر عدد من حالات الشفاء تليها جهة الرباط سلا القنيطرة ثم جهة فاس مكناس.",
    "وفي المقابل حذر خبراء من التراخي في تطبيق الإجراءات خلال فترة العطلة الصيفية التي تعرف تنقلات كثيفة.",
    "وختمت الوزارة بلاغها بالتأكيد على أن الوضعية الوبائية تبقى مستقرة لكنها تستدعي اليقظة والحذر.",
    "كما أعلنت عن تخصيص خط هاتفي للإجابة عن أسئلة المواطنين بخصوص التلقيح ومواعيده في مختلف المدن.",
]
TITLE = "تراجع عدد الحالات الجديدة في جهات المملكة"


def page(body: str, title: str = TITLE) -> bytes:
    return (
        '<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
        f'<title>{title} - جريدة تجريبية</title><meta property="og:title" content="{title}"></head>'
        '<body><nav><a href="/">الرئيسية</a> <a href="/s">مجتمع</a></nav>'
        f"<main><article>{body}</article></main>"
        '<footer><p>جميع الحقوق محفوظة للجريدة التجريبية 2025</p></footer></body></html>'
    ).encode()


def body_of(html: bytes) -> dict[str, str]:
    response = HtmlResponse(url="https://news.example.ma/a/1", body=html)
    return trafilatura_body(response.selector.root, response.url, response.text)


def chunk(sentences: list[str]) -> str:
    return '<div class="grid"><div class="body__container">' + "".join(f"<p>{s}</p>" for s in sentences) + \
        '</div><div class="grid__aside"></div></div>'


def test_article_split_into_sibling_blocks_is_joined() -> None:
    html = page(f"<h1>{TITLE}</h1>" + chunk(SENTENCES[:3]) + '<div class="ad-slot">إعلان</div>'
                + chunk(SENTENCES[3:6]) + '<div class="ad-slot">إعلان</div>' + chunk(SENTENCES[6:]))
    out = body_of(html)
    assert out["body_text"].split("\n\n") == SENTENCES
    for s in SENTENCES:
        assert s in out["body_html"]


def _kept(sentences: list[str]) -> etree._Element:
    """A body as trafilatura returns it, holding these paragraphs."""
    body = etree.Element("body")
    for s in sentences:
        etree.SubElement(body, "p").text = s
    return body


def test_next_article_and_author_box_are_not_joined() -> None:
    next_article = '<div class="grid"><div class="body__container"><h1>خبر آخر لا علاقة له</h1>' + \
        "".join(f"<p>{s} (خبر آخر)</p>" for s in SENTENCES[:3]) + "</div></div>"
    author = '<div class="grid"><div class="author-bio"><p>' + "صحافي متخصص في الشؤون الصحية " * 12 + \
        "</p></div></div>"
    links = '<div class="grid"><div class="body__container">' + "".join(
        f'<p><a href="/a/{i}">{s}</a></p>' for i, s in enumerate(SENTENCES[:3])) + "</div></div>"
    root = HtmlResponse(url="https://news.example.ma/a/1", body=page(
        f"<h1>{TITLE}</h1>" + chunk(SENTENCES[:4]) + author + next_article + links + chunk(SENTENCES[4:]))).selector.root
    body = _kept(SENTENCES[:4])
    assert add_continuations(body, root) == 4  # only the last chunk
    assert [p.text for p in body] == SENTENCES


def test_headline_is_not_repeated_and_comments_do_not_cut_paragraphs() -> None:
    first = SENTENCES[0].replace("تراجع ملحوظ", "تراجع<!-- --> ملحوظ")
    html = page(f'<div class="entry"><h1>{TITLE}</h1><p>{first}</p>'
                + "".join(f"<p>{s}</p>" for s in SENTENCES[1:]) + "</div>")
    paras = body_of(html)["body_text"].split("\n\n")
    assert paras[0] == SENTENCES[0]  # the text after the comment kept, the h1 not in the body
    assert TITLE not in body_of(html)["body_html"]


def test_boilerplate_lines_leave_text_and_html() -> None:
    html = page(f"<h1>{TITLE}</h1><div class=\"entry\">" + "".join(f"<p>{s}</p>" for s in SENTENCES[:4])
                + "<p>اقرأ أيضا: الحكومة تعلن عن إجراءات جديدة</p><p>حمّلوا تطبيق الجريدة على هواتفكم</p>"
                + "".join(f"<p>{s}</p>" for s in SENTENCES[4:]) + "</div>")
    out = body_of(html)
    assert out["body_text"].split("\n\n") == SENTENCES
    assert "اقرأ أيضا" not in out["body_html"] and "حمّلوا" not in out["body_html"]


def test_generic_layer_falls_back_to_the_density_pick_when_trafilatura_finds_nothing() -> None:
    # A lone short paragraph: too little for trafilatura, still the page's only text.
    html = page('<div class="entry"><p>خبر قصير.</p></div>', title="عنوان")
    fields = GenericFields(HtmlResponse(url="https://news.example.ma/a/2", body=html).selector)
    assert fields.get("body_text") == "خبر قصير."


def test_standfirst_heading_leaves_the_body_but_a_lead_paragraph_stays() -> None:
    dek = "الوزارة تدعو إلى مواصلة الحذر رغم تحسن المؤشرات الوبائية في معظم الجهات"
    paras = "".join(f"<p>{s}</p>" for s in SENTENCES)
    html = page(f'<div class="entry"><h1>{TITLE}</h1><h2 class="sub-head">{dek}</h2>{paras}</div>')
    html = html.replace(b"</head>", f'<meta property="og:description" content="{dek}"></head>'.encode())
    out = body_of(html)
    assert out["body_text"].split("\n\n") == SENTENCES and dek not in out["body_html"]
    # the same description as the article's first paragraph is the lead: kept
    html = page(f'<h1>{TITLE}</h1><div class="entry">{paras}</div>')
    html = html.replace(b"</head>", f'<meta property="og:description" content="{SENTENCES[0]}"></head>'.encode())
    assert body_of(html)["body_text"].split("\n\n") == SENTENCES

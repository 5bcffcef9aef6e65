"""Property tests (hypothesis) on the code that reads the outside world: the Arabic
normaliser, URL folding (the archive's key), extraction of random and hostile HTML by
every page object, and the date parser on long adversarial text. None of them may raise
on any input or hang: each call runs under `bounded`, an interval timer that interrupts
a runaway call (hypothesis' own deadline cannot: it only measures calls that return)."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.arabic import DELETED_CLASS, fold_digits, normalize, tokens
from crawler.archive.canonical import _is_tracking, article_key, fold_url

T = TypeVar("T")
HANG_S = 20.0
"""Far above any honest call (milliseconds); only a runaway loop or regex reaches it."""

FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HTML = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"no answer after {seconds}s: a hang")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def bounded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with _alarm(HANG_S):
        return fn(*args, **kwargs)


# --- the Arabic normaliser -----------------------------------------------------------

ARABIC_LETTERS = [chr(c) for c in range(0x0621, 0x064B)] + ["ی", "ک", "ٱ"]
DIACRITICS = [chr(c) for c in range(0x064B, 0x0653)] + ["\u0670", "\u0640"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\ufeff"]
arabic_words = st.lists(st.text(alphabet=st.sampled_from(ARABIC_LETTERS + list("0123456789٠١٢٣٤٥٦٧٨٩")), min_size=1, max_size=8),
                        min_size=1, max_size=12)
# Any text at all, with Arabic, marks, joiners and whitespace over-represented.
any_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(ARABIC_LETTERS + DIACRITICS + INVISIBLE + list(" \t\n\u00a0،؛؟«»İẞΣ")), max_size=200),
)


@FAST
@given(any_text)
def test_normalize_never_raises_is_idempotent_and_bounded(text: str) -> None:
    out = bounded(normalize, text)
    assert isinstance(out, str)
    assert bounded(normalize, out) == out
    assert len(out) <= len(text.lower())
    assert out == out.strip() and "  " not in out
    assert not re.search(f"[{DELETED_CLASS}٠-٩۰-۹أإآٱؤئىة]", out)
    for tok in bounded(tokens, text):
        assert tok in out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arabic_words, st.data())
def test_diacritics_joiners_and_digit_forms_never_change_what_is_matched(words: list[str], data: st.DataObject) -> None:
    plain = " ".join(words)
    noisy = []
    for ch in plain:
        noisy.append(ch)
        if ch != " ":
            noisy.extend(data.draw(st.lists(st.sampled_from(DIACRITICS + INVISIBLE), max_size=2)))
    assert normalize("".join(noisy)) == normalize(plain)
    assert normalize(fold_digits(plain)) == normalize(plain)
    assert tokens("".join(noisy)) == tokens(plain)


# --- URL folding -----------------------------------------------------------------------

hosts = st.sampled_from(["hespress.com", "le12.ma", "ar.hibapress.com", "news.example.ma", "x.co"])
slug_chars = st.sampled_from(list("abcxyz0123-_.~") + ARABIC_LETTERS[:10])
slugs = st.lists(st.text(alphabet=slug_chars, min_size=1, max_size=10), min_size=1, max_size=4)
params = st.lists(st.tuples(st.sampled_from(["p", "id", "page", "q", "lang"]), st.text(alphabet=slug_chars, max_size=6)),
                  max_size=3, unique_by=lambda kv: kv[0])
tracking = st.lists(st.tuples(st.sampled_from(["utm_source", "UTM_Medium", "fbclid", "gclid", "amp", "ref", "pk_kwd", "at_x", "_ga"]),
                              st.text(alphabet=slug_chars, max_size=6)), max_size=3)
hostile_urls = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(["http://", "https://", "//", "javascript:", "data:text/html,", "HTTP://", "[", "]", "[::1]",
                              ":", ":80", ":abc", ":99999", "@", "www.", "amp.", "m.", ".", "/", "//", "/amp", ".amp",
                              "?", "#", "&", "=", "%", "%25", "%3F", "%23", "%2F", "%20", "%0A", "%ZZ", "%D8%A7", " ",
                              "\t", "\n", "\u00a0", "\x00", "utm_source=x", "a", "ك", "ﬀ", "\u2100", "\uff03"]),
             max_size=20).map("".join),
)


@FAST
@given(hostile_urls)
def test_fold_url_never_raises_and_a_key_folds_to_itself(url: str) -> None:
    key = bounded(fold_url, url)
    assert isinstance(key, str)
    assert bounded(fold_url, key) == key, (url, key)
    assert bounded(article_key, url, url) == key
    assert isinstance(bounded(article_key, "https://le12.ma/a", url), str)
    if "?" in key:
        names = [k for k, _ in parse_qsl(key.split("?", 1)[1], keep_blank_values=True)]
        assert not any(_is_tracking(n) for n in names), key


@FAST
@given(hosts, slugs, params, tracking, st.data())
def test_every_spelling_of_an_article_url_folds_to_one_key(host: str, path: list[str], query: list[tuple[str, str]],
                                                           junk: list[tuple[str, str]], data: st.DataObject) -> None:
    plain_path = "/" + "/".join(path)
    qs = "&".join(f"{quote(k)}={quote(v)}" for k, v in query)
    plain = f"https://{host}{plain_path}" + (f"?{qs}" if qs else "")
    mixed = query + junk
    mixed = data.draw(st.permutations(mixed)) if mixed else mixed
    variant_qs = "&".join(f"{quote(k)}={quote(v)}" for k, v in mixed)
    scheme = data.draw(st.sampled_from(["http", "https", "HTTPS"]))
    prefix = data.draw(st.sampled_from(["", "www.", "amp.", "m."])) if host.count(".") == 1 else ""
    encoded = quote(plain_path) if data.draw(st.booleans()) else plain_path
    amp = data.draw(st.sampled_from(["", "/amp"]))
    slash = data.draw(st.sampled_from(["", "/"]))
    fragment = data.draw(st.sampled_from(["", "#comments", "#"]))
    variant = f"{scheme}://{prefix}{host.upper() if data.draw(st.booleans()) else host}{encoded}{amp}{slash}" \
              + (f"?{variant_qs}" if variant_qs else "") + fragment
    assert fold_url(variant) == fold_url(plain), (variant, plain)
    # ...and keys of different articles stay different.
    assert fold_url(plain + "x") != fold_url(plain) or plain.endswith(("/", "."))


def test_hostile_canonical_urls_never_become_the_key() -> None:
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>", "vbscript:x", "mailto:a@b.c"):
        assert article_key("https://le12.ma/a.html", bad) == fold_url("https://le12.ma/a.html")
    assert article_key("https://le12.ma/a.html", "https://le12.ma/b.html") == "//le12.ma/b.html"
    assert fold_url("http://[::1]:8080/a/") == "//[::1]:8080/a"  # IPv6 hosts keep their brackets
    # A decoded "%41" must not decode again when the key is read back.
    assert fold_url("https://le12.ma/a%2541?b=%26") == "//le12.ma/a%2541?b=%26"


# --- extraction of random and hostile HTML -------------------------------------------------

WORDS = ["قال", "الوزير", "إن", "الحكومة", "المغرب", "2025", "١٦-٠٧-٢٠٢٥", "منذ 3 ساعات", "اقرأ أيضا", "شارك",
         "<", ">", "&", "&amp;", "&#0;", "&#xD800;", "\x00", "\x0b", "\ufeff", "\u202e", "\ud800", "]]>", "</", "\"", "'"]
TAGS = ["p", "div", "article", "main", "section", "h1", "h2", "span", "a", "img", "time", "ul", "li", "table", "td",
        "br", "script", "style", "noscript", "template", "svg", "math", "iframe", "form", "figure", "aside", "footer",
        "nav", "header", "strong", "body", "head", "html", "title", "meta", "link", "b", "i"]
ATTRS = ["class", "id", "href", "src", "data-src", "datetime", "rel", "property", "name", "content", "itemprop",
         "role", "type", "lang", "onclick", "style"]
ATTR_VALUES = ["share", "related-posts", "post-content", "entry-content", "author", "date", "cover", "og:title",
               "og:image", "article:published_time", "canonical", "tag", "category", "javascript:alert(1)",
               "data:image/png;base64,xx", "//cdn.example/x.jpg", "http://[bad", "https://le12.ma/a?p=5", "", "\x00",
               "application/ld+json", "2025-07-16T12:00:00+01:00", "منذ يومين", "x" * 300]

text_bits = st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
attrs = st.lists(st.tuples(st.sampled_from(ATTRS), st.one_of(st.sampled_from(ATTR_VALUES), st.text(max_size=10))), max_size=3)


def _element(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    def render(tag: str, at: list[tuple[str, str]], kids: list[str], close: bool) -> str:
        a = "".join(f' {k}="{v.replace(chr(34), "&quot;")}"' for k, v in at)
        return f"<{tag}{a}>{''.join(kids)}" + (f"</{tag}>" if close else "")

    return st.builds(render, st.sampled_from(TAGS), attrs, children, st.booleans())


markup = st.recursive(text_bits, lambda inner: _element(st.lists(inner, max_size=5)), max_leaves=40)

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
              st.sampled_from(["NewsArticle", "https://le12.ma/a", "2025-07-16T12:00:00Z", "@graph"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["@type", "@id", "@graph", "headline", "articleBody", "author",
                                                             "name", "image", "url", "datePublished", "dateModified",
                                                             "keywords", "articleSection", "mainEntityOfPage",
                                                             "description", "inLanguage", "thumbnailUrl", "contentUrl"]),
                                            inner, max_size=6)),
    max_leaves=25,
)
jsonld = json_values.map(lambda v: json.dumps(v, ensure_ascii=False)) | st.sampled_from(["{", "{\"@type\": ", "[]", "\x00{}"])


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    head = "".join(draw(st.lists(st.one_of(
        st.builds(lambda p, c: f'<meta property="{p}" content="{c}">',
                  st.sampled_from(["og:title", "og:description", "og:image", "og:url", "article:published_time",
                                   "article:section", "article:tag", "article:author", "description"]),
                  st.one_of(st.sampled_from(ATTR_VALUES), st.text(max_size=20).map(lambda s: s.replace('"', "")))),
        st.builds(lambda j: f'<script type="application/ld+json">{j}</script>', jsonld),
        st.just('<link rel="canonical" href="javascript:alert(1)">'),
        st.just('<link rel="shortlink" href="https://le12.ma/?p=123">'),
    ), max_size=5)))
    body = "".join(draw(st.lists(markup, max_size=8)))
    doc = f"<!DOCTYPE html><html lang=\"ar\"><head><meta charset=\"utf-8\">{head}</head><body>{body}</body></html>"
    if draw(st.booleans()):  # cut anywhere: a truncated download
        doc = doc[: draw(st.integers(0, len(doc)))]
    encoding = draw(st.sampled_from(["utf-8", "windows-1256", "utf-16"]))
    return doc.encode(encoding, errors="replace") if encoding != "utf-8" else doc.encode("utf-8", errors="surrogatepass")


def _page_classes() -> list[type]:
    from spiders.belpresse import BelpresseArticlePage
    from spiders.hespress import HespressArticlePage
    from spiders.hibapress import HibapressArticlePage
    from spiders.le12 import Le12ArticlePage
    from spiders.rue20 import Rue20ArticlePage
    from spiders.wordpress import WordPressArticlePage

    return [HespressArticlePage, HibapressArticlePage, Le12ArticlePage, Rue20ArticlePage, BelpresseArticlePage,
            WordPressArticlePage]


PAGE_CLASSES = _page_classes()


@HTML
@given(pages(), st.sampled_from(PAGE_CLASSES), st.sampled_from(["text/html", "text/html; charset=windows-1256", "text/html; charset=utf-8"]))
def test_page_objects_extract_any_html_without_raising(body: bytes, page_cls: type, ctype: str) -> None:
    from crawler.items import Article

    page = page_cls.from_bytes("https://le12.ma/2025/07/a.html", body, headers={"Content-Type": ctype})
    article = bounded(page.to_article, "le12")
    assert isinstance(article, Article)
    for name in ("url", "canonical_url", "image_url"):
        value = getattr(article, name)
        assert value is None or isinstance(value, str)
    for name in ("title", "body_text", "summary", "author", "section_raw"):
        value = getattr(article, name)
        assert value is None or (isinstance(value, str) and value == value.strip())
    assert isinstance(article.tags, list) and all(isinstance(t, str) for t in article.tags)
    if article.image_url:
        assert not article.image_url.lower().startswith(("data:", "javascript:"))


@HTML
@given(st.lists(markup, min_size=1, max_size=10).map("".join))
def test_site_independent_extractors_take_any_fragment(fragment: str) -> None:
    from parsel import Selector

    from spiders.extract import extract_jsonld, extract_meta
    from spiders.generic_fields import extract_generic

    # Text decoded from a response never holds lone surrogates (bytes decode with replacement).
    sel = Selector(text=fragment.encode("utf-8", "replace").decode("utf-8") or "<p></p>")
    for extractor in (extract_jsonld, extract_meta, extract_generic):
        fields = bounded(extractor, sel)
        assert isinstance(fields, dict)


@HTML
@given(jsonld)
def test_jsonld_of_any_shape_is_read_or_ignored(block: str) -> None:
    from parsel import Selector

    from spiders.extract import extract_jsonld

    block = block.encode("utf-8", "replace").decode("utf-8")
    sel = Selector(text=f'<html><head><script type="application/ld+json">{block}</script></head><body></body></html>')
    fields = bounded(extract_jsonld, sel)
    for key in ("title", "summary", "body_text", "author", "section_raw", "image_url", "canonical_url"):
        assert key not in fields or isinstance(fields[key], str), (key, fields)


@pytest.mark.parametrize("size", [2_000, 20_000])
def test_pathological_pages_finish(size: int) -> None:
    """Shapes that make naive regexes and tree walks blow up: deep nesting, endless
    attributes, one huge text node, thousands of tiny paragraphs."""
    from spiders.le12 import Le12ArticlePage

    shapes = [
        "<div>" * size + "نص" + "</div>" * size,
        "<p " + " ".join(f'class{i}="share"' for i in range(size // 10)) + ">نص</p>",
        "<p>" + "منذ " * size + "</p>",
        "".join(f"<p>فقرة {i} اقرأ أيضا</p>" for i in range(size // 4)),
        "<time>" + "١" * size + "-٠٧-٢٠٢٥</time>" + "<a href='" + "%" * size + "'>x</a>",
    ]
    for shape in shapes:
        body = f"<html><body><article><h1>عنوان</h1>{shape}</article></body></html>".encode()
        page = Le12ArticlePage.from_bytes("https://le12.ma/a.html", body, headers={"Content-Type": "text/html"})
        bounded(page.to_article, "le12")


# --- dates: long adversarial text -------------------------------------------------------

DATE_TOKENS = ["منذ", "قبل", "أمس", "الساعة", "يوليوز", "تموز/يوليو", "كانون الثاني", "رمضان", "هـ", "الموافق",
               "صباحا", "مساء", "-", "/", ".", ":", "|", "،", "T", "Z", "+01:00", "GMT", "٠", "١٢", "2025", "16", "99999999"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(DATE_TOKENS), st.integers(0, 10**12).map(str), st.text(max_size=5)),
                min_size=50, max_size=400))
def test_date_parser_never_raises_or_hangs_on_long_date_like_text(tokens_: list[str]) -> None:
    from pipelines.dates import parse_date

    text = " ".join(tokens_)
    got = bounded(parse_date, text)
    assert got is None or got.value.tzinfo is not None
    got = bounded(parse_date, text.replace(" ", ""))  # glued, as labels glue to dates
    assert got is None or got.value.tzinfo is not None


# --- the sanitisers behind every output ---------------------------------------------------

def _corpus_pieces() -> list[str]:
    from tests.test_xss import CORPUS, payload

    return [payload(p) for p in CORPUS]


hostile_markup = st.lists(st.one_of(markup, st.sampled_from(_corpus_pieces())), min_size=1, max_size=6).map("".join)


@HTML
@given(hostile_markup)
def test_sanitised_html_is_safe_and_stable(fragment: str) -> None:
    from feeds.build import plain_text, safe_url, sanitize_html
    from tests.test_xss import FORBIDDEN_TAGS, audit

    clean = bounded(sanitize_html, fragment)
    a = audit(clean)
    assert not [t for t, _ in a.tags if t in FORBIDDEN_TAGS] and not a.problems, (fragment, clean)
    # Read back and cleaned again (a reader that sanitises too) it stays safe. Not always
    # byte-equal: html5ever may serialise a tree its parser would not build (<h1><h1>).
    again = audit(sanitize_html(clean))
    assert not [t for t, _ in again.tags if t in FORBIDDEN_TAGS] and not again.problems
    text = bounded(plain_text, fragment)
    assert not audit(text).tags, (fragment, text)
    assert plain_text(text) == text
    for url in re.findall(r"(?:href|src)=\"([^\"]*)\"", fragment) + [fragment]:
        out = safe_url(url)
        assert out == "" or (out.startswith(("http://", "https://")) and not re.search(r"[\s\"'<>`]", out))

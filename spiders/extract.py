"""Site-independent extractors: JSON-LD, OpenGraph / ``article:*`` meta, generic markup.

Each extractor reads a parsel `Selector` over an article page and returns a partial
field dict (keys are `Article` field names, only the fields it found). The page object
(`spiders.page`) merges them in precedence order. Body cleaning (boilerplate removal,
HTML → paragraphs) lives here too because the site selectors and the generic extractor
both need it.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

from lxml import etree
from parsel import Selector

from crawler.arabic import normalize

logger = logging.getLogger(__name__)

Fields = dict[str, Any]

ARTICLE_TYPES = {
    "newsarticle",
    "article",
    "blogposting",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "backgroundnewsarticle",
    "liveblogposting",
}

_WS = re.compile(r"\s+")


def clean_text(text: str | None) -> str | None:
    """Whitespace-collapsed text, or None when nothing is left."""
    if text is None:
        return None
    out = _WS.sub(" ", text.replace("\u00a0", " ")).strip()
    return out or None


def first(values: Iterable[str | None]) -> str | None:
    for v in values:
        v = clean_text(v)
        if v:
            return v
    return None


# --------------------------------------------------------------------------- JSON-LD


def _jsonld_objects(sel: Selector) -> Iterator[dict[str, Any]]:
    for raw in sel.css('script[type="application/ld+json"]::text').getall():
        raw = raw.strip().rstrip(";")
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            # Themes sometimes emit raw control characters inside strings.
            try:
                data = json.loads(re.sub(r"[\x00-\x1f]", " ", raw))
            except json.JSONDecodeError:
                logger.debug("unparseable JSON-LD block skipped")
                continue
            except RecursionError:  # hostile nesting ([[[[...) is not metadata
                logger.warning("JSON-LD block nested too deep; skipped")
                continue
        except RecursionError:
            logger.warning("JSON-LD block nested too deep; skipped")
            continue
        stack = [data]
        while stack:
            obj = stack.pop(0)
            if isinstance(obj, list):
                stack.extend(obj)
            elif isinstance(obj, dict):
                yield obj
                if "@graph" in obj:
                    stack.extend(obj["@graph"] if isinstance(obj["@graph"], list) else [obj["@graph"]])


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return {t.lower()}
    if isinstance(t, list):
        return {str(x).lower() for x in t}
    return set()


def _names(value: Any, index: dict[str, dict[str, Any]]) -> list[str]:
    """Names from a schema.org Person/Organization value (str, dict, @id ref, list)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [n for v in value for n in _names(v, index)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        if "name" not in value and value.get("@id") in index:
            value = index[value["@id"]]
        name = value.get("name")
        if isinstance(name, str):
            return [name]
    return []


def _url_of(value: Any, index: dict[str, dict[str, Any]]) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for v in value:
            u = _url_of(v, index)
            if u:
                return u
        return None
    if isinstance(value, dict):
        if "url" not in value and "contentUrl" not in value and value.get("@id") in index:
            value = index[value["@id"]]
        u = value.get("url") or value.get("contentUrl")
        return u if isinstance(u, str) else None
    return None


def extract_jsonld(sel: Selector) -> Fields:
    """Fields from the page's first schema.org article object (Yoast ``@graph`` included)."""
    objects = list(_jsonld_objects(sel))
    index = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str)}
    article = next((o for o in objects if _types(o) & ARTICLE_TYPES), None)
    if article is None:
        return {}
    out: Fields = {}
    if isinstance(article.get("headline"), str):
        out["title"] = clean_text(article["headline"])
    if isinstance(article.get("description"), str):
        out["summary"] = clean_text(article["description"])
    if isinstance(article.get("articleBody"), str):
        paras = [clean_text(p) for p in re.split(r"\n\s*\n|\r?\n", article["articleBody"])]
        text = "\n\n".join(p for p in paras if p)
        if text:
            out["body_text"] = text
    authors = [n for n in (clean_text(x) for x in _names(article.get("author"), index)) if n]
    if authors:
        out["author"] = "، ".join(dict.fromkeys(authors))
    section = article.get("articleSection")
    if isinstance(section, list):
        section = next((s for s in section if isinstance(s, str) and s.strip()), None)
    if isinstance(section, str) and section.strip():
        out["section_raw"] = clean_text(section)
    keywords = article.get("keywords")
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    if isinstance(keywords, list):
        tags = [t for t in (clean_text(str(k)) for k in keywords) if t]
        if tags:
            out["tags"] = list(dict.fromkeys(tags))
    image = _url_of(article.get("image") or article.get("thumbnailUrl"), index)
    if image:
        out["image_url"] = image
    for key, field in (("datePublished", "date_published_raw"), ("dateModified", "date_modified_raw")):
        if isinstance(article.get(key), str) and article[key].strip():
            out[field] = article[key].strip()
    url = article.get("url") or _url_of(article.get("mainEntityOfPage"), index)
    if not url and isinstance(article.get("mainEntityOfPage"), dict):
        url = article["mainEntityOfPage"].get("@id")
    if isinstance(url, str) and url.startswith("http"):
        out["canonical_url"] = url
    if isinstance(article.get("inLanguage"), str):
        out["language"] = article["inLanguage"]
    return {k: v for k, v in out.items() if v}


# --------------------------------------------------------------------------- meta


def _meta_index(sel: Selector) -> dict[str, list[str]]:
    """Every ``<meta content>`` by its property and its name, in document order: one pass
    over the page instead of one XPath search of the whole document per key."""
    index: dict[str, list[str]] = {}
    for node in sel.xpath("//meta[@content]"):
        attrs = node.root.attrib
        content = attrs["content"]
        for key in dict.fromkeys((attrs.get("property"), attrs.get("name"))):
            if key is not None:
                index.setdefault(key, []).append(content)
    return index


def wordpress_id(sel: Selector) -> str | None:
    """The WordPress post id from the shortlink, ``postid-N`` body class or ``post-N`` article id."""
    for href in sel.css('link[rel="shortlink"]::attr(href)').getall():
        q = parse_qs(urlparse(href).query)
        if q.get("p", [""])[0].isdigit():
            return q["p"][0]
    for cls in sel.xpath("//body/@class").getall():
        m = re.search(r"\bpostid-(\d+)\b", cls)
        if m:
            return m.group(1)
    for aid in sel.xpath("//article/@id").getall():
        m = re.fullmatch(r"post-(\d+)", aid)
        if m:
            return m.group(1)
    return None


def extract_meta(sel: Selector) -> Fields:
    """OpenGraph, ``article:*``, standard meta tags, canonical link, WordPress id, ``lang``."""
    index = _meta_index(sel)

    def meta(key: str) -> list[str]:
        return index.get(key, [])

    out: Fields = {
        "title": first(meta("og:title") + meta("twitter:title")),
        "summary": first(meta("og:description") + meta("description")),
        "image_url": first(meta("og:image") + meta("og:image:url") + meta("twitter:image")),
        "date_published_raw": first(meta("article:published_time") + meta("og:published_time")),
        "date_modified_raw": first(meta("article:modified_time") + meta("og:updated_time")),
        "section_raw": first(meta("article:section")),
        "author": first(
            a for a in meta("article:author") + meta("author") if not a.startswith("http")
        ),
        "canonical_url": first(sel.css('link[rel="canonical"]::attr(href)').getall() + meta("og:url")),
        "site_article_id": wordpress_id(sel),
        "language": first(sel.xpath("/html/@lang").getall()),
    }
    tags = [t for t in (clean_text(x) for x in meta("article:tag")) if t]
    if tags:
        out["tags"] = list(dict.fromkeys(tags))
    return {k: v for k, v in out.items() if v}


# --------------------------------------------------------------------------- body cleaning

BLOCK_TAGS = {
    "p", "div", "section", "article", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4",
    "h5", "h6", "pre", "table", "tr", "figure", "figcaption", "header", "footer", "aside", "br",
    "dl", "dt", "dd", "hr", "main",
}
# Elements that never carry article text.
DROP_TAGS = {"script", "style", "noscript", "form", "button", "ins", "iframe", "nav", "aside",
             "footer", "svg", "input", "select", "textarea", "template"}
# class/id tokens (split on - _ and spaces) that mark boilerplate blocks.
BOILERPLATE_TOKENS = {
    "share", "shares", "sharing", "sharer", "social", "socials", "related", "relatedposts",
    "readalso", "read-also", "ad", "ads", "adv", "advert", "advertisement", "adsense", "adslot",
    "banner", "newsletter", "subscribe", "app", "apps", "download", "promo", "sponsor",
    "sponsored", "widget", "sidebar", "comments", "comment", "breadcrumb", "breadcrumbs",
    "tags", "tagcloud", "footer", "print", "whatsapp", "facebook", "twitter", "telegram",
    "yarpp", "jp-relatedposts", "mailpoet", "outbrain", "taboola",
}
# Boilerplate lines are short; a long paragraph opening with "شاهد أيضا" is article text.
BOILERPLATE_MAX_LEN = 250
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")
# Normalised (crawler.arabic.normalize) text openings of boilerplate paragraphs and headings.
BOILERPLATE_TEXT = (
    re.compile(r"^(اقرا|اقروا|طالع|شاهد) (ايضا|كذلك|المزيد)"),
    re.compile(r"^(ذات صله|مواضيع ذات صله|اخبار ذات صله|مقالات ذات صله)"),
    re.compile(r"^(حمل|حملوا|لتحميل|نزل|نزلوا|قم بتحميل) (تطبيق|التطبيق)"),
    re.compile(r"^(تابعوا|تابعونا) .{0,40}(علي|عبر) (تطبيق|واتساب|تلغرام|فيسبوك|جوجل|غوغل|قناه|صفحه|حساب)"),
    re.compile(r"^(اشترك|اشتركوا|سجل) .{0,30}(النشره|نشرتنا|القائمه البريديه)"),
    re.compile(r"^(شارك|شاركوا|مشاركه) (هذا|المقال|الخبر|علي)"),
    re.compile(r"^الخبر .+ ظهر اولا علي "),
    re.compile(r"^(اعلان|إعلان|advertisement)$"),
)


def _is_boilerplate_attr(el: etree._Element) -> bool:
    attrs = " ".join(filter(None, (el.get("class"), el.get("id"), el.get("role"))))
    if not attrs:
        return False
    lowered = attrs.lower()
    if lowered.strip() in {"complementary", "navigation"}:
        return True
    tokens = set(_TOKEN_SPLIT.split(lowered))
    return bool(tokens & BOILERPLATE_TOKENS) or any(t in lowered for t in ("jp-relatedposts", "sharedaddy", "addtoany"))


def is_boilerplate_text(text: str | None) -> bool:
    if not text:
        return False
    norm = normalize(text).strip(" :-–—|»«\"'.")
    return any(p.search(norm) for p in BOILERPLATE_TEXT)


def is_boilerplate_paragraph(text: str | None) -> bool:
    """A paragraph to drop: short and opening like boilerplate. A long paragraph that
    happens to open with "read also" is article text that quotes the phrase."""
    return bool(text) and len(text or "") <= BOILERPLATE_MAX_LEN and is_boilerplate_text(text)


# lxml's HTML parser keeps characters its setters refuse (C0 controls, lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def remove_element(el: etree._Element) -> None:
    """Remove `el`, keeping its tail text in the parent's flow."""
    parent = el.getparent()
    if parent is None:
        return
    # Keep the tail text (it belongs to the parent's flow).
    if el.tail and el.tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = _NOT_XML.sub("", (prev.tail or "") + el.tail)
        else:
            parent.text = _NOT_XML.sub("", (parent.text or "") + el.tail)
    parent.remove(el)


def clean_body(el: etree._Element, extra_boilerplate: Iterable[str] = ()) -> etree._Element:
    """A copy of `el` with boilerplate blocks removed (the input is left untouched)."""
    root = copy.deepcopy(el)
    root.tail = None
    for css in extra_boilerplate:
        for bad in root.cssselect(css) if hasattr(root, "cssselect") else []:
            if bad is not root:
                remove_element(bad)
    for bad in [e for e in root.iter() if isinstance(e.tag, str) and e is not root
                and (e.tag in DROP_TAGS or _is_boilerplate_attr(e))]:
        if bad.getparent() is not None:
            remove_element(bad)
    for c in [e for e in root.iter() if not isinstance(e.tag, str)]:  # comments, PIs
        remove_element(c)
    # Text-marked boilerplate: a "read also" heading takes the link list after it.
    for block in [e for e in root.iter() if isinstance(e.tag, str) and e is not root
                  and e.tag in {"p", "h2", "h3", "h4", "h5", "h6", "div", "li", "strong", "span", "section"}]:
        if block.getparent() is None:
            continue
        text = block.text_content()
        if not is_boilerplate_paragraph(text):
            continue
        # Climb to the outermost ancestor below root whose text is this boilerplate only.
        target = block
        while target.getparent() is not None and target.getparent() is not root and \
                clean_text(target.getparent().text_content()) == clean_text(text):
            target = target.getparent()
        nxt = target.getnext()
        if nxt is not None and nxt.tag in {"ul", "ol"} and len(nxt.cssselect("a")) >= 1:
            remove_element(nxt)
        remove_element(target)
    return root


def paragraphs(el: etree._Element) -> list[str]:
    """Text of `el` split at block boundaries, whitespace-collapsed, empties dropped."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if not isinstance(node.tag, str):
            if node.tail:
                parts.append(node.tail)
            return
        block = node.tag in BLOCK_TAGS
        if block:
            parts.append("\x00")
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if block:
            parts.append("\x00")
        if node.tail:
            parts.append(node.tail)

    walk_root = el
    if walk_root.text:
        parts.append(walk_root.text)
    for child in walk_root:
        walk(child)
    out = []
    for chunk in "".join(parts).split("\x00"):
        t = clean_text(chunk)
        if t and not is_boilerplate_paragraph(t):
            out.append(t)
    return out


def inner_html(el: etree._Element) -> str:
    out = [el.text or ""]
    for child in el:
        out.append(etree.tostring(child, encoding="unicode", method="html"))
    return "".join(out).strip()


def body_fields(el: etree._Element, extra_boilerplate: Iterable[str] = ()) -> Fields:
    cleaned = clean_body(el, extra_boilerplate)
    paras = paragraphs(cleaned)
    if not paras:
        return {}
    return {"body_html": inner_html(cleaned), "body_text": "\n\n".join(paras)}


# --------------------------------------------------------------------------- generic

# Arabic dates as printed: "16 يوليو 2025", "الأربعاء 16 تموز/يوليو 2025", "١٦-٠٧-٢٠٢٥", "منذ 3 ساعات".
_DIGIT = r"[0-9\u0660-\u0669\u06f0-\u06f9]"
DATE_TEXT = re.compile(
    rf"(?:(?:{_DIGIT}{{1,2}}\s+[\u0621-\u064a/]+(?:\s+[\u0621-\u064a/]+){{0,2}}\s+{_DIGIT}{{4}})"
    rf"|(?:{_DIGIT}{{1,4}}[-/.]{_DIGIT}{{1,2}}[-/.]{_DIGIT}{{2,4}})"
    rf"|(?:منذ\s+\S+(?:\s+\S+)?))"
)


_TIME = re.compile(rf"{_DIGIT}{{1,2}}:{_DIGIT}{{2}}")


def _generic_image(sel: Selector, content: etree._Element | None) -> str | None:
    """The lead image: a cover/featured/thumbnail wrapper's img, else the content's first img."""
    for img in sel.xpath(
        "//*[contains(@class,'cover') or contains(@class,'featured') or contains(@class,'thumbnail')"
        " or contains(@class,'post-image')][not(ancestor::footer)]/descendant-or-self::img"
    ):
        src = img.attrib.get("data-src") or img.attrib.get("src")
        if src and not src.startswith("data:"):
            return src
    if content is not None:
        for img in content.iter("img"):
            if any(_is_boilerplate_attr(a) for a in img.iterancestors()):
                continue
            src = img.get("data-src") or img.get("src")
            if src and not src.startswith("data:"):
                return src
    return None


def _link_density(el: etree._Element) -> float:
    text = len(el.text_content() or "")
    if not text:
        return 1.0
    links = sum(len(a.text_content() or "") for a in el.iter("a"))
    return links / text


def best_content_element(root: etree._Element) -> etree._Element | None:
    """The element holding most paragraph text (a small readability-style score)."""
    scores: dict[etree._Element, float] = {}
    for p in root.iter("p"):
        if any(_is_boilerplate_attr(a) or a.tag in DROP_TAGS for a in p.iterancestors()):
            continue
        text = clean_text(p.text_content()) or ""
        if len(text) < 25 or is_boilerplate_text(text):
            continue
        parent = p.getparent()
        if parent is None:
            continue
        score = len(text) * (1 - _link_density(p))
        scores[parent] = scores.get(parent, 0) + score
        grand = parent.getparent()
        if grand is not None and grand.tag not in {"body", "html"}:
            scores[grand] = scores.get(grand, 0) + score / 2
    if not scores:
        return None
    return max(scores, key=scores.__getitem__)


_WEB_SCHEMES = ("http", "https")


def absolute(base: str, url: str | None) -> str | None:
    """`url` resolved against `base` when the result is a web address; None for
    ``data:``, ``javascript:`` and other schemes, and for URLs that cannot be parsed."""
    if not url:
        return None
    url = url.strip()
    try:
        resolved = urljoin(base, url)
        scheme = urlparse(resolved).scheme.lower()
    except ValueError:  # "http://[bad": an unbalanced IPv6 bracket
        return None
    return resolved if scheme in _WEB_SCHEMES else None

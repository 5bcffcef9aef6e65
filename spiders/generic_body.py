"""The generic layer's article body: trafilatura's main-content extraction, Akhbar's rules
around it, and the old paragraph-density pick as the fallback (docs/extraction.md).

Why a library: on 91 real article pages from many sites (the scrapinghub article-extraction
benchmark's development half, ``bench/extract.py --dev``) the in-house readability-style
pick scored body F1 0.72 where trafilatura's ``extract()`` scores 0.961; trafilatura's
rules (text and link density per block, paragraph structure, boilerplate by tag/attribute,
a readability and jusText comparison when its own pass looks thin) are years of tuning over
many languages, Arabic included. Around it, each rule measured on that set: the fast pass
first and the full comparison only for short bodies, a balanced retry for thin ones, the
headline and standfirst not repeated, split article blocks joined, Akhbar's Arabic
boilerplate lines out. Result: F1 0.982 in about 0.9x the time of trafilatura's own
``extract()`` on the same pages.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from spiders.extract import (
    Fields,
    clean_text,
    inner_html,
    is_boilerplate_paragraph,
)
from spiders.extract import _is_boilerplate_attr as is_boilerplate_block  # class/id/role tokens

logger = logging.getLogger(__name__)

# What trafilatura keeps: paragraphs, headings, lists, quotes, tables; no images (the image
# has its own field), no comments (reader comments are not the article).
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "favor_precision": True,
    "with_metadata": False,
    "deduplicate": False,
}


# The passes, cheapest first. trafilatura's fast mode skips its comparison with readability
# and jusText, which costs as much as the main pass; a body that comes out short is where
# the main pass may have picked the wrong block, so only there is the comparison paid for.
# On the dev set the fast pass alone decides 80 of 91 pages with no loss of F1.
SHORT_BODY_CHARS = 1000
# A precise pass that keeps less than this much text has probably picked a notice or a
# caption block instead of the article: a balanced pass is tried too, and kept when it finds
# at least this much.
THIN_BODY_CHARS = 500
_WORD = re.compile(r"\w+")


def _key(text: str | None) -> str:
    """Text compared as the metric sees it: lowercased word tokens."""
    return " ".join(_WORD.findall((text or "").lower()))


@dataclass(frozen=True)
class LeadKeys:
    """What a body must not open with, as `_key` strings."""

    headlines: frozenset[str]
    """The headline as printed (``h1``), announced (``og:title``) and in ``<title>``."""
    summaries: frozenset[str]
    """The page's description (``og:description``, ``description``): as a *heading* above the
    text it is the standfirst, outside the article (as a paragraph it is usually the lead,
    inside it, and kept)."""


def lead_keys(root: etree._Element) -> LeadKeys:
    found = [" ".join(h.itertext()) for h in root.iter("h1")]
    found += root.xpath("//meta[@property='og:title' or @name='twitter:title']/@content")
    found += [t.text or "" for t in root.iter("title")]
    summaries = root.xpath("//meta[@property='og:description' or @name='description'"
                           " or @name='twitter:description']/@content")
    return LeadKeys(frozenset(k for k in map(_key, found) if k), frozenset(k for k in map(_key, summaries) if k))


def _is_standfirst(el: etree._Element, key: str, lead: LeadKeys) -> bool:
    # descriptions are often cut short ("… All..."), so a prefix either way matches
    return bool(key) and el.tag == "head" and any(s.startswith(key) or key.startswith(s) for s in lead.summaries)


def _tree_paragraphs(body: etree._Element, lead: LeadKeys | None = None) -> list[str]:
    """One paragraph per leaf block of trafilatura's output tree. Removed from the tree too,
    so the HTML matches the text: boilerplate lines ("read also", "download our app"), and
    leading blocks that repeat the headline or are the standfirst (the body does not restate
    its title or its summary)."""
    lead = lead or LeadKeys(frozenset(), frozenset())
    out: list[str] = []
    for el in list(body.iter("p", "head", "item", "quote", "row", "code")):
        # a quote or item wrapping paragraphs is read through its children
        if any(d.tag in ("p", "item", "row", "head") for d in el.iterdescendants()):
            continue
        text = clean_text(" ".join(el.itertext()))
        if not text:
            continue
        key = _key(text)
        if is_boilerplate_paragraph(text) or (
                not out and (key in lead.headlines or _is_standfirst(el, key, lead))):
            if el.getparent() is not None:
                el.getparent().remove(el)
            continue
        out.append(text)
    return out


def _html(body: etree._Element) -> str:
    from trafilatura.htmlprocessing import convert_to_html

    html = convert_to_html(copy.deepcopy(body))
    inner = html.find("body")
    return inner_html(inner if inner is not None else html)


# A sibling block continues the article when it holds at least this much paragraph text
# with at most this share of it in links (a card of related links is mostly links).
CONTINUATION_MIN_CHARS = 200
CONTINUATION_MAX_LINK_SHARE = 0.3
_SKIP_ANCESTORS = {"nav", "aside", "footer", "header", "form"}
_ARTICLE_BOUNDS = {"article", "main", "body", "html"}
_AUTHOR_TOKENS = {"author", "bio", "byline", "profile"}
_ATTR_TOKENS = re.compile(r"[\s_\-]+")


def _paragraph_text(p: etree._Element) -> tuple[str, int]:
    text = clean_text(" ".join(p.itertext())) or ""
    links = sum(len(clean_text(" ".join(a.itertext())) or "") for a in p.iter("a"))
    return text, links


def _ancestors_within(el: etree._Element, top: etree._Element) -> Iterator[etree._Element]:
    for a in el.iterancestors():
        yield a
        if a is top:
            return


def _not_article(el: etree._Element) -> bool:
    """Navigation, asides, and blocks marked as boilerplate or as the author's box."""
    if el.tag in _SKIP_ANCESTORS or is_boilerplate_block(el):
        return True
    attrs = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return bool(set(_ATTR_TOKENS.split(attrs)) & _AUTHOR_TOKENS)


def _continuation_paragraphs(sib: etree._Element) -> list[str]:
    """The paragraphs of `sib` when it reads as more of the article, else []."""
    if next(sib.iter("h1"), None) is not None:  # a next article (infinite scroll), not more of this one
        return []
    paras = []
    links = 0
    for p in sib.iter("p"):
        if any(_not_article(a) for a in _ancestors_within(p, sib)):
            continue
        text, n = _paragraph_text(p)
        if text:
            paras.append(text)
            links += n
    total = sum(map(len, paras))
    if total < CONTINUATION_MIN_CHARS or links > CONTINUATION_MAX_LINK_SHARE * total:
        return []
    return paras


def add_continuations(body: etree._Element, root: etree._Element) -> int:
    """Append to trafilatura's `body` the paragraphs of blocks that continue the article.

    Some sites cut the article into sibling blocks of one class (a chunk per screen, ads
    between: wired.com's ``div.grid`` × 3 each wrapping a ``div.body__container``);
    trafilatura keeps the first and drops the rest. The kept paragraphs are found in the
    page (`root`); a sibling of their block, or of one of its two nearest wrappers below
    the article, with the same tag and class, holding enough paragraph text that is not
    mostly links and no ``h1`` of its own, is a continuation. Returns how many paragraphs
    were added."""
    kept = {_key(" ".join(el.itertext())) for el in body.iter("p")}
    kept.discard("")
    if not kept:
        return 0
    blocks: list[etree._Element] = []
    for p in root.iter("p"):
        parent = p.getparent()
        if parent is not None and parent not in blocks and _key(" ".join(p.itertext())) in kept:
            blocks.append(parent)
    added = 0
    seen: set[etree._Element] = set()
    for block in blocks:
        level: etree._Element | None = block
        for _ in range(3):
            if level is None or level.tag in _ARTICLE_BOUNDS:
                break
            container = level.getparent()
            if container is None:
                break
            if level.get("class"):
                for sib in container.iterchildren(level.tag):
                    if sib is level or sib in seen or sib.get("class") != level.get("class"):
                        continue
                    seen.add(sib)
                    for text in _continuation_paragraphs(sib):
                        key = _key(text)
                        if key not in kept:
                            kept.add(key)
                            etree.SubElement(body, "p").text = text
                            added += 1
            level = container
    return added


def _extract(page: etree._Element | str, url: str | None, lead: LeadKeys, root: etree._Element | None = None,
             **options: Any) -> Fields:
    from trafilatura import bare_extraction
    from trafilatura.settings import Document

    try:
        doc = bare_extraction(page, url=url, **{**TRAFILATURA_OPTIONS, **options})
    except Exception:  # a library failure on one odd page must not lose the page
        logger.warning("trafilatura failed on %s; generic body from the density pick", url, exc_info=True)
        return {}
    if not isinstance(doc, Document) or doc.body is None:  # None, or a dict only with as_dict=True
        return {}
    if root is not None:
        add_continuations(doc.body, root)
    paras = _tree_paragraphs(doc.body, lead)
    if not paras:
        return {}
    return {"body_html": _html(doc.body), "body_text": "\n\n".join(paras)}


def trafilatura_body(root: etree._Element, url: str | None = None, text: str | None = None) -> Fields:
    """``body_html`` and ``body_text`` from trafilatura, or {}.

    `text` is the page's decoded source when known: trafilatura then parses it itself, which
    costs less than copying `root` (a parsel tree of ``lxml.html`` elements, whose Python
    class lookup slows every step of trafilatura's walk) and removes comments, which inside
    a paragraph ("suffered<!-- --> months", React output) make trafilatura drop the text
    after them. Without `text`, a copy of `root` less its comments is used; `root` is never
    modified."""
    try:
        import trafilatura  # noqa: F401
    except ImportError:  # an install without it still has the fallback
        logger.debug("trafilatura not installed; generic body from the density pick only")
        return {}
    lead = lead_keys(root)
    page: etree._Element | str
    if text is not None:
        page = text
    else:
        page = copy.deepcopy(root)
        etree.strip_tags(page, etree.Comment, etree.ProcessingInstruction)
    out = _extract(page, url, lead, root, fast=True)
    if len(out.get("body_text", "")) < SHORT_BODY_CHARS:
        out = _extract(page, url, lead, root) or out
    if len(out.get("body_text", "")) < THIN_BODY_CHARS:
        balanced = _extract(page, url, lead, root, favor_precision=False)
        # only a body of real length: on a page with one short paragraph the balanced pass
        # falls back to the whole page's text, menus included
        if len(balanced.get("body_text", "")) >= THIN_BODY_CHARS:
            out = balanced
    return out

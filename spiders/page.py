"""`ArticlePage`: the page-object base class turning one article response into an `Article`.

A site's page object is a subclass that only declares its selectors (class attributes);
the layering is shared: JSON-LD → OpenGraph / ``article:*`` meta → the site's selectors →
author, section and printed date by structure (`spiders.byline`, no class names) → hints
from discovery (REST API / RSS values passed along) → a generic extractor. Each field takes
the first layer that has it, except where noted in `to_article`. Whichever layer gives the
body, its noise is removed by what it is (`spiders.noise`) before the byline is looked for.

Testable without a crawler::

    page = HespressArticlePage.from_bytes(url, body, headers={"Content-Type": "text/html"})
    article = page.to_article("hespress")
"""

from __future__ import annotations

import copy
import logging
import re
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import lxml.html
from lxml import etree
from parsel import SelectorList
from scrapy.http import HtmlResponse, Response, TextResponse

from crawler.items import Article
from spiders.byline import StructuralFields
from spiders.extract import (
    BLOCK_TAGS,
    Fields,
    absolute,
    clean_body,
    clean_text,
    extract_jsonld,
    extract_meta,
    first,
    inner_html,
    paragraphs,
)
from spiders.generic_fields import GenericFields
from spiders.noise import remove_noise

logger = logging.getLogger(__name__)



def css_alternatives(css: str) -> list[str]:
    """Split a selector list at its top-level commas (not inside ``()`` or ``[]``)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(css):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(css[start:i].strip())
            start = i + 1
    parts.append(css[start:].strip())
    return [p for p in parts if p]


class FieldLayer(Protocol):
    """One layer's fields: a plain dict, or an object computing each group on its first read."""

    def get(self, key: str, default: Any = None, /) -> Any: ...


class ArticlePage:
    # --- what a site declares ---------------------------------------------------
    title_css: ClassVar[str | None] = None
    body_css: ClassVar[str | None] = None
    date_displayed_css: ClassVar[str | None] = None
    date_machine_css: ClassVar[str | None] = None
    """Selector of an attribute holding a machine-readable date (``time::attr(datetime)``)."""
    date_modified_css: ClassVar[str | None] = None
    author_css: ClassVar[str | None] = None
    image_css: ClassVar[str | None] = None
    """Selector of the lead ``img`` element (src, data-src or srcset is read)."""
    tags_css: ClassVar[str | None] = None
    section_css: ClassVar[str | None] = None
    summary_css: ClassVar[str | None] = None
    boilerplate_css: ClassVar[tuple[str, ...]] = ()
    """Blocks inside the body container that are the site's own boilerplate."""
    lead_byline: ClassVar[re.Pattern[str] | None] = None
    """A first body paragraph matching this is a byline or dateline, not article text: it
    leaves the body and goes to `lead_byline_field`."""
    lead_byline_field: ClassVar[str] = "author"
    """``author`` (the paragraph is the byline and wins over other author sources) or an
    ``extra`` key such as ``dateline``."""
    url_id: ClassVar[re.Pattern[str] | None] = None
    """Group 1 of this pattern over the URL is the site's article id."""
    site_names: ClassVar[tuple[str, ...]] = ()
    """Names stripped when they end an ``og:title`` / ``<title>`` ("… - هسبريس")."""

    def __init__(
        self,
        response: Response,  # anything else than a TextResponse is refused with TypeError
        hints: Mapping[str, Any] | None = None,
        *,
        default_language: str = "ar",
        fetched_at: datetime | None = None,
    ) -> None:
        if not isinstance(response, TextResponse):
            raise TypeError(f"{response.url}: not a text response ({type(response).__name__})")
        self.response = response
        self.sel = response.selector
        self.hints = dict(hints or {})
        self.default_language = default_language
        self.fetched_at = fetched_at or datetime.now(UTC)
        self.field_layers: dict[str, str] = {}
        """Field name → layer that gave it (``jsonld``, ``meta``, ``selectors``, ``api``/``feed``
        hints, ``generic``), filled by `to_article`."""
        self.noise_removed: Counter[str] = Counter()
        """Noise removed from the body by `spiders.noise`, by kind (``related``, ``share``, ``ad``...)."""

    @classmethod
    def from_bytes(
        cls,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        encoding: str | None = None,
        status: int = 200,
        **kwargs: Any,
    ) -> ArticlePage:
        """Build from saved bytes; the encoding comes from headers / ``<meta charset>`` unless given."""
        response = HtmlResponse(url=url, body=body, headers=dict(headers or {}), encoding=encoding, status=status)
        return cls(response, **kwargs)

    # --- layers -----------------------------------------------------------------
    def _nodes(self, css: str | None) -> SelectorList:
        """Nodes of the first alternative of a ``a, b, c`` selector that matches anything:
        a comma list is a priority order here, not a document-order union."""
        if not css:
            return SelectorList([])
        for alt in css_alternatives(css):
            nodes = self.sel.css(alt)
            if nodes:
                return nodes
        return SelectorList([])

    def _css_text(self, css: str | None) -> str | None:
        nodes = self._nodes(css)
        if not nodes:
            return None
        if isinstance(nodes[0].root, str):  # ::text / ::attr(...) results
            return first(nodes.getall())
        return first([" ".join(nodes[0].css("::text").getall())])

    def _img_src(self, css: str | None) -> str | None:
        for img in self._nodes(css):
            for attr in ("data-src", "data-lazy-src", "src"):
                val = img.attrib.get(attr)
                if val and not val.startswith("data:"):
                    return val
            srcset = img.attrib.get("srcset")
            if srcset:
                return srcset.split(",")[0].split()[0]
        return None

    def extract_selectors(self) -> Fields:
        """Fields from the site's declared selectors."""
        out: Fields = {
            "title": self._css_text(self.title_css),
            "date_displayed_raw": self._css_text(self.date_displayed_css),
            "date_machine": self._css_text(self.date_machine_css),
            "date_modified_raw": self._css_text(self.date_modified_css),
            "author": self._css_text(self.author_css),
            "image_url": self._img_src(self.image_css),
            "section_raw": self._css_text(self.section_css),
            "summary": self._css_text(self.summary_css),
        }
        tags = [t for t in (clean_text(" ".join(n.css("::text").getall())) for n in self._nodes(self.tags_css)) if t]
        if tags:
            out["tags"] = list(dict.fromkeys(tags))
        nodes = self._nodes(self.body_css)
        if nodes:
            out.update(self._body(nodes[0].root))
        return {k: v for k, v in out.items() if v}

    def _headline(self) -> str | None:
        """The headline as printed (first ``h1``, else ``og:title``): a caption repeating it is noise."""
        h1 = " ".join(self.sel.xpath("(//h1)[1]//text()").getall())
        return clean_text(h1) or self._strip_site_name(first(self.sel.css('meta[property="og:title"]::attr(content)').getall()))

    def _body(self, element: etree._Element) -> Fields:
        """Body fields of a content element, from whichever layer found it (selectors or generic):
        noise out by structure and text, then the site's boilerplate, then the lead byline."""
        work = copy.deepcopy(element)
        work.tail = None
        try:
            self.noise_removed += remove_noise(work, page_url=self.response.url, title=self._headline())
        except (ValueError, TypeError, AttributeError, RecursionError, etree.LxmlError) as exc:
            # odd markup must not cost the article: its body is kept with the noise
            logger.warning("%s: noise removal failed, body kept as found: %r", self.response.url, exc)
            work = copy.deepcopy(element)
            work.tail = None
        cleaned = clean_body(work, self.boilerplate_css)
        out: Fields = {}
        if self.lead_byline is not None:
            for block in cleaned.iter():
                if block is cleaned or not isinstance(block.tag, str) or block.tag not in BLOCK_TAGS:
                    continue
                if any(isinstance(d.tag, str) and d.tag in BLOCK_TAGS for d in block.iterdescendants()):
                    continue  # a wrapper: its first leaf block decides
                text = clean_text(block.text_content())
                if not text:
                    continue
                if len(text) <= 80 and self.lead_byline.search(text) and block.getparent() is not None:
                    out["byline"] = text
                    block.getparent().remove(block)
                break
        paras = paragraphs(cleaned)
        if paras:
            out["body_html"] = inner_html(cleaned)
            out["body_text"] = "\n\n".join(paras)
        return out

    def _strip_site_name(self, title: str | None) -> str | None:
        if not title:
            return title
        names = {n for n in self.site_names if n}
        names.update(n for n in (clean_text(x) for x in self.sel.css('meta[property="og:site_name"]::attr(content)').getall()) if n)
        for name in sorted(names, key=len, reverse=True):
            for sep in (" - ", " | ", " – ", " — ", " : "):
                if title.endswith(sep + name):
                    return clean_text(title[: -len(sep + name)])
                if title.startswith(name + sep):
                    return clean_text(title[len(name + sep):])
            if title == name:
                return None
        return title

    # --- merge ------------------------------------------------------------------
    def layers(self) -> list[tuple[str, FieldLayer]]:
        jsonld = extract_jsonld(self.sel)
        meta = extract_meta(self.sel)
        if "title" in meta:
            meta["title"] = self._strip_site_name(meta["title"])
        selectors = self.extract_selectors()
        hints = {k: v for k, v in self.hints.items() if v and k != "via"}
        return [
            ("jsonld", jsonld),
            ("meta", meta),
            ("selectors", selectors),
            # What a theme change leaves: link targets, rel/ARIA, bylines, the URL (on demand).
            ("structure", StructuralFields(self.sel, self.response.url, selectors.get("title") or meta.get("title"),
                                           self.site_names)),
            (self.hints.get("via") or "api", hints),
            # Read only for the fields earlier layers leave empty, each group on demand:
            # it is the costliest layer.
            ("generic", _PageGeneric(self)),
        ]

    def to_article(self, source_id: str) -> Article:
        """The `Article` for this page; fields no layer found stay None (never invented)."""
        layers = self.layers()
        by_name = dict(layers)
        url = self.response.url
        used: dict[str, str] = {}

        def pick(field: str, order: list[str] | None = None, key: str | None = None) -> Any:
            names = order or [n for n, _ in layers]
            for name in names:
                value = by_name.get(name, {}).get(key or field)
                if value:
                    used[field] = name
                    return value
            return None

        hint_layer = self.hints.get("via") or "api"
        title = pick("title")
        # The body comes from the page markup first: JSON-LD articleBody is plain text only.
        body_text = pick("body_text", ["selectors", "generic", "jsonld", hint_layer])
        body_src = used.get("body_text")
        body_html = by_name.get(body_src or "", {}).get("body_html") if body_src else None
        displayed = pick("date_displayed_raw", ["selectors", "generic", "structure"])
        published = pick("date_published_raw", ["jsonld", "meta"]) or pick(
            "date_published_raw", ["selectors"], key="date_machine"
        ) or pick("date_published_raw", [hint_layer, "generic"]) or displayed
        section = pick("section_raw", ["jsonld", "meta", "selectors", "structure", hint_layer, "generic"])
        # The lead byline comes with the body, from whichever markup layer found it.
        body_layer = body_src if body_src in ("selectors", "generic") else "selectors"
        byline = by_name[body_layer].get("byline")
        if byline and self.lead_byline_field == "author":
            author = byline
            used["author"] = body_layer
        else:
            author = pick("author")
        image = absolute(url, pick("image_url"))
        canonical = pick("canonical_url", ["meta", "jsonld"]) or url
        canonical = absolute(url, canonical) or url
        site_id = None
        if self.url_id is not None:
            m = self.url_id.search(url)
            if m:
                site_id = m.group(1)
        site_id = site_id or pick("site_article_id", ["meta", hint_layer])
        language = pick("language", ["meta", "jsonld"]) or self.default_language
        tags = pick("tags", ["selectors", "jsonld", "meta", hint_layer, "generic"]) or []
        extra: dict[str, Any] = {}
        if byline and self.lead_byline_field != "author":
            extra[self.lead_byline_field] = byline
        contributed = [used[f] for f in ("title", "body_text") if f in used]
        warc = self.response.meta.get("warc_record") if _has_meta(self.response) else None
        article = Article(
            url=url,
            source=source_id,
            canonical_url=canonical,
            site_article_id=str(site_id) if site_id else None,
            title=title,
            body_html=body_html,
            body_text=body_text,
            summary=pick("summary", ["jsonld", "meta", "selectors", hint_layer]),
            author=author,
            section_raw=section,
            tags=list(tags),
            image_url=image,
            language=language,
            date_published_raw=published,
            date_displayed_raw=displayed,
            date_modified_raw=pick("date_modified_raw", ["jsonld", "meta", "selectors", hint_layer]),
            fetched_at=self.fetched_at,
            extraction=",".join(dict.fromkeys(contributed)) or None,
            http_status=self.response.status,
            warc_record=warc,
            extra=extra,
        )
        if published and "date_published_raw" not in used and "date_displayed_raw" in used:
            used["date_published_raw"] = used["date_displayed_raw"]  # the displayed date stood in
        # Which layer gave each field, for `akhbar extract` and the run's layer counts (a site
        # whose own selectors stop giving bodies has been redesigned); read after the
        # constructor, whose picks (summary, modified date) count too.
        self.field_layers = dict(used)
        return article


MAX_NOISE_DEPTH = 150
"""Deeper than this, a page is not pre-cleaned of noise before the generic body: the noise
pass walks the tree recursively and reads each block's text, which a pathological page
nested thousands deep turns into a recursion error or quadratic time. Real pages nest a few
dozen deep."""


def too_deep(root: etree._Element, limit: int = MAX_NOISE_DEPTH) -> bool:
    depth = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > limit:
            return True
    return False


class _PageGeneric(GenericFields):
    """The generic layer, with the page's own title fallback: the <title> tag, less the
    site's name, when the page has no usable <h1>."""

    def __init__(self, page: ArticlePage) -> None:
        super().__init__(page.sel)
        self.page = page

    def _trafilatura_without_noise(self) -> Fields:
        """trafilatura over a copy of the page whose noise blocks (share bars, related-article
        lists, newsletter forms, ad slots) are already out: trafilatura keeps the text of some
        of them as paragraphs, where their structure no longer tells what they were."""
        from spiders.generic_body import trafilatura_body

        root = self.sel.root
        if not isinstance(root, etree._Element) or too_deep(root):
            return self.trafilatura()
        work = copy.deepcopy(root)
        etree.strip_tags(work, etree.Comment, etree.ProcessingInstruction)
        body = work.find("body")
        try:
            remove_noise(body if body is not None else work, page_url=self.page.response.url,
                         title=self.page._headline())
        except (ValueError, TypeError, AttributeError, RecursionError, etree.LxmlError) as exc:
            logger.warning("%s: noise removal before the generic body failed: %r", self.page.response.url, exc)
            return self.trafilatura()
        text = etree.tostring(work, encoding="unicode", method="html")
        return trafilatura_body(root, self.page.response.url, text)

    def _body(self) -> Fields:
        # The page's own body pipeline (noise, boilerplate, lead byline) over what the
        # generic extractor found (trafilatura's body, else the density pick), as for the
        # site's selectors.
        found = self._trafilatura_without_noise()
        if found.get("body_html"):
            try:
                fragment = lxml.html.fragment_fromstring(found["body_html"], create_parent="div")
            except (etree.ParserError, ValueError):
                return found
            return self.page._body(fragment) or found
        if found:
            return found
        content = self.content()
        return self.page._body(content) if content is not None else {}

    def _title(self) -> Fields:
        out = super()._title()
        if not out.get("title") and out.get("extra_title_tag"):
            out["title"] = self.page._strip_site_name(out["extra_title_tag"])
        return out


def _has_meta(response: TextResponse) -> bool:
    # a Response built outside a crawl has no request, and its `meta` property raises AttributeError
    return hasattr(response, "meta")

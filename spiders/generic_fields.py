"""The generic layer: every field read from what a page is when no selector describes it.

Kept apart from `spiders.extract` (the extraction rules it combines) because its body comes
from trafilatura through `spiders.generic_body`, which itself builds on those rules.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from lxml import etree
from parsel import Selector

from spiders.extract import (
    _TIME,
    DATE_TEXT,
    Fields,
    _generic_image,
    best_content_element,
    body_fields,
    clean_text,
    first,
)
from spiders.generic_body import trafilatura_body


def _crumb_section(sel: Selector) -> str | None:
    """The section from a breadcrumb: its last link that is not the home page."""
    links = sel.xpath(
        "//*[contains(@class,'crumb') or contains(@id,'crumb')]//a[not(ancestor::footer)]"
    )
    names = []
    for a in links:
        href = (a.attrib.get("href") or "").rstrip("/")
        if urlparse(href).path in ("", "/"):
            continue
        name = clean_text(" ".join(a.css("::text").getall()))
        if name:
            names.append(name)
    if names:
        return names[-1]
    return first(sel.xpath("//a[contains(@class,'cat') and not(ancestor::nav) and not(ancestor::footer)]//text()").getall())


class GenericFields:
    """Last-resort extraction for markup nobody described, one group of fields at a time.

    A page object asks it only for the fields its own layers left empty, and finding the
    content block (scoring every candidate element, then cleaning it) costs more than all
    the other groups together: a page that only lacks its displayed date (Belpress) must
    not pay for the body. Each group is computed on its first read and kept."""

    def __init__(self, sel: Selector) -> None:
        self.sel = sel
        self._fields: Fields = {}
        self._done: set[str] = set()
        self._content: etree._Element | None = None
        self._content_done = False

    _GROUPS: dict[str, tuple[str, ...]] = {
        "_title": ("title", "extra_title_tag"),
        "_body": ("body_html", "body_text"),
        "_dates": ("date_published_raw", "date_displayed_raw"),
        "_image": ("image_url",),
        "_author": ("author",),
        "_section": ("section_raw",),
        "_tags": ("tags",),
    }
    _GROUP_OF: dict[str, str] = {f: g for g, fields in _GROUPS.items() for f in fields}

    def get(self, key: str, default: Any = None) -> Any:
        group = self._GROUP_OF.get(key)
        if group is not None and group not in self._done:
            self._done.add(group)
            self._fields.update({k: v for k, v in getattr(self, group)().items() if v})
        return self._fields.get(key, default)

    def all(self) -> Fields:
        for field in self._GROUP_OF:
            self.get(field)
        return dict(self._fields)

    def content(self) -> etree._Element | None:
        if not self._content_done:
            self._content_done = True
            root = self.sel.root if isinstance(self.sel.root, etree._Element) else None
            self._content = best_content_element(root) if root is not None else None
        return self._content

    def _title(self) -> Fields:
        sel = self.sel
        out: Fields = {}
        scope = sel.css("article") or sel.css("main") or sel
        h1s = scope.css("h1") or sel.css("h1")
        if h1s:
            out["title"] = clean_text(" ".join(h1s[0].css("::text").getall()))
        out["extra_title_tag"] = first(sel.css("title::text").getall())
        return out

    def trafilatura(self) -> Fields:
        """trafilatura's body of the page (spiders/generic_body.py says why), or {}."""
        root = self.sel.root if isinstance(self.sel.root, etree._Element) else None
        if root is None:
            return {}
        response = getattr(self.sel, "response", None)
        return trafilatura_body(root, getattr(response, "url", None), getattr(response, "text", None)) or {}

    def _body(self) -> Fields:
        # trafilatura first; the density pick when it finds nothing, so the content block
        # is only searched for on those pages.
        out = self.trafilatura()
        if out:
            return out
        content = self.content()
        return body_fields(content) if content is not None else {}

    def _dates(self) -> Fields:
        sel = self.sel
        displayed = first(sel.css("time ::text").getall())
        if not displayed:
            for node in sel.xpath(
                "//body//*[contains(@class,'date') or contains(@id,'date')][not(ancestor::footer)]"
            ):
                text = clean_text(" ".join(node.css("::text").getall()))
                if text and len(text) <= 80 and DATE_TEXT.search(text):
                    displayed = text
                    # A time printed in the next element ("<span>…2025</span> <span>14:30</span>").
                    nxt = clean_text(" ".join(node.xpath("following-sibling::*[1]//text()").getall()))
                    if nxt and _TIME.fullmatch(nxt):
                        displayed = f"{displayed} {nxt}"
                    break
        return {"date_published_raw": first(sel.css("time::attr(datetime)").getall()), "date_displayed_raw": displayed}

    def _image(self) -> Fields:
        return {"image_url": _generic_image(self.sel, self.content())}

    def _author(self) -> Fields:
        return {"author": first(self.sel.xpath(
            "//*[@rel='author' or contains(@class,'author') or contains(@class,'writer')"
            " or contains(@class,'byline')][not(self::body)][not(ancestor::footer)]//text()"
        ).getall())}

    def _section(self) -> Fields:
        return {"section_raw": first(self.sel.css('a[rel~="category"]::text').getall()) or _crumb_section(self.sel)}

    def _tags(self) -> Fields:
        tags = [t for t in (clean_text(x) for x in self.sel.css('a[rel="tag"]::text').getall()) if t]
        return {"tags": list(dict.fromkeys(tags))}


def extract_generic(sel: Selector) -> Fields:
    """Every field `GenericFields` finds on the page (tests, tools; page objects read it lazily)."""
    return GenericFields(sel).all()

"""Author, section and printed date found by structure, for pages whose class names changed.

The page object's ``structure`` layer, after the site's selectors: it reads only what a
theme change leaves alone (link targets, ``rel``, ARIA and schema.org attributes, text
patterns, the URL), never a class or id. JSON-LD, ``article:section`` / ``author`` /
``article:author`` meta come earlier, from the ``jsonld`` and ``meta`` layers.

- author: ``a[rel~=author]``; a link to an author page (``/author/<slug>``, ``/auteur/``,
  ...); a byline (``بقلم …``, ``كتب: …``, ``بواسطة …``, ``Par …``, ``By …``); a desk line or
  dateline opening with the site's name (``هبة بريس - وكالات``, ``هسبريس من الرباط``); a name printed
  beside the displayed date (``<span>بلبريس - متابعة</span> <span>16 يوليو 2025</span>``);
- section: a JSON-LD ``BreadcrumbList``; a breadcrumb trail (ARIA / schema.org marked, or a
  short run of links from the home page joined by ``›``, ``»``, ``/`` ...): its last link that
  is neither home nor the article; ``a[rel~=category]``; a category link beside the headline
  (``/category/<slug>/``, ``/section-N.html``); the URL's own category segment (a slug);
- date_displayed_raw: the first short text after the headline that reads as a date, with a
  time printed in the next element.

Each group is computed on its first read, like `spiders.generic_fields.GenericFields`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

from lxml import etree
from parsel import Selector

from spiders.extract import DATE_TEXT, clean_text

logger = logging.getLogger(__name__)

Fields = dict[str, Any]

# Containers whose links are never the article's byline or section.
_OUTSIDE = "ancestor::footer or ancestor::aside or ancestor::nav[not(contains(translate(@aria-label,'BREADCRUMB','breadcrumb'),'breadcrumb'))]"
_AUTHOR_PATH = re.compile(r"/(?:author|authors|auteur|auteurs|writer|writers|kuttab|columnist|journalist|profile|كتاب|الكاتب)/[^/?#]+", re.I)
_CATEGORY_PATH = re.compile(r"/(?:category|categorie|categories|section|sections|rubrique|cat|قسم|تصنيف)/[^/?#]+|/section-\d+\.html$", re.I)
# "بقلم: فلان", "كتب: فلان", "بواسطة فلان", "Par Untel", "By Someone".
BYLINE = re.compile(
    r"^(?:بقلم|بواسطه|بواسطة|اعداد|إعداد|تحرير|كتب\s*[:：\-–—]|كتبه\s*[:：\-–—]?|كتبت\s*[:：\-–—]|Par|By|Written by|Posted by)"
    r"\s*[:：\-–—]?\s*(?P<name>\S.*)$"
)
_DESK_AFTER_NAME = re.compile(r"\s*(?:[-ـ–—|:：،]|من\s)")
_SEPARATORS = re.compile(r"[›»>/‹«<←→|]")
_TIME = re.compile(r"[0-9\u0660-\u0669\u06f0-\u06f9]{1,2}:[0-9\u0660-\u0669\u06f0-\u06f9]{2}")
_DIGIT = re.compile(r"[0-9\u0660-\u0669\u06f0-\u06f9]")
_HOME_WORDS = {"الرئيسية", "الرئيسيه", "الصفحة الرئيسية", "Accueil", "Home", "home", "accueil"}
_SKIP_SEGMENTS = {"article", "articles", "details", "post", "posts", "news", "ar", "fr", "en", "amp", "story", "p", "node"}


def _text(node: etree._Element) -> str:
    return clean_text(node.text_content()) or ""


def _is_name(text: str, *, linked: bool = False) -> bool:
    """A person's or desk's name: a few words, not a time or a sentence. A link to an author
    page is trusted with a longer text ("هسبريس - فلان (كاريكاتير: فلانة)")."""
    if not text or len(text) > (100 if linked else 60):
        return False
    if _TIME.search(text) or DATE_TEXT.search(text) or len(_DIGIT.findall(text)) > len(text) // 4:
        return False
    words = text.split()
    if not 1 <= len(words) <= (14 if linked else 7):
        return False
    return not re.search(r"[.!؟?:،,;]$", text)


class StructuralFields:
    """Author, section and displayed date by structure; each group computed on its first read."""

    def __init__(self, sel: Selector, url: str, title: str | None = None, site_names: Iterable[str] = ()) -> None:
        self.sel = sel
        self.url = url
        self.title = clean_text(title)
        names = [*site_names, *sel.css('meta[property="og:site_name"]::attr(content)').getall()]
        # Longest first: "هسبريس - Hespress" before "هسبريس".
        self.site_names = sorted({n for n in (clean_text(x) for x in names) if n}, key=len, reverse=True)
        self.root: etree._Element | None = sel.root if isinstance(sel.root, etree._Element) else None
        self._fields: Fields = {}
        self._done: set[str] = set()
        self._date_node: etree._Element | None = None
        self._date_done = False

    _GROUPS: dict[str, str] = {"author": "_author", "section_raw": "_section", "date_displayed_raw": "_date"}

    def get(self, key: str, default: Any = None) -> Any:
        group = self._GROUPS.get(key)
        if group is not None and group not in self._done:
            self._done.add(group)
            if self.root is not None:
                try:
                    value = getattr(self, group)()
                except (ValueError, TypeError) as exc:  # odd markup must not cost the article
                    logger.warning("%s: structural %s failed: %r", self.url, key, exc)
                    value = None
                if value:
                    self._fields[key] = value
        return self._fields.get(key, default)

    def all(self) -> Fields:
        for key in self._GROUPS:
            self.get(key)
        return dict(self._fields)

    # --- helpers -----------------------------------------------------------------
    def _xpath(self, query: str) -> list[Any]:
        assert self.root is not None
        return self.root.xpath(query)

    def _headline(self) -> etree._Element | None:
        h1 = self._xpath(f"//body//h1[not({_OUTSIDE})]")
        return h1[0] if h1 else None

    def _after_headline(self) -> Iterator[etree._Element]:
        """Elements after the headline in document order (the whole body without one)."""
        h1 = self._headline()
        if h1 is not None:
            yield from h1.itersiblings()  # the header's own siblings first, then further on
            for anc in h1.iterancestors():
                if anc.tag in ("body", "html"):
                    break
                yield from anc.itersiblings()
            return
        body = self._xpath("//body")
        if body:
            yield from body[0]

    def _same_site(self, href: str) -> bool:
        try:
            return urlparse(urljoin(self.url, href)).hostname == urlparse(self.url).hostname
        except ValueError:
            return False

    # --- author -----------------------------------------------------------------------
    def _author(self) -> str | None:
        for a in self._xpath(f"//body//a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')][not({_OUTSIDE})]"):
            name = _text(a)
            if _is_name(name, linked=True):
                return name
        for a in self._xpath(f"//body//a[@href][not({_OUTSIDE})]"):
            href = unquote(a.get("href") or "")
            if _AUTHOR_PATH.search(urlparse(href).path or "") and self._same_site(a.get("href") or ""):
                name = _text(a)
                if _is_name(name, linked=True):
                    return name
        for node in self._leaves(limit=80):
            m = BYLINE.match(_text(node))
            if m:
                cleaned = clean_text(m.group("name").strip(" :：-–—"))
                if cleaned and _is_name(cleaned):
                    return cleaned
        return self._desk_line() or self._beside_date()

    def _desk_line(self) -> str | None:
        """A desk line or dateline naming the site first ("هبة بريس - وكالات", "هسبريس من
        الرباط", "LE12.ma - الرباط"), among the first few short texts after the headline."""
        if not self.site_names:
            return None
        for i, node in enumerate(self._leaves(limit=60)):
            if i >= 12:
                break
            if any(isinstance(c.tag, str) and _text(c) for c in node):
                continue
            text = _text(node)
            for name in self.site_names:
                if text.startswith(name) and text != name and _DESK_AFTER_NAME.match(text[len(name):]) and _is_name(text):
                    return text
        return None

    def _leaves(self, limit: int) -> Iterator[etree._Element]:
        """Short text elements after the headline whose children hold no other text block."""
        seen: set[int] = set()
        for top in self._after_headline():
            if not isinstance(top.tag, str) or top.tag in ("script", "style", "footer", "nav", "aside", "form"):
                continue
            for node in top.iter():
                if not isinstance(node.tag, str) or id(node) in seen or node.tag in ("script", "style"):
                    continue
                seen.add(id(node))
                text = _text(node)
                if not text or len(text) > limit:
                    continue
                yield node

    def _beside_date(self) -> str | None:
        """A name printed in the same line as the displayed date (a sibling element)."""
        date = self._date_element()
        if date is None or date.getparent() is None:
            return None
        section = clean_text(self.get("section_raw"))
        for sib in [*reversed(list(date.itersiblings(preceding=True))), *date.itersiblings()]:
            if not isinstance(sib.tag, str):
                continue
            text = _text(sib)
            if not _is_name(text) or DATE_TEXT.search(text) or text in (section, self.title) or text.startswith("منذ"):
                continue
            hrefs = [a.get("href") or "" for a in sib.iter("a") if a.get("href")]
            if hrefs and not any(_AUTHOR_PATH.search(h) for h in hrefs):
                continue  # a category, tag or share link: not a name
            return text
        return None

    # --- section ------------------------------------------------------------------------
    def _section(self) -> str | None:
        for finder in (self._jsonld_crumbs, self._crumb_trail, self._rel_category, self._category_link, self._url_segment):
            value = finder()
            if value:
                return value
        return None

    def _jsonld_crumbs(self) -> str | None:
        for raw in self._xpath("//script[@type='application/ld+json']/text()"):
            try:
                data = json.loads(raw)
            except (json.JSONDecodeError, RecursionError):
                continue
            for obj in _walk_json(data):
                if obj.get("@type") != "BreadcrumbList" or not isinstance(obj.get("itemListElement"), list):
                    continue
                items = sorted((i for i in obj["itemListElement"] if isinstance(i, dict)),
                               key=_list_position)
                names = []
                for item in items:
                    target = item.get("item")
                    url = target if isinstance(target, str) else (target or {}).get("@id") if isinstance(target, dict) else None
                    name = item.get("name") or (target.get("name") if isinstance(target, dict) else None)
                    name = clean_text(name) if isinstance(name, str) else None
                    if not name or name in _HOME_WORDS:
                        continue
                    if isinstance(url, str) and (urlparse(url).path in ("", "/") or url.rstrip("/") == self.url.rstrip("/")):
                        continue
                    if name == self.title:
                        continue
                    names.append(name)
                if names:
                    return names[-1]
        return None

    def _crumb_trail(self) -> str | None:
        marked = self._xpath(
            "//body//*[contains(translate(@aria-label,'BREADCRUMB','breadcrumb'),'breadcrumb')"
            " or contains(@itemtype,'BreadcrumbList') or contains(translate(@aria-label,'ÉE','ée'),'fil d')]"
        )
        candidates = list(marked)
        for node in self._xpath(f"//body//*[self::div or self::p or self::span or self::ol or self::ul or self::nav][.//a][not({_OUTSIDE})]"):
            links = [a for a in node.iter("a") if a.get("href")]
            if not 2 <= len(links) <= 5 or len(_text(node)) > 250:
                continue
            first = links[0]
            home = urlparse(urljoin(self.url, first.get("href") or "")).path in ("", "/") and self._same_site(first.get("href") or "")
            if not home and _text(first) not in _HOME_WORDS:
                continue
            text_between = "".join((a.tail or "") for a in links) + "".join(
                (li.tail or "") + (li.text or "") for li in node.iter("li"))
            if _SEPARATORS.search(text_between) or node.tag in ("ol", "ul") and len(list(node.iter("li"))) <= 5:
                candidates.append(node)
        for node in candidates:
            names = []
            for a in node.iter("a"):
                href = a.get("href") or ""
                if not self._same_site(href):
                    continue
                path = urlparse(urljoin(self.url, href)).path
                name = _text(a)
                if path in ("", "/") or not name or name in _HOME_WORDS or urljoin(self.url, href).rstrip("/") == self.url.rstrip("/"):
                    continue
                if name == self.title or len(name) > 60:
                    continue
                names.append(name)
            if names:
                return names[-1]
        return None

    def _rel_category(self) -> str | None:
        for a in self._xpath(f"//body//a[contains(concat(' ', normalize-space(@rel), ' '), ' category ')][not({_OUTSIDE})]"):
            name = _text(a)
            if name and len(name) <= 60:
                return name
        return None

    def _category_link(self) -> str | None:
        h1 = self._headline()
        if h1 is None:
            return None
        scope = h1
        for _ in range(3):  # the headline's header block, not the related cards further down
            if scope.getparent() is None or scope.getparent().tag in ("body", "html"):
                break
            scope = scope.getparent()
            for a in scope.iter("a"):
                href = a.get("href") or ""
                if self._same_site(href) and _CATEGORY_PATH.search(unquote(urlparse(urljoin(self.url, href)).path)):
                    name = _text(a)
                    if name and len(name) <= 60:
                        return name
        return None

    def _url_segment(self) -> str | None:
        parts = [unquote(p) for p in urlparse(self.url).path.split("/") if p]
        if len(parts) >= 2 and parts[0].lower() in ("category", "categorie", "rubrique", "section"):
            return parts[1]
        if len(parts) >= 2:
            head = parts[0]
            if not _DIGIT.search(head) and head.lower() not in _SKIP_SEGMENTS and "." not in head and len(head) <= 40:
                return head
        return None

    # --- date -----------------------------------------------------------------------------
    def _date_element(self) -> etree._Element | None:
        if not self._date_done:
            self._date_done = True
            for node in self._leaves(limit=60):
                if any(isinstance(c.tag, str) and _text(c) for c in node):
                    continue  # a wrapper: its own text elements decide
                text = _text(node)
                m = DATE_TEXT.search(text)
                if m and len(m.group(0)) >= 0.4 * len(text) and (_DIGIT.search(text) or text.startswith("منذ")):
                    self._date_node = node
                    break
        return self._date_node

    def _date(self) -> str | None:
        node = self._date_element()
        if node is None:
            return None
        text = _text(node)
        nxt = node.getnext()
        if nxt is not None and isinstance(nxt.tag, str) and _TIME.fullmatch(_text(nxt)):
            text = f"{text} {_text(nxt)}"
        return text


def _list_position(item: dict[str, Any]) -> int:
    """A BreadcrumbList item's ``position``; 0 when missing or not an integer."""
    position = item.get("position")
    return position if isinstance(position, int) else 0


def _walk_json(data: Any) -> Iterator[dict[str, Any]]:
    stack = [data]
    while stack:
        obj = stack.pop()
        if isinstance(obj, list):
            stack.extend(obj)
        elif isinstance(obj, dict):
            yield obj
            graph = obj.get("@graph")
            if graph is not None:
                stack.extend(graph if isinstance(graph, list) else [graph])


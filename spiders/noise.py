"""Noise inside an article body, found by what it is rather than by its class names.

A theme change renames every class and id, so the site's ``boilerplate_css`` and the
class-token rules of `spiders.extract.clean_body` stop seeing the "اقرأ أيضا" boxes, share
bars and ad slots that sit inside the content container. `remove_noise` finds them by
structure, link targets and text, and removes them in place from a body element (or
`clean_fragment` from an HTML fragment). It runs after a site's own selectors too, so a
selector that still matches after a redesign brings in no new noise.

What goes (each removal counted under its kind):

- ``related``: a block opening with a "read also" label (``اقرأ أيضا``, ``مواضيع ذات صلة``,
  ``الأكثر قراءة``, ``إقرأ المزيد``, ``Lire aussi``, ``Related`` ...) that links to the site, a
  label alone with the link paragraphs or list after it, an inline ``اقرأ أيضا: <a>…</a>`` line;
- ``links``: unlabelled blocks made of links to the same site (two or more links covering
  most of the text, or one link that is the whole block);
- ``share``: links to share endpoints (``facebook.com/sharer``, ``twitter.com/intent``,
  ``api.whatsapp.com/send``, ``t.me/share``, ``?share=facebook`` ...) and the bars holding
  them; ``social``: "follow us" lines made of social-profile links;
- ``newsletter``: short boxes inviting to subscribe to a newsletter;
- ``comments``: comment forms and their "أضف تعليقك" headings;
- ``ad``: ``ins``, non-video iframes, elements with ad-network data attributes,
  ``rel=sponsored`` links, "إعلان" / "إشهار" / "Publicité" labels;
- ``caption``: a caption repeating the headline or another caption (in a ``figcaption`` or
  printed again as a paragraph), photo credits;
- ``empty``: what is left empty (ad placeholders, emptied wrappers).

What stays: every paragraph with text of its own. A link inside a sentence is content
(the block's text is not mostly links); a link to another site (a source, a document) is
content; a long paragraph never goes, whatever its first words; an embedded video iframe
(YouTube, Vimeo, Dailymotion, Facebook video) or a tweet becomes a plain link to it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from urllib.parse import parse_qs, urljoin, urlparse

from lxml import etree
from lxml import html as lxml_html

from crawler.arabic import normalize
from spiders.extract import remove_element

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- text forms


_ACCENTED = re.compile(r"[\u00c0-\u024f]")


def norm(text: str | None) -> str:
    """Arabic-normalised, accent-free, lowercased text with edge punctuation stripped."""
    if not text:
        return ""
    out = normalize(text)
    if _ACCENTED.search(out):
        out = "".join(c for c in unicodedata.normalize("NFKD", out) if not unicodedata.combining(c))
    return out.strip(" \t\n:：-–—|»«\"'.،,؛;()[]…!؟?*•·►▶◀>")




def text_of(el: etree._Element) -> str:
    # str.split() splits at every Unicode space (NBSP included), faster than a regex here
    return " ".join((el.text_content() or "").split())


# Labels opening a related-links box, as normalised by `norm` (whole label only).
RELATED_LABEL = re.compile(
    r"^(?:"
    r"(?:اقرا|اقراوا|اقروا|طالع|طالعوا|شاهد|شاهدوا|تابع|تصفح) ?(?:ايضا|كذلك|المزيد|ايضا هذه المقالات)"
    r"|(?:مواضيع|مقالات|اخبار|مقالات اخري|مواضيع اخري|قصص) ?(?:ذات صله|مشابهه|متعلقه|قد تهمك|ذات علاقه)"
    r"|ذات صله|قد يهمك ايضا|قد يهمك|قد يعجبك ايضا|قد يعجبك|اخترنا لك|اخبار متعلقه|المزيد من الاخبار"
    r"|الاكثر (?:قراءه|قراءة|مشاهده|تداولا|تعليقا|شعبيه)|الاكثر قراءه اليوم|اخر الاخبار|اخبار ذات صله"
    r"|(?:a )?lire aussi|a lire (?:aussi|egalement)|lire (?:egalement|la suite)|voir aussi|sur le meme sujet"
    r"|articles? (?:similaires|lies|connexes|recommandes)|les plus lus|les plus (?:lus|partages|commentes)"
    r"|dans la meme rubrique|a voir aussi|nos articles"
    r"|read (?:also|more)|see also|related(?: (?:articles|posts|stories|news))?|more (?:stories|news|from)"
    r"|most (?:read|popular|viewed)|you may also like|recommended(?: for you)?|trending"
    r")$"
)
# A label may end a leaf and be followed by the link in the same block ("اقرأ أيضا: <a>…</a>").
RELATED_OPENING = re.compile(
    r"^(?:اقرا|اقراوا|اقروا|طالع|شاهد) ?(?:ايضا|كذلك|المزيد)|^(?:a )?lire aussi|^read also|^see also|^voir aussi"
)
AD_LABEL = re.compile(
    r"^(?:اعلان|اعلانات|اشهار|اشهارات|محتوي مدعوم|محتوي ممول|مساحه اعلانيه|اعلان ممول"
    r"|publicite|pub|annonce|sponsorise|contenu sponsorise"
    r"|advertisement|advertising|ad|ads|sponsored|sponsored content|promoted)$"
)
NEWSLETTER = re.compile(r"النشره (?:الاخباريه|البريديه)|نشرتنا|القائمه البريديه|newsletter|lettre d.information|infolettre")
# Word-initial (with the conjunction و): "سجلت" (it recorded) is news, "سجل" (sign up) a widget.
CALL_TO_SUBSCRIBE = re.compile(
    r"(?<!\S)و?(?:اشترك|اشتركوا|اشتركي|سجل|سجلوا|توصل|توصلوا|ليصلك|لتصلك|ليصلكم|لتصلكم)(?!\S)"
    r"|subscribe|sign up|abonnez|inscrivez"
)
# A comment box's heading, whole.
COMMENTS = re.compile(
    r"^(?:(?:اترك|اكتب|اضف|ارسل) ?(?:تعليقا|تعليق|تعليقك|ردا|رايك)(?: .{0,20})?"
    r"|التعليقات|تعليقات|تعليقات القراء|لا توجد تعليقات|(?:leave|post|add) a (?:reply|comment)"
    r"|comments?|laisser un commentaire|commentaires?|reagir)(?: \(?\d+\)?)?$"
)
SHARE_LABEL = re.compile(r"^(?:شارك|شاركوا|شارك المقال|شارك الخبر|شارك هذا|مشاركه|share|share this|partager|partagez)$")
FOLLOW = re.compile(r"^(?:تابع|تابعوا|تابعونا|تابعنا|follow|suivez|retrouvez|rejoignez|انضموا|انضم)")
CREDIT = re.compile(
    r"^(?:الصوره|صوره|الصور|صور|مصدر الصوره|تصوير|الصوره من|photo|photos|credit photo|credit|image|illustration|source)"
    r"\s*[:：|/-]\s*\S|^©|^(?:ارشيف|ارشيفيه|صوره ارشيفيه|photo d.archives)$"
)

# --------------------------------------------------------------------------- link kinds

_SOCIAL_HOSTS = {
    "facebook.com", "fb.com", "twitter.com", "x.com", "instagram.com", "youtube.com", "t.me",
    "telegram.me", "whatsapp.com", "tiktok.com", "linkedin.com", "snapchat.com", "threads.net",
    "pinterest.com", "news.google.com", "dailymotion.com",
}
_VIDEO_EMBED = re.compile(
    r"^https?://(?:www\.)?(?:youtube(?:-nocookie)?\.com/embed/|player\.vimeo\.com/video/|"
    r"(?:www\.)?dailymotion\.com/embed/video/|facebook\.com/plugins/video\.php|"
    r"platform\.twitter\.com/embed/|twitter\.com/i/videos/)"
)
_SHARE_PATHS = (
    ("facebook.com", ("/sharer", "/share.php", "/dialog/share", "/dialog/feed")),
    ("twitter.com", ("/intent/", "/share")),
    ("x.com", ("/intent/", "/share")),
    ("linkedin.com", ("/sharearticle", "/sharing/", "/cws/share")),
    ("pinterest.com", ("/pin/create",)),
    ("reddit.com", ("/submit",)),
    ("t.me", ("/share",)),
    ("telegram.me", ("/share",)),
    ("api.whatsapp.com", ("/send",)),
    ("web.whatsapp.com", ("/send",)),
    ("wa.me", ("/",)),
    ("addtoany.com", ("/share",)),
    ("tumblr.com", ("/share", "/widgets/share")),
    ("vk.com", ("/share.php",)),
)
_SHARE_SCHEMES = ("whatsapp:", "viber:", "tg:", "fb-messenger:", "sms:")
_SHARE_NETWORKS = {"facebook", "twitter", "x", "whatsapp", "telegram", "linkedin", "pinterest", "email",
                   "print", "reddit", "tumblr", "pocket", "jetpack-whatsapp", "skype", "messenger"}


def _host(url: str) -> str:
    try:
        host = urlparse(url).hostname or ""
    except ValueError:
        return ""
    for prefix in ("www.", "m.", "mobile.", "ar.", "fr."):
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix):]
    return host


def is_share_href(href: str | None) -> bool:
    """True for a link to a share endpoint (never a link a reader follows to read on)."""
    if not href:
        return False
    return _is_share_href(href.strip())


@lru_cache(maxsize=4096)
def _is_share_href(href: str) -> bool:
    low = href.lower()
    if low.startswith(_SHARE_SCHEMES):
        return True
    if low.startswith("mailto:"):
        return "subject=" in low or "body=" in low
    try:
        parsed = urlparse(href)
    except ValueError:
        return False
    query = parse_qs(parsed.query)
    if any(v.lower() in _SHARE_NETWORKS for v in query.get("share", [])):  # Jetpack's sharedaddy
        return True
    host = _host(href)
    path = parsed.path.lower()
    for share_host, paths in _SHARE_PATHS:
        if host == share_host or host.endswith("." + share_host):
            return any(path.startswith(p) for p in paths)
    return False


def is_social_profile(href: str | None) -> bool:
    if not href:
        return False
    host = _host(href)
    return any(host == h or host.endswith("." + h) for h in _SOCIAL_HOSTS) and not is_share_href(href)


class _Site:
    """Which links stay on the article's own site."""

    def __init__(self, page_url: str | None) -> None:
        self.page_url = page_url
        self.host = _host(page_url) if page_url else ""
        self.path = urlparse(page_url).path if page_url else ""
        self._seen: dict[str, bool] = {}

    def internal(self, href: str | None) -> bool:
        if not href:
            return False
        hit = self._seen.get(href)
        if hit is None:
            hit = self._seen[href] = self._internal(href.strip())
        return hit

    def _internal(self, href: str) -> bool:
        if href.startswith("#") or href.lower().startswith(("javascript:", "mailto:", "tel:", "data:")):
            return False
        if is_share_href(href):
            return False
        try:
            absolute = urljoin(self.page_url or "http://site.invalid/", href)
            parsed = urlparse(absolute)
        except ValueError:
            return False
        if parsed.scheme not in ("http", "https"):
            return False
        if not self.page_url:
            return not is_social_profile(absolute)
        return _host(absolute) == self.host and parsed.path != self.path


# --------------------------------------------------------------------------- structure

_BLOCKS = {
    "p", "div", "section", "article", "aside", "blockquote", "ul", "ol", "li", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "table", "tbody", "tr", "td",
    "header", "footer", "nav", "form", "center", "details", "summary",
}
_MEDIA = {"img", "picture", "video", "audio", "source", "svg", "object", "embed", "math", "canvas"}
_KEEP_EMPTY = {"br", "hr", "td", "th", "tr", "col", "colgroup", "wbr"} | _MEDIA
_ALWAYS_NOISE = {"script": "script", "style": "script", "noscript": "script", "template": "script",
                 "ins": "ad", "form": "form", "textarea": "form", "input": "form", "select": "form",
                 "button": "form", "label": "form"}
_AD_ATTRS = ("data-ad-client", "data-ad-slot", "data-ad-unit", "data-adunit", "data-ad", "data-google-query-id",
             "data-ad-format", "data-dfp", "data-ad-zone", "data-zone", "data-revive-zoneid")
# Only blocks up to this long are matched against labels and widget texts; five times as
# long is a wrapper of the article, only looked into.
LONG_TEXT = 300
# Short blocks only: a label, a credit or a widget line.
SHORT_TEXT = 160


def _links(el: etree._Element) -> list[etree._Element]:
    return [a for a in el.iter("a") if a.get("href")]


def _link_text_len(el: etree._Element) -> int:
    return sum(len(text_of(a)) for a in el.iter("a"))


_SENTENCE_END = re.compile(r"[.!…]['\"»”)\]]*$")


def _is_running_text(text: str) -> bool:
    """Sentences, not a title, label or date: long, or a full sentence ending in a stop.
    (Headlines are short and end without a stop, or with a question mark.)"""
    return len(text) >= 150 or (len(text) >= 20 and bool(_SENTENCE_END.search(text)))


def _first_text(el: etree._Element) -> str:
    """The first non-blank text run inside `el`, in document order."""
    for node in el.iter():
        if isinstance(node.tag, str) and node.text and node.text.strip():
            return node.text.strip()
        if node is not el and node.tail and node.tail.strip():
            return node.tail.strip()
    return ""


def _has_media(el: etree._Element) -> bool:
    return any(isinstance(d.tag, str) and d.tag in _MEDIA for d in el.iter())


class _Pass:
    def __init__(self, root: etree._Element, site: _Site, title: str | None) -> None:
        self.root = root
        self.site = site
        self.title = norm(title) if title else ""
        self.removed: Counter[str] = Counter()
        self.captions: set[str] = set()
        self.running: set[etree._Element] = set()
        """Elements holding article sentences (`_is_running_text` leaves and their ancestors);
        the set keeps their proxies alive, so identity holds. Removals only make it
        conservative."""

    def find_running_text(self) -> None:
        for block in self.root.iter(*_BLOCKS):
            if any(True for _ in block.iterdescendants(*_BLOCKS)):
                continue
            text = text_of(block)
            if not text or _link_text_len(block) >= 0.7 * len(text) or not _is_running_text(text):
                continue
            node: etree._Element | None = block
            while node is not None and node not in self.running:
                self.running.add(node)
                node = node.getparent()

    def drop(self, el: etree._Element, kind: str) -> None:
        logger.debug("noise %s: %s", kind, text_of(el)[:80])
        self.removed[kind] += 1
        remove_element(el)

    # --- per element ------------------------------------------------------------
    def classify(self, el: etree._Element) -> str | None:
        tag = el.tag
        if tag in _ALWAYS_NOISE:
            return _ALWAYS_NOISE[tag]
        if tag in ("iframe", "embed", "object"):
            return "ad"  # video embeds were turned into links before
        if any(a in el.attrib for a in _AD_ATTRS):
            return "ad"
        if tag == "a":
            if is_share_href(el.get("href")):
                return "share"
            if "sponsored" in (el.get("rel") or "").split():
                return "ad"
            return None
        text = text_of(el)
        if len(text) >= LONG_TEXT * 5:
            return None  # a wrapper of the article: look inside
        links = _links(el)
        n = norm(text) if len(text) <= LONG_TEXT else ""  # only short texts are matched
        if len(text) <= 40 and AD_LABEL.match(n):
            return "ad"
        if len(text) <= 40 and SHARE_LABEL.match(n):
            return "share"  # "شارك المقال" left alone once its icon links are gone
        if links and self._is_share_bar(el, text, links):
            return "share"
        if links and self._is_social(el, text, n, links):
            return "social"
        if el.tag == "figcaption" and n:
            if (self.title and n == self.title) or n in self.captions:
                return "caption"
            self.captions.add(n)
        elif n and n in self.captions and not links and not _has_media(el):
            return "caption"  # a theme printing the caption again under the photo
        if el in self.running:
            return None  # article sentences inside: only parts of it may go, look inside
        if n:
            controls = {d.tag for d in el.iter("form", "input", "textarea", "button")}
            if NEWSLETTER.search(n) and (controls or (len(text) <= SHORT_TEXT and CALL_TO_SUBSCRIBE.search(n))):
                return "newsletter"
            if "textarea" in controls or (len(text) <= 40 and COMMENTS.match(n)):
                return "comments"
        elif any(True for _ in el.iter("textarea")):
            return "comments"
        if links and el.tag in _BLOCKS:
            kind = self._related_or_links(el, text, links)
            if kind:
                return kind
        if len(text) <= 100 and not links and CREDIT.match(n):
            return "caption"
        return None

    def _is_share_bar(self, el: etree._Element, text: str, links: list[etree._Element]) -> bool:
        share = [a for a in links if is_share_href(a.get("href"))]
        if not share or len(share) * 2 < len(links):
            return False
        rest = len(text) - _link_text_len(el)
        return rest <= 40 and len(text) <= SHORT_TEXT

    def _is_social(self, el: etree._Element, text: str, n: str, links: list[etree._Element]) -> bool:
        social = [a for a in links if is_social_profile(a.get("href"))]
        if len(social) < 2 or len(text) > SHORT_TEXT or len(social) < len(links):
            return False
        return bool(FOLLOW.match(n)) or _link_text_len(el) >= 0.5 * len(text)

    def _related_or_links(self, el: etree._Element, text: str, links: list[etree._Element]) -> str | None:
        """`el` holds no running text here (checked by the caller)."""
        internal = [a for a in links if self.site.internal(a.get("href"))]
        if not internal:
            return None
        first = norm(_first_text(el))
        if first and (RELATED_LABEL.match(first) or RELATED_OPENING.match(first)):
            return "related"
        linked = _link_text_len(el)
        if len(internal) >= 2 and linked >= 0.8 * len(text) and len(internal) * 2 >= len(links):
            return "links"
        if len(internal) == 1 and len(links) == 1 and text and linked >= 0.9 * len(text) and len(text) <= SHORT_TEXT:
            return "links"
        # Cards: each child block is a teaser whose link covers it (an empty anchor stretched
        # over the card, or the title itself).
        items = [c for c in el if isinstance(c.tag, str) and c.tag in _BLOCKS and text_of(c)]
        if len(items) >= 2 and all(self._is_card(c) for c in items):
            return "links"
        return None

    def _is_card(self, el: etree._Element) -> bool:
        text = text_of(el)
        if len(text) > 250:
            return False
        internal = [a for a in _links(el) if self.site.internal(a.get("href"))]
        if not internal:
            return False
        return any(not text_of(a) for a in internal) or _link_text_len(el) >= 0.5 * len(text)

    def is_label_only(self, el: etree._Element) -> bool:
        """A related-box label standing alone (its links follow as siblings)."""
        text = text_of(el)
        return bool(text) and len(text) <= 60 and not _links(el) and bool(RELATED_LABEL.match(norm(text)))

    def is_link_item(self, el: etree._Element) -> bool:
        if not isinstance(el.tag, str) or el.tag not in _BLOCKS:
            return False
        text = text_of(el)
        links = _links(el)
        internal = [a for a in links if self.site.internal(a.get("href"))]
        if not internal or el in self.running:
            return False
        return _link_text_len(el) >= 0.7 * len(text) or self._is_card(el)

    # --- walk ----------------------------------------------------------------------
    def walk(self, parent: etree._Element) -> None:
        children = [c for c in parent if isinstance(c.tag, str)]
        i = 0
        while i < len(children):
            child = children[i]
            i += 1
            if child.getparent() is None:
                continue
            if self.is_label_only(child):
                self.drop(child, "related")
                while i < len(children) and self.is_link_item(children[i]):
                    self.drop(children[i], "related")
                    i += 1
                continue
            kind = self.classify(child)
            if kind:
                self.drop(child, kind)
                continue
            self.walk(child)

    def embeds_to_links(self) -> None:
        """A video player iframe is the story on a video page: keep where it points."""
        for frame in [f for f in self.root.iter("iframe", "embed") if _VIDEO_EMBED.match(f.get("src") or "")]:
            src = (frame.get("src") or "").strip()
            link = etree.Element("a", href=src)
            link.text = src
            para = etree.Element("p")
            para.append(link)
            para.tail = frame.tail
            frame.getparent().replace(frame, para)
            self.removed["embed_kept"] += 1
        # An embedded tweet: its text stays (quoted material); the widget script goes.
        for quote in self.root.iter("blockquote"):
            if any("/status/" in (a.get("href") or "") for a in quote.iter("a")):
                for attr in list(quote.attrib):
                    del quote.attrib[attr]

    def prune_empty(self) -> None:
        changed = True
        while changed:
            changed = False
            for el in [e for e in self.root.iter() if isinstance(e.tag, str) and e is not self.root]:
                if el.getparent() is None or el.tag in _KEEP_EMPTY:
                    continue
                if _has_media(el):
                    continue
                raw = el.text_content() or ""
                # An inline element holding a space keeps the words around it apart.
                if raw.strip() if el.tag in _BLOCKS else raw:
                    continue
                self.drop(el, "empty")
                changed = True

    def comments_and_pis(self) -> None:
        for node in [n for n in self.root.iter() if not isinstance(n.tag, str)]:
            remove_element(node)


def remove_noise(root: etree._Element, *, page_url: str | None = None, title: str | None = None) -> Counter[str]:
    """Remove the noise inside the body element `root`, in place; returns what was removed by kind.

    `page_url` tells links to the site's own articles from links elsewhere (without it
    every non-social web link counts as the site's); `title`, the headline, lets a caption
    that only repeats it go."""
    work = _Pass(root, _Site(page_url), title)
    work.comments_and_pis()
    work.embeds_to_links()
    work.find_running_text()
    work.walk(root)
    work.prune_empty()
    if work.removed:
        logger.debug("noise removed from %s: %s", page_url or "a body", dict(work.removed))
    return work.removed


def clean_fragment(fragment: str, *, page_url: str | None = None, title: str | None = None) -> str:
    """`fragment` (HTML of a body's content) without its noise, as HTML."""
    if not fragment.strip():
        return ""
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    remove_noise(root, page_url=page_url, title=title)
    out = [root.text or ""]
    out.extend(etree.tostring(c, encoding="unicode", method="html") for c in root)
    return "".join(out).strip()


"""Hiba Press (ar.hibapress.com, Jannah theme + Yoast): page object and crawl plan.

Discovery: section listings (``/section-<N>.html``, ``ul#posts-container``) → REST API.
The displayed date is relative (``منذ 3 ساعات``); the machine-readable one comes from the
Yoast JSON-LD graph / ``article:published_time``. There is no author element: the first
body paragraph is the desk or author (``هبة بريس ـ رياضة``); it becomes `author` and
leaves the body.
"""

from __future__ import annotations

import re

from spiders.base import NewsSpider
from spiders.page import ArticlePage

# Section numbers from shared/sites.md: 3 سياسة, 19 حوادث, 8 فن, 24 مهجر, 22 رياضة, 10 بلا حدود,
# 2 مجتمع, 20 إقتصاد, 9 آراء, 99 متفرقات, 6 شؤون دينية, 11 فيديوهات.
SECTION_IDS = (3, 19, 8, 24, 22, 10, 2, 20, 9, 99, 6, 11)


class HibapressArticlePage(ArticlePage):
    title_css = "h1.post-title.entry-title, div.entry-header h1"
    body_css = "div.entry-content"
    date_displayed_css = "div.entry-header span.date.meta-item, span.date.meta-item"
    image_css = "div.featured-area-inner img, figure.single-featured-image img"
    section_css = "div.entry-header span.post-cat-wrap a.post-cat, #breadcrumb a:nth-of-type(2)"
    tags_css = "div.post-bottom-meta a[rel~=tag], span.tagcloud a"
    boilerplate_css = ("div.share-buttons", "div.post-shortlink", "div.stream-item")
    lead_byline = re.compile(r"^هب[ةه]\s*بريس\s*[-ـ–—|:،]")
    url_id = re.compile(r"details-(\d+)\.html")
    site_names = ("هبة بريس", "Hibapress", "Hiba Press")


class HibapressSpider(NewsSpider):
    name = "hibapress"
    page_class = HibapressArticlePage
    discovery = ("sections", "wp-json")
    section_paths = tuple(f"/section-{n}.html" for n in SECTION_IDS)
    listing_link_css = "ul#posts-container li div h2 a::attr(href), ul#posts-container h2.post-title a::attr(href)"
    next_page_css = 'link[rel="next"]::attr(href), a.next::attr(href), .pages-nav a.next::attr(href), a[rel="next"]::attr(href)'
    # 2020-21 shape, current one unknown (shared/sites.md): it ranks listing links, and links of
    # another shape are probed by their content (docs/spiders.md)
    article_url = re.compile(r"/details-\d+\.html$")

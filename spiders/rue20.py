"""Zanqa 20 (rue20.com): page object and crawl plan.

Discovery: RSS → sitemap → REST API (a feed that is entirely new continues into the
sitemap for older articles). Articles ``/<id>.html``; generic WordPress theme markup and
JSON-LD ``NewsArticle``. The body opens with a dateline ``زنقة 20 | الرباط``: it is kept in
``extra["dateline"]``, not in the body; RSS items end with ``الخبر … ظهر أولاً على زنقة 20.``
which is boilerplate.
"""

from __future__ import annotations

import re

from spiders.base import NewsSpider
from spiders.page import ArticlePage


class Rue20ArticlePage(ArticlePage):
    title_css = "h1.entry-title"
    body_css = "div.entry-content"
    date_displayed_css = "time.entry-date"
    date_machine_css = "time.entry-date::attr(datetime)"
    author_css = ".byline .author a, a[rel~=author]"
    section_css = ".cat-links a, a[rel~=category]"
    tags_css = ".tags-links a, a[rel=tag]"
    image_css = ".post-thumbnail img, figure.wp-block-image img"
    lead_byline = re.compile(r"^زنق[ةه]\s*20\s*[|｜\-ـ–—]")
    lead_byline_field = "dateline"
    url_id = re.compile(r"/(\d+)\.html")
    site_names = ("زنقة 20", "Rue20", "rue20")


class Rue20Spider(NewsSpider):
    name = "rue20"
    page_class = Rue20ArticlePage
    discovery = ("rss", "sitemap", "wp-json")
    # ranks listing links only (docs/spiders.md); feed, post sitemap and API entries are taken as they are
    article_url = re.compile(r"/\d+\.html$")

"""LE12 (le12.ma): page object and crawl plan.

Discovery: REST API → RSS. Articles ``/article/<id>/``; JSON-LD ``NewsArticle``;
``.entry-header h1``, ``.entry-content``, ``.featured-image img``; the displayed date is
in Arabic-Indic digits (``١٦-٠٧-٢٠٢٥``) in ``span.entry-time``.
"""

from __future__ import annotations

import re

from spiders.base import NewsSpider
from spiders.page import ArticlePage


class Le12ArticlePage(ArticlePage):
    title_css = ".entry-header h1"
    body_css = ".entry-content"
    date_displayed_css = "span.entry-time"
    image_css = ".featured-image img"
    section_css = ".entry-header .cat-links a, .entry-category a"
    author_css = ".entry-header .entry-author"
    tags_css = ".entry-tags a"
    url_id = re.compile(r"/article/(\d+)")
    site_names = ("LE12", "le12.ma", "LE12.ma")


class Le12Spider(NewsSpider):
    name = "le12"
    page_class = Le12ArticlePage
    discovery = ("wp-json", "rss")
    # ranks listing links only (docs/spiders.md); API and feed entries are taken whatever their shape
    article_url = re.compile(r"/article/\d+/?$")

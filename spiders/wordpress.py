"""The generic WordPress news spider: a site described only in config, no code.

``scrapy crawl wordpress -a source=<id>`` (or ``akhbar crawl <id>`` for a source whose
``spider = "wordpress"``). Discovery follows the source's ``discovery`` list; the page
object reads the default-theme markup (``h1.entry-title``, ``div.entry-content``,
``time.entry-date[datetime]``, ``cat-links``/``tags-links``) on top of JSON-LD and meta,
and the generic extractor covers the rest. It knows no article URL shape: every entry of the
site's REST API, feed and post sitemap is an article, and so is every listing link.
"""

from __future__ import annotations

from typing import Any

from spiders.base import NewsSpider
from spiders.page import ArticlePage


class WordPressArticlePage(ArticlePage):
    title_css = "h1.entry-title, article h1"
    body_css = "div.entry-content, div.post-content, div.td-post-content"
    date_machine_css = "time.entry-date::attr(datetime), time.published::attr(datetime)"
    date_displayed_css = "time.entry-date, time.published"
    date_modified_css = "time.updated::attr(datetime)"
    author_css = ".byline .author, .author.vcard, a[rel~=author]"
    section_css = ".cat-links a, a[rel~=category]"
    tags_css = ".tags-links a, a[rel=tag]"
    image_css = ".post-thumbnail img, figure.wp-post-image img, img.wp-post-image"


class WordPressSpider(NewsSpider):
    name = "wordpress"
    page_class = WordPressArticlePage
    discovery = None  # from the source's config entry

    def __init__(self, *args: Any, source: str | None = None, **kwargs: Any) -> None:
        if not source:
            raise ValueError("wordpress: -a source=<id> is required (a [sources.<id>] entry of the sources file)")
        super().__init__(*args, source=source, **kwargs)

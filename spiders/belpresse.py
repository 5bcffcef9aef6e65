"""Belpress (www.belpresse.com): page object and crawl plan.

Nothing reliable is known of its markup (served in windows-1256, only ``og:title`` /
``og:url`` meta, no JSON-LD), so the page object declares no selectors of its own beyond
the headline wrapper: the generic extractor finds the body, date and image. Discovery
follows the config's ``discovery`` list.
"""

from __future__ import annotations

import re

from spiders.base import NewsSpider
from spiders.page import ArticlePage


class BelpresseArticlePage(ArticlePage):
    title_css = "div.bp-headline h1"
    body_css = "div.bp-text"
    site_names = ("بلبريس", "Belpresse", "Belpress")


class BelpresseSpider(NewsSpider):
    name = "belpresse"
    page_class = BelpresseArticlePage
    discovery = None  # from sources.toml
    # A guess (the French edition shows /<category>/<slug>/): it only ranks listing links and
    # bare-sitemap entries; API, feed and post sitemap entries are taken whatever their shape.
    article_url = re.compile(r"/\d{4}/\d{2}/[^/]+/?$")

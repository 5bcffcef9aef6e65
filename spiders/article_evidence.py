"""Is a fetched page an article? Decided by its content, never by the shape of its URL.

Discovery probes listing links whose URL does not look like the site's articles
(`NewsSpider.parse_probe`): the site may have changed its permalinks, or the link may point
at a tag page, a static page or the home page. The page object has already parsed the
page; this reads the same JSON-LD and meta (`spiders.extract`) and the extracted article:

1. WordPress body classes of a listing, a static page or an error page (``archive``,
   ``category``, ``home``, ``page``, ``error404`` ...): not an article, whatever else it says
   (Yoast prints ``og:type`` article on static pages too).
2. A schema.org ``Article`` / ``NewsArticle`` / ``BlogPosting`` object in its JSON-LD.
3. ``og:type`` ``article``; any other ``og:type`` (``website``) says it is not one.
4. A real article body: a title and at least `MIN_BODY_CHARS` characters in
   `MIN_BODY_PARAGRAPHS` paragraphs, from the site's body selector or the generic extractor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spiders.extract import clean_text, extract_jsonld

if TYPE_CHECKING:
    from crawler.items import Article
    from spiders.page import ArticlePage

# The shortest report of the bundled sample has 376 characters in 3 paragraphs; a listing's
# excerpts never reach the body extractors (its body classes and og:type come first).
MIN_BODY_CHARS = 300
MIN_BODY_PARAGRAPHS = 2
# body_class() tokens WordPress prints on everything that is not a single post
NOT_ARTICLE_BODY_CLASSES = frozenset({
    "archive", "category", "tag", "tax", "author", "date", "search", "search-results", "home",
    "blog", "error404", "page", "attachment", "paged",
})


def article_evidence(page: ArticlePage, article: Article) -> str | None:
    """Why `page` is an article (``json-ld``, ``og:type``, ``body``), or None when it is not."""
    sel = page.sel
    classes = {c for value in sel.xpath("//body/@class").getall() for c in value.split()}
    if classes & NOT_ARTICLE_BODY_CLASSES:
        return None
    if extract_jsonld(sel):  # fields of the page's first object of an article type
        return "json-ld"
    og_types = {(clean_text(t) or "").lower() for t in sel.css('meta[property="og:type"]::attr(content)').getall()}
    if "article" in og_types:
        return "og:type"
    if og_types - {""}:
        return None
    body = article.body_text or ""
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    if article.title and len(body) >= MIN_BODY_CHARS and len(paragraphs) >= MIN_BODY_PARAGRAPHS:
        return "body"
    return None

"""The machine-readable side every site shares: REST API, RSS, sitemaps, robots.txt.

Shapes follow WordPress core (``/wp-json/wp/v2/posts``, ``X-WP-Total``, the 400
``rest_post_invalid_page_number`` past the last page, RSS 2.0 with
``content:encoded``, Yoast-like sitemap index).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from crawler.snapshot import dates
from crawler.snapshot.catalog import CASABLANCA, Post
from crawler.snapshot.renderers.base import Renderer

FEED_SIZE = 20
MAX_PER_PAGE = 100


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> bytes:
        return json.dumps({"code": self.code, "message": self.message, "data": {"status": self.status}}).encode()


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _wp_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def _parse_iso(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, "rest_invalid_param", f"Invalid date: {value!r}") from exc
    # WordPress reads a date without offset in the site's timezone
    return dt if dt.tzinfo else dt.replace(tzinfo=CASABLANCA)


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from exc


def post_json(r: Renderer, post: Post, embed: bool) -> dict[str, Any]:
    url = r.url(post.path)
    tag_ids = [1000 + i for i, _ in enumerate(post.tags)]
    obj: dict[str, Any] = {
        "id": post.id,
        "date": _wp_time(post.published),
        "date_gmt": _wp_time(post.published_utc),
        "guid": {"rendered": r.url(f"/?p={post.id}")},
        "modified": _wp_time(post.modified),
        "modified_gmt": _wp_time(post.modified_utc),
        "slug": post.slug,
        "status": "publish",
        "type": "post",
        "link": url,
        "title": {"rendered": escape(post.title, quote=False)},
        "content": {"rendered": r.content_html(post), "protected": False},
        "excerpt": {"rendered": f"<p>{escape(r.excerpt(post), quote=False)}</p>\n", "protected": False},
        "author": 1 + (post.id % 5),
        "featured_media": post.media_id,
        "comment_status": "closed",
        "format": "standard",
        "categories": [post.section.cat_id],
        "tags": tag_ids,
        "_links": {"self": [{"href": r.url(f"/wp-json/wp/v2/posts/{post.id}")}]},
    }
    if embed:
        obj["_embedded"] = {
            "author": [{"id": obj["author"], "name": author_name(post), "slug": f"author-{obj['author']}"}],
            "wp:featuredmedia": [
                {"id": post.media_id, "source_url": r.url(post.image_path), "media_type": "image", "mime_type": "image/jpeg"}
            ],
            "wp:term": [
                [{"id": post.section.cat_id, "name": post.section.name, "slug": post.section.slug, "taxonomy": "category",
                  "link": r.url(r.cat.section_path(post.section))}],
                [{"id": tid, "name": t, "slug": t.replace(" ", "-"), "taxonomy": "post_tag"} for tid, t in zip(tag_ids, post.tags)],
            ],
        }
    return obj


def author_name(post: Post) -> str:
    # Hiba Press posts under one site account; the desk is in the body
    return "هبة بريس" if post.site == "hibapress" else post.author


def api_posts(r: Renderer, params: dict[str, str]) -> tuple[list[dict[str, Any]], int, int]:
    """(page of posts, total, total pages); raises ApiError like WordPress."""
    per_page = min(max(1, _int_param(params, "per_page", 10)), MAX_PER_PAGE)
    page = _int_param(params, "page", 1)
    if page < 1:
        raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): page")
    posts = r.cat.posts
    if params.get("categories"):
        try:
            wanted = {int(x) for x in params["categories"].split(",") if x}
        except ValueError as exc:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): categories") from exc
        posts = [p for p in posts if p.section.cat_id in wanted]
    if params.get("after"):
        after = _parse_iso(params["after"])
        posts = [p for p in posts if p.published > after]
    if params.get("before"):
        before = _parse_iso(params["before"])
        posts = [p for p in posts if p.published < before]
    if params.get("order") == "asc":
        posts = list(reversed(posts))
    total = len(posts)
    pages = -(-total // per_page)
    if page > max(1, pages):
        raise ApiError(400, "rest_post_invalid_page_number",
                       "The page number requested is larger than the number of pages available.")
    chunk = posts[(page - 1) * per_page : page * per_page]
    embed = "_embed" in params
    return [post_json(r, p, embed) for p in chunk], total, pages


def api_categories(r: Renderer) -> list[dict[str, Any]]:
    return [
        {"id": s.cat_id, "count": len(r.cat.section_posts(s)), "name": s.name, "slug": s.slug,
         "taxonomy": "category", "parent": 0, "link": r.url(r.cat.section_path(s))}
        for s in r.spec.sections
    ]


def rss(r: Renderer, posts: list[Post], title: str, self_path: str) -> str:
    items = []
    for p in posts[:FEED_SIZE]:
        url = r.url(p.path)
        content = r.content_html(p)
        desc = r.excerpt(p, 300)
        if r.spec.id == "rue20":
            # the footer line a WordPress plugin appends to each item
            desc += f" الخبر {p.title} ظهر أولاً على {r.spec.name}."
            content += (f'<p>الخبر <a href="{escape(url)}">{escape(p.title)}</a> ظهر أولاً على '
                        f'<a href="{escape(r.url("/"))}">{escape(r.spec.name)}</a>.</p>\n')
        cats = "".join(f"<category>{cdata(c)}</category>" for c in [p.section.name, *p.tags])
        items.append(
            "<item>\n"
            f"<title>{xml_escape(p.title)}</title>\n<link>{xml_escape(url)}</link>\n"
            f"<dc:creator>{cdata(author_name(p))}</dc:creator>\n"
            f"<pubDate>{dates.rfc822(p.published_utc)}</pubDate>\n{cats}\n"
            f'<guid isPermaLink="false">{xml_escape(r.url(f"/?p={p.id}"))}</guid>\n'
            f"<description>{cdata(desc)}</description>\n"
            f"<content:encoded>{cdata(content)}</content:encoded>\n"
            "</item>\n"
        )
    last = posts[0].published_utc if posts else r.cat.now
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{xml_escape(title)}</title>\n"
        f'<atom:link href="{xml_escape(r.url(self_path))}" rel="self" type="application/rss+xml"/>\n'
        f"<link>{xml_escape(r.url('/'))}</link>\n<description>{xml_escape(r.spec.name)}</description>\n"
        f"<lastBuildDate>{dates.rfc822(last.astimezone(UTC))}</lastBuildDate>\n<language>ar</language>\n"
        + "".join(items)
        + "</channel>\n</rss>\n"
    )


def robots(r: Renderer) -> str:
    return (
        "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
        f"Sitemap: {r.url('/sitemap.xml')}\n"
    )


def sitemap_index(r: Renderer) -> str:
    last = r.cat.posts[0].modified_utc.isoformat() if r.cat.posts else r.cat.now.isoformat()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"<sitemap><loc>{xml_escape(r.url('/post-sitemap.xml'))}</loc><lastmod>{last}</lastmod></sitemap>\n"
        "</sitemapindex>\n"
    )


def post_sitemap(r: Renderer) -> str:
    urls = "".join(
        f"<url><loc>{xml_escape(r.url(p.path))}</loc><lastmod>{p.modified_utc.isoformat()}</lastmod></url>\n"
        for p in r.cat.posts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n"
    )

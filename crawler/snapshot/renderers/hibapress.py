"""Hiba Press: Jannah theme, relative dates, desk as first paragraph, Yoast graph JSON-LD."""

from __future__ import annotations

from typing import Any

from crawler.snapshot import dates
from crawler.snapshot.catalog import Post
from crawler.snapshot.renderers.base import Renderer, e
from crawler.snapshot.sites import Section


class HibapressRenderer(Renderer):
    def displayed_date(self, post: Post) -> str:
        return dates.relative(post.published, self.cat.now)

    def article_meta(self, post: Post) -> str:
        url = self.url(post.path)
        graph: dict[str, Any] = {
            "@context": "https://schema.org",
            "@graph": [
                {
                    "@type": ["NewsArticle", "Article"],
                    "@id": f"{url}#article",
                    "isPartOf": {"@id": url},
                    "headline": post.title,
                    "datePublished": post.published.isoformat(),
                    "dateModified": post.modified.isoformat(),
                    "author": {"name": "هبة بريس", "@id": f"{self.url('/')}#/schema/person/1"},
                    "articleSection": [post.section.name],
                    "keywords": post.tags,
                    "image": {"@id": f"{url}#primaryimage"},
                    "inLanguage": "ar",
                },
                {"@type": "WebPage", "@id": url, "url": url, "name": post.title, "datePublished": post.published.isoformat()},
                {"@type": "ImageObject", "@id": f"{url}#primaryimage", "url": self.url(post.image_path), "contentUrl": self.url(post.image_path)},
                {"@type": "Person", "@id": f"{self.url('/')}#/schema/person/1", "name": "هبة بريس"},
            ],
        }
        return self.og_meta(post) + self.article_time_meta(post) + self.ld_script(graph, "yoast-schema-graph")

    def article_main(self, post: Post) -> str:
        return (
            '<div id="tie-wrapper"><div class="main-content" role="main">\n'
            '<article id="the-post" class="container-wrapper post-content">\n'
            '<header class="entry-header-outer"><div class="entry-header">'
            f'<span class="post-cat-wrap"><a class="post-cat" href="{e(self.url(self.cat.section_path(post.section)))}">{e(post.section.name)}</a></span>'
            + (f'<h1 class="post-title entry-title">{e(post.title)}</h1>' if post.title else "")
            + '<div class="post-meta"><span class="date meta-item tie-icon">'
            f"{e(self.displayed_date(post))}</span></div></div></header>\n"
            f'<div class="featured-area"><div class="featured-area-inner"><figure class="single-featured-image">'
            f'<img class="attachment-jannah-image-post wp-post-image" src="{e(self.url(post.image_path))}" alt=""></figure></div></div>\n'
            f"{self.share(post)}"
            f'<div class="entry-content entry clearfix">\n{self.body_paragraphs(post)}</div>\n'
            f"{self.app_line()}"
            "</article></div></div>\n"
        )

    def in_body_noise(self, post: Post) -> list[tuple[int, str]]:
        links = "".join(f'<p><a href="{e(self.url(p.path))}">{e(p.title)}</a></p>\n' for p in self.others(post, 2))
        return [
            (-1, '<div class="stream-item stream-item-above-post-content"><span class="stream-title">إعلان</span>'
                 '<div class="stream-item-size"><ins class="adsbygoogle" data-ad-client="ca-pub-0000" data-ad-slot="4411"></ins>'
                 '<script>(adsbygoogle = window.adsbygoogle || []).push({});</script></div></div>\n'),
            (2, f"<p><strong>إقرأ المزيد :</strong></p>\n{links}"),
            (99, f'<div class="share-buttons share-buttons-bottom"><span class="share-title">شارك</span>{self.share_links(post)}</div>\n'),
            (99, '<div class="stream-item stream-item-below-post-content"><div class="stream-item-size"></div></div>\n'),
        ]

    def card(self, post: Post) -> str:
        return (
            '<li class="post-item tie-standard">'
            f'<a class="post-thumb" href="{e(self.url(post.path))}"><img class="wp-post-image" src="{e(self.url(post.image_path))}" alt=""></a>'
            f'<div class="post-details"><span class="date meta-item">{e(self.displayed_date(post))}</span>'
            f'<h2 class="post-title"><a href="{e(self.url(post.path))}">{e(post.title)}</a></h2>'
            f'<p class="post-excerpt">{e(self.excerpt(post))}</p></div></li>\n'
        )

    def listing_body(self, section: Section, posts: list[Post], pager: str) -> str:
        items = "".join(self.card(p) for p in posts)
        return (
            f'<div class="mag-box"><h1 class="page-title">{e(section.name)}</h1>\n'
            f'<ul id="posts-container" class="posts-items">{items}</ul>\n{pager}</div>\n'
        )

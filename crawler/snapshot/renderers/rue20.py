"""Zanqa 20: generic WordPress theme markup, Egyptian month names, dateline first paragraph."""

from __future__ import annotations

from crawler.snapshot import dates
from crawler.snapshot.catalog import Post
from crawler.snapshot.renderers.base import Renderer, e


class Rue20Renderer(Renderer):
    def displayed_date(self, post: Post) -> str:
        return dates.rue20(post.published, post.record.get("date_style", "current"))

    def article_meta(self, post: Post) -> str:
        return self.og_meta(post) + self.article_time_meta(post) + self.json_ld(post)

    def article_main(self, post: Post) -> str:
        return (
            '<div id="primary" class="content-area"><main id="main" class="site-main">\n'
            f'<article id="post-{post.id}" class="post-{post.id} post type-post status-publish format-standard has-post-thumbnail">\n'
            '<header class="entry-header">'
            + (f'<h1 class="entry-title">{e(post.title)}</h1>' if post.title else "")
            + '<div class="entry-meta"><span class="posted-on">'
            f'<time class="entry-date published" datetime="{post.published.isoformat()}">{e(self.displayed_date(post))}</time></span> '
            f'<span class="byline"><span class="author vcard"><a class="url fn n" href="{e(self.url("/author/" + str(post.id % 7) + "/"))}">{e(post.author)}</a></span></span>'
            f'<span class="cat-links"><a href="{e(self.url(self.cat.section_path(post.section)))}" rel="category tag">{e(post.section.name)}</a></span>'
            "</div></header>\n"
            f'<div class="post-thumbnail"><img class="attachment-post-thumbnail wp-post-image" src="{e(self.url(post.image_path))}" alt=""></div>\n'
            f"{self.share(post)}"
            f'<div class="entry-content">\n{self.body_paragraphs(post)}</div>\n'
            f"{self.app_line()}"
            "</article></main></div>\n"
        )

    def card(self, post: Post) -> str:
        return (
            f'<article class="post-{post.id} post type-post">'
            f'<h2 class="entry-title"><a href="{e(self.url(post.path))}" rel="bookmark">{e(post.title)}</a></h2>'
            f'<time class="entry-date" datetime="{post.published.isoformat()}">{e(self.displayed_date(post))}</time>'
            f'<div class="entry-summary"><p>{e(self.excerpt(post))}</p></div></article>\n'
        )

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

    def in_body_noise(self, post: Post) -> list[tuple[int, str]]:
        u = e(self.url(post.path))
        share = "".join(
            f'<li class="share-{net}"><a rel="nofollow noopener noreferrer" class="share-{net} sd-button" href="{u}?share={net}" target="_blank"><span>{label}</span></a></li>'
            for net, label in (("facebook", "فيسبوك"), ("twitter", "X"), ("whatsapp", "واتساب"))
        )
        items = "".join(
            f'<div class="jp-relatedposts-post"><h4 class="jp-relatedposts-post-title"><a href="{e(self.url(p.path))}">{e(p.title)}</a></h4>'
            f'<p class="jp-relatedposts-post-date">{e(self.displayed_date(p))}</p>'
            f'<p class="jp-relatedposts-post-context">في &quot;{e(p.section.name)}&quot;</p></div>'
            for p in self.related(post)
        )
        return [
            (99, f'<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block sd-social">'
                 f'<h3 class="sd-title">شارك هذا:</h3><div class="sd-content"><ul>{share}<li class="share-end"></li></ul></div></div></div>\n'),
            (99, f'<div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline"><em>مواضيع ذات صلة</em></h3>'
                 f'<div class="jp-relatedposts-items">{items}</div></div>\n'),
            (99, self.newsletter_box()),
        ]

    def card(self, post: Post) -> str:
        return (
            f'<article class="post-{post.id} post type-post">'
            f'<h2 class="entry-title"><a href="{e(self.url(post.path))}" rel="bookmark">{e(post.title)}</a></h2>'
            f'<time class="entry-date" datetime="{post.published.isoformat()}">{e(self.displayed_date(post))}</time>'
            f'<div class="entry-summary"><p>{e(self.excerpt(post))}</p></div></article>\n'
        )

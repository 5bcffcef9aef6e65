"""wpdemo: a WordPress default-theme news site no spider knows (no JSON-LD)."""

from __future__ import annotations

from crawler.snapshot import dates
from crawler.snapshot.catalog import Post
from crawler.snapshot.renderers.base import Renderer, e


class WpdemoRenderer(Renderer):
    def displayed_date(self, post: Post) -> str:
        return dates.plain(post.published)

    def article_main(self, post: Post) -> str:
        return (
            '<main id="main" class="site-main">\n'
            f'<article id="post-{post.id}" class="post type-post status-publish">\n'
            '<header class="entry-header">'
            + (f'<h1 class="entry-title">{e(post.title)}</h1>' if post.title else "")
            + '<div class="entry-meta">'
            f'<time class="entry-date published" datetime="{post.published.isoformat()}">{e(self.displayed_date(post))}</time> '
            f'<span class="byline">بقلم <span class="author vcard">{e(post.author)}</span></span> '
            f'<span class="cat-links"><a href="{e(self.url(self.cat.section_path(post.section)))}" rel="category tag">{e(post.section.name)}</a></span>'
            "</div></header>\n"
            f'<figure class="post-thumbnail"><img class="wp-post-image" src="{e(self.url(post.image_path))}" alt=""></figure>\n'
            f"{self.share(post)}"
            f'<div class="entry-content">\n{self.body_paragraphs(post)}</div>\n'
            f"{self.app_line()}"
            "</article></main>\n"
        )

    def card(self, post: Post) -> str:
        return (
            f'<article class="post-{post.id} post">'
            f'<h2 class="entry-title"><a href="{e(self.url(post.path))}">{e(post.title)}</a></h2>'
            f'<time class="entry-date" datetime="{post.published.isoformat()}">{e(self.displayed_date(post))}</time></article>\n'
        )

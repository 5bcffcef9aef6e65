"""Hespress: Bootstrap cards, Moroccan month names, OpenGraph + article:* meta, no JSON-LD."""

from __future__ import annotations

import zlib

from crawler.snapshot import dates
from crawler.snapshot.catalog import Post
from crawler.snapshot.renderers.base import Renderer, e


class HespressRenderer(Renderer):
    def displayed_date(self, post: Post) -> str:
        return dates.hespress(post.published, old_cms=post.record.get("date_style") == "old")

    def article_main(self, post: Post) -> str:
        tags = "".join(f'<a class="tag_post_tag" href="{e(self.url("/tag/" + t.replace(" ", "-") + "/"))}">{e(t)}</a>' for t in post.tags)
        title = f'<h1 class="post-title">{e(post.title)}</h1>\n' if post.title else ""
        return (
            '<main class="container"><div class="row"><article class="col-12 col-lg-8 post">\n'
            '<nav aria-label="breadcrumb"><ol class="breadcrumb">'
            f'<li class="breadcrumb-item"><a href="{e(self.url("/"))}">الرئيسية</a></li>'
            f'<li class="breadcrumb-item"><a href="{e(self.url(self.cat.section_path(post.section)))}">{e(post.section.name)}</a></li>'
            f'<li class="breadcrumb-item active" aria-current="page">{e(post.title)}</li></ol></nav>\n'
            f"{title}"
            '<div class="post-meta">'
            f'<span class="author"><a href="{e(self.url("/author/" + str(zlib.crc32(post.author.encode()) % 997) + "/"))}">{e(post.author)}</a></span> '
            f'<span class="date-post">{e(self.displayed_date(post))}</span></div>\n'
            f'{self.share(post)}'
            f'<div class="post-thumbnail featured-img"><img class="wp-post-image" src="{e(self.url(post.image_path))}" alt="{e(post.title)}" width="1024" height="576"></div>\n'
            f'<div class="article-content">\n{self.body_paragraphs(post)}</div>\n'
            f'<section class="box-tags">{tags}</section>\n'
            f"{self.app_line()}"
            "</article></div></main>\n"
        )

    def in_body_noise(self, post: Post) -> list[tuple[int, str]]:
        inline = self.others(post, 1)
        cards = "".join(
            f'<div class="card"><a class="stretched-link" href="{e(self.url(p.path))}"></a>'
            f'<h3 class="card-title">{e(p.title)}</h3></div>'
            for p in self.related(post)
        )
        return [
            (-1, f'<div class="share-post">{self.share_links(post)}</div>\n'),
            *[(0, f'<p><strong>اقرأ أيضا:</strong> <a href="{e(self.url(p.path))}">{e(p.title)}</a></p>\n') for p in inline],
            (2, f'<figure class="wp-block-image"><img src="{e(self.url(f"/wp-content/uploads/{post.id}-inline.jpg"))}" alt="">'
                f'<figcaption>{e(post.title)}</figcaption></figure>\n<p class="credit">الصورة: أرشيف هسبريس</p>\n'),
            (99, f'<div class="related-posts"><h3 class="section-title">مقالات ذات صلة</h3>{cards}</div>\n'),
            (99, self.newsletter_box()),
        ]

    def card(self, post: Post) -> str:
        return (
            '<div class="col-12 col-sm-6 col-lg-4"><div class="card overlay">'
            f'<div class="ratio-medium"><img class="wp-post-image" src="{e(self.url(post.image_path))}" alt=""></div>'
            f'<div class="card-img-overlay"><span class="cat">{e(post.section.name)}</span>'
            f'<h3 class="card-title">{e(post.title)}</h3>'
            f'<small class="text-muted time">{e(self.displayed_date(post))}</small></div>'
            f'<a class="stretched-link" href="{e(self.url(post.path))}" title="{e(post.title)}"></a>'
            "</div></div>\n"
        )

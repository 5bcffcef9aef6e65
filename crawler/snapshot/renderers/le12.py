"""LE12: Arabic-Indic day-first dates, JSON-LD NewsArticle."""

from __future__ import annotations

from crawler.snapshot import dates
from crawler.snapshot.catalog import Post
from crawler.snapshot.renderers.base import Renderer, e


class Le12Renderer(Renderer):
    def displayed_date(self, post: Post) -> str:
        return dates.le12(post.published)

    def article_meta(self, post: Post) -> str:
        return self.og_meta(post) + self.article_time_meta(post) + self.json_ld(post)

    def article_main(self, post: Post) -> str:
        return (
            '<div id="content" class="site-content"><article class="post type-post status-publish">\n'
            '<header class="entry-header">'
            f'<span class="cat-links"><a href="{e(self.url(self.cat.section_path(post.section)))}" rel="category tag">{e(post.section.name)}</a></span>'
            + (f'<h1 class="entry-title">{e(post.title)}</h1>' if post.title else "")
            + f'<div class="entry-meta"><span class="entry-author">{e(post.author)}</span> '
            f'<span class="entry-time">{e(self.displayed_date(post))}</span></div></header>\n'
            f'<div class="featured-image"><img src="{e(self.url(post.image_path))}" alt="{e(post.title)}"></div>\n'
            f"{self.share(post)}"
            f'<div class="entry-content">\n{self.body_paragraphs(post)}</div>\n'
            f"{self.app_line()}"
            "</article></div>\n"
        )

    def in_body_noise(self, post: Post) -> list[tuple[int, str]]:
        inline = self.others(post, 1, skip=5)
        most = "".join(f'<li><a href="{e(self.url(p.path))}">{e(p.title)}</a></li>' for p in self.others(post, 4, skip=9))
        return [
            *[(0, f'<p><strong>إقرأ أيضا: <a href="{e(self.url(p.path))}">{e(p.title)}</a></strong></p>\n') for p in inline],
            (2, f'<figure class="wp-caption"><img src="{e(self.url(f"/wp-content/uploads/{post.id}-photo.jpg"))}" alt="{e(post.title)}">'
                f'<figcaption class="wp-caption-text">{e(post.title)}</figcaption></figure>\n<p><em>(صورة: أرشيف)</em></p>\n'),
            (3, '<div class="le12-ad"><iframe src="https://ads.le12.ma/serve?zone=inarticle" width="300" height="250"></iframe></div>\n'),
            (99, f'<div class="most-read"><h4 class="widget-title">الأكثر قراءة</h4><ol>{most}</ol></div>\n'),
            (99, '<p class="follow-us">تابعوا LE12 على <a href="https://www.facebook.com/le12.ma">فيسبوك</a> و'
                 '<a href="https://twitter.com/le12ma">X</a> و<a href="https://t.me/le12ma">تيليغرام</a></p>\n'),
        ]

    def card(self, post: Post) -> str:
        return (
            '<article class="post">'
            f'<a href="{e(self.url(post.path))}"><img src="{e(self.url(post.image_path))}" alt="">'
            f'<h3 class="entry-title">{e(post.title)}</h3></a>'
            f'<a href="{e(self.url(post.path))}"><span class="entry-time">LE12{e(dates.le12(post.published).split()[0])}</span></a>'
            "</article>\n"
        )

    def home(self) -> str:
        cards = "".join(self.card(p) for p in self.cat.posts[:10])
        body = f'<main class="home"><section class="flash-news">{cards}</section></main>\n'
        return self.page(self.spec.name, "", body, "home")

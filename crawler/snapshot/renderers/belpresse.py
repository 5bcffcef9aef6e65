"""Belpress: undocumented markup (bp-* classes), og:title/og:url only, Levantine months, windows-1256."""

from __future__ import annotations

from crawler.snapshot import dates
from crawler.snapshot.catalog import Post
from crawler.snapshot.renderers.base import Renderer, e


class BelpresseRenderer(Renderer):
    charset = "windows-1256"
    next_class = "bp-pager-next"

    def displayed_date(self, post: Post) -> str:
        return dates.belpresse(post.published)

    def article_meta(self, post: Post) -> str:
        return self.og_meta(post, full=False)

    def article_main(self, post: Post) -> str:
        return (
            '<div class="bp-wrap"><div class="bp-main">\n'
            f'<div class="bp-crumbs"><a href="{e(self.url("/"))}">الرئيسية</a> › <a class="bp-cat" href="{e(self.url(self.cat.section_path(post.section)))}">{e(post.section.name)}</a></div>\n'
            + (f'<div class="bp-headline"><h1>{e(post.title)}</h1></div>\n' if post.title else '<div class="bp-headline"></div>\n')
            + f'<div class="bp-info"><span class="bp-writer">{e(post.author)}</span> '
            f'<span class="bp-date">{e(self.displayed_date(post))}</span> <span class="bp-time">{post.published:%H:%M}</span></div>\n'
            f'<div class="bp-cover"><img src="{e(self.url(post.image_path))}" alt=""></div>\n'
            f"{self.share(post)}"
            f'<div class="bp-text">\n{self.body_paragraphs(post)}</div>\n'
            f"{self.app_line()}"
            "</div></div>\n"
        )

    def in_body_noise(self, post: Post) -> list[tuple[int, str]]:
        most = "".join(f'<li><a href="{e(self.url(p.path))}">{e(p.title)}</a></li>' for p in self.others(post, 3, skip=2))
        return [
            (0, '<div class="bp-ad-300"></div>\n'),
            (2, '<div class="bp-adbox"><small>إشهار</small><div class="bp-adbox-in" data-zone="77"></div></div>\n'),
            (99, f'<div class="bp-most"><b>الأكثر قراءة</b><ol>{most}</ol></div>\n'),
            (99, f'<div class="bp-comments"><h3>أضف تعليقك</h3><form action="{e(self.url("/wp-comments-post.php"))}" method="post">'
                 '<textarea name="comment"></textarea><input type="text" name="author" placeholder="الاسم">'
                 '<button type="submit">إرسال التعليق</button></form></div>\n'),
        ]

    def card(self, post: Post) -> str:
        return (
            f'<div class="bp-item"><a class="bp-link" href="{e(self.url(post.path))}">'
            f'<img src="{e(self.url(post.image_path))}" alt=""><span class="bp-item-title">{e(post.title)}</span></a>'
            f'<span class="bp-item-date">{e(self.displayed_date(post))}</span></div>\n'
        )

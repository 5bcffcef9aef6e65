"""Shared page furniture: every site's pages carry the same kinds of boilerplate.

A renderer subclass supplies the site's own markup for the article body, header and
listing cards; the base class adds what every news page has and a spider must NOT
extract: share buttons, an "اقرأ أيضا" block inside the content, an ad slot, an
app-download / newsletter line and the footer.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

from crawler.snapshot.catalog import Post, SiteCatalog
from crawler.snapshot.sites import Section

PER_PAGE = 10


def e(text: str) -> str:
    return escape(text, quote=True)


class Renderer:
    charset = "utf-8"
    next_class = "next page-numbers"

    def __init__(self, cat: SiteCatalog) -> None:
        self.cat = cat
        self.spec = cat.spec

    # --- to override ----------------------------------------------------------
    def displayed_date(self, post: Post) -> str:
        raise NotImplementedError

    def article_main(self, post: Post) -> str:
        raise NotImplementedError

    def card(self, post: Post) -> str:
        raise NotImplementedError

    def article_meta(self, post: Post) -> str:
        """Extra <head> tags (OpenGraph, article:*, JSON-LD)."""
        return self.og_meta(post) + self.article_time_meta(post)

    # --- helpers ----------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.cat.url(path)

    def og_meta(self, post: Post, full: bool = True) -> str:
        tags = [
            f'<meta property="og:title" content="{e(post.title)}">',
            f'<meta property="og:url" content="{e(self.url(post.path))}">',
        ]
        if full:
            tags += [
                '<meta property="og:type" content="article">',
                f'<meta property="og:site_name" content="{e(self.spec.name)}">',
                f'<meta property="og:description" content="{e(self.excerpt(post))}">',
                f'<meta property="og:image" content="{e(self.url(post.image_path))}">',
            ]
        return "\n".join(tags) + "\n"

    def article_time_meta(self, post: Post) -> str:
        return (
            f'<meta property="article:published_time" content="{post.published.isoformat()}">\n'
            f'<meta property="article:modified_time" content="{post.modified.isoformat()}">\n'
            f'<meta property="article:section" content="{e(post.section.name)}">\n'
        )

    def json_ld(self, post: Post) -> str:
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "mainEntityOfPage": {"@type": "WebPage", "@id": self.url(post.path)},
            "url": self.url(post.path),
            "headline": post.title,
            "datePublished": post.published.isoformat(),
            "dateModified": post.modified.isoformat(),
            "author": {"@type": "Person", "name": post.author},
            "articleSection": post.section.name,
            "keywords": ", ".join(post.tags),
            "image": {"@type": "ImageObject", "url": self.url(post.image_path), "width": 1024, "height": 576},
            "publisher": {"@type": "Organization", "name": self.spec.name, "logo": {"@type": "ImageObject", "url": self.url("/logo.png")}},
            "inLanguage": "ar",
        }
        return self.ld_script(data)

    @staticmethod
    def ld_script(data: dict[str, Any], cls: str = "") -> str:
        body = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
        klass = f' class="{cls}"' if cls else ""
        return f'<script type="application/ld+json"{klass}>{body}</script>\n'

    def excerpt(self, post: Post, limit: int = 160) -> str:
        text = post.paragraphs[0] if post.paragraphs else ""
        return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"

    def related(self, post: Post) -> list[Post]:
        """Three other posts of the same section: the "اقرأ أيضا" block."""
        same = [p for p in self.cat.posts if p.section.slug == post.section.slug and p.id != post.id]
        return same[:3]

    def read_also(self, post: Post) -> str:
        items = "".join(f'<li><a href="{e(self.url(p.path))}">{e(p.title)}</a></li>' for p in self.related(post))
        return f'<div class="read-also related-posts"><strong>اقرأ أيضا</strong><ul>{items}</ul></div>\n'

    @staticmethod
    def ad_slot() -> str:
        return '<div class="ad-slot ads-inline" data-slot="inarticle"><span class="ad-label">إعلان</span></div>\n'

    def share(self, post: Post) -> str:
        u = e(self.url(post.path))
        return (
            '<div class="share-buttons social-share">'
            f'<a class="share-facebook" href="https://www.facebook.com/sharer.php?u={u}">فيسبوك</a>'
            f'<a class="share-twitter" href="https://twitter.com/intent/tweet?url={u}">تويتر</a>'
            f'<a class="share-whatsapp" href="whatsapp://send?text={u}">واتساب</a>'
            "</div>\n"
        )

    def app_line(self) -> str:
        return (
            '<div class="app-download newsletter">'
            f"<p>حمّلوا تطبيق {e(self.spec.name)} على هواتفكم واشتركوا في النشرة الإخبارية اليومية.</p>"
            "</div>\n"
        )

    def footer(self) -> str:
        links = "".join(f'<li><a href="{e(self.url(self.cat.section_path(s)))}">{e(s.name)}</a></li>' for s in self.spec.sections)
        return (
            f'<footer class="site-footer"><ul class="footer-menu">{links}</ul>'
            f"<p>جميع الحقوق محفوظة © {e(self.spec.name)} {self.cat.now.year}</p>"
            '<p><a href="/contact/">اتصل بنا</a> | <a href="/privacy/">سياسة الخصوصية</a></p></footer>\n'
        )

    def nav(self) -> str:
        links = "".join(f'<li><a href="{e(self.url(self.cat.section_path(s)))}">{e(s.name)}</a></li>' for s in self.spec.sections)
        return f'<nav class="main-menu"><a class="logo" href="{e(self.url("/"))}">{e(self.spec.name)}</a><ul>{links}</ul></nav>\n'

    def in_body_noise(self, post: Post) -> list[tuple[int, str]]:
        """The site's own noise inside the article body, as (after paragraph i, HTML):
        -1 is before the first paragraph, an index past the last goes after the last.
        Themes put related-links boxes, share bars, ad slots and newsletter boxes in the
        content container itself; extractors must drop them by what they are."""
        return []

    def body_paragraphs(self, post: Post, with_boilerplate: bool = True) -> str:
        """The content's <p>s, with the related block after the 2nd and an ad after the 4th,
        plus the site's `in_body_noise`."""
        paras = post.lead_paragraphs()
        noise = self.in_body_noise(post) if with_boilerplate else []
        last = len(paras) - 1
        out = [html for at, html in noise if at < 0]
        for i, para in enumerate(paras):
            out.append(f"<p>{e(para)}</p>\n")
            # a short report still carries both (after its last paragraph)
            if with_boilerplate and i == min(1, last):
                out.append(self.read_also(post))
            if with_boilerplate and i == min(3, last):
                out.append(self.ad_slot())
            out.extend(html for at, html in noise if at == i or (i == last and at > last))
        return "".join(out)

    def others(self, post: Post, n: int = 3, skip: int = 0) -> list[Post]:
        """`n` other posts of the site (any section), for "most read" boxes and inline links."""
        pool = [p for p in self.cat.posts if p.id != post.id]
        start = (post.id + skip) % len(pool) if pool else 0
        return (pool[start:] + pool[:start])[:n]

    def share_links(self, post: Post) -> str:
        """Share anchors as social networks' own buttons point them (their share endpoints)."""
        u = quote(self.url(post.path), safe="")
        t = quote(post.title, safe="")
        return (
            f'<a class="share-btn facebook" href="https://www.facebook.com/sharer/sharer.php?u={u}">'
            '<span class="share-icon fa-facebook"></span><span class="social-text">فيسبوك</span></a>'
            f'<a class="share-btn twitter" href="https://twitter.com/intent/tweet?text={t}&amp;url={u}">'
            '<span class="social-text">X</span></a>'
            f'<a class="share-btn whatsapp" href="https://api.whatsapp.com/send?text={t}%20{u}">'
            '<span class="social-text">واتساب</span></a>'
            f'<a class="share-btn telegram" href="https://telegram.me/share/url?url={u}&amp;text={t}">'
            '<span class="social-text">تيليغرام</span></a>'
        )

    def newsletter_box(self) -> str:
        return (
            '<div class="newsletter-box"><h4 class="newsletter-title">النشرة الإخبارية</h4>'
            "<p>اشترك في نشرتنا البريدية لتصلك أهم الأخبار كل صباح</p>"
            f'<form class="newsletter-form" action="{e(self.url("/newsletter/"))}" method="post">'
            '<input type="email" name="email" placeholder="بريدك الإلكتروني">'
            '<button type="submit">اشترك</button></form></div>\n'
        )

    def content_html(self, post: Post) -> str:
        """What WordPress stores as the post content (REST ``content.rendered``, RSS)."""
        return self.body_paragraphs(post, with_boilerplate=False)

    def page(self, title: str, head: str, body: str, body_class: str = "") -> str:
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="ar" dir="rtl">\n<head>\n<meta charset="{self.charset}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e(title)}</title>\n{head}"
            f'<link rel="alternate" type="application/rss+xml" title="{e(self.spec.name)}" href="{e(self.url("/feed/"))}">\n'
            f'</head>\n<body class="{body_class}">\n{self.nav()}{body}{self.footer()}</body>\n</html>\n'
        )

    # --- pages ------------------------------------------------------------------
    def article(self, post: Post) -> str:
        head = f'<link rel="canonical" href="{e(self.url(post.path))}">\n' + self.article_meta(post)
        title = f"{post.title} - {self.spec.name}" if post.title else self.spec.name
        return self.page(title, head, self.article_main(post), "single single-post")

    def listing(self, section: Section, page: int) -> str | None:
        posts = self.cat.section_posts(section)
        pages = max(1, -(-len(posts) // PER_PAGE))
        if page < 1 or page > pages:
            return None
        chunk = posts[(page - 1) * PER_PAGE : page * PER_PAGE]
        head = f'<link rel="canonical" href="{e(self.url(self.cat.section_path(section, page)))}">\n'
        nav = ""
        if page > 1:
            prev = e(self.url(self.cat.section_path(section, page - 1)))
            head += f'<link rel="prev" href="{prev}">\n'
            nav += f'<a class="prev page-numbers" href="{prev}">السابق</a>'
        if page < pages:
            nxt = e(self.url(self.cat.section_path(section, page + 1)))
            head += f'<link rel="next" href="{nxt}">\n'
            nav += f'<a class="{self.next_class}" href="{nxt}">التالي</a>'
        body = self.listing_body(section, chunk, f'<div class="pagination pages-nav">{nav}</div>\n')
        return self.page(f"{section.name} - {self.spec.name}", head, body, "archive category")

    def listing_body(self, section: Section, posts: list[Post], pager: str) -> str:
        cards = "".join(self.card(p) for p in posts)
        return f'<main class="archive"><h1 class="archive-title">{e(section.name)}</h1>\n<div class="posts">{cards}</div>\n{pager}</main>\n'

    def home(self) -> str:
        cards = "".join(self.card(p) for p in self.cat.posts[:PER_PAGE])
        body = f'<main class="home"><h2>آخر الأخبار</h2>\n<div class="posts latest">{cards}</div></main>\n'
        return self.page(self.spec.name, "", body, "home")

"""What the web app keeps in memory must never outlive what it was made from: a
publish renews the front page and the topic menu at once, a feed file changed on disk is
served new, and a name that starts leading elsewhere (a symbolic link out of ``public/``)
stops being served — all against the real server on loopback."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from crawler.archive import open_archive
from feeds.query import publish
from feeds.samples import fill_archive, sample_stories
from tests.serving_support import http_get, published_app, serving


def test_publish_renews_the_front_page_and_its_menu_at_once(tmp_path: Path) -> None:
    first = [replace(s, topic="sports") for s in sample_stories(4)]
    with serving(published_app(tmp_path, first)) as server:
        status, _, body = http_get(server.url + "/")
        assert status == 200 and b"topic=politics" not in body
        _, _, again = http_get(server.url + "/")
        assert again == body  # the same page while nothing was published
        later = [replace(s, url=s.url + "-new", title=f"خبر جديد {i}", topic="politics", story_id=None,
                         published=s.published.replace(year=s.published.year + 1))
                 for i, s in enumerate(sample_stories(2, seed=7))]
        url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        archive = open_archive(url)
        try:
            fill_archive(archive, later)
            publish(tmp_path, archive, base_url=server.url)
        finally:
            archive.close()
        status, _, body = http_get(server.url + "/")
        page = body.decode("utf-8")
        assert status == 200 and "خبر جديد 0" in page, "the publish did not renew the front page"
        assert "topic=politics" in page  # the menu now links the topic that got a feed
        status, _, body = http_get(server.url + "/?topic=politics")
        assert status == 200 and "خبر جديد 1" in body.decode("utf-8")


def test_a_changed_feed_file_is_served_new_and_a_link_out_of_public_is_not(tmp_path: Path) -> None:
    with serving(published_app(tmp_path, 6)) as server:
        feed = tmp_path / "public" / "feeds" / "all.rss"
        status, h, body = http_get(server.url + "/feeds/all.rss", {"Accept-Encoding": "gzip"})
        assert status == 200 and h["content-encoding"] == "gzip"
        etag = h["etag"]
        assert http_get(server.url + "/feeds/all.rss", {"If-None-Match": etag})[0] == 304
        # a new file under the same name (what publish does: write, then rename over)
        tmp = feed.with_name(".all.rss.tmp")
        tmp.write_bytes(feed.read_bytes().replace(b"</channel>", b"<!-- changed --></channel>"))
        os.replace(tmp, feed)
        status, h, body = http_get(server.url + "/feeds/all.rss", {"If-None-Match": etag})
        assert status == 200 and h["etag"] != etag and b"<!-- changed -->" in body
        # the name now a link to a file outside public/: refused, though its old bytes are in memory
        outside = tmp_path / "secret.rss"
        outside.write_bytes(b"<rss>secret</rss>")
        feed.unlink()
        feed.symlink_to(outside)
        status, _, body = http_get(server.url + "/feeds/all.rss")
        assert status == 404 and b"secret" not in body

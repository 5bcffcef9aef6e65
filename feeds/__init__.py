"""Feeds: build RSS 2.0, Atom 1.0, JSON Feed 1.1 and OPML from the archive, publish
them atomically into ``DIR/public/`` and serve them (with the JSON API and the
Arabic front page) from one HTTP app. See docs/feeds.md."""

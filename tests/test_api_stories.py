"""`/api/stories/{id}`: a story's canonical report, the other sites' reports and related
stories, read from a real archive on both backends after real dedup."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from crawler.api import OPENAPI, handle
from crawler.archive import open_archive
from crawler.dedup import ArchiveDedup
from crawler.items import Article

PAIRS = Path(__file__).parent / "fixtures" / "dedup" / "pairs.jsonl.gz"


def _docs() -> list[dict]:
    with gzip.open(PAIRS, "rt", encoding="utf-8") as fh:
        return [r for r in map(json.loads, fh) if r["type"] == "doc"]


def _fill(archive) -> None:
    dedup = ArchiveDedup(archive)
    for d in _docs():
        art = Article(
            url=f"https://{d['source']}.example/{d['id']}",
            source=d["source"],
            title=d["title"],
            body_text=d["body"],
            date_published=datetime.fromisoformat(d["published"]).replace(tzinfo=timezone.utc),
        )
        dedup.assign(archive.upsert_article(art).id)


def test_story_endpoint_lists_canonical_first_then_the_other_reports(archive_url: str) -> None:
    with open_archive(archive_url) as archive:
        _fill(archive)
        sizes = Counter(r["story_id"] for r in archive.fetch("SELECT story_id FROM articles"))
        story_id, size = sizes.most_common(1)[0]
        assert size >= 2
        status, body = handle(archive, "GET", f"/api/stories/{story_id}")
        assert status == 200
        assert body["story_id"] == story_id
        members = [body["canonical"], *body["also_reported_by"]]
        assert len(members) == size
        assert body["canonical"]["is_canonical"] is True
        assert not any(m["is_canonical"] for m in body["also_reported_by"])
        dates = [m["date_published"] for m in members]
        assert dates[0] == min(dates)
        assert all(m["url"].startswith("https://") and m["source"] for m in members)
        json.dumps(body)  # JSON-able as served

        # Related stories, where dedup kept any, point at other stories with a score.
        with_related = archive.fetchval("SELECT story_id FROM story_related LIMIT 1")
        assert with_related, "the labelled set holds bulletin series, which must be related"
        status, body = handle(archive, "GET", f"/api/stories/{with_related}")
        assert status == 200 and body["related"]
        for rel in body["related"]:
            assert rel["story_id"] != with_related
            assert 0 < rel["score"] <= 1


def test_story_endpoint_errors_are_clean(archive_url: str) -> None:
    with open_archive(archive_url) as archive:
        assert handle(archive, "GET", "/api/stories/s0000000000000000")[0] == 404
        status, body = handle(archive, "GET", "/api/stories/%27%3B%20drop%20table")
        assert status == 400 and "error" in body
        assert "/api/stories/{story_id}" in OPENAPI["paths"]

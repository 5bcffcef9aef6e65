"""`GET /api/stories/{id}` on the running app: a story's first report, the other sites'
reports each with what it changed against the first, and related stories, read from a
real archive on both backends after real dedup of the labelled set."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import open_archive
from feeds.web.diff import diff_reports, paragraphs_of
from feeds.web.server import WebServer
from tests.story_support import doc_url, fill_labelled, fixture_rows, get, running


@pytest.fixture()
def served(archive_url: str, tmp_path: Path) -> Iterator[tuple[WebServer, Any]]:
    with open_archive(archive_url) as archive:
        fill_labelled(archive)
        with running(tmp_path, archive_url) as server:
            yield server, archive


def _json(server: WebServer, path: str) -> tuple[int, dict[str, Any]]:
    status, headers, body = get(server, path)
    assert headers["content-type"].startswith("application/json"), (path, headers)
    return status, json.loads(body)


def test_story_lists_the_first_report_then_the_others_each_with_its_changes(served) -> None:
    server, archive = served
    sizes = Counter(r["story_id"] for r in archive.fetch("SELECT story_id FROM articles"))
    story_id, size = sizes.most_common(1)[0]
    assert size >= 3
    status, body = _json(server, f"/api/stories/{story_id}")
    assert status == 200
    assert body["story_id"] == story_id
    first, others = body["canonical"], body["also_reported_by"]
    assert len(others) == size - 1
    assert first["is_canonical"] is True and not any(m["is_canonical"] for m in others)
    dates = [m["date_published"] for m in (first, *others)]
    assert dates[0] == min(dates) and dates == sorted(dates)
    assert all(m["url"].startswith("https://") and m["source"] for m in (first, *others))
    texts = {r["id"]: r for r in archive.fetch("SELECT id, title, body_text FROM articles WHERE story_id = ?", (story_id,))}
    for other in others:
        ch = other["changes"]
        assert ch["against"] == first["id"]
        s = ch["summary"]
        ops = Counter(p["op"] for p in ch["paragraphs"])
        assert (s["kept"], s["replaced"], s["added"], s["removed"]) == (ops["kept"], ops["replaced"], ops["added"], ops["removed"])
        assert s["words_added"] == sum(len(p["words_added"]) for p in ch["paragraphs"])
        assert s["kept"] + s["replaced"] + s["added"] == len(paragraphs_of(texts[other["id"]]["body_text"]))
        assert s["kept"] + s["replaced"] + s["removed"] == len(paragraphs_of(texts[first["id"]]["body_text"]))
        # The other report reads back from its kept and inserted text.
        shown = ["".join(g["text"] for g in p["segments"] if g["op"] != "delete").strip()
                 for p in ch["paragraphs"] if p["op"] != "removed"]
        assert shown == paragraphs_of(texts[other["id"]]["body_text"])
        for p in ch["paragraphs"]:
            assert {g["op"] for g in p["segments"]} <= {"equal", "insert", "delete"}
            if p["op"] == "kept":
                assert [g["op"] for g in p["segments"]] == ["equal"] and not p["words_added"]


def _story_of(archive: Any, doc: dict[str, Any]) -> tuple[str, int]:
    row = archive.fetchone("SELECT id, story_id FROM articles WHERE url = ?", (doc_url(doc),))
    assert row, doc["id"]
    return row["story_id"], row["id"]


def test_an_added_paragraph_and_a_changed_lead_come_out_as_such(served) -> None:
    """Reports made from a first report by a known edit (the labelled set's "kind") show that edit."""
    server, archive = served
    rows = fixture_rows()
    docs = {r["id"]: r for r in rows if r["type"] == "doc"}
    checked: Counter[str] = Counter()
    for pair in rows:
        if pair["type"] != "pair" or pair["kind"] not in ("edit:paragraph_added", "edit:intro_swapped", "edit:paragraph_cut"):
            continue
        a, b = docs[pair["a"]], docs[pair["b"]]
        story_a, id_a = _story_of(archive, a)
        story_b, id_b = _story_of(archive, b)
        status, body = _json(server, f"/api/stories/{story_b}")
        assert status == 200
        if story_a != story_b or body["canonical"]["id"] != id_a:
            continue  # another report is the story's first: compared with that one instead
        s = next(o for o in body["also_reported_by"] if o["id"] == id_b)["changes"]["summary"]
        n = len(paragraphs_of(a["body"]))
        if pair["kind"] == "edit:paragraph_added":
            assert (s["kept"], s["added"], s["replaced"], s["removed"]) == (n, 1, 0, 0), s
        elif pair["kind"] == "edit:paragraph_cut":
            assert (s["kept"], s["added"], s["replaced"], s["removed"]) == (n - 1, 0, 0, 1), s
        else:  # a new first sentence: one paragraph replaced, words both added and removed
            assert s["replaced"] == 1 and s["kept"] == n - 1 and s["words_added"] and s["words_removed"], s
        checked[pair["kind"]] += 1
    assert set(checked) == {"edit:paragraph_added", "edit:intro_swapped", "edit:paragraph_cut"}, checked


def test_changes_match_the_difference_of_the_stored_texts(served) -> None:
    server, archive = served
    story_id = archive.fetchval("SELECT story_id FROM articles WHERE is_canonical = ? ORDER BY id LIMIT 1",
                                (archive.enc_bool(False),))
    _, body = _json(server, f"/api/stories/{story_id}")
    rows = {r["id"]: r for r in archive.fetch("SELECT id, title, body_text FROM articles WHERE story_id = ?", (story_id,))}
    first = rows[body["canonical"]["id"]]
    for other in body["also_reported_by"]:
        row = rows[other["id"]]
        d = diff_reports(first["body_text"], row["body_text"], first["title"], row["title"])
        assert [p["op"] for p in other["changes"]["paragraphs"]] == [p.op for p in d.paragraphs]
        assert other["changes"]["summary"]["identical"] is d.summary.identical


def test_related_stories_point_at_other_stories(served) -> None:
    server, archive = served
    with_related = archive.fetchval("SELECT story_id FROM story_related LIMIT 1")
    assert with_related, "the labelled set holds bulletin series, which must be related"
    status, body = _json(server, f"/api/stories/{with_related}")
    assert status == 200 and body["related"]
    for rel in body["related"]:
        assert rel["story_id"] != with_related
        assert 0 < rel["score"] <= 1


@pytest.mark.parametrize("archive_url", ["sqlite"], indirect=True)
def test_errors_are_clean_json(served) -> None:
    server, _ = served
    status, body = _json(server, "/api/stories/s0000000000000000")
    assert status == 404 and body == {"error": "no story s0000000000000000"}
    for bad in ("%27%3B%20drop%20table", "a" * 65, "%D9%A5", "a.b", "%00"):
        status, headers, raw = get(server, f"/api/stories/{bad}")
        assert status == 400, (bad, status, raw[:200])
        assert headers["x-content-type-options"] == "nosniff"
        assert set(json.loads(raw)) == {"error"}


@pytest.mark.parametrize("archive_url", ["sqlite"], indirect=True)
def test_openapi_document_carries_the_story_and_its_changes(served) -> None:
    server, _ = served
    status, doc = _json(server, "/api/openapi.json")
    assert status == 200
    op = doc["paths"]["/api/stories/{story_id}"]["get"]
    assert {"200", "400", "404"} <= set(op["responses"])
    assert op["parameters"][0]["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    schemas = doc["components"]["schemas"]
    assert set(schemas["Story"]["required"]) == {"story_id", "canonical", "also_reported_by", "related"}
    assert "changes" in schemas["OtherReport"]["properties"]
    assert {"summary", "paragraphs", "title", "against"} <= set(schemas["Changes"]["properties"])
    assert schemas["ParagraphChange"]["properties"]["op"]["enum"] == ["kept", "replaced", "added", "removed"]

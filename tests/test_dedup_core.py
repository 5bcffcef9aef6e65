"""Dedup core: fingerprints, the pairwise decision and story assignment, on the
bundled labelled pairs (tests/fixtures/dedup/pairs.jsonl.gz, built from 39 corpus
articles by scripts/build_dedup_pairs.py --small 40)."""

from __future__ import annotations

import gzip
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crawler.arabic import tokens
from crawler.dedup import Fingerprinter, StoryIndex
from crawler.dedup.memory import MemoryStore
from crawler.dedup.text import figures, figures_conflict, prepare, report_text, strip_dateline
from crawler.dedup.vectok import hash_token, token_hashes

PAIRS = Path(__file__).parent / "fixtures" / "dedup" / "pairs.jsonl.gz"


def load_pairs() -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    with gzip.open(PAIRS, "rt", encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh]
    return {r["id"]: r for r in recs if r["type"] == "doc"}, [r for r in recs if r["type"] == "pair"]


DOCS, PAIR_LIST = load_pairs()
FP = Fingerprinter()


def index_all(order: list[str]) -> MemoryStore:
    store = MemoryStore()
    idx = StoryIndex(store, fingerprinter=FP)
    for i in order:
        d = DOCS[i]
        idx.add(i, title=d["title"], body=d["body"], published=d["published"])
    return store


def test_fixture_covers_every_edit_and_negative_kind() -> None:
    kinds = {p["kind"] for p in PAIR_LIST}
    for k in ("edit:dateline", "edit:sayyid", "edit:intro_swapped", "edit:paragraph_added",
              "edit:paragraph_cut", "edit:paragraph_replaced", "edit:truncated", "edit:title_reworded",
              "edit:tashkeel_hamza", "edit:digits", "edit:app_tail", "edit:read_also",
              "edit:board_meeting", "hard_negative", "series", "series_edited", "corpus_republished",
              "edit:lead_paragraph_swapped", "edit:tail_replaced", "edit:sentences_deleted",
              "edit:paragraphs_reordered", "same_topic_follow_up", "template", "template_republished",
              "template_edited"):
        assert k in kinds, k
    assert len({d["base"] for d in DOCS.values() if not d["id"].startswith("bulletin")}) <= 40


def test_vectorised_tokens_equal_the_shared_normaliser() -> None:
    texts = [d["body"] for d in DOCS.values()] + ["أَحْمَد ١٢٣ ABC_def\u200cكتاب ـــ إلى", ""]
    for t in texts:
        assert token_hashes(t).tolist() == [hash_token(x) for x in tokens(t)]


def test_dateline_and_tail_are_not_part_of_the_report() -> None:
    body = "قال وزير الصحة إن الوضع الوبائي مستقر في جميع جهات المملكة بعد أسابيع من الإجراءات. " * 3
    assert strip_dateline("هبة بريس - الرباط: " + body) == body
    assert strip_dateline("زنقة 20 | " + body) == body
    with_tail = body + " اقْرَأ أيضاً: المغرب يسجل 200 إصابة جديدة"
    assert prepare(with_tail)[1].tolist() == prepare(body)[1].tolist()
    assert "تطبيق" not in report_text(body + " لمتابعة آخر الأخبار حمل تطبيق هسبريس")


def test_figures_fold_digits_and_separators() -> None:
    a = figures("المغرب يسجل 1,234 إصابة جديدة و0,50 في المائة")
    b = figures("المغرب يسجل ١٢٣٤ إصابة جديدة و0.5 في المائة")
    c = figures("المغرب يسجل 1235 إصابة جديدة و0.5 في المائة")
    assert a == b
    assert figures_conflict(a, b) == 0
    assert figures_conflict(a, c) == 1


@pytest.mark.parametrize("pair", [p for p in PAIR_LIST], ids=lambda p: f"{p['kind']}:{p['label']}")
def test_pairwise_decision(pair: dict[str, Any]) -> None:
    a, b = DOCS[pair["a"]], DOCS[pair["b"]]
    fa = FP.fingerprint(title=a["title"], body=a["body"])
    fb = FP.fingerprint(title=b["title"], body=b["body"])
    from crawler.dedup.engine import hours_between, published_key

    cmp = FP.compare(fa, fb, hours_between(published_key(a["published"]), published_key(b["published"])))
    assert cmp.duplicate == bool(pair["label"]), cmp


def _compare(pair: dict[str, Any], shift_hours: float = 0.0) -> Any:
    from crawler.dedup.engine import hours_between, published_key

    a, b = DOCS[pair["a"]], DOCS[pair["b"]]
    hours = hours_between(published_key(a["published"]), published_key(b["published"]))
    return FP.compare(FP.fingerprint(title=a["title"], body=a["body"]),
                      FP.fingerprint(title=b["title"], body=b["body"]), abs(hours or 0.0) + shift_hours)


REWRITES = ("edit:lead_paragraph_swapped", "edit:tail_replaced", "edit:sentences_deleted", "edit:paragraphs_reordered")


def test_partial_rewrites_are_joined_on_passage_evidence() -> None:
    # the whole-text rules alone miss these: some are joined by the passage rule only
    rewrites = [p for p in PAIR_LIST if p["kind"] in REWRITES]
    assert len(rewrites) >= 12
    by_passage = [p for p in rewrites if _compare(p).passage > 0]
    assert by_passage and all(_compare(p).duplicate for p in by_passage)
    assert any(_compare(p).jaccard < 0.6 for p in by_passage)


def test_the_decision_is_symmetric() -> None:
    # stories must not depend on arrival order; an equal-size pair sharing one passage
    # each way is the edge case of the passage rule
    from crawler.dedup.fingerprint import Fingerprint

    for p in PAIR_LIST:
        a, b = DOCS[p["a"]], DOCS[p["b"]]
        fa = FP.fingerprint(title=a["title"], body=a["body"])
        fb = FP.fingerprint(title=b["title"], body=b["body"])
        assert FP.compare(fa, fb, 1.0).duplicate == FP.compare(fb, fa, -1.0).duplicate, p
    # each with a lead of its own; x: 70 shared shingles in one run, then a closing of its
    # own; y: 50 of them in one run, the other 20 in runs of 4 between words of its own
    shared = np.arange(1, 71, dtype=np.uint32)
    x = Fingerprint(np.concatenate([np.arange(100, 120, dtype=np.uint32), shared,
                                    np.arange(120, 130, dtype=np.uint32)]), frozenset())
    parts = [np.arange(300, 320, dtype=np.uint32), shared[:50]]
    for k in range(5):
        parts += [shared[50 + 4 * k: 54 + 4 * k], np.array([200 + 2 * k, 201 + 2 * k], dtype=np.uint32)]
    y = Fingerprint(np.concatenate(parts), frozenset())
    assert x.size == y.size == 100
    assert FP.compare(x, y, 1.0).duplicate == FP.compare(y, x, 1.0).duplicate


def test_passage_evidence_needs_reports_of_the_same_half_day() -> None:
    # a next-day report sharing most of its text is a follow-up unless near-verbatim
    joined = [p for p in PAIR_LIST if p["kind"] in REWRITES and _compare(p).passage > 0 and _compare(p).jaccard < 0.75]
    assert joined
    for p in joined:
        assert not _compare(p, shift_hours=20.0).duplicate, p


def test_templates_share_their_frame_but_stay_apart() -> None:
    # the frame is a large part of each bulletin (so this can fail), yet no two are one story
    templates = [p for p in PAIR_LIST if p["kind"] in ("template", "template_edited")]
    cmps = [_compare(p) for p in templates]
    assert max(c.containment for c in cmps) >= 0.45
    assert not any(c.duplicate for c in cmps)
    follow = [_compare(p) for p in PAIR_LIST if p["kind"] == "same_topic_follow_up"]
    assert max(c.containment for c in follow) >= 0.3 and not any(c.duplicate for c in follow)


def test_stories_match_the_labels_and_do_not_depend_on_order() -> None:
    ids = sorted(DOCS, key=lambda i: (DOCS[i]["published"], i))
    store = index_all(ids)
    for p in PAIR_LIST:
        same = store.story_of(p["a"]) == store.story_of(p["b"])
        assert same == bool(p["label"]), p
    shuffled = ids[:]
    random.Random(3).shuffle(shuffled)
    other = index_all(shuffled)
    assert {i: store.story_of(i) for i in ids} == {i: other.story_of(i) for i in ids}


def test_story_id_follows_the_earliest_report() -> None:
    # the motivating case: two sites publish the same board-meeting report, one adding
    # السيد and a closing paragraph, beside unrelated reports of the same day
    pair = next(p for p in PAIR_LIST if p["kind"] == "edit:board_meeting")
    orig, variant = DOCS[pair["a"]], DOCS[pair["b"]]
    day = orig["published"][:10]
    others = [d for d in DOCS.values() if d["published"][:10] == day and d["base"] != orig["base"]]
    assert others, "fixture has same-day reports"
    store = MemoryStore()
    idx = StoryIndex(store, fingerprinter=FP)
    late = idx.add("late", title=variant["title"], body=variant["body"], published=variant["published"])
    for n, o in enumerate(others):
        idx.add(f"other{n}", title=o["title"], body=o["body"], published=o["published"])
    early = idx.add("early", title=orig["title"], body=orig["body"], published=orig["published"])
    assert early.story_id == store.story_of("late") != late.story_id
    assert early.renamed == {late.story_id: early.story_id}
    stories = {store.story_of(f"other{n}") for n in range(len(others))}
    assert early.story_id not in stories and len(stories) == len(others)


def test_series_members_become_related_not_one_story() -> None:
    # consecutive days of one series (reports further apart than an index epoch are not
    # compared at all)
    series = sorted((p for p in PAIR_LIST if p["kind"] == "series"),
                    key=lambda p: abs(datetime.fromisoformat(DOCS[p["a"]]["published"])
                                      - datetime.fromisoformat(DOCS[p["b"]]["published"])))
    store = MemoryStore()
    idx = StoryIndex(store, fingerprinter=FP)
    p = series[0]
    a = idx.add("a", title=DOCS[p["a"]]["title"], body=DOCS[p["a"]]["body"], published=DOCS[p["a"]]["published"])
    b = idx.add("b", title=DOCS[p["b"]]["title"], body=DOCS[p["b"]]["body"], published=DOCS[p["b"]]["published"])
    assert a.story_id != b.story_id
    assert a.story_id in b.related and store.related[a.story_id].get(b.story_id)


def test_readding_the_same_report_changes_nothing() -> None:
    d = next(iter(DOCS.values()))
    store = MemoryStore()
    idx = StoryIndex(store, fingerprinter=FP)
    first = idx.add("k", title=d["title"], body=d["body"], published=d["published"])
    again = idx.add("k", title=d["title"], body=d["body"], published=d["published"])
    assert again.unchanged and again.story_id == first.story_id and len(store.docs) == 1


def test_empty_body_still_gets_a_story() -> None:
    store = MemoryStore()
    idx = StoryIndex(store, fingerprinter=FP)
    a = idx.add("x", title="عنوان فقط", body=None, published=None)
    b = idx.add("y", title="", body="", published=None)
    assert a.story_id and b.story_id and a.story_id != b.story_id


def test_a_changed_report_leaves_its_story() -> None:
    pair = next(p for p in PAIR_LIST if p["kind"] == "edit:dateline")
    a, b = DOCS[pair["a"]], DOCS[pair["b"]]
    other = next(d for d in DOCS.values() if d["base"] != a["base"])
    store = MemoryStore()
    idx = StoryIndex(store, fingerprinter=FP)
    first = idx.add("a", title=a["title"], body=a["body"], published=a["published"])
    idx.add("b", title=b["title"], body=b["body"], published=b["published"])
    assert store.story_of("a") == store.story_of("b") == first.story_id
    # the site rewrote "a" (the story's head) into another report: "b" keeps a story of its own
    moved = idx.add("a", title=other["title"], body=other["body"], published=a["published"])
    assert store.story_of("a") != store.story_of("b")
    assert moved.renamed == {first.story_id: store.story_of("b")}
    assert len(store.docs) == 2 and set(store.story_heads) == {store.story_of("a"), store.story_of("b")}

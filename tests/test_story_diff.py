"""`feeds.web.diff`: what a report changed against a story's first report, word by word.

A table of (first report, other report) -> expected paragraph operations and words, from
the edits Moroccan sites make when they take each other's copy; then invariants over
every labelled pair of tests/fixtures/dedup and over random text (the other report can
always be read back from the difference), and the caps that keep a hostile body cheap.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.arabic import normalize
from feeds.web.diff import MAX_TOKENS, ReportDiff, diff_reports, paragraphs_of, split

PAIRS = Path(__file__).parent / "fixtures" / "dedup" / "pairs.jsonl.gz"

# A Belpress report (the first) and Hiba Press's take of it an hour later.
P1 = "كشفت معطيات وزارة الصحة، اليوم الأحد، تسجيل 2444 إصابة مؤكدة جديدة بفيروس كورونا المستجد خلال الـ24 ساعة الماضية."
P2 = "ووفق المصدر ذاته فإن عدد الحالات المستبعدة قد بلغ 2435665 منذ بداية انتشار الفيروس على المستوى الوطني."
P3 = "وتهيب وزارة الصحة بالمواطنات والمواطنين الالتزام بقواعد النظافة والسلامة الصحية."
P_NEW = "وينتظر أن تكشف الأيام المقبلة عن مزيد من التفاصيل بخصوص هذا الموضوع."
P_OTHER = "لقي ثلاثة شبان مصرعهم على الفور بعد انقلاب سيارة خفيفة على الطريق الرابطة بين برشيد وحد السوالم."
TAIL_OLD = "وتم التأكد من 1441 حالة شفاء إضافية."
TAIL_NEW = "وبأمر من النيابة العامة تم وضع الموقوف تحت تدبير الحراسة النظرية."


def body(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


def W(*texts: str) -> list[str]:
    """The words of `texts` as published, punctuation left out."""
    return [w for t in texts for w in re.findall(r"\w+", t)]


@dataclass
class Case:
    name: str
    first: str
    other: str
    ops: list[str]
    added: list[str]
    removed: list[str]
    moved: int = 0
    identical: bool = False


CASES = [
    Case("identical", body(P1, P2, P3), body(P1, P2, P3), ["kept", "kept", "kept"], [], [], identical=True),
    Case("belpress_hibapress_word_changed_paragraph_added",
         body(P1, P2, P3), body(P1.replace("الأحد", "السبت"), P2, P3, P_NEW),
         ["replaced", "kept", "kept", "added"], ["السبت", *W(P_NEW)], ["الأحد"]),
    Case("lead_swap", body(P1, P2, P3), body(P_OTHER, P2, P3),
         ["replaced", "kept", "kept"], W(P_OTHER), W(P1)),
    Case("tail_replaced", body(P1, P2 + " " + TAIL_OLD), body(P1, P2 + " " + TAIL_NEW),
         ["kept", "replaced"],
         # "من" is in both sentences, but a lone shared word inside a rewrite is part of it.
         W(TAIL_NEW), W(TAIL_OLD)),
    Case("paragraph_cut", body(P1, P2, P3), body(P1, P3), ["kept", "removed", "kept"], [], W(P2)),
    Case("paragraphs_reordered", body(P1, P2, P3), body(P3, P1, P2), ["kept", "kept", "kept"], [], [], moved=2),
    Case("tashkeel_hamza_digits_are_no_change", body("قال الوزير إن 12 مدينة ستستفيد"),
         body("قالَ الوزيرُ إنّ ١٢ مدينة ستستفيد"), ["kept"], [], [], identical=True),
    Case("dateline_added", body(P1, P2), body("الرباط - " + P1, P2), ["replaced", "kept"], ["الرباط"], []),
    Case("glued_paragraphs_read_apart", P1 + P2 + P3, body(P3, P1, P2), ["kept", "kept", "kept"], [], [], moved=2),
    Case("empty_first", "", body(P1, P2), ["added", "added"], W(P1, P2), []),
    Case("empty_other", body(P1), "", ["removed"], [], W(P1)),
    Case("both_empty", "", "", [], [], [], identical=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_difference_table(case: Case) -> None:
    d = diff_reports(case.first, case.other)
    assert [p.op for p in d.paragraphs] == case.ops
    # Words as published (not normalised), in order.
    assert [w for p in d.paragraphs for w in p.words_added] == case.added
    assert [w for p in d.paragraphs for w in p.words_removed] == case.removed
    assert d.summary.moved == case.moved
    assert d.summary.identical is case.identical
    assert d.summary.words_added == sum(len(p.words_added) for p in d.paragraphs)
    assert not d.summary.truncated
    _assert_reads_back(case.first, case.other, d)


def test_a_changed_word_is_marked_inside_its_paragraph() -> None:
    d = diff_reports(body(P1, P2), body(P1.replace("الأحد", "السبت"), P2))
    segs = d.paragraphs[0].segments
    assert [(s.op, s.text.strip()) for s in segs if s.op != "equal"] == [("delete", "الأحد"), ("insert", "السبت")]
    assert segs[0].op == "equal" and segs[0].text.startswith("كشفت معطيات")
    assert 0.5 <= d.paragraphs[0].similarity < 1


def test_a_dissimilar_paragraph_in_the_same_place_is_replaced_whole() -> None:
    # Shown whole (old struck, new inserted) rather than as a confetti of shared small words.
    d = diff_reports(body(P1, P2), body(P_OTHER, P2))
    first = d.paragraphs[0]
    assert [s.op for s in first.segments] == ["delete", "insert"]
    assert first.segments[1].text.strip() == P_OTHER


def test_shared_small_words_inside_a_rewrite_are_not_confetti() -> None:
    d = diff_reports("قال الوزير في الرباط إن المشروع جاهز", "أكد المسؤول في البيضاء أن المشروع جاهز")
    assert [s.op for s in d.paragraphs[0].segments] == ["delete", "insert", "equal"]
    # إن/أن differ only by hamza: the same word once normalised, kept (as this report spells it)
    assert d.paragraphs[0].segments[2].text == " أن المشروع جاهز"


def test_the_other_reports_spelling_is_shown() -> None:
    d = diff_reports("قال الوزير إن 12 مدينة", "قالَ الوزيرُ إنّ ١٢ مدينة")
    assert d.paragraphs[0].segments[0].text == "قالَ الوزيرُ إنّ ١٢ مدينة"


def test_titles_are_compared_too() -> None:
    d = diff_reports(P1, P1, "المغرب يسجل 2444 إصابة جديدة", "المغرب يسجل 2444 إصابة جديدة بكورونا")
    assert d.summary.title_changed and not d.summary.identical
    assert [(s.op, s.text.strip()) for s in d.title] == [("equal", "المغرب يسجل 2444 إصابة جديدة"), ("insert", "بكورونا")]


def test_removed_paragraphs_stand_where_they_stood() -> None:
    d = diff_reports(body(P1, P2, P3, TAIL_OLD), body(P1, P3))
    assert [p.op for p in d.paragraphs] == ["kept", "removed", "kept", "removed"]


# --- bounded cost ----------------------------------------------------------------------------

def test_a_hostile_five_megabyte_body_is_cut_not_compared_whole() -> None:
    huge = ("كلمة " * 1_000_000)  # 5 MB of one word: quadratic for an uncapped difflib
    d = diff_reports(huge, huge + "أخرى")
    assert d.summary.truncated
    compared = sum(len(s.text.split()) for p in d.paragraphs for s in p.segments)
    assert compared <= MAX_TOKENS
    assert len(split(huge).paragraphs[0]) == MAX_TOKENS


def test_a_million_lines_are_cut_at_the_paragraph_cap() -> None:
    lines = "\n".join(f"سطر {i}" for i in range(1_000_000))
    d = diff_reports(lines, lines)
    assert d.summary.truncated and d.summary.identical
    assert len(d.paragraphs) == 300


def test_one_word_repeated_still_gives_the_exact_difference() -> None:
    # 1,500 × the same token: difflib's candidate matches would be 2.25 M; past the work
    # cap its autojunk takes over, and the one changed word is still found.
    a = " ".join(["و"] * 1499 + ["ا"])
    b = " ".join(["و"] * 1499 + ["ب"])
    d = diff_reports(a, b)
    assert d.paragraphs[0].words_added == ["ب"] and d.paragraphs[0].words_removed == ["ا"]


# --- invariants ------------------------------------------------------------------------------

def _assert_reads_back(first: str, other: str, d: ReportDiff) -> None:
    """The other report is its kept/inserted text; the first report is its kept/deleted text."""
    shown = [normalize("".join(s.text for s in p.segments if s.op != "delete")) for p in d.paragraphs if p.op != "removed"]
    assert shown == [normalize(p) for p in paragraphs_of(other)]
    # (kept words are shown as the other report spells and spaces them: compared without blanks)
    before = sorted(_squeeze("".join(s.text for s in p.segments if s.op != "insert")) for p in d.paragraphs if p.op != "added")
    assert before == sorted(_squeeze(p) for p in paragraphs_of(first))


def _squeeze(text: str) -> str:
    return normalize(text).replace(" ", "")


def _fixture_pairs() -> list[tuple[str, dict, dict]]:
    with gzip.open(PAIRS, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    docs = {r["id"]: r for r in rows if r["type"] == "doc"}
    out = []
    for r in rows:
        if r["type"] == "pair" and r["label"] == 1:
            a, b = sorted((docs[r["a"]], docs[r["b"]]), key=lambda d: d["published"])
            out.append((r["kind"], a, b))
    return out


def test_every_labelled_pair_reads_back_and_counts_agree() -> None:
    pairs = _fixture_pairs()
    assert len(pairs) > 100
    kinds: dict[str, int] = {}
    for kind, a, b in pairs:
        d = diff_reports(a["body"], b["body"], a["title"], b["title"])
        _assert_reads_back(a["body"], b["body"], d)
        s = d.summary
        assert s.kept + s.replaced + s.added == len(paragraphs_of(b["body"]))
        assert s.kept + s.replaced + s.removed == len(paragraphs_of(a["body"]))
        kinds[kind] = kinds.get(kind, 0) + (not s.identical)
    # Reordered paragraphs are moved, not lost; spelling-only edits are no change.
    assert kinds["edit:tashkeel_hamza"] == 0 and kinds["edit:digits"] == 0
    for kind, a, b in pairs:
        if kind == "edit:paragraphs_reordered":
            s = diff_reports(a["body"], b["body"]).summary
            # (one pair also splits a paragraph in two at a sentence: a replaced and an added one)
            assert s.removed == 0 and s.kept >= len(paragraphs_of(a["body"])) - 1 and s.moved > 0


_arabic_words = st.sampled_from("الحكومة المغربية البرلمان في من على الرباط إلى أن قال ، . 2024 ٢٠٢٤ أُعلنَ".split())
_paragraph = st.lists(_arabic_words, min_size=1, max_size=30).map(" ".join)
_text = st.lists(_paragraph, max_size=8).map("\n\n".join)


@settings(max_examples=150, deadline=None)
@given(_text, _text)
def test_any_pair_reads_back(first: str, other: str) -> None:
    _assert_reads_back(first, other, diff_reports(first, other))

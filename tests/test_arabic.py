"""The one Arabic normaliser: what it folds and what it must leave alone."""

from __future__ import annotations

import pytest

from crawler.arabic import fold_digits, normalize, tokens


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("الصناعةُ التقليديّة", "الصناعه التقليديه"),
        ("الصناعة التقليدية", "الصناعه التقليديه"),
        ("أحمد إبراهيم آمنة ٱلله", "احمد ابراهيم امنه الله"),
        ("مسؤول رئيس", "مسوول رييس"),
        ("مستشفى", "مستشفي"),
        ("جـــديد", "جديد"),
        ("١٦-٠٧-٢٠٢٥", "16-07-2025"),
        ("۱۶ يوليوز", "16 يوليوز"),
        ("الرباط، المغرب؛ لماذا؟", "الرباط المغرب لماذا"),
        ("  Hespress\u200f  LE12 ", "hespress le12"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_is_idempotent() -> None:
    text = "أعلنَ وزيرُ الصّحة، اليوم، عن ١٢٣ إصابة جديدة بـ«كورونا»"
    assert normalize(normalize(text)) == normalize(text)


def test_fold_digits_changes_digits_only() -> None:
    assert fold_digits("LE12١٦-٠٧-٢٠٢٥ أُ") == "LE1216-07-2025 أُ"


def test_tokens_drop_punctuation_and_keep_numbers() -> None:
    assert tokens("سجّل المغرب ١٢٣ إصابة، و«٤» وفيات.") == ["سجل", "المغرب", "123", "اصابه", "و", "4", "وفيات"]

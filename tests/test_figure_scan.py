"""The array scan for numbers (`crawler.dedup.text._figure_matches`) finds exactly the
matches of the regex scan it replaces, on long and hostile text."""

from __future__ import annotations

import random
import re

from crawler.dedup.text import _FIGURE, _SCAN_MIN, _digits, _figure_matches, _number_starts, figures

DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹߀०৫๓"  # ASCII, Arabic-Indic, Persian, NKo, Devanagari...


def _spans(text: str) -> list[tuple[tuple[int, int], str]]:
    return [(m.span(), m.group(1)) for m in _figure_matches(text)]


def _regex_spans(text: str) -> list[tuple[tuple[int, int], str]]:
    return [(m.span(), m.group(1)) for m in _FIGURE.finditer(text)]


def test_the_digit_table_is_the_regex_digit_class() -> None:
    table = _digits()
    for c in range(0x10000):
        if not 0xD800 <= c <= 0xDFFF:
            assert bool(table[c]) == bool(re.match(r"\d", chr(c))), hex(c)


def test_array_scan_equals_the_regex_on_hostile_text() -> None:
    pieces = [*DIGITS, ".", ",", "٫", "٬", " ", "\n", "!", "؟", "كتاب", "يسجل", "إصابة", "a", "\u064b", "ـ",
              "\u200c", "1.", ".5", "1,234,567", "١٢٫٥", "0012", "-", "|"]
    rng = random.Random(7)
    texts = [
        "1" * 500,  # one number, the whole text
        "1" + "x" * 300 + "2",  # numbers at both ends
        ("12.34." * 80),  # separators between and after
        "٣" * 100 + "." + "3" * 100 + "," + "۳" * 100,  # mixed scripts of digits joined by separators
        "المغرب يسجل 1,234 إصابة جديدة و0,50 في المائة. " * 10,
        "x" * 199 + "9",  # just under and over the threshold
        "x" * 200 + "9",
    ]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randrange(50, 600))) for _ in range(400)]
    for t in texts:
        assert _spans(t) == _regex_spans(t), t[:60]
        if len(t) >= _SCAN_MIN:
            assert _number_starts(t) is not None


def test_text_the_table_cannot_read_goes_the_regex_way() -> None:
    astral = "العدد 𝟏𝟐 و 12 " * 30  # mathematical digits (U+1D7CF): digits outside the table
    lone_surrogate = "العدد 12 \ud800 " * 30
    for t in (astral, lone_surrogate, "12 كتاب"):
        assert _number_starts(t) is None
        assert _spans(t) == _regex_spans(t)
    assert figures(astral)  # the astral digits read as a number, as before


def test_a_text_without_digits_has_no_figures() -> None:
    assert _number_starts("كتاب " * 100) == []
    assert figures("كتاب " * 100) == frozenset()

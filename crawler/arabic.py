"""One Arabic normaliser for search, dedup and topics.

Stored text stays exactly as published; only derived fields (search index,
shingles, classifier input) go through `normalize`. Keeping one implementation
means a query typed with hamza finds text written without it, and dedup sees the
same tokens the search index does.
"""

from __future__ import annotations

import re
from typing import Any

# Tashkeel (harakat, tanwin, shadda, sukun, superscript alef, Quranic marks) and tatweel.
_DIACRITICS = "".join(chr(c) for c in range(0x0610, 0x061B)) + "".join(
    chr(c) for c in range(0x064B, 0x0660)
) + "\u0670" + "".join(chr(c) for c in range(0x06D6, 0x06EE)) + "\u0640"

_TRANSLATE: dict[int, str | None] = {ord(c): None for c in _DIACRITICS}
_TRANSLATE.update(
    {
        ord("أ"): "ا",
        ord("إ"): "ا",
        ord("آ"): "ا",
        ord("ٱ"): "ا",
        ord("ؤ"): "و",
        ord("ئ"): "ي",
        ord("ى"): "ي",
        ord("ة"): "ه",
        # Persian / Urdu letter variants seen in Maghrebi copy.
        ord("ی"): "ي",
        ord("ک"): "ك",
        # Arabic punctuation becomes a word break.
        ord("،"): " ",
        ord("؛"): " ",
        ord("؟"): " ",
        ord("«"): " ",
        ord("»"): " ",
        # Invisible joiners and direction marks glue words that readers see apart.
        0x200B: None,
        0x200C: None,
        0x200D: None,
        0x200E: None,
        0x200F: None,
        0x061C: None,
        0xFEFF: None,
    }
)
for _i in range(10):
    _TRANSLATE[0x0660 + _i] = str(_i)  # Arabic-Indic
    _TRANSLATE[0x06F0 + _i] = str(_i)  # Persian (Extended Arabic-Indic)

DELETED_CLASS: str = "".join(chr(k) for k, v in _TRANSLATE.items() if v is None)
"""Regex character-class body of every character `normalize` deletes (tashkeel, tatweel,
joiners, direction marks), for patterns that must tolerate them in raw text."""

_FAST_MIN = 200
"""Characters from which `_translate` goes through arrays: ``str.translate`` looks every
character up in the table (~150 ns each: most of the time the pipelines spend
normalising an article body); below this, the array round trip costs more."""
_tables: tuple[Any, Any] | None = None


def _lookup_tables() -> tuple[Any, Any] | None:
    """`_TRANSLATE` as arrays over the BMP: code point -> code point, and "deleted"."""
    global _tables
    if _tables is None:
        import numpy as np

        if any(v is not None and len(v) != 1 for v in _TRANSLATE.values()) or max(_TRANSLATE) >= 0x10000:
            _tables = (None, None)  # not a one-to-one table: `str.translate` only
        else:
            lut = np.arange(0x10000, dtype=np.uint32)
            gone = np.zeros(0x10000, dtype=bool)
            for k, v in _TRANSLATE.items():
                if v is None:
                    gone[k] = True
                else:
                    lut[k] = ord(v)
            _tables = (lut, gone)
    return _tables if _tables[0] is not None else None


def _translate(text: str) -> str:
    """``text.translate(_TRANSLATE)``, the same string, ~8x quicker on an article body."""
    tables = None if len(text) < _FAST_MIN or text.isascii() else _lookup_tables()
    if tables is None:
        return text.translate(_TRANSLATE)
    import numpy as np

    try:
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # a lone surrogate
        return text.translate(_TRANSLATE)
    lut, gone = tables
    if int(cp.max()) < 0x10000:
        mapped, drop = lut[cp], gone[cp]
    else:  # astral characters (emoji) are never in the table
        bmp = cp < 0x10000
        idx = np.where(bmp, cp, 0)
        mapped, drop = np.where(bmp, lut[idx], cp), gone[idx] & bmp
    if drop.any():
        mapped = mapped[~drop]
    return mapped.tobytes().decode("utf-32-le")


_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"[0-9A-Za-z\u0621-\u064A\u0660-\u0669\u06F0-\u06F9]+")


_DIGITS: dict[int, str] = {0x0660 + i: str(i) for i in range(10)} | {0x06F0 + i: str(i) for i in range(10)}


def fold_digits(text: str) -> str:
    """Arabic-Indic and Persian digits to ASCII, nothing else changed."""
    return text.translate(_DIGITS)


def normalize(text: str) -> str:
    """Normalised form for matching: diacritics and tatweel stripped, alef/hamza forms
    unified, ى→ي, ة→ه, digits to ASCII, Arabic punctuation to spaces, Latin lower-cased,
    whitespace collapsed."""
    if not text:
        return ""
    return _SPACES.sub(" ", _translate(text).lower()).strip()


def _tokens_plain(text: str) -> list[str]:
    # `normalize` minus its whitespace collapsing: tokens never hold whitespace, so the
    # result is the same, for a quarter less time on an article body
    return _TOKEN.findall(_translate(text).lower())


_UNSAFE = 0xFFFFFFFF
_token_lut: Any = None


def _token_table() -> Any:
    """Code point -> what `_tokens_plain` reads there, as one code point: its translation
    lower-cased when that is one token character, 0x20 when it holds none (a word break),
    0 when deleted; `_UNSAFE` when it lower-cases to several characters with a token
    character among them (U+0130 is "i" + a combining dot: a text holding one goes the
    regex way). Lower-casing is per character but for the final sigma, never a token
    character either way."""
    global _token_lut
    if _token_lut is None:
        import numpy as np

        lut = np.empty(0x10000, dtype=np.uint32)
        for c in range(0x10000):
            t = _TRANSLATE.get(c, chr(c))
            low = t.lower() if t is not None else ""
            found = _TOKEN.findall(low)
            if not found:
                lut[c] = 0 if not low else 0x20
            elif len(low) == 1:
                lut[c] = ord(low)
            else:
                lut[c] = _UNSAFE
        if lut[0xFFFF] != 0x20:  # astral characters are read through this entry
            raise AssertionError("U+FFFF must read as a word break")
        _token_lut = lut
    return _token_lut


def tokens(text: str) -> list[str]:
    """Word tokens of the normalised text (letters and digits; punctuation dropped)."""
    if not text:
        return []
    if len(text) < _FAST_MIN or text.isascii():
        return _tokens_plain(text)
    # An article body: each character mapped to what the regex would read there in one
    # table lookup, deleted ones dropped, and the rest split at the word breaks: the same
    # list without translating, lower-casing and regex-scanning the text in three passes.
    import numpy as np

    try:
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # a lone surrogate
        return _tokens_plain(text)
    mapped = _token_table().take(cp, mode="clip")  # astral: U+FFFF's entry, a word break
    if mapped.max() == _UNSAFE:
        return _tokens_plain(text)
    return mapped[mapped != 0].tobytes().decode("utf-32-le").split()

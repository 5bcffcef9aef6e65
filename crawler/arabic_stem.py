"""A light Arabic stemmer for the search index: affixes off, no root extraction.

Works on tokens already through `crawler.arabic.tokens` (so ``ة`` is ``ه``, hamza
and alef forms are one letter, digits are ASCII). In the spirit of Larkey's light
stemmers: strip the definite article with the proclitics glued to it, then one
pronoun suffix, then one plural/dual suffix, then ta marbuta, keeping at least
`MIN_STEM` letters. ``حكومة``, ``الحكومة``, ``والحكومة``, ``حكومات`` all become
``حكوم``; words are never reduced to their root, so ``كتاب`` and ``مكتب`` stay
apart.

Deliberately not stripped: a bare ``و``/``ب``/``ل``/``ك``/``ف`` before a word
without the article (``وزارة`` must not become ``زارة``, ``بيان`` not ``يان``), and
the nisba ``ي`` (``مغربي``, Moroccan, is not ``مغرب``, Morocco). Latin words and
numbers are left as they are. Only search uses this; dedup and topics read the
normaliser's tokens unchanged.
"""

from __future__ import annotations

MIN_STEM = 3
"""Letters that must remain after any strip: Arabic roots have three, and a shorter
remainder (``الان`` -> ``ان``, ``مكان`` -> ``مك``) meets unrelated words."""

# The article with its proclitics, longest first: "وبال" (and with the), "وال", "فال",
# "بال", "كال" (like the), "ولل"/"فلل"/"لل" (for the: the alef of "ال" is dropped
# after "ل"), then "ال" alone.
ARTICLE_PREFIXES: tuple[str, ...] = ("وبال", "وكال", "ولل", "فلل", "وال", "فال", "بال", "كال", "لل", "ال")

# Attached pronouns (its/her, their), tried first: "حكومتها" -> "حكومت".
PRONOUN_SUFFIXES: tuple[str, ...] = ("هما", "ها", "هم")
# Sound plurals and the dual: "حكومات", "مسؤولون"/"مسؤولين", "وزيران".
PLURAL_SUFFIXES: tuple[str, ...] = ("ات", "ون", "ين", "ان")
# Ta marbuta, normalised to "ه" by crawler.arabic (also the pronoun "his").
FINAL_SUFFIXES: tuple[str, ...] = ("ه",)


def _is_arabic(word: str) -> bool:
    return "\u0621" <= word[0] <= "\u064a"


def strip_prefix(word: str) -> str:
    """`word` without the definite article and its proclitics (when a stem of
    `MIN_STEM` letters remains); used alone for prefix (``word*``) queries."""
    if not word or not _is_arabic(word):
        return word
    for p in ARTICLE_PREFIXES:
        if word.startswith(p) and len(word) - len(p) >= MIN_STEM:
            return word[len(p):]
    return word


def _strip_suffix(word: str, suffixes: tuple[str, ...]) -> str:
    for s in suffixes:
        if word.endswith(s) and len(word) - len(s) >= MIN_STEM:
            return word[: -len(s)]
    return word


def _stem(word: str) -> str:
    if not word or not "\u0621" <= word[0] <= "\u064a":
        return word
    # each rule first tried with one tuple startswith/endswith (C): most words take none,
    # and a new word costs this call once per process (then `_StemCache` answers)
    w = strip_prefix(word) if word.startswith(ARTICLE_PREFIXES) else word
    if w.endswith(PRONOUN_SUFFIXES):
        bare = _strip_suffix(w, PRONOUN_SUFFIXES)
        if bare != w and bare.endswith("ت") and len(bare) > MIN_STEM:
            # a ta marbuta is written "ت" before a pronoun: "حكومتها" is "حكومة" + "ها"
            bare = bare[:-1]
        w = bare
    if w.endswith(PLURAL_SUFFIXES):
        w = _strip_suffix(w, PLURAL_SUFFIXES)
    return _strip_suffix(w, FINAL_SUFFIXES) if w.endswith(FINAL_SUFFIXES) else w


class _StemCache(dict[str, str]):
    """token -> stem, filled on first sight: news vocabulary repeats, and a dict lookup
    mapped over a body's tokens costs a fraction of a Python call per token."""

    MAX = 500_000

    def __missing__(self, word: str) -> str:
        if len(self) >= self.MAX:
            self.clear()  # bounded memory on a long crawl; refilled from what recurs
        s = self[word] = _stem(word)
        return s


_CACHE = _StemCache()
stem = _CACHE.__getitem__
"""The light stem of one normalised token."""


def stems(words: list[str]) -> list[str]:
    """`stem` of each token, in order."""
    return list(map(_CACHE.__getitem__, words))


# First letters of the suffixes `stem` strips: a prefix query typed up to one of them
# ("البرلما*" for "البرلمان") may have cut into a suffix the index no longer holds.
_SUFFIX_STARTS = frozenset(s[0] for s in PRONOUN_SUFFIXES + PLURAL_SUFFIXES + FINAL_SUFFIXES)


def prefix_stem(word: str) -> str:
    """The index prefix for a ``word*`` query: its stem, less a last letter that may
    begin a stripped suffix, so "البرلما*" finds "البرلمان" (indexed "برلم")."""
    w = stem(word)
    if w and _is_arabic(w) and w == strip_prefix(word) and w[-1] in _SUFFIX_STARTS and len(w) > MIN_STEM:
        return w[:-1]
    return w

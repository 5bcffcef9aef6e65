"""What of a report dedup looks at: its body, stripped of what sites add around it.

Sites republishing an agency report prefix a dateline or their own label
(``هبة بريس - الرباط``, ``زنقة 20 |``) and append their own tail (an app-download
line, ``اقرأ أيضا`` links). Those parts are the site's, not the report's, so they
are cut before shingling; everything else goes through the one shared normaliser
(`crawler.arabic`), which already folds tashkeel, hamza forms and digits.

Figures (numbers with the words around them) are extracted separately: templated
series (daily COVID counts, weekly exchange-rate notes, accident tolls) share most
of their words and differ only there, so they are what tells such reports apart.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator

import numpy as np

from crawler.arabic import DELETED_CLASS, fold_digits, tokens
from crawler.dedup.vectok import hash_token, token_hashes

# Function words and honorifics dropped before shingling: inserting ``السيد`` or
# swapping ``في``/``ب`` then changes no shingle, and the boilerplate phrases that
# unrelated reports share ("وفي هذا الصدد") weigh less. Normalised spellings.
STOPWORDS: frozenset[str] = frozenset(
    """
    في من على الى عن مع ان او ام ثم قد لقد كما هذا هذه ذلك تلك هناك هنا التي الذي الذين
    اللذين اللتين اللواتي هو هي هم هما انه انها كان كانت يكون تكون و ف ب ل ك ما لا لم لن
    بين عند حول خلال بعد قبل كل ايضا اي اذا اذ حيث حين منذ حتى لدي لدى عليه عليها فيه فيها
    منه منها به بها له لها اما الا غير وقد وكان وكانت وهو وهي وفي ومن وعلى والى وان
    السيد السيده السادة الساده السيدات السيدين
    """.split()
)

# Where a site's own tail starts. Cut only in the second half of the text, so a
# report that quotes the phrase early keeps its body. Written plain; `_loose` lets
# each letter match its hamza / tashkeel / ta-marbuta variants in the raw text.
_TAIL_MARKERS: tuple[str, ...] = (
    "اقرا ايضا",
    "اقرا كذلك",
    "اقرا المزيد",
    "اقرا التفاصيل",
    "لتحميل تطبيق",
    "حمل تطبيق",
    "حملوا تطبيق",
    "بتحميل تطبيق",
    "لمتابعة اخر الاخبار",
    "تابعونا على",
    "تابعوا اخر الاخبار",
    "للمزيد من الاخبار",
    "اشترك في قناتنا",
    "انضموا الى",
)
_TAIL_FROM = 0.4  # the regex runs only once the token check found a marker in the second half
_MARKS = DELETED_CLASS  # what crawler.arabic.normalize deletes, tolerated inside raw words
_VARIANTS = {"ا": "اأإآٱ", "ي": "يىئی", "ى": "يى", "ه": "هة", "ة": "هة", "و": "وؤ", "ك": "كک"}


def _loose(phrase: str) -> str:
    out = []
    for ch in phrase:
        if ch == " ":
            out.append(r"\s+")
        else:
            out.append(f"[{_VARIANTS[ch]}]" if ch in _VARIANTS else re.escape(ch))
            out.append(f"[{_MARKS}]*")
    return "".join(out)


_TAIL = re.compile("|".join(_loose(m) for m in _TAIL_MARKERS))

# Raw word runs: letters and digits of any script plus the marks and joiners that
# `crawler.arabic.normalize` deletes (so a word with tashkeel stays one run).
_RAW_TOKEN = re.compile(f"[\\w{_MARKS}]+")
_NUMBER = re.compile(r"\d+(?:[.,٫٬]\d+)*")
_CONTEXT = 48  # characters looked at on each side of a number for its slot words
_SENTENCE_END = re.compile(r"[.!?؟\n]")
"""A slot's words stay inside the number's sentence: a copy that deletes or reorders
sentences gives a number the same slot (otherwise the word after a sentence-final
number is the next sentence's first word, and a copy would conflict with itself)."""

_CACHE_MAX = 50_000  # entries in each bounded word cache (a few MiB at most)

# A dateline or site label before the first separator of the body, e.g.
# ``هبة بريس - الرباط:`` or ``زنقة 20 | الرباط``: a few words, then - | : or a dash.
_DATELINE = re.compile(r"^\s*([^\n|\-–—:.،]{1,40}?)\s*[|\-–—:]+\s*")
_DATELINE_MAX_WORDS = 4
_THOUSANDS = re.compile(r"[.,٬](?=\d{3}(?:\D|$))")


def strip_dateline(text: str) -> str:
    """The body without a leading dateline / site label (at most two, as in
    ``هبة بريس - الرباط:``), when they are short."""
    for _ in range(2):
        m = _DATELINE.match(text)
        if not m or len(m.group(1).split()) > _DATELINE_MAX_WORDS or len(text) < 4 * m.end():
            break
        text = text[m.end():]
    return text


def strip_tail(raw: str) -> str:
    """Raw text cut at the first site-tail marker in its second half."""
    m = _TAIL.search(raw, int(len(raw) * _TAIL_FROM))
    return raw[: m.start()] if m else raw


def norm_tokens(raw: str) -> list[str]:
    """``crawler.arabic.tokens(raw)`` (the reference the fast path is checked against)."""
    return tokens(raw)


def report_raw(body: str | None, *, title: str | None = None, summary: str | None = None) -> str:
    """The raw text of the report proper: dateline and site tail removed. Falls back
    to title and summary when the body is empty so such items still get a story."""
    body = (body or "").strip()
    if body:
        return strip_tail(strip_dateline(body))
    return " ".join(p for p in (title, summary) if p)


def report_text(body: str | None, *, title: str | None = None, summary: str | None = None) -> str:
    """Normalised text of the report proper (for inspection and tests)."""
    return " ".join(norm_tokens(report_raw(body, title=title, summary=summary)))


def shingle_tokens(toks: list[str]) -> list[str]:
    """Content tokens for shingling: normalised tokens minus `STOPWORDS`."""
    return [t for t in toks if t not in STOPWORDS]


_PAST_ALL = 2**64 - 1
"""Last entry of every `_member` table: above any 32-bit token hash, so a search never
runs past the table's end."""


def _table(hashes: set[int]) -> np.ndarray:
    return np.array([*sorted(hashes), _PAST_ALL], dtype=np.uint64)


def _member(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Which `codes` (32-bit token hashes) are in `table` (a `_table`)."""
    return table.take(np.searchsorted(table, codes)) == codes


_STOP_HASHES = _table({hash_token(w) for w in STOPWORDS})
_TAIL_CODES: list[tuple[int, ...]] = [tuple(token_hashes(m).tolist()) for m in _TAIL_MARKERS]
_TAIL_FIRST = _table({c[0] for c in _TAIL_CODES})


def _has_tail(codes: np.ndarray) -> bool:
    half = len(codes) // 2
    for i in (half + np.flatnonzero(_member(codes[half:], _TAIL_FIRST))).tolist():
        for seq in _TAIL_CODES:
            if tuple(codes[i : i + len(seq)].tolist()) == seq:
                return True
    return False


def prepare(body: str | None, *, title: str | None = None,
            summary: str | None = None) -> tuple[str, np.ndarray]:
    """The raw text of the report proper (dateline and site tail removed; title and
    summary when the body is empty) and the hash of each of its content tokens
    (`crawler.arabic.tokens`, stopwords out), in order, as uint64."""
    body = (body or "").strip()
    raw = strip_dateline(body) if body else " ".join(p for p in (title, summary) if p)
    codes = token_hashes(raw)
    if body and _has_tail(codes):  # token-level check first: the regex is slower
        raw = strip_tail(raw)
        codes = token_hashes(raw)
    return raw, codes[~_member(codes, _STOP_HASHES)]


def _figure_value(raw: str) -> str:
    v = _THOUSANDS.sub("", raw).replace("٫", ".").replace(",", ".")
    if "." in v:
        whole, _, frac = v.partition(".")
        frac = frac.rstrip("0")
        v = (whole.lstrip("0") or "0") + ("." + frac if frac else "")
    else:
        v = v.lstrip("0") or "0"
    return v


_context_cache: dict[str, str] = {}
"""Raw whitespace-separated chunk -> the slot word it gives: its normalised tokens joined
by spaces, or "" when it has none or is a number (such a chunk is skipped)."""


def _context_of(chunk: str) -> str:
    if len(_context_cache) > _CACHE_MAX:
        _context_cache.clear()
    w = " ".join(tokens(chunk))
    w = _context_cache[chunk] = "" if w.isdigit() else w
    return w


def _slot_word(chunks: Iterable[str]) -> str:
    """The slot word of the first chunk that gives one ("" when none does)."""
    for c in chunks:
        w = _context_cache.get(c)
        if w is None:
            w = _context_of(c)
        if w:
            return w
    return ""


_value_cache: dict[str, str] = {}
_FIGURE = re.compile(_NUMBER.pattern + f"(?=([^.!?؟\n]{{0,{_CONTEXT}}}))")
"""A number, and in a lookahead what `figures` reads after it: up to `_CONTEXT`
characters, cut at the sentence's end (the first part of splitting them at
`_SENTENCE_END`), captured in the same pass over the text."""
assert _SENTENCE_END.pattern == r"[.!?؟\n]"


_digit_table: np.ndarray | None = None


def _digits() -> np.ndarray:
    """BMP code point -> whether ``\\d`` (what `_NUMBER` starts with) matches it."""
    global _digit_table
    if _digit_table is None:
        bmp = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
        table = np.zeros(0x10000, dtype=bool)
        table[[ord(m.group()) for m in re.finditer(r"\d", bmp)]] = True
        _digit_table = table
    return _digit_table


def _number_starts(raw: str) -> list[int] | None:
    """Where each run of digits in `raw` begins, for a long text (None: let the regex
    scan; a short text, or one that cannot be read through the table). `_FIGURE`'s
    matches all begin at one of these: each ends before a non-digit, so the next begins
    at the first digit after it, which starts a run. Found in arrays, a body's numbers
    cost a table lookup a character instead of the regex engine's test of each position
    (about half of `figures`' time)."""
    if len(raw) < _SCAN_MIN:
        return None
    try:
        cp = np.frombuffer(raw.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # a lone surrogate
        return None
    if int(cp.max()) >= 0x10000:  # astral digits exist (U+1D7CE...): the regex way
        return None
    digit = _digits().take(cp)
    run = np.empty(len(digit), dtype=bool)
    run[0] = digit[0]
    np.greater(digit[1:], digit[:-1], out=run[1:])
    starts: list[int] = np.flatnonzero(run).tolist()
    return starts


_SCAN_MIN = 200
"""Characters from which `_number_starts` pays for its arrays."""


def _figure_matches(raw: str) -> Iterator[re.Match[str]]:
    """``_FIGURE.finditer(raw)``."""
    starts = _number_starts(raw)
    if starts is None:
        yield from _FIGURE.finditer(raw)
        return
    match, end = _FIGURE.match, 0
    for s in starts:
        if s >= end:  # else inside the previous number ("1.234": its "234")
            m = match(raw, s)
            assert m is not None  # a digit starts a number
            end = m.end()
            yield m


def figures(raw: str) -> frozenset[tuple[int, str]]:
    """``(slot, value)`` for every number in the raw text: the slot is a hash of the
    normalised word before and the word after it (``يسجل _ اصابه``), the value the
    number with digits folded to ASCII and separators and leading zeros folded.
    Two near-identical reports whose shared slots carry different values are
    different reports (a new day's count, a new rate)."""
    # One scan for numbers and their following context; the chunk -> word and number
    # -> value caches hold what recurs across reports (most of a figure's cost was
    # function calls and re-normalising the same words).
    out: set[tuple[int, str]] = set()
    values, split_end = _value_cache, _SENTENCE_END.split
    if len(values) > _CACHE_MAX:
        values.clear()
    for m in _figure_matches(raw):
        s = m.start()
        before = _slot_word(reversed(split_end(raw[s - _CONTEXT if s > _CONTEXT else 0:s])[-1].split()))
        after = _slot_word(m.group(1).split())
        num = m.group(0)
        value = values.get(num)
        if value is None:
            value = values[num] = _figure_value(fold_digits(num))
        out.add((zlib.crc32(f"{before}\x1f{after}".encode()), value))
    return frozenset(out)


def figures_conflict(a: frozenset[tuple[int, str]], b: frozenset[tuple[int, str]]) -> int:
    """How many slots both texts fill, each with values the other never uses there."""
    if not a or not b:
        return 0
    va: dict[int, set[str]] = {}
    for slot, value in a:
        va.setdefault(slot, set()).add(value)
    vb: dict[int, set[str]] = {}
    for slot, value in b:
        if slot in va:
            vb.setdefault(slot, set()).add(value)
    return sum(1 for slot, values in vb.items() if values.isdisjoint(va[slot]))

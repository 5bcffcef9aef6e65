"""What one report of a story changed against the first report: a word-level difference
per paragraph.

Paragraphs are matched by content, not only by position (a lead moved to the end is
"kept", not "removed" and "added"): identical paragraphs first, then the most similar
pairs, then a leftover paragraph standing where a leftover of the first report stood is
"replaced". Within a replaced paragraph, words are compared with `difflib` on the
`crawler.arabic` normalised form (so tashkeel, hamza forms and Arabic-Indic digits are
not a change) while the original words are what is shown.

Cost is bounded whatever the input: each text is cut at `MAX_CHARS`, `MAX_PARAGRAPHS`
and `MAX_TOKENS` before any comparison (the result says it was cut), and word-level
matching runs only on paragraph pairs of at most `MAX_PAIR_TOKENS` tokens each.
Everything here is pure: text in, plain dataclasses out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Literal, NamedTuple

from crawler.arabic import normalize

MAX_CHARS = 200_000
"""Characters of a report compared (news articles are well under 50,000)."""
MAX_PARAGRAPHS = 300
MAX_TOKENS = 8_000
"""Tokens (words and punctuation) of a report compared, all paragraphs together."""
MAX_PAIR_TOKENS = 1_500
"""A paragraph pair longer than this on either side is shown replaced whole, not word by word."""
MATCH_WORK = 200_000
"""Above this many candidate word matches (Σ over the first paragraph's words of their
occurrences in the other), as in a text of one word repeated, `difflib` ignores the most
frequent words (its autojunk) instead of going quadratic."""
SMALL_EQUAL = 2
"""Tokens of an unchanged run between two changes that are shown as part of the change."""
SIMILAR = 0.5
"""Dice similarity of two paragraphs' word sets from which they are one paragraph edited."""

ParagraphOp = Literal["kept", "replaced", "added", "removed"]
SegmentOp = Literal["equal", "insert", "delete"]

_LINE = re.compile(r"[^\r\n]+")
# A sentence end glued to the next Arabic word ("…السبت.وأشار"): where an extractor joined
# two <p> without a break; read as the paragraph break it was, or such a report would be
# one paragraph against the other sites' several.
_GLUED_BREAK = re.compile(r"(?:(?<=[.!?؟])|(?<=[.!?؟][\"”»)]))(?=[\"“«]?[\u0621-\u064A])")
# A word (letters, digits, marks; Arabic tashkeel is \w-adjacent: kept inside the word by
# matching marks too) or one punctuation character, with the blank before it.
_TOKEN = re.compile(r"(\s*)([\w\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u200c\u200d]+|[^\w\s])")


class Token(NamedTuple):  # a tuple: a capped report still makes 8,000 of them
    text: str
    """As published."""
    space: str
    """The blank before it, as published (kept so a paragraph reads as it was written)."""
    key: str
    """What is compared: the normalised word (punctuation as is)."""
    is_word: bool
    """Letters or digits (not punctuation): what the added/removed word lists hold."""


@dataclass(frozen=True)
class Segment:
    op: SegmentOp
    text: str
    """Original text of a run of tokens, with the blanks between them."""


@dataclass(frozen=True)
class ParagraphDiff:
    op: ParagraphOp
    segments: list[Segment]
    """The paragraph as the other report has it, with what the first report had instead:
    ``equal`` runs, ``insert`` (only in this report), ``delete`` (only in the first)."""
    words_added: list[str] = field(default_factory=list)
    words_removed: list[str] = field(default_factory=list)
    moved: bool = False
    """Kept or replaced, but at another place than in the first report."""
    similarity: float = 1.0


@dataclass(frozen=True)
class DiffSummary:
    identical: bool
    """Same title and paragraphs once normalised (spelling, tashkeel and digits aside)."""
    title_changed: bool = False
    kept: int = 0
    replaced: int = 0
    added: int = 0
    removed: int = 0
    moved: int = 0
    words_added: int = 0
    words_removed: int = 0
    truncated: bool = False
    """Either text was longer than what is compared; the rest is left out of the difference."""


@dataclass(frozen=True)
class ReportDiff:
    summary: DiffSummary
    title: list[Segment]
    paragraphs: list[ParagraphDiff]


# --- splitting -----------------------------------------------------------------------------

def tokenize(text: str, limit: int | None = None) -> list[Token]:
    """The tokens of `text`, at most `limit` of them (the rest is never scanned)."""
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        if limit is not None and len(out) >= limit:
            break
        word = m.group(2)
        key, is_word = _word(word)
        out.append(Token(word, " " if m.group(1) else "", key, is_word))
    return out


@lru_cache(maxsize=65_536)
def _word(word: str) -> tuple[str, bool]:
    """(key, is_word) of a token: words repeat across the reports of a story."""
    return normalize(word) or word, any(c.isalnum() for c in word)


def _paragraph_texts(text: str) -> Iterator[str]:
    for line in _LINE.finditer(text):  # lazily: a hostile text may hold a million lines
        yield from _GLUED_BREAK.split(line.group())


@dataclass
class _Text:
    paragraphs: list[list[Token]]
    truncated: bool


@lru_cache(maxsize=8)
def split(text: str | None) -> _Text:
    """Paragraphs (blank-line or line separated) as token lists, cut at the caps (cached: a
    story's first report is compared with each of the others; treat the result as read-only)."""
    text = text or ""
    truncated = len(text) > MAX_CHARS
    text = text[:MAX_CHARS]
    paragraphs: list[list[Token]] = []
    budget = MAX_TOKENS
    for raw in _paragraph_texts(text):
        toks = tokenize(raw, budget + 1)
        if not toks:
            continue
        if len(paragraphs) == MAX_PARAGRAPHS or budget <= 0:
            truncated = True
            break
        if len(toks) > budget:
            toks, truncated = toks[:budget], True
        budget -= len(toks)
        paragraphs.append(toks)
    return _Text(paragraphs, truncated)


def _join(tokens: list[Token]) -> str:
    return "".join(t.space + t.text for t in tokens).lstrip()


# --- words ---------------------------------------------------------------------------------

def _segments(old: list[Token], new: list[Token]) -> tuple[list[Segment], list[str], list[str]]:
    """Word-level difference of two paragraphs: segments, words added, words removed."""
    if len(old) > MAX_PAIR_TOKENS or len(new) > MAX_PAIR_TOKENS:
        ops: list[tuple[str, int, int, int, int]] = [("replace", 0, len(old), 0, len(new))]
    else:
        # autojunk off: in a long paragraph it would junk في/من/على, the words that anchor
        # an Arabic sentence; the pair cap keeps the worst case bounded instead.
        a, b = [t.key for t in old], [t.key for t in new]
        counts = Counter(b)
        work = sum(counts[k] for k in a)
        sm = SequenceMatcher(None, a, b, autojunk=work > MATCH_WORK)
        ops = _merge_small_equals(sm.get_opcodes())
    segs: list[Segment] = []
    added: list[str] = []
    removed: list[str] = []

    def emit(op: SegmentOp, toks: list[Token], at_start: bool) -> None:
        if not toks:
            return
        text = "".join(t.space + t.text for t in toks)
        if not segs:
            text = text.lstrip()
        elif at_start and not text[0].isspace():
            text = " " + text  # the first word of its side follows what the other side had there
        if segs and segs[-1].op == op:
            segs[-1] = Segment(op, segs[-1].text + text)
        else:
            segs.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            emit("equal", new[j1:j2], j1 == 0)  # the other report's spelling of the same words
            continue
        emit("delete", old[i1:i2], i1 == 0)
        emit("insert", new[j1:j2], j1 == 0)
        removed += [t.text for t in old[i1:i2] if t.is_word]
        added += [t.text for t in new[j1:j2] if t.is_word]
    return segs, added, removed


def _merge_small_equals(ops: Sequence[tuple[str, int, int, int, int]]) -> list[tuple[str, int, int, int, int]]:
    """Fold an equal run of at most `SMALL_EQUAL` tokens between two changes into them: a
    rewritten sentence shares في, من, a comma with the original, and marking those as kept
    turns one readable replacement into confetti."""
    out: list[tuple[str, int, int, int, int]] = []
    for k, op in enumerate(ops):
        tag, i1, i2, j1, j2 = op
        inner = 0 < k < len(ops) - 1
        if tag == "equal" and not (inner and i2 - i1 <= SMALL_EQUAL):
            out.append(op)
            continue
        if out and out[-1][0] == "replace":
            out[-1] = ("replace", out[-1][1], i2, out[-1][3], j2)
        else:
            out.append(("replace", i1, i2, j1, j2))
    return out


def _whole(op: SegmentOp, toks: list[Token]) -> list[Segment]:
    return [Segment(op, _join(toks))] if toks else []


# --- paragraphs ----------------------------------------------------------------------------

def _similarity(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


def _match(first: list[list[Token]], other: list[list[Token]]) -> dict[int, tuple[int, float]]:
    """other paragraph index -> (first paragraph index, similarity), one-to-one."""
    keys_first = [tuple(t.key for t in p) for p in first]
    keys_other = [tuple(t.key for t in p) for p in other]
    match: dict[int, tuple[int, float]] = {}
    used: set[int] = set()
    # Identical paragraphs, wherever they stand (nearest first, so repeats pair in order).
    where: dict[tuple[str, ...], list[int]] = {}
    for i, k in enumerate(keys_first):
        where.setdefault(k, []).append(i)
    for j, k in enumerate(keys_other):
        free = [i for i in where.get(k, ()) if i not in used]
        if free:
            i = min(free, key=lambda i: abs(i - j))
            match[j] = (i, 1.0)
            used.add(i)
    # Then the most similar remaining pairs, best first.
    words_first = [{t.key for t in p if t.is_word} for p in first]
    words_other = [{t.key for t in p if t.is_word} for p in other]
    pairs = []
    for j in range(len(other)):
        if j in match:
            continue
        for i in range(len(first)):
            if i in used:
                continue
            score = _similarity(words_first[i], words_other[j])
            if score >= SIMILAR:
                pairs.append((-score, abs(i - j), j, i))
    for neg, _, j, i in sorted(pairs):
        if j not in match and i not in used:
            match[j] = (i, -neg)
            used.add(i)
    # A leftover paragraph standing where a leftover of the first report stood replaced it.
    for j in range(len(other)):
        if j in match:
            continue
        i = match[j - 1][0] + 1 if j and (j - 1) in match else (0 if j == 0 else -1)
        if 0 <= i < len(first) and i not in used:
            match[j] = (i, _similarity(words_first[i], words_other[j]))
            used.add(i)
    return match


def _paragraph_diffs(first: list[list[Token]], other: list[list[Token]]) -> list[ParagraphDiff]:
    match = _match(first, other)
    ops: list[tuple[int, ParagraphDiff]] = []  # (first index it follows, diff)
    # "moved": out of order with respect to the paragraphs matched before it.
    last_i = -1
    for j, toks in enumerate(other):
        if j not in match:
            ops.append((last_i, ParagraphDiff("added", _whole("insert", toks), [t.text for t in toks if t.is_word], [],
                                              similarity=0.0)))
            continue
        i, score = match[j]
        moved = i < last_i
        last_i = max(last_i, i)
        old = first[i]
        if [t.key for t in old] == [t.key for t in toks]:
            ops.append((i, ParagraphDiff("kept", _whole("equal", toks), moved=moved)))
        elif score >= SIMILAR:
            segs, added, removed = _segments(old, toks)
            ops.append((i, ParagraphDiff("replaced", segs, added, removed, moved=moved, similarity=round(score, 3))))
        else:  # a different paragraph in its place: shown whole, not as confetti of shared small words
            ops.append((i, ParagraphDiff("replaced", _whole("delete", old) + [Segment("insert", " " + _join(toks))],
                                         [t.text for t in toks if t.is_word], [t.text for t in old if t.is_word],
                                         moved=moved, similarity=round(score, 3))))
    used = {i for i, _ in match.values()}
    out = [d for _, d in ops]
    # Each removed paragraph goes after the last shown paragraph that came before it in the first report.
    for i in sorted(set(range(len(first))) - used, reverse=True):
        pos = 0
        for k, (after, _) in enumerate(ops):
            if after < i:
                pos = k + 1
        gone = ParagraphDiff("removed", _whole("delete", first[i]), [], [t.text for t in first[i] if t.is_word],
                             similarity=0.0)
        out.insert(pos, gone)
        ops.insert(pos, (i, gone))
    return out


def diff_reports(first_body: str | None, other_body: str | None,
                 first_title: str | None = None, other_title: str | None = None) -> ReportDiff:
    """What `other_body` (and title) changed against `first_body` (the story's first report)."""
    a, b = split(first_body), split(other_body)
    paragraphs = _paragraph_diffs(a.paragraphs, b.paragraphs)
    ta, tb = tokenize((first_title or "")[:2000]), tokenize((other_title or "")[:2000])
    title = _segments(ta, tb)[0]
    title_changed = any(s.op != "equal" for s in title)
    count = {op: sum(p.op == op for p in paragraphs) for op in ("kept", "replaced", "added", "removed")}
    summary = DiffSummary(
        identical=not title_changed and count["kept"] == len(paragraphs) and not any(p.moved for p in paragraphs),
        title_changed=title_changed,
        kept=count["kept"], replaced=count["replaced"], added=count["added"], removed=count["removed"],
        moved=sum(p.moved for p in paragraphs),
        words_added=sum(len(p.words_added) for p in paragraphs),
        words_removed=sum(len(p.words_removed) for p in paragraphs),
        truncated=a.truncated or b.truncated,
    )
    return ReportDiff(summary, title, paragraphs)


def paragraphs_of(text: str | None) -> list[str]:
    """The paragraphs of a text as `diff_reports` sees them (for showing the first report)."""
    return [_join(p) for p in split(text).paragraphs]

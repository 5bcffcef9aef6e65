"""Search queries: what a user types, parsed once, rendered for each backend.

A query is words and ``"quoted phrases"``; a word ending in ``*`` matches as a
prefix. Every word goes through `crawler.arabic.tokens` (the same normaliser the
index was built with), so ``الصناعة التقليدية`` finds ``الصناعةُ التقليديّة`` and
hamza/alef/ta-marbuta spellings meet, then through the light stemmer
`crawler.arabic_stem`, so ``حكومة``, ``الحكومة``, ``والحكومة`` and ``حكومات`` find each
other. A quoted phrase is matched on the stems by the index and then kept only where
its words occur in the typed form (normalised, unstemmed; only a proclitic before the
article folded): ``"الحكومة"`` does not find ``حكومات``. All terms must match.

Nothing a user types is an error because of its punctuation: an unbalanced quote is
read as a word break, operator words (``OR``, ``AND``, ``NOT``) and ``-``/``+`` are
read as words, and a query with no words at all lists by date; each such reading
comes back as a hint for the user (`SearchQuery.hints`, `query_hints`). The rendered
FTS5/tsquery text is built only from normalised word tokens, so nothing the user
types reaches the query language unescaped.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from crawler.arabic import _TRANSLATE, DELETED_CLASS, tokens
from crawler.arabic_stem import prefix_stem, stem, stems


def search_form(text: str) -> str:
    """The text the full-text index holds: `crawler.arabic.tokens` (the shared
    normaliser), each through the light stemmer, joined by spaces."""
    return " ".join(stems(tokens(text)))


def search_words(text: str) -> list[str]:
    """The words of `search_form`; index and query both go through here."""
    return stems(tokens(text))


# Proclitics glued to the article: "والصناعة", "بالمغرب", "للحكومة" are the exact forms
# "الصناعة", "المغرب", "الحكومة" ("and/in/for the ..."). Only before "ال" and only when
# a real word (3+ letters) remains, so "والي" (governor) or "والد" (father) stay.
_CLITICS = re.compile(r"(?<!\S)(?:(?:وب|[وفبك])ال|و?لل)(?=\S{3})")


def fold_clitics(text: str) -> str:
    """``وال``/``فال``/``بال``/``كال``/``وبال``/``لل``/``ولل`` + a stem of 3+ letters -> ``ال`` + stem,
    for every space-separated word of `text`."""
    return _CLITICS.sub("ال", text)


_DELETED = re.compile(f"[{DELETED_CLASS}]+")
_REPLACED = [(chr(k), v) for k, v in _TRANSLATE.items() if v is not None]


def fold_chars(text: str) -> str:
    """The characters `crawler.arabic.tokens` sees (its translation table, lower case),
    without tokenising: a phrase is checked on a candidate's whole body with
    `phrase_pattern`, and a dict-driven ``str.translate`` costs three times this regex
    deletion plus a few ``str.replace`` of the letters present."""
    if not text:
        return ""
    t = _DELETED.sub("", text)
    for a, b in _REPLACED:
        if a in t:
            t = t.replace(a, b)
    return t.lower()


_T = "0-9A-Za-z\u0621-\u064A\u0660-\u0669\u06F0-\u06F9"  # crawler.arabic's token characters


@functools.lru_cache(maxsize=1024)
def phrase_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """A regex over `fold_chars` text matching where consecutive tokens have `words` as
    their `exact_form`: each word whole, or for ``ال`` + 3+ letters also any proclitic
    form that `fold_clitics` turns into it (``والحكومه``, ``للحكومه``, ...)."""
    parts = []
    for w in words:
        if w.startswith("ال") and len(w) - 2 >= 3:
            parts.append("(?:(?:وب|[وفبك])?ال|و?لل)" + re.escape(w[2:]))
        else:
            parts.append(re.escape(w))
    return re.compile(f"(?<![{_T}])" + f"[^{_T}]+".join(parts) + f"(?![{_T}])")


_RAW_T = "0-9A-Za-z\u0621-\u063F\u0641-\u064A\u0660-\u0669\u06F0-\u06F9"
"""Raw characters that fold to token characters (`_T` less the tatweel, which is deleted)."""
_LOOSE_TRIES = 8


@functools.lru_cache(maxsize=1)
def _raw_spellings() -> dict[str, str]:
    """Folded character -> regex class body of every raw character `fold_chars` turns
    into a text starting with it (``ه``: ``هة``; ``ا``: ``اأإآٱ``; ``3``: ``3٣۳``; ``k``:
    ``kK`` and the Kelvin sign; ...). Built once from the Basic Multilingual Plane."""
    deleted = set(DELETED_CLASS)
    replaced = dict(_REPLACED)
    out: dict[str, set[str]] = {}
    for cp in range(0x10000):
        ch = chr(cp)
        if ch in deleted or 0xD800 <= cp < 0xE000:
            continue
        folded = replaced.get(ch, ch).lower()
        if folded:
            out.setdefault(folded[0], set()).add(ch)
    return {c: "".join(re.escape(x) for x in sorted(chars)) for c, chars in out.items()}


def _loose_literal(text: str) -> str:
    spell = _raw_spellings()
    return "".join(f"[{spell.get(c, re.escape(c))}][{DELETED_CLASS}]*" for c in text)


@functools.lru_cache(maxsize=1024)
def loose_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """A regex over *raw* text matching wherever `phrase_pattern` can match its folded
    form, and some places more: each letter in any spelling that folds to it, deleted
    characters (diacritics, tatweel) allowed after each, no word boundaries, any run of
    non-token characters between words. No match here: no match at all."""
    parts = []
    spell = _raw_spellings()
    # one to four letters of وبال / وال / فال / بال / كال / ال / ولل / لل, in any order
    clitic = "(?:[" + "".join(spell[c] for c in "وبفكال") + f"][{DELETED_CLASS}]*){{1,4}}"
    for i, w in enumerate(words):
        if w.startswith("ال") and len(w) - 2 >= 3:
            # the first word's article and clitics are left out: the window reaches back
            # to the space before the match, so they are checked there
            parts.append(("" if i == 0 else clitic) + _loose_literal(w[2:]))
        else:
            parts.append(_loose_literal(w))
    return re.compile(f"[^{_RAW_T}]*?".join(parts))


def phrase_in(text: str, words: tuple[str, ...]) -> bool:
    """True when `words` (exact forms) occur as consecutive tokens of `text`'s
    `exact_form`, without tokenising `text` nor folding all of it: `loose_pattern` finds
    the candidate places in the raw text (none: False), and only the words around one
    (cut at spaces, which end tokens in both forms) are folded and checked; after a few
    candidates that fail, the whole text is."""
    if not text:
        return False
    pattern = phrase_pattern(words)
    loose = loose_pattern(words)
    pos = 0
    for _ in range(_LOOSE_TRIES):
        m = loose.search(text, pos)
        if m is None:
            return False
        start = max(text.rfind(" ", 0, m.start()), 0)
        end = text.find(" ", m.end())
        if pattern.search(fold_chars(text[start:end if end >= 0 else len(text)])):
            return True
        pos = m.start() + 1
    return bool(pattern.search(fold_chars(text)))


def exact_form(text: str) -> str:
    """What a quoted phrase is checked against: normalised words, unstemmed, with only
    the proclitics before the article folded (``والحكومة`` is ``الحكومة``; ``حكومة``
    and ``حكومات`` are not)."""
    return fold_clitics(" ".join(tokens(text)))


MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MIN_PREFIX_CHARS = 3
"""A ``word*`` prefix shorter than this (after normalising and stemming) is searched as a
word. A prefix merges the postings of every indexed word it starts before the first row
comes back, inside FTS5 (no SQLite instruction runs meanwhile, so the time budget's
progress handler cannot stop it): at 20k articles one letter took 400-800 ms, two letters
up to 75 ms, three up to 9 ms (linear in the archive's size)."""
MAX_PREFIX_TERMS = 3
"""Distinct prefix terms per query; later ones are searched as words (the costliest kind
of term, see `MIN_PREFIX_CHARS`)."""
DEFAULT_SEARCH_BUDGET_S = 2.0
"""Wall time one search may take before it is stopped with `SearchTimeout`."""


class QueryError(ValueError):
    """The search request is malformed; the message says how, for the user (HTTP 400)."""


class SearchTimeout(RuntimeError):
    """A search ran past its time budget (`Archive.search_budget`) and was stopped: the
    archive is busy or the query too costly, not malformed (HTTP 503, retry later)."""

    def __init__(self, budget_s: float) -> None:
        super().__init__(f"search stopped after its time budget of {budget_s:g} s: "
                         "try fewer or longer words, a filter, or again later")
        self.budget_s = budget_s


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    """Stems: what the index is queried for."""
    prefix: bool = False
    exact: tuple[str, ...] | None = None
    """A quoted phrase's normalised, unstemmed words: matches must hold them as typed."""


@dataclass(frozen=True)
class SearchQuery:
    terms: tuple[Term, ...] = field(default_factory=tuple)
    hints: tuple[str, ...] = field(default_factory=tuple)
    """How the query was read where it differs from what was typed, for the user."""

    @property
    def exact_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.exact is not None)

    def fts5(self) -> str:
        return " AND ".join(self.term_fts5(t) for t in self.terms)

    @staticmethod
    def term_fts5(t: Term) -> str:
        p = '"' + " ".join(t.words) + '"'
        return p + "*" if t.prefix else p

    def fts5_text(self) -> str:
        """The query over the text columns (title and body), not the source column."""
        return "{title body} : (" + self.fts5() + ")"

    def matches_words(self, indexed: str) -> bool:
        """True when every term occurs in `indexed` (text in `search_form`)."""
        padded = f" {indexed} "
        for t in self.terms:
            if t.prefix:
                head = " ".join(t.words)
                if f" {head}" not in padded:
                    return False
            elif f" {' '.join(t.words)} " not in padded:
                return False
        return True

    def matches_exact(self, title: str, body: str) -> bool:
        """True when every quoted phrase occurs, in its typed (normalised) form, in the
        raw `title` or `body` of a row (`records.text_fields`; the index matched its stems)."""
        exact = self.exact_terms
        if not exact:
            return True
        return all(phrase_in(title, t.exact or ()) or phrase_in(body, t.exact or ()) for t in exact)

    def tsquery(self) -> str:
        parts = []
        for t in self.terms:
            words = [w + ":*" if (t.prefix and i == len(t.words) - 1) else w for i, w in enumerate(t.words)]
            parts.append("(" + " <-> ".join(words) + ")")
        return " & ".join(parts)


_PIECE = re.compile(r'"([^"]*)"|([^\s"]+)')
# FTS5/tsquery/web-search operators a user may type or paste: here they are words.
_OPERATOR_WORDS = frozenset({"OR", "AND", "NOT", "NEAR"})
# "-word"/"+word" (exclude/require elsewhere); a lone "-" between words is headline punctuation
_OPERATOR_MARK = re.compile(r"^[-+!]\w")


def _lone_quote_removed(text: str) -> str:
    """`text` with its last, unpartnered double quote made a space."""
    i = text.rindex('"')
    return text[:i] + " " + text[i + 1:]


def parse_query(text: str | None) -> SearchQuery | None:
    """Parse `text`; None when there is nothing to search (list by date instead).

    Only length and term count are errors (`QueryError`). Punctuation never is: an
    unbalanced quote is dropped, operators are read as words, and a query without any
    word gives a `SearchQuery` with no terms (list by date) and a hint saying so."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is too long ({len(text)} characters; at most {MAX_QUERY_CHARS})")
    hints: list[str] = []
    if text.count('"') % 2:
        text = _lone_quote_removed(text)
        hints.append('unbalanced quote: the lone " was ignored and its words searched as words')
    terms: list[Term] = []
    operators: list[str] = []
    for m in _PIECE.finditer(text):
        phrase, word = m.group(1), m.group(2)
        raw = phrase if phrase is not None else word
        if word is not None and (word in _OPERATOR_WORDS or _OPERATOR_MARK.match(word)):
            operators.append(word)
        prefix = phrase is None and raw.endswith("*")
        typed = tuple(exact_form(raw).split())
        if not typed:
            continue
        words = tuple(stem(w) for w in typed)
        if prefix:
            words = (*words[:-1], prefix_stem(typed[-1]))
        if phrase is not None:
            terms.append(Term(words, exact=typed))
            continue
        if prefix and len(words) > 1:
            terms.extend(Term((w,)) for w in words[:-1])
            words = words[-1:]
        terms.extend(Term((w,), prefix and i == len(words) - 1) for i, w in enumerate(words))
    if operators:
        shown = " ".join(dict.fromkeys(operators))
        hints.append(f"read as words, not operators: {shown} (every word must match)")
    if not terms:
        hints.append("no words to search for (letters or digits): showing the latest articles")
        return SearchQuery((), tuple(hints))
    terms = _capped_prefixes(terms, hints)
    # every term must match, so a repeated one adds nothing but its cost (32 x "ا*" cost
    # 32 index scans); counted after folding
    folded = list(dict.fromkeys(terms))
    if len(folded) < len(terms):
        hints.append("repeated words were searched once")
    terms = folded
    if len(terms) > MAX_TERMS:
        raise QueryError(f"query has too many terms ({len(terms)}; at most {MAX_TERMS})")
    return SearchQuery(tuple(terms), tuple(hints))


def search_budget_default() -> float | None:
    """The search time budget in seconds: ``AKHBAR_SEARCH_BUDGET`` (``0`` or ``none``: no
    budget), else `DEFAULT_SEARCH_BUDGET_S`."""
    import os

    raw = os.environ.get("AKHBAR_SEARCH_BUDGET", "").strip().lower()
    if not raw:
        return DEFAULT_SEARCH_BUDGET_S
    if raw in ("0", "none", "off"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"AKHBAR_SEARCH_BUDGET must be a number of seconds, not {raw!r}") from None
    return value if value > 0 else None


def _capped_prefixes(terms: list[Term], hints: list[str]) -> list[Term]:
    """`terms` with prefixes shorter than `MIN_PREFIX_CHARS`, and those past the first
    `MAX_PREFIX_TERMS` distinct ones, made whole words (a hint says which)."""
    out: list[Term] = []
    kept: set[Term] = set()
    short: list[str] = []
    over: list[str] = []
    for t in terms:
        if t.prefix:
            if len(t.words[-1]) < MIN_PREFIX_CHARS:
                short.append(t.words[-1])
                t = Term(t.words)
            elif t not in kept and len(kept) >= MAX_PREFIX_TERMS:
                over.append(t.words[-1])
                t = Term(t.words)
            else:
                kept.add(t)
        out.append(t)
    if short:
        hints.append(f"too short for a prefix (at least {MIN_PREFIX_CHARS} letters), searched as whole words: "
                     + " ".join(dict.fromkeys(short)))
    if over:
        hints.append(f"at most {MAX_PREFIX_TERMS} prefixes (word*) a query, the rest searched as words: "
                     + " ".join(dict.fromkeys(over)))
    return out


def query_hints(text: str | None) -> list[str]:
    """The hints `parse_query` gives for `text` (none for a query it refuses)."""
    try:
        q = parse_query(text)
    except QueryError:
        return []
    return list(q.hints) if q else []


def parse_date_bound(value: str | date | datetime | None, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` (whole day, UTC) or an ISO datetime; `end` makes a bare date
    inclusive of that whole day. Raises QueryError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        d = value
    else:
        s = str(value).strip()
        try:
            if len(s) == 10:
                d = date.fromisoformat(s)
            else:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
                return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        except ValueError:
            raise QueryError(f"bad date {s!r}: use YYYY-MM-DD or an ISO 8601 datetime") from None
    return datetime.combine(d, time.max if end else time.min, tzinfo=UTC)

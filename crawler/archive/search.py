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
from datetime import date, datetime, time, timezone
from typing import Any, Mapping

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


# Folded letters other spellings fold into (أ إ آ ٱ, ؤ, ئ ى ی, ة, ک): a probe avoids them.
_FOLD_TARGETS = frozenset(v for v in _TRANSLATE.values() if v and v != " ")
_PROBE_RUN = re.compile(f"[^{''.join(sorted(_FOLD_TARGETS))}]{{3,}}")
_WINDOW = 80
_PROBE_TRIES = 4


@functools.lru_cache(maxsize=1024)
def _probe(words: tuple[str, ...]) -> str:
    """The longest run of 3+ letters of the phrase that every spelling writes the same
    way ('' when none): where it is found, the phrase can only be near."""
    runs = [r for w in words for r in _PROBE_RUN.findall(w)]
    return max(runs, key=len) if runs else ""


def phrase_in(text: str, words: tuple[str, ...]) -> bool:
    """True when `words` (exact forms) occur as consecutive tokens of `text`'s
    `exact_form`, without tokenising `text`: first only a window around the probe's
    first occurrence is folded (cut at spaces, which end tokens in both forms, so a
    match there is a match), else the whole text."""
    if not text:
        return False
    pattern = phrase_pattern(words)
    probe = _probe(words)
    reach = _WINDOW * len(words)
    i = text.find(probe) if probe else -1
    tries = 0
    while i >= 0 and tries < _PROBE_TRIES:
        start = max(text.rfind(" ", 0, max(0, i - reach)), 0)
        end = text.find(" ", i + len(probe) + reach)
        if pattern.search(fold_chars(text[start:end if end >= 0 else len(text)])):
            return True
        if start == 0 and end < 0:
            return False  # the window was the whole text
        i = text.find(probe, end) if end >= 0 else -1
        tries += 1
    return bool(pattern.search(fold_chars(text)))


def exact_form(text: str) -> str:
    """What a quoted phrase is checked against: normalised words, unstemmed, with only
    the proclitics before the article folded (``والحكومة`` is ``الحكومة``; ``حكومة``
    and ``حكومات`` are not)."""
    return fold_clitics(" ".join(tokens(text)))


MAX_QUERY_CHARS = 500
MAX_TERMS = 32


class QueryError(ValueError):
    """The search request is malformed; the message says how, for the user."""


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

    def matches_exact(self, row: Mapping[str, Any]) -> bool:
        """True when every quoted phrase occurs, in its typed (normalised) form, in the
        title or the body of the archive row `row` (the index matched its stems)."""
        exact = self.exact_terms
        if not exact:
            return True
        from crawler.archive.records import text_fields

        title, body = text_fields(row)
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
    if len(terms) > MAX_TERMS:
        raise QueryError(f"query has too many terms ({len(terms)}; at most {MAX_TERMS})")
    return SearchQuery(tuple(terms), tuple(hints))


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
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        d = value
    else:
        s = str(value).strip()
        try:
            if len(s) == 10:
                d = date.fromisoformat(s)
            else:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
                return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
        except ValueError:
            raise QueryError(f"bad date {s!r}: use YYYY-MM-DD or an ISO 8601 datetime") from None
    return datetime.combine(d, time.max if end else time.min, tzinfo=timezone.utc)

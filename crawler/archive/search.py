"""Search queries: what a user types, parsed once, rendered for each backend.

A query is words and ``"quoted phrases"``; a word ending in ``*`` matches as a
prefix. Every word goes through `crawler.arabic.normalize` (the same normaliser
the index was built with), so ``الصناعة التقليدية`` finds ``الصناعةُ التقليديّة``
and hamza/alef/ta-marbuta spellings meet. All terms must match. The rendered
FTS5/tsquery text is built only from normalised word tokens, so nothing the user
types reaches the query language unescaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from crawler.arabic import tokens

# Proclitics glued to the article: "والصناعة", "بالمغرب", "للحكومة" are searched as
# "الصناعة", "المغرب", "الحكومة". Only before "ال" and only when a real word (3+
# letters) remains, so "والي" (governor) or "والد" (father) are left alone.
_CLITICS = re.compile(r"(?<!\S)(?:(?:وب|[وفبك])ال|و?لل)(?=\S{3})")


def fold_clitics(text: str) -> str:
    """``وال``/``فال``/``بال``/``كال``/``وبال``/``لل``/``ولل`` + a stem of 3+ letters -> ``ال`` + stem,
    for every space-separated word of `text`."""
    return _CLITICS.sub("ال", text)


def search_form(text: str) -> str:
    """The text the full-text index holds: `crawler.arabic.tokens` (the shared
    normaliser) joined by spaces, proclitics before the article folded."""
    return fold_clitics(" ".join(tokens(text)))


def search_words(text: str) -> list[str]:
    """The words of `search_form`; index and query both go through here."""
    return search_form(text).split()


MAX_QUERY_CHARS = 500
MAX_TERMS = 32


class QueryError(ValueError):
    """The search request is malformed; the message says how, for the user."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class SearchQuery:
    terms: tuple[Term, ...] = field(default_factory=tuple)

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

    def tsquery(self) -> str:
        parts = []
        for t in self.terms:
            words = [w + ":*" if (t.prefix and i == len(t.words) - 1) else w for i, w in enumerate(t.words)]
            parts.append("(" + " <-> ".join(words) + ")")
        return " & ".join(parts)


_PIECE = re.compile(r'"([^"]*)"|(\S+)')


def parse_query(text: str | None) -> SearchQuery | None:
    """Parse `text`; None when there is nothing to search (list by date instead)."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is too long ({len(text)} characters; at most {MAX_QUERY_CHARS})")
    if text.count('"') % 2:
        raise QueryError('unbalanced quote in query: close every "phrase"')
    terms: list[Term] = []
    for m in _PIECE.finditer(text):
        phrase, word = m.group(1), m.group(2)
        raw = phrase if phrase is not None else word
        prefix = phrase is None and raw.endswith("*")
        words = tuple(search_words(raw))
        if not words:
            continue
        if prefix and len(words) > 1:
            terms.extend(Term((w,)) for w in words[:-1])
            words = words[-1:]
        if phrase is None:
            terms.extend(Term((w,), prefix and i == len(words) - 1) for i, w in enumerate(words))
        else:
            terms.append(Term(words))
    if not terms:
        raise QueryError(f"query {text!r} has no words to search for (letters or digits)")
    if len(terms) > MAX_TERMS:
        raise QueryError(f"query has too many terms ({len(terms)}; at most {MAX_TERMS})")
    return SearchQuery(tuple(terms))


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

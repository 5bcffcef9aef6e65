"""PostgreSQL search: choosing, per query, between walking the date index and the GIN index.

A date-sorted "newest N matching" query has two good plans and the planner often
picks the wrong one, because it does not cost reading each row's ``tsv`` (a
TOASTed ~3 KB value, stored uncompressed as pglz cannot shrink it: ~15 µs a row,
versus ~5 µs to fetch a GIN match's row for its sort key):

- **walk**: read rows newest first through a ``sort_key`` index, test ``tsv``, stop
  after N matches. Cost ~ N / (fraction of rows matching). Cheap for common words,
  ruinous for rare ones (the walk reads the whole table).
- **gin**: the GIN bitmap gives every match, then a top-N sort. Cost ~ number of
  matches. Cheap for rare words, slow for a word in half the archive.

- **slice** (at scale, for words between those two): the GIN bitmap ANDed with a B-tree
  bitmap of the newest slice of ``sort_key`` sized to hold about twice the N matches,
  then a top-N sort of the matches inside it; a slice holding fewer is widened 4x and
  asked again. Cost ~ the words' postings (read compressed from GIN, no row) + the slice's
  index entries + 2N row fetches: no ``tsv`` read, unlike the walk, and not every match
  fetched, unlike the GIN plan. At 1M a mid-frequency word (~1-3 % of articles) has
  10-30k matches, and 200 relevance candidates need ~10k rows walked.

- **recent GIN index**: at 1M a stem in 8 % of articles has 78k postings, 20-30 ms to
  read into a bitmap before any row, however narrow the slice. A second, partial GIN index
  holds only the newest `RECENT_SHARE` of the archive (``WHERE sort_key + 0 >= cut``; made and
  renewed by `PostgresArchive.optimize`, see `recent_index_plan`): a slice above the cut
  reads a tenth of the postings. Rows newer than the cut are indexed twice (the cost of a
  crawl's inserts; a back-filled old article is not).

The choice uses PostgreSQL's own statistics: ``ANALYZE`` keeps, for the ``tsv``
column, the most common lexemes with their document frequencies (every lexeme in
more than a few percent of articles), and for ``articles.source``/``topic`` the
most common values. A lexeme missing from that list is rarer than the rarest one
listed, which at that frequency means the GIN path. The statistics are read once
and cached for `STATS_TTL` seconds.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.archive.search import SearchQuery, Term

if TYPE_CHECKING:
    from crawler.archive.base import Archive

STATS_TTL = 300.0
# Measured per-row costs (µs, PostgreSQL 15, 100k articles): testing one row's tsv while
# walking the date index, and fetching one GIN match's row for its sort key.
WALK_ROW_COST = 17.0
GIN_MATCH_COST = 5.0
# A phrase occurs in at most as many articles as its rarest word; assume half.
PHRASE_FACTOR = 0.5
# Selectivity of an equality filter on a value the statistics do not list.
UNLISTED_FILTER_SEL = 0.01
# The newest-slice plan (see `slice_span`): reading one posting of a word into the GIN
# bitmap (78k postings: 10 ms at 1M at load 4-5, 20-33 ms at load 8-9; an AND of it with a
# word in half the articles as long), and one row of the date slice's B-tree bitmap (8k
# rows: ~1.1 ms).
GIN_POSTING_COST = 0.15
RANGE_ROW_COST = 0.14
# A word the statistics do not list is rarer than the rarest listed one, but at 1M that
# can still be ~10k articles (the GIN plan fetched 11k rows for one: 45 ms): the slice
# is sized as if it were half as frequent, and widened when that was too narrow.
UNLISTED_FREQ_SHARE = 0.5
UNLISTED_SLICE_MIN_MATCHES = 2000
# A slice is sized to hold this many times the matches needed (estimates are rough).
SLICE_MARGIN = 2.0
# The recent GIN index: the newest share of the archive it covers when (re)made, from how
# many articles it is worth having, and how far past that share it may grow (new articles
# join it) before `optimize` renews it with a later cut.
RECENT_INDEX = "article_text_tsv_recent"
RECENT_SHARE = 0.1
RECENT_MIN_ROWS = 50_000
RECENT_RENEW_AT = 2.0
# The recent word-pair index (over `tsv_pairs(tsv)`, migration 370; made with the recent
# words' index and over the same newest articles) and the phrase words it can answer: one
# token of to_tsvector('simple', ...) each (see `pair_lexemes`).
PAIR_INDEX = "article_text_pairs_recent"
# Period GIN indexes: partial GIN indexes tiling the archive below the recent index's cut
# (``WHERE sort_key + 0 >= a AND sort_key + 0 < b``, the oldest without `a`), each about
# as many articles as the recent one (made by `PostgresArchive.optimize`, see
# `period_bounds_plan`). A statement whose date range lies inside one period reads that
# period's postings only: at 1M 'ازم' & 'كورونا' has 140,848 postings in the whole index
# (40-45 ms to read into a bitmap, once per slice statement) for a six-month date range.
PERIOD_INDEX = "article_text_tsv_period"
_PLAIN_WORD = re.compile(r"^[^\W_]{1,200}$")


@dataclass
class TextStats:
    rows: float = 0.0
    lexemes: dict[str, float] = field(default_factory=dict)
    min_freq: float = 0.0  # the rarest listed lexeme's frequency: unlisted ones are rarer
    values: dict[str, dict[str, float]] = field(default_factory=dict)  # column -> value -> frequency
    key_lo: int | None = None
    key_hi: int | None = None
    recent_cut: int | None = None  # the recent GIN index covers sort_key >= this (None: no such index)
    pair_cut: int | None = None  # the recent word-pair index covers sort_key >= this (None: none)
    periods: list[tuple[int | None, int]] = field(default_factory=list)  # period indexes' [a, b), newest first
    loaded_at: float = 0.0

    @property
    def usable(self) -> bool:
        return self.rows > 0 and bool(self.lexemes)

    def rows_above(self, bound: float) -> float:
        """Articles with sort_key >= `bound`, dates taken as evenly spread."""
        if self.key_lo is None or self.key_hi is None or self.key_hi <= self.key_lo:
            return self.rows
        return self.rows * min(1.0, max(0.0, (self.key_hi - bound) / (self.key_hi - self.key_lo)))

    def rows_between(self, lo: float | None, hi: float | None) -> float:
        """Articles with lo <= sort_key <= hi (None: unbounded), dates taken as evenly spread."""
        return max(0.0, self.rows_above(lo if lo is not None else -math.inf)
                   - (self.rows_above(hi) if hi is not None else 0.0))

    def indexed_rows(self, bound: float | None) -> float:
        """Rows in the GIN index a query with ``sort_key >= bound`` reads: the recent one's
        when the bound is at or above its cut, else the whole archive's."""
        if bound is not None and self.recent_cut is not None and bound >= self.recent_cut:
            return self.rows_above(self.recent_cut)
        return self.rows


_CUT = re.compile(r"sort_key(?: \+ 0\))? >= '?(-?\d+)")
_UPPER = re.compile(r"sort_key \+ 0\) < '?(-?\d+)")


def recent_cut(predicate: str | None) -> int | None:
    """The cut of a recent index's predicate as ``pg_get_expr`` prints it
    (``((sort_key + 0) >= '123'::bigint)``); None when it is not that shape."""
    m = _CUT.search(predicate or "")
    return int(m.group(1)) if m else None


def period_bounds(predicate: str | None) -> tuple[int | None, int] | None:
    """``(a, b)`` of a period index's predicate as ``pg_get_expr`` prints it
    (``(((sort_key + 0) >= '1'::bigint) AND ((sort_key + 0) < '2'::bigint))``; `a` None for
    the oldest period, which has no lower bound); None when it is not that shape."""
    hi = _UPPER.search(predicate or "")
    if hi is None:
        return None
    return recent_cut(predicate), int(hi.group(1))


def period_of(st: TextStats, lo: int | None, hi: int | None) -> tuple[int | None, int] | None:
    """The period index holding every row of ``lo <= sort_key <= hi`` (None: no bound),
    or None when no single one does."""
    if hi is None:
        return None
    for a, b in st.periods:
        if hi < b and (a is None or (lo is not None and lo >= a)):
            return a, b
    return None


def period_bounds_plan(keys: list[int], cut: int, periods: list[tuple[int | None, int]]) -> list[tuple[int | None, int]]:
    """The periods to make below the recent index's `cut`: with none there yet, a tiling of
    the archive below the cut at `keys` (sort_keys below the cut, newest first, one every
    `RECENT_SHARE` of the archive; the oldest period without a lower bound, so a
    back-filled old article has one too); otherwise the one period from the newest one's
    upper bound to the cut (the recent index was renewed with a later cut: the articles in
    between left it)."""
    if periods:
        top = max(b for _, b in periods)
        return [(top, cut)] if top < cut else []
    out: list[tuple[int | None, int]] = []
    upper = cut
    for k in sorted((k for k in keys if k < cut), reverse=True):
        out.append((k, upper))
        upper = k
    out.append((None, upper))
    return out


def load_stats(archive: Archive) -> TextStats:
    st = TextStats(loaded_at=time.monotonic())
    row = archive.fetchone(
        "SELECT c.reltuples AS rows, s.most_common_elems::text::text[] AS elems, s.most_common_elem_freqs AS freqs "
        "FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = 'article_text' "
        "AND s.attname = 'tsv' WHERE c.oid = 'article_text'::regclass"
    )
    if row and row["elems"] and row["freqs"]:
        elems, freqs = row["elems"], row["freqs"]
        st.rows = float(row["rows"] or 0)
        st.lexemes = dict(zip(elems, freqs))
        # most_common_elem_freqs is followed by the minimum and maximum frequency
        st.min_freq = freqs[len(elems)] if len(freqs) > len(elems) else min(freqs)
    for r in archive.fetch(
        "SELECT attname, most_common_vals::text::text[] AS vals, most_common_freqs AS freqs FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = 'articles' AND attname IN ('source', 'topic')"
    ):
        if r["vals"] and r["freqs"]:
            st.values[r["attname"]] = dict(zip(r["vals"], r["freqs"]))
    keys = archive.fetchone("SELECT min(sort_key) AS lo, max(sort_key) AS hi FROM article_text")
    if keys:
        st.key_lo, st.key_hi = keys["lo"], keys["hi"]
    cuts = [recent_cut(r["pred"]) for r in archive.fetch(
        "SELECT pg_get_expr(i.indpred, i.indrelid) AS pred FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'article_text'::regclass AND c.relname LIKE ? AND i.indisvalid",
        (RECENT_INDEX + "%",))]
    st.recent_cut = max((c for c in cuts if c is not None), default=None)
    pair_cuts = [recent_cut(r["pred"]) for r in archive.fetch(
        "SELECT pg_get_expr(i.indpred, i.indrelid) AS pred FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'article_text'::regclass AND c.relname LIKE ? AND i.indisvalid",
        (PAIR_INDEX + "%",))]
    st.pair_cut = max((c for c in pair_cuts if c is not None), default=None)
    periods = [period_bounds(r["pred"]) for r in archive.fetch(
        "SELECT pg_get_expr(i.indpred, i.indrelid) AS pred FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'article_text'::regclass AND c.relname LIKE ? AND i.indisvalid",
        (PERIOD_INDEX + "%",))]
    st.periods = sorted((p for p in periods if p is not None), key=lambda p: -p[1])
    return st


def words_fraction(st: TextStats, q: SearchQuery) -> float:
    """Estimated fraction of articles holding every word of `q` (what its GIN bitmap
    holds: a phrase's words without their order), words taken as independent; an unlisted
    word at `UNLISTED_FREQ_SHARE` of the rarest listed frequency."""
    frac = 1.0
    for t in q.terms:
        for i, w in enumerate(t.words):
            f = _word_freq(st, w, t.prefix and i == len(t.words) - 1)
            frac *= f if f is not None else st.min_freq * UNLISTED_FREQ_SHARE
    return frac


def range_bitmap_pays(st: TextStats, q: SearchQuery, bound: int) -> bool:
    """For a slice above the recent index's cut: is a B-tree bitmap of ``sort_key >=
    bound`` worth ANDing with the recent index's bitmap, rather than filtering the words'
    recent matches by sort_key as they are fetched? The range costs RANGE_ROW_COST a row of
    the slice; without it every recent match is fetched. At 1M, `"الحدود البحريه"`: an
    85k-row range (12 ms) to drop 235 of 1,596 matches."""
    if st.recent_cut is None:
        return True
    recent_matches = words_fraction(st, q) * st.rows_above(st.recent_cut)
    return st.rows_above(bound) * RANGE_ROW_COST < recent_matches * GIN_MATCH_COST


def period_range_pays(st: TextStats, q: SearchQuery, lo: int | None, hi: int, period: tuple[int | None, int]) -> bool:
    """`range_bitmap_pays` for a statement inside one period index: a B-tree bitmap of
    ``lo..hi`` against fetching every match of the words in the period."""
    a, b = period
    in_period = words_fraction(st, q) * st.rows_between(a, b)
    return st.rows_between(lo, hi) * RANGE_ROW_COST < in_period * GIN_MATCH_COST


def recent_index_plan(st: TextStats) -> tuple[bool, int]:
    """(make a new recent index?, how many of the newest articles it should cover): when
    the archive has `RECENT_MIN_ROWS` x 10 articles and there is no recent index yet, or the
    one there has grown past `RECENT_RENEW_AT` times its share (new articles join it)."""
    want = int(st.rows * RECENT_SHARE)
    if want < RECENT_MIN_ROWS:
        return False, want
    if st.recent_cut is None:
        return True, want
    return st.rows_above(st.recent_cut) > RECENT_RENEW_AT * want, want


def _word_freq(st: TextStats, word: str, prefix: bool) -> float | None:
    """Fraction of articles holding `word` (a prefix: any listed word it starts);
    None when the statistics do not list it (rarer than ``min_freq``)."""
    if prefix:
        total = sum(f for w, f in st.lexemes.items() if w.startswith(word))
        return min(1.0, total) if total else None
    return st.lexemes.get(word)


def match_fraction(st: TextStats, q: SearchQuery, *, for_walk: bool = False) -> float | None:
    """Estimated fraction of articles matching `q`; None when some term is rarer than
    every listed lexeme (then the match count is small: at most ``min_freq * rows``).

    A phrase is taken in `PHRASE_FACTOR` of the articles holding its words: as many as
    its rarest word (words that go together), or `for_walk` (costing the walk, which
    reads a tsv for every row it passes, and is ruinous when the phrase is rarer than
    thought) the product of their frequencies (words that do not). At 1M `"ازمه كورونا"`
    is in 3.8 % of articles: min 9.4 %, product 4.9 %; the walk of its 300 newest took
    7,818 rows."""
    frac = 1.0
    for t in q.terms:
        freqs = [_word_freq(st, w, t.prefix and i == len(t.words) - 1) for i, w in enumerate(t.words)]
        if any(f is None for f in freqs):
            return None
        known = [f for f in freqs if f is not None]
        if len(known) == 1:
            frac *= known[0]
            continue
        both = math.prod(known) if for_walk else min(known)
        frac *= both * PHRASE_FACTOR
    return frac


def filter_fraction(st: TextStats, filters: list[tuple[str, Any]]) -> float | None:
    """Fraction of articles passing the equality filters; None when a filter (a story,
    an unlisted value) is selective enough that the planner should drive from it."""
    frac = 1.0
    for col, value in filters:
        if col == "is_canonical":
            continue  # most articles: no help choosing
        listed = st.values.get(col)
        if not listed or str(value) not in listed:
            return None
        frac *= listed[str(value)]
    return frac


def walked_rows(st: TextStats, q: SearchQuery, filters: list[tuple[str, Any]], needed: int) -> float | None:
    """Rows whose tsv the walk reads for `needed` matches. With a source or topic filter it
    walks that filter's (column, sort_key) index on ``articles``, so only rows passing it
    are tested (at 1M, 839 rows of le12 for 25 of a phrase in 3 %): needed / (f g) counted
    the other sources' rows too, 5x too many, and sent common words to slices."""
    f = match_fraction(st, q, for_walk=True)
    g = filter_fraction(st, filters)
    if not f or not g:
        return None
    drive = min((st.values[c][str(v)] for c, v in filters
                 if c in ("source", "topic") and str(v) in st.values.get(c, {})), default=1.0)
    return needed / (f * g / drive)


def choose_walk(st: TextStats, q: SearchQuery, filters: list[tuple[str, Any]], lo: int | None, hi: int | None,
                needed: int) -> bool | None:
    """True: walk the date index; False: GIN bitmap + top-N sort; None: no statistics
    (a fresh or tiny archive), leave it to the planner."""
    if not st.usable:
        return None
    f = match_fraction(st, q)
    if f is None:
        return False
    g = filter_fraction(st, filters)
    if g is None:
        return False
    if f * g <= 0:
        return False
    walk_rows = walked_rows(st, q, filters, needed) or needed / (f * g)
    gin_matches = f * st.rows
    per_match = GIN_MATCH_COST
    extra = 0.0
    if any(len(t.words) > 1 for t in q.terms):
        # GIN holds no positions: the GIN path takes every article with all the words
        # (as many again as the phrase's matches), newest first, and reads tsv until
        # `needed` hold the phrase (PostgresArchive._phrase_candidates_sql)
        gin_matches /= PHRASE_FACTOR
        extra = needed / PHRASE_FACTOR * WALK_ROW_COST
    if (lo is not None or hi is not None) and st.key_lo is not None and st.key_hi is not None and st.key_hi > st.key_lo:
        a, b = max(lo if lo is not None else st.key_lo, st.key_lo), min(hi if hi is not None else st.key_hi, st.key_hi)
        in_range = max(0.0, (b - a) / (st.key_hi - st.key_lo)) * st.rows
        walk_rows = min(walk_rows, in_range)  # the walk stops at the range's end
        # the GIN path gets no discount for the range: the planner may as well take a bitmap
        # of the date range and test tsv on every row in it (at the walk's per-row cost),
        # so it costs at most that
        return walk_rows * WALK_ROW_COST < min(gin_matches * per_match + extra, in_range * WALK_ROW_COST)
    return walk_rows * WALK_ROW_COST < gin_matches * per_match + extra


def slice_span(st: TextStats, q: SearchQuery, filters: list[tuple[str, Any]], needed: int) -> float | None:
    """The ``sort_key`` span of the newest slice of the archive expected to hold
    `SLICE_MARGIN` x `needed` matches (articles spread evenly over the archive's dates);
    None when the statistics cannot tell (a fresh archive, a word rarer than every listed
    one, a story or unlisted filter value: then every match is few enough anyway).

    "Newest N matching" is then asked of that slice only: ``tsv @@ q AND sort_key >= lo``
    lets PostgreSQL AND the word's GIN bitmap with the slice's B-tree bitmap before reading
    any row, so only matches inside the slice are fetched, and no ``tsv`` is read (the
    walk's cost) unless a phrase must be checked. Fewer than N there: a slice 4x wider."""
    if not st.usable or st.key_lo is None or st.key_hi is None or st.key_hi <= st.key_lo:
        return None
    f = match_fraction(st, q)
    if f is None and st.min_freq * st.rows >= UNLISTED_SLICE_MIN_MATCHES:
        f = unlisted_fraction(st, q)
    g = filter_fraction(st, filters)
    if not f or not g:
        return None
    density = st.rows / (st.key_hi - st.key_lo)
    return SLICE_MARGIN * needed / (f * g) / density


def unlisted_fraction(st: TextStats, q: SearchQuery) -> float:
    """`match_fraction` with every unlisted word taken at `UNLISTED_FREQ_SHARE` of the
    rarest listed frequency (an upper bound, halved)."""
    frac = 1.0
    for t in q.terms:
        freqs = [_word_freq(st, w, t.prefix and i == len(t.words) - 1) for i, w in enumerate(t.words)]
        term = min(f if f is not None else st.min_freq * UNLISTED_FREQ_SHARE for f in freqs)
        frac *= term * PHRASE_FACTOR if len(t.words) > 1 else term
    return frac


def slice_cheaper(st: TextStats, q: SearchQuery, filters: list[tuple[str, Any]], needed: int,
                  hi: int | None = None) -> bool:
    """True when the newest-slice plan is estimated cheaper than walking the date index:
    the walk tests ``tsv`` on needed / (f g) rows; the slice reads every posting of the
    words in the GIN index it uses (the recent one when the slice lies above its cut), a
    B-tree range of SLICE_MARGIN times those rows, and fetches the slice's matches."""
    f = match_fraction(st, q)
    g = filter_fraction(st, filters)
    if not f or not g:
        return False
    walk_rows = walked_rows(st, q, filters, needed) or needed / (f * g)
    slice_rows = SLICE_MARGIN * needed / (f * g)  # as `slice_span` sizes it
    top = min(hi, st.key_hi) if hi is not None and st.key_hi is not None else st.key_hi
    bound = None
    if top is not None and st.key_lo is not None and st.key_hi is not None and st.key_hi > st.key_lo:
        bound = top - slice_rows / st.rows * (st.key_hi - st.key_lo)
    # GIN intersects the words' postings by skipping through the longer lists at the pace
    # of the shortest (at 1M: 'كورونا' & 'منظم', 50 % and 8 % of articles, 12-31 ms, as
    # long as 'منظم' alone), so an AND costs about its rarest word's postings per word
    freqs = [_word_freq(st, w, t.prefix and i == len(t.words) - 1) or st.min_freq
             for t in q.terms for i, w in enumerate(t.words)]
    postings = min(freqs) * len(freqs) * st.indexed_rows(bound)
    slice_cost = (postings * GIN_POSTING_COST + slice_rows * RANGE_ROW_COST
                  + SLICE_MARGIN * needed / g * GIN_MATCH_COST)
    if any(len(t.words) > 1 for t in q.terms):
        slice_cost += SLICE_MARGIN * needed / PHRASE_FACTOR * WALK_ROW_COST
    return slice_cost < walk_rows * WALK_ROW_COST


def pair_lexemes(q: SearchQuery) -> tuple[list[str], SearchQuery, bool] | None:
    """How the word-pair index answers `q`: (the pair lexemes every match holds, the terms
    left to the words' index, whether the phrase must still be tested on tsv); None when no
    phrase can use it.

    A two-word phrase is its pair lexeme exactly (the index's pairs are tsv's own adjacent
    positions, so `a <-> b` holds where "a b" is indexed); a longer one holds each of its
    pairs, but they may be apart, so it is tested too. A phrase ending in a prefix, or with
    a word `to_tsquery` might split or fold differently (not letters or digits only, upper
    case), is left to the words' index and the test, as before."""
    pairs: list[str] = []
    rest: list[Term] = []
    check = False
    for t in q.terms:
        if len(t.words) > 1 and not t.prefix and all(_PLAIN_WORD.match(w) and w == w.lower() for w in t.words):
            pairs += [f"{a} {b}" for a, b in zip(t.words, t.words[1:])]
            check = check or len(t.words) > 2
            continue
        if len(t.words) > 1:
            check = True
        rest += [Term((w,), t.prefix and i == len(t.words) - 1) for i, w in enumerate(t.words)]
    if not pairs:
        return None
    return list(dict.fromkeys(pairs)), SearchQuery(tuple(rest)), check


def pair_tsquery(pairs: list[str]) -> str:
    """The tsquery text (for ``?::tsquery``) matching every pair lexeme."""
    return " & ".join("'" + p.replace("\\", "\\\\").replace("'", "''") + "'" for p in pairs)

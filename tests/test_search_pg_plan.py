"""PostgreSQL search plans (`crawler.archive.pg_plan`): the recent GIN index and the order
of a filtered phrase's probes, on a real PostgreSQL (a schema per module, dropped after).

Each plan is checked for what it is for (the index is made, usable by the slice
statements, renewed; the filter is probed before the phrase) and for returning the same
rows, in the same order, as the plain path."""

from __future__ import annotations

import gzip
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import crawler.archive.pg_plan as pg_plan
from crawler.archive import open_archive
from crawler.archive.records import sort_key_bounds
from crawler.archive.search import SearchQuery, Term, parse_date_bound, parse_query
from crawler.items import Article

SAMPLE = Path(__file__).resolve().parent.parent / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
BASE = datetime(2020, 1, 1, tzinfo=UTC)
QUERIES = ("المغرب", "الحكومة", "وزارة", "المغرب الحكومة", '"مجلس النواب"', "حكو*", "كورونا")
SHAPES: tuple[dict[str, Any], ...] = ({}, {"source": "le12"}, {"topic": "economy"},
                                      {"since": "2020-06-01", "until": "2021-06-01"})


def _articles(recs: list[dict[str, Any]], start: int, n: int) -> list[Article]:
    return [Article(url=f"https://{s}.example/{i}", source=s, topic=("politics", "economy")[i % 2],
                    title=recs[i % len(recs)]["title"], body_text="\n".join(recs[i % len(recs)]["paragraphs"]),
                    date_published=BASE + timedelta(days=i))
            for i in range(start, start + n) for s in [("hespress", "le12", "rue20")[i % 3]]]


@pytest.fixture(scope="module")
def recs() -> list[dict[str, Any]]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def pg(postgres_url: str, recs: list[dict[str, Any]]) -> Iterator[Any]:
    """852 articles over 852 days, with a recent index (made by `optimize` once the
    archive is big enough: the threshold lowered to this size)."""
    url = f"{postgres_url}?schema=t_{uuid.uuid4().hex[:10]}"
    a = open_archive(url, search_budget=None)
    saved = pg_plan.RECENT_MIN_ROWS
    pg_plan.RECENT_MIN_ROWS = 20
    try:
        arts = _articles(recs, 0, len(recs) * 3)
        for i in range(0, len(arts), 200):
            a.upsert_many(arts[i:i + 200])
        a.optimize()
        yield a
    finally:
        pg_plan.RECENT_MIN_ROWS = saved
        a.close()
        b = open_archive(url, migrate=False)
        b.drop_schema()  # type: ignore[attr-defined]
        b.close()


def _recent(a: Any) -> list[str]:
    return [r["relname"] for r in a.fetch(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'article_text'::regclass AND c.relname LIKE ? AND i.indisvalid",
        (pg_plan.RECENT_INDEX + "%",))]


def test_optimize_makes_a_recent_gin_index_over_the_newest_tenth(pg: Any) -> None:
    assert len(_recent(pg)) == 1
    # its predicate on sort_key + 0: a B-tree range on sort_key cannot imply it, so the
    # bitmap planner does not drop it as redundant next to article_text_sort's range
    assert "WHERE ((sort_key + 0) >= " in pg.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = ?",
                                                      (_recent(pg)[0],))
    st = pg._text_stats()
    assert st.recent_cut is not None
    above = pg.fetchval("SELECT count(*) FROM article_text WHERE sort_key >= ?", (st.recent_cut,))
    assert above == int(st.rows * pg_plan.RECENT_SHARE) + 1  # the cut row itself included
    # small archives get none (the whole index is small)
    assert pg_plan.recent_index_plan(pg_plan.TextStats(rows=pg_plan.RECENT_MIN_ROWS * 9)) == (
        False, int(pg_plan.RECENT_MIN_ROWS * 9 * pg_plan.RECENT_SHARE))


def test_slice_statements_can_use_the_recent_index(pg: Any) -> None:
    """The slice bound is a bigint parameter, the index's predicate a bigint constant: the
    planner must be able to prove the one from the other."""
    st = pg._text_stats()
    q = parse_query("المغرب")
    assert q is not None
    conn = pg._conn()
    plans = []
    for bound in (st.recent_cut, st.recent_cut - 1):
        sql, params = pg._candidates_sql(q, [], bound, None, 20, False, False)
        with pg.transaction():
            # the other indexes set aside (DDL rolls back with the transaction), seq scans
            # off: only whether the recent index can answer the statement decides the plan
            conn.execute("DROP INDEX article_text_tsv, article_text_sort")
            conn.execute("SET LOCAL enable_seqscan = off")
            plans.append("\n".join(r["QUERY PLAN"] for r in pg.fetch("EXPLAIN " + sql, params)))
            conn.execute("ROLLBACK")
            conn.execute("BEGIN")
    assert pg_plan.RECENT_INDEX in plans[0], plans[0]
    assert pg_plan.RECENT_INDEX not in plans[1], plans[1]  # below the cut: rows it does not hold


def test_searches_return_the_same_rows_with_and_without_slices(pg: Any) -> None:
    """Slices stop at the recent index's cut before widening past it, and relevance's
    wider slices continue below the last one: same rows, same order, as the whole archive
    at once."""
    st = pg._text_stats()
    bounds: list[int | None] = []
    run = pg._run

    def spy(conn: Any, sql: str, params: Any) -> Any:
        if any(c in sql for c in ("sort_key >= ?", "sort_key + 0 >= ?", "sort_key <= ?")):
            bounds.extend(p for p in params if isinstance(p, int) and p > 10**12)
        return run(conn, sql, params)

    pg._run = spy
    pg.use_periods = False  # (with them, each slice stops at a period's edge: the test below)
    try:
        # relevance asks a wider slice only for the part below the last one: after the
        # slice at the cut, one ending just below it
        bounds.clear()
        pg.search("المغرب", sort="relevance", limit=20)
        assert st.recent_cut in bounds and st.recent_cut - 1 in bounds, bounds
        for q in QUERIES:
            for kw in SHAPES:
                for sort in ("date", "relevance"):
                    pg.use_slices = True
                    got = [i["id"] for i in pg.search(q, sort=sort, limit=20, **kw).items]
                    pg.use_slices = False
                    want = [i["id"] for i in pg.search(q, sort=sort, limit=20, **kw).items]
                    assert got == want, (q, kw, sort)
                    assert want or q == "كورونا", (q, kw, sort)
    finally:
        pg._run = run
        pg.use_slices = True
        pg.use_periods = True
    assert st.recent_cut in bounds  # a widening stopped at the cut


def test_a_filtered_phrase_reads_tsv_only_for_rows_passing_the_filter(pg: Any) -> None:
    """GIN path of a phrase with a source filter: the articles probe comes first, and the
    phrase's tsv is read only for the candidates it lets through."""
    q = parse_query('"مجلس النواب"')
    assert q is not None
    pg.use_pairs = False  # the words' index (a phrase the pair index cannot answer goes this way)
    try:
        sql, params = pg._candidates_sql(q, [("source", "le12")], None, None, 20, False, False)
        walk_sql, walk_params = pg._candidates_sql(q, [("source", "le12")], None, None, 20, False, True)
    finally:
        pg.use_pairs = True
    plan = pg.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)[0]["QUERY PLAN"][0]["Plan"]

    def nodes(n: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield n
        for c in n.get("Plans", []):
            yield from nodes(c)

    probes = {n["Relation Name"]: n for n in nodes(plan) if n.get("Node Type") == "Index Scan"}
    phrase = [n for n in nodes(plan) if "ts_match_vq" in n.get("One-Time Filter", "") + n.get("Filter", "")]
    # (no LIMIT here: every candidate goes through the probes)
    words = "tsv @@ to_tsquery('simple', 'مجلس & نواب')"
    candidates = pg.fetchval(f"SELECT count(*) FROM article_text WHERE {words}")
    in_source = pg.fetchval(f"SELECT count(*) FROM article_text t JOIN articles a ON a.id = t.article_id "
                            f"WHERE {words} AND a.source = 'le12'")
    assert len(phrase) == 1 and "article_text" not in probes  # tested on the candidate's own tsv
    assert probes["articles"]["Actual Loops"] == candidates
    assert phrase[0]["Actual Loops"] == in_source < candidates / 2
    # and the same rows as walking the date index
    assert [r["article_id"] for r in pg.fetch(sql, params)] == [r["article_id"] for r in pg.fetch(walk_sql, walk_params)]


def test_optimize_renews_the_recent_index_once_new_articles_outgrow_it(pg: Any, recs: list[dict[str, Any]]) -> None:
    before = _recent(pg)
    cut = pg._text_stats().recent_cut
    pg.optimize()  # nothing new: kept
    assert _recent(pg) == before
    newer = _articles(recs, len(recs) * 3, 200)  # later dates: all above the cut
    pg.upsert_many(newer)
    pg.optimize()
    after = _recent(pg)
    assert len(after) == 1 and after != before
    assert pg._text_stats().recent_cut > cut
    assert pg._text_stats().pair_cut == pg._text_stats().recent_cut and len(pg._pair_indexes()) == 1
    got = [i["id"] for i in pg.search("المغرب", sort="date", limit=20).items]
    pg.use_slices = False
    try:
        assert got == [i["id"] for i in pg.search("المغرب", sort="date", limit=20).items]
    finally:
        pg.use_slices = True


def test_a_range_bitmap_is_anded_in_only_where_it_pays() -> None:
    """Above the recent index's cut, a B-tree range of the slice is worth ANDing with the
    words' bitmap when the slice is narrow against their recent matches (a common word),
    not when it would cost more than fetching those matches (rare words, a wide slice)."""
    st = pg_plan.TextStats(rows=1_000_000, lexemes={"common": 0.5, "mid": 0.05, "rare": 0.005},
                           min_freq=0.002, key_lo=0, key_hi=1_000_000, recent_cut=900_000)
    common, rare_pair = parse_query("common"), parse_query("mid rare")
    assert common is not None and rare_pair is not None
    assert pg_plan.range_bitmap_pays(st, common, 998_000)  # 2k rows against 50k matches
    assert not pg_plan.range_bitmap_pays(st, rare_pair, 910_000)  # 90k rows against 25 matches


PHRASES = ('"مجلس النواب"', '"الحكومة المغربية"', '"رئيس الحكومة"', '"مجلس النواب" المغرب',
           '"رئيس الحكومة" "مجلس النواب"', '"وزارة الداخلية المغربية"', '"رئيس رئيس"')


def test_the_pair_index_holds_exactly_the_adjacent_words_of_tsv(pg: Any) -> None:
    """`tsv_pairs` (migration 370) from tsv's own positions: "a b" is indexed exactly where
    ``tsv @@ 'a <-> b'`` holds, across the title/body seam too (tsv's concatenation makes
    the title's last word and the body's first adjacent)."""
    rows = pg.fetch("SELECT article_id, tsv::text AS tsv FROM article_text ORDER BY article_id LIMIT 40")
    for r in rows[:5]:
        pairs = pg.fetchval("SELECT tsv_pairs(tsv)::text FROM article_text WHERE article_id = ?", (r["article_id"],))
        for lexeme in pairs.split("' '")[:60]:
            a, b = lexeme.strip("'").split(" ")
            assert pg.fetchval("SELECT tsv @@ to_tsquery('simple', ?) FROM article_text WHERE article_id = ?",
                               (f"{a} <-> {b}", r["article_id"]))
    for words in (("مجلس", "نواب"), ("رييس", "حكوم"), ("حكوم", "مغربي"), ("مغربي", "حكوم")):
        by_pairs = pg.fetchval("SELECT count(*) FROM article_text WHERE tsv_pairs(tsv) @@ ?::tsquery",
                               (pg_plan.pair_tsquery([" ".join(words)]),))
        by_tsv = pg.fetchval("SELECT count(*) FROM article_text WHERE tsv @@ to_tsquery('simple', ?)",
                             (" <-> ".join(words),))
        assert by_pairs == by_tsv, words
    seam = pg.fetchval("SELECT tsv_pairs(setweight(to_tsvector('simple', 'a b'), 'A') || "
                       "setweight(to_tsvector('simple', 'c d'), 'B'))::text")
    assert seam == "'a b' 'b c' 'c d'"


def test_phrases_from_the_pair_index_return_the_same_rows(pg: Any) -> None:
    """Same rows, same order, with and without the pair index, for every shape; a
    two-word phrase reads no tsv (no phrase test in the plan) and uses the pair index."""
    found = 0
    for q in PHRASES:
        for kw in SHAPES:
            for sort in ("date", "relevance"):
                pg.use_pairs = False
                try:
                    want = [i["id"] for i in pg.search(q, sort=sort, limit=20, **kw).items]
                finally:
                    pg.use_pairs = True
                got = [i["id"] for i in pg.search(q, sort=sort, limit=20, **kw).items]
                assert got == want, (q, kw, sort)
                found += bool(want)
    assert found >= len(PHRASES) * len(SHAPES)  # most of them match something
    st = pg._text_stats()
    assert st.pair_cut is not None and st.pair_cut == st.recent_cut  # made by optimize with the recent index
    q = parse_query('"مجلس النواب"')
    assert q is not None
    sql, params = pg._candidates_sql(q, [("source", "le12")], st.pair_cut, None, 20, False, False)
    plan = "\n".join(r["QUERY PLAN"] for r in pg.fetch("EXPLAIN " + sql, params))
    assert pg_plan.PAIR_INDEX in plan and "ts_match_vq" not in plan, plan
    below, _ = pg._candidates_sql(q, [("source", "le12")], st.pair_cut - 1, None, 20, False, False)
    assert "tsv_pairs" not in below  # rows the pair index does not hold: the words' index
    # a prefix phrase is left to the words' index and the tsv test
    assert pg._pairs(SearchQuery((Term(("مجلس", "نو"), True),))) is None
    three = parse_query('"وزارة الداخلية المغربية"')
    assert three is not None
    plan3 = pg_plan.pair_lexemes(three)
    assert plan3 is not None and len(plan3[0]) == 2 and plan3[2]  # both pairs, and still tested


def test_pair_lexemes_leave_unusual_words_to_the_words_index() -> None:
    q = SearchQuery((Term(("a.b", "def")), Term(("مجلس", "نواب"))))
    plan = pg_plan.pair_lexemes(q)
    assert plan is not None
    pairs, rest, check = plan
    assert pairs == ["مجلس نواب"] and [t.words for t in rest.terms] == [("a.b",), ("def",)] and check
    assert pg_plan.pair_tsquery(["a'b c"]) == "'a''b c'"


def _periods(a: Any) -> list[tuple[int | None, int]]:
    return sorted(a._text_stats().periods, key=lambda p: p[1])


def test_period_indexes_tile_the_archive_below_the_recent_cut(pg: Any) -> None:
    """`optimize` made period GIN indexes from the oldest article up to the recent index's
    cut (extended to the later cut when the recent index was renewed, by the test above),
    each a tenth of the archive or so, and a statement inside a period can use its index."""
    st = pg._text_stats()
    periods = _periods(pg)
    assert len(periods) >= 5 and len(pg._period_indexes()) == len(periods)
    assert periods[0][0] is None and periods[-1][1] == st.recent_cut
    assert all(periods[i][1] == periods[i + 1][0] for i in range(len(periods) - 1))  # no gap, no overlap
    a, b = periods[2]
    assert a is not None
    q = parse_query("المغرب")
    assert q is not None
    sql, params = pg._candidates_sql(q, [], a + 1, b - 2, 20, False, False)
    conn = pg._conn()
    with pg.transaction():
        conn.execute("DROP INDEX article_text_tsv, article_text_sort")
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r["QUERY PLAN"] for r in pg.fetch("EXPLAIN " + sql, params))
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
    assert pg_plan.PERIOD_INDEX in plan, plan
    # across two periods: none of them holds the range
    sql, params = pg._candidates_sql(q, [], a - 1, b - 2, 20, False, False)
    assert "+ 0 < ?" not in sql


def test_period_bounds_plan_tiles_then_extends() -> None:
    assert pg_plan.period_bounds_plan([90, 80, 70], 100, []) == [(90, 100), (80, 90), (70, 80), (None, 70)]
    assert pg_plan.period_bounds_plan([], 100, []) == [(None, 100)]
    assert pg_plan.period_bounds_plan([], 120, [(None, 90), (90, 100)]) == [(100, 120)]
    assert pg_plan.period_bounds_plan([], 100, [(None, 90), (90, 100)]) == []
    st = pg_plan.TextStats(periods=[(90, 100), (80, 90), (None, 80)])
    assert pg_plan.period_of(st, 91, 99) == (90, 100)
    assert pg_plan.period_of(st, None, 79) == (None, 80)
    assert pg_plan.period_of(st, 85, 95) is None and pg_plan.period_of(st, 95, None) is None
    assert pg_plan.period_bounds("(((sort_key + 0) >= '5'::bigint) AND ((sort_key + 0) < '9'::bigint))") == (5, 9)
    assert pg_plan.period_bounds("((sort_key + 0) < '-9'::bigint)") == (None, -9)
    assert pg_plan.period_bounds("((sort_key + 0) >= '5'::bigint)") is None  # the recent index's


def test_searches_return_the_same_rows_with_and_without_period_indexes(pg: Any) -> None:
    """Relevance's slices stop at each period's edge and read its index; a date range inside
    one period reads its index: same rows, same order, as without period indexes."""
    seen: list[str] = []
    run = pg._run

    def spy(conn: Any, sql: str, params: Any) -> Any:
        seen.append(sql)
        return run(conn, sql, params)

    # a range inside one period (periods are ~85 days here), and one across several
    inside = {"since": "2020-09-20", "until": "2020-10-20"}
    lo, hi = sort_key_bounds(parse_date_bound(inside["since"]), parse_date_bound(inside["until"], end=True))
    assert pg_plan.period_of(pg._text_stats(), lo, hi) is not None
    shapes = (*SHAPES, inside, {**inside, "source": "le12"})
    used: Counter[tuple[str, bool]] = Counter()
    pg._run = spy
    k = pg.relevance_candidates
    try:
        # (fewer relevance candidates too: the archive is small, and 300 of them take most
        # of it, asked at once rather than a period at a time)
        for q, sort, kw, k_now in ((q, sort, kw, k_now) for k_now in (k, 30) for q in (*QUERIES, *PHRASES[:3])
                                   for kw in shapes for sort in ("date", "relevance")):
            pg.relevance_candidates = k_now
            pg.use_periods = False
            want = [i["id"] for i in pg.search(q, sort=sort, limit=20, **kw).items]
            pg.use_periods = True
            seen.clear()
            got = [i["id"] for i in pg.search(q, sort=sort, limit=20, **kw).items]
            assert got == want, (q, kw, sort, k_now)
            used[sort, "since" in kw] += sum("+ 0 < ?" in s for s in seen)
    finally:
        pg._run = run
        pg.use_periods = True
        pg.relevance_candidates = k
    # period statements: relevance's slices without a date range, and both sorts with one
    assert used["relevance", False] and used["relevance", True] and used["date", True], used


def test_search_statements_run_without_parallel_workers(pg: Any) -> None:
    """Worker start-up (~5 ms) costs more than a search statement's work: none on the
    archive's connections."""
    assert pg.fetchval("SELECT current_setting('max_parallel_workers_per_gather')") == "0"

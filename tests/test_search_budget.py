"""Search under abuse: every search runs under a time budget (SQLite progress handler,
PostgreSQL ``statement_timeout``) and raises `SearchTimeout` past it; repeated terms are
folded and prefixes capped before anything is counted or run. Real SQLite and real
PostgreSQL, an archive filled from the bundled sample."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from crawler.archive import QueryError, SearchTimeout, open_archive
from crawler.archive.search import DEFAULT_SEARCH_BUDGET_S, MAX_PREFIX_TERMS, MAX_TERMS, parse_query
from crawler.items import Article

SAMPLE = Path(__file__).resolve().parent.parent / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
BASE = datetime(2025, 1, 1, tzinfo=UTC)
SOURCES = ("hespress", "le12", "rue20")


def sample_articles() -> list[Article]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return [
        Article(url=f"https://{SOURCES[i % 3]}.example/s/{i}", source=SOURCES[i % 3], title=r["title"],
                body_text="\n".join(r["paragraphs"]), date_published=BASE + timedelta(hours=i))
        for i, r in enumerate(recs)
    ]


@pytest.fixture
def filled(archive_url: str) -> Iterator[Any]:
    a = open_archive(archive_url)
    arts = sample_articles()
    for i in range(0, len(arts), 100):
        a.upsert_many(arts[i:i + 100])
    if hasattr(a, "optimize"):
        a.optimize()
    yield a
    a.close()


def ids(res: Any) -> list[int]:
    return [i["id"] for i in res.items]


# --- folding and caps (parsing) ---------------------------------------------------------------


def test_repeated_terms_are_folded_before_counting() -> None:
    q = parse_query(" ".join(["ا*"] * 32))
    assert q is not None and len(q.terms) == 1
    assert any("searched once" in h for h in q.hints)
    # 40 copies of two words: over MAX_TERMS as typed, two terms once folded
    q = parse_query(" ".join(["الحكومة", "حكومة"] * 20 + ["المغرب"] * 20))
    assert q is not None and [t.words for t in q.terms] == [("حكوم",), ("مغرب",)]
    # distinct terms still count
    with pytest.raises(QueryError, match="too many terms"):
        parse_query(" ".join(f"كلمة{i}" for i in range(MAX_TERMS + 1)))


def test_short_prefixes_are_words_and_prefixes_are_capped() -> None:
    q = parse_query("ا* مغ* حكو*")
    assert q is not None
    assert [(t.words, t.prefix) for t in q.terms] == [(("ا",), False), (("مغ",), False), (("حكو",), True)]
    assert any("too short for a prefix" in h and "مغ" in h for h in q.hints)
    many = parse_query("حكو* برل* وزا* مدي* سيا*")
    assert many is not None
    assert sum(t.prefix for t in many.terms) == MAX_PREFIX_TERMS
    assert [t.words[0] for t in many.terms if not t.prefix] == ["مدي", "سيا"][MAX_PREFIX_TERMS - 3:]
    assert any(f"at most {MAX_PREFIX_TERMS} prefixes" in h for h in many.hints)


def test_a_plain_query_gets_no_new_hints() -> None:
    q = parse_query('الحكومة المغربية "مجلس النواب" برلما*')
    assert q is not None and q.hints == ()


# --- both backends ------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_folded_queries_return_the_same_results(filled: Any, sort: str) -> None:
    for once, repeated in [
        ("الحكومة", "الحكومة حكومة والحكومة الحكومة"),
        ("المغرب برلما*", "المغرب برلما* المغرب برلما* برلما*"),
        ('"مجلس النواب"', '"مجلس النواب" "مجلس النواب"'),
    ]:
        want = filled.search(once, sort=sort, limit=50)
        got = filled.search(repeated, sort=sort, limit=50)
        assert want.items, once
        assert ids(got) == ids(want), repeated


def test_pathological_query_is_cheap_once_folded(filled: Any) -> None:
    """32 x "ا*" (3.2 s on 5,000 articles before) is one whole-word term: what "ا" finds."""
    res = filled.search(" ".join(["ا*"] * 32), sort="relevance")
    assert ids(res) == ids(filled.search("ا", sort="relevance"))
    assert res.hints


def test_normal_search_is_unaffected_by_the_default_budget(filled: Any) -> None:
    assert filled.search_budget == DEFAULT_SEARCH_BUDGET_S
    budgeted = {(q, s): ids(filled.search(q, sort=s, source=src, limit=30))
                for q in ("المغرب", '"مجلس النواب"', "حكو* المغرب") for s in ("date", "relevance")
                for src in (None, "le12")}
    filled.search_budget = None
    assert {(q, s): ids(filled.search(q, sort=s, source=src, limit=30))
            for q in ("المغرب", '"مجلس النواب"', "حكو* المغرب") for s in ("date", "relevance")
            for src in (None, "le12")} == budgeted
    assert all(budgeted.values())


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_a_search_past_its_budget_raises_the_typed_error(filled: Any, sort: str) -> None:
    """With a budget already spent when the first statement runs, a search that does real
    work is stopped (SQLite: the progress handler interrupts it; PostgreSQL: before the
    statement), and the archive answers the next search normally."""
    q = "في"  # in nearly every article; the source filter rejects two matches in three
    want = ids(filled.search(q, sort=sort, source="rue20", limit=50))
    filled.search_budget = 1e-9
    with pytest.raises(SearchTimeout, match="time budget") as exc:
        filled.search(q, sort=sort, source="rue20", limit=50)
    assert exc.value.budget_s == 1e-9
    filled.search_budget = DEFAULT_SEARCH_BUDGET_S
    assert ids(filled.search(q, sort=sort, source="rue20", limit=50)) == want
    filled.upsert_article(Article(url="https://le12.example/after", source="le12", title="بعد المهلة",
                                  body_text="المغرب الحكومة", date_published=BASE + timedelta(days=400)))
    assert filled.search("المهلة").items


def test_timeout_is_not_a_query_error(filled: Any) -> None:
    # the web layer answers QueryError with 400 and SearchTimeout with 503: they must not overlap
    assert not issubclass(SearchTimeout, QueryError) and not issubclass(QueryError, SearchTimeout)


def test_postgresql_statement_timeout_stops_a_blocked_search(postgres_url: str) -> None:
    """The server side of the budget: a search waiting on a lock another session holds is
    cancelled by its SET LOCAL statement_timeout, not left hanging; the session's own
    setting is untouched afterwards, also when the search ran inside a caller's transaction."""
    import uuid

    url = f"{postgres_url}?schema=t_{uuid.uuid4().hex[:10]}"
    a = open_archive(url, search_budget=0.3)
    try:
        a.upsert_many(sample_articles()[:40])
        want = ids(a.search("المغرب"))
        locker = psycopg.connect(a.conninfo, autocommit=False)  # type: ignore[attr-defined]
        try:
            locker.execute(f'LOCK TABLE "{a.schema}".article_text IN ACCESS EXCLUSIVE MODE')  # type: ignore[attr-defined]
            with pytest.raises(SearchTimeout):
                a.search("المغرب")
            with a.transaction():
                with pytest.raises(SearchTimeout):
                    a.search("المغرب", sort="relevance")
        finally:
            locker.rollback()
            locker.close()
        assert ids(a.search("المغرب")) == want
        assert a.fetchval("SHOW statement_timeout") == "0"
        with a.transaction():
            assert ids(a.search("المغرب")) == want
            assert a.fetchval("SHOW statement_timeout") == "0"
    finally:
        a.close()
        b = open_archive(url, migrate=False)
        b.drop_schema()
        b.close()


def test_cli_search_reports_a_timeout_in_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    a = open_archive(url)
    a.upsert_many(sample_articles()[:150])
    a.close()
    env = {**os.environ, "AKHBAR_ARCHIVE_URL": url, "AKHBAR_LOG_LEVEL": "WARNING", "AKHBAR_SEARCH_BUDGET": "1e-9"}
    env.pop("AKHBAR_DATA", None)
    cmd = [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path), "search", "في", "--source", "rue20",
           "--limit", "50"]
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("akhbar search: search stopped after its time budget"), proc.stderr
    env["AKHBAR_SEARCH_BUDGET"] = "0"  # no budget: the same search answers
    ok = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert ok.returncode == 0 and ok.stdout.strip(), ok.stderr


@pytest.mark.parametrize("budget, status", [("1e-9", 503), ("0", 200)])
def test_web_answers_a_search_past_its_budget_with_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       budget: str, status: int) -> None:
    """The API and the search page turn `SearchTimeout` into 503 (+ Retry-After on the
    API, an Arabic notice on the page); with no budget the same searches answer 200."""
    import http.client

    from tests.serving_support import app_server, serving

    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    a = open_archive(url)
    a.upsert_many(sample_articles()[:150])
    a.close()
    monkeypatch.setenv("AKHBAR_SEARCH_BUDGET", budget)  # read when the app opens its archive
    with serving(app_server(tmp_path, url)) as server:
        for path in ("/api/articles?q=%D9%81%D9%8A&source=rue20&limit=50", "/search?q=%D9%81%D9%8A&source=rue20"):
            conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read().decode("utf-8")
            conn.close()
            assert r.status == status, (path, r.status, body[:300])
            if status == 503 and path.startswith("/api"):
                assert r.getheader("Retry-After") == "5" and json.loads(body)["error"].startswith("search stopped")
            elif status == 503:
                assert "استغرق البحث وقتاً طويلاً" in body

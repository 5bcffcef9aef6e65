"""Search that finds the word: the light stemmer, phrase exactness, forgiving query
parsing, and the migration that re-stems an existing archive (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawler.arabic import tokens
from crawler.arabic_stem import prefix_stem, stem
from crawler.archive import QueryError, open_archive
from crawler.archive.search import exact_form, parse_query, query_hints
from crawler.items import Article

UTC = UTC


def stem_of(word: str) -> str:
    (tok,) = tokens(word)
    return stem(tok)


@pytest.mark.parametrize(
    "word, expected",
    [
        # the article with its proclitics, and the suffixes ة ات ون ين ان ها هم
        ("حكومة", "حكوم"), ("الحكومة", "حكوم"), ("والحكومة", "حكوم"), ("حكومات", "حكوم"),
        ("للحكومة", "حكوم"), ("بالحكومة", "حكوم"), ("فالحكومة", "حكوم"), ("كالحكومة", "حكوم"),
        ("وبالحكومة", "حكوم"), ("حكومتها", "حكوم"), ("حكومتهم", "حكوم"),
        ("وزارة", "وزار"), ("الوزارة", "وزار"), ("مغرب", "مغرب"), ("المغرب", "مغرب"), ("بالمغرب", "مغرب"),
        ("المسؤولين", "مسوول"), ("مسؤولون", "مسوول"), ("وزيران", "وزير"), ("الانتخابات", "انتخاب"),
        # nisba adjectives stay apart from the noun: Moroccan is not Morocco
        ("المغربية", "مغربي"), ("مغربي", "مغربي"), ("مغربيون", "مغربي"),
        # no bare proclitic stripping: وزارة is not زارة, بيان not يان
        ("بيان", "بيان"), ("والي", "والي"),
        # a stem keeps three letters: مكان is not مك, الان not ان
        ("مكان", "مكان"), ("الآن", "الان"), ("وجه", "وجه"),
        # Latin and digits untouched
        ("covid", "covid"), ("2020", "2020"),
    ],
)
def test_stemmer_table(word: str, expected: str) -> None:
    assert stem_of(word) == expected


def test_prefix_stem_reaches_into_a_stripped_suffix() -> None:
    assert prefix_stem("البرلما") == "برلم" and stem_of("البرلمان") == "برلم"
    assert prefix_stem("حكومات") == "حكوم"
    assert prefix_stem("برل") == "برل"


def test_exact_form_folds_proclitics_but_does_not_stem() -> None:
    assert exact_form("والحكومة للحكومة حكومات") == "الحكومه الحكومه حكومات"


# --- query parsing: never an error for punctuation --------------------------------------------


@pytest.mark.parametrize(
    "query, words, hint",
    [
        ('"الحكومة المغربية', ["حكوم", "مغربي"], "unbalanced quote"),
        ('"الحكومة" "المغرب', ["حكوم", "مغرب"], "unbalanced quote"),
        ("المغرب OR", ["مغرب", "or"], "OR"),
        ("-الحكومة +المغرب", ["حكوم", "مغرب"], "-الحكومة +المغرب"),
        ("NEAR(a b) AND c", ["near", "a", "b", "and", "c"], "AND"),
    ],
)
def test_punctuation_and_operators_are_read_as_words_with_a_hint(query: str, words: list[str], hint: str) -> None:
    q = parse_query(query)
    assert q is not None
    assert [w for t in q.terms for w in t.words] == words
    assert any(hint in h for h in q.hints)
    assert query_hints(query) == list(q.hints)


def test_pasted_headline_punctuation_needs_no_hint() -> None:
    q = parse_query("الرباط - (فيديو): «الحكومة» تعلن؟!")
    assert q is not None and q.hints == ()
    assert [t.words[0] for t in q.terms] == ["رباط", "فيديو", "حكوم", "تعلن"]


def test_a_query_without_words_has_no_terms_and_says_so() -> None:
    q = parse_query('!!! ؟؟ ... " *')
    assert q is not None and q.terms == ()
    assert any("no words" in h for h in q.hints)


def test_length_is_still_an_error() -> None:
    with pytest.raises(QueryError, match="too long"):
        parse_query("x" * 600)


# --- both backends --------------------------------------------------------------------------

TEXTS = [
    ("حكومة جديدة في الأفق", "قال مصدر إن حكومة جديدة قيد التشكيل."),
    ("الحكومة تعلن خطة للماء", "أعلنت الحكومة المغربية خطة وطنية."),
    ("البرلمان يناقش الميزانية", "انتقد النواب والحكومة غائبة عن الجلسة."),
    ("حكومات إفريقية تجتمع في الرباط", "اجتمعت حكومات القارة لبحث التعاون."),
    ("مباراة الرجاء والوداد", "فاز الرجاء في ديربي الدار البيضاء."),
]


@pytest.fixture
def forms(archive_url: str) -> Iterator[Any]:
    a = open_archive(archive_url)
    base = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    for i, (title, body) in enumerate(TEXTS):
        a.upsert_article(Article(url=f"https://hespress.example/f/{i}", source="hespress", title=title,
                                 body_text=body, date_published=base + timedelta(hours=i)))
    yield a
    a.close()


def found(a: Any, q: str, **kw: Any) -> set[int]:
    return {TEXTS.index((i["title"], i["body_text"])) for i in a.search(q, limit=50, **kw).items}


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_four_forms_find_each_other(forms: Any, sort: str) -> None:
    results = {q: found(forms, q, sort=sort) for q in ("حكومة", "الحكومة", "والحكومة", "حكومات")}
    assert all(r == {0, 1, 2, 3} for r in results.values()), results
    assert 4 not in found(forms, "الحكومة", sort=sort)


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_quoted_phrases_match_the_typed_form_only(forms: Any, sort: str) -> None:
    # "الحكومة" quoted: the article form (and its proclitic forms), not حكومة/حكومات
    assert found(forms, '"الحكومة"', sort=sort) == {1, 2}
    assert found(forms, '"حكومات"', sort=sort) == {3}
    assert found(forms, '"حكومة جديدة"', sort=sort) == {0}
    assert found(forms, '"الحكومة المغربية"', sort=sort) == {1}
    assert found(forms, '"المغربية الحكومة"', sort=sort) == set()
    # a phrase beside a plain word: the word is stemmed, the phrase is not
    assert found(forms, 'حكومات "الرباط"', sort=sort) == {3}


def test_phrase_pages_hold_only_exact_matches(forms: Any) -> None:
    seen, offset = [], 0
    while True:
        page = forms.search('"الحكومة"', limit=1, offset=offset)
        seen += [i["title"] for i in page.items]
        if not page.has_more:
            break
        offset += 1
    assert sorted(seen) == sorted([TEXTS[1][0], TEXTS[2][0]])


def test_unbalanced_quote_searches_the_words_and_hints(forms: Any) -> None:
    res = forms.search('"الحكومة المغربية')
    assert {i["title"] for i in res.items} == {TEXTS[1][0]}
    assert any("unbalanced quote" in h for h in res.hints)
    res = forms.search("المغرب OR")
    assert res.items == [] and any("OR" in h for h in res.hints)
    assert forms.search("الحكومة").hints == []


def test_prefix_query_on_stems(forms: Any) -> None:
    assert found(forms, "حكوما*") == {0, 1, 2, 3}
    assert found(forms, "البرلما*") == {2}


def test_migration_restems_an_existing_archive(archive_url: str) -> None:
    """An archive whose index holds the pre-stemming form (normalised words, proclitics
    folded) is re-stemmed when opened: "حكومات" then finds "الحكومة"."""
    old = open_archive(archive_url, migrate_to=5)
    for i, (title, body) in enumerate(TEXTS):
        r = old.upsert_article(Article(url=f"https://le12.example/m/{i}", source="le12", title=title, body_text=body,
                                       date_published=datetime(2025, 3, 1, i, tzinfo=UTC)))
        # what article_text held before this migration
        old.execute("UPDATE article_text SET title = ?, body = ? WHERE article_id = ?",
                    (exact_form(title), exact_form(body), r.id))
    if old.dialect == "sqlite":
        old.rebuild_search_index()  # type: ignore[attr-defined]
    # stemmed queries meet an unstemmed index: nothing found until the migration
    assert old.search("حكومات").items == [] and old.search("الرجاء").items == []
    old.close()
    latest = open_archive(archive_url)
    assert 20 in latest.applied_migrations()
    assert {i["title"] for i in latest.search("حكومات").items} == {t for t, _ in TEXTS[:4]}
    assert {i["title"] for i in latest.search('"الحكومة"').items} == {TEXTS[1][0], TEXTS[2][0]}
    latest.close()


def test_phrase_check_agrees_with_the_exact_form_on_the_sample() -> None:
    """The fast phrase check (character folding + regex on raw text) finds a phrase exactly
    where the tokenised exact form holds it: 150 phrases of 1-3 words from the sample,
    against every sample article."""
    import gzip
    import json
    import random
    from pathlib import Path

    from crawler.arabic import _TRANSLATE
    from crawler.archive.search import fold_chars, phrase_in, phrase_pattern

    path = Path(__file__).resolve().parent.parent / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        texts = [r["title"] + "\n" + "\n".join(r["paragraphs"]) for r in map(json.loads, f)]
    texts += ["الحكومـــة  المغربيّة، وللحكومة‌ المغربية؛ حكومة المغربية ١٢ ABC",
              "xالحكومة المغربية", "ًالحكومة المغربية", "الحكومة ًالمغربية", "الحكومةٌ\u200cالمغربية",
              "ﻻ والـحكومة المغربيةİ", "بالحكومة المغربيةK", "أزمة كورونا", "ازمةًكورونا", "أزمة، كورونا"]
    assert all(fold_chars(t) == t.translate(_TRANSLATE).lower() for t in texts)
    exact = [f" {exact_form(t)} " for t in texts]
    folded = [fold_chars(t) for t in texts]
    rnd = random.Random(5)
    phrases = [("الحكومه", "المغربيه"), ("12", "abc"), ("ازمه", "كورونا"), ("المغربيه",)]
    for _ in range(150):
        words = rnd.choice(exact).split()
        k = rnd.randint(1, 3)
        i = rnd.randrange(max(1, len(words) - k))
        phrases.append(tuple(words[i:i + k]))
    for n, words in enumerate(phrases):
        pattern = phrase_pattern(words)
        for e, f in zip(exact, folded):
            assert (f" {' '.join(words)} " in e) == bool(pattern.search(f)), (words, e[:80])
        for t, e in zip(texts, exact) if n < 40 else ():  # the slower raw-text path: fewer phrases
            assert (f" {' '.join(words)} " in e) == phrase_in(t, words), (words, t[:80])


def test_raw_text_candidates_never_miss_a_phrase() -> None:
    """`loose_pattern` finds candidates in the raw text and `phrase_in` says no at once
    where it finds none, so it must match wherever the folded phrase does: spellings that
    fold together, diacritics and tatweel inside words, clitics on any word, punctuation
    runs between words, Latin case and Unicode case oddities, Arabic-Indic digits."""
    from crawler.archive.search import phrase_in

    texts = [
        "الحكـــــومة   المغربيّة؛؛؛ «للحكومة» المغربية، وبالحكومة-المغربيه ١٢ abc",
        "إنّ أزمةَ كورونا والأزمة، الكورونية: أزمه  كورونا!! ازمة؟كورونا",
        "xالحكومة المغربية ًالحكومة ًالمغربية الحكومةٌ\u200cالمغربية",
        "KELVIN \u212aelvin İstanbul ISTANBUL abcİxyz Covid-19 COVID 19 ٢٠٢٤ ۲۰۲۴ 2024",
        "مجلس النّواب، ومجلس المستشارين؛ فالمجلس الأعلى… كالمجلس الوطني لل مجلس",
        "الـــــ حكومة ال حكومة والي الحكومة لل حكومة",
    ]
    exact = [f" {exact_form(t)} " for t in texts]
    phrases = {tuple(w[i:i + k]) for e in exact for w in [e.split()] for k in (1, 2, 3) for i in range(len(w) - k + 1)}
    phrases |= {("الحكومه", "المغربيه"), ("ازمه", "كورونا"), ("الازمه", "كورونا"), ("مجلس", "النواب"),
                ("kelvin",), ("istanbul",), ("2024",), ("12", "abc"), ("covid", "19"), ("الحكومه",), ("حكومه",)}
    for words in sorted(phrases):
        for t, e in zip(texts, exact):
            assert (f" {' '.join(words)} " in e) == phrase_in(t, words), (words, t)

"""Search quality on the bundled sample: precision@10 and recall@100 of a judged query
set, before (normalised words, proclitics folded before the article) and after (light
stems, exact phrases, forgiving parsing), in one run.

    .venv/bin/python -m bench.search_quality [--judge] [--sample PATH]

The sample is the one the snapshot and the demo serve (`crawler/snapshot/data/
sample.jsonl.gz`, 284 articles). Each record becomes one archived article (title,
paragraphs as body, author). "Before" is the same archive with the index holding the
old search text (`exact_form`: normalised, unstemmed, proclitics folded) queried with
the old parsing (no stemming; an unbalanced quote was an error: no results).

The judged set is data: `bench/data/search_judged_rules.json` (hand-written forms of
each concept, see docs/archive.md) and `bench/data/search_judged.json` (the relevant
articles of each query, written by ``--judge`` from those rules and reviewed).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import result
from crawler.arabic import tokens
from crawler.archive import open_archive
from crawler.archive.base import Archive
from crawler.archive.search import SearchQuery, Term, exact_form
from crawler.items import Article

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
RULES = ROOT / "bench" / "data" / "search_judged_rules.json"
JUDGED = ROOT / "bench" / "data" / "search_judged.json"
# Any proclitic conjunction and preposition, the article or not, before a concept's form.
_PROCLITICS = r"(?:[وف]?(?:[بكل]?ال|لل|[بكل])?)"


def load_sample(path: Path = SAMPLE) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def key(rec: dict[str, Any]) -> str:
    return f"{rec['site']}/{rec['id']}"


def article(rec: dict[str, Any]) -> Article:
    when = datetime.fromisoformat(rec["corpus_date"]).replace(tzinfo=UTC)
    return Article(
        url=f"https://{rec['site']}.example/{rec['id']}", source=rec["site"], site_article_id=str(rec["id"]),
        title=rec["title"], body_text="\n".join(rec["paragraphs"]), author=rec.get("author"),
        date_published=when,
    )


# --- judging -----------------------------------------------------------------------------


def _concept_relevant(pattern: re.Pattern[str], title: list[str], body: list[str]) -> bool:
    return any(pattern.fullmatch(t) for t in title) or sum(1 for t in body if pattern.fullmatch(t)) >= 2


def judge(records: list[dict[str, Any]], rules: dict[str, Any]) -> list[dict[str, Any]]:
    """The relevant articles of each query from the rules (see the module docstring)."""
    concepts = {name: re.compile(_PROCLITICS + "(?:" + forms + ")") for name, forms in rules["concepts"].items()}
    texts = [(key(r), tokens(r["title"]), tokens("\n".join(r["paragraphs"])),
              f" {exact_form(r['title'])} ", f" {exact_form(' '.join(r['paragraphs']))} ") for r in records]
    out = []
    for q in rules["queries"]:
        if "phrase" in q:
            phrase = f" {exact_form(q['phrase'])} "
            rel = [k for k, _, _, et, eb in texts if phrase in et or phrase in eb]
        else:
            pats = [concepts[c] for c in q["concepts"]]
            rel = [k for k, t, b, _, _ in texts if all(_concept_relevant(p, t, b) for p in pats)]
        out.append({"query": q["query"], "relevant": sorted(rel)})
    return out


# --- the two systems ---------------------------------------------------------------------------


def before_query(text: str) -> SearchQuery | None:
    """The query as search read it before stemming: normalised words with proclitics
    folded before the article; an unbalanced quote was an error (None: no results)."""
    if text.count('"') % 2:
        return None
    terms: list[Term] = []
    for m in re.finditer(r'"([^"]*)"|(\S+)', text):
        phrase, word = m.group(1), m.group(2)
        raw = phrase if phrase is not None else word
        words = tuple(exact_form(raw).split())
        if not words:
            continue
        if phrase is not None:
            terms.append(Term(words))
        else:
            terms.extend(Term((w,)) for w in words)
    return SearchQuery(tuple(terms)) if terms else None


def build(path: Path, records: list[dict[str, Any]], *, before: bool) -> Archive:
    a = open_archive(f"sqlite:///{path}")
    a.upsert_many([article(r) for r in records])
    if before:
        from crawler.archive.records import exact_text

        for row in a.fetch("SELECT id, title, body_text, body_html, summary, author FROM articles"):
            title, body = exact_text(row)
            a.execute("UPDATE article_text SET title = ?, body = ? WHERE article_id = ?", (title, body, row["id"]))
        a.rebuild_search_index()  # type: ignore[attr-defined]
    return a


def ranked(a: Archive, query: str, *, before: bool, k: int = 100) -> list[str]:
    if before:
        q = before_query(query)
        rows = a._search_rows(q, [], None, None, "relevance", k, 0) if q else []  # noqa: SLF001 (the old path)
    else:
        rows = a.search(query, sort="relevance", limit=k).items
    return [f"{r['source']}/{r['site_article_id']}" for r in rows]


def evaluate(a: Archive, judged: list[dict[str, Any]], *, before: bool) -> dict[str, Any]:
    per = []
    for j in judged:
        got, rel = ranked(a, j["query"], before=before), set(j["relevant"])
        p10 = sum(1 for x in got[:10] if x in rel) / 10
        r100 = sum(1 for x in got[:100] if x in rel) / len(rel) if rel else 1.0
        per.append({"query": j["query"], "p10": p10, "r100": r100, "found": len(got), "relevant": len(rel)})
    n = len(per)
    return {"p10": sum(p["p10"] for p in per) / n, "r100": sum(p["r100"] for p in per) / n, "per_query": per}


def run(sample: Path = SAMPLE, judged_path: Path = JUDGED, verbose: bool = True) -> dict[str, Any]:
    records = load_sample(sample)
    judged = json.loads(judged_path.read_text(encoding="utf-8"))["queries"]
    with tempfile.TemporaryDirectory() as tmp:
        after_a = build(Path(tmp) / "after.sqlite3", records, before=False)
        before_a = build(Path(tmp) / "before.sqlite3", records, before=True)
        after, before = evaluate(after_a, judged, before=False), evaluate(before_a, judged, before=True)
        after_a.close()
        before_a.close()
    if verbose:
        print(f"search quality, {len(judged)} judged queries over the bundled sample ({len(records)} articles), "
              "relevance-ranked", file=sys.stderr)
        print(f"  {'query':<28} {'relevant':>8} {'found b/a':>11} {'P@10 b/a':>11} {'R@100 b/a':>11}", file=sys.stderr)
        for b, a in zip(before["per_query"], after["per_query"]):
            print(f"  {b['query'][:28]:<28} {b['relevant']:>8} {b['found']:>5}/{a['found']:<5} "
                  f"{b['p10']:5.2f}/{a['p10']:<5.2f} {b['r100']:5.2f}/{a['r100']:<5.2f}", file=sys.stderr)
        print(f"  mean P@10  before {before['p10']:.3f}  after {after['p10']:.3f}\n"
              f"  mean R@100 before {before['r100']:.3f}  after {after['r100']:.3f}", file=sys.stderr)
    result("archive", f"search precision@10, {len(judged)} judged queries (bundled sample)", round(after["p10"], 3),
           "mean P@10", "before stemming", round(before["p10"], 3),
           round(after["p10"] / before["p10"], 2) if before["p10"] else None, "not below before",
           after["p10"] >= before["p10"])
    result("archive", f"search recall@100, {len(judged)} judged queries (bundled sample)", round(after["r100"], 3),
           "mean R@100", "before stemming", round(before["r100"], 3),
           round(after["r100"] / before["r100"], 2) if before["r100"] else None, "above before",
           after["r100"] > before["r100"])
    return {"before": before, "after": after}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", type=Path, default=SAMPLE, help="JSON Lines sample (the snapshot's, by default)")
    p.add_argument("--judge", action="store_true", help=f"rewrite {JUDGED.name} from {RULES.name}, then measure")
    args = p.parse_args(argv)
    if args.judge:
        rules = json.loads(RULES.read_text(encoding="utf-8"))
        judged = judge(load_sample(args.sample), rules)
        JUDGED.write_text(json.dumps({"about": f"Relevant articles (site/id in the bundled sample) per query, "
                                      f"from {RULES.name}; see docs/archive.md.", "queries": judged},
                                     ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {JUDGED} ({len(judged)} queries)", file=sys.stderr)
    run(args.sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())

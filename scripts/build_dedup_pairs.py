#!/usr/bin/env python3
"""Build labelled dedup pairs from the Hespress corpus.

Positives are made by applying, programmatically, each edit that sites make when
they republish a report (dateline or site label, ``السيد`` inserted, intro line
swapped, a paragraph added / cut / replaced at the end, truncation, reworded title,
tashkeel and hamza spelled differently, Arabic-Indic digits, an app-download or
``اقرأ أيضا`` tail, and combinations), one case per edit; plus the real same-day
republications the corpus holds. Negatives are hard: different reports of the same
category on the same day, templated series found in the corpus (daily COVID counts,
exchange-rate notes, accident tolls: pairs sharing many shingles on different days),
and edited copies of one series member against the next member.

Output: gzip JSON Lines, documents first then pairs::

    {"type": "doc", "id", "title", "body", "published", "source", "base"}
    {"type": "pair", "a", "b", "label": 1|0, "kind"}

    python scripts/build_dedup_pairs.py --corpus /work/shared/corpus -o pairs.jsonl.gz
    python scripts/build_dedup_pairs.py --small 40 -o tests/fixtures/dedup/pairs.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.dedup.fingerprint import Fingerprinter  # noqa: E402

Doc = dict[str, Any]
SITES = ("le12", "rue20", "belpress", "hibapress")
DATELINES = ("هبة بريس - الرباط: ", "زنقة 20 | ", "بلبريس - متابعة: ", "الرباط - ", "هبة بريس - وكالات\n")
TAILS = (
    "\nلمتابعة آخر الأخبار حمل تطبيق هسبريس على هاتفك الآن.",
    "\nحمل تطبيق زنقة 20 لتصلك آخر الأخبار أولا بأول.",
)
INTROS = ("أفادت مصادر متطابقة أن ", "علمت الجريدة من مصادر مطلعة أن ", "في تطور جديد، ")
CLOSINGS = (
    "وينتظر أن تكشف الأيام المقبلة عن مزيد من التفاصيل بخصوص هذا الموضوع، في ظل ترقب واسع من طرف المتتبعين للشأن العام.",
    "وفي سياق متصل، أكد عدد من المهتمين أن هذه الخطوة تأتي في إطار تنزيل التوجهات الكبرى التي تم الإعلان عنها في وقت سابق.",
)
HARAKAT = "\u064e\u064f\u0650\u0651\u0652"
INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_SENT = re.compile(r"(?<=[.!?؟])")


def sentences(body: str) -> list[str]:
    """Sentences; the corpus lost its paragraph breaks, so split after . ! ? ؟ even
    when no space follows."""
    return [s for s in _SENT.split(body) if s.strip()]


def load(corpus: Path) -> list[Doc]:
    path = corpus / "hespress_stories" / "hespress_stories.jsonl.gz" if corpus.is_dir() else corpus
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# --- edits: each returns (title, body) ------------------------------------------------

def e_dateline(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    return d["title"], rng.choice(DATELINES) + d["body"]


def e_sayyid(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    words = d["body"].split(" ")
    for _ in range(3):
        i = rng.randrange(len(words))
        words.insert(i, "السيد")
    return d["title"], " ".join(words)


def e_intro_swapped(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    sents = sentences(d["body"])
    first = sents[0].split()
    rng.shuffle(first)
    return d["title"], rng.choice(INTROS) + " ".join(first[: max(4, len(first) // 2)]) + "." + "".join(sents[1:])


def e_paragraph_added(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    return d["title"], d["body"] + "\n\n" + rng.choice(CLOSINGS)


def e_paragraph_cut(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    sents = sentences(d["body"])
    keep = max(1, len(sents) - max(1, len(sents) // 5))
    return d["title"], "".join(sents[:keep])


def e_paragraph_replaced(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    sents = sentences(d["body"])
    keep = max(1, len(sents) - max(1, len(sents) // 6))
    return d["title"], "".join(sents[:keep]) + " " + rng.choice(CLOSINGS)


def e_truncated(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    body = d["body"]
    cut = body.rfind(" ", 0, int(len(body) * rng.uniform(0.35, 0.6)))
    return d["title"], body[: max(cut, 80)] + "..."


def e_title_reworded(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    words = d["title"].split()
    rng.shuffle(words)
    return "عاجل: " + " ".join(words), d["body"]


def e_tashkeel_hamza(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    out = []
    for ch in d["body"]:
        ch = {"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه"}.get(ch, ch) if rng.random() < 0.7 else ch
        out.append(ch)
        if "\u0621" <= ch <= "\u064a" and rng.random() < 0.15:
            out.append(rng.choice(HARAKAT))
    return d["title"], "".join(out)


def e_digits(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    return d["title"].translate(INDIC), d["body"].translate(INDIC)


def e_app_tail(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    return d["title"], d["body"] + rng.choice(TAILS)


def e_read_also(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    others = " - ".join(o["title"] for o in rng.sample(pool, 3))
    return d["title"], d["body"] + "\nاقرأ أيضا: " + others


def e_combo(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    t, b = e_dateline(d, rng, pool)
    t, b = e_tashkeel_hamza({"title": t, "body": b}, rng, pool)
    t, b = e_digits({"title": t, "body": b}, rng, pool)
    return e_app_tail({"title": t, "body": b}, rng, pool)


def e_truncated_tail(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    t, b = e_truncated(d, rng, pool)
    return e_read_also({"title": t, "body": b}, rng, pool)


def e_board_meeting(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    """The case that motivated the feature: ``السيد`` before names and a closing paragraph."""
    t, b = e_sayyid(d, rng, pool)
    return t, b + "\n\n" + rng.choice(CLOSINGS)


EDITS: dict[str, Callable[[Doc, random.Random, list[Doc]], tuple[str, str]]] = {
    "dateline": e_dateline,
    "sayyid": e_sayyid,
    "intro_swapped": e_intro_swapped,
    "paragraph_added": e_paragraph_added,
    "paragraph_cut": e_paragraph_cut,
    "paragraph_replaced": e_paragraph_replaced,
    "truncated": e_truncated,
    "title_reworded": e_title_reworded,
    "tashkeel_hamza": e_tashkeel_hamza,
    "digits": e_digits,
    "app_tail": e_app_tail,
    "read_also": e_read_also,
    "combo": e_combo,
    "truncated_read_also": e_truncated_tail,
}


# --- building -------------------------------------------------------------------------

def _doc(d: Doc, *, id: str, title: str, body: str, published: datetime, source: str, base: str) -> Doc:
    return {"type": "doc", "id": id, "title": title, "body": body, "published": published.isoformat(),
            "source": source, "base": base}


def _when(d: Doc) -> datetime:
    return datetime.fromisoformat(d["date"])


def corpus_pairs(docs: list[Doc], fp: Fingerprinter) -> tuple[list[tuple[int, int, float]], list[tuple[int, int, float]]]:
    """(real same-day republications, templated-series pairs on different days),
    found by exact shingle Jaccard over an inverted index."""
    prints = [fp.fingerprint(title=d["title"], body=d["body"]) for d in docs]
    inv: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(prints):
        for s in p.order.tolist():
            inv[s].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for ids in inv.values():
        if len(ids) <= 60:
            for a, b in combinations(ids, 2):
                shared[(a, b)] += 1
    dups, series = [], []
    for (a, b), n in shared.items():
        na, nb = prints[a].size, prints[b].size
        jac = n / (na + nb - n)
        same_day = docs[a]["date"][:10] == docs[b]["date"][:10]
        if same_day and jac >= 0.75:
            dups.append((a, b, jac))
        elif not same_day and jac >= 0.25:
            series.append((a, b, jac))
    return dups, series


def build(docs: list[Doc], *, seed: int, bases: int, small: int | None) -> list[Doc]:
    rng = random.Random(seed)
    fp = Fingerprinter()
    dups, series = corpus_pairs(docs, fp)
    by_day_cat: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        by_day_cat[(d["date"][:10], d["category"])].append(i)

    chosen: set[int] = set()
    series.sort(key=lambda t: -t[2])
    if small:
        dups, series = dups[:2], [s for s in series if s[2] >= 0.5][:6]
    for a, b, _ in dups + series:
        chosen.update((a, b))
    budget = (small or (bases + len(chosen))) - len(chosen)
    # bases for edits: articles with enough text, from busy days so hard negatives exist
    busy = [i for i, d in enumerate(docs) if len(by_day_cat[(d["date"][:10], d["category"])]) >= 3
            and len(d["body"]) >= 600 and i not in chosen]
    rng.shuffle(busy)
    edit_bases: list[int] = []
    for i in busy:
        if len(edit_bases) >= max(0, budget // 2 if small else budget):
            break
        edit_bases.append(i)
    chosen.update(edit_bases)
    if small:  # same-day neighbours of the bases: the hard negatives
        for i in edit_bases:
            for j in by_day_cat[(docs[i]["date"][:10], docs[i]["category"])]:
                if len(chosen) < small and j not in chosen:
                    chosen.add(j)
                    break
    pool = [docs[i] for i in sorted(chosen)]

    out_docs: dict[str, Doc] = {}
    pairs: list[Doc] = []

    def add_orig(i: int) -> str:
        d = docs[i]
        if d["id"] not in out_docs:
            out_docs[d["id"]] = _doc(d, id=d["id"], title=d["title"], body=d["body"], published=_when(d),
                                     source="hespress", base=d["id"])
        return d["id"]

    def pair(a: str, b: str, label: int, kind: str) -> None:
        pairs.append({"type": "pair", "a": a, "b": b, "label": label, "kind": kind})

    for i in sorted(chosen):
        add_orig(i)

    # positives: every edit of every base, against the original and against each other
    names = list(EDITS)
    for n, i in enumerate(edit_bases):
        d = docs[i]
        kinds = names if not small else [names[(n + k) % len(names)] for k in range(4)]
        if n == 0:
            kinds = ["board_meeting"] + kinds
        variants: list[str] = []
        for kind in kinds:
            edit = e_board_meeting if kind == "board_meeting" else EDITS[kind]
            title, body = edit(d, rng, pool)
            vid = f"{d['id']}~{kind}"
            out_docs[vid] = _doc(d, id=vid, title=title, body=body, source=rng.choice(SITES), base=d["id"],
                                 published=_when(d) + timedelta(minutes=rng.randrange(5, 600)))
            pair(d["id"], vid, 1, f"edit:{kind}")
            variants.append(vid)
        for a, b in combinations(variants[:3], 2):
            pair(a, b, 1, "edit:two_sites")
        # hard negatives: the same day and category, another report (and its edits)
        for j in by_day_cat[(d["date"][:10], d["category"])]:
            if j != i and docs[j]["id"] in out_docs:
                pair(d["id"], docs[j]["id"], 0, "hard_negative")
                pair(variants[0], docs[j]["id"], 0, "hard_negative_edited")

    for a, b, _ in dups:
        pair(add_orig(a), add_orig(b), 1, "corpus_republished")
    for a, b, _ in series:
        pair(add_orig(a), add_orig(b), 0, "series")
    # a series member republished with edits (Arabic-Indic digits, dateline) is still
    # not the next member
    for k, (a, b, _) in enumerate(series[: (3 if small else 200)]):
        d = docs[a]
        title, body = e_digits(d, rng, pool) if k % 2 == 0 else e_dateline(d, rng, pool)
        vid = f"{d['id']}~series_edit{k}"
        out_docs[vid] = _doc(d, id=vid, title=title, body=body, source=rng.choice(SITES), base=d["id"],
                             published=_when(d) + timedelta(minutes=30))
        pair(vid, d["id"], 1, "series_edited_same")
        pair(vid, docs[b]["id"], 0, "series_edited")

    return list(out_docs.values()) + pairs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/work/shared/corpus", help="corpus dir or hespress_stories.jsonl.gz")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--bases", type=int, default=300, help="articles the edits are applied to")
    ap.add_argument("--small", type=int, default=None, help="use at most this many corpus articles (test fixture)")
    args = ap.parse_args(argv)
    records = build(load(Path(args.corpus)), seed=args.seed, bases=args.bases, small=args.small)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    n_docs = sum(1 for r in records if r["type"] == "doc")
    n_pos = sum(1 for r in records if r["type"] == "pair" and r["label"] == 1)
    n_neg = sum(1 for r in records if r["type"] == "pair" and r["label"] == 0)
    print(f"{out}: {n_docs} documents, {n_pos} positive and {n_neg} negative pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

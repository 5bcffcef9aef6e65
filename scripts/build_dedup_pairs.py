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
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

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


# --- partial rewrites: a passage (a paragraph or more) kept, the rest changed ---------------
# The corpus lost its paragraph breaks, so a "paragraph" here is a run of sentences: a
# quarter of the report, at least one sentence.

def _para(sents: list[str]) -> int:
    return max(1, round(len(sents) / 4))


def _other_passage(d: Doc, rng: random.Random, pool: list[Doc], n: int, *, lead: bool = False) -> str:
    """n sentences of another report of the pool (its lead when `lead`): text this
    report never had, as a site's own rewritten lead or closing would be."""
    others = [o for o in pool if o["id"] != d["id"] and len(sentences(o["body"])) > n]
    sents = sentences(rng.choice(others)["body"]) if others else ["وقالت مصادر محلية إن الأمر يتعلق بحادث معزول."]
    start = 0 if lead else rng.randrange(max(1, len(sents) - n + 1))
    return "".join(sents[start:start + n])


def e_lead_paragraph_swapped(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    sents = sentences(d["body"])
    k = _para(sents)
    return d["title"], _other_passage(d, rng, pool, k, lead=True) + " " + "".join(sents[k:])


def e_tail_replaced(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    sents = sentences(d["body"])
    k = _para(sents)
    return d["title"], "".join(sents[: len(sents) - k]) + " " + _other_passage(d, rng, pool, k)


def e_sentences_deleted(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    sents = sentences(d["body"])
    gone = set(rng.sample(range(len(sents)), max(1, len(sents) // 3))) if len(sents) > 2 else {len(sents) - 1}
    return d["title"], "".join(s for i, s in enumerate(sents) if i not in gone)


def e_paragraphs_reordered(d: Doc, rng: random.Random, pool: list[Doc]) -> tuple[str, str]:
    sents = sentences(d["body"])
    size = max(1, _para(sents))
    paras = [sents[i:i + size] for i in range(0, len(sents), size)]
    order = list(range(len(paras)))
    while len(paras) > 1 and order == sorted(order):
        rng.shuffle(order)
    return d["title"], "\n\n".join("".join(paras[i]) for i in order)


REWRITES = ("lead_paragraph_swapped", "tail_replaced", "sentences_deleted", "paragraphs_reordered")


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
    "lead_paragraph_swapped": e_lead_paragraph_swapped,
    "tail_replaced": e_tail_replaced,
    "sentences_deleted": e_sentences_deleted,
    "paragraphs_reordered": e_paragraphs_reordered,
}


# --- hard negatives: bulletin templates (same frame, different facts) -------------------------
# Written for this generator: each sentence of a frame carries at least one fact slot,
# as daily bulletins do; some frames carry no number at all (names, teams, regions), so
# the figures guard alone cannot keep them apart.

FRAMES: tuple[tuple[str, ...], ...] = (
    (
        "أصدرت المديرية العامة للأرصاد الجوية نشرة إنذارية من مستوى اليقظة {color} تتوقع فيها {phenom} يوم {day} بعدد من أقاليم المملكة.",
        "وأوضحت النشرة أن هذه الظاهرة ستهم أقاليم {r1} و{r2} و{r3}، مع احتمال تساقط البرد بمرتفعات {r4}.",
        "وستكون السماء {sky} فوق سواحل {r5}، مع هبوب رياح {wind} بمنطقة {r6}.",
        "ودعت المديرية مستعملي الطرق بأقاليم {r2} و{r4} إلى توخي الحذر واتباع تعليمات السلطات المحلية.",
        "ويرتقب أن يكون البحر {sea} بين {r7} و{r8}، حسب المصدر ذاته.",
    ),
    (
        "صادق مجلس الحكومة المنعقد يوم {day} برئاسة رئيس الحكومة على مقترح تعيين {name1} في منصب مدير {post_a}.",
        "كما صادق المجلس على تعيين {name2} مديرا {post_b} بوزارة {ministry1}.",
        "وتم تعيين {name3} في منصب الكاتب العام لقطاع {ministry2} خلفا للمسؤول السابق {name4}.",
        "وعلى مستوى وزارة {ministry3}، عين المجلس {name5} مديرا جهويا بجهة {r1}.",
        "وأكد الناطق الرسمي باسم الحكومة أن تعيين {name1} و{name2} يندرج في إطار {reason}.",
    ),
    (
        "فاز فريق {team1} على ضيفه {team2} بهدفين مقابل هدف واحد، في المباراة التي جمعتهما مساء يوم {day} بملعب {stadium} برسم البطولة الاحترافية.",
        "وافتتح اللاعب {name1} حصة التسجيل لفائدة {team1} في الشوط الأول، قبل أن يعادل {name2} النتيجة لفريق {team2}.",
        "وتمكن {name3} من تسجيل هدف الفوز لفريق {team1} في الشوط الثاني بعد تمريرة حاسمة من زميله {name4}.",
        "وبهذا الفوز عزز {team1} موقعه في سبورة الترتيب، فيما تجمد رصيد {team2} في المركز الذي كان يحتله.",
        "ويستعد {team1} لمواجهة {team3} في الجولة المقبلة، بينما يحل {team2} ضيفا على {team4}.",
    ),
    (
        "لقي {n1} أشخاص مصرعهم وأصيب {n2} آخرون بجروح، إصاباتهم {n3} منهم بليغة، في {n4} حادثة سير داخل المناطق الحضرية خلال الأسبوع الممتد من {d1} إلى {d2} {month}.",
        "وأوضح بلاغ للمديرية العامة للأمن الوطني أن الأسباب الرئيسية المؤدية إلى وقوع هذه الحوادث تتمثل في {cause1} و{cause2}.",
        "وفي إطار المراقبة والزجر في ميدان السير والجولان تمكنت مصالح الأمن من تسجيل {n5} مخالفة وإنجاز {n6} محضرا أحيلت على النيابة العامة.",
        "واستخلصت مصالح الأمن {n7} غرامة صلحية بمدينة {r1}، فيما بلغ المبلغ المتحصل عليه {n8} درهما.",
        "وتم إيداع {n9} عربة بالمحجز البلدي بمدينة {r2} وسحب {n10} وثيقة.",
    ),
)
SLOT_VALUES: dict[str, tuple[str, ...]] = {
    "color": ("البرتقالي", "الأحمر", "الأصفر"),
    "phenom": ("زخات رعدية قوية", "تساقطات ثلجية", "موجة حر", "رياحا قوية", "أمطارا غزيرة", "موجة برد",
               "تساقط البرد", "زوابع رملية"),
    "day": ("الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
    "sky": ("غائمة", "صافية", "مغيمة جزئيا", "ملبدة بالسحب", "قليلة السحب", "رمادية", "ضبابية", "صحوة"),
    "wind": ("معتدلة", "قوية", "ضعيفة", "شرقية نشيطة", "غربية", "شمالية قوية", "جنوبية حارة", "متقلبة"),
    "sea": ("هائجا", "هادئا", "قليل الهيجان", "متموجا", "كثير الهيجان", "مضطربا", "قويا", "ساكنا"),
    "post_a": ("الوكالة الوطنية للموانئ", "المكتب الوطني للسياحة", "صندوق الإيداع", "وكالة التنمية الرقمية", "المركز الجهوي للاستثمار"),
    "post_b": ("للشؤون القانونية", "للموارد البشرية", "للميزانية", "للتعاون الدولي", "للشؤون الإدارية"),
    "ministry": ("الفلاحة", "الصحة", "التربية الوطنية", "التجهيز", "الداخلية", "العدل", "الثقافة", "الطاقة"),
    "reason": ("تفعيل مبدأ الاستحقاق", "تجديد النخب الإدارية", "تنزيل الجهوية المتقدمة", "ربط المسؤولية بالمحاسبة"),
    "name": ("محمد العلوي", "فاطمة الزهراء بناني", "يوسف التازي", "نادية الفاسي", "عبد الرحيم الإدريسي", "سعيد الحسني",
             "خديجة المنصوري", "رشيد بوزيان", "أمين الشرقاوي", "ليلى بنجلون", "كريم الصقلي", "حسن أيت علي"),
    "team": ("الرجاء الرياضي", "الوداد الرياضي", "الجيش الملكي", "نهضة بركان", "المغرب الفاسي", "حسنية أكادير",
             "اتحاد طنجة", "الدفاع الحسني الجديدي", "أولمبيك آسفي", "الفتح الرياضي"),
    "stadium": ("محمد الخامس", "مولاي عبد الله", "أدرار", "ابن بطوطة", "البشير", "فاس الكبير", "مراكش الكبير",
                "العبدي"),
    "cause": ("عدم انتباه السائقين", "عدم احترام حق الأسبقية", "السرعة المفرطة", "عدم انتباه الراجلين",
              "تغيير الاتجاه بدون إشارة", "السير في الاتجاه الممنوع"),
    "month": ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو"),
    "r": ("الحسيمة", "شفشاون", "تازة", "إفران", "ميدلت", "الحوز", "أزيلال", "خنيفرة", "تطوان", "العرائش",
          "القنيطرة", "بني ملال", "وجدة", "الناظور", "أكادير", "الصويرة"),
}


def fill(frame: tuple[str, ...], rng: random.Random) -> str:
    """One bulletin of a frame: each kind of slot draws its values without replacement
    (two slots of a bulletin never share a region or a name), so two bulletins of a
    frame hold a fact in common only by chance; numbers are random."""
    used: dict[str, str] = {}
    shuffled: dict[str, list[str]] = {}

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in used:
            kind = name.rstrip("0123456789")
            if kind in ("n", "d"):
                used[name] = str(rng.randrange(2, 1900) if kind == "n" else rng.randrange(1, 28))
            else:
                if kind not in shuffled:
                    shuffled[kind] = rng.sample(SLOT_VALUES[kind], len(SLOT_VALUES[kind]))
                taken = sum(1 for u in used if u.rstrip("0123456789") == kind)
                used[name] = shuffled[kind][taken % len(shuffled[kind])]
        return used[name]

    return " ".join(re.sub(r"\{(\w+)\}", sub, sentence) for sentence in frame)


def follow_up(d: Doc, other: Doc, rng: random.Random) -> str:
    """Same topic, another event: a report of its own (the first half of `other`) that
    recalls `d`'s background (its closing sentences, at most a third of it): one passage
    shared, not one story."""
    sents = sentences(d["body"])
    background = "".join(sents[-2:])
    if len(background) > len(d["body"]) / 3:  # few sentences: its last third, by words
        words = d["body"].split()
        background = " ".join(words[len(words) - len(words) // 3:])
    own: list[str] = []
    for s in sentences(other["body"]):
        if own and len("".join(own)) >= 2 * len(background):
            break
        own.append(s)
    return "".join(own) + " " + background


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
    names = [k for k in EDITS if k not in REWRITES]
    for n, i in enumerate(edit_bases):
        d = docs[i]
        kinds = list(EDITS) if not small else (
            [names[(n + k) % len(names)] for k in range(4)] + [REWRITES[(2 * n + k) % len(REWRITES)] for k in range(2)])
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
        # same topic, another event: a later report recalling this one's background
        same = [j for j in by_day_cat[(d["date"][:10], d["category"])]
                if j != i and docs[j]["id"] in out_docs and len(docs[j]["body"]) >= 400]
        other = docs[rng.choice(same)] if same else rng.choice([o for o in pool if o["id"] != d["id"]])
        fid = f"{d['id']}~follow_up"
        out_docs[fid] = _doc(d, id=fid, title=other["title"], body=follow_up(d, other, rng), source=rng.choice(SITES),
                             base=other["id"], published=_when(d) + timedelta(hours=rng.randrange(2, 30)))
        pair(d["id"], fid, 0, "same_topic_follow_up")

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

    # bulletin templates: the same frame with other facts is another report, even on the
    # same day; the same bulletin republished with a dateline and a tail is the same one
    start = datetime(2020, 3, 2, 9)
    per_frame = 4 if small else 8
    for f, frame in enumerate(FRAMES):
        ids = []
        for k in range(per_frame):
            body = fill(frame, rng)
            bid = f"bulletin{f}-{k}"
            when = start + timedelta(days=30 * f, hours=11 * k)
            out_docs[bid] = {"type": "doc", "id": bid, "title": body.split("،")[0][:80], "body": body,
                             "published": when.isoformat(), "source": rng.choice(SITES), "base": bid}
            ids.append(bid)
        for a, b in combinations(ids, 2):
            pair(a, b, 0, "template")
        d0 = out_docs[ids[0]]
        rid = f"{ids[0]}~republished"
        out_docs[rid] = {**d0, "id": rid, "body": rng.choice(DATELINES) + d0["body"] + rng.choice(TAILS),
                         "source": rng.choice(SITES),
                         "published": (datetime.fromisoformat(d0["published"]) + timedelta(minutes=40)).isoformat()}
        pair(ids[0], rid, 1, "template_republished")
        pair(rid, ids[1], 0, "template_edited")

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

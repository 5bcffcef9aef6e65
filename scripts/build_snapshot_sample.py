"""Build the bundled snapshot sample from the Hespress corpus.

    .venv/bin/python scripts/build_snapshot_sample.py [--corpus PATH] [--out PATH]

Picks at most 260 corpus articles, files them into the sections of the five
emulated sites (plus ``wpdemo``), makes ~20 stories republished by two or three
sites with the small edits wire copy gets, adds a few templated bulletins as hard
negatives for dedup, splits the glued corpus bodies into paragraphs and writes
``crawler/snapshot/data/sample.jsonl.gz``. The output is byte-for-byte
deterministic for a given corpus (fixed seed, sorted keys, gzip mtime 0).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.snapshot.sites import FIVE_SITES, SITES, Section  # noqa: E402
from crawler.snapshot.text import slugify, split_paragraphs  # noqa: E402

DEFAULT_CORPUS = Path("/work/shared/corpus")
DEFAULT_OUT = ROOT / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
SEED = 20251129
MAX_CORPUS_ARTICLES = 260
WINDOW_MINUTES = 30 * 24 * 60 - 90  # re-dated into the 30 days before `now`
N_TRIPLES, N_PAIRS = 7, 13
BULLETIN_RE = re.compile(r"يسجل\s+\d+\s+إصاب")
# the hard negatives: national COVID counts of three consecutive days, one site each
BULLETIN_SITES = (("hibapress", "section-2"), ("le12", "societe"), ("rue20", "صحة"))

EDIT_KINDS = (
    "title_reworded", "site_label", "dateline", "sayyid", "closing_added", "closing_cut",
    "truncated", "tashkeel", "hamza", "indic_digits", "read_also_tail", "app_tail",
)

AUTHORS = {
    "le12": ("LE12.ma - الرباط", "كريم الصقلي", "نادية الرحماني", "سعيد بلقاضي", "LE12.ma - متابعة"),
    "rue20": ("زنقة 20", "عبد الرحيم المسكاوي", "هند الطاهري", "سمير بنعلي"),
    "belpresse": ("بلبريس - ياسين العماري", "هيئة التحرير", "بلبريس - سعاد الإدريسي", "بلبريس - متابعة"),
    "wpdemo": ("محرر الموقع", "admin"),
}
HIBA_REPORTERS = ("عبد اللطيف بركة", "محمد زريوح", "هشام الطرشي")
TAGS = (
    "كورونا", "الحكومة", "البرلمان", "وزارة الصحة", "المنتخب الوطني", "الرجاء", "الوداد",
    "بنك المغرب", "الدار البيضاء", "الرباط", "مراكش", "فاس", "طنجة", "أكادير", "وجدة",
    "الناظور", "العيون", "الأمن الوطني", "الدرك الملكي", "الأحزاب", "التعليم", "الفلاحة",
    "السياحة", "الجامعة الملكية", "البيجيدي", "الانتخابات", "الصحراء", "الجفاف",
)
CLOSINGS = (
    "وتجدر الإشارة إلى أن هذا الموضوع يحظى باهتمام واسع لدى الرأي العام الوطني.",
    "ويرتقب أن تعرف القضية تطورات جديدة خلال الأيام المقبلة، حسب مصادر متطابقة.",
    "وسنوافيكم بالمزيد من التفاصيل فور توفرها.",
)
APP_TAILS = {
    "hespress": "حمّلوا تطبيق هسبريس لمتابعة آخر الأخبار أولا بأول.",
    "hibapress": "تابعوا آخر الأخبار عبر تطبيق هبة بريس على هواتفكم.",
    "le12": "لمتابعة آخر الأخبار حمّلوا تطبيق LE12 على هواتفكم.",
    "rue20": "حمّل تطبيق زنقة 20 لتصلك آخر الأخبار فور نشرها.",
    "belpresse": "اشترك في نشرة بلبريس الإخبارية لتصلك آخر الأخبار.",
}
DATELINES = ("الرباط", "الدار البيضاء", "مراكش", "فاس", "طنجة", "أكادير")
TASHKEEL = {
    "المغرب": "المَغْرِب", "الحكومة": "الحُكومة", "المملكة": "المَمْلَكة", "وزير": "وَزِير",
    "الوطني": "الوَطَنِي", "رئيس": "رَئِيس", "مدينة": "مَدِينة", "قال": "قالَ", "أن": "أنّ",
}


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big")


def shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text)
    return {tuple(words[i : i + 3]) for i in range(max(0, len(words) - 2))}


def load_corpus(corpus: Path) -> list[dict[str, Any]]:
    path = corpus / "hespress_stories" / "hespress_stories.jsonl.gz"
    if not path.exists():
        raise SystemExit(f"corpus file not found: {path} (use --corpus)")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --- wire-copy edits ---------------------------------------------------------
# Each takes (record, rng, context) and returns True when it applied.


def _edit_title_reworded(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    title = rec["title"]
    if " .. " in title:
        a, b = title.split(" .. ", 1)
        rec["title"] = f"{b}: {a}" if rng.random() < 0.5 else f"{a}: {b}"
    elif "،" in title:
        rec["title"] = title.replace("،", " ..", 1)
    else:
        rec["title"] = rng.choice(("عاجل: ", "رسميا.. ", "بالتفاصيل.. ")) + title
    return rec["title"] != title


def _edit_site_label(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    rec["paragraphs"][0] = f"{SITES[rec['site']].name} - {rec['paragraphs'][0]}"
    return True


def _edit_dateline(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    rec["paragraphs"][0] = f"{rng.choice(DATELINES)} (و.م.ع) – {rec['paragraphs'][0]}"
    return True


_SAYYID_RE = re.compile(r"\b(قال|أكد|أوضح|أفاد|أشار|صرح|استقبل|اعتبر|كشف|دعا)\s+(?!السيد)")


def _edit_sayyid(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    for i, p in enumerate(rec["paragraphs"]):
        new = _SAYYID_RE.sub(lambda m: f"{m.group(1)} السيد ", p, count=1)
        if new != p:
            rec["paragraphs"][i] = new
            return True
    return False


def _edit_closing_added(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    rec["paragraphs"].append(rng.choice(CLOSINGS))
    return True


def _edit_closing_cut(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    if len(rec["paragraphs"]) < 3:
        return False
    rec["paragraphs"].pop()
    return True


def _edit_truncated(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    n = len(rec["paragraphs"])
    if n < 4:
        return False
    rec["paragraphs"] = rec["paragraphs"][: max(2, round(n * 0.6))]
    return True


def _edit_tashkeel(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    changed = False
    for word, marked in TASHKEEL.items():
        pat = re.compile(rf"(?<!\w){word}(?!\w)")
        for i, p in enumerate(rec["paragraphs"]):
            new = pat.sub(marked, p, count=2)
            changed |= new != p
            rec["paragraphs"][i] = new
    return changed


def _edit_hamza(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    before = list(rec["paragraphs"]), rec["title"]
    rec["paragraphs"] = [re.sub("[أإآ]", "ا", p) for p in rec["paragraphs"]]
    rec["title"] = re.sub("[أإآ]", "ا", rec["title"])
    return (rec["paragraphs"], rec["title"]) != before


_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _edit_indic_digits(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    if not any(re.search(r"\d", p) for p in rec["paragraphs"]):
        return False
    rec["paragraphs"] = [p.translate(_INDIC) for p in rec["paragraphs"]]
    rec["title"] = rec["title"].translate(_INDIC)
    return True


def _edit_read_also_tail(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    tail = f"اقرأ أيضا: {ctx['other_title']}"
    rec["paragraphs"].append(tail)
    rec.setdefault("tails", []).append(tail)
    return True


def _edit_app_tail(rec: dict[str, Any], rng: random.Random, ctx: dict[str, Any]) -> bool:
    rec["paragraphs"].append(APP_TAILS[rec["site"]])
    rec.setdefault("tails", []).append(APP_TAILS[rec["site"]])
    return True


EDITS: dict[str, Callable[[dict[str, Any], random.Random, dict[str, Any]], bool]] = {
    k: globals()[f"_edit_{k}"] for k in EDIT_KINDS
}


# --- selection ---------------------------------------------------------------


class Picker:
    """Hands out corpus articles per category, skipping near-duplicates of earlier picks."""

    def __init__(self, corpus: list[dict[str, Any]]) -> None:
        titles = Counter(r["title"] for r in corpus)
        self.pools: dict[str, list[dict[str, Any]]] = {}
        for r in sorted(corpus, key=lambda r: stable_hash(str(SEED) + r["id"])):
            if not 500 <= len(r["body"]) <= 4200 or titles[r["title"]] > 1 or BULLETIN_RE.search(r["title"]):
                continue
            self.pools.setdefault(r["category"], []).append(r)
        self.taken: list[set[tuple[str, ...]]] = []
        self.ids: set[str] = set()

    def take(self, category: str) -> dict[str, Any]:
        pool = self.pools[category]
        while pool:
            r = pool.pop(0)
            sh = shingles(r["body"])
            # the corpus holds real same-day republications: keep them out of the singletons
            if any(len(sh & t) / max(1, len(sh | t)) > 0.3 for t in self.taken):
                continue
            self.taken.append(sh)
            self.ids.add(r["id"])
            return r
        raise SystemExit(f"corpus exhausted for category {category}")

    def mark(self, r: dict[str, Any]) -> None:
        self.taken.append(shingles(r["body"]))
        self.ids.add(r["id"])


def base_record(r: dict[str, Any], site: str, section: Section, rng: random.Random) -> dict[str, Any]:
    text = f"{r['title']} {r['body']}"
    tags = [t for t in TAGS if t in text][:3] or [section.name]
    return {
        "site": site,
        "section": section.slug,
        "corpus_id": r["id"],
        "story_key": r["id"],
        "category": r["category"],
        "corpus_date": r["date"],
        "title": r["title"].strip(),
        "paragraphs": split_paragraphs(r["body"]),
        "author": author_for(site, section, r, rng),
        "tags": tags,
        "edits": [],
        "role": "single",
    }


def author_for(site: str, section: Section, r: dict[str, Any], rng: random.Random) -> str:
    if site == "hespress":
        return r["author"] or "هسبريس"
    if site == "hibapress":
        x = rng.random()
        if x < 0.6:
            return f"هبة بريس ـ {section.name}"
        if x < 0.8:
            return "هبة بريس- وكالات"
        return f"هبة بريس -{rng.choice(HIBA_REPORTERS)}"
    return rng.choice(AUTHORS[site])


def dateline_city(r: dict[str, Any]) -> str:
    m = re.search(r"من (\S+(?: \S+)?)$", r.get("author") or "")
    return m.group(1) if m else "الرباط"


def build(corpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    picker = Picker(corpus)
    slots: dict[tuple[str, str], int] = {
        (s.id, sec.slug): sec.share for s in SITES.values() for sec in s.sections
    }
    records: list[dict[str, Any]] = []

    def free_section(site: str, category: str) -> Section | None:
        for sec in SITES[site].sections:
            if category in sec.corpus and sec.mapped and slots[(site, sec.slug)] > 0:
                return sec
        return None

    # 1. hard negatives: templated bulletins of consecutive days on three sites
    bulletins = sorted(
        (r for r in corpus if BULLETIN_RE.search(r["title"]) and r["title"].startswith("المغرب يسجل")),
        key=lambda r: r["date"],
    )
    start = len(bulletins) // 3
    for (site, slug), r in zip(BULLETIN_SITES, bulletins[start : start + 3]):
        sec = SITES[site].section(slug)
        slots[(site, slug)] -= 1
        picker.mark(r)
        rec = base_record(r, site, sec, rng)
        rec["role"] = "bulletin"
        records.append(rec)

    # 2. stories republished by two or three sites with wire-copy edits
    categories = ("politics", "economy", "society", "sports", "regions", "crime_incidents")
    edit_cycle = 0
    for g in range(N_TRIPLES + N_PAIRS):
        size = 3 if g < N_TRIPLES else 2
        category = categories[g % len(categories)]
        r = picker.take(category)
        sites = [s for s in rng.sample(FIVE_SITES, len(FIVE_SITES)) if free_section(s, category)][:size]
        for i, site in enumerate(sites):
            sec = free_section(site, category)
            assert sec is not None
            slots[(site, sec.slug)] -= 1
            rec = base_record(r, site, sec, rng)
            rec["role"] = "original" if i == 0 else "copy"
            if i > 0:
                wanted = [EDIT_KINDS[edit_cycle % len(EDIT_KINDS)]]
                if edit_cycle % 2 == 0:
                    wanted.append(EDIT_KINDS[(edit_cycle + 5) % len(EDIT_KINDS)])
                edit_cycle += 1
                ctx = {"other_title": picker.pools[category][0]["title"]}
                for kind in wanted:
                    tries = [kind] + [k for k in EDIT_KINDS if k not in wanted]
                    for k in tries:
                        if k not in rec["edits"] and EDITS[k](rec, rng, ctx):
                            rec["edits"].append(k)
                            break
            records.append(rec)

    # 3. singletons fill every remaining slot
    for site, spec in SITES.items():
        for sec in spec.sections:
            for i in range(slots[(site, sec.slug)]):
                r = picker.take(sec.corpus[i % len(sec.corpus)])
                records.append(base_record(r, site, sec, rng))
            slots[(site, sec.slug)] = 0

    corpus_by_id = {r["id"]: r for r in corpus}
    assign_dates_and_ids(records, corpus_by_id, rng)
    for rec in records:
        r = corpus_by_id[rec["corpus_id"]]
        if rec["site"] == "rue20":
            rec["dateline"] = f"زنقة 20 | {dateline_city(r)}"
        if rec["site"] == "hespress":
            rec["date_style"] = "old" if rng.random() < 0.25 else "current"
        if rec["site"] == "rue20":
            rec["date_style"] = "ala_saa" if rng.random() < 0.2 else "current"
    return records


def assign_dates_and_ids(records: list[dict[str, Any]], corpus_by_id: dict[str, Any], rng: random.Random) -> None:
    """Ages in minutes before `now`: corpus order kept, dense near `now` so relative dates vary."""
    stories = sorted({r["corpus_id"] for r in records}, key=lambda cid: (corpus_by_id[cid]["date"], cid), reverse=True)
    n = len(stories)
    base = {cid: max(4, round(WINDOW_MINUTES * ((k + 0.35) / n) ** 2.6)) for k, cid in enumerate(stories)}
    used: set[int] = set()
    for rec in sorted(records, key=lambda r: (r["corpus_id"], r["role"] != "original", r["site"])):
        age = base[rec["corpus_id"]]
        if rec["role"] == "copy":
            age = max(2, age - rng.randint(12, 240))
        while age in used:
            age += 1
        used.add(age)
        rec["age_minutes"] = age
        rec["modified_after_minutes"] = min(age - 1, rng.randint(5, 600)) if rng.random() < 0.3 and age > 6 else 0
    # the bulletins are daily counts: one day apart, as they were in the corpus
    bulletins = sorted((r for r in records if r["role"] == "bulletin"), key=lambda r: r["corpus_date"], reverse=True)
    for i, rec in enumerate(bulletins[1:], 1):
        age = bulletins[0]["age_minutes"] + i * 1440 + rng.randint(-20, 20)
        while age in used:
            age += 1
        used.add(age)
        rec["age_minutes"] = age
    for site, spec in SITES.items():
        mine = sorted((r for r in records if r["site"] == site), key=lambda r: -r["age_minutes"])
        pid = spec.first_post_id
        slugs: set[str] = set()
        for rec in mine:
            pid += spec.post_id_step + rng.randint(0, spec.post_id_step)
            rec["id"] = pid
            slug = slugify(rec["title"])
            while slug in slugs:
                slug += "-2"
            slugs.add(slug)
            rec["slug"] = slug


def write(records: list[dict[str, Any]], out: Path) -> None:
    records = sorted(records, key=lambda r: (r["site"], r["age_minutes"]))
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
        for rec in records:
            gz.write((json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(raw.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus root (holds hespress_stories/)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    records = build(load_corpus(args.corpus))
    distinct = len({r["corpus_id"] for r in records})
    if distinct > MAX_CORPUS_ARTICLES or len(records) > 300:
        raise SystemExit(f"sample too big: {len(records)} records, {distinct} corpus articles")
    write(records, args.out)
    groups = Counter(r["story_key"] for r in records)
    edits = Counter(e for r in records for e in r["edits"])
    print(f"{len(records)} records, {distinct} corpus articles, {sum(1 for c in groups.values() if c > 1)} republished stories")
    print("per site:", dict(Counter(r["site"] for r in records)))
    print("edits:", dict(sorted(edits.items())))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

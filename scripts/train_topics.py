#!/usr/bin/env python3
"""Train the bundled topic classifier on the Hespress corpus and report held-out quality.

    .venv/bin/python scripts/train_topics.py [--corpus PATH] [--out PATH] [--dry-run]

The held-out split (the project's one; `bench/topics.py` and docs/topics.md use the same):
the corpus articles used by the bundled snapshot sample are set aside first (the test
suite's gate classifies them, so they must stay unseen); of the rest, 20% of each topic is
held out, picked by sorting on article id and shuffling with seed 20200705. Neither file
order nor the machine changes it.

Training (scikit-learn, the `train` extra): TF-IDF blocks from `pipelines.topic_model.
featurize` (word uni/bigrams, in-word character 2–4-grams), a LinearSVC fitted once on
every feature, the features with the largest weights kept per block, a LinearSVC refitted
on those and calibrated by temperature scaling on 5-fold cross-validated scores
(`CalibratedClassifierCV(method="temperature", ensemble=False)`). The weights are exported
to `pipelines/models/topics.json.gz`, reloaded through the pure-Python runtime loader and
evaluated on the held-out split, so the figures printed are those of the shipped file:
accuracy, share sent to `other` at the pipeline's threshold, precision and recall per
topic, confusion matrix. Deterministic: the same corpus and options write the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.topic_model import BLOCKS, MODEL_FORMAT, TopicModel, featurize  # noqa: E402
from pipelines.topics import DEFAULT_MIN_CONFIDENCE, OTHER  # noqa: E402

# The shared corpus beside the worktree (../shared/corpus), as the project lays it out.
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "hespress_stories" / "hespress_stories.jsonl.gz"
DEFAULT_SAMPLE = ROOT / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
DEFAULT_OUT = ROOT / "pipelines" / "models" / "topics.json.gz"
SEED = 20200705
TEST_SIZE = 0.2

# Corpus labels -> taxonomy ids (crawler/taxonomy.py). The other nine topics have no
# training text: they come from section maps only (docs/topics.md).
CATEGORY_TO_TOPIC = {
    "politics": "politics",
    "economy": "economy",
    "society": "society",
    "sports": "sports",
    "regions": "regions",
    "crime_incidents": "incidents",
}


def read_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_corpus(path: Path) -> list[dict]:
    """Labelled rows ``{id, title, body, topic}``; rows of an unknown category are skipped
    with a note on stderr."""
    rows = []
    for r in read_jsonl_gz(path):
        topic = CATEGORY_TO_TOPIC.get(r.get("category", ""))
        if topic is None:
            print(f"skipping {r.get('id')}: unknown category {r.get('category')!r}", file=sys.stderr)
            continue
        rows.append({"id": r["id"], "title": r.get("title") or "", "body": r.get("body") or "", "topic": topic})
    return rows


def sample_corpus_ids(sample: Path) -> set[str]:
    """Corpus ids of the bundled snapshot sample (empty if the file is absent). Sample
    records carry their corpus article as `corpus_id` (their `id` is the emulated site's
    post id); several sites may republish one corpus article."""
    if not sample.exists():
        return set()
    return {s.get("corpus_id") or s.get("id") for s in read_jsonl_gz(sample)}


def stratified_split(rows: list[dict], test_size: float = TEST_SIZE, seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """Hold out `test_size` of each topic; the order inside a topic is fixed by sorting on id
    before the seeded shuffle, so the split does not depend on file order."""
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_topic[r["topic"]].append(r)
    rng = random.Random(seed)
    train: list[dict] = []
    test: list[dict] = []
    for topic in sorted(by_topic):
        group = sorted(by_topic[topic], key=lambda r: r["id"])
        rng.shuffle(group)
        n_test = round(len(group) * test_size)
        test += group[:n_test]
        train += group[n_test:]
    return train, test


def project_split(corpus: Path, sample: Path = DEFAULT_SAMPLE, test_size: float = TEST_SIZE,
                  seed: int = SEED) -> tuple[list[dict], list[dict], list[dict]]:
    """(train, held out, sample rows): the project's held-out split of `corpus`."""
    rows = load_corpus(corpus)
    ids = sample_corpus_ids(sample)
    sample_rows = [r for r in rows if r["id"] in ids]
    train, test = stratified_split([r for r in rows if r["id"] not in ids], test_size, seed)
    return train, test, sample_rows


def evaluate(model: TopicModel, rows: list[dict], min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> dict[str, Any]:
    """Quality on labelled rows: the model's own accuracy (its best topic) and, as the
    pipeline files an article without a section, the share filed right and the share sent
    to `other` (confidence below `min_confidence`); precision and recall per topic of the
    pipeline's decisions (an article sent to `other` counts against its topic's recall)."""
    classes = list(model.classes)
    confusion: dict[str, Counter[str]] = {t: Counter() for t in classes}
    preds = []
    for r in rows:
        p = model.predict(r["title"], r["body"])
        filed = p.topic if p.confidence >= min_confidence else OTHER
        confusion[r["topic"]][filed] += 1
        preds.append((r["topic"], p.topic, p.confidence))
    n = len(rows) or 1
    model_right = sum(1 for t, p, _ in preds if t == p)
    filed_right = sum(confusion[c][c] for c in classes)
    other = sum(confusion[c][OTHER] for c in classes)
    precision, recall = {}, {}
    for c in classes:
        tp = confusion[c][c]
        filed_as_c = sum(confusion[o][c] for o in classes)
        precision[c] = tp / filed_as_c if filed_as_c else 0.0
        recall[c] = tp / (sum(confusion[c].values()) or 1)
    return {
        "n": len(rows),
        "min_confidence": min_confidence,
        "model_accuracy": model_right / n,
        "accuracy": filed_right / n,
        "other_share": other / n,
        "precision": precision,
        "recall": recall,
        "macro_f1": sum(2 * precision[c] * recall[c] / ((precision[c] + recall[c]) or 1) for c in classes) / len(classes),
        "confusion": confusion,
        "preds": preds,
    }


def print_report(name: str, ev: dict[str, Any], classes: list[str]) -> None:
    print(f"\n== {name}: {ev['n']} articles ==")
    print(f"pipeline, threshold {ev['min_confidence']}: accuracy {ev['accuracy']:.4f}, sent to other "
          f"{ev['other_share']:.2%}")
    print(f"model (best topic, no threshold): accuracy {ev['model_accuracy']:.4f}")
    print(f"macro-F1 {ev['macro_f1']:.4f}")
    print("topic        precision  recall")
    for c in classes:
        print(f"{c:<12} {ev['precision'][c]:9.3f} {ev['recall'][c]:7.3f}")
    cols = classes + [OTHER]
    width = max(len(c) for c in cols) + 1
    print("confusion (rows: true topic, columns: filed under)")
    print(" " * width + "".join(f"{c[:9]:>10}" for c in cols))
    for t in classes:
        print(f"{t:<{width}}" + "".join(f"{ev['confusion'][t][p]:>10}" for p in cols))


def print_thresholds(ev: dict[str, Any], thresholds: Iterable[float] = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)) -> None:
    print("\nthreshold: filed right / sent to other / accuracy of those kept")
    for th in thresholds:
        kept = [(t, p) for t, p, c in ev["preds"] if c >= th]
        right = sum(1 for t, p in kept if t == p)
        print(f"  {th:.2f}: {right / ev['n']:.4f}  {1 - len(kept) / ev['n']:6.2%}  "
              f"{right / len(kept) if kept else float('nan'):.4f}")


# -- training (scikit-learn) ----------------------------------------------------------

def _vectorizers(train: list[dict], min_df: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per block: a DictVectorizer whose vocabulary is the features in >= `min_df` training
    articles, and the fitted TF-IDF transformer ((1 + log tf) * smooth idf, L2 rows: the
    weighting `TopicModel.scores` applies)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfTransformer

    docs = [featurize(r["title"], r["body"]) for r in train]
    vecs, tfidfs = {}, {}
    for name in BLOCKS:
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d[name].keys())
        vocab = sorted(t for t, n in df.items() if n >= min_df)
        vec = DictVectorizer(sort=False).fit([{t: 1 for t in vocab}])
        vecs[name] = vec
        tfidfs[name] = TfidfTransformer(sublinear_tf=True).fit(vec.transform([d[name] for d in docs]))
    return vecs, tfidfs


def _matrix(rows: list[dict], vecs: dict[str, Any], tfidfs: dict[str, Any], keep: dict[str, Any] | None = None) -> Any:
    """Blocks side by side, each normalised over the features it keeps."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    docs = [featurize(r["title"], r["body"]) for r in rows]
    parts = []
    for name in BLOCKS:
        x = tfidfs[name].transform(vecs[name].transform([d[name] for d in docs]))
        if keep is not None:
            x = normalize(x[:, keep[name]])
        parts.append(x)
    return sparse.hstack(parts).tocsr()


def train(rows: list[dict], classes: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Fit and return the model file's content (weights quantised as stored)."""
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    y = np.array([classes.index(r["topic"]) for r in rows])
    vecs, tfidfs = _vectorizers(rows, args.min_df)
    sizes = {name: len(vecs[name].feature_names_) for name in BLOCKS}
    # Prune on a first fit: a feature whose weights are all small moves no decision, and
    # the file (and the dictionary built at load) grows with every feature kept.
    # liblinear shuffles with a seed drawn from numpy's global RNG unless given one: fixed, so
    # a retrain writes the same bytes.
    full = LinearSVC(C=args.C, random_state=0).fit(_matrix(rows, vecs, tfidfs), y)
    strength = np.abs(full.coef_).max(axis=0)
    limits = {"words": args.max_words, "chars": args.max_chars}
    keep, start = {}, 0
    for name in BLOCKS:
        block = strength[start : start + sizes[name]]
        order = np.argsort(-block, kind="stable")[: limits[name]]
        keep[name] = np.sort(order)
        start += sizes[name]
    x = _matrix(rows, vecs, tfidfs, keep)
    clf = CalibratedClassifierCV(LinearSVC(C=args.C, random_state=0), method="temperature", cv=5, ensemble=False).fit(x, y)
    svc = clf.calibrated_classifiers_[0].estimator
    beta = float(clf.calibrated_classifiers_[0].calibrators[0].beta_)
    coef = svc.coef_.T  # features x classes
    scale = float(np.abs(coef).max()) / 32767
    blocks, start = {}, 0
    for name in BLOCKS:
        idx = keep[name]
        names = vecs[name].feature_names_
        w = np.rint(coef[start : start + len(idx)] / scale).astype(int)
        blocks[name] = {
            "vocab": [names[i] for i in idx],
            # Four decimals keep predictions identical in practice and the file small.
            "idf": [round(float(tfidfs[name].idf_[i]), 4) for i in idx],
            "weights": [int(v) for v in w.ravel()],
        }
        start += len(idx)
    print(f"features: {sizes} in >= {args.min_df} articles; kept {({n: len(keep[n]) for n in BLOCKS})}; "
          f"temperature beta {beta:.3f}")
    return {
        "format": MODEL_FORMAT,
        "classes": classes,
        "blocks": blocks,
        "weight_scale": scale,
        "bias": [round(float(b), 6) for b in svc.intercept_],
        "beta": round(beta, 6),
    }


def write_model(path: Path, model: dict[str, Any]) -> None:
    raw = json.dumps(model, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    buf = io.BytesIO()
    # mtime=0: the same corpus and options give a byte-identical file.
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="hespress_stories.jsonl.gz")
    ap.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE,
                    help="bundled snapshot sample whose articles are kept out of training (skipped if absent)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model file to write")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--test-size", type=float, default=TEST_SIZE)
    ap.add_argument("--min-df", type=int, default=2, help="a feature must occur in this many training articles")
    ap.add_argument("--max-words", type=int, default=25000, help="word features kept (largest weights)")
    ap.add_argument("--max-chars", type=int, default=15000, help="character-gram features kept (largest weights)")
    ap.add_argument("--C", type=float, default=0.5, help="LinearSVC regularisation (smaller: stronger)")
    ap.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE,
                    help="threshold to report the pipeline's figures at (TOPICS_MIN_CONFIDENCE)")
    ap.add_argument("--dry-run", action="store_true", help="evaluate without writing the bundled model")
    args = ap.parse_args(argv)

    if not args.corpus.exists():
        ap.error(f"corpus not found: {args.corpus} (use --corpus PATH)")
    train_rows, test, sample_rows = project_split(args.corpus, args.sample, args.test_size, args.seed)
    classes = sorted({r["topic"] for r in train_rows})
    print(f"corpus {args.corpus}: sample articles kept out {len(sample_rows)}; train {len(train_rows)}, "
          f"held out {len(test)}; topics {classes}")

    model = train(train_rows, classes, args)
    model["meta"] = {
        "corpus": "hespress_stories (Kaggle 'Hespress', 6 categories)",
        "train": len(train_rows),
        "held_out": len(test),
        "seed": args.seed,
        "min_df": args.min_df,
        "C": args.C,
        # Lets the test suite check that its accuracy gate still runs on unseen articles.
        "excluded_ids": sorted(r["id"] for r in sample_rows),
    }
    out = args.out if not args.dry_run else Path(tempfile.gettempdir()) / "topics-dry-run.json.gz"
    write_model(out, model)
    shipped = TopicModel.load(out)  # evaluate what ships, quantisation included
    ev = evaluate(shipped, test, args.min_confidence)
    print_report("held-out split", ev, classes)
    print_thresholds(ev)
    if sample_rows:
        print_report("snapshot sample (never trained on)", evaluate(shipped, sample_rows, args.min_confidence), classes)
    model["meta"].update({"held_out_accuracy": round(ev["accuracy"], 4),
                          "held_out_other_share": round(ev["other_share"], 4),
                          "held_out_model_accuracy": round(ev["model_accuracy"], 4)})
    write_model(out, model)
    print(f"\nwrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Train the bundled topic classifier on the Hespress corpus and report held-out quality.

    .venv/bin/python scripts/train_topics.py [--corpus PATH] [--out PATH]

Deterministic: a stratified 20% of each category (fixed seed) is held out, the model is
trained on the rest, written to `pipelines/models/topics.json.gz`, reloaded through the
runtime loader and evaluated on the held-out part (accuracy, macro-F1, confusion matrix),
so the printed figures are those of the shipped file. Articles of the bundled snapshot
sample are kept out of training altogether so that the test suite's accuracy gate on
them measures unseen text too.

Training needs numpy and scipy (the `train` extra); serving needs neither.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import random
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from pipelines.topic_model import MODEL_FORMAT, TopicModel, featurize  # noqa: E402

DEFAULT_CORPUS = Path("/work/shared/corpus/hespress_stories/hespress_stories.jsonl.gz")
DEFAULT_SAMPLE = ROOT / "crawler" / "snapshot" / "data" / "sample.jsonl.gz"
DEFAULT_OUT = ROOT / "pipelines" / "models" / "topics.json.gz"

# Corpus labels -> taxonomy ids (crawler/taxonomy.py).
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


def stratified_split(rows: list[dict], test_size: float, seed: int) -> tuple[list[dict], list[dict]]:
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


def build_vocab(docs: list[Counter[str]], min_df: int, max_features: int) -> tuple[list[str], list[float]]:
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    kept = [t for t, n in df.items() if n >= min_df]
    kept.sort(key=lambda t: (-df[t], t))
    kept = kept[:max_features]
    kept.sort()
    n = len(docs)
    idf = [math.log((1 + n) / (1 + df[t])) + 1.0 for t in kept]
    return kept, idf


def matrix(docs: list[Counter[str]], vocab: list[str], idf: list[float]) -> sparse.csr_matrix:
    """Same weighting as `TopicModel.predict`: (1 + log tf) * idf, rows L2-normalised."""
    index = {t: i for i, t in enumerate(vocab)}
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for d in docs:
        row = [(index[t], (1.0 + math.log(c)) * idf[index[t]]) for t, c in d.items() if t in index]
        norm = math.sqrt(sum(v * v for _, v in row)) or 1.0
        for j, v in sorted(row):
            indices.append(j)
            data.append(v / norm)
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=(len(docs), len(vocab)))


def train_softmax(x: sparse.csr_matrix, y: np.ndarray, k: int, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, L2 on the weights (not the bias), fitted by L-BFGS."""
    n, d = x.shape
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * k].reshape(d, k)
        b = theta[d * k :]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        loss = -(onehot * logp).sum() / n + 0.5 * l2 * (w * w).sum()
        g = (p - onehot) / n
        gw = x.T @ g + l2 * w
        gb = g.sum(axis=0)
        return loss, np.concatenate([np.asarray(gw).ravel(), gb])

    theta0 = np.zeros(d * k + k)
    res = minimize(loss_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    w = res.x[: d * k].reshape(d, k)
    return w, res.x[d * k :]


def write_model(path: Path, classes: list[str], vocab: list[str], idf: list[float], w: np.ndarray,
                b: np.ndarray, meta: dict) -> None:
    model = {
        "format": MODEL_FORMAT,
        "classes": classes,
        "vocab": vocab,
        # Four decimals keep predictions identical in practice and the file small.
        "idf": [round(v, 4) for v in idf],
        "weights": [round(float(v), 4) for v in w.ravel()],
        "bias": [round(float(v), 4) for v in b],
        "meta": meta,
    }
    raw = json.dumps(model, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    buf = io.BytesIO()
    # mtime=0: the same corpus and options give a byte-identical file.
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def evaluate(model: TopicModel, rows: list[dict]) -> dict:
    classes = list(model.classes)
    confusion = {t: Counter() for t in classes}
    preds = []
    for r in rows:
        p = model.predict(r["title"], r["body"])
        confusion[r["topic"]][p.topic] += 1
        preds.append((r["topic"], p.topic, p.confidence))
    correct = sum(1 for t, p, _ in preds if t == p)
    f1s = []
    for c in classes:
        tp = confusion[c][c]
        fp = sum(confusion[o][c] for o in classes if o != c)
        fn = sum(confusion[c][o] for o in classes if o != c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {
        "n": len(rows),
        "accuracy": correct / len(rows) if rows else 0.0,
        "macro_f1": sum(f1s) / len(f1s),
        "f1": dict(zip(classes, f1s)),
        "confusion": confusion,
        "preds": preds,
    }


def fit_predict(train: list[dict], test: list[dict], classes: list[str], args: argparse.Namespace) -> float:
    docs = [featurize(r["title"], r["body"]) for r in train]
    vocab, idf = build_vocab(docs, args.min_df, args.max_features)
    w, b = train_softmax(matrix(docs, vocab, idf), np.array([classes.index(r["topic"]) for r in train]),
                         len(classes), args.l2)
    x = matrix([featurize(r["title"], r["body"]) for r in test], vocab, idf)
    y = np.array([classes.index(r["topic"]) for r in test])
    return float(((x @ w + b).argmax(axis=1) == y).mean())


def cross_validate(rows: list[dict], classes: list[str], args: argparse.Namespace) -> None:
    """Stratified k-fold accuracy: how much the single held-out figure may move with the split."""
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_topic[r["topic"]].append(r)
    rng = random.Random(args.seed)
    fold_of: dict[str, int] = {}
    for topic in sorted(by_topic):
        group = sorted(by_topic[topic], key=lambda r: r["id"])
        rng.shuffle(group)
        for i, r in enumerate(group):
            fold_of[r["id"]] = i % args.folds
    accs = []
    for k in range(args.folds):
        acc = fit_predict([r for r in rows if fold_of[r["id"]] != k], [r for r in rows if fold_of[r["id"]] == k],
                          classes, args)
        accs.append(acc)
        print(f"fold {k + 1}/{args.folds}: accuracy {acc:.4f}", flush=True)
    mean = sum(accs) / len(accs)
    sd = math.sqrt(sum((a - mean) ** 2 for a in accs) / (len(accs) - 1))
    print(f"{args.folds}-fold cross-validation: accuracy {mean:.4f} ± {sd:.4f} (min {min(accs):.4f}, max {max(accs):.4f})")


def print_report(name: str, ev: dict, classes: list[str]) -> None:
    print(f"\n== {name}: {ev['n']} articles ==")
    print(f"accuracy  {ev['accuracy']:.4f}")
    print(f"macro-F1  {ev['macro_f1']:.4f}")
    print("F1 per topic: " + ", ".join(f"{c} {ev['f1'][c]:.3f}" for c in classes))
    width = max(len(c) for c in classes) + 1
    print("confusion (rows: true topic, columns: predicted)")
    print(" " * width + "".join(f"{c[:9]:>10}" for c in classes))
    for t in classes:
        print(f"{t:<{width}}" + "".join(f"{ev['confusion'][t][p]:>10}" for p in classes))


def print_thresholds(ev: dict) -> None:
    print("\nconfidence threshold: share of articles kept / accuracy on those kept")
    for th in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        kept = [(t, p) for t, p, c in ev["preds"] if c >= th]
        acc = sum(1 for t, p in kept if t == p) / len(kept) if kept else float("nan")
        print(f"  >= {th:.1f}: kept {len(kept) / ev['n']:6.1%}  accuracy {acc:.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="hespress_stories.jsonl.gz")
    ap.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE,
                    help="bundled snapshot sample whose ids are kept out of training (skipped if absent)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model file to write")
    ap.add_argument("--seed", type=int, default=20200705)
    ap.add_argument("--test-size", type=float, default=0.2)
    ap.add_argument("--min-df", type=int, default=3, help="a feature must occur in this many training articles")
    ap.add_argument("--max-features", type=int, default=30000, help="most frequent features kept")
    ap.add_argument("--l2", type=float, default=1e-4, help="L2 penalty on the weights")
    ap.add_argument("--dry-run", action="store_true", help="evaluate without writing the model")
    ap.add_argument("--folds", type=int, default=0,
                    help="also report stratified k-fold cross-validation accuracy (spread of the estimate)")
    args = ap.parse_args(argv)

    if not args.corpus.exists():
        ap.error(f"corpus not found: {args.corpus} (use --corpus PATH)")
    rows = []
    for r in read_jsonl_gz(args.corpus):
        topic = CATEGORY_TO_TOPIC.get(r.get("category", ""))
        if topic is None:
            print(f"skipping {r.get('id')}: unknown category {r.get('category')!r}", file=sys.stderr)
            continue
        rows.append({"id": r["id"], "title": r.get("title") or "", "body": r.get("body") or "", "topic": topic})

    sample_rows: list[dict] = []
    if args.sample.exists():
        sample = read_jsonl_gz(args.sample)
        # Sample records carry their corpus article as `corpus_id` (their `id` is the
        # emulated site's post id); several sites may republish one corpus article.
        sample_ids = {s.get("corpus_id") or s.get("id") for s in sample}
        sample_rows = [r for r in rows if r["id"] in sample_ids]
        rows = [r for r in rows if r["id"] not in sample_ids]
        print(f"sample {args.sample}: {len(sample_rows)} corpus articles kept out of training")
    else:
        print(f"no sample at {args.sample}: nothing excluded beyond the held-out split")

    train, test = stratified_split(rows, args.test_size, args.seed)
    classes = sorted({r["topic"] for r in rows})
    print(f"corpus {args.corpus}: {len(rows)} articles; train {len(train)}, held out {len(test)}; topics {classes}")

    train_docs = [featurize(r["title"], r["body"]) for r in train]
    vocab, idf = build_vocab(train_docs, args.min_df, args.max_features)
    x = matrix(train_docs, vocab, idf)
    y = np.array([classes.index(r["topic"]) for r in train])
    w, b = train_softmax(x, y, len(classes), args.l2)
    print(f"features {len(vocab)}")

    meta = {
        "corpus": "hespress_stories (Kaggle 'Hespress', 6 categories)",
        "train": len(train),
        "held_out": len(test),
        "seed": args.seed,
        "min_df": args.min_df,
        "max_features": args.max_features,
        "l2": args.l2,
        # Lets the test suite check that its accuracy gate still runs on unseen articles.
        "excluded_ids": sorted(r["id"] for r in sample_rows),
    }
    out = args.out if not args.dry_run else Path(tempfile.gettempdir()) / "topics-dry-run.json.gz"
    write_model(out, classes, vocab, idf, w, b, meta)
    model = TopicModel.load(out)  # evaluate what ships, rounding included
    ev = evaluate(model, test)
    print_report("held-out split", ev, classes)
    print_thresholds(ev)
    if sample_rows:
        print_report("snapshot sample (never trained on)", evaluate(model, sample_rows), classes)
    if args.folds > 1:
        cross_validate(rows, classes, args)
    meta.update({"held_out_accuracy": round(ev["accuracy"], 4), "held_out_macro_f1": round(ev["macro_f1"], 4)})
    write_model(out, classes, vocab, idf, w, b, meta)
    print(f"\nwrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

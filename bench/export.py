"""`akhbar export` at archive scale: peak memory and rate at two sizes (issue 18).

The archives are `bench.archive`'s bulk-loaded SQLite archives (the rows `upsert_article`
writes, resampled from the corpus; shared with it through ``--cache``), since importing a
million articles first would take most of an hour and measure the import, not the export.
Each export runs in its own process, to /dev/null, sampled for peak RSS and CPU; its
baseline is a bare export of the same archive in the same minutes: the same query streamed
through ``sqlite3`` and one ``json.dumps`` of every column a row, no project code.

Constant memory means the peak at the large size stays within 1.1x the peak at the small
one.

    python -m bench.export                      # 10,000 and 1,000,000 articles
    python -m bench.export --quick              # 1,000 and 10,000 (CI: catches breakage)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bench.archive import DEFAULT_CORPUS
from bench.common import result

ROOT = Path(__file__).resolve().parents[1]

BARE_EXPORT = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
cur = conn.execute("SELECT * FROM articles ORDER BY id")
cols = [d[0] for d in cur.description]
out = open("/dev/null", "w", encoding="utf-8")
n = 0
while rows := cur.fetchmany(500):
    for r in rows:
        out.write(json.dumps(dict(zip(cols, r)), ensure_ascii=False))
        out.write("\\n")
        n += 1
print(n)
"""
"""The floor: what any exporter of these rows pays (read, decode, serialise), nothing more."""


def _bench_import() -> Any:
    # `import` is a keyword: the module is reached by name
    return importlib.import_module("bench.import")


def export_once(url: str) -> dict[str, Any]:
    bi = _bench_import()
    return bi.run_measured([sys.executable, "-m", "crawler.cli", "export", "--archive", url], bi.import_env(url))


def bare_once(path: Path) -> dict[str, Any]:
    bi = _bench_import()
    return bi.run_measured([sys.executable, "-c", BARE_EXPORT, str(path)], bi.import_env(f"sqlite:///{path}"))


def ensure_archive(cache: Path, n: int, corpus: list[dict[str, Any]]) -> Path:
    from bench.archive import build

    cache.mkdir(parents=True, exist_ok=True)
    path = (cache / f"archive-{n}.sqlite3").resolve()
    rate = build(f"sqlite:///{path}", n, corpus)
    print(f"  {n:>9,}: {path} {'cached' if rate is None else f'built, {rate:,.0f} rows/s'}", flush=True)
    return path


def count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,1000000", help="two comma-separated archive sizes")
    ap.add_argument("--quick", action="store_true", help="1,000 and 10,000 articles (CI: catches breakage only)")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--cache", type=Path, default=ROOT / "bench" / "out" / "archive",
                    help="where the bulk-loaded archives are kept (shared with bench.archive)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    sizes = [1000, 10000] if args.quick else sorted(int(s) for s in args.sizes.split(","))
    if len(sizes) != 2:
        ap.error("--sizes takes two sizes: the small one is the memory baseline")
    from bench.archive import load_corpus

    corpus = load_corpus(args.corpus)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores at the start", flush=True)
    figures: dict[int, dict[str, Any]] = {}
    for n in sizes:
        path = ensure_archive(args.cache, n, corpus)
        have = count(path)
        e = export_once(f"sqlite:///{path}")
        b = bare_once(path)
        figures[n] = {"articles": have, "export_secs": e["secs"], "export_peak_mb": e["peak_main_mb"],
                      "export_cpu": e["main_cpu"], "bare_secs": b["secs"], "bare_peak_mb": b["peak_main_mb"],
                      "load": os.getloadavg()[0]}
        print(f"  {have:>9,}: akhbar export {have / e['secs']:,.0f} articles/s ({e['secs']:.1f} s, CPU "
              f"{e['main_cpu'] / have * 1e3:.3f} ms an article), peak RSS {e['peak_main_mb']:.0f} MB; bare export "
              f"{have / b['secs']:,.0f}/s, peak RSS {b['peak_main_mb']:.0f} MB; load {os.getloadavg()[0]:.2f}",
              flush=True)
    lo, hi = sizes
    grow = figures[hi]["export_peak_mb"] / figures[lo]["export_peak_mb"]
    print(f"  peak RSS at {hi:,} / at {lo:,}: {grow:.2f}x (bare export "
          f"{figures[hi]['bare_peak_mb'] / figures[lo]['bare_peak_mb']:.2f}x)", flush=True)
    result("export", f"akhbar export peak RSS at {hi:,} articles (SQLite)", round(figures[hi]["export_peak_mb"]),
           "MB", f"the same at {lo:,} articles", round(figures[lo]["export_peak_mb"]), round(grow, 2),
           "<= 1.1x (constant memory)", grow <= 1.1)
    rate = figures[hi]["articles"] / figures[hi]["export_secs"]
    bare = figures[hi]["articles"] / figures[hi]["bare_secs"]
    result("export", f"akhbar export rate at {hi:,} articles (SQLite)", round(rate), "articles/s",
           "bare sqlite3 + json.dumps export of the same rows", round(bare), round(rate / bare, 2), "—", None)
    if args.json:
        args.json.write_text(json.dumps({str(k): v for k, v in figures.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())


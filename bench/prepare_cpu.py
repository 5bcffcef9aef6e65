"""CPU time of an import worker's work on one article (`crawler.import_batch.Preparer.one`):
parse, the pipelines before the archive, the storage derivations, the fingerprint.

    .venv/bin/python -m bench.prepare_cpu [--file F.jsonl] [--n 2000] [--warm 1000]
                                          [--repeat 3] [--split] [--profile]

Articles: the synthetic JSON lines of `bench.import` (made here when `--file` is absent:
``bench/out/import/articles-3000.jsonl``). The first `--warm` lines warm the process
(tables, word caches: a worker of a long import runs warm), the next `--n` are timed by
this process's CPU time, the best of `--repeat` passes. `--split` times each part
separately (parse, each pipeline, `bulk.prepare` with its search text, the fingerprint);
`--profile` prints a cProfile of the timed lines.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import OUT

DEFAULT_CORPUS = Path("/work/shared/corpus")


def _preparer(data_dir: str) -> Any:
    from crawler.dedup.fingerprint import DedupParams
    from crawler.import_batch import Preparer, project_settings

    return Preparer(project_settings(Path(data_dir), {}), DedupParams())


def _split(prep: Any, lines: list[str]) -> dict[str, float]:
    """Seconds of CPU per part over `lines` (each part timed around its own calls)."""
    from crawler.archive.bulk import prepare, record
    from crawler.archive.records import search_text
    from crawler.import_batch import Line, parse_line

    clock = time.process_time
    parts: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t = clock()
        out = fn(*args, **kwargs)
        parts[name] = parts.get(name, 0.0) + clock() - t
        return out

    names = [getattr(p, "__self__", p).__class__.__name__ for p in prep.pipes]
    fingerprint = prep.fingerprinter.fingerprint
    for text in lines:
        item = timed("parse", parse_line, Line(0, 0, text))
        for name, process in zip(names, prep.pipes):
            item = timed(name, process, item)
        p = timed("bulk.prepare (all)", prepare, item, sqlite=prep.sqlite)
        timed("  of which search_text", search_text, record(item))
        r = p.rec
        timed("fingerprint", fingerprint, title=r.get("title"), body=r.get("body_text"), summary=r.get("summary"))
    return parts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", type=Path)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--warm", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    path = args.file
    if path is None:
        path = OUT / "import" / "articles-3000.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        importlib.import_module("bench.import").make_file(path, 3000, DEFAULT_CORPUS)
    with path.open(encoding="utf-8") as f:
        lines = [line for line, _ in zip(f, range(args.warm + args.n))]
    warm, timed = lines[: args.warm], lines[args.warm :]
    with tempfile.TemporaryDirectory() as tmp:
        prep = _preparer(tmp)
        for text in warm:
            prep.one(text)
        best = float("inf")
        for _ in range(args.repeat):
            t = time.process_time()
            for text in timed:
                prep.one(text)
            best = min(best, time.process_time() - t)
        print(f"Preparer.one: {best / len(timed) * 1e6:,.0f} µs CPU an article "
              f"(best of {args.repeat}, {len(timed):,} articles, {len(warm):,} warm-up)")
        if args.split:
            parts = _split(prep, timed)
            for name, secs in parts.items():
                print(f"  {name:28s} {secs / len(timed) * 1e6:7,.0f} µs")
        if args.profile:
            pr = cProfile.Profile(time.process_time)
            pr.enable()
            for text in timed:
                prep.one(text)
            pr.disable()
            pstats.Stats(pr).sort_stats("tottime").print_stats(35)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

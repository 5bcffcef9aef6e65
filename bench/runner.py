"""`bench/run`: every benchmark (or the named ones), quick or full, one summary table.

    bench/run [--quick | --full] [NAME ...]        # NAME: crawl memory profile dates ...
    bench/run --list

Each benchmark runs as its own process (``python -m bench.<name> <mode arguments>``), its
report streamed as it goes; its ``BENCH-RESULT`` lines (see bench/common.py) are gathered
into one table printed at the end — figure, baseline measured in the same run, ratio,
target — and written with the machine's description to ``bench/out/summary-<mode>.json``.

Exit status: 1 when a benchmark is *broken* (it crashed, timed out or printed no result),
0 otherwise. Missed targets are reported, never a failure: timings on a shared machine
judge nothing, and CI runs ``--quick`` to catch breakage only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import OUT, PREFIX, ROOT, env_with

# name -> (quick arguments, full arguments, timeout in seconds for quick, for full)
BENCHES: dict[str, tuple[list[str], list[str], int, int]] = {
    "crawl": (["--quick"], [], 240, 3600),
    "memory": (["--quick"], [], 240, 4 * 3600),
    "profile": (["--quick"], [], 180, 1800),
    "dates": (["--repeat", "1"], [], 180, 1800),
    "topics": (["--repeat", "1"], [], 120, 600),
    "extract": (["--rounds", "1"], [], 120, 600),
    "snapshot": (["--requests", "200"], [], 120, 600),
    "archive": (["--sizes", "5000", "--reps", "1", "--inserts", "1000"], ["--sizes", "100000,1000000"], 300, 4 * 3600),
    # quick: no labelled-pairs pass (~70 s; tests/test_dedup*.py guard the quality)
    "dedup": (["--sizes", "2000", "--baseline-max", "2000", "--skip-quality"], ["--sizes", "10000,1000000", "--baseline-max", "10000"],
              300, 6 * 3600),
    "feeds": (["--sizes", "10000"], ["--sizes", "100000,1000000"], 300, 4 * 3600),
    "story": (["--quick"], [], 120, 600),
    "serve": (["--quick"], [], 120, 900),
    "import": (["--quick"], ["--sizes", "100000,1000000"], 300, 6 * 3600),
    "export": (["--quick"], ["--sizes", "10000,1000000"], 180, 3 * 3600),
}


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"cores": os.cpu_count(), "memory_gib": round(mem_gib, 1), "cpu": cpu, "python": platform.python_version(),
            "load_avg": [round(x, 2) for x in os.getloadavg()], "commit": commit}


def run_one(name: str, args: list[str], timeout: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", f"bench.{name}", *args]
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env_with())
    rows: list[dict[str, Any]] = []
    tail: list[str] = []
    traceback = False
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    timed_out = False
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        tail = (tail + [line])[-30:]
        traceback |= line.startswith("Traceback (most recent call last)")
        if line.startswith(PREFIX):
            rows.append(json.loads(line[len(PREFIX):]))
        if time.monotonic() > deadline:
            timed_out = True
            proc.kill()
            break
    rc = proc.wait()
    seconds = time.perf_counter() - t
    problem = None
    if timed_out:
        problem = f"timed out after {timeout}s"
    elif traceback:
        problem = f"crashed (exit {rc})"
    elif rc not in (0, 1):
        problem = f"exit {rc}"
    elif not rows:
        problem = "printed no result"
    return {"name": name, "command": " ".join(["python", "-m", f"bench.{name}", *args]), "seconds": round(seconds, 1),
            "exit": rc, "broken": problem, "results": rows, "tail": "".join(tail) if problem else ""}


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 10 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(runs: list[dict[str, Any]]) -> str:
    head = ("bench", "figure", "value", "baseline (same run)", "ratio", "target", "met")
    lines = []
    for r in runs:
        if r["broken"]:
            lines.append((r["name"], f"BROKEN: {r['broken']}", "", "", "", "", ""))
        for row in r["results"]:
            base = f"{row['baseline']}: {fmt(row['baseline_value'])}" if row.get("baseline") else ""
            met = {True: "yes", False: "no", None: ""}[row.get("met")]
            lines.append((row["bench"], row["figure"], f"{fmt(row['value'])} {row['unit']}", base,
                           f"{fmt(row['ratio'])}x" if row.get("ratio") is not None else "", row.get("target") or "", met))
    widths = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    out = [" | ".join(str(c).ljust(w) for c, w in zip(head, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a few minutes in all: small sizes (CI)")
    mode.add_argument("--full", action="store_true", help="the sizes the README reports (default)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and their arguments")
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(BENCHES)}")
    args = ap.parse_args(argv)
    quick = args.quick
    if args.list:
        for name, (q, f, _, _) in BENCHES.items():
            print(f"{name:9} quick: python -m bench.{name} {' '.join(q)}\n{'':9} full:  python -m bench.{name} {' '.join(f)}")
        return 0
    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    names = args.names or list(BENCHES)
    label = "quick" if quick else "full"
    info = machine()
    print(f"bench/run --{label}: {', '.join(names)} on {info['cores']} cores, {info['memory_gib']} GiB, {info['cpu']}", flush=True)
    t = time.perf_counter()
    runs = []
    for name in names:
        q, f, tq, tf = BENCHES[name]
        runs.append(run_one(name, q if quick else f, tq if quick else tf))
    info["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    total = time.perf_counter() - t
    print(f"\n=== summary (--{label}, {total:.0f}s; {info['cores']} cores, {info['memory_gib']} GiB; "
          f"load {info['load_avg'][0]} -> {info['load_avg_end'][0]}; commit {info['commit']})")
    print(table(runs))
    broken = [r for r in runs if r["broken"]]
    for r in broken:
        print(f"\n--- {r['name']} is broken ({r['broken']}); last lines:\n{r['tail']}", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {"mode": label, "when": datetime.now(UTC).isoformat(timespec="seconds"), "seconds": round(total),
               "machine": info, "runs": runs}
    out = OUT / f"summary-{label}.json"
    out.write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"written: {out.relative_to(ROOT)}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())

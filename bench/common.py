"""What the benchmarks share: the result line `bench/run` collects, the snapshot server
process, RSS readings.

Every benchmark prints, besides its own report, one line per headline figure::

    BENCH-RESULT {"bench": "crawl", "figure": "...", "value": 1234.0, "unit": "pages/min",
                  "baseline": "scrapy bench", "baseline_value": 2000.0, "ratio": 0.62,
                  "target": ">= 0.6x", "met": true}

`bench/run` gathers these into one table; a benchmark that printed none is broken.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PREFIX = "BENCH-RESULT "


def result(bench: str, figure: str, value: float, unit: str, baseline: str, baseline_value: float | None,
           ratio: float | None, target: str = "", met: bool | None = None, **extra: Any) -> dict[str, Any]:
    """Print one result line for `bench/run` (and return it)."""
    row = {"bench": bench, "figure": figure, "value": value, "unit": unit, "baseline": baseline,
           "baseline_value": baseline_value, "ratio": ratio, "target": target, "met": met, **extra}
    print(PREFIX + json.dumps(row, ensure_ascii=False), flush=True)
    return row


def rss_kib(pid: int | str = "self") -> tuple[int, int]:
    """(current RSS, peak RSS) of a process, KiB, from /proc."""
    cur = peak = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return cur, peak


@dataclass
class ServerProcess:
    """`bench.site_server` in a child process: the enlarged snapshot on its own core."""

    articles: int
    corpus: Path | None = None
    urls_file: Path | None = None
    cache: int = 5000
    latency_ms: float = 0.0
    proc: subprocess.Popen[str] | None = None
    base_urls: dict[str, str] = field(default_factory=dict)
    served: int = 0
    start_seconds: float = 0.0

    def __enter__(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "bench.site_server", "--articles", str(self.articles), "--cache", str(self.cache)]
        if self.corpus is not None:
            cmd += ["--corpus", str(self.corpus)]
        if self.urls_file is not None:
            cmd += ["--urls", str(self.urls_file)]
        if self.latency_ms:
            cmd += ["--latency-ms", str(self.latency_ms)]
        t = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"bench.site_server exited with {self.proc.returncode} before listening")
        info = json.loads(line)
        self.base_urls, self.served = info["base_urls"], info["articles"]
        self.start_seconds = time.perf_counter() - t
        return self

    def urls(self) -> list[str]:
        assert self.urls_file is not None
        return self.urls_file.read_text(encoding="utf-8").split()

    def site_urls(self) -> list[tuple[str, str]]:
        """(site, url) of every article."""
        by_netloc = {u.split("//", 1)[1]: s for s, u in self.base_urls.items()}
        return [(by_netloc[u.split("//", 1)[1].split("/", 1)[0]], u) for u in self.urls()]

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # the server stops when its stdin closes
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def bench_sources(base_urls: dict[str, str], target: Path, max_pages: int = 100000) -> Path:
    """The bundled sources file with the snapshot's base URLs and paging uncapped (the
    bundled `max_pages` = 20 pages of 100 would stop discovery at 2,000 articles a site)."""
    from crawler.config import BUNDLED_SOURCES

    out: list[str] = []
    current = None
    for line in BUNDLED_SOURCES.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("[sources.") and stripped.endswith("]") and stripped.count(".") == 1:
            current = stripped[len("[sources."):-1]
        elif stripped.startswith("["):
            current = current if stripped.startswith(f"[sources.{current}.") else None
        if stripped.startswith("max_pages"):
            line = f"max_pages = {max_pages}"
        elif stripped.startswith("base_url") and current in base_urls:
            line = f'base_url = "{base_urls[current]}"'
        out.append(line)
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def spread(urls: list[Any], n: int) -> list[Any]:
    """`n` URLs taken evenly over the list (the five sites are in blocks)."""
    if n >= len(urls):
        return list(urls)
    step = len(urls) / n
    return [urls[int(i * step)] for i in range(n)]

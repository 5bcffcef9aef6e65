"""The offline snapshot, enlarged, served from a process of its own (benchmarks' server).

    .venv/bin/python -m bench.site_server --articles 20000 [--corpus PATH] [--urls FILE] [--cache 5000] [--latency-ms 0]

Prints one JSON line when listening (``{"base_urls": {...}, "articles": N, "pid": P}``),
writes every article URL to ``--urls`` (one a line) when asked, and serves until
SIGTERM/SIGINT or until its stdin closes (so it never outlives the benchmark that started
it). Running it apart from the crawler gives each its own core on a 2-core machine, and
keeps the server's CPU and memory out of the crawler's figures.

Rendered pages are kept in a bounded LRU cache (``--cache`` pages per site) instead of the
server's unbounded one: a 100,000-article run would otherwise hold every page it served.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from crawler.snapshot import SnapshotServer, catalog
from crawler.snapshot.sites import FIVE_SITES

DEFAULT_CORPUS = Path("/work/shared/corpus")


class LruCache:
    """The two operations SiteApp's page cache uses (get, set), bounded; thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            value = self._data.get(key, default)
            if key in self._data:
                self._data.move_to_end(key)
            return value

    def __setitem__(self, key: str, value: str) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.limit:
                self._data.popitem(last=False)


def start(articles: int, corpus: Path | None, cache: int, latency_ms: float = 0.0) -> SnapshotServer:
    catalog.enlarge(articles, corpus if corpus and corpus.exists() else None)
    srv = SnapshotServer(sites=list(FIVE_SITES)).start()
    for app in srv._apps.values():  # noqa: SLF001 (the benchmark's own server process)
        app._cache = LruCache(cache)  # type: ignore[assignment]  # noqa: SLF001
        if latency_ms > 0:
            app.handle = _delayed(app.handle, latency_ms / 1000)  # type: ignore[method-assign]
    return srv


def _delayed(handle: Any, seconds: float) -> Any:
    """A site's answers after `seconds`, like a real site's time to first byte; the
    server's threads sleep, so concurrent clients wait in parallel."""

    def wrapped(raw_path: str) -> Any:
        time.sleep(seconds)
        return handle(raw_path)

    return wrapped


def article_urls(srv: SnapshotServer) -> list[str]:
    return [app.cat.url(p.path) for app in srv._apps.values() for p in app.cat.posts]  # noqa: SLF001


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=20000)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus for variant texts (else the bundled sample)")
    ap.add_argument("--urls", type=Path, default=None, help="write every article URL here")
    ap.add_argument("--cache", type=int, default=5000, help="rendered pages kept per site")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="delay before every answer (a real site's TTFB)")
    args = ap.parse_args(argv)
    srv = start(args.articles, args.corpus, args.cache, args.latency_ms)
    urls = article_urls(srv)
    if args.urls:
        args.urls.write_text("".join(u + "\n" for u in urls), encoding="utf-8")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin() -> None:
        try:
            sys.stdin.read()
        finally:
            stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"base_urls": srv.base_urls, "articles": len(urls), "pid": os.getpid()}), flush=True)
    stop.wait()
    srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

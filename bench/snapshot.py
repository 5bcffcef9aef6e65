"""Snapshot server speed: startup time and pages per second.

    .venv/bin/python -m bench.snapshot [--requests 400]

Baseline, measured in the same run: the stdlib static file server
(``SimpleHTTPRequestHandler``, HTTP/1.1 keep-alive, TCP_NODELAY) serving a page of the same size
from disk, i.e. the cheapest thing an HTTP server on this machine can do.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import socket
import statistics
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import result
from crawler.snapshot import SnapshotServer


def fetch_all(base: str, paths: list[str]) -> float:
    """Requests/second over one keep-alive connection."""
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    start = time.perf_counter()
    for p in paths:
        conn.request("GET", p)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200 and body, (p, resp.status)
    elapsed = time.perf_counter() - start
    conn.close()
    return len(paths) / elapsed


class _Static(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the snapshot does

    def log_message(self, *args: object) -> None:
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=400)
    args = ap.parse_args()

    starts = []
    for _ in range(5):
        t = time.perf_counter()
        srv = SnapshotServer().start()
        starts.append(time.perf_counter() - t)
        srv.stop()
    print(f"startup (5 sites): median {statistics.median(starts) * 1000:.0f} ms over 5 starts")
    base_starts = []
    for _ in range(5):
        t = time.perf_counter()
        idle = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
        threading.Thread(target=idle.serve_forever, daemon=True).start()
        base_starts.append(time.perf_counter() - t)
        idle.shutdown()
        idle.server_close()
    startup, base_startup = statistics.median(starts), statistics.median(base_starts)
    # Tests start a snapshot per module: a slow start would be paid dozens of times a run.
    result("snapshot", "snapshot server startup, 5 sites (median of 5)", round(startup * 1000, 1), "ms",
           "stdlib static file server startup", round(base_startup * 1000, 2),
           round(startup / base_startup, 1) if base_startup else None, target="< 1000 ms", met=startup < 1.0)

    with SnapshotServer(sites=["hespress"]) as snap:
        arts = snap.articles("hespress")
        paths = [urlsplit(a["url"]).path for a in arts]
        reqs = [paths[i % len(paths)] for i in range(args.requests)]
        cold = fetch_all(snap.base_urls["hespress"], paths)  # first hit renders each page
        warm = fetch_all(snap.base_urls["hespress"], reqs)
        mixed = fetch_all(snap.base_urls["hespress"], ["/wp-json/wp/v2/posts?per_page=100&_embed", "/feed/"] * 10)
        size = len(http_get(arts[0]["url"]))

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "page.html").write_bytes(b"x" * size)
        base_srv = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Static, directory=tmp))
        threading.Thread(target=base_srv.serve_forever, daemon=True).start()
        baseline = fetch_all(f"http://127.0.0.1:{base_srv.server_address[1]}", ["/page.html"] * args.requests)
        base_srv.shutdown()
        base_srv.server_close()

    print(f"article pages, first render: {cold:,.0f} req/s ({len(paths)} pages)")
    print(f"article pages, cached:       {warm:,.0f} req/s ({args.requests} requests, {size:,} B each)")
    print(f"REST 100 posts + RSS 20:     {mixed:,.0f} req/s")
    print(f"baseline static file server: {baseline:,.0f} req/s")
    print(f"ratio cached/baseline: {warm / baseline:.2f}x")
    result("snapshot", "snapshot server, cached article pages, 1 connection", round(warm), "req/s",
           "stdlib static file server", round(baseline), round(warm / baseline, 2))
    return 0


def http_get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read()


if __name__ == "__main__":
    raise SystemExit(main())

"""Load benchmark of the web app under its server (`akhbar serve`), against a bare ASGI app
under the same server in the same run.

    .venv/bin/python -m bench.serve [--quick] [--stories 5000] [--seconds 20] [--concurrency 16]
                                    [--slow 200] [--paths FILE]

A SQLite archive is filled with sample stories and its feeds published; then, one after
the other, the real app (`feeds.web.server.build_app`, the one `akhbar serve` runs) and a
bare ASGI app (a fixed 13-byte body for every request) are served by `WebServer` with the
same limits, each in a process of its own (one core for the server, one for the load). The
load generator (asyncio over raw sockets, on uvloop, kept light: no HTTP library) keeps
``--concurrency`` keep-alive connections busy with a mix of conditional feed GETs
(``If-None-Match`` → 304), full feed GETs (gzip), API searches and pages, while ``--slow``
slowloris connections send a header line every 2 s beside them (reconnecting whenever the
server cuts them at its header deadline).

Reported per server: requests/s, p50 and p99 latency, per request class too; requests
answered 503 (refused under ``limit_concurrency``) and requests *unanswered* (no status
line within 30 s, or the connection dropped mid-request). Targets: the app at ≥ 0.5× the
bare app's requests/s, p99 ≤ 10× the bare app's p99, no request unanswered.

The URL set is what the app serves: every candidate is fetched once first and classes
whose URLs all fail (404 before the web layer fills in) are left out and named. ``--paths
FILE`` replaces the candidates: one ``CLASS PATH`` a line (CLASS ``feed-304`` makes the
request conditional on the ETag of a first GET).

Run as ``--server app|bare`` it is the server process itself (internal).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from bench.common import ROOT, env_with, result

BENCH = "serve"
REQUEST_TIMEOUT = 30.0
SLOW_LINE_EVERY = 2.0
BARE_BODY = b"hello, world\n"

SEARCH_WORDS = ["الحكومة", "البرلمان", "الرباط", "الاقتصاد", "المنتخب", "وزارة الصحة", "التعليم", "الأمطار"]
FEEDS = ["/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json", "/feeds/source-hespress.rss", "/feeds/source-le12.atom", "/feeds.opml"]


def default_candidates() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    out += [("feed-304", p) for p in FEEDS]
    out += [("feed-full", p) for p in FEEDS]
    out += [("api-search", f"/api/articles?q={quote(w)}&limit=20") for w in SEARCH_WORDS]
    out += [("page", p) for p in ["/", "/feeds/", *(f"/search?q={quote(w)}" for w in SEARCH_WORDS[:4])]]
    out += [("api-doc", "/api/openapi.json")]
    return out


# --- the server processes ------------------------------------------------------------
async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(BARE_BODY)).encode())]})
    await send({"type": "http.response.body", "body": BARE_BODY})


def serve_main(kind: str, data: Path, archive: str) -> int:
    """The server process: print one JSON line when listening, serve until SIGTERM/SIGINT
    or until stdin closes (so it never outlives the benchmark)."""
    from feeds.web.context import WebContext
    from feeds.web.server import WebServer, app_factory

    if kind == "app":
        server = WebServer(app_factory(WebContext(data, archive)), factory=True)
    else:
        server = WebServer(bare_app)

    def watch_stdin() -> None:
        try:
            sys.stdin.read()
        finally:
            server.shutdown()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"url": server.url, "pid": os.getpid()}), flush=True)
    server.serve_forever()
    return 0


class ServerProcess:
    def __init__(self, kind: str, data: Path, archive: str) -> None:
        cmd = [sys.executable, "-m", "bench.serve", "--server", kind, "--data", str(data), "--archive", archive]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env_with())
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"bench.serve --server {kind} exited with {self.proc.returncode} before listening")
        info = json.loads(line)
        parts = urlsplit(info["url"])
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


# --- the load generator ----------------------------------------------------------------
@dataclass(frozen=True)
class Req:
    cls: str
    raw: bytes
    nonce: bool = False
    """Each request carries a distinct ``nocache`` parameter (``NONCE`` in `raw`): no
    answer kept by the app applies, every one runs its search."""


NONCE = b"NONCE"
UNCACHED = "/uncached"
_sent = itertools.count()


def uncached(reqs: list[Req]) -> list[Req]:
    """`reqs` with every search (API and page) made distinct per request, so the app's
    kept answers are defeated and the real search cost shows."""
    out = []
    for r in reqs:
        path = r.raw.split(b" ", 2)[1]
        if path.startswith((b"/api/articles?", b"/search?")):
            raw = r.raw.replace(path, path + b"&nocache=" + NONCE, 1)
            out.append(Req(r.cls + UNCACHED, raw, nonce=True))
        else:
            out.append(r)
    return out


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    unanswered: int = 0
    slow_cut: int = 0
    slow_open: int = 0


def raw_request(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: bench", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    """One response off a kept-alive connection: (status, headers), its body consumed."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if status in (204, 304) or status < 200:
        return status, headers
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            await reader.readexactly(size + 2)
    elif b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    else:
        await reader.read()
    return status, headers


async def fetch_once(host: str, port: int, raw: bytes) -> tuple[int, dict[bytes, bytes]]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        return await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT)
    finally:
        writer.close()


async def prime(host: str, port: int, candidates: list[tuple[str, str]]) -> tuple[list[Req], dict[str, str]]:
    """The requests the load will issue: candidates the app answers, conditional ones with
    the ETag it sent; and, per left-out class, why."""
    reqs: list[Req] = []
    failed: dict[str, list[str]] = defaultdict(list)
    for cls, path in candidates:
        headers = {"Accept-Encoding": "gzip"} if cls.startswith("feed") else {}
        status, got = await fetch_once(host, port, raw_request(path, headers))
        if status != 200:
            failed[cls].append(f"{path[:40]} {status}")
            continue
        if cls == "feed-304":
            etag = got.get(b"etag")
            if not etag:
                failed[cls].append(f"{path} no ETag")
                continue
            headers["If-None-Match"] = etag.decode("latin-1")
        reqs.append(Req(cls, raw_request(path, headers)))
    kept = {r.cls for r in reqs}
    return reqs, {cls: ", ".join(why[:3]) for cls, why in failed.items() if cls not in kept}


async def worker(host: str, port: int, reqs: list[Req], offset: int, stop_at: float, tally: Tally,
                 measure_from: float) -> None:
    i = offset
    reader = writer = None
    while time.perf_counter() < stop_at:
        req = reqs[i % len(reqs)]
        i += 1
        t = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            writer.write(req.raw.replace(NONCE, str(next(_sent)).encode(), 1) if req.nonce else req.raw)
            status, headers = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            if t >= measure_from:
                tally.unanswered += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        done = time.perf_counter()
        if t >= measure_from and done <= stop_at:
            tally.latencies[req.cls].append(done - t)
            tally.statuses[req.cls][status] += 1
        if headers.get(b"connection", b"").lower() == b"close":
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def slowloris(host: str, port: int, stop_at: float, tally: Tally) -> None:
    """One connection that never finishes its headers: a line every SLOW_LINE_EVERY
    seconds; reopened when the server cuts it."""
    while time.perf_counter() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        tally.slow_open += 1
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n")
            n = 0
            while time.perf_counter() < stop_at:
                if reader.at_eof() or writer.is_closing():
                    break
                try:
                    await asyncio.wait_for(reader.read(4096), SLOW_LINE_EVERY)
                    tally.slow_cut += 1  # an answer (408) or EOF: cut by the server
                    break
                except TimeoutError:
                    writer.write(f"X-Slow-{n}: x\r\n".encode())
                    n += 1
        except OSError:
            tally.slow_cut += 1
        finally:
            writer.close()


async def run_load(host: str, port: int, reqs: list[Req], seconds: float, warmup: float, concurrency: int,
                   slow: int) -> tuple[Tally, float, float]:
    tally = Tally()
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    slow_tasks = [asyncio.create_task(slowloris(host, port, stop_at, tally)) for _ in range(slow)]
    await asyncio.sleep(min(1.0, warmup))  # the slow connections are in before the load starts
    cpu0 = time.process_time()
    await asyncio.gather(*(worker(host, port, reqs, k * 7, stop_at, tally, measure_from) for k in range(concurrency)))
    cpu = time.process_time() - cpu0
    for task in slow_tasks:
        task.cancel()
    await asyncio.gather(*slow_tasks, return_exceptions=True)
    return tally, seconds, cpu / (stop_at - start - min(1.0, warmup))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass
class Figures:
    rps: float
    p50: float
    p99: float
    answered: int
    refused: int
    unanswered: int
    classes: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per class: (requests/s, p99 ms)."""


def report(name: str, tally: Tally, seconds: float, gen_cpu: float) -> Figures:
    every = [x for v in tally.latencies.values() for x in v]
    refused = sum(s.get(503, 0) for s in tally.statuses.values())
    fig = Figures(len(every) / seconds, pct(every, 0.5), pct(every, 0.99), len(every), refused, tally.unanswered)
    print(f"\n{name}: {fig.rps:,.0f} requests/s, p50 {fig.p50:.2f} ms, p99 {fig.p99:.2f} ms; "
          f"{fig.answered} answered ({refused} of them 503), {fig.unanswered} unanswered; slow connections "
          f"opened {tally.slow_open}, cut by the server {tally.slow_cut}; load generator CPU {gen_cpu:.0%} of a core")
    for cls in sorted(tally.latencies):
        lat = tally.latencies[cls]
        codes = ", ".join(f"{c}×{n}" for c, n in sorted(tally.statuses[cls].items()))
        print(f"  {cls:<20} {len(lat) / seconds:8,.0f}/s  p50 {pct(lat, 0.5):7.2f} ms  p99 {pct(lat, 0.99):7.2f} ms  ({codes})")
        fig.classes[cls] = (len(lat) / seconds, pct(lat, 0.99))
    return fig


def fill(data: Path, stories: int) -> str:
    from crawler.archive import open_archive
    from feeds.query import publish
    from feeds.samples import fill_archive, sample_stories

    url = f"sqlite:///{data / 'archive.sqlite3'}"
    archive = open_archive(url)
    try:
        t = time.perf_counter()
        n = fill_archive(archive, sample_stories(stories))
        publish(data, archive, base_url="http://bench")
        print(f"archive: {n} articles ({stories} stories) filled and published in {time.perf_counter() - t:.1f} s")
    finally:
        archive.close()
    return url


def search_floor(url: str, rounds: int = 5) -> float:
    """Milliseconds a query of the API's searches costs the archive alone (its `search`
    call, one thread, this process): the bound under any uncached search answer."""
    from crawler.archive import open_archive

    archive = open_archive(url)
    try:
        for w in SEARCH_WORDS:  # warm the page cache as the server's first requests do
            archive.search(w, sort="relevance", limit=20)
        t = time.perf_counter()
        for _ in range(rounds):
            for w in SEARCH_WORDS:
                archive.search(w, sort="relevance", limit=20)
        return (time.perf_counter() - t) / (rounds * len(SEARCH_WORDS)) * 1000
    finally:
        archive.close()


def measure(kind: str, data: Path, archive: str, candidates: list[tuple[str, str]], args: argparse.Namespace,
            reqs: list[Req] | None, label: str | None = None) -> tuple[Figures, list[Req]]:
    runner: Callable[..., Any]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # plain asyncio works, at a higher cost per request
        runner = asyncio.run
    server = ServerProcess(kind, data, archive)
    try:
        if reqs is None:
            reqs, left_out = runner(prime(server.host, server.port, candidates))
            for cls, why in left_out.items():
                print(f"left out: {cls} (not served by this app: {why})")
            if not reqs:
                raise SystemExit("bench.serve: the app answered none of the URLs; nothing to measure")
            print("classes: " + ", ".join(f"{c} ×{sum(r.cls == c for r in reqs)}" for c in sorted({r.cls for r in reqs})))
        tally, seconds, cpu = runner(run_load(server.host, server.port, reqs, args.seconds, args.warmup,
                                              args.concurrency, args.slow))
    finally:
        server.stop()
    return report(label or kind, tally, seconds, cpu), reqs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small archive, short runs (< 40 s)")
    ap.add_argument("--stories", type=int, default=None, help="sample stories in the archive (default 5000, quick 1000)")
    ap.add_argument("--seconds", type=float, default=None, help="measured seconds per server (default 20, quick 7)")
    ap.add_argument("--warmup", type=float, default=None, help="seconds of load before measuring (default 2, quick 1)")
    ap.add_argument("--concurrency", type=int, default=16, help="busy keep-alive connections")
    ap.add_argument("--slow", type=int, default=200, help="slowloris connections held open beside them")
    ap.add_argument("--paths", type=Path, default=None, help="file of CLASS PATH lines replacing the default URL set")
    ap.add_argument("--server", choices=["app", "bare"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--archive", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.server:
        return serve_main(args.server, args.data, args.archive)
    args.stories = args.stories or (1000 if args.quick else 5000)
    args.seconds = args.seconds or (7.0 if args.quick else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    candidates = default_candidates()
    if args.paths:
        candidates = [tuple(line.split(None, 1)) for line in args.paths.read_text().splitlines()  # type: ignore[misc]
                      if line.strip() and not line.startswith("#")]
    print(f"load average {os.getloadavg()[0]:.2f}; {args.concurrency} busy connections, {args.slow} slow ones, "
          f"{args.seconds:g} s measured per server after {args.warmup:g} s")
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        data = Path(tmp)
        archive = fill(data, args.stories)
        app, reqs = measure("app", data, archive, candidates, args, None)
        bare, _ = measure("bare", data, archive, candidates, args, reqs)
        # The mix again with every search distinct: what searches cost when no kept answer
        # applies (a new query, or the archive changed since).
        cold_reqs = uncached(reqs)
        cold = None
        if any(r.nonce for r in cold_reqs):
            cold, _ = measure("app", data, archive, candidates, args, cold_reqs,
                              "app, searches uncached (a distinct &nocache=N per request)")
            floor = search_floor(archive)
            print(f"floor: the archive's search alone, one thread, same run: {floor:.2f} ms a query "
                  f"(at most {1000 / floor:,.0f} searches/s a core)")
    print("\nper class, app / bare (same run):")
    for name, fig in (("app", app), ("app, searches uncached", cold)):
        if fig is None:
            continue
        for cls, (rps, p99) in sorted(fig.classes.items()):
            base = bare.classes.get(cls.removesuffix(UNCACHED))
            if base and base[0] and base[1]:
                print(f"  {name:<23} {cls:<20} {rps / base[0]:6.3f}x requests/s  p99 {p99 / base[1]:6.1f}x")
        print(f"  {name:<23} {'whole mix':<20} {fig.rps / bare.rps:6.3f}x requests/s  p99 {fig.p99 / bare.p99:6.1f}x")
    rps_ratio = app.rps / bare.rps if bare.rps else None
    p99_ratio = app.p99 / bare.p99 if bare.p99 else None
    classes = sorted({r.cls for r in reqs})
    result(BENCH, f"app requests/s ({'+'.join(classes)}; {args.concurrency} busy + {args.slow} slow connections)",
           round(app.rps, 1), "requests/s", "bare ASGI app, same server", round(bare.rps, 1),
           round(rps_ratio, 3) if rps_ratio else None, ">= 0.5x", bool(rps_ratio and rps_ratio >= 0.5),
           load_avg=round(os.getloadavg()[0], 2))
    result(BENCH, "app p99 latency", round(app.p99, 2), "ms", "bare ASGI app p99", round(bare.p99, 2),
           round(p99_ratio, 2) if p99_ratio else None, "<= 10x", bool(p99_ratio and p99_ratio <= 10),
           p50=round(app.p50, 2), bare_p50=round(bare.p50, 2))
    if cold is not None:
        cold_ratio = cold.rps / bare.rps if bare.rps else None
        result(BENCH, "app requests/s, every search distinct (kept answers defeated)", round(cold.rps, 1),
               "requests/s", "bare ASGI app, same server", round(bare.rps, 1),
               round(cold_ratio, 3) if cold_ratio else None, ">= 0.5x", bool(cold_ratio and cold_ratio >= 0.5),
               p99=round(cold.p99, 2))
    runs = [app, bare] + ([cold] if cold is not None else [])
    unanswered = sum(f.unanswered for f in runs)
    result(BENCH, "requests unanswered (every run)", unanswered, "requests", "requests answered",
           sum(f.answered for f in runs), None, "0", unanswered == 0, refused_503=sum(f.refused for f in runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

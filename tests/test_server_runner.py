"""`akhbar serve` / `akhbar demo` as processes: stopping on signals (SIGINT inherited as
ignored included), graceful shutdown, workers, a busy port reported before any work,
proxy headers and root path, the ``[serve]`` table. Every process a test starts is killed
in a ``finally``, whatever the test did."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import open_archive
from crawler.config import Config, ConfigError
from feeds.samples import fill_archive, sample_stories
from feeds.web.limits import ServeLimits
from feeds.web.server import PortInUse, WebServer, bind

ROOT = Path(__file__).resolve().parent.parent
AKHBAR = [sys.executable, "-m", "crawler.cli"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory with a small filled archive."""
    archive = open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    try:
        fill_archive(archive, sample_stories(12))
    finally:
        archive.close()
    return tmp_path


IGNORE_SIGINT_THEN_EXEC = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"


@contextmanager
def started(cmd: list[str], *, ignore_sigint: bool = False, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """`cmd` running for the block, killed (with its process group) after it whatever happened."""

    if ignore_sigint:  # as a script would start it: SIGINT ignored, inherited through exec
        cmd = [sys.executable, "-c", IGNORE_SIGINT_THEN_EXEC, *cmd]
    # its own session: the kill below reaches worker processes too
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, **(env or {})})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 60) -> list[str]:
    """Lines of `proc`'s output up to the one holding `marker` (AssertionError if it ends first)."""
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if marker in line:
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout)
    assert lines and marker in lines[-1], f"no {marker!r} in output: {''.join(lines)}"
    return lines


def base_url(lines: list[str]) -> str:
    front = next(line for line in lines if line.startswith("front page"))
    return front.split()[-1].rstrip("/")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as resp:
        return resp.status, resp.read()


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def test_serve_started_with_sigint_ignored_stops_on_kill_int(data: Path) -> None:
    # the set-up does what it claims: a process started this way finds SIGINT ignored
    probe = subprocess.run([sys.executable, "-c", IGNORE_SIGINT_THEN_EXEC, sys.executable, "-c",
                            "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"],
                           capture_output=True, text=True, check=True, timeout=60)
    assert probe.stdout.strip() == "True"
    with started([*AKHBAR, "--data", str(data), "serve", "--port", "0"], ignore_sigint=True) as proc:
        lines = read_until(proc, "serving with")
        assert get(base_url(lines) + "/api/openapi.json")[0] == 200
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "stopped" in out


def test_workers_share_the_port_and_stop_on_sigterm(data: Path) -> None:
    with started([*AKHBAR, "--data", str(data), "serve", "--port", "0", "--workers", "2"]) as proc:
        lines = read_until(proc, "serving with 2 workers")
        url = base_url(lines)
        statuses = [get(url + "/api/openapi.json")[0] for _ in range(10)]
        assert statuses == [200] * 10
        workers = [pid for pid in children(proc.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2
        os.kill(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


SLOW_APP = textwrap.dedent("""
    import asyncio, sys
    from feeds.web.limits import ServeLimits
    from feeds.web.server import WebServer

    SECONDS = float(sys.argv[1])

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        print("request in", flush=True)
        await asyncio.sleep(SECONDS)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
        await send({"type": "http.response.body", "body": b"done"})

    server = WebServer(app, limits=ServeLimits(graceful_timeout=float(sys.argv[2])))
    print("listening", server.url, flush=True)
    server.serve_forever()
    print("stopped by", server.stopped_by, flush=True)
""")


def test_sigint_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text(SLOW_APP)
    with started([sys.executable, str(script), "2", "30"], ignore_sigint=True) as proc:
        url = read_until(proc, "listening")[-1].split()[-1]
        answer: dict[str, Any] = {}
        client = threading.Thread(target=lambda: answer.update(zip(("status", "body"), get(url + "/slow"))))
        client.start()
        read_until(proc, "request in")
        os.kill(proc.pid, signal.SIGINT)
        client.join(60)
        out, _ = proc.communicate(timeout=60)
        assert answer == {"status": 200, "body": b"done"}
        assert proc.returncode == 0
        assert f"stopped by {int(signal.SIGINT)}" in out
        with pytest.raises(OSError):  # the port is closed once stopped
            get(url + "/slow")


def test_graceful_shutdown_is_bounded(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text(SLOW_APP)
    with started([sys.executable, str(script), "3600", "1"]) as proc:
        url = read_until(proc, "listening")[-1].split()[-1]
        client = threading.Thread(target=lambda: pytest.raises(OSError, get, url + "/slow"), daemon=True)
        client.start()
        read_until(proc, "request in")
        os.kill(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)  # the hour-long request is cut at the 1 s bound
        assert proc.returncode == 0, out
        assert f"stopped by {int(signal.SIGTERM)}" in out


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def test_bind_reports_a_busy_port(busy_port: int) -> None:
    with pytest.raises(PortInUse, match="address already in use"):
        bind("127.0.0.1", busy_port)


def test_serve_reports_a_busy_port_before_publishing(data: Path, busy_port: int) -> None:
    run = subprocess.run([*AKHBAR, "--data", str(data), "serve", "--port", str(busy_port)], cwd=ROOT, check=False,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert f"127.0.0.1:{busy_port}: address already in use" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert not (data / "public").exists()  # nothing published


def test_demo_reports_a_busy_port_before_crawling(tmp_path: Path, busy_port: int) -> None:
    run = subprocess.run([*AKHBAR, "--data", str(tmp_path), "demo", "--port", str(busy_port)], cwd=ROOT, check=False,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "address already in use" in run.stderr
    assert "snapshot" not in run.stdout and "crawled" not in run.stdout
    assert not (tmp_path / "items.jsonl").exists()
    assert not (tmp_path / "archive.sqlite3").exists()


def test_root_path_reaches_the_app(data: Path) -> None:
    with started([*AKHBAR, "--data", str(data), "serve", "--port", "0", "--no-publish", "--root-path", "/news/"]) as proc:
        lines = read_until(proc, "serving with")
        url = base_url(lines)
        assert url.endswith("/news")
        doc = json.loads(get(url.removesuffix("/news") + "/api/openapi.json")[1])
        assert {"url": "/news"} in doc.get("servers", [])


async def echo_client(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What the server told the app about the client: address and scheme."""
    if scope["type"] != "http":
        return
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("proxy_headers", [True, False])
def test_proxy_headers_only_when_asked(proxy_headers: bool) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    with WebServer(echo_client, proxy_headers=proxy_headers, forwarded_allow_ips="127.0.0.1") as server:
        seen = json.loads(get(server.url + "/", forwarded)[1])
    if proxy_headers:
        assert seen == {"client": "203.0.113.7", "scheme": "https"}
    else:
        assert seen == {"client": "127.0.0.1", "scheme": "http"}


def test_untrusted_proxy_headers_are_ignored() -> None:
    with WebServer(echo_client, proxy_headers=True, forwarded_allow_ips="10.9.9.9") as server:
        seen = json.loads(get(server.url + "/", {"X-Forwarded-For": "203.0.113.7"})[1])
    assert seen["client"] == "127.0.0.1"


def _serve_config(table: dict[str, Any]) -> Config:
    return Config(path=Path("sources.toml"), sources={}, tables={"serve": table})


def test_serve_table_sets_options_and_limits() -> None:
    from crawler.commands.feeds_cmds import serve_settings

    options, limits = serve_settings(_serve_config({"port": 8081, "workers": 3, "proxy_headers": True,
                                                    "header_timeout": 5, "limit_concurrency": 200}))
    assert options == {"port": 8081, "workers": 3, "proxy_headers": True}
    assert limits == ServeLimits(header_timeout=5, limit_concurrency=200)


@pytest.mark.parametrize(("table", "message"), [
    ({"header_timeut": 5}, "unknown key"),
    ({"header_timeout": "5s"}, "header_timeout: expected a number"),
    ({"body_timeout": 0}, "body_timeout: must be greater than 0"),
    ({"limit_concurrency": 1.5}, "limit_concurrency: expected an integer"),
    ({"workers": 0}, "workers: out of range"),
    ({"proxy_headers": "yes"}, "proxy_headers: expected true or false"),
])
def test_serve_table_errors_name_the_key(table: dict[str, Any], message: str) -> None:
    from crawler.commands.feeds_cmds import serve_settings

    with pytest.raises(ConfigError, match=message):
        serve_settings(_serve_config(table))


def test_serve_refuses_a_broken_serve_table_in_one_line(data: Path) -> None:
    from crawler.config import BUNDLED_SOURCES

    sources = data / "sources.toml"
    sources.write_text(Path(str(BUNDLED_SOURCES)).read_text(encoding="utf-8") + '\n[serve]\nheader_timeout = "10s"\n',
                       encoding="utf-8")
    run = subprocess.run([*AKHBAR, "--data", str(data), "--sources", str(sources), "serve", "--port", "0"], cwd=ROOT,
                         check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"akhbar: {sources}: [serve] header_timeout: expected a number of seconds, got '10s'"]
    assert not (data / "public").exists()

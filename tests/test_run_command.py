"""`akhbar run`: real crawl subprocesses against the bundled snapshot, on SQLite and
PostgreSQL. Due sources crawled once and recorded with the run columns, feeds published,
a dead site failing alone; a held lease keeps a source from starting; an overrunning crawl
is not started twice; a crawl process that dies is recorded as crashed; SIGTERM checkpoints
a crawl that the next start resumes, every article archived exactly once; a broken config
entry is one line naming file, key and reason (exit 2); the live progress display on a
terminal; the run record and lease primitives on both backends."""

from __future__ import annotations

import functools
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import open_archive
from crawler.ops.leases import Leases
from crawler.snapshot import SnapshotServer

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300


def env_for(archive_url: str, sources: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "AKHBAR_ARCHIVE_URL": archive_url, "AKHBAR_LOG_LEVEL": "INFO"}
    env.pop("AKHBAR_DATA", None)
    env.pop("AKHBAR_SOURCES", None)
    if sources is not None:
        env["AKHBAR_SOURCES"] = str(sources)
    return env


def akhbar(data: Path, *args: str, archive_url: str, sources: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), *args], cwd=ROOT,
                          env=env_for(archive_url, sources), capture_output=True, text=True, timeout=TIMEOUT)


@functools.cache
def snapshot_count(site: str) -> int:
    with SnapshotServer(sites=[site]) as snap:
        return len(snap.articles(site))


def snapshot_counts(*sites: str) -> dict[str, int]:
    return {s: snapshot_count(s) for s in sites}


def free_port_base(n: int) -> int:
    """A base port with `n` free consecutive ports after it."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n >= 65000:
            continue
        try:
            socks = []
            for i in range(n):
                t = socket.socket()
                socks.append(t)
                t.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no free port range")


def runs_by_source(archive_url: str) -> dict[str, list[dict[str, Any]]]:
    with open_archive(archive_url) as a:
        out: dict[str, list[dict[str, Any]]] = {}
        for r in reversed(a.runs(limit=100)):
            out.setdefault(r["source"], []).append(r)
        return out


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'archive.sqlite3'}"


# --- the whole command ------------------------------------------------------------------


def test_once_crawls_due_sources_records_runs_publishes_and_a_dead_site_fails_alone(
        tmp_path: Path, archive_url: str) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[sources.hespress]\nbase_url = "https://www.hespress.com"\nspider = "hespress"\n'
        '[sources.le12]\nbase_url = "https://le12.ma"\nspider = "le12"\n'
        f'[sources.deadsite]\nbase_url = "http://127.0.0.1:{dead}"\n', encoding="utf-8")
    data = tmp_path / "data"
    proc = akhbar(data, "run", "--snapshot", "--once", "--max-parallel", "3", "-s", "deadsite:RETRY_TIMES=1",
                  "-s", "deadsite:AUTOTHROTTLE_ENABLED=false", archive_url=archive_url, sources=sources)
    assert proc.returncode == 1, proc.stderr[-3000:]  # --once: a source failed
    expected = snapshot_counts("hespress", "le12")
    runs = runs_by_source(archive_url)
    assert set(runs) == {"hespress", "le12", "deadsite"}
    with open_archive(archive_url) as a:
        for source in ("hespress", "le12"):
            (run,) = runs[source]
            assert run["status"] == "finished"
            archived = a.search(source=source, limit=1000).items
            assert run["articles_new"] == len(archived) == expected[source]
            assert run["articles_updated"] == 0 and run["articles_failed"] == 0
            assert run["pages"] > run["articles_new"]  # listings and robots.txt besides the articles
            assert run["http_errors"] == {} or set(run["http_errors"]) <= {"404"}
            assert run["duration_s"] > 0
            assert run["finished_at"] >= run["started_at"]
            assert f"{source}: started run {run['id']}" in proc.stdout
            assert f"{source}: finished: {expected[source]} new" in proc.stdout
        assert Leases(a).held() == []
    # the site that is down is recorded as failed; the others went on
    (dead_run,) = runs["deadsite"]
    assert dead_run["status"] == "failed"
    assert dead_run["pages"] == 0 and dead_run["articles_new"] == 0 and dead_run["finished_at"] is not None
    assert "deadsite: failed" in proc.stdout
    assert "published" in proc.stdout
    feed = data / "public" / "feeds" / "all.rss"
    assert feed.exists() and b"<item>" in feed.read_bytes()
    assert not (data / "jobs" / "hespress").exists()  # a finished run leaves no JOBDIR to resume
    # non-interactive crawls log plain progress lines
    assert "progress hespress:" in (data / "logs" / "hespress.log").read_text(encoding="utf-8")
    # nothing is due right after: a second --once starts nothing
    again = akhbar(data, "run", "--snapshot", "--once", archive_url=archive_url, sources=sources)
    assert again.returncode == 0 and "nothing due" in again.stdout
    assert sum(len(v) for v in runs_by_source(archive_url).values()) == 3


def test_a_held_lease_keeps_a_source_from_starting(tmp_path: Path, sqlite_url: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with open_archive(sqlite_url) as a:
        assert Leases(a, "crawler-2:4242:abcdef").acquire("hespress", timedelta(minutes=10))
    proc = akhbar(data, "run", "--snapshot", "--once", "hespress", archive_url=sqlite_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "hespress: skipped: a crawl of it is running elsewhere (lease held by crawler-2:4242:abcdef" in proc.stdout
    assert "started run" not in proc.stdout
    assert runs_by_source(sqlite_url) == {}
    with open_archive(sqlite_url) as a:
        assert [lease.holder for lease in Leases(a).held()] == ["crawler-2:4242:abcdef"]  # not ours to release


def test_two_schedulers_on_one_archive_crawl_a_source_once(tmp_path: Path, postgres_url: str) -> None:
    # two machines sharing one PostgreSQL archive, both told to crawl le12 now
    url = f"{postgres_url}?schema=t_{os.getpid()}_{time.monotonic_ns() % 10**8}"
    try:
        procs = [subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / f"m{i}"), "run",
                                   "--snapshot", "--once", "le12"], cwd=ROOT, env=env_for(url),
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for i in (1, 2)]
        outs = [p.communicate(timeout=TIMEOUT)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert sum("le12: started run" in out for out in outs) == 1, outs
        assert sum(("le12: skipped" in out) or ("nothing due" in out) for out in outs) == 1, outs
        (run,) = runs_by_source(url)["le12"]
        assert run["status"] == "finished" and run["articles_new"] == snapshot_counts("le12")["le12"]
    finally:
        a = open_archive(url, migrate=False)
        a.drop_schema()  # type: ignore[attr-defined]
        a.close()


def test_an_overrunning_crawl_is_not_started_twice(tmp_path: Path, sqlite_url: str) -> None:
    # every second: each crawl (a few seconds) overruns its next tick
    sources = tmp_path / "sources.toml"
    sources.write_text('[sources.le12]\nbase_url = "https://le12.ma"\nspider = "le12"\nschedule = "every 1s"\n',
                       encoding="utf-8")
    proc = akhbar(tmp_path / "data", "run", "--snapshot", "--max-runs", "2", archive_url=sqlite_url, sources=sources)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "le12: overrun: the crawl started" in proc.stdout
    first, second = runs_by_source(sqlite_url)["le12"]
    assert first["status"] == second["status"] == "finished"
    assert second["started_at"] >= first["finished_at"]  # one at a time
    assert first["articles_new"] == snapshot_counts("le12")["le12"]
    assert second["articles_new"] == 0  # incremental: nothing new on the second pass


def test_a_crawl_process_that_dies_is_recorded_as_crashed(tmp_path: Path, sqlite_url: str) -> None:
    from crawler.config import BUNDLED_SOURCES
    from tests.test_monitors import Receiver

    data = tmp_path / "data"
    hook = Receiver().__enter__()
    sources = tmp_path / "sources.toml"
    sources.write_text(BUNDLED_SOURCES.read_text(encoding="utf-8") + f'\n[alerts]\nwebhook_url = "{hook.url}"\n',
                       encoding="utf-8")
    cmd = [sys.executable, "-m", "crawler.cli", "--data", str(data), "run", "--snapshot", "--once", "hespress",
           "-s", "DOWNLOAD_DELAY=0.5", "-s", "AUTOTHROTTLE_ENABLED=false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env_for(sqlite_url, sources), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        pid = None
        for line in proc.stdout:
            if "hespress: started run" in line:
                pid = int(line.split(", pid ")[1].split(",")[0])
                break
        assert pid is not None
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if (data / "archive.sqlite3").exists():
                with open_archive(sqlite_url) as a:
                    if a.count_articles() >= 2:
                        break
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)  # the crawl dies without closing its spider
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        hook.__exit__(None, None, None)
    assert proc.returncode == 1  # --once: a crawl did not finish
    assert "hespress: crashed (exit code -9)" in out
    (run,) = runs_by_source(sqlite_url)["hespress"]
    assert run["status"] == "crashed" and run["finished_at"] is not None
    assert any("exited with code -9" in e["message"] for e in run["errors"])
    # its monitors never ran (they run at spider close): the scheduler judges it failing and alerts
    assert run["health"] == "failing"
    assert [(p["body"]["run_id"], p["body"]["health"], [m["name"] for m in p["body"]["failed"]]) for p in hook.posts] == \
        [(run["id"], "failing", ["crawl_process"])]
    # a killed crawl never saved its queue's state: the next crawl starts afresh and
    # skips what is archived (the seen set) rather than trusting a half-written JOBDIR
    assert not (data / "jobs" / "hespress").exists()
    with open_archive(sqlite_url) as a:
        assert Leases(a).held() == []


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.parametrize("whole_group", [False, True], ids=["scheduler", "every-process"])
def test_sigterm_checkpoints_and_the_next_start_resumes(tmp_path: Path, sqlite_url: str, whole_group: bool) -> None:
    # every-process: as systemd's default KillMode does, the crawl gets SIGTERM itself as
    # well as the one the scheduler forwards; two SIGTERMs must still be a graceful stop
    data = tmp_path / "data"
    base = free_port_base(1)
    expected = snapshot_counts("hespress")["hespress"]
    cmd = [sys.executable, "-m", "crawler.cli", "--data", str(data), "run", "--snapshot", "--snapshot-port-base",
           str(base), "hespress", "-s", "DOWNLOAD_DELAY=0.3", "-s", "AUTOTHROTTLE_ENABLED=false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env_for(sqlite_url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        db = data / "archive.sqlite3"
        deadline = time.monotonic() + TIMEOUT
        archived = 0
        while time.monotonic() < deadline and archived < 3:  # mid-crawl: some articles in, most not
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            if db.exists():
                with open_archive(sqlite_url) as a:
                    archived = a.count_articles()
            time.sleep(0.2)
        assert 3 <= archived < expected
        if whole_group:
            crawls = _children(proc.pid)
            assert crawls, "the scheduler has no crawl process running"
            for pid in crawls:
                os.kill(pid, signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out[-3000:]
    assert "stopping (SIGTERM)" in out
    (run,) = runs_by_source(sqlite_url)["hespress"]
    assert run["status"] == "interrupted", out[-3000:]
    assert run["articles_new"] < expected
    assert (data / "jobs" / "hespress").is_dir()  # the checkpoint
    with open_archive(sqlite_url) as a:
        assert Leases(a).held() == []
    # the next start resumes the interrupted crawl at once, whatever the schedule says
    again = subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), "run", "--snapshot",
                            "--snapshot-port-base", str(base), "--once", "hespress"], cwd=ROOT, env=env_for(sqlite_url),
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "(resuming)" in again.stdout
    first, second = runs_by_source(sqlite_url)["hespress"]
    assert second["status"] == "finished"
    with open_archive(sqlite_url) as a:
        assert a.count_articles() == expected
        urls = [r["url_key"] for r in a.fetch("SELECT url_key FROM articles")]
    assert len(urls) == len(set(urls)) == expected
    # exactly once: what the first run stored, the second did not store again
    assert first["articles_new"] + second["articles_new"] == expected
    assert not (data / "jobs" / "hespress").exists()


def pg_client_ports(pid: int, server_port: int) -> set[int]:
    """Local ports of `pid`'s TCP connections to `server_port` (from /proc: no psutil)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) == server_port:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_the_scheduler_survives_losing_its_archive_connection(tmp_path: Path, postgres_url: str) -> None:
    # A PostgreSQL restart or failover drops the scheduler's connection between two
    # crawls; before, `akhbar run` died on it ("akhbar: error: terminating connection
    # due to administrator command") and nothing was crawled until someone restarted it.
    from urllib.parse import urlsplit

    import psycopg

    url = f"{postgres_url}?schema=t_{os.getpid()}_{time.monotonic_ns() % 10**8}"
    sources = tmp_path / "sources.toml"
    sources.write_text('[sources.le12]\nbase_url = "https://le12.ma"\nspider = "le12"\nschedule = "every 10s"\n',
                       encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "data"), "run", "--snapshot",
                             "--max-runs", "2"], cwd=ROOT, env=env_for(url, sources), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    out = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the first crawl is over and published
            out.append(line)
            if "published" in line:
                break
        ports = pg_client_ports(proc.pid, urlsplit(postgres_url).port or 5432)
        assert ports, "".join(out)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            killed = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = ANY(%s)",
                                  (sorted(ports),)).fetchall()
        assert killed and all(k[0] for k in killed)
        rest, _ = proc.communicate(timeout=TIMEOUT)
        out.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "".join(out)
    try:
        assert proc.returncode == 0, text[-3000:]
        assert "archive unavailable" in text and "archive reachable again" in text, text[-3000:]
        first, second = runs_by_source(url)["le12"]
        assert first["status"] == second["status"] == "finished"
        with open_archive(url) as a:
            assert Leases(a).held() == []
    finally:
        a = open_archive(url, migrate=False)
        a.drop_schema()  # type: ignore[attr-defined]
        a.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sources.x]\nbase_url = "http://h"\nschedule = "every fortnight"\n', "[sources.x] schedule: not a duration"),
        ('[sources.x]\nbase_url = "http://h"\nquiet_hours = "1am-5am"\n', "[sources.x] quiet_hours: not a time of day"),
        ('[sources.x]\nbase_url = "http://h"\njiter = "5m"\n', "[sources.x] jiter: unknown key"),
    ],
)
@pytest.mark.parametrize("verb", ["run", "crawl"])
def test_a_broken_config_entry_is_one_line_at_start(tmp_path: Path, sqlite_url: str, text: str, expected: str,
                                                    verb: str) -> None:
    sources = tmp_path / "bad.toml"
    sources.write_text(text, encoding="utf-8")
    proc = akhbar(tmp_path / "data", verb, archive_url=sqlite_url, sources=sources)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"akhbar: {sources}: {expected}"), proc.stderr
    assert "Traceback" not in proc.stderr


def read_pty(cmd: list[str], env: dict[str, str], *, on: str) -> tuple[int, str]:
    """Run `cmd` with its stdout or stderr (`on`) on a pseudo-terminal; its exit status
    and everything it drew there."""
    master, slave = pty.openpty()
    streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, on: slave}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, **streams)  # type: ignore[call-overload]
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], TIMEOUT)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=TIMEOUT)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, b"".join(chunks).decode("utf-8", "replace")


def drawn_lines(screen: str, source: str) -> list[str]:
    return [part.split("\r\n")[0] for part in screen.split("\x1b[2K") if part.startswith(source)]


def test_interactive_crawls_redraw_a_live_progress_line(tmp_path: Path, sqlite_url: str) -> None:
    code, screen = read_pty([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "data"), "crawl",
                             "--snapshot", "le12", "-s", "CLOSESPIDER_ITEMCOUNT=10"],
                            {**env_for(sqlite_url), "AKHBAR_LOG_LEVEL": "WARNING"}, on="stderr")
    assert code == 0
    final = drawn_lines(screen, "le12")[-1]  # the source's line, cleared and redrawn
    assert "closespider_itemcount" in final and " 0 errors" in final
    assert int(final.split("articles")[0].split("pages")[1]) >= 10


def test_the_scheduler_on_a_terminal_shows_each_running_crawl_live(tmp_path: Path, sqlite_url: str) -> None:
    data = tmp_path / "data"
    code, screen = read_pty([sys.executable, "-m", "crawler.cli", "--data", str(data), "run", "--snapshot", "--once",
                             "le12"], env_for(sqlite_url), on="stdout")
    assert code == 0
    lines = drawn_lines(screen, "le12 ")
    assert lines and all(" pages " in line and " articles " in line and " errors" in line for line in lines)
    assert "le12: finished" in screen.split("\x1b[2K")[-1]  # the end line replaces the live one
    progress = json.loads((data / "progress" / "le12.json").read_text(encoding="utf-8"))
    assert progress["state"] == "finished" and progress["articles"] == snapshot_counts("le12")["le12"]


# --- the record and the lease, on both backends --------------------------------------------


def test_finish_run_fills_the_run_columns(archive_url: str) -> None:
    with open_archive(archive_url) as a:
        a.start_run("r1", spider="hespress", source="hespress")
        stats = {
            "archive/inserted": 7, "archive/updated": 2, "archive/errors": 1, "item_dropped_count": 3,
            "response_received_count": 40, "downloader/response_status_count/200": 35,
            "downloader/response_status_count/503": 4, "downloader/response_status_count/404": 1,
            "elapsed_time_seconds": 12.5,
        }
        a.finish_run("r1", status="finished", stats=stats)
        a.start_run("r2", spider="le12", source="le12")
        a.finish_run("r2", status="shutdown", stats={"response_received_count": 3})
        a.start_run("r3", spider="x", source="x")
        a.finish_run("r3", status="finished", stats={"downloader/exception_count": 4, "elapsed_time_seconds": 1})
        a.start_run("r4", spider="x", source="x")  # answered, but only with errors: down too
        a.finish_run("r4", status="finished", stats={"response_received_count": 6,
                                                     "downloader/response_status_count/503": 6})
        a.start_run("r5", spider="import", source=None)  # no downloads at all (an import)
        a.finish_run("r5", status="finished", stats={"log_count/ERROR": 2, "archive/errors": 2})
        runs = {r["id"]: r for r in a.runs()}
    r1 = runs["r1"]
    assert (r1["articles_new"], r1["articles_updated"], r1["articles_failed"], r1["pages"]) == (7, 2, 4, 40)
    assert r1["http_errors"] == {"404": 1, "503": 4}
    assert r1["duration_s"] == 12.5 and r1["status"] == "finished"
    assert runs["r2"]["status"] == "interrupted" and runs["r2"]["duration_s"] >= 0
    assert runs["r3"]["status"] == "failed" and runs["r3"]["http_errors"] == {}
    assert runs["r4"]["status"] == "failed" and runs["r4"]["http_errors"] == {"503": 6}
    assert runs["r5"]["status"] == "finished" and runs["r5"]["articles_failed"] == 2
    json.dumps({k: v for k, v in r1.items() if k not in ("started_at", "finished_at")})  # the API can serve it


def test_leases_exclude_expire_and_release(archive_url: str) -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    ttl = timedelta(minutes=10)
    with open_archive(archive_url) as a:
        one, two = Leases(a, "one"), Leases(a, "two")
        assert one.acquire("hespress", ttl, now=now)
        assert not two.acquire("hespress", ttl, now=now + timedelta(minutes=9))
        assert two.acquire("le12", ttl, now=now)
        assert one.acquire("hespress", ttl, now=now + timedelta(minutes=5))  # the holder renews
        assert one.renew("hespress", ttl, now=now + timedelta(minutes=6))
        assert not two.renew("hespress", ttl, now=now)
        assert [x.source for x in one.held(now=now + timedelta(minutes=1))] == ["hespress", "le12"]
        # a holder that died stops renewing: its lease lapses and another takes it
        assert two.acquire("hespress", ttl, now=now + timedelta(minutes=17))
        lease = one.get("hespress")
        assert lease is not None and lease.holder == "two"
        assert lease.acquired_at == now + timedelta(minutes=17)
        one.release("hespress")  # not ours any more: no effect
        assert one.get("hespress") is not None
        two.release("hespress")
        assert one.get("hespress") is None


"""Scale-out: two crawler processes share one Redis frontier and one PostgreSQL archive.

Real services only: the snapshot over HTTP in this process, the Redis on 127.0.0.1:6379,
a fresh PostgreSQL schema per archive, and `akhbar crawl` in subprocesses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.config import BUNDLED_SOURCES, ConfigError, load_config
from crawler.snapshot import SnapshotServer
from tests.conftest import ROOT

SITES = ["le12", "rue20"]
FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_MAX_DELAY=0.2"]
WORKERS = 2


def sources_toml(tmp: Path, base_urls: dict[str, str], cluster: str = "") -> Path:
    """The bundled sources file with the sites' base_url pointed at the snapshot (the only
    thing that differs from a live deployment) and a [cluster] table."""
    text = BUNDLED_SOURCES.read_text(encoding="utf-8")
    for site, url in base_urls.items():
        text, n = re.subn(rf'(\[sources\.{site}\][^\[]*?base_url = )"[^"]*"', rf'\g<1>"{url}"', text, count=1)
        assert n == 1, site
    path = tmp / "sources.toml"
    path.write_text(text + cluster, encoding="utf-8")
    return path


def crawl_cmd(sources: Path, data: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "crawler.cli", "--sources", str(sources), "--data", str(data),
            "crawl", *SITES, *FAST, *extra]


def clean_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in ("AKHBAR_SOURCES", "AKHBAR_ARCHIVE_URL", "AKHBAR_REDIS_URL", "AKHBAR_DATA"):
        env.pop(name, None)
    return env


def schema_url(postgres_url: str) -> str:
    return f"{postgres_url}?schema=t_{uuid.uuid4().hex[:10]}"


def drop(url: str) -> None:
    from crawler.archive import open_archive

    archive = open_archive(url, migrate=False)
    try:
        archive.drop_schema()
    finally:
        archive.close()


def partition(rows: list[dict[str, Any]]) -> set[frozenset[str]]:
    """Stories as sets of article paths (story ids differ between archives, the grouping must not)."""
    stories: dict[str, set[str]] = {}
    for r in rows:
        stories.setdefault(r["story_id"], set()).add(re.sub(r"^https?://[^/]+", "", r["url"]))
    return {frozenset(s) for s in stories.values()}


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client: Any) -> Iterator[str]:
    prefix = f"akhbar-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    keys = list(redis_client.scan_iter(f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


def test_two_processes_share_the_frontier(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_client: Any, key_prefix: str
) -> None:
    shared_url, single_url = schema_url(postgres_url), schema_url(postgres_url)
    try:
        with SnapshotServer(sites=SITES) as snap, SnapshotServer(sites=SITES) as single_snap:
            # Both workers must be registered before the snapshot answers anything: otherwise
            # one could crawl the whole (small) snapshot before the other has started.
            gate = threading.Event()
            for site in SITES:
                app = snap._apps[site]
                answer = app.handle

                def gated(raw_path: str, answer: Any = answer) -> Any:
                    gate.wait(120)
                    return answer(raw_path)

                app.handle = gated  # type: ignore[method-assign]
            cluster = f'\n[cluster]\nredis_url = "{redis_url}"\narchive_url = "{shared_url}"\nkey_prefix = "{key_prefix}"\n'
            shared_sources = sources_toml(tmp_path, snap.base_urls, cluster)
            (tmp_path / "single").mkdir()
            single_sources = sources_toml(tmp_path / "single", single_snap.base_urls)

            env = clean_env()
            logs = [(tmp_path / f"w{i}.log").open("w") for i in range(WORKERS)] + [(tmp_path / "single.log").open("w")]
            # At least 50 ms between one worker's requests to a site (AutoThrottle's floor): a
            # worker alone needs seconds for a site, far longer than the other takes to see
            # the queued requests (a quarter of a second), so both take part.
            workers = [
                subprocess.Popen(crawl_cmd(shared_sources, tmp_path / f"w{i}", "-s", "DOWNLOAD_DELAY=0.1"),
                                 cwd=tmp_path, env=env,
                                 stdout=subprocess.DEVNULL, stderr=logs[i])
                for i in range(WORKERS)
            ]
            # The single-process crawl of the same snapshot (its own servers, its own schema),
            # meanwhile: the stories it finds are the reference.
            single = subprocess.Popen(
                crawl_cmd(single_sources, tmp_path / "single-data", "-s", f"AKHBAR_ARCHIVE_URL={single_url}"),
                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=logs[-1])
            try:
                deadline = time.monotonic() + 120
                registered: dict[str, int] = {}
                while time.monotonic() < deadline and any(w.poll() is None for w in workers):
                    # keys are <prefix>:<spider>:<source>:...; these sites' spiders bear their names
                    registered = {s: redis_client.zcard(f"{key_prefix}:{s}:{s}:workers") for s in SITES}
                    if all(n == WORKERS for n in registered.values()):
                        break
                    time.sleep(0.1)  # polling Redis for the registrations, not a synchronisation sleep
                assert all(n == WORKERS for n in registered.values()), registered
                gate.set()
                for i, w in enumerate(workers):
                    assert w.wait(180) == 0, (tmp_path / f"w{i}.log").read_text()[-3000:]
                assert single.wait(180) == 0, (tmp_path / "single.log").read_text()[-3000:]
            finally:
                gate.set()
                for p in (*workers, single):
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                for f in logs:
                    f.close()
            hits = {site: snap.hits(site) for site in SITES}
            truth = {site: {a["url"] for a in snap.articles(site)} for site in SITES}

        from crawler.archive import open_archive

        shared, reference = open_archive(shared_url), open_archive(single_url)
        try:
            rows = shared.fetch("SELECT url, source, story_id, version FROM articles")
            runs = shared.fetch("SELECT id, source, stats FROM crawl_runs")
            reference_rows = reference.fetch("SELECT url, source, story_id FROM articles")
        finally:
            shared.close()
            reference.close()
        # Every other command of a worker machine reads the same archive ([cluster] archive_url).
        export = subprocess.run([sys.executable, "-m", "crawler.cli", "--sources", str(shared_sources),
                                 "--data", str(tmp_path / "w0"), "export", "--format", "jsonl"],
                                cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120)
        assert export.returncode == 0, export.stderr[-2000:]
        assert len(export.stdout.splitlines()) == len(rows)
    finally:
        drop(shared_url)
        drop(single_url)

    worker_logs = "\n".join((tmp_path / f"w{i}.log").read_text() for i in range(WORKERS))
    assert "frontier in Redis" in worker_logs
    # Every snapshot article archived, each once: one row, never re-written, emitted by one worker.
    for site in SITES:
        urls = [r["url"] for r in rows if r["source"] == site]
        assert len(urls) == len(set(urls))
        assert set(urls) == truth[site], site
    assert all(r["version"] == 1 for r in rows)
    assert len(runs) == WORKERS * len(SITES)
    stats = [r["stats"] if isinstance(r["stats"], dict) else json.loads(r["stats"]) for r in runs]
    assert sum(s.get("item_scraped_count", 0) for s in stats) == len(rows)
    assert not any(s.get("archive/updated") for s in stats)
    # Both workers took part in crawling each site.
    for site in SITES:
        per_worker = [s.get("item_scraped_count", 0) for r, s in zip(runs, stats, strict=True) if r["source"] == site]
        assert len(per_worker) == WORKERS and all(n > 0 for n in per_worker), (site, per_worker)
    # No URL fetched twice at the server; robots.txt is the exception: Scrapy's robots
    # middleware fetches it once per process, outside the scheduler.
    for site in SITES:
        twice = {path: n for path, n in hits[site].items() if n > 1 and path != "/robots.txt"}
        assert not twice, (site, twice)
        assert hits[site]["/robots.txt"] <= WORKERS
    # The stories are the ones a single process finds in the same snapshot.
    assert len(reference_rows) == len(rows)
    assert partition(rows) == partition(reference_rows)
    # The run ended with the last worker: no queue, no fingerprints, no worker left in Redis.
    assert not list(redis_client.scan_iter(f"{key_prefix}:*"))


def test_cluster_table_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(BUNDLED_SOURCES.read_text(encoding="utf-8")
                    + '\n[cluster]\nredis_url = "redis://10.0.0.5:6379/2"\narchive_url = "postgresql://crawler@10.0.0.4/akhbar"\n'
                      'key_prefix = "news"\nworker_timeout = 45\n', encoding="utf-8")
    assert load_config(good).table("cluster")["redis_url"] == "redis://10.0.0.5:6379/2"
    cases = {
        'redis_url = "http://10.0.0.5:6379"': "[cluster] redis_url: expected redis://",
        'archive_url = "mysql://x"': "[cluster] archive_url: expected postgresql://",
        'worker_timeout = 0': "[cluster] worker_timeout: expected a number of seconds > 0",
        'key_prefix = "a b"': "[cluster] key_prefix",
        'redis = "redis://x"': "[cluster] redis: unknown key",
    }
    for line, message in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(BUNDLED_SOURCES.read_text(encoding="utf-8") + f"\n[cluster]\n{line}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_config(bad)
        assert message in str(info.value) and str(bad) in str(info.value)


def test_addon_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scrapy.settings import Settings

    from crawler.ops.cluster import ClusterAddon

    monkeypatch.delenv("AKHBAR_REDIS_URL", raising=False)
    monkeypatch.delenv("AKHBAR_ARCHIVE_URL", raising=False)
    plain = Settings({"AKHBAR_SOURCES": str(BUNDLED_SOURCES)}, priority="project")
    ClusterAddon().update_settings(plain)
    assert plain.get("SCHEDULER") in (None, "scrapy.core.scheduler.Scheduler")

    cfg = tmp_path / "s.toml"
    cfg.write_text(BUNDLED_SOURCES.read_text(encoding="utf-8")
                   + '\n[cluster]\nredis_url = "redis://127.0.0.1:6379/3"\narchive_url = "postgresql://h/db"\nkey_prefix = "k"\n',
                   encoding="utf-8")
    settings = Settings({"AKHBAR_SOURCES": str(cfg), "AKHBAR_ARCHIVE_URL": None}, priority="project")
    ClusterAddon().update_settings(settings)
    assert settings["SCHEDULER"] == "crawler.ops.cluster.ClusterScheduler"
    assert settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert settings["REDIS_URL"] == "redis://127.0.0.1:6379/3"
    assert settings["AKHBAR_ARCHIVE_URL"] == "postgresql://h/db"
    assert settings["CLUSTER_KEY_PREFIX"] == "k"
    # The command line wins over the file.
    cmdline = Settings({"AKHBAR_SOURCES": str(cfg)}, priority="project")
    cmdline.set("REDIS_URL", "redis://10.1.1.1:6379/0", priority="cmdline")
    cmdline.set("AKHBAR_ARCHIVE_URL", "postgresql://other/db", priority="cmdline")
    ClusterAddon().update_settings(cmdline)
    assert cmdline["REDIS_URL"] == "redis://10.1.1.1:6379/0"
    assert cmdline["AKHBAR_ARCHIVE_URL"] == "postgresql://other/db"
    off = Settings({"AKHBAR_SOURCES": str(cfg), "CLUSTER_ENABLED": False}, priority="project")
    ClusterAddon().update_settings(off)
    assert off.get("SCHEDULER") in (None, "scrapy.core.scheduler.Scheduler")


def test_interrupted_run_resumes(tmp_path: Path, redis_url: str, redis_client: Any, key_prefix: str) -> None:
    """A run stopped early (here by CLOSESPIDER_ITEMCOUNT) leaves its queue and fingerprints
    in Redis; the next worker resumes it: every article, still no URL fetched twice."""
    with SnapshotServer(sites=["le12"]) as snap:
        cluster = f'\n[cluster]\nredis_url = "{redis_url}"\nkey_prefix = "{key_prefix}"\n'
        sources = sources_toml(tmp_path, {"le12": snap.base_urls["le12"]}, cluster)
        data = tmp_path / "data"
        cmd = [sys.executable, "-m", "crawler.cli", "--sources", str(sources), "--data", str(data), "crawl", "le12", *FAST]
        first = subprocess.run([*cmd, "-s", "CLOSESPIDER_ITEMCOUNT=5"], cwd=tmp_path, env=clean_env(),
                               capture_output=True, text=True, timeout=180)
        assert first.returncode == 0, first.stderr[-3000:]
        queued = redis_client.zcard(f"{key_prefix}:le12:le12:requests")
        assert queued > 0 and redis_client.scard(f"{key_prefix}:le12:le12:dupefilter") > queued
        second = subprocess.run(cmd, cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=180)
        assert second.returncode == 0, second.stderr[-3000:]
        assert f"resumes an interrupted run of le12: {queued} requests queued" in second.stderr
        hits = snap.hits("le12")
        truth = {a["url"] for a in snap.articles("le12")}

    from crawler.archive import open_archive

    archive = open_archive(f"sqlite:///{data / 'archive.sqlite3'}")
    try:
        urls = [r["url"] for r in archive.fetch("SELECT url FROM articles")]
    finally:
        archive.close()
    assert len(urls) == len(set(urls)) and set(urls) == truth
    twice = {path: n for path, n in hits.items() if n > 1 and path != "/robots.txt"}
    assert not twice
    assert not list(redis_client.scan_iter(f"{key_prefix}:*"))


@pytest.mark.parametrize("verb", ["crawl", "run"])
def test_unreachable_redis_is_one_line_at_start(tmp_path: Path, verb: str) -> None:
    # Before: `akhbar crawl` logged Twisted's "Unhandled error in Deferred" tracebacks,
    # crawled and recorded nothing, and exited 0; `akhbar run` recorded "crashed (exit code 0)".
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sources = sources_toml(tmp_path, {}, f'\n[cluster]\nredis_url = "redis://:s3cret@127.0.0.1:{port}/0"\n')
    args = ["crawl", "le12"] if verb == "crawl" else ["run", "--once", "le12"]
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "--sources", str(sources), "--data", str(tmp_path / "d"),
                           *args, "--snapshot"], cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(f"akhbar: cannot reach the Redis frontier at redis://:***@127.0.0.1:{port}/0: "), lines
    assert "Traceback" not in proc.stderr and "s3cret" not in proc.stderr
    assert "started run" not in proc.stdout
    # -s CLUSTER_ENABLED=false keeps the crawl in its own process: no Redis needed
    if verb == "crawl":
        alone = subprocess.run([sys.executable, "-m", "crawler.cli", "--sources", str(sources), "--data",
                                str(tmp_path / "d"), "crawl", "le12", "--snapshot", "-s", "CLUSTER_ENABLED=false",
                                "-s", "CLOSESPIDER_ITEMCOUNT=3"], cwd=ROOT, env=clean_env(), capture_output=True,
                               text=True, timeout=240)
        assert alone.returncode == 0, alone.stderr[-3000:]

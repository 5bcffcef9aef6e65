"""Start one crawl of a source as a subprocess, and settle its run when the process ends.

The scheduler (`crawler.ops.scheduler`) and the admin endpoint (`feeds.web.admin`) both start
crawls here, so a crawl started either way is the same crawl: ``python -m crawler.cli
--data DIR crawl SOURCE --run-id ID -s JOBDIR=DIR/jobs/SOURCE -s
PROGRESS_FILE=DIR/progress/SOURCE.json`` in a session of its own. The run id is chosen
before the process starts, so its ``crawl_runs`` row is known in advance; the JOBDIR is per
source, so a crawl stopped by SIGTERM (``interrupted``) is resumed by the next crawl of
that source, whoever starts it. Who starts a crawl holds the source's lease
(`crawler.ops.leases`) for as long as it runs; that stays with the caller.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

logger = logging.getLogger(__name__)

KEEP_JOBDIR = frozenset({"interrupted"})
"""A run ending so keeps its JOBDIR: the next crawl of the source resumes from it. Any
other ending removes it, or the next crawl's duplicate filter would skip every listing.
A crashed crawl never wrote its queue's state; the next crawl starts afresh and resumes
through the archive's seen set instead (what it archived is not fetched again)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_run_id(source: str) -> str:
    return f"{utcnow():%Y%m%dT%H%M%SZ}-{source}-{uuid.uuid4().hex[:8]}"


def jobdir_for(data: Path, source: str) -> Path:
    return Path(data) / "jobs" / source


def progress_file_for(data: Path, source: str) -> Path:
    return Path(data) / "progress" / f"{source}.json"


@dataclass
class CrawlProcess:
    source: str
    run_id: str
    proc: subprocess.Popen[bytes]
    started: datetime
    log: TextIO
    log_path: Path
    jobdir: Path
    resumed: bool
    """The JOBDIR held a queue when the crawl started: it goes on from that checkpoint."""
    terminated: bool = False


def start_crawl(data: Path, source: str, archive_url: str, *, log_path: Path, base_url: str | None = None,
                settings: Sequence[str] = (), sources_file: Path | None = None,
                cwd: str | None = None) -> CrawlProcess:
    """Start ``akhbar crawl SOURCE`` with its run id, JOBDIR and progress file; its output
    is appended to `log_path` after a ``--- <time> run <id>: <command>`` line. `settings`
    are ``NAME=VALUE`` Scrapy settings; `sources_file` is passed as ``--sources`` (else
    the child reads ``AKHBAR_SOURCES`` as this process does). Raises OSError when the
    process cannot be started."""
    data = Path(data)
    run_id = new_run_id(source)
    jobdir = jobdir_for(data, source)
    cmd = [sys.executable, "-m", "crawler.cli", "--data", str(data)]
    if sources_file is not None:
        cmd += ["--sources", str(sources_file)]
    cmd += ["crawl", source, "--run-id", run_id, "-s", f"JOBDIR={jobdir}"]
    if base_url:
        cmd += ["--base-url", base_url]
    progress = progress_file_for(data, source)
    progress.unlink(missing_ok=True)  # a stale file would show the last crawl's counts as this one's
    cmd += ["-s", f"PROGRESS_FILE={progress}"]
    for kv in settings:
        cmd += ["-s", kv]
    resumed = (jobdir / "requests.queue").exists()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("a", encoding="utf-8")
    log.write(f"--- {utcnow().isoformat()} run {run_id}{' (resuming)' if resumed else ''}: {' '.join(cmd)}\n")
    log.flush()
    env = {**os.environ, "AKHBAR_DATA": str(data), "AKHBAR_ARCHIVE_URL": archive_url}
    try:
        # Its own session: a terminal's Ctrl-C reaches only the process that started it,
        # which hands the crawl one SIGTERM instead of the double signal of an unclean stop.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=cwd, start_new_session=True)
    except OSError:
        log.close()
        raise
    return CrawlProcess(source, run_id, proc, utcnow(), log, log_path, jobdir, resumed)


def settle_run(archive: Any, crawl: CrawlProcess, *, spider: str,
               alerts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Complete the record of a crawl whose process has ended and keep or drop its JOBDIR;
    the run's ``crawl_runs`` row. A process that died before its spider closed left a
    ``running`` row (or none): it is recorded ``crashed`` with its exit code, judged
    failing and sent to the `alerts` channels (``[alerts]``), since its own monitors never
    ran."""
    code = crawl.proc.returncode
    crawl.log.close()
    row = archive.fetchone("SELECT * FROM crawl_runs WHERE id = ?", (crawl.run_id,))
    if row is None or row["status"] == "running":
        if row is None:
            archive.start_run(crawl.run_id, spider=spider, source=crawl.source)
        archive.finish_run(crawl.run_id, status="crashed")
        archive.add_run_error(crawl.run_id, f"crawl process exited with code {code} before the spider closed; "
                                            f"see {crawl.log_path}")
        _alert_crash(archive, crawl, code, spider, alerts or {})
    rec: dict[str, Any] = next((x for x in archive.runs(source=crawl.source, limit=5) if x["id"] == crawl.run_id), {})
    if rec.get("status", "crashed") not in KEEP_JOBDIR:
        shutil.rmtree(crawl.jobdir, ignore_errors=True)
    return rec


def _alert_crash(archive: Any, crawl: CrawlProcess, code: int | None, spider: str, alerts: Mapping[str, Any]) -> None:
    from crawler.ops.alerts import send
    from crawler.ops.monitors import record_health

    if code is not None and code < 0:
        why = f"killed by signal {-code}" + (" (out of memory, or kill -9)" if code == -9 else "")
    elif code == 2:
        why = "refused to start (a config or usage error)"
    else:
        why = "crashed"
    check = {"name": "crawl_process", "ok": False, "value": code, "threshold": "spider closed",
             "message": f"the crawl process exited with code {code} before its spider closed "
                        f"({why}; see {crawl.log_path})"}
    report = {"run_id": crawl.run_id, "source": crawl.source, "spider": spider,
              "health": "failing", "monitors": [check]}
    record_health(archive, report)
    send(report, dict(alerts))  # logs and POSTs; never raises

"""Runs whose process is gone: found and marked ``crashed``.

A crawl killed by SIGKILL, the OOM killer or a full disk never reaches its own
``finish_run``, and its row said ``running`` forever (in `akhbar status`, /status, the
run history and the "last run" health). Every command that reads runs calls
`reap_dead_runs` first:

- a run started on this host whose process no longer exists (or whose pid now belongs to a
  process started after the run: the pid was reused) is dead;
- a run started on another host is dead only when no lease of its source is held and it
  started more than ``REMOTE_AFTER`` ago (another machine's processes cannot be looked
  at from here);
- a run with no host (written before migration 320) is judged like a remote one.

A dead run is finished as ``crashed`` with an error saying why, and a lease on its source
held by a dead process of this host is freed.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.archive.records import parse_datetime

logger = logging.getLogger(__name__)

REMOTE_AFTER = timedelta(hours=24)


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def process_started_at(pid: int) -> datetime | None:
    """When process `pid` started (Linux /proc), or None when unknown."""
    boot = _boot_time()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if boot is None:
        return None
    ticks = int(fields[19])  # field 22 of stat(5), counted after the ")" of the command name
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)


def process_alive(pid: int, since: datetime | None = None) -> bool:
    """True when `pid` exists and (when known) started no later than `since` plus a margin."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    if since is not None:
        started = process_started_at(pid)
        if started is not None and started > since + timedelta(seconds=5):
            return False  # the pid was reused by a newer process
    return True


def _dead_reason(run: dict[str, Any], host: str, held: set[str], now: datetime) -> str | None:
    started = parse_datetime(run.get("started_at"))
    if run.get("host") == host and run.get("pid"):
        if process_alive(int(run["pid"]), started):
            return None
        return f"its process ({host} pid {run['pid']}) is gone: killed (SIGKILL, out of memory) or the disk filled"
    if run.get("source") in held:
        return None
    if started is None or now - started < REMOTE_AFTER:
        return None
    where = run.get("host") or "an unknown host"
    return f"still running after {REMOTE_AFTER} on {where} with no lease held: its process is presumed gone"


def reap_dead_runs(archive: Any, *, now: datetime | None = None) -> list[str]:
    """Mark every dead ``running`` run ``crashed``; returns their ids."""
    now = now or datetime.now(UTC)
    host = socket.gethostname()
    try:
        rows = archive.fetch("SELECT id, source, started_at, host, pid FROM crawl_runs WHERE status = 'running'")
        held = {r["source"] for r in archive.fetch("SELECT source, holder, expires_at FROM schedule_leases")
                if (parse_datetime(r["expires_at"]) or now) > now}
    except Exception:  # an archive older than the tables: nothing to reap
        logger.debug("reaper: runs not readable", exc_info=True)
        return []
    reaped: list[str] = []
    for run in rows:
        why = _dead_reason(run, host, held, now)
        if why is None:
            continue
        archive.add_run_error(run["id"], f"crashed: {why}")
        archive.execute("UPDATE crawl_runs SET status = 'crashed', finished_at = ? WHERE id = ? AND status = 'running'",
                        (archive.enc_datetime(now), run["id"]))
        _free_dead_lease(archive, run.get("source"), host)
        logger.warning("run %s of %s marked crashed: %s", run["id"], run.get("source"), why)
        reaped.append(run["id"])
    return reaped


def _free_dead_lease(archive: Any, source: str | None, host: str) -> None:
    if not source:
        return
    row = archive.fetchone("SELECT holder FROM schedule_leases WHERE source = ?", (source,))
    if row is None:
        return
    holder_host, _, rest = str(row["holder"]).partition(":")
    pid = rest.partition(":")[0]
    if holder_host == host and pid.isdigit() and not process_alive(int(pid)):
        archive.execute("DELETE FROM schedule_leases WHERE source = ? AND holder = ?", (source, row["holder"]))

"""The long-running scheduler behind `akhbar run`.

Each due source is crawled by a subprocess of its own (``akhbar crawl SOURCE --run-id ID
-s JOBDIR=<data>/jobs/SOURCE``, started by `crawler.ops.crawl_process` as the admin endpoint's
crawls are): a site that hangs or crashes its process takes no other
source with it, and a SIGTERM can be handed to every running crawl, which Scrapy answers by
closing the spider gracefully while JOBDIR keeps the pending requests for the next start.

One crawl per source at a time: in this process (a crawl still running when its next tick
comes is skipped and logged, never started twice) and across processes and machines (a
lease row in the archive, `crawler.ops.leases`). After each crawl the feeds are published
and the run's record is completed: a crawl process that died before its spider closed
leaves a ``running`` row, which is marked ``crashed`` with its exit code.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.config import Config
from crawler.ops.crawl_process import CrawlProcess, progress_file_for, settle_run, start_crawl
from crawler.ops.leases import Leases
from crawler.ops.progress import Board, line_for, read_progress
from crawler.ops.schedule import SchedulerOptions, next_run, scheduler_options

logger = logging.getLogger(__name__)

UNSUCCESSFUL = frozenset({"failed", "crashed", "start_error"})
"""`--once` exits 1 when a crawl ended so (start_error: Scrapy could not start the spider)."""


def archive_errors() -> tuple[type[BaseException], ...]:
    """What a lost or busy archive raises (not a bug in the scheduler)."""
    errors: list[type[BaseException]] = [sqlite3.OperationalError]
    try:
        import psycopg
    except ImportError:
        pass
    else:
        errors += [psycopg.OperationalError, psycopg.InterfaceError]
    return tuple(errors)


def utcnow() -> datetime:
    return datetime.now(UTC)


Running = CrawlProcess
"""A crawl this scheduler started (`crawler.ops.crawl_process`)."""


@dataclass
class Outcome:
    source: str
    run_id: str
    status: str
    exit_code: int | None
    row: dict[str, Any] = field(default_factory=dict)


class Scheduler:
    def __init__(
        self,
        cfg: Config,
        data_dir: Path,
        archive_url: str,
        *,
        sources: list[str] | None = None,
        base_urls: dict[str, str] | None = None,
        once: bool = False,
        max_runs: int | None = None,
        crawl_settings: list[str] | None = None,
        per_source_settings: dict[str, list[str]] | None = None,
        options: SchedulerOptions | None = None,
        publish: bool | None = None,
        feeds_base_url: str | None = None,
        out: Callable[[str], None] | None = None,
        live: bool | None = None,
    ) -> None:
        self.cfg = cfg
        self.data = data_dir
        self.archive_url = archive_url
        self.sources = sources or list(cfg.sources)
        self.base_urls = base_urls or {}
        self.once = once
        self.max_runs = max_runs
        self.crawl_settings = crawl_settings or []
        self.per_source_settings = per_source_settings or {}
        self.opts = options or scheduler_options(cfg)
        self.publish = self.opts.publish if publish is None else publish
        self.feeds_base_url = feeds_base_url or os.environ.get("AKHBAR_FEEDS_BASE_URL") or "http://127.0.0.1:8080"
        self._out = out or _print
        # On a terminal, a live line per running crawl (from its PROGRESS_FILE) under the log.
        self._board: Board | None = Board(sys.stdout) if (sys.stdout.isatty() if live is None else live) else None
        self.running: dict[str, Running] = {}
        self.outcomes: list[Outcome] = []
        self.started_count = 0
        self._stop_signals = 0
        self._stop_handled = 0
        self._stop_signum: int = signal.SIGTERM
        self._stop_deadline: float | None = None
        self._noted: dict[str, str] = {}  # source -> the skip already reported (once, not every second)
        self._once_pending: set[str] = set()
        self._archive: Any = None
        self._leases: Leases | None = None
        self._last_renew = 0.0
        self._archive_down = False

    # --- signals --------------------------------------------------------------------

    def request_stop(self, signum: int = signal.SIGTERM, frame: Any = None) -> None:
        """SIGTERM/SIGINT handler: only notes the signal; the loop acts on it."""
        self._stop_signals += 1
        self._stop_signum = signum

    def _handle_stop(self) -> None:
        """Stop starting crawls, hand SIGTERM to the running ones (Scrapy's graceful close,
        JOBDIR checkpoint) and exit when they are done. A second signal is handed on too
        (Scrapy's unclean stop)."""
        if self._stop_handled == self._stop_signals:
            return
        self._stop_handled = self._stop_signals
        if self._stop_deadline is None:
            self._stop_deadline = time.monotonic() + self.opts.shutdown_timeout.total_seconds()
        name = signal.Signals(self._stop_signum).name
        self.out(f"stopping ({name}): {len(self.running)} running crawl(s) asked to checkpoint and stop")
        for r in self.running.values():
            self._terminate(r)

    def _terminate(self, r: Running) -> None:
        # A crawl treats repeated SIGTERMs as one graceful stop (a service manager may send
        # its own beside ours: crawler.commands.crawl); the second request is SIGINT, which
        # Scrapy answers with its unclean stop.
        if r.proc.poll() is None:
            try:
                r.proc.send_signal(signal.SIGINT if r.terminated else signal.SIGTERM)
            except ProcessLookupError:
                pass
        r.terminated = True

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> int:
        from crawler.archive import open_archive

        self._archive = open_archive(self.archive_url)
        self._leases = Leases(self._archive)
        from crawler.ops.reaper import reap_dead_runs

        for run_id in reap_dead_runs(self._archive):
            self.out(f"run {run_id} was left running by a process that is gone: marked crashed")
        old = {s: signal.signal(s, self.request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            if self.once:
                now = utcnow()
                self._once_pending = {s for s in self.sources if self._due(s, now) is not None}
                if not self._once_pending:
                    self.out("nothing due")
            while True:
                try:
                    if self._step():
                        break
                except archive_errors() as exc:
                    self._archive_lost(exc)
                self._draw()
                time.sleep(max(self.opts.poll.total_seconds(), 0.1))
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            for r in list(self.running.values()):  # only on an unexpected error: leave nothing behind
                self._terminate(r)
                try:
                    r.proc.wait(timeout=self.opts.shutdown_timeout.total_seconds())
                except subprocess.TimeoutExpired:
                    r.proc.kill()
                    r.proc.wait()
                self._finalize(r)
            self._archive.close()
        if self.once and any(o.status in UNSUCCESSFUL for o in self.outcomes):
            return 1
        return 0

    def _step(self) -> bool:
        """One turn of the loop; True when the scheduler is done."""
        self._reap()
        if self._stop_signals:
            self._handle_stop()
            if not self.running:
                return True
            if self._stop_deadline is not None and time.monotonic() > self._stop_deadline:
                for r in self.running.values():
                    if r.proc.poll() is None:
                        self.out(f"{r.source}: did not stop within {self.opts.shutdown_timeout}; killing it")
                        r.proc.kill()
                self._stop_deadline = None
            return False
        self._renew_leases()
        self._start_due()
        if self._archive_down:
            self.out("archive reachable again; scheduling goes on")
            self._archive_down = False
        return self._finished()

    def _archive_lost(self, exc: BaseException) -> None:
        """The archive went away (a PostgreSQL restart or failover, a dropped connection,
        SQLite busy): the running crawls have connections of their own and go on; the
        scheduler reconnects and retries on the next turn instead of dying."""
        if not self._archive_down:
            self._archive_down = True
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self.out(f"archive unavailable ({reason}); retrying every poll")
            logger.debug("archive unavailable", exc_info=True)
        from crawler.archive import open_archive

        try:
            self._archive.close()
        except Exception:  # the connection is already gone
            logger.debug("closing the lost archive failed", exc_info=True)
        try:
            self._archive = open_archive(self.archive_url)
        except archive_errors():
            logger.debug("archive still unavailable", exc_info=True)
            return
        assert self._leases is not None
        self._leases = Leases(self._archive, self._leases.holder)  # the same holder: our leases stay ours

    def _finished(self) -> bool:
        if self.running:
            return False
        if self.once:
            return not self._once_pending
        return self.max_runs is not None and self.started_count >= self.max_runs

    def _due(self, source: str, now: datetime) -> datetime | None:
        """The source's due time when it is due now, else None."""
        due = next_run(self.cfg.sources[source], now, config=self.cfg, archive=self._archive)
        return due if due is not None and due <= now else None

    def _start_due(self) -> None:
        now = utcnow()
        candidates = sorted(self._once_pending) if self.once else self.sources
        for source in candidates:
            if source in self.running:
                r = self.running[source]
                # its next tick counted from this crawl's own start (its row may not exist yet)
                tick = next_run(self.cfg.sources[source], now, config=self.cfg,
                                last_run={"started_at": r.started, "status": "running"})
                if self._noted.get(source) != r.run_id and tick is not None and tick <= now:
                    self._noted[source] = r.run_id
                    self.out(f"{source}: overrun: the crawl started {self.running[source].started:%H:%M:%S} is still "
                             "running at its next tick; not starting it twice")
                continue
            due = self._due(source, now) if not self.once else now
            if due is None:
                continue
            if len(self.running) >= self.opts.max_parallel:
                continue  # overruns of the others are still reported
            if self.max_runs is not None and self.started_count >= self.max_runs:
                continue
            assert self._leases is not None
            if not self._leases.acquire(source, self.opts.lease_ttl):
                lease = self._leases.get(source)
                holder = lease.holder if lease else "another scheduler"
                if self._noted.get(source) != f"lease:{holder}":
                    self._noted[source] = f"lease:{holder}"
                    until = f" until {lease.expires_at:%Y-%m-%d %H:%M:%S}Z" if lease else ""
                    self.out(f"{source}: skipped: a crawl of it is running elsewhere (lease held by {holder}{until})")
                self._once_pending.discard(source)
                continue
            if self._due(source, utcnow()) is None:
                # another scheduler crawled it between our look and our lease: not due any more
                self._leases.release(source)
                self._once_pending.discard(source)
                continue
            self._start(source)
            self._once_pending.discard(source)

    def _start(self, source: str) -> None:
        log = self.data / "logs" / f"{source}.log"
        r = start_crawl(self.data, source, self.archive_url, log_path=log, base_url=self.base_urls.get(source),
                        settings=[*self.crawl_settings, *self.per_source_settings.get(source, [])])
        self.running[source] = r
        self.started_count += 1
        self.out(f"{source}: started run {r.run_id}{' (resuming)' if r.resumed else ''}, pid {r.proc.pid}, log {log}")

    def out(self, line: str) -> None:
        if self._board is not None:
            self._board.clear()  # the line goes where the live lines were; they are redrawn below
        self._out(line)

    def _progress_file(self, source: str) -> Path:
        return progress_file_for(self.data, source)

    def _draw(self) -> None:
        if self._board is None:
            return
        lines = {}
        for source in self.running:
            p = read_progress(self._progress_file(source))
            c = {k: int(p.get(k, 0)) for k in ("pages", "articles", "errors")} if p else {"pages": 0, "articles": 0, "errors": 0}
            lines[source] = line_for(source, c, str(p.get("state", "")) if p else "starting")
        self._board.replace(lines, force=not lines)

    def _renew_leases(self) -> None:
        assert self._leases is not None
        if time.monotonic() - self._last_renew < self.opts.lease_ttl.total_seconds() / 3:
            return
        self._last_renew = time.monotonic()
        for source in self.running:
            if not self._leases.renew(source, self.opts.lease_ttl):
                logger.warning("%s: lease lost (expired and taken over?); the crawl goes on", source)

    def _reap(self) -> None:
        for source, r in list(self.running.items()):
            if r.proc.poll() is None:
                continue
            outcome = self._finalize(r)  # before forgetting it: if the archive fails here, the next turn retries
            del self.running[source]
            if self.publish and outcome.status not in ("crashed",) and not self._stop_signals:
                self._publish()

    def _finalize(self, r: Running) -> Outcome:
        """Complete the run's record, release the lease, keep or drop the JOBDIR."""
        code = r.proc.returncode
        rec = settle_run(self._archive, r, spider=self.cfg.sources[r.source].spider, alerts=self.cfg.table("alerts"))
        status = rec.get("status", "crashed")
        assert self._leases is not None
        self._leases.release(r.source)
        outcome = Outcome(r.source, r.run_id, status, code, rec)
        self.outcomes.append(outcome)
        self.out(describe(outcome))
        return outcome

    def _publish(self) -> None:
        from feeds.query import publish

        try:
            report = publish(self.data, self.archive_url, limit=self.opts.publish_limit, base_url=self.feeds_base_url)
        except Exception as exc:  # the feeds stay as last published; the schedule goes on
            logger.error("publish failed: %s", exc, exc_info=True)
            self.out(f"publish failed: {exc}")
            return
        self.out(f"published {self.data / 'public'}: {report.summary()}")


def describe(o: Outcome) -> str:
    r = o.row
    errors = ", ".join(f"{k}×{v}" for k, v in (r.get("http_errors") or {}).items()) or "none"
    duration = r.get("duration_s")
    took = f", {duration:.1f} s" if isinstance(duration, (int, float)) else ""
    code = f" (exit code {o.exit_code})" if o.status == "crashed" else ""
    return (f"{o.source}: {o.status}{code}: {r.get('articles_new') or 0} new, {r.get('articles_updated') or 0} updated, "
            f"{r.get('articles_failed') or 0} failed, {r.get('pages') or 0} pages, HTTP errors {errors}{took}")


def _print(line: str) -> None:
    print(f"{datetime.now():%H:%M:%S} {line}", flush=True)


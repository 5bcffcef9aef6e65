"""Admin endpoints: start a crawl of one source, rebuild the stories, follow the jobs.

Off unless a token is configured (``[admin] token`` of the sources file, or
``AKHBAR_ADMIN_TOKEN``, which wins; see `crawler.web_config`): every ``/api/admin/...``
path then answers 404, as if it did not exist. With one, a request needs
``Authorization: Bearer <token>`` (compared in constant time) or gets a 401 with
``WWW-Authenticate: Bearer``; a client that sends ``[admin] throttle_failures`` wrong
tokens within ``throttle_window_seconds`` gets 429 with ``Retry-After`` for the window,
right token or not (`feeds.web.throttle`).

    POST /api/admin/crawl?source=<id>     202 {"job": {...}}; 409 while that source crawls
    POST /api/admin/rebuild-stories       202 {"job": {...}}; 409 while a rebuild runs
    GET  /api/admin/jobs                  jobs, newest first (every server's, kept in the archive)
    GET  /api/admin/jobs/<id>             one job: status, return code, log file

Work runs as subprocesses of the ordinary CLI, so a crawl gets its own Twisted reactor and
the server never blocks on it; its output goes to ``DIR/logs/admin-<job>.log``. A crawl is
started by `crawler.ops.crawl_process`, exactly as `akhbar run` starts one (run id chosen in
advance, the per-source JOBDIR, the progress file, the schedule lease held and renewed) and
settled the same way when it ends.

Jobs are rows of ``admin_jobs`` (migration 340) in the archive the crawls write to, so they
outlive the server: a job whose process is gone while its row says ``running`` (the server
was killed, the machine rebooted) is marked ``crashed`` by the next server that reads it.
The database keeps at most one running job per kind and source, whichever worker or
server started it.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from crawler.archive import default_url, open_archive
from crawler.archive.records import parse_datetime
from crawler.config import Config, ConfigError, load_config
from crawler.ops.crawl_process import CrawlProcess, settle_run, start_crawl
from crawler.ops.reaper import process_alive
from crawler.web_config import TOKEN_ENV, AdminSettings, admin_settings, validate_admin
from feeds.web.context import WebContext
from feeds.web.errors import WebError
from feeds.web.throttle import FailureThrottle

logger = logging.getLogger(__name__)

PREFIX = "/api/admin"
MAX_BODY = 64 * 1024
LIST_LIMIT = 200
LEASE_TTL = timedelta(minutes=10)
"""A crawl started here holds the scheduler's lease on its source (crawler.ops.leases),
renewed every `LEASE_RENEW_S` while it runs, so `akhbar run` on any machine sharing the
archive does not start the same source meanwhile, and the other way round."""
LEASE_RENEW_S = 60.0
HOST = socket.gethostname()


# --- errors and the route class that turns them into JSON ---------------------------------

class AdminError(WebError):
    """An admin refusal (401, 404, 409, 429, ...): ``{"error": ...}`` like every error."""


# --- response models (the OpenAPI document is generated from them) ------------------------

class Job(BaseModel):
    id: str
    kind: Literal["crawl", "rebuild-stories"]
    source: str | None = None
    status: Literal["running", "succeeded", "failed", "crashed"]
    started_at: datetime
    finished_at: datetime | None = None
    returncode: int | None = None
    pid: int | None = None
    host: str
    log: str
    url: str
    run_id: str | None = Field(None, description="a crawl's crawl_runs id (/api/runs), known from the start")
    run_status: str | None = Field(None, description="that run's status once the job has ended")
    error: str | None = Field(None, description="why a job crashed")


class Started(BaseModel):
    job: Job


class Jobs(BaseModel):
    items: list[Job]


class Error(BaseModel):
    error: str


def _err(description: str) -> dict[str, Any]:
    return {"model": Error, "description": description}


_COMMON: dict[int | str, dict[str, Any]] = {
    401: _err("missing or wrong token (WWW-Authenticate: Bearer)"),
    404: _err("admin endpoints are off (no token configured)"),
    429: _err("too many wrong tokens from this client; Retry-After says when to come back"),
}

bearer = HTTPBearer(scheme_name="adminToken", auto_error=False,
                    description="[admin] token of the sources file, or AKHBAR_ADMIN_TOKEN")
router = APIRouter(prefix=PREFIX, tags=["admin"], responses=_COMMON)


# --- the jobs -------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _project_root() -> str:
    # `python -m crawler.cli` must import this checkout, wherever the server was started.
    return str(Path(__file__).resolve().parents[2])


def process_gone(pid: int, started: datetime | None) -> bool:
    """True when `pid` no longer runs the job's process: it does not exist, was reused, or
    is a zombie nobody reaps (the child of a killed server, reparented to an init that
    does not wait for it)."""
    if not process_alive(pid, started):
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


class Admin:
    """The admin side of one serving process: its token, throttle, and the processes it
    started (the rows of every server's jobs are in the archive)."""

    def __init__(self, settings: AdminSettings, data_dir: Path, *, archive_url: str | None = None,
                 sources_file: Any = None, sources: Mapping[str, Any] | None = None,
                 alerts: Mapping[str, Any] | None = None) -> None:
        assert settings.token is not None
        self._token = settings.token.encode("utf-8")
        self.throttle = FailureThrottle(settings.throttle_failures, settings.throttle_window_seconds)
        self.data_dir = Path(data_dir)
        # The archive the crawls write to: the server's (its run context, `WebContext`,
        # already holds what the flags and the environment said), else the data
        # directory's own, as the CLI's context defaults to.
        self.archive_url = archive_url or default_url(self.data_dir)
        self.sources_file = sources_file
        self.sources = set(sources or ())
        self._spiders = {k: getattr(v, "spider", k) for k, v in (sources or {}).items()}
        self.alerts = dict(alerts or {})
        self.archive = open_archive(self.archive_url)
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._watchers: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._holder = f"admin:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.reap()  # a job of a server killed while it ran must not show "running"

    # --- authentication -------------------------------------------------------------

    def check(self, request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        wait = self.throttle.retry_after(client)
        if wait is not None:
            raise AdminError(429, "too many wrong admin tokens from this client; retry later",
                             {"Retry-After": str(wait)})
        header = request.headers.get("authorization")
        scheme, _, given = (header or "").strip().partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode("utf-8", "surrogateescape"), self._token):
            return
        tripped = self.throttle.failed(client)
        if tripped is not None:
            logger.warning("admin: %d wrong tokens from %s; refused for %ds", self.throttle.limit, client, tripped)
            raise AdminError(429, "too many wrong admin tokens from this client; retry later",
                             {"Retry-After": str(tripped)})
        challenge = 'Bearer realm="akhbar-admin"' + (', error="invalid_token"' if header else "")
        raise AdminError(401, "admin endpoints need Authorization: Bearer <token>", {"WWW-Authenticate": challenge})

    # --- rows ---------------------------------------------------------------------------

    def _row_json(self, row: dict[str, Any]) -> Job:
        return Job(id=row["id"], kind=row["kind"], source=row["source"], status=row["status"],
                   started_at=parse_datetime(row["started_at"]) or _now(),
                   finished_at=parse_datetime(row["finished_at"]), returncode=row["returncode"], pid=row["pid"],
                   host=row["host"], log=row["log"], url=f"{PREFIX}/jobs/{row['id']}", run_id=row["run_id"],
                   run_status=row["run_status"], error=row["error"])

    def _finish(self, job_id: str, status: str, *, returncode: int | None = None, run_status: str | None = None,
                error: str | None = None) -> None:
        self.archive.execute(
            "UPDATE admin_jobs SET status = ?, finished_at = ?, returncode = ?, run_status = ?, error = ? "
            "WHERE id = ? AND status = 'running'",
            (status, self.archive.enc_datetime(_now()), returncode, run_status, error, job_id))

    def reap(self) -> list[str]:
        """Mark ``crashed`` every running job of this host whose process is gone and
        that no watcher of this process follows (the server that started it died)."""
        reaped = []
        for row in self.archive.fetch("SELECT * FROM admin_jobs WHERE status = 'running' AND host = ?", (HOST,)):
            if row["id"] in self._procs:
                continue
            started = parse_datetime(row["started_at"])
            if row["pid"] is not None and not process_gone(int(row["pid"]), started):
                continue
            if row["pid"] is None and started is not None and _now() - started < timedelta(minutes=1):
                continue  # being started by another worker right now
            run_status = None
            if row["run_id"]:
                run_status = self.archive.fetchval("SELECT status FROM crawl_runs WHERE id = ?", (row["run_id"],))
            why = f"its process ({HOST} pid {row['pid']}) is gone and the server that started it no longer runs"
            self._finish(row["id"], "crashed", run_status=run_status, error=why)
            logger.warning("admin job %s (%s) marked crashed: %s", row["id"], row["kind"], why)
            reaped.append(row["id"])
        return reaped

    def jobs(self) -> list[Job]:
        self.reap()
        rows = self.archive.fetch("SELECT * FROM admin_jobs ORDER BY started_at DESC, id DESC LIMIT ?", (LIST_LIMIT,))
        return [self._row_json(r) for r in rows]

    def job(self, job_id: str) -> Job:
        self.reap()
        row = self.archive.fetchone("SELECT * FROM admin_jobs WHERE id = ?", (job_id,))
        if row is None:
            raise AdminError(404, f"no job {job_id}")
        return self._row_json(row)

    def _claim(self, kind: str, source: str | None) -> tuple[str, Path]:
        """Insert the job's row as running; 409 when one of that kind and source runs."""
        self.reap()
        job_id = uuid.uuid4().hex[:12]
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"admin-{job_id}.log"
        try:
            self.archive.execute(
                "INSERT INTO admin_jobs (id, kind, source, status, started_at, host, log) VALUES (?, ?, ?, 'running', ?, ?, ?)",
                (job_id, kind, source, self.archive.enc_datetime(_now()), HOST, str(log)))
        except Exception as exc:
            busy = self.archive.fetchone(
                "SELECT id FROM admin_jobs WHERE status = 'running' AND kind = ? AND COALESCE(source, '') = ?",
                (kind, source or ""))
            if busy is None:
                raise
            what = f"a crawl of {source}" if source else "a stories rebuild"
            raise AdminError(409, f"{what} is already running (job {busy['id']})",
                             {"Location": f"{PREFIX}/jobs/{busy['id']}"}) from exc
        return job_id, log

    # --- starting work ------------------------------------------------------------------

    def crawl(self, source: str | None) -> tuple[Job, str]:
        if not source:
            raise AdminError(400, "source is required (?source=<id>, or in a JSON or form body)")
        if source not in self.sources:
            raise AdminError(400, f"unknown source {source!r}; known: {', '.join(sorted(self.sources))}")
        job_id, log = self._claim("crawl", source)
        if not self._lease(source, "acquire"):
            self.archive.execute("DELETE FROM admin_jobs WHERE id = ?", (job_id,))
            raise AdminError(409, f"{source} is being crawled by another process (schedule lease held)")
        try:
            crawl = start_crawl(self.data_dir, source, self.archive_url, log_path=log,
                                sources_file=self.sources_file, cwd=_project_root())
        except OSError as exc:
            self._lease(source, "release")
            self.archive.execute("DELETE FROM admin_jobs WHERE id = ?", (job_id,))
            logger.error("admin crawl of %s could not start: %s", source, exc)
            raise AdminError(503, f"could not start the crawl: {exc.strerror or exc}") from exc
        self.archive.execute("UPDATE admin_jobs SET pid = ?, run_id = ? WHERE id = ?",
                             (crawl.proc.pid, crawl.run_id, job_id))
        return self._started(job_id, crawl.proc, crawl), job_id

    def rebuild(self) -> tuple[Job, str]:
        job_id, log = self._claim("rebuild-stories", None)
        cmd = [sys.executable, "-m", "crawler.cli", "--data", str(self.data_dir)]
        if self.sources_file is not None:
            cmd += ["--sources", str(self.sources_file)]
        # The archive as an argument: the child's own environment must not pick another.
        cmd += ["dedup", "--rebuild", "--archive", self.archive_url]
        try:
            with log.open("wb") as out:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                        cwd=_project_root(), start_new_session=True)
        except OSError as exc:
            self.archive.execute("DELETE FROM admin_jobs WHERE id = ?", (job_id,))
            logger.error("admin rebuild could not start: %s", exc)
            raise AdminError(503, f"could not start the rebuild: {exc.strerror or exc}") from exc
        self.archive.execute("UPDATE admin_jobs SET pid = ? WHERE id = ?", (proc.pid, job_id))
        return self._started(job_id, proc, None), job_id

    def _started(self, job_id: str, proc: subprocess.Popen[bytes], crawl: CrawlProcess | None) -> Job:
        with self._lock:
            self._procs[job_id] = proc
            watcher = threading.Thread(target=self._watch, args=(job_id, proc, crawl), name=f"admin-job-{job_id}",
                                       daemon=True)
            self._watchers[job_id] = watcher
        job = self.job(job_id)
        run = f" run {job.run_id}{' (resuming)' if crawl and crawl.resumed else ''}," if job.run_id else ""
        logger.info("admin: %s%s started as job %s (%s pid %d)", job.kind, f" of {job.source}" if job.source else "",
                    job_id, run, proc.pid)
        watcher.start()
        return job

    def _watch(self, job_id: str, proc: subprocess.Popen[bytes], crawl: CrawlProcess | None) -> None:
        while True:
            try:
                code = proc.wait(LEASE_RENEW_S)
                break
            except subprocess.TimeoutExpired:
                if crawl is not None:
                    self._lease(crawl.source, "renew")
        run_status = self._settle(job_id, crawl) if crawl is not None else None
        if crawl is not None:
            self._lease(crawl.source, "release")
        # after the settling: a client seeing the job done sees its run done
        self._finish(job_id, "succeeded" if code == 0 else "failed", returncode=code, run_status=run_status)
        with self._lock:
            self._procs.pop(job_id, None)
        (logger.info if code == 0 else logger.warning)("admin: job %s finished with %d", job_id, code)

    def _settle(self, job_id: str, crawl: CrawlProcess) -> str | None:
        """Complete the crawl's run record and keep or drop its JOBDIR, as the scheduler does."""
        try:
            rec = settle_run(self.archive, crawl, spider=self._spiders.get(crawl.source, crawl.source),
                             alerts=self.alerts)
        except Exception:  # the job still ends; its record stays as the crawl left it
            logger.exception("admin: could not settle run %s of job %s", crawl.run_id, job_id)
            return None
        status = rec.get("status")
        return str(status) if status is not None else None

    def _lease(self, source: str, action: str) -> bool:
        """Acquire, renew or release the schedule lease on `source`; True when it took."""
        from crawler.ops.leases import Leases

        try:
            leases = Leases(self.archive, self._holder)
            if action == "release":
                leases.release(source)
                return True
            return bool(getattr(leases, action)(source, LEASE_TTL))
        except Exception:  # the crawl still runs; only cross-process exclusion is lost
            logger.exception("admin: could not %s the schedule lease on %s", action, source)
            return action != "acquire"

    def close(self) -> None:
        """Stop the jobs this process started (a crawl checkpoints and the next crawl of
        its source resumes; a rebuild restarts) and record how they ended."""
        with self._lock:
            procs = list(self._procs.values())
            watchers = list(self._watchers.values())
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for w in watchers:
            w.join(30)
        self.archive.close()


def from_config(ctx: WebContext, cfg: Config | None) -> Admin | None:
    """The admin side for a server, or None when no token is configured (off)."""
    if cfg is None:
        try:
            cfg = load_config(validate=False)
        except (ConfigError, OSError) as exc:
            if os.environ.get(TOKEN_ENV):
                raise
            logger.warning("admin endpoints off: the sources file cannot be read (%s)", exc)
            return None
        validate_admin(cfg)
    settings = admin_settings(cfg)
    if settings.token is None:
        return None
    where = TOKEN_ENV if os.environ.get(TOKEN_ENV) else f"[admin] token of {cfg.path}"
    logger.info("admin endpoints on (%s/crawl, %s/rebuild-stories; token from %s)", PREFIX, PREFIX, where)
    return Admin(settings, ctx.data_dir, archive_url=ctx.archive_url, sources_file=cfg.path, sources=cfg.sources,
                 alerts=cfg.table("alerts"))


# --- the app's hooks and routes -----------------------------------------------------------

async def startup(app: Any) -> None:
    ctx: WebContext = app.state.ctx
    app.state.admin = await run_in_threadpool(from_config, ctx, getattr(ctx, "config", None))


async def shutdown(app: Any) -> None:
    admin: Admin | None = getattr(app.state, "admin", None)
    if admin is not None:
        await run_in_threadpool(admin.close)
        app.state.admin = None


def authorized(request: Request, _: Any = Depends(bearer)) -> Admin:
    """The admin side when it is on and the request carries its token."""
    admin: Admin | None = getattr(request.app.state, "admin", None)
    if admin is None:  # off: indistinguishable from a path that does not exist
        raise AdminError(404, f"no such path: {request.url.path}")
    admin.check(request)
    return admin


async def _params(request: Request) -> dict[str, str]:
    """Parameters from the query string, overridden by a JSON object or form body."""
    out = dict(request.query_params)
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise AdminError(413, f"request body over {MAX_BODY} bytes", {"Connection": "close"})
    body = await request.body()
    if not body.strip():
        return out
    if len(body) > MAX_BODY:
        raise AdminError(413, f"request body over {MAX_BODY} bytes", {"Connection": "close"})
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise AdminError(400, "the request body must be UTF-8") from None
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype == "application/json" or (not ctype and text.lstrip().startswith("{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AdminError(400, f"malformed JSON body: {exc.msg}") from None
        if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
            raise AdminError(400, "the JSON body must be an object of strings")
        out.update({str(k): str(v) for k, v in data.items()})
    else:
        out.update({k: v[0] for k, v in parse_qs(text).items() if v})
    return out


def _accepted(job: Job, response: Response) -> Started:
    response.status_code = 202
    response.headers["Location"] = job.url
    response.headers["Cache-Control"] = "no-store"
    return Started(job=job)


_CRAWL_BODY = {"requestBody": {"required": False, "content": {
    "application/json": {"schema": {"type": "object", "properties": {"source": {"type": "string"}}}},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"source": {"type": "string"}}}}}}}


@router.post("/crawl", status_code=202, response_model=Started, summary="Start a crawl of one source "
             "(a subprocess of `akhbar crawl <source>`, as `akhbar run` starts it)",
             responses={400: _err("no or unknown source"), 409: _err("that source is already being crawled"),
                        503: _err("the process could not be started")}, openapi_extra=_CRAWL_BODY)
async def crawl(request: Request, response: Response, source: str | None = None,
                admin: Admin = Depends(authorized)) -> Started:
    params = await _params(request)
    job, _ = await run_in_threadpool(admin.crawl, params.get("source") or source)
    return _accepted(job, response)


@router.post("/rebuild-stories", status_code=202, response_model=Started,
             summary="Recompute every story (`akhbar dedup --rebuild`) in the background",
             responses={409: _err("a rebuild is already running"), 503: _err("the process could not be started")})
async def rebuild_stories(request: Request, response: Response, admin: Admin = Depends(authorized)) -> Started:
    await _params(request)  # a body, if any, is read and checked like the crawl's
    job, _ = await run_in_threadpool(admin.rebuild)
    return _accepted(job, response)


@router.get("/jobs", response_model=Jobs, summary="Jobs started through the admin endpoints, newest first")
def jobs(response: Response, admin: Admin = Depends(authorized)) -> Jobs:
    response.headers["Cache-Control"] = "no-store"
    return Jobs(items=admin.jobs())


@router.get("", response_model=Jobs, include_in_schema=False)
def jobs_root(response: Response, admin: Admin = Depends(authorized)) -> Jobs:
    return jobs(response, admin)


@router.get("/jobs/{job_id}", response_model=Job, summary="One admin job",
            responses={404: _err("no such job, or admin endpoints off")})
def job(job_id: str, response: Response, admin: Admin = Depends(authorized)) -> Job:
    response.headers["Cache-Control"] = "no-store"
    return admin.job(job_id)

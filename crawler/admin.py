"""Admin endpoints of the web app: start a crawl of one source, rebuild the stories.

Off unless a token is configured: ``[admin] token = "..."`` in the sources TOML, or
``AKHBAR_ADMIN_TOKEN`` (which wins). With no token every ``/api/admin/...`` path is a
404, as if it did not exist; with one, a request needs ``Authorization: Bearer
<token>`` (compared in constant time) or gets a 401 with ``WWW-Authenticate: Bearer``.

    POST /api/admin/crawl?source=<id>     202 {"job": {...}}; 409 while that source crawls
    POST /api/admin/rebuild-stories       202 {"job": {...}}; 409 while a rebuild runs
    GET  /api/admin/jobs                  the jobs started by this server, newest first
    GET  /api/admin/jobs/<id>             one job: status, return code, log file

Work runs as subprocesses of the ordinary CLI, so a crawl gets its own Twisted reactor and
the server's threads never block on it; their output goes to ``DIR/logs/admin-<job>.log``.
A crawl is started by `crawler.ops.crawl_process`, exactly as `akhbar run` starts one: its
run id chosen in advance (``job.run_id``), the per-source JOBDIR (a crawl stopped by SIGTERM
is resumed by the next crawl of the source, from here or from the scheduler), the progress
file; when it ends its run is settled the same way (``crashed`` if the process died before
its spider closed, the JOBDIR kept only when ``interrupted``).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qs

from crawler.config import Config, ConfigError
from crawler.ops.crawl_process import CrawlProcess, settle_run, start_crawl

logger = logging.getLogger(__name__)

PREFIX = "/api/admin"
TOKEN_ENV = "AKHBAR_ADMIN_TOKEN"
MIN_TOKEN_LENGTH = 32
"""Shorter tokens are refused at start: a guessable token is worse than none."""
DOCUMENTED_EXAMPLES = frozenset({"change-me-to-a-long-random-string", "a-long-random-string-of-32+-characters",
                                 "a-long-random-string-of-16+-characters"})
"""Tokens printed in the README and docs: copied as they are, they are public knowledge."""
MAX_JOBS_KEPT = 200
LEASE_TTL = timedelta(minutes=10)
"""A crawl started here holds the scheduler's lease on its source (crawler.ops.leases),
renewed every `LEASE_RENEW_S` while it runs, so `akhbar run` on any machine sharing the
archive does not start the same source meanwhile, and the other way round."""
LEASE_RENEW_S = 60.0
_KNOWN_KEYS = {"token"}
_JOB_PATH = re.compile(r"^/api/admin/jobs/([A-Za-z0-9_-]{1,64})/?$")

Answer = tuple[int, dict[str, Any], dict[str, str]]


def validate(cfg: Config) -> None:
    """`crawler.config.TABLE_VALIDATORS` hook for ``[admin]``."""
    table = cfg.table("admin")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{cfg.path}: [admin] unknown key(s) {', '.join(unknown)}; known: token")
    if "token" in table:
        _check_token(table["token"], f"{cfg.path}: [admin] token")


def _check_token(token: Any, where: str) -> str:
    if not isinstance(token, str):
        raise ConfigError(f"{where}: must be a string")
    if token in DOCUMENTED_EXAMPLES:
        raise ConfigError(f"{where}: is the documentation's example, known to everyone; make one with "
                          "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token) or not token.isprintable():
        raise ConfigError(f"{where}: must be at least {MIN_TOKEN_LENGTH} printable characters without spaces")
    return token


def configured_token(cfg: Config | None) -> str | None:
    """``AKHBAR_ADMIN_TOKEN``, else ``[admin] token``, else None (admin off)."""
    env = os.environ.get(TOKEN_ENV)
    if env:
        return _check_token(env, TOKEN_ENV)
    if cfg is None:
        return None
    token = cfg.table("admin").get("token")
    return _check_token(token, f"{cfg.path}: [admin] token") if token is not None else None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class Job:
    id: str
    kind: str
    """``crawl`` or ``rebuild-stories``."""
    source: str | None
    log: Path
    started_at: datetime = field(default_factory=_now)
    finished_at: datetime | None = None
    returncode: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    crawl: CrawlProcess | None = field(default=None, repr=False)
    run_status: str | None = None
    """The crawl's ``crawl_runs`` status once it has ended (``interrupted``, ``crashed``, ...)."""
    watcher: threading.Thread | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str | None:
        return self.crawl.run_id if self.crawl else None

    @property
    def status(self) -> str:
        if self.returncode is None:
            return "running"
        return "succeeded" if self.returncode == 0 else "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "source": self.source,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "returncode": self.returncode,
            "pid": self.process.pid if self.process else None,
            "log": str(self.log),
            "url": f"{PREFIX}/jobs/{self.id}",
            "run_id": self.run_id,
            "run_status": self.run_status,
        }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, {"error": message}, {"Cache-Control": "no-store", **(headers or {})}


class Admin:
    """The admin endpoints of one server; jobs live as long as the server."""

    def __init__(self, token: str, data_dir: Path, *, archive_url: str | None = None,
                 sources_file: Path | None = None, sources: Mapping[str, Any] | None = None,
                 alerts: Mapping[str, Any] | None = None) -> None:
        self._token = token.encode("utf-8")
        self.data_dir = Path(data_dir)
        self.archive_url = archive_url
        self.sources_file = sources_file
        self.sources = set(sources or ())
        self._spiders = {k: getattr(v, "spider", k) for k, v in (sources or {}).items()} \
            if isinstance(sources, Mapping) else {}
        self.alerts = dict(alerts or {})
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()
        self._holder = f"admin:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    # --- HTTP -----------------------------------------------------------------------

    def authorized(self, header: str | None) -> bool:
        scheme, _, given = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), self._token)

    def handle(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
               body: bytes = b"") -> Answer:
        """One request under ``/api/admin``: (status, JSON body, extra headers)."""
        if not self.authorized(headers.get("Authorization")):
            challenge = 'Bearer realm="akhbar-admin"'
            if headers.get("Authorization"):
                challenge += ', error="invalid_token"'
            return _error(401, "admin endpoints need Authorization: Bearer <token>", {"WWW-Authenticate": challenge})
        path = path.rstrip("/") or "/"
        if path in (f"{PREFIX}/crawl", f"{PREFIX}/rebuild-stories"):
            if method != "POST":
                return _error(405, f"{path} takes POST", {"Allow": "POST"})
            try:
                params = _params(query, headers, body)
            except ValueError as exc:
                return _error(400, str(exc))
            if path.endswith("/crawl"):
                return self._crawl(params.get("source"))
            return self._rebuild()
        if path in (f"{PREFIX}/jobs", PREFIX):
            if method not in ("GET", "HEAD"):
                return _error(405, f"{path} is read-only", {"Allow": "GET, HEAD"})
            with self._lock:
                jobs = sorted(self._jobs.values(), key=lambda j: (j.started_at, j.id), reverse=True)
            return 200, {"items": [j.to_json() for j in jobs]}, {"Cache-Control": "no-store"}
        m = _JOB_PATH.match(path)
        if m:
            if method not in ("GET", "HEAD"):
                return _error(405, f"{path} is read-only", {"Allow": "GET, HEAD"})
            job = self._jobs.get(m.group(1))
            if job is None:
                return _error(404, f"no job {m.group(1)}")
            return 200, job.to_json(), {"Cache-Control": "no-store"}
        return _error(404, f"no such admin path: {path}")

    # --- jobs -----------------------------------------------------------------------

    def _crawl(self, source: str | None) -> Answer:
        if not source:
            return _error(400, "source is required (?source=<id>, or in a JSON or form body)")
        if source not in self.sources:
            return _error(400, f"unknown source {source!r}; known: {', '.join(sorted(self.sources))}")
        with self._lock:  # check, lease and start as one step: a second request sees 409
            busy = self._running("crawl", source)
            if busy is not None:
                return self._busy(busy)
            if not self._lease(source, "acquire"):
                return _error(409, f"{source} is being crawled by another process (schedule lease held)")
            job = self._new_job("crawl", source)
            try:
                job.crawl = start_crawl(self.data_dir, source, self._crawl_archive_url(), log_path=job.log,
                                        sources_file=self.sources_file, cwd=_project_root())
            except OSError as exc:
                self._lease(source, "release")
                logger.error("admin crawl of %s could not start: %s", source, exc)
                return _error(503, f"could not start the crawl: {exc.strerror or exc}")
            job.process = job.crawl.proc
            return self._started(job)

    def _crawl_archive_url(self) -> str:
        """The archive the crawl writes to: the server's, else the one the CLI would pick."""
        from crawler.archive import default_url

        return self.archive_url or os.environ.get("AKHBAR_ARCHIVE_URL") or default_url(self.data_dir)

    def _lease(self, source: str, action: str) -> bool:
        """Acquire, renew or release the schedule lease on `source`, in the archive the
        crawl writes to (a server without an archive of its own still shares the data
        directory's with `akhbar run`); True when the action took, or when there is no
        lease module to coordinate with."""
        try:
            from crawler.archive import open_archive
            from crawler.ops.leases import Leases

            with open_archive(self._crawl_archive_url()) as archive:
                leases = Leases(archive, self._holder)
                if action == "release":
                    leases.release(source)
                    return True
                return getattr(leases, action)(source, LEASE_TTL)
        except ImportError:
            return True
        except Exception:  # the crawl still runs; only cross-process exclusion is lost
            logger.exception("admin: could not %s the schedule lease on %s", action, source)
            return action != "acquire"

    def _running(self, kind: str, source: str | None) -> Job | None:
        return next((j for j in self._jobs.values() if j.kind == kind and j.source == source and j.returncode is None), None)

    def _rebuild(self) -> Answer:
        extra = ["--archive", self.archive_url] if self.archive_url else []
        return self._start("rebuild-stories", None, ["dedup", "--rebuild", *extra])

    def _busy(self, busy: Job) -> Answer:
        what = f"a crawl of {busy.source}" if busy.source else "a stories rebuild"
        return _error(409, f"{what} is already running (job {busy.id})", {"Location": f"{PREFIX}/jobs/{busy.id}"})

    def _new_job(self, kind: str, source: str | None) -> Job:
        job_id = uuid.uuid4().hex[:12]
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return Job(job_id, kind, source, logs / f"admin-{job_id}.log")

    def _started(self, job: Job) -> Answer:
        """Register a job whose process runs and watch it to its end."""
        assert job.process is not None
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        what = f" of {job.source}" if job.source else ""
        run = f" run {job.run_id}{' (resuming)' if job.crawl and job.crawl.resumed else ''}," if job.run_id else ""
        logger.info("admin: %s%s started as job %s (%s pid %d)", job.kind, what, job.id, run, job.process.pid)
        job.watcher = threading.Thread(target=self._watch, args=(job,), name=f"admin-job-{job.id}", daemon=True)
        job.watcher.start()
        return 202, {"job": job.to_json()}, {"Location": f"{PREFIX}/jobs/{job.id}", "Cache-Control": "no-store"}

    def _start(self, kind: str, source: str | None, argv: list[str]) -> Answer:
        with self._lock:
            busy = self._running(kind, source)
            if busy is not None:
                return self._busy(busy)
            job = self._new_job(kind, source)
            cmd = [sys.executable, "-m", "crawler.cli", "--data", str(self.data_dir)]
            if self.sources_file is not None:
                cmd += ["--sources", str(self.sources_file)]
            env = dict(os.environ)
            if self.archive_url:
                env["AKHBAR_ARCHIVE_URL"] = self.archive_url
            try:
                with job.log.open("wb") as log:
                    job.process = subprocess.Popen(cmd + argv, stdin=subprocess.DEVNULL, stdout=log,
                                                   stderr=subprocess.STDOUT, env=env, cwd=_project_root())
            except OSError as exc:
                logger.error("admin %s could not start: %s", kind, exc)
                return _error(503, f"could not start the {kind}: {exc.strerror or exc}")
            return self._started(job)

    def _watch(self, job: Job) -> None:
        assert job.process is not None
        while True:
            try:
                code = job.process.wait(LEASE_RENEW_S)
                break
            except subprocess.TimeoutExpired:
                if job.source:
                    self._lease(job.source, "renew")
        run_status = self._settle(job) if job.crawl else None
        if job.source:
            self._lease(job.source, "release")
        with self._lock:  # after the settling: a client seeing the job done sees its run done
            job.returncode, job.finished_at, job.run_status = code, _now(), run_status
        log = logger.info if code == 0 else logger.warning
        log("admin: job %s (%s) finished with %d; log %s", job.id, job.kind, code, job.log)

    def _settle(self, job: Job) -> str | None:
        """Complete the crawl's run record and keep or drop its JOBDIR, as the scheduler does."""
        assert job.crawl is not None
        from crawler.archive import open_archive

        try:
            with open_archive(self._crawl_archive_url()) as archive:
                rec = settle_run(archive, job.crawl, spider=self._spiders.get(job.crawl.source, job.crawl.source),
                                 alerts=self.alerts)
        except Exception:  # the job still ends; its record stays as the crawl left it
            logger.exception("admin: could not settle run %s of job %s", job.crawl.run_id, job.id)
            return None
        return rec.get("status")

    def _forget_old(self) -> None:
        done = [j for j in self._jobs.values() if j.returncode is not None]
        for j in sorted(done, key=lambda j: j.started_at)[: max(0, len(self._jobs) - MAX_JOBS_KEPT)]:
            del self._jobs[j.id]

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every running job (tests, shutdown)."""
        for job in list(self._jobs.values()):
            if job.process is not None:
                job.process.wait(timeout)

    def close(self) -> None:
        """Stop the jobs this server started (a crawl checkpoints and the next crawl of its
        source resumes; a rebuild restarts) and settle them."""
        for job in list(self._jobs.values()):
            if job.process is not None and job.process.poll() is None:
                job.process.terminate()
                try:
                    job.process.wait(10)
                except subprocess.TimeoutExpired:
                    job.process.kill()
        for job in list(self._jobs.values()):
            if job.watcher is not None:
                job.watcher.join(30)


def _project_root() -> str:
    # `python -m crawler.cli` must import this checkout, wherever the server was started.
    return str(Path(__file__).resolve().parent.parent)


def _params(query: Mapping[str, list[str]], headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """Parameters from the query string, overridden by a JSON object or form body."""
    out = {k: v[0] for k, v in query.items() if v}
    if not body.strip():
        return out
    ctype = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the request body must be UTF-8") from None
    if ctype == "application/json" or (not ctype and text.lstrip().startswith("{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"malformed JSON body: {exc.msg}") from None
        if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
            raise ValueError("the JSON body must be an object of strings")
        out.update({str(k): str(v) for k, v in data.items()})
    else:
        out.update({k: v[0] for k, v in parse_qs(text).items() if v})
    return out


def from_config(data_dir: Path, archive_url: str | None, cfg: Config | None = None) -> Admin | None:
    """The admin endpoints for a server, or None when no token is configured (off)."""
    if cfg is None:
        from crawler.config import load_config

        try:
            cfg = load_config(validate=False)
        except (ConfigError, OSError) as exc:
            if os.environ.get(TOKEN_ENV):
                raise
            logger.warning("admin endpoints off: the sources file cannot be read (%s)", exc)
            return None
        validate(cfg)
    token = configured_token(cfg)
    if token is None:
        return None
    where = TOKEN_ENV if os.environ.get(TOKEN_ENV) else f"[admin] token of {cfg.path}"
    logger.info("admin endpoints on (%s/crawl, %s/rebuild-stories; token from %s)", PREFIX, PREFIX, where)
    return Admin(token, data_dir, archive_url=archive_url, sources_file=cfg.path, sources=cfg.sources,
                 alerts=cfg.table("alerts"))


# --- OpenAPI ---------------------------------------------------------------------------

_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_JOB_SCHEMA: dict[str, Any] = {"type": "object", "required": ["id", "kind", "status"], "properties": {
    "id": {"type": "string"}, "kind": {"type": "string", "enum": ["crawl", "rebuild-stories"]},
    "source": {"type": ["string", "null"]}, "status": {"type": "string", "enum": ["running", "succeeded", "failed"]},
    "started_at": {"type": "string", "format": "date-time"},
    "finished_at": {"type": ["string", "null"], "format": "date-time"},
    "returncode": {"type": ["integer", "null"]}, "pid": {"type": ["integer", "null"]},
    "log": {"type": "string"}, "url": {"type": "string"},
    "run_id": {"type": ["string", "null"], "description": "a crawl's crawl_runs id (/api/runs), known from the start"},
    "run_status": {"type": ["string", "null"], "description": "that run's status once the job has ended"}}}
_COMMON = {
    "401": {"description": "missing or wrong token (WWW-Authenticate: Bearer)", "content": _JSON_ERROR},
    "404": {"description": "admin endpoints are off (no token configured)", "content": _JSON_ERROR},
}
_STARTED = {"description": "started", "content": {"application/json": {"schema": {
    "type": "object", "required": ["job"], "properties": {"job": {"$ref": "#/components/schemas/Job"}}}}}}
_SECURITY = [{"adminToken": []}]

OPENAPI_PATHS: dict[str, Any] = {
    f"{PREFIX}/crawl": {"post": {
        "summary": "Start a crawl of one source (a subprocess of `akhbar crawl <source>`)",
        "security": _SECURITY,
        "parameters": [{"name": "source", "in": "query", "required": False, "description": "Source id (or in the body)",
                        "schema": {"type": "string"}}],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"source": {"type": "string"}}}}}},
        "responses": {"202": _STARTED, "400": {"description": "no or unknown source", "content": _JSON_ERROR},
                      **_COMMON, "409": {"description": "that source is already being crawled", "content": _JSON_ERROR}},
    }},
    f"{PREFIX}/rebuild-stories": {"post": {
        "summary": "Recompute every story (`akhbar dedup --rebuild`) in the background",
        "security": _SECURITY,
        "responses": {"202": _STARTED, **_COMMON, "409": {"description": "a rebuild is already running", "content": _JSON_ERROR}},
    }},
    f"{PREFIX}/jobs": {"get": {
        "summary": "Jobs started through the admin endpoints, newest first",
        "security": _SECURITY,
        "responses": {"200": {"description": "jobs", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}}}}}},
            **_COMMON},
    }},
    f"{PREFIX}/jobs/{{job_id}}": {"get": {
        "summary": "One admin job",
        "security": _SECURITY,
        "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                      **_COMMON},
    }},
}
OPENAPI_COMPONENTS: dict[str, Any] = {
    "schemas": {"Job": _JOB_SCHEMA},
    "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer",
                                       "description": "[admin] token of the sources file, or AKHBAR_ADMIN_TOKEN"}},
}

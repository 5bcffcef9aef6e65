"""Scale-out: N crawler processes on N machines share one frontier in Redis.

With a Redis URL (``-s REDIS_URL=...``, the ``AKHBAR_REDIS_URL`` setting or environment
variable, or ``[cluster] redis_url`` in the sources file) `ClusterAddon` swaps Scrapy's
scheduler for `ClusterScheduler`, a scrapy-redis scheduler whose request queue and
request-fingerprint set live in Redis under keys shared by every process crawling the
same source (``<prefix>:<spider>:<source>:requests|dupefilter|workers|busy``). Every
worker enqueues and pops the same queue, and a URL one of them has scheduled is never
scheduled by another. The archive must be one every worker reaches (PostgreSQL:
``[cluster] archive_url`` or ``AKHBAR_ARCHIVE_URL``); see docs/scale-out.md.

A *run* of a source is the time some worker is registered for it:

* the first worker to join (no live worker in ``workers``) starts a run with an empty
  fingerprint set — unless requests are still queued, left by an interrupted run, which
  is then resumed with its fingerprints;
* a worker whose own downloads are done stays open while the queue holds requests or
  another worker is busy (its answers may bring new requests), and closes once every
  worker is idle and the queue is empty;
* the last worker to leave with an empty queue deletes the fingerprints, so the next run
  fetches the listings again (articles already archived are skipped by the seen-set).

Liveness uses Redis' own clock (Lua scripts), so workers on machines whose clocks
disagree still agree; a worker that dies stops counting after ``CLUSTER_WORKER_TIMEOUT``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.config import Config, ConfigError, load_config

logger = logging.getLogger(__name__)

CLUSTER_KEYS: dict[str, type] = {
    "redis_url": str,
    "archive_url": str,
    "key_prefix": str,
    "worker_timeout": float,
}
DEFAULT_KEY_PREFIX = "akhbar"
DEFAULT_WORKER_TIMEOUT = 30.0
REDIS_SCHEMES = ("redis", "rediss", "unix")
ARCHIVE_SCHEMES = ("postgresql", "postgres", "sqlite")


def validate(cfg: Config) -> None:
    """``[cluster]`` table check (registered in `crawler.config.TABLE_VALIDATORS`)."""
    table = cfg.table("cluster")
    where = f"{cfg.path}: [cluster]"
    for key, value in table.items():
        kind = CLUSTER_KEYS.get(key)
        if kind is None:
            raise ConfigError(f"{where} {key}: unknown key; known: {', '.join(CLUSTER_KEYS)}")
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{where} {key}: expected a number of seconds > 0, got {value!r}")
        elif not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} {key}: expected a non-empty string, got {value!r}")
    if "redis_url" in table and urlsplit(table["redis_url"]).scheme not in REDIS_SCHEMES:
        raise ConfigError(f"{where} redis_url: expected redis://HOST:PORT/DB (or rediss://, unix://), "
                          f"got {table['redis_url']!r}")
    if "archive_url" in table and urlsplit(table["archive_url"]).scheme not in ARCHIVE_SCHEMES:
        raise ConfigError(f"{where} archive_url: expected postgresql://... (or sqlite:///PATH), "
                          f"got {table['archive_url']!r}")
    if "key_prefix" in table and any(c in table["key_prefix"] for c in " %{}"):
        raise ConfigError(f"{where} key_prefix: no spaces, '%' or braces, got {table['key_prefix']!r}")


def cluster_table(sources: str | None = None) -> dict[str, Any]:
    """The ``[cluster]`` table of the sources file (empty when it cannot be read: the
    crawl reports a broken sources file itself)."""
    try:
        return load_config(sources, validate=False).table("cluster")
    except (ConfigError, OSError, ValueError) as exc:
        logger.debug("cluster: no [cluster] table (%s)", exc)
        return {}


def redis_url(settings: BaseSettings, table: dict[str, Any] | None = None) -> str | None:
    """Where the shared frontier lives, or None for a single-process crawl."""
    if table is None:
        table = cluster_table(settings.get("AKHBAR_SOURCES"))
    return (settings.get("REDIS_URL") or settings.get("AKHBAR_REDIS_URL")
            or os.environ.get("AKHBAR_REDIS_URL") or table.get("redis_url") or None)


def _fill(settings: BaseSettings, name: str, value: Any) -> None:
    """Set `name` unless something more specific than the project defaults set it."""
    priority = settings.getpriority(name)
    if priority is None or priority <= SETTINGS_PRIORITIES["project"]:
        settings.set(name, value, priority="project")


class ClusterAddon:
    """Scrapy add-on (``ADDONS``): turns the ``[cluster]`` table and the Redis URL into
    settings. Without a Redis URL the frontier stays in the process (the default)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterAddon:
        return cls()

    def update_settings(self, settings: BaseSettings) -> None:
        table = cluster_table(settings.get("AKHBAR_SOURCES"))
        if table.get("archive_url") and not (settings.get("AKHBAR_ARCHIVE_URL") or os.environ.get("AKHBAR_ARCHIVE_URL")):
            _fill(settings, "AKHBAR_ARCHIVE_URL", table["archive_url"])
        url = redis_url(settings, table)
        if not settings.getbool("CLUSTER_ENABLED", True) or not url:
            return
        settings.set("REDIS_URL", url, priority=max(settings.getpriority("REDIS_URL") or 0, SETTINGS_PRIORITIES["project"]))
        _fill(settings, "SCHEDULER", "crawler.ops.cluster.ClusterScheduler")
        _fill(settings, "DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter")
        if table.get("key_prefix"):
            _fill(settings, "CLUSTER_KEY_PREFIX", table["key_prefix"])
        if table.get("worker_timeout"):
            _fill(settings, "CLUSTER_WORKER_TIMEOUT", float(table["worker_timeout"]))
        logger.info("cluster: frontier in Redis at %s", _redacted(url))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


# Joining: drop workers whose lease expired; the first live worker of a run starts it with an
# empty fingerprint set unless requests are queued (an interrupted run, resumed). Then register.
_JOIN = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', t)
local live = redis.call('ZCARD', KEYS[1])
local queued = redis.call('ZCARD', KEYS[3])
local fresh = 0
if live == 0 and queued == 0 then
  redis.call('DEL', KEYS[2])
  fresh = 1
end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[1])
return {live, queued, fresh}
"""
# Heartbeat: renew this worker's lease and say whether it is busy; answer how many other
# workers are busy (their answers may still bring requests).
_BEAT = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', t)
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[1])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[2], t + tonumber(ARGV[2]), ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local busy = redis.call('ZCARD', KEYS[2])
if ARGV[3] == '1' then busy = busy - 1 end
return busy
"""
# Leaving: the last live worker with nothing queued ends the run (fingerprints deleted).
_LEAVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[2], KEYS[4])
  return 1
end
return 0
"""


def source_keys(prefix: str, spider: str, source: str) -> dict[str, str]:
    """Redis keys of one source's shared frontier."""
    base = f"{prefix}:{spider}:{source}"
    return {name: f"{base}:{name}" for name in ("requests", "dupefilter", "workers", "busy")}


class ClusterScheduler(Scheduler):
    """scrapy-redis' scheduler with per-source keys and a run shared by several workers.

    Requests go through Redis (pickled ``Request.to_dict``), so callbacks must be spider
    methods and meta / cb_kwargs plain data — true of every Akhbar spider.
    """

    crawler: Crawler
    prefix: str
    timeout: float
    """CLUSTER_WORKER_TIMEOUT: a worker's lease, renewed every `beat_interval` seconds."""
    beat_interval: float
    worker_id: str
    keys: dict[str, str]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterScheduler:
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        settings = crawler.settings
        scheduler.prefix = settings.get("CLUSTER_KEY_PREFIX") or DEFAULT_KEY_PREFIX
        scheduler.timeout = settings.getfloat("CLUSTER_WORKER_TIMEOUT", DEFAULT_WORKER_TIMEOUT)
        # Also how soon a waiting worker sees requests another one queued (Redis is asked
        # four times a second per source: negligible next to the crawl's own traffic).
        scheduler.beat_interval = min(0.25, scheduler.timeout / 4)
        scheduler.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        return scheduler

    def open(self, spider: Spider) -> None:
        # scrapy-redis %-formats the queue key (twice); ours is already complete.
        source = str(getattr(spider, "source_id", None) or spider.name).replace("%", "_")
        self.keys = source_keys(self.prefix, spider.name, source)
        self.queue_key = self.keys["requests"]
        self.df = RFPDupeFilter(self.server, key=self.keys["dupefilter"],
                                debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        self._join = self.server.register_script(_JOIN)
        self._beat_script = self.server.register_script(_BEAT)
        self._leave = self.server.register_script(_LEAVE)
        self._busy_marked = False
        self._others_busy = 0
        live, queued, fresh = self._join(
            keys=[self.keys["workers"], self.keys["dupefilter"], self.keys["requests"], self.keys["busy"]],
            args=[self.worker_id, self.timeout],
        )
        if fresh:
            logger.info("cluster: %s starts a run of %s (worker %s)", spider.name, source, self.worker_id)
        elif queued and not live:
            logger.info("cluster: %s resumes an interrupted run of %s: %d requests queued", spider.name, source, queued)
        else:
            logger.info("cluster: %s joins the run of %s: %d other worker(s), %d requests queued",
                        spider.name, source, live, queued)
        if self.stats is not None:
            self.stats.set_value("cluster/worker", self.worker_id)
            self.stats.set_value("cluster/joined_workers", int(live))
        super().open(spider)
        self._loop = LoopingCall(self._heartbeat)
        self._loop.start(self.beat_interval, now=True)

    def close(self, reason: str) -> None:
        if getattr(self, "_loop", None) is not None and self._loop.running:
            self._loop.stop()
        ended = self._leave(
            keys=[self.keys["workers"], self.keys["dupefilter"], self.keys["requests"], self.keys["busy"]],
            args=[self.worker_id],
        )
        if ended:
            logger.info("cluster: last worker out; run of %s ended", self.keys["requests"].rsplit(":", 1)[0])
        # Not scrapy-redis' close: its flush (SCHEDULER_PERSIST off) would empty the queue
        # and the fingerprints under the workers still crawling.

    # --- liveness ---------------------------------------------------------------------
    def _locally_busy(self) -> bool:
        engine = self.crawler.engine
        if engine is None:
            return False
        scraper_slot = getattr(engine.scraper, "slot", None)
        return (bool(engine.downloader.active)
                or (scraper_slot is not None and not scraper_slot.is_idle())
                or getattr(engine, "_start", None) is not None)

    def _beat(self, busy: bool) -> None:
        self._others_busy = int(self._beat_script(
            keys=[self.keys["workers"], self.keys["busy"]],
            args=[self.worker_id, self.timeout, "1" if busy else "0"],
        ))
        self._busy_marked = busy

    def _heartbeat(self) -> None:
        try:
            self._beat(self._locally_busy())
            queued = len(self.queue)
        except Exception:  # Redis unreachable for a moment: the lease lasts CLUSTER_WORKER_TIMEOUT
            logger.warning("cluster: heartbeat failed", exc_info=True)
            return
        # Requests another worker queued are picked up now rather than at the engine's next
        # 5-second heartbeat.
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and queued:
            slot.nextcall.schedule()

    # --- scheduling -------------------------------------------------------------------
    def next_request(self) -> Request | None:
        request = super().next_request()
        if request is not None and not self._busy_marked:
            # Mark busy before the download starts, so no other worker sees an idle cluster
            # while this one holds the last request.
            self._beat(True)
        return request

    def has_pending_requests(self) -> bool:
        if len(self) > 0:
            return True
        # Asked when this worker's own downloads are done: ask Redis afresh whether another
        # worker is still busy (its answers may bring new requests) instead of trusting the
        # last heartbeat.
        try:
            self._beat(self._locally_busy())
        except Exception:
            logger.warning("cluster: cannot reach Redis; this worker stops here", exc_info=True)
            return False
        return self._others_busy > 0

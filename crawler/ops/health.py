"""Per-source status: the last run, its health, the next run, articles per day.

What ``akhbar status``, ``GET /api/status`` and the web app's ``/status`` page show
(`feeds.web.api`, `feeds.web.pages`),
computed here once from the archive (``crawl_runs`` with the health the monitors
recorded, the articles) and the schedule (`crawler.ops.schedule.next_run`).

A source's health is that of its latest judged run (``ok`` | ``degraded`` |
``failing``), ``failing`` when its latest run ended without being judged because the
crawl crashed, ``unknown`` when no run of it was judged yet; a run in progress does not
change it. Articles per day count the
articles by publication date (the fetch date when none was parsed), in UTC days, over
the last `WINDOW_DAYS` days, in one query on the articles' date-ordered ``sort_key``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from crawler.archive.records import SORT_SHIFT, parse_datetime

logger = logging.getLogger(__name__)

WINDOW_DAYS = 30
HEALTHS = ("ok", "degraded", "failing", "unknown")
_DAY_UNITS = 86400 * SORT_SHIFT
"""sort_key units in one day: sort_key // _DAY_UNITS is the UTC day number since 1970-01-01."""
_EPOCH = date(1970, 1, 1)
_RECENT_RUNS = 10
"""How far back to look for the latest judged run (a crash leaves runs without health)."""


@dataclass
class SourceStatus:
    id: str
    name: str
    health: str
    running: bool
    last_run: dict[str, Any] | None
    next_run: datetime | None
    articles_per_day: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "health": self.health,
            "running": self.running,
            "last_run": self.last_run,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "articles_per_day": self.articles_per_day,
            "articles_30d": sum(self.articles_per_day),
        }


@dataclass
class Status:
    generated_at: datetime
    days: list[date]
    sources: list[SourceStatus]

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "days": [d.isoformat() for d in self.days],
            "sources": [s.to_dict() for s in self.sources],
        }


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def run_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``crawl_runs`` row as the status shows it: times, status, health, counts and
    the failed monitors, and which extraction layer gave titles, bodies and dates.
    Counts come from the scheduler's columns when the archive has them, else from the
    run's stats."""
    stats = _json(row.get("stats")) or {}
    monitors = _json(row.get("monitors")) or []
    http_errors = _json(row.get("http_errors"))
    started, finished = parse_datetime(row.get("started_at")), parse_datetime(row.get("finished_at"))
    duration = row.get("duration_s")
    if duration is None:
        duration = stats.get("elapsed_time_seconds")

    def count(column: str, stat: str) -> int | None:
        v = _int(row.get(column))
        return v if v is not None else _int(stats.get(stat, 0 if stats else None))

    return {
        "id": row.get("id"),
        "started_at": started.isoformat() if started else None,
        "finished_at": finished.isoformat() if finished else None,
        "status": row.get("status"),
        "health": row.get("health"),
        "articles_scraped": _int(stats.get("item_scraped_count", 0 if stats else None)),
        "articles_new": count("articles_new", "archive/inserted"),
        "articles_updated": count("articles_updated", "archive/updated"),
        "pages": count("pages", "response_received_count"),
        "http_errors": http_errors if isinstance(http_errors, dict) else None,
        "duration_s": round(float(duration), 3) if isinstance(duration, (int, float)) else None,
        "failed_monitors": [m for m in monitors if isinstance(m, dict) and not m.get("ok")],
        "layers": _layers(row.get("layers")),
    }


def _layers(value: Any) -> dict[str, dict[str, int]] | None:
    """The run's ``{field: {layer: articles}}`` (None for runs recorded before layers were)."""
    value = _json(value)
    return value if isinstance(value, dict) else None


def articles_per_day(archive: Any, today: date, days: int = WINDOW_DAYS) -> dict[str, list[int]]:
    """Source -> article counts for the `days` UTC days ending with `today` (oldest first)."""
    first = today - timedelta(days=days - 1)
    lo = int(datetime.combine(first, time(), UTC).timestamp()) * SORT_SHIFT
    hi = int(datetime.combine(today + timedelta(days=1), time(), UTC).timestamp()) * SORT_SHIFT
    first_day = (first - _EPOCH).days
    # _DAY_UNITS is a constant of this module (not input); both backends divide integers
    # exactly, and the range walks the unique sort_key index.
    rows = archive.fetch(
        f"SELECT source, sort_key / {_DAY_UNITS} AS day, COUNT(*) AS n FROM articles "
        "WHERE sort_key >= ? AND sort_key < ? GROUP BY source, day",
        (lo, hi),
    )
    out: dict[str, list[int]] = {}
    for r in rows:
        i = int(r["day"]) - first_day
        if 0 <= i < days:
            out.setdefault(r["source"], [0] * days)[i] += int(r["n"])
    return out


def _held_leases(archive: Any, now: datetime) -> set[str]:
    try:
        from crawler.ops.leases import Leases
    except ImportError:
        return set()
    try:
        return {lease.source for lease in Leases(archive).held(now=now)}
    except Exception:  # no lease table yet (no scheduler has run): nothing is leased
        logger.debug("leases unavailable", exc_info=True)
        return set()


def _next_run(source: Any, now: datetime, cfg: Any, last_row: Mapping[str, Any] | None) -> datetime | None:
    try:
        from crawler.ops.schedule import next_run
    except ImportError:
        return None
    try:
        return next_run(source, now, config=cfg, last_run=dict(last_row) if last_row else {})
    except Exception:  # a source the scheduler cannot place shows no next run
        logger.debug("next run of %s unavailable", getattr(source, "id", source), exc_info=True)
        return None


UNJUDGED_FAILURES = ("crashed", "failed")
"""Statuses of runs that ended without monitors (the crawl process died, or the
scheduler recorded that no page answered): the source is failing."""


def _health(done: Mapping[str, Any] | None, judged: Mapping[str, Any] | None) -> str:
    if done is not None and not done.get("health") and done.get("status") in UNJUDGED_FAILURES:
        return "failing"
    return judged["health"] if judged else "unknown"


def source_status(archive: Any, cfg: Any = None, *, now: datetime | None = None) -> Status:
    """Everything the status shows, for every configured source (and any other source
    the archive has runs of)."""
    from crawler.config import load_config

    now = now or datetime.now(UTC)
    cfg = cfg or load_config(validate=False)
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=WINDOW_DAYS - 1 - i) for i in range(WINDOW_DAYS)]
    per_day = articles_per_day(archive, today)
    leased = _held_leases(archive, now)
    ids = list(cfg.sources)
    ids += sorted({r["source"] for r in archive.fetch("SELECT DISTINCT source FROM crawl_runs WHERE source IS NOT NULL")}
                  - set(ids))
    out = []
    for sid in ids:
        rows = archive.fetch(
            "SELECT * FROM crawl_runs WHERE source = ? ORDER BY started_at DESC, id DESC LIMIT ?", (sid, _RECENT_RUNS)
        )
        last = rows[0] if rows else None
        done = next((r for r in rows if r.get("status") != "running"), last)
        judged = next((r for r in rows if r.get("health")), None)
        src = cfg.sources.get(sid)
        out.append(
            SourceStatus(
                id=sid,
                name=src.name if src else sid,
                health=_health(done, judged),
                running=sid in leased,
                last_run=run_summary(done) if done else None,
                next_run=_next_run(src, now, cfg, last) if src else None,
                articles_per_day=per_day.get(sid, [0] * WINDOW_DAYS),
            )
        )
    return Status(generated_at=now, days=days, sources=out)

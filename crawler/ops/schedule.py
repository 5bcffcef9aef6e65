"""Per-source crawl schedules: when is each source's next crawl due.

A source's schedule comes from its entry in the sources file, merged over ``[defaults]``:

    schedule    = "every 30m"        # or a 5-field cron expression "*/30 * * * *", or "off"
    jitter      = "5m"               # a deterministic offset in [0, jitter) added to each tick
    quiet_hours = "01:00-05:00"      # local time; a tick inside waits for their end

Cron expressions and quiet hours are read in the source's ``timezone`` (Africa/Casablanca
by default: UTC+1, UTC+0 in Ramadan). The 5-field matcher is written here (standard
fields, lists, ranges, steps, month and weekday names, ``@hourly``-style macros) because
it is small and its timezone behaviour must be exactly what is documented in
docs/scheduler.md: a wall-clock minute skipped by a clock change is skipped, a repeated one
fires once (its first occurrence).

`next_run(source, after)` is what `akhbar run`, `akhbar status` and ``/api/status`` all
call, so they agree on the same time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.config import Config, ConfigError, Source, load_config

SCHEDULE_KEYS = ("schedule", "jitter", "quiet_hours")
DEFAULT_SCHEDULE = "every 1h"
RESUME_STATUSES = frozenset({"interrupted"})
"""A last run in one of these states is due again at once: the next start resumes it."""

# [schedule] table: scheduler-wide options and their types/defaults.
SCHEDULE_TABLE_DEFAULTS: dict[str, Any] = {
    "max_parallel": 2,
    "publish": True,
    "publish_limit": 50,
    "lease_ttl": "10m",
    "shutdown_timeout": "2m",
    "poll": "1s",
}

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+)\s*([smhd])")


# --- durations and times of day ---------------------------------------------------------


def parse_duration(text: Any) -> timedelta:
    """``"90s"``, ``"30m"``, ``"1h30m"``, ``"2d"``, or ``0``/``"0"``; raises ValueError."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ValueError(f"expected a duration like \"30m\", got {text!r}")
    if isinstance(text, int) or text.strip() == "0":
        if int(text) != 0:
            raise ValueError(f"a duration needs a unit (s, m, h, d): {text!r}")
        return timedelta(0)
    s = text.strip().lower().replace(" ", "")
    pos, total = 0, 0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        raise ValueError(f"not a duration (use s, m, h, d as in \"1h30m\"): {text!r}")
    return timedelta(seconds=total)


def _parse_clock(text: str) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59 or (int(m.group(1)) == 24 and int(m.group(2))):
        raise ValueError(f"not a time of day HH:MM: {text!r}")
    h, mi = int(m.group(1)), int(m.group(2))
    return time(0, 0) if h == 24 else time(h, mi)


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: Any) -> QuietHours | None:
        """``"01:00-05:00"`` (may wrap midnight: ``"22:00-06:00"``); ``""`` or absent: none."""
        if text is None or text == "" or text is False:
            return None
        if not isinstance(text, str) or text.count("-") != 1:
            raise ValueError(f"expected \"HH:MM-HH:MM\", got {text!r}")
        a, b = text.split("-")
        q = cls(_parse_clock(a), _parse_clock(b))
        if q.start == q.end:
            raise ValueError(f"quiet hours start and end are the same: {text!r}")
        return q

    def contains(self, local: datetime) -> bool:
        t = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def end_after(self, local: datetime) -> datetime:
        """The end of the quiet period containing `local` (a local wall-clock time)."""
        day = local.date()
        if not (self.start < self.end) and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end)


# --- cron -------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELDS: tuple[tuple[str, int, int, Mapping[str, int]], ...] = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS), ("day of week", 0, 7, _DAYS),
)


def _cron_field(text: str, name: str, lo: int, hi: int, names: Mapping[str, int]) -> frozenset[int]:
    def value(v: str) -> int:
        key = v.lower()
        if key in names:
            return names[key]
        if not v.isdigit():
            raise ValueError(f"{name}: {v!r} is not a number")
        n = int(v)
        if not lo <= n <= hi:
            raise ValueError(f"{name}: {n} is outside {lo}-{hi}")
        return n

    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_s = part.partition("/")
        step = 1
        if step_s:
            if not step_s.isdigit() or int(step_s) == 0:
                raise ValueError(f"{name}: bad step {step_s!r}")
            step = int(step_s)
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            x, _, y = rng.partition("-")
            a, b = value(x), value(y)
            if a > b:
                raise ValueError(f"{name}: range {rng!r} runs backwards")
        elif rng:
            a = value(rng)
            b = hi if step_s else a
        else:
            raise ValueError(f"{name}: empty field")
        out.update(range(a, b + 1, step))
    return frozenset(out)


@dataclass(frozen=True)
class Cron:
    """A 5-field cron expression, matched on local wall-clock minutes."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday (7 folded onto 0)."""
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        spec = _MACROS.get(text.strip().lower(), text)
        parts = spec.split()
        if len(parts) != 5:
            raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday), got {len(parts)}: {text!r}")
        sets = [_cron_field(p, *f) for p, f in zip(parts, _FIELDS)]
        weekdays = frozenset(d % 7 for d in sets[4])
        c = cls(text, sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*")
        if not any(c._day_ok(date(2000 + y, m, 1) + timedelta(days=d)) for y in (0, 1, 2, 3) for m in c.months for d in range(31)):
            raise ValueError(f"never matches any date: {text!r}")
        return c

    def _day_ok(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        # Vixie cron: when both day fields are restricted, either may match.
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime:
        """The first matching minute strictly after `after` (aware), as aware UTC."""
        local = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=1)
        # A repeated wall-clock hour starts one minute before the local clock shows: compare in UTC.
        day = local.date() - timedelta(days=1)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for _ in range(366 * 5 + 2):
            if self._day_ok(day):
                for h in hours:
                    for mi in minutes:
                        naive = datetime.combine(day, time(h, mi))
                        aware = naive.replace(tzinfo=tz, fold=0)
                        u = aware.astimezone(UTC)
                        if u.astimezone(tz).replace(tzinfo=None) != naive:
                            continue  # skipped by a clock change
                        if u > after:
                            return u
            day += timedelta(days=1)
        raise ValueError(f"cron expression {self.text!r} never matches")


@dataclass(frozen=True)
class Every:
    interval: timedelta

    @classmethod
    def parse(cls, text: str) -> Every:
        d = parse_duration(text)
        if d <= timedelta(0):
            raise ValueError(f"interval must be longer than 0: {text!r}")
        return cls(d)


Trigger = Cron | Every


def parse_trigger(text: Any) -> Trigger | None:
    """``"every 30m"``, a cron expression, or ``"off"`` (None); raises ValueError."""
    if not isinstance(text, str):
        raise ValueError(f"expected a string such as \"every 30m\" or \"*/30 * * * *\", got {text!r}")
    s = text.strip()
    if s.lower() in ("off", "never", "manual"):
        return None
    if s.lower().startswith("every "):
        return Every.parse(s[6:])
    return Cron.parse(s)


# --- one source's schedule ----------------------------------------------------------------


@dataclass(frozen=True)
class SourceSchedule:
    source: str
    trigger: Trigger | None
    jitter: timedelta
    quiet: QuietHours | None
    tz: ZoneInfo

    @classmethod
    def from_raw(cls, source: str, raw: Mapping[str, Any], timezone_name: str = "Africa/Casablanca") -> SourceSchedule:
        """Raises ValueError("<key>: <reason>")."""

        def field(key: str, parse: Any, default: Any) -> Any:
            try:
                return parse(raw.get(key, default))
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None

        try:
            tz = ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {timezone_name!r}") from None
        return cls(
            source=source,
            trigger=field("schedule", parse_trigger, DEFAULT_SCHEDULE),
            jitter=field("jitter", parse_duration, "0"),
            quiet=field("quiet_hours", QuietHours.parse, None),
            tz=tz,
        )

    def jitter_for(self, tick: datetime) -> timedelta:
        """A deterministic offset in [0, jitter): same source and tick, same offset."""
        span = int(self.jitter.total_seconds())
        if span <= 0:
            return timedelta(0)
        digest = hashlib.sha256(f"{self.source}|{tick.astimezone(UTC).isoformat()}".encode()).digest()
        return timedelta(seconds=int.from_bytes(digest[:8], "big") % span)

    def tick_after(self, last_started: datetime) -> datetime:
        """The schedule's first tick after a run that started at `last_started`."""
        assert self.trigger is not None
        if isinstance(self.trigger, Every):
            return last_started + self.trigger.interval
        return self.trigger.next_after(last_started, self.tz)

    def settle(self, tick: datetime) -> datetime:
        """Quiet hours, then jitter, applied to a tick (aware)."""
        due = tick
        if self.quiet is not None:
            local = due.astimezone(self.tz)
            if self.quiet.contains(local):
                end = self.quiet.end_after(local.replace(tzinfo=None)).replace(tzinfo=self.tz)
                due = end.astimezone(UTC)
        due = due + self.jitter_for(tick)
        if self.quiet is not None and self.quiet.contains(due.astimezone(self.tz)):
            # jitter pushed it back in (quiet hours starting right after): wait them out too
            due = self.quiet.end_after(due.astimezone(self.tz).replace(tzinfo=None)).replace(tzinfo=self.tz)
        return due.astimezone(UTC)

    def next_run(self, after: datetime, *, last_started: datetime | None = None,
                 last_status: str | None = None) -> datetime | None:
        if self.trigger is None:
            return None
        if last_started is None or last_status in RESUME_STATUSES:
            # never run, or interrupted: due now, unless now is quiet
            if self.quiet is not None and self.quiet.contains(after.astimezone(self.tz)):
                return self.settle(after)
            return after
        return self.settle(self.tick_after(last_started))


def schedule_for(source: Source) -> SourceSchedule:
    """The schedule of a loaded source; raises ValueError("<key>: <reason>")."""
    return SourceSchedule.from_raw(source.id, source.raw, source.timezone)


def next_run(source: str | Source, after: datetime | None = None, *, config: Config | None = None,
             archive: Any = None, last_run: Mapping[str, Any] | None = None) -> datetime | None:
    """When `source`'s next crawl is due (aware UTC), None when it is not scheduled.

    The value may be earlier than `after` (default now): the source is overdue and is
    started as soon as a slot is free. The last run comes from `last_run` (a
    ``crawl_runs`` row), else from `archive` when given (none: never run)."""
    now = after or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("next_run: `after` must be timezone-aware")
    if isinstance(source, str):
        cfg = config or load_config()
        if source not in cfg.sources:
            raise KeyError(f"unknown source {source!r}")
        src = cfg.sources[source]
    else:
        src = source
    if last_run is None and archive is not None:
        rows = archive.runs(source=src.id, limit=1)
        last_run = rows[0] if rows else None
    started = last_run.get("started_at") if last_run else None
    if isinstance(started, str):
        started = datetime.fromisoformat(started)
    status = last_run.get("status") if last_run else None
    return schedule_for(src).next_run(now, last_started=started, last_status=status)


# --- validation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SchedulerOptions:
    max_parallel: int
    publish: bool
    publish_limit: int
    lease_ttl: timedelta
    shutdown_timeout: timedelta
    poll: timedelta


def scheduler_options(cfg: Config) -> SchedulerOptions:
    """The [schedule] table with defaults; raises ConfigError naming file, key and reason."""
    table = {**SCHEDULE_TABLE_DEFAULTS, **cfg.table("schedule")}
    unknown = sorted(set(table) - set(SCHEDULE_TABLE_DEFAULTS))
    if unknown:
        raise ConfigError(f"{cfg.path}: [schedule] {unknown[0]}: unknown key; known: {', '.join(SCHEDULE_TABLE_DEFAULTS)}")

    def get(key: str, kind: type) -> Any:
        v = table[key]
        if kind is int and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ConfigError(f"{cfg.path}: [schedule] {key}: expected a whole number ≥ 1, got {v!r}")
        if kind is bool and not isinstance(v, bool):
            raise ConfigError(f"{cfg.path}: [schedule] {key}: expected true or false, got {v!r}")
        if kind is timedelta:
            try:
                return parse_duration(v)
            except ValueError as exc:
                raise ConfigError(f"{cfg.path}: [schedule] {key}: {exc}") from None
        return v

    return SchedulerOptions(
        max_parallel=get("max_parallel", int),
        publish=get("publish", bool),
        publish_limit=get("publish_limit", int),
        lease_ttl=get("lease_ttl", timedelta),
        shutdown_timeout=get("shutdown_timeout", timedelta),
        poll=get("poll", timedelta),
    )


def validate(cfg: Config) -> None:
    """TABLE_VALIDATORS hook: every source's schedule keys and the [schedule] table."""
    scheduler_options(cfg)
    for sid, src in cfg.sources.items():
        try:
            schedule_for(src)
        except ValueError as exc:
            key, _, reason = str(exc).partition(": ")
            where = f"[sources.{sid}]" if key in src.raw and key in _entry_keys(cfg, sid) else "[defaults]"
            raise ConfigError(f"{cfg.path}: {where} {key}: {reason}") from None


def _entry_keys(cfg: Config, sid: str) -> set[str]:
    import tomllib

    try:
        raw = tomllib.loads(cfg.path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return set()
    return set((raw.get("sources") or {}).get(sid) or {})

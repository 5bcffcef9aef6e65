"""Schedules: durations, cron expressions, quiet hours and jitter in Casablanca time
(UTC+1, UTC+0 during Ramadan), `next_run`, and config validation naming file, key, reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.config import ConfigError, load_config
from crawler.ops.schedule import (
    Cron,
    QuietHours,
    SourceSchedule,
    next_run,
    parse_duration,
    parse_trigger,
)

CASA = ZoneInfo("Africa/Casablanca")
UTC = UTC


def casa(*args: int) -> datetime:
    return datetime(*args, tzinfo=CASA)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("90s", 90), ("1h30m", 5400), ("2d", 172800), ("1h 5m", 3900), ("0", 0), (0, 0), ("45M", 2700)],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "5x", "m30", "1.5h", 30, None, True, "30m foo"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


# (cron spec, after, expected next) — `after` and the expectation in Casablanca wall time
# unless given in UTC. 2026: Ramadan clocks go back 03:00 -> 02:00 on 15 February
# (02:00-02:59 happens twice) and forward 02:00 -> 03:00 on 22 March (02:xx never happens).
CRON_TABLE = [
    ("*/30 * * * *", casa(2026, 11, 29, 10, 0), casa(2026, 11, 29, 10, 30)),
    ("*/30 * * * *", casa(2026, 11, 29, 10, 29, 59), casa(2026, 11, 29, 10, 30)),
    ("0 6 * * *", casa(2026, 11, 29, 6, 0), casa(2026, 11, 30, 6, 0)),
    ("0 6 * * *", casa(2026, 11, 29, 5, 59), casa(2026, 11, 29, 6, 0)),
    ("15 8-18/5 * * *", casa(2026, 11, 29, 13, 16), casa(2026, 11, 29, 18, 15)),
    ("0 0 1 * *", casa(2026, 12, 15, 0, 0), casa(2027, 1, 1, 0, 0)),
    ("0 9 * * mon-fri", casa(2026, 11, 28, 12, 0), casa(2026, 11, 30, 9, 0)),  # Saturday -> Monday
    ("0 9 * * 7", casa(2026, 11, 29, 9, 0), casa(2026, 12, 6, 9, 0)),  # 7 is Sunday too
    ("0 12 13 * fri", casa(2026, 11, 1, 0, 0), casa(2026, 11, 6, 12, 0)),  # either day field matches
    ("0 0 29 feb *", casa(2026, 3, 1, 0, 0), casa(2028, 2, 29, 0, 0)),
    ("@hourly", casa(2026, 11, 29, 10, 1), casa(2026, 11, 29, 11, 0)),
    ("30 1 * * *", casa(2026, 6, 30, 23, 0), casa(2026, 7, 1, 1, 30)),
    # Casablanca is UTC+1 outside Ramadan: 06:00 local is 05:00 UTC
    ("0 6 * * *", utc(2026, 11, 29, 4, 0), utc(2026, 11, 29, 5, 0)),
    # ...and UTC+0 during Ramadan
    ("0 6 * * *", utc(2026, 3, 1, 4, 0), utc(2026, 3, 1, 6, 0)),
    # the repeated hour fires once (its first occurrence, 02:30+01 = 01:30 UTC)
    ("30 2 * * *", utc(2026, 2, 15, 0, 0), utc(2026, 2, 15, 1, 30)),
    ("30 2 * * *", utc(2026, 2, 15, 1, 30), utc(2026, 2, 16, 2, 30)),
    # the skipped hour does not fire at all on 22 March
    ("30 2 * * *", utc(2026, 3, 21, 3, 0), utc(2026, 3, 23, 1, 30)),
    ("*/20 * * * *", utc(2026, 3, 22, 1, 50), utc(2026, 3, 22, 2, 0)),  # 02:00+00 is 03:00+01
]


@pytest.mark.parametrize(("spec", "after", "expected"), CRON_TABLE)
def test_cron_next(spec: str, after: datetime, expected: datetime) -> None:
    got = Cron.parse(spec).next_after(after, CASA)
    assert got == expected, (spec, after.isoformat(), got.astimezone(CASA).isoformat())
    assert got.tzinfo is not None


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("* * * *", "5 fields"),
        ("60 * * * *", "outside 0-59"),
        ("* 24 * * *", "outside 0-23"),
        ("*/0 * * * *", "bad step"),
        ("5-1 * * * *", "backwards"),
        ("0 0 31 feb *", "never matches"),
        ("0 0 * foo *", "not a number"),
    ],
)
def test_bad_cron(spec: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Cron.parse(spec)


def test_triggers() -> None:
    assert parse_trigger("off") is None
    assert parse_trigger("every 30m").interval == timedelta(minutes=30)  # type: ignore[union-attr]
    assert parse_trigger("every 10s").interval == timedelta(seconds=10)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="longer than 0"):
        parse_trigger("every 0s")
    with pytest.raises(ValueError):
        parse_trigger(30)


@pytest.mark.parametrize(
    ("spec", "local", "inside", "end"),
    [
        ("01:00-05:00", casa(2026, 11, 29, 3, 0), True, casa(2026, 11, 29, 5, 0)),
        ("01:00-05:00", casa(2026, 11, 29, 5, 0), False, None),
        ("01:00-05:00", casa(2026, 11, 29, 0, 59), False, None),
        ("22:00-06:00", casa(2026, 11, 29, 23, 0), True, casa(2026, 11, 30, 6, 0)),
        ("22:00-06:00", casa(2026, 11, 30, 2, 0), True, casa(2026, 11, 30, 6, 0)),
        ("22:00-24:00", casa(2026, 11, 29, 23, 0), True, casa(2026, 11, 30, 0, 0)),
    ],
)
def test_quiet_hours(spec: str, local: datetime, inside: bool, end: datetime | None) -> None:
    q = QuietHours.parse(spec)
    assert q is not None
    assert q.contains(local) is inside
    if end is not None:
        assert q.end_after(local.replace(tzinfo=None)) == end.replace(tzinfo=None)


def sched(**raw: object) -> SourceSchedule:
    return SourceSchedule.from_raw("hespress", raw)


def test_interval_from_last_start_and_overdue() -> None:
    s = sched(schedule="every 30m")
    now = utc(2026, 11, 29, 12, 0)
    assert s.next_run(now) == now  # never run: due now
    assert s.next_run(now, last_started=utc(2026, 11, 29, 11, 50), last_status="finished") == utc(2026, 11, 29, 12, 20)
    # overdue (the scheduler was down): earlier than now, i.e. due at once
    assert s.next_run(now, last_started=utc(2026, 11, 29, 9, 0), last_status="finished") == utc(2026, 11, 29, 9, 30)
    # an interrupted run is resumed at once
    assert s.next_run(now, last_started=utc(2026, 11, 29, 11, 59), last_status="interrupted") == now
    assert sched(schedule="off").next_run(now) is None


def test_quiet_hours_delay_a_tick_to_their_end() -> None:
    s = sched(schedule="every 1h", quiet_hours="01:00-05:00")
    # 02:10 local is quiet: wait for 05:00 local (04:00 UTC outside Ramadan)
    assert s.next_run(utc(2026, 11, 29, 0, 0), last_started=utc(2026, 11, 29, 0, 10), last_status="finished") == utc(2026, 11, 29, 4, 0)
    assert s.next_run(utc(2026, 11, 29, 1, 30)) == utc(2026, 11, 29, 4, 0)  # never run, but quiet now
    # during Ramadan 05:00 local is 05:00 UTC
    assert s.next_run(utc(2026, 3, 1, 0, 0), last_started=utc(2026, 3, 1, 1, 0), last_status="finished") == utc(2026, 3, 1, 5, 0)


def test_jitter_is_bounded_and_deterministic() -> None:
    s = sched(schedule="every 30m", jitter="5m")
    last = utc(2026, 11, 29, 11, 0)
    ticks = {s.next_run(utc(2026, 11, 29, 11, 1), last_started=last + timedelta(minutes=k), last_status="finished")
             - (last + timedelta(minutes=30 + k)) for k in range(40)}
    assert all(timedelta(0) <= d < timedelta(minutes=5) for d in ticks)
    assert len(ticks) > 10  # spread, not one constant
    a = s.next_run(utc(2026, 11, 29, 11, 1), last_started=last, last_status="finished")
    assert a == s.next_run(utc(2026, 11, 29, 11, 2), last_started=last, last_status="finished")
    other = SourceSchedule.from_raw("le12", {"schedule": "every 30m", "jitter": "5m"})
    offsets = {other.jitter_for(last + timedelta(minutes=k)) == s.jitter_for(last + timedelta(minutes=k)) for k in range(20)}
    assert False in offsets  # sources are spread apart


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sources.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_next_run_reads_the_config_and_last_run(tmp_path: Path) -> None:
    p = write(tmp_path, '[defaults]\nschedule = "every 2h"\n[sources.a]\nbase_url = "http://h"\n'
                        '[sources.b]\nbase_url = "http://h"\nschedule = "0 6 * * *"\n[sources.c]\nbase_url = "http://h"\nschedule = "off"\n')
    cfg = load_config(p)
    last = {"started_at": utc(2026, 11, 29, 8, 0), "status": "finished"}
    assert next_run("a", utc(2026, 11, 29, 9, 0), config=cfg, last_run=last) == utc(2026, 11, 29, 10, 0)
    assert next_run("b", utc(2026, 11, 29, 9, 0), config=cfg, last_run=last) == utc(2026, 11, 30, 5, 0)
    assert next_run("c", utc(2026, 11, 29, 9, 0), config=cfg) is None
    with pytest.raises(KeyError):
        next_run("zzz", config=cfg)


def test_bundled_sources_have_valid_schedules() -> None:
    cfg = load_config()
    for sid in cfg.sources:
        assert next_run(sid, utc(2026, 11, 29, 12, 0), config=cfg) is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[sources.x]\nbase_url = "http://h"\nschedule = "every 5 minutes"\n', "[sources.x] schedule: not a duration"),
        ('[sources.x]\nbase_url = "http://h"\nschedule = "* * *"\n', "[sources.x] schedule: a cron expression has 5 fields"),
        ('[sources.x]\nbase_url = "http://h"\njitter = "soon"\n', "[sources.x] jitter: not a duration"),
        ('[sources.x]\nbase_url = "http://h"\nquiet_hours = "1-5"\n', "[sources.x] quiet_hours: not a time of day"),
        ('[defaults]\nquiet_hours = "25:00-05:00"\n[sources.x]\nbase_url = "http://h"\n', "[defaults] quiet_hours"),
        ('[sources.x]\nbase_url = "http://h"\nschedual = "every 5m"\n', "[sources.x] schedual: unknown key"),
        ('[sources.x]\nbase_url = "http://h"\nschedule = 30\n', "[sources.x] schedule: expected a string"),
        ('[sources.x]\nbase_url = "http://h"\nmax_pages = "many"\n', "[sources.x] max_pages: expected an integer"),
        ('[schedule]\nmax_parallel = 0\n[sources.x]\nbase_url = "http://h"\n', "[schedule] max_parallel: expected a whole number"),
        ('[schedule]\nparallel = 3\n[sources.x]\nbase_url = "http://h"\n', "[schedule] parallel: unknown key"),
    ],
)
def test_broken_entries_name_file_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert str(exc.value).startswith(f"{p}: ")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)

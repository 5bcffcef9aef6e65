"""Schedule leases: at most one crawl per source at a time, across processes and machines.

A lease is a row of ``schedule_leases`` (migration 302) naming its holder and when it
expires. Taking it is one atomic upsert that only wins when there is no row, the row has
expired, or the caller already holds it, so two schedulers sharing an archive (SQLite file
or PostgreSQL) never both start the same source. A holder renews its lease while the crawl
runs; one that dies stops renewing and the lease lapses after its time to live instead of
blocking the source forever.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.archive.records import parse_datetime


def new_holder() -> str:
    """``host:pid:token``: readable in `akhbar status`, unique per scheduler."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Lease:
    source: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


class Leases:
    def __init__(self, archive: Any, holder: str | None = None) -> None:
        self.archive = archive
        self.holder = holder or new_holder()

    def acquire(self, source: str, ttl: timedelta, *, now: datetime | None = None) -> bool:
        """Take (or renew) the lease on `source`; False when someone else holds it."""
        now = now or datetime.now(UTC)
        a = self.archive
        with a.transaction():
            row = a.fetchone(
                "INSERT INTO schedule_leases (source, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, "
                "acquired_at = CASE WHEN schedule_leases.holder = excluded.holder "
                "THEN schedule_leases.acquired_at ELSE excluded.acquired_at END, "
                "expires_at = excluded.expires_at "
                "WHERE schedule_leases.holder = excluded.holder OR schedule_leases.expires_at <= ? "
                "RETURNING holder",
                (source, self.holder, a.enc_datetime(now), a.enc_datetime(now + ttl), a.enc_datetime(now)),
            )
        return row is not None and row["holder"] == self.holder

    def renew(self, source: str, ttl: timedelta, *, now: datetime | None = None) -> bool:
        """Push our lease's expiry on; False when we no longer hold it."""
        now = now or datetime.now(UTC)
        a = self.archive
        n = a.execute(
            "UPDATE schedule_leases SET expires_at = ? WHERE source = ? AND holder = ?",
            (a.enc_datetime(now + ttl), source, self.holder),
        )
        return n > 0

    def release(self, source: str) -> None:
        self.archive.execute("DELETE FROM schedule_leases WHERE source = ? AND holder = ?", (source, self.holder))

    def get(self, source: str) -> Lease | None:
        row = self.archive.fetchone("SELECT * FROM schedule_leases WHERE source = ?", (source,))
        return _lease(row) if row else None

    def held(self, *, now: datetime | None = None) -> list[Lease]:
        """Every unexpired lease: the sources being crawled right now, and by whom."""
        now = now or datetime.now(UTC)
        rows = self.archive.fetch("SELECT * FROM schedule_leases WHERE expires_at > ? ORDER BY source",
                                  (self.archive.enc_datetime(now),))
        return [_lease(r) for r in rows]


def _lease(row: dict[str, Any]) -> Lease:
    return Lease(row["source"], row["holder"], parse_datetime(row["acquired_at"]),  # type: ignore[arg-type]
                 parse_datetime(row["expires_at"]))  # type: ignore[arg-type]

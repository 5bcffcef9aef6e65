"""The WebSub hub's state in the archive (migration 350): subscriptions, the feed files a
publish changed, and the pushes owed to subscribers.

Publishing and serving are separate processes (`akhbar publish`, a crawl's publish, the
scheduler; `akhbar serve` with N workers), so they meet here: `record_changes` is called by
whoever publishes, with the feed paths whose bytes changed and their hashes; the hub of
any serving process claims each change once (`claim_changes`), turns it into one delivery
per live subscription of that feed, and claims due deliveries with a short lease, so two
workers never push the same one twice and a worker that dies mid-push leaves it to
another after the lease.

Plain functions over an `Archive`; nothing here imports the web framework, so the publish
side (`feeds.query.publish`) can call it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.archive.records import parse_datetime

logger = logging.getLogger(__name__)

FEED_PREFIX = "feeds/"
FEED_SUFFIXES = (".rss", ".atom", ".json")
CLAIM_FOR = timedelta(minutes=2)
"""A claimed delivery is another worker's again after this (its pusher died)."""
KEEP_DONE = timedelta(days=7)


def now_utc() -> datetime:
    return datetime.now(UTC)


def is_feed_path(path: str) -> bool:
    return path.startswith(FEED_PREFIX) and path.endswith(FEED_SUFFIXES) and "/." not in path


def record_changes(archive: Any, files: dict[str, bytes], written: list[str]) -> int:
    """Record the feed files among `written` (paths relative to ``public/``) with the hash
    of their new bytes; returns how many. Called by every publish."""
    rows = [(rel, hashlib.sha256(files[rel]).hexdigest()) for rel in written if is_feed_path(rel) and rel in files]
    if not rows:
        return 0
    when = archive.enc_datetime(now_utc())
    with archive.transaction():
        for rel, digest in rows:
            # A change no hub took yet is superseded (a push sends the feed as it is then): at
            # most one waits per feed, however long no `akhbar serve` runs.
            archive.execute("DELETE FROM websub_changes WHERE path = ? AND fanned_out_at IS NULL", (rel,))
            archive.execute("INSERT INTO websub_changes (path, sha256, published_at) VALUES (?, ?, ?)",
                            (rel, digest, when))
    return len(rows)


@dataclass(frozen=True)
class Subscription:
    id: int
    topic: str
    topic_path: str
    callback: str
    secret: str | None
    lease_seconds: int
    expires_at: datetime


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(id=int(row["id"]), topic=row["topic"], topic_path=row["topic_path"], callback=row["callback"],
                        secret=row["secret"], lease_seconds=int(row["lease_seconds"]),
                        expires_at=parse_datetime(row["expires_at"]) or now_utc())


def subscribe(archive: Any, topic: str, topic_path: str, callback: str, secret: str | None, lease_seconds: int) -> None:
    """Store (or renew, with the new secret and lease) a verified subscription."""
    now = now_utc()
    enc = archive.enc_datetime
    with archive.transaction():
        updated = archive.execute(
            "UPDATE websub_subscriptions SET secret = ?, lease_seconds = ?, verified_at = ?, expires_at = ?, "
            "topic_path = ? WHERE topic = ? AND callback = ?",
            (secret, lease_seconds, enc(now), enc(now + timedelta(seconds=lease_seconds)), topic_path, topic, callback))
        if not updated:
            archive.execute(
                "INSERT INTO websub_subscriptions (topic, topic_path, callback, secret, lease_seconds, created_at, "
                "verified_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (topic, topic_path, callback, secret, lease_seconds, enc(now), enc(now),
                 enc(now + timedelta(seconds=lease_seconds))))


def unsubscribe(archive: Any, topic: str, callback: str) -> int:
    with archive.transaction():
        ids = [r["id"] for r in archive.fetch(
            "SELECT id FROM websub_subscriptions WHERE topic = ? AND callback = ?", (topic, callback))]
        for sid in ids:
            archive.execute("DELETE FROM websub_deliveries WHERE subscription_id = ? AND status = 'pending'", (sid,))
            archive.execute("DELETE FROM websub_subscriptions WHERE id = ?", (sid,))
    return len(ids)


def subscriptions(archive: Any) -> list[Subscription]:
    return [_subscription(r) for r in archive.fetch("SELECT * FROM websub_subscriptions ORDER BY id")]


def expire(archive: Any, now: datetime | None = None) -> int:
    """Drop subscriptions whose lease has passed (and what they were still owed)."""
    when = archive.enc_datetime(now or now_utc())
    # Looked up outside a transaction: on SQLite one takes the write lock, which a hub polling
    # every few seconds must not hold for nothing while crawls write.
    ids = [r["id"] for r in archive.fetch("SELECT id FROM websub_subscriptions WHERE expires_at <= ?", (when,))]
    if not ids:
        return 0
    with archive.transaction():
        for sid in ids:  # renewed since the lookup: kept, with what it is owed
            if archive.execute("DELETE FROM websub_subscriptions WHERE id = ? AND expires_at <= ?", (sid, when)):
                archive.execute("DELETE FROM websub_deliveries WHERE subscription_id = ? AND status = 'pending'", (sid,))
    logger.info("websub: %d subscription(s) expired", len(ids))
    return len(ids)


def claim_changes(archive: Any, limit: int = 500) -> int:
    """Turn unclaimed feed changes into pending deliveries for the live subscriptions of
    those feeds; returns how many deliveries were queued. A subscription already owed a
    push of the same feed gets the newer hash instead of a second push."""
    now = now_utc()
    enc = archive.enc_datetime
    queued = 0
    pending = archive.fetch("SELECT id, path, sha256 FROM websub_changes WHERE fanned_out_at IS NULL ORDER BY id LIMIT ?",
                            (limit,))
    for change in pending:
        with archive.transaction():
            if not archive.execute("UPDATE websub_changes SET fanned_out_at = ? WHERE id = ? AND fanned_out_at IS NULL",
                                   (enc(now), change["id"])):
                continue  # another worker took it
            subs = archive.fetch("SELECT id FROM websub_subscriptions WHERE topic_path = ? AND expires_at > ?",
                                 (change["path"], enc(now)))
            for sub in subs:
                if archive.execute(
                        "UPDATE websub_deliveries SET sha256 = ? WHERE subscription_id = ? AND path = ? "
                        "AND status = 'pending' AND claimed_until IS NULL", (change["sha256"], sub["id"], change["path"])):
                    continue
                archive.execute(
                    "INSERT INTO websub_deliveries (subscription_id, path, sha256, status, attempts, next_attempt_at, "
                    "created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
                    (sub["id"], change["path"], change["sha256"], enc(now), enc(now)))
                queued += 1
    return queued


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription: Subscription
    path: str
    attempts: int


def claim_due(archive: Any, limit: int = 50) -> list[Delivery]:
    """Pending deliveries due now, each claimed for `CLAIM_FOR` by this caller."""
    now = now_utc()
    enc = archive.enc_datetime
    rows = archive.fetch(
        "SELECT d.id AS delivery_id, d.path AS delivery_path, d.attempts, d.subscription_id AS id, s.topic, s.topic_path, "
        "s.callback, s.secret, s.lease_seconds, s.expires_at FROM websub_deliveries d JOIN websub_subscriptions s "
        "ON s.id = d.subscription_id WHERE d.status = 'pending' AND d.next_attempt_at <= ? "
        "AND (d.claimed_until IS NULL OR d.claimed_until < ?) ORDER BY d.next_attempt_at LIMIT ?",
        (enc(now), enc(now), limit))
    out = []
    for row in rows:
        if archive.execute("UPDATE websub_deliveries SET claimed_until = ? WHERE id = ? AND status = 'pending' "
                           "AND (claimed_until IS NULL OR claimed_until < ?)",
                           (enc(now + CLAIM_FOR), row["delivery_id"], enc(now))):
            out.append(Delivery(id=int(row["delivery_id"]), subscription=_subscription(row), path=row["delivery_path"],
                                attempts=int(row["attempts"])))
    return out


def delivered(archive: Any, delivery_id: int, status: int) -> None:
    archive.execute("UPDATE websub_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?, "
                    "delivered_at = ?, claimed_until = NULL, last_error = NULL WHERE id = ?",
                    (status, archive.enc_datetime(now_utc()), delivery_id))


def failed(archive: Any, delivery_id: int, attempts: int, error: str, status: int | None, *, max_attempts: int,
           retry_seconds: float) -> bool:
    """Record a failed push; schedule the next attempt after an exponential back-off, or
    give up after `max_attempts`. True when it will be retried."""
    attempts += 1
    retry = attempts < max_attempts
    next_at = now_utc() + timedelta(seconds=retry_seconds * 2 ** (attempts - 1))
    archive.execute("UPDATE websub_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, claimed_until = NULL, "
                    "last_error = ?, last_status = ? WHERE id = ?",
                    ("pending" if retry else "failed", attempts, archive.enc_datetime(next_at), error[:500], status,
                     delivery_id))
    return retry


def prune(archive: Any, now: datetime | None = None) -> None:
    """Forget finished deliveries and fanned-out changes older than `KEEP_DONE`."""
    before = archive.enc_datetime((now or now_utc()) - KEEP_DONE)
    archive.execute("DELETE FROM websub_deliveries WHERE status <> 'pending' AND created_at < ?", (before,))
    archive.execute("DELETE FROM websub_changes WHERE fanned_out_at IS NOT NULL AND published_at < ?", (before,))

"""A W3C WebSub hub for the app's own feeds (https://www.w3.org/TR/websub/).

    POST /websub   hub.mode=subscribe|unsubscribe, hub.topic, hub.callback,
                   hub.lease_seconds (optional), hub.secret (optional, < 200 bytes)

A request is checked at once (the topic must be one of this app's feed URLs, the callback
an http(s) URL the egress rule lets the hub call, the secret and lease well formed) and
answered 202 Accepted, or 4xx with the reason; the hub then verifies the intent on its own
time: a GET of the callback with ``hub.mode``, ``hub.topic``, ``hub.challenge`` (and
``hub.lease_seconds``) that must answer 2xx echoing the challenge. Only then is the
subscription stored (or renewed, or removed) in the archive, with its lease.

Each publish, in whichever process it runs, records the feed files whose bytes changed
(`feeds.web.websub_store.record_changes`); the hub's background task, started with the
app, picks them up every ``[websub] poll_seconds`` and POSTs the whole feed to each live
subscriber of it: the feed's Content-Type, ``Link: <hub>; rel="hub", <topic>; rel="self"``
and, when the subscriber gave a secret, ``X-Hub-Signature: sha256=<HMAC-SHA256 of the
body>``. A push that fails (transport error or non-2xx) is retried after
``retry_seconds`` x 2^(attempt-1), at most ``max_attempts`` times; a 410 Gone ends the
subscription. Leases run out: an expired subscription gets nothing and is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from crawler.archive import open_archive
from crawler.config import Config, ConfigError, load_config
from crawler.web_config import WebSubSettings, validate_websub, websub_settings
from feeds.web import websub_store as store
from feeds.web.context import WebContext
from feeds.web.errors import WebError
from feeds.web.websub_client import (
    CallbackRefused,
    check_callback,
    request,
    signature,
    with_query,
)

logger = logging.getLogger(__name__)

PATH = "/websub"
MAX_BODY = 16 * 1024
MAX_SECRET_BYTES = 199
"""The spec: hub.secret MUST be less than 200 bytes."""
CONCURRENT_PUSHES = 8
PRUNE_EVERY = 500
"""Cycles of the background loop between two prunings of old rows."""
CONTENT_TYPES = {".rss": "application/rss+xml; charset=utf-8", ".atom": "application/atom+xml; charset=utf-8",
                 ".json": "application/feed+json; charset=utf-8"}


class HubError(WebError):
    """A refused hub request (400, 415, ...): ``{"error": ...}`` like every error."""


router = APIRouter(tags=["websub"])


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Hub:
    """The hub of one serving process: its settings, its archive handle, the verification
    tasks in flight and the background loop."""

    def __init__(self, settings: WebSubSettings, public: Path, archive_url: str, base_url: str | None) -> None:
        self.settings = settings
        self.public = Path(public)
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.archive = open_archive(archive_url)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._pushes = asyncio.Semaphore(CONCURRENT_PUSHES)
        self.cycles = 0

    @property
    def verifying(self) -> int:
        """Intent verifications in flight."""
        return len(self._tasks)

    # --- subscription requests --------------------------------------------------------

    def topic_path(self, topic: str, request_base: str) -> str:
        """The feed file (relative to ``public/``) that `topic` names; HubError when none."""
        base = self.base_url or request_base.rstrip("/") + "/"
        parts = urlsplit(topic)
        if parts.query or parts.fragment or not topic.startswith(base):
            raise HubError(400, f"hub.topic: {topic!r} is not a feed of this hub (its feeds start with {base})")
        rel = topic[len(base):]
        if not store.is_feed_path(rel) or ".." in rel.split("/") or not (self.public / rel).is_file():
            raise HubError(400, f"hub.topic: {topic!r} is not a feed of this hub (no such feed)")
        return rel

    def lease(self, given: str | None) -> int:
        s = self.settings
        if given is None or given == "":
            return s.lease_seconds
        try:
            asked = int(given)
        except ValueError:
            raise HubError(400, "hub.lease_seconds: must be a whole number of seconds") from None
        if asked <= 0:
            raise HubError(400, "hub.lease_seconds: must be positive")
        return max(s.min_lease_seconds, min(s.max_lease_seconds, asked))

    def accept(self, mode: str, topic: str, topic_path: str, callback: str, secret: str | None, lease: int) -> None:
        task = asyncio.get_running_loop().create_task(self.verify(mode, topic, topic_path, callback, secret, lease))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def verify(self, mode: str, topic: str, topic_path: str, callback: str, secret: str | None,
                     lease: int) -> None:
        """Verify the intent with the subscriber, then store or remove the subscription."""
        challenge = secrets.token_urlsafe(32)
        params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            params["hub.lease_seconds"] = str(lease)
        try:
            await run_in_threadpool(check_callback, callback, allow_private=self.settings.allow_private_callbacks)
            answer = await run_in_threadpool(request, "GET", with_query(callback, params),
                                             timeout=self.settings.timeout_seconds)
        except (CallbackRefused, OSError, ValueError) as exc:
            logger.warning("websub: %s of %s for %s not verified: %s", mode, topic, callback, exc)
            return
        except Exception as exc:  # http.client's protocol errors: the subscriber's fault, not ours
            logger.warning("websub: %s of %s for %s not verified: %r", mode, topic, callback, exc)
            return
        if not 200 <= answer.status < 300 or answer.body.strip() != challenge.encode("ascii"):
            logger.warning("websub: %s of %s for %s not verified: the callback answered %d without the challenge",
                           mode, topic, callback, answer.status)
            return
        if mode == "subscribe":
            await run_in_threadpool(store.subscribe, self.archive, topic, topic_path, callback, secret, lease)
            logger.info("websub: %s subscribed to %s for %ds", callback, topic, lease)
        else:
            await run_in_threadpool(store.unsubscribe, self.archive, topic, callback)
            logger.info("websub: %s unsubscribed from %s", callback, topic)

    # --- content distribution ---------------------------------------------------------

    def hub_url_for(self, sub: store.Subscription) -> str:
        if self.settings.hub_url:
            return self.settings.hub_url
        base = sub.topic[: len(sub.topic) - len(sub.topic_path)]
        return base + PATH.lstrip("/")

    async def push(self, delivery: store.Delivery) -> None:
        sub = delivery.subscription
        s = self.settings
        path = self.public / delivery.path
        try:
            body = await run_in_threadpool(path.read_bytes)
        except OSError as exc:  # the feed was removed since (a source left the config): nothing to push
            await run_in_threadpool(store.failed, self.archive, delivery.id, s.max_attempts, f"feed gone: {exc}",
                                    None, max_attempts=s.max_attempts, retry_seconds=s.retry_seconds)
            return
        headers = {"Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
                   "Link": f'<{self.hub_url_for(sub)}>; rel="hub", <{sub.topic}>; rel="self"'}
        if sub.secret:
            headers["X-Hub-Signature"] = signature(sub.secret, body)
        status: int | None = None
        error: str | None
        try:
            async with self._pushes:
                await run_in_threadpool(check_callback, sub.callback, allow_private=s.allow_private_callbacks)
                answer = await run_in_threadpool(request, "POST", sub.callback, body=body, headers=headers,
                                                 timeout=s.timeout_seconds)
            status = answer.status
            error = None if 200 <= status < 300 else f"answered {status}"
        except Exception as exc:  # refused callback, transport or protocol error: retried like a 5xx
            error = f"{type(exc).__name__}: {exc}"
        if error is None and status is not None:
            await run_in_threadpool(store.delivered, self.archive, delivery.id, status)
            logger.info("websub: pushed %s to %s", delivery.path, sub.callback)
            return
        if status == 410:
            await run_in_threadpool(store.unsubscribe, self.archive, sub.topic, sub.callback)
            logger.info("websub: %s answered 410 Gone; its subscription to %s ends", sub.callback, sub.topic)
            return
        error = error or f"answered {status}"
        retry = await run_in_threadpool(store.failed, self.archive, delivery.id, delivery.attempts, error, status,
                                        max_attempts=s.max_attempts, retry_seconds=s.retry_seconds)
        logger.warning("websub: push of %s to %s failed (attempt %d, %s): %s", delivery.path, sub.callback,
                       delivery.attempts + 1, "will retry" if retry else "giving up", error)

    def _housekeeping(self) -> list[store.Delivery]:
        store.expire(self.archive)
        store.claim_changes(self.archive)
        if self.cycles % PRUNE_EVERY == 0:
            store.prune(self.archive)
        return store.claim_due(self.archive)

    async def cycle(self) -> int:
        """One pass: expire leases, fan out new publishes, push what is due; returns the
        number of pushes tried."""
        self.cycles += 1
        due = await run_in_threadpool(self._housekeeping)
        if due:
            await asyncio.gather(*(self.push(d) for d in due))
        return len(due)

    async def run(self) -> None:
        while True:
            try:
                await self.cycle()
            except asyncio.CancelledError:
                raise
            except Exception:  # an archive hiccup must not end the hub; the next pass retries
                logger.exception("websub: hub pass failed")
            await asyncio.sleep(self.settings.poll_seconds)

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self.run(), name="websub-hub")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.archive.close()


def from_config(ctx: WebContext, cfg: Config | None) -> Hub | None:
    """The hub of a server, or None when it has no archive to keep subscriptions in."""
    if ctx.archive_url is None:
        logger.info("websub hub off: the server has no archive")
        return None
    if cfg is None:
        try:
            cfg = load_config(validate=False)
            validate_websub(cfg)
        except (ConfigError, OSError) as exc:
            logger.warning("websub hub: the sources file cannot be read (%s); defaults used", exc)
            cfg = None
    return Hub(websub_settings(cfg), ctx.public, ctx.archive_url, ctx.base_url)


async def startup(app: Any) -> None:
    ctx: WebContext = app.state.ctx
    hub = await run_in_threadpool(from_config, ctx, getattr(ctx, "config", None))
    app.state.hub = hub
    if hub is not None:
        hub.start()


async def shutdown(app: Any) -> None:
    hub: Hub | None = getattr(app.state, "hub", None)
    if hub is not None:
        await hub.stop()
        app.state.hub = None


_FORM = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["hub.mode", "hub.topic", "hub.callback"], "properties": {
        "hub.mode": {"type": "string", "enum": ["subscribe", "unsubscribe"]},
        "hub.topic": {"type": "string", "minLength": 1, "description": "a feed URL of this app (its rel=self link)"},
        "hub.callback": {"type": "string", "minLength": 1,
                         "description": "http(s) URL the hub verifies and pushes to"},
        "hub.lease_seconds": {"type": "integer", "minimum": 1,
                              "description": "asked lease; clamped to the hub's bounds"},
        "hub.secret": {"type": "string", "maxLength": MAX_SECRET_BYTES,
                       "description": "HMAC-SHA256 key of X-Hub-Signature (under 200 bytes)"}}}}}}}


@router.post(PATH, status_code=202, summary="WebSub hub: subscribe to or unsubscribe from a feed",
             responses={202: {"description": "accepted; the intent is verified with the callback next"},
                        400: {"description": "malformed request, not our topic, refused callback or secret"},
                        404: {"description": "the hub is off (no archive)"},
                        413: {"description": "body over 16 KiB"},
                        415: {"description": "body not application/x-www-form-urlencoded"}},
             openapi_extra=_FORM)
async def hub_endpoint(request: Request) -> Response:
    hub: Hub | None = getattr(request.app.state, "hub", None)
    if hub is None:
        raise HubError(404, "no WebSub hub here")
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise HubError(413, f"request body over {MAX_BODY} bytes")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HubError(413, f"request body over {MAX_BODY} bytes")
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise HubError(415, "the body must be application/x-www-form-urlencoded")
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False).items()}
    except UnicodeDecodeError:
        raise HubError(400, "the body must be UTF-8") from None
    mode = form.get("hub.mode")
    if mode not in ("subscribe", "unsubscribe"):
        raise HubError(400, "hub.mode: must be subscribe or unsubscribe (this hub learns of its own publishes "
                            "from the archive)")
    topic, callback = form.get("hub.topic") or "", form.get("hub.callback") or ""
    if not topic or not callback:
        raise HubError(400, "hub.topic and hub.callback are required")
    topic_path = hub.topic_path(topic, str(request.base_url))
    secret = form.get("hub.secret")
    if secret is not None:
        if secret == "":
            raise HubError(400, "hub.secret: empty (leave it out for unsigned pushes)")
        if len(secret.encode("utf-8")) > MAX_SECRET_BYTES:
            raise HubError(400, f"hub.secret: must be less than 200 bytes, got {len(secret.encode('utf-8'))}")
    lease = hub.lease(form.get("hub.lease_seconds"))
    try:
        await run_in_threadpool(check_callback, callback, allow_private=hub.settings.allow_private_callbacks)
    except CallbackRefused as exc:
        raise HubError(400, f"hub.callback: {exc}") from None
    hub.accept(mode, topic, topic_path, callback, secret, lease)
    return Response(status_code=202, headers={"Cache-Control": "no-store"})

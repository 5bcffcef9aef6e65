"""The publish side of WebSub, called by `feeds.query.publish` in whatever process
publishes: which hubs the feeds name, and after writing, the feed changes recorded for the
app's own hub (`feeds.web.websub_store.record_changes`) and the external hubs of
``[websub] hubs`` pinged (``hub.mode=publish``). A hub that cannot be reached is logged and
counted; the publish itself never fails for it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from crawler.web_config import WebSubSettings, websub_settings
from feeds.web import websub_store
from feeds.web.websub_client import ping

logger = logging.getLogger(__name__)


@dataclass
class Announced:
    changed: list[str] = field(default_factory=list)
    """Feed paths recorded for the own hub."""
    pinged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """External hub -> why its ping failed."""


def settings() -> WebSubSettings:
    """``[websub]`` of the sources file the CLI reads; defaults when it cannot be read."""
    from crawler.config import ConfigError, load_config

    try:
        return websub_settings(load_config(validate=False))
    except (ConfigError, OSError) as exc:
        logger.warning("websub: the sources file cannot be read (%s); no external hubs pinged", exc)
        return WebSubSettings()


def feed_hubs(s: WebSubSettings, base_url: str) -> tuple[str, ...]:
    """The hubs every feed names: the app's own first, then the external ones."""
    own = s.hub_url or base_url.rstrip("/") + "/websub"
    return (own, *(h for h in s.hubs if h != own))


def announce(archive: Any, files: dict[str, bytes], written: list[str], topic_url: Any,
             s: WebSubSettings) -> Announced:
    """Record the changed feeds for the own hub and ping the external hubs about them;
    `topic_url` maps a path relative to ``public/`` to its public URL."""
    out = Announced()
    try:
        websub_store.record_changes(archive, files, written)
    except Exception:  # an archive without migration 350 (opened read-only elsewhere): no pushes, publish stands
        logger.exception("websub: could not record the changed feeds")
    else:
        out.changed = [p for p in written if websub_store.is_feed_path(p)]
    topics = [topic_url(p) for p in written if websub_store.is_feed_path(p)]
    if out.changed:
        logger.info("websub: %d changed feed(s) recorded for the hub", len(out.changed))
    if not topics or not s.hubs:
        return out

    def one(hub: str) -> tuple[str, str | None]:
        try:
            answer = ping(hub, topics, s.timeout_seconds)
        except Exception as exc:  # unreachable hub: logged and counted, the publish goes on
            return hub, f"{type(exc).__name__}: {exc}"
        return hub, None if 200 <= answer.status < 300 else f"answered {answer.status}"

    with ThreadPoolExecutor(max_workers=min(8, len(s.hubs))) as pool:
        for hub, error in pool.map(one, s.hubs):
            if error is None:
                out.pinged.append(hub)
            else:
                out.failed[hub] = error
                logger.warning("websub: ping of hub %s failed: %s", hub, error)
    return out

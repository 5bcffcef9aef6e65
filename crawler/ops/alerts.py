"""Alerts: where a run's failed monitors are sent.

Always a WARNING log line per failed monitor (logger ``crawler.ops.alerts``). With
``webhook_url`` in the ``[alerts]`` table, one JSON POST per run with failures::

    {"source": "le12", "run_id": "...", "spider": "le12", "health": "degraded",
     "failed": [{"name", "ok", "value", "threshold", "message"}, ...]}

with a timeout and a few retries; an unreachable webhook is logged, never raised, so
an alert can never fail the crawl. Keys of ``[alerts]``: ``webhook_url`` (http/https),
``timeout`` (seconds, default 5), ``retries`` (default 2).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from crawler.config import Config, ConfigError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_RETRIES = 2
RETRY_BACKOFF_S = 0.5
USER_AGENT = "AkhbarBot/0.1 alerts"


def validate(cfg: Config) -> None:
    """`crawler.config.TABLE_VALIDATORS` hook for ``[alerts]``."""
    where = f"{cfg.path}: [alerts]"
    for key, value in cfg.table("alerts").items():
        if key == "webhook_url":
            parts = urlsplit(str(value)) if isinstance(value, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"{where} webhook_url: must be an http(s) URL, not {value!r}")
        elif key == "timeout":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 120:
                raise ConfigError(f"{where} timeout: must be seconds between 0 and 120, not {value!r}")
        elif key == "retries":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
                raise ConfigError(f"{where} retries: must be a whole number between 0 and 10, not {value!r}")
        else:
            raise ConfigError(f"{where} {key}: unknown key; known: webhook_url, timeout, retries")


def failed_monitors(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [m for m in report.get("monitors") or [] if not m.get("ok")]


def send(report: Mapping[str, Any], table: Mapping[str, Any]) -> bool:
    """Send a run's failures to every channel; True when every channel took them
    (nothing to send counts as success)."""
    failed = failed_monitors(report)
    if not failed:
        return True
    who = report.get("source") or report.get("spider") or "?"
    for m in failed:
        logger.warning(
            "monitor %s failed for %s (run %s, health %s): %s [value %s, threshold %s]",
            m["name"], who, report.get("run_id"), report.get("health"), m.get("message"), m.get("value"), m.get("threshold"),
        )
    url = table.get("webhook_url")
    if not url:
        return True
    payload = {
        "source": report.get("source"),
        "spider": report.get("spider"),
        "run_id": report.get("run_id"),
        "health": report.get("health"),
        "failed": failed,
    }
    return post_webhook(
        str(url), payload,
        timeout=float(table.get("timeout", DEFAULT_TIMEOUT_S)),
        retries=int(table.get("retries", DEFAULT_RETRIES)),
    )


def post_webhook(url: str, payload: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT_S,
                 retries: int = DEFAULT_RETRIES) -> bool:
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(RETRY_BACKOFF_S * 2 ** (attempt - 1))
        request = urllib.request.Request(
            url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
            logger.info("alert for run %s posted to the webhook", payload.get("run_id"))
            return True
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                break  # the receiver refuses this alert: sending it again will not help
        except (OSError, ValueError) as exc:
            last = str(exc)
    logger.error("alert for run %s not delivered to the webhook at %s: %s", payload.get("run_id"), _origin(url), last)
    return False


def _origin(url: str) -> str:
    # Webhook URLs (Slack, Discord, ...) carry their secret in the path or query: log the host only.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"

"""The ``[admin]`` and ``[websub]`` tables of the sources file: checked when the file is
loaded (`crawler.config.TABLE_VALIDATORS`), read by the web app (`feeds.web.admin`,
`feeds.web.websub`) and by `akhbar publish` (the external hubs it pings).

They live here, beside the config loader, rather than in the web package: the loader
validates every table at start, and nothing under ``crawler/`` imports the web package.

    [admin]
    token = "..."                  # off without one (or AKHBAR_ADMIN_TOKEN, which wins)
    throttle_failures = 10         # wrong tokens from one client within the window ...
    throttle_window_seconds = 300  # ... before it gets 429 + Retry-After for the window

    [websub]
    hubs = ["https://pubsubhubbub.appspot.com/"]  # external hubs pinged on every publish
    hub_url = "https://news.example/websub"       # this app's hub, when not base URL + /websub
    allow_private_callbacks = false               # loopback/private callbacks (tests, a LAN)
    lease_seconds = 864000                        # granted when a subscriber asks none
    min_lease_seconds = 3600
    max_lease_seconds = 2592000
    max_attempts = 6                              # a push tried this often, then dropped
    retry_seconds = 60.0                          # first back-off; doubled per attempt
    poll_seconds = 2.0                            # how often `akhbar serve` looks for publishes
    timeout_seconds = 10.0                        # per outgoing request
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.config import Config, ConfigError

TOKEN_ENV = "AKHBAR_ADMIN_TOKEN"
MIN_TOKEN_LENGTH = 32
"""Shorter tokens are refused at start: a guessable token is worse than none."""
DOCUMENTED_EXAMPLES = frozenset({"change-me-to-a-long-random-string", "a-long-random-string-of-32+-characters",
                                 "a-long-random-string-of-16+-characters"})
"""Tokens printed in the README and docs: copied as they are, they are public knowledge."""


@dataclass(frozen=True)
class AdminSettings:
    token: str | None
    throttle_failures: int = 10
    throttle_window_seconds: float = 300.0


@dataclass(frozen=True)
class WebSubSettings:
    hubs: tuple[str, ...] = ()
    hub_url: str | None = None
    allow_private_callbacks: bool = False
    lease_seconds: int = 864000
    min_lease_seconds: int = 3600
    max_lease_seconds: int = 30 * 86400
    max_attempts: int = 6
    retry_seconds: float = 60.0
    poll_seconds: float = 2.0
    timeout_seconds: float = 10.0


_ADMIN_KEYS: dict[str, type | tuple[type, ...]] = {
    "token": str, "throttle_failures": int, "throttle_window_seconds": (int, float)}
_WEBSUB_KEYS: dict[str, type | tuple[type, ...]] = {
    "hubs": list, "hub_url": str, "allow_private_callbacks": bool, "lease_seconds": int, "min_lease_seconds": int,
    "max_lease_seconds": int, "max_attempts": int, "retry_seconds": (int, float), "poll_seconds": (int, float),
    "timeout_seconds": (int, float)}


def _check_keys(cfg: Config, name: str, known: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    table = cfg.table(name)
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{cfg.path}: [{name}] unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for key, kind in known.items():
        if key in table and (not isinstance(table[key], kind) or (isinstance(table[key], bool) and kind is not bool)):
            if key == "token":
                raise ConfigError(f"{cfg.path}: [{name}] token: must be a string")
            raise ConfigError(f"{cfg.path}: [{name}] {key}: wrong type {type(table[key]).__name__}")
        if key in table and kind in (int, (int, float)) and not table[key] > 0:
            raise ConfigError(f"{cfg.path}: [{name}] {key}: must be positive")
    return table


def validate_admin(cfg: Config) -> None:
    """`crawler.config.TABLE_VALIDATORS` hook for ``[admin]``."""
    table = _check_keys(cfg, "admin", _ADMIN_KEYS)
    if "token" in table:
        check_token(table["token"], f"{cfg.path}: [admin] token")


def check_token(token: Any, where: str) -> str:
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
        return check_token(env, TOKEN_ENV)
    if cfg is None:
        return None
    token = cfg.table("admin").get("token")
    return check_token(token, f"{cfg.path}: [admin] token") if token is not None else None


def admin_settings(cfg: Config | None) -> AdminSettings:
    table = cfg.table("admin") if cfg is not None else {}
    return AdminSettings(token=configured_token(cfg),
                         throttle_failures=int(table.get("throttle_failures", AdminSettings.throttle_failures)),
                         throttle_window_seconds=float(table.get("throttle_window_seconds",
                                                                 AdminSettings.throttle_window_seconds)))


def _http_url(value: Any, where: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ConfigError(f"{where}: must be an http(s) URL without fragment, got {value!r}")
    return str(value)


def validate_websub(cfg: Config) -> None:
    """`crawler.config.TABLE_VALIDATORS` hook for ``[websub]``."""
    table = _check_keys(cfg, "websub", _WEBSUB_KEYS)
    for i, hub in enumerate(table.get("hubs", [])):
        _http_url(hub, f"{cfg.path}: [websub] hubs[{i}]")
    if "hub_url" in table:
        _http_url(table["hub_url"], f"{cfg.path}: [websub] hub_url")
    s = websub_settings(cfg)
    if not s.min_lease_seconds <= s.lease_seconds <= s.max_lease_seconds:
        raise ConfigError(f"{cfg.path}: [websub] lease_seconds must lie between min_lease_seconds and max_lease_seconds")


def websub_settings(cfg: Config | None) -> WebSubSettings:
    table = cfg.table("websub") if cfg is not None else {}
    d = WebSubSettings()
    return WebSubSettings(
        hubs=tuple(table.get("hubs", ())),
        hub_url=table.get("hub_url"),
        allow_private_callbacks=bool(table.get("allow_private_callbacks", d.allow_private_callbacks)),
        lease_seconds=int(table.get("lease_seconds", d.lease_seconds)),
        min_lease_seconds=int(table.get("min_lease_seconds", d.min_lease_seconds)),
        max_lease_seconds=int(table.get("max_lease_seconds", d.max_lease_seconds)),
        max_attempts=int(table.get("max_attempts", d.max_attempts)),
        retry_seconds=float(table.get("retry_seconds", d.retry_seconds)),
        poll_seconds=float(table.get("poll_seconds", d.poll_seconds)),
        timeout_seconds=float(table.get("timeout_seconds", d.timeout_seconds)),
    )

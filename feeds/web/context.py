"""The one explicit context the app is built from (no ``os.environ`` lookups inside)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request

from feeds.build import DEFAULT_TTL_MINUTES


@dataclass(frozen=True)
class WebContext:
    data_dir: Path
    """The data directory: feeds are served from ``data_dir/public``."""
    archive_url: str | None
    """The archive the API, pages, admin and hub read; None serves the feed files only."""
    ttl_minutes: int = DEFAULT_TTL_MINUTES
    base_url: str | None = None
    """Public URL of the app (feed self links, WebSub topics); None: taken from the request."""
    config: Any = None
    """The parsed sources/operations file (`crawler.config.Config`: ``[admin]``, ``[websub]``);
    None: admin and the hub load it from where the CLI would (``AKHBAR_SOURCES``)."""

    @property
    def public(self) -> Path:
        return Path(self.data_dir) / "public"


def get_context(request: Request) -> WebContext:
    """FastAPI dependency: the context the running app was built with."""
    ctx: WebContext = request.app.state.ctx
    return ctx

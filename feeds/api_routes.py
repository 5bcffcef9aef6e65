"""``/api/...`` requests -> `crawler.api` (the archive's framework-free JSON API).

`crawler.api` owns the endpoints and the OpenAPI document; this module only adapts
the HTTP server's (path, query parameters) to it, so the API can be mounted in any
other server the same way.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

logger = logging.getLogger(__name__)

Dispatcher = Callable[[str, dict[str, str]], tuple[int, Any]]


def make_dispatcher(archive: Any) -> Dispatcher:
    try:
        import crawler.api as api
    except ImportError:
        logger.warning("crawler.api is not available; /api answers 503")

        def unavailable(path: str, params: dict[str, str]) -> tuple[int, Any]:
            return 503, {"error": "the JSON API is not installed"}

        return unavailable

    def dispatch(path: str, params: dict[str, str]) -> tuple[int, Any]:
        sub = path[len("/api"):] or "/"
        if sub in ("/", "/openapi.json"):
            return 200, api.OPENAPI
        return api.handle(archive, sub, params)

    return dispatch

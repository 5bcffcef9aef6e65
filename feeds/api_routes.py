"""``/api/...`` requests -> `crawler.api` (the archive's framework-free JSON API).

`crawler.api.handle` owns the endpoints and the OpenAPI document; this module only
binds it to the server's archive, so the API can be mounted in any other server
the same way.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

logger = logging.getLogger(__name__)

Dispatcher = Callable[[str, str, dict[str, list[str]]], tuple[int, Any]]


def make_dispatcher(archive: Any) -> Dispatcher:
    """``(method, path, query as parse_qs gives it) -> (status, JSON-able body)``."""
    try:
        from crawler.api import handle
    except ImportError:
        logger.warning("crawler.api is not available; /api answers 503")

        def unavailable(method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
            return 503, {"error": "the JSON API is not installed"}

        return unavailable

    def dispatch(method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        return handle(archive, method, path, query)

    return dispatch

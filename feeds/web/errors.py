"""Every error the app answers is ``{"error": "..."}`` (the shape clients and tests rely
on), whether FastAPI refused the request's parameters, a route raised, or the archive
refused a query: FastAPI's own ``{"detail": ...}`` and 422 never reach a client."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from crawler.archive import QueryError, SearchTimeout
from feeds.web.http import error_response

logger = logging.getLogger(__name__)


def _describe(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body", "header")]
    msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "int_parsing":
        msg = f"must be an integer, not {str(error.get('input'))[:40]!r}"
    return f"{'.'.join(loc)}: {msg}" if loc else msg


class WebError(Exception):
    """An error a route or a dependency raises to answer ``{"error": message}`` with
    `status` (and `headers`): admin's refusals, the hub's, without a route class each."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, dict(headers or {})

    def response(self) -> Response:
        return error_response(self.status, self.message, self.headers)


async def _web(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    return exc.response()


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "; ".join(_describe(e) for e in exc.errors()) or "bad request")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), exc.headers)


async def _query(request: Request, exc: Exception) -> Response:
    return error_response(400, str(exc))


async def _timeout(request: Request, exc: Exception) -> Response:
    # the search ran past its budget: the server is fine, this query is too costly now
    logger.warning("%s %s: %s", request.method, request.url.path, exc)
    return error_response(503, str(exc), {"Retry-After": "5"})


async def _internal(request: Request, exc: Exception) -> Response:
    logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(WebError, _web)
    app.add_exception_handler(QueryError, _query)
    app.add_exception_handler(SearchTimeout, _timeout)
    app.add_exception_handler(Exception, _internal)

"""The ASGI app: `create_app(ctx)` builds everything Akhbar serves over HTTP from one
explicit `WebContext`; `build_app(data_dir, archive_url, ttl_minutes)` is the CLI's way in.

Routers, in matching order: the JSON API (`feeds.web.api`, documented by the OpenAPI
document FastAPI generates at ``/api/openapi.json``, browsable at ``/api/docs``), the
pages (`feeds.web.pages`), the parts in `PARTS`, and last the feed files of
``DIR/public`` (`feeds.web.static`), which also answers OPTIONS and 405 for any path.

The archive is opened when the app starts (its lifespan) and closed when it stops;
parts find it at ``app.state.archive`` (a `feeds.web.archive_access.ArchiveAccess`, None
when the app serves the feed files only).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feeds.build import DEFAULT_TTL_MINUTES
from feeds.web import api, docs, errors, pages, static
from feeds.web.archive_access import ArchiveAccess
from feeds.web.context import WebContext
from feeds.web.fastpath import FastPath
from feeds.web.http import JSON_TYPE, Answer, Representation, json_body, send_answer

# Each part is a module exposing ``router`` and, optionally, ``async startup(app)`` /
# ``async shutdown(app)`` run by the app's lifespan.
PARTS: tuple[str, ...] = ("feeds.web.admin", "feeds.web.websub", "feeds.web.story")

API_DESCRIPTION = ("Read-only access to the archive of Moroccan Arabic news: articles (Arabic-aware full-text "
                   "search with filters), stories, sources, crawl runs and per-source status. "
                   'Errors are {"error": message}.')


class HeadAsGet:
    """HEAD is GET without the body (RFC 9110 9.3.2), for every route: routes declare GET
    only (so the OpenAPI document lists no HEAD twins) and this answers HEAD from them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class AkhbarApp(FastAPI):
    """FastAPI with `feeds.web.fastpath` in front: a GET or HEAD whose answer the app
    already made, and which is still true, is sent without the middleware and routing."""

    fast_path: FastPath

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
                and await self.fast_path.answer(scope, send, self.state.archive)):
            return
        await super().__call__(scope, receive, send)


def create_app(ctx: WebContext) -> FastAPI:
    parts = [importlib.import_module(name) for name in PARTS]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.public.mkdir(parents=True, exist_ok=True)  # where `publish` writes what is served
        if ctx.archive_url is not None:
            access = ArchiveAccess(ctx.archive_url)
            access.reap_dead_runs()  # a run killed while the server was down must not show "running"
            app.state.archive = access
        for part in parts:
            if hasattr(part, "startup"):
                await part.startup(app)
        try:
            yield
        finally:
            for part in reversed(parts):
                if hasattr(part, "shutdown"):
                    await part.shutdown(app)
            if app.state.archive is not None:
                app.state.archive.close()
                app.state.archive = None

    app = AkhbarApp(title="Akhbar archive API", version="1", description=API_DESCRIPTION, lifespan=lifespan,
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.fast_path = app.state.fast_path = FastPath()
    app.state.archive = None
    app.state.feed_files = static.FeedFiles(ctx.public)
    app.state.page_context = _page_context()
    errors.install(app)
    app.include_router(api.router)
    app.include_router(docs.router)
    app.include_router(pages.router)
    for part in parts:
        app.include_router(part.router)
    app.router.routes.append(static.CATCH_ALL)  # last: it takes what no other route did
    app.add_middleware(static.FilesFirst)
    app.add_middleware(HeadAsGet)  # outermost: HEAD is answered as GET by everything inside
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    _serve_openapi_once(app)
    return app


def _serve_openapi_once(app: FastAPI) -> None:
    """FastAPI's ``/api/openapi.json`` route serialises the whole document per request;
    this one answers it like the app's other representations (ETag, 304, compression)
    from bytes made once per root path."""
    docs: dict[str, Answer] = {}

    async def openapi_json(request: Request) -> Response:
        root_path = request.scope.get("root_path", "").rstrip("/")
        rep = docs.get(root_path)
        if rep is None:
            schema = app.openapi()
            if root_path and app.root_path_in_servers and root_path not in {s.get("url") for s in schema.get("servers", [])}:
                schema = {**schema, "servers": [{"url": root_path}, *schema.get("servers", [])]}
            rep = Answer(Representation(json_body(schema), JSON_TYPE))
            if len(docs) < 16:  # root paths come from the server's configuration: a handful
                docs[root_path] = rep
        app.state.fast_path.keep(request, rep)  # the same bytes for as long as the app runs
        return send_answer(request, rep)

    for i, route in enumerate(app.router.routes):
        if isinstance(route, Route) and route.path == app.openapi_url:
            app.router.routes[i] = Route(route.path, openapi_json, methods=["GET"], include_in_schema=False)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's generated document, less the 422 answers it adds to every route with
    parameters: this app answers invalid parameters with a 400 and ``{"error": ...}``
    (`feeds.web.errors`), as each route documents."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                          openapi_version=app.openapi_version, servers=app.servers)
        for path in doc.get("paths", {}).values():
            for op in path.values():
                op.get("responses", {}).pop("422", None)
        schemas = doc.get("components", {}).get("schemas", {})
        if "HTTPValidationError" not in json.dumps(doc.get("paths", {})):
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
        app.openapi_schema = doc
    return app.openapi_schema


def _page_context() -> object:
    from feeds.query import default_page_context

    return default_page_context()


def build_app(data_dir: Path | str, archive_url: str | None, ttl_minutes: int = DEFAULT_TTL_MINUTES,
              base_url: str | None = None, config: Any = None) -> FastAPI:
    """The app over ``data_dir/public`` and, when given, the archive at `archive_url`
    (what ``akhbar serve`` and ``akhbar demo`` run); `config` is the parsed operations file
    (``[admin]``, ``[websub]``), `base_url` the public URL the feeds were published for."""
    return create_app(WebContext(Path(data_dir), archive_url, ttl_minutes=ttl_minutes, base_url=base_url,
                                 config=config))

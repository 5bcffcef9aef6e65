"""The ASGI app: `create_app(ctx)` (placeholder skeleton; its owner fills it)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from feeds.web.context import WebContext

# Each part is a module exposing ``router`` and, optionally, ``async startup(app)`` /
# ``async shutdown(app)`` run by the app's lifespan.
PARTS: tuple[str, ...] = ("feeds.web.admin", "feeds.web.websub", "feeds.web.story")


def create_app(ctx: WebContext) -> FastAPI:
    parts = [importlib.import_module(name) for name in PARTS]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for part in parts:
            if hasattr(part, "startup"):
                await part.startup(app)
        try:
            yield
        finally:
            for part in reversed(parts):
                if hasattr(part, "shutdown"):
                    await part.shutdown(app)

    app = FastAPI(title="Akhbar", lifespan=lifespan, openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    for part in parts:
        app.include_router(part.router)
    return app

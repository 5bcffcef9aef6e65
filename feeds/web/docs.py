"""Interactive API documentation at ``/api/docs``, served offline.

Swagger UI's files come from the ``swagger-ui-py`` package installed beside the app (no
CDN: a server without internet, or a reader behind a strict proxy, still gets the docs);
the page starts it from a script file of this module, so its CSP allows scripts from the
app itself only, never inline ones.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from feeds.web.http import HTML_TYPE, Representation, error_response, send
from feeds.web.templating import render

DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
INIT_JS = """window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null,
                               tryItOutEnabled: false});
});
"""
"""Relative to /api/docs: the document is /api/openapi.json, under any --root-path."""

router = APIRouter(prefix="/api", include_in_schema=False)


def _swagger_dir() -> Path | None:
    spec = importlib.util.find_spec("swagger_ui")  # located, not imported: only its files are used
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "static"


@cache
def _asset(name: str) -> Representation | None:
    if name == "init.js":
        return Representation(INIT_JS.encode(), "application/javascript; charset=utf-8")
    folder = _swagger_dir()
    if name not in ASSETS or folder is None or not (folder / name).is_file():
        return None
    return Representation((folder / name).read_bytes(), ASSETS[name], brotli_quality=9)


@router.get("/docs")
async def docs(request: Request) -> Response:
    page = render("api_docs.html", available=_swagger_dir() is not None)
    return send(request, Representation(page.encode(), HTML_TYPE), headers={
        "Cache-Control": "public, max-age=300", "Content-Security-Policy": DOCS_CSP, "Referrer-Policy": "no-referrer"})


@router.get("/docs/{name}")
async def docs_asset(request: Request, name: str) -> Response:
    rep = _asset(name)
    if rep is None:
        return error_response(404, "not found")
    return send(request, rep, headers={"Cache-Control": "public, max-age=86400", "Content-Security-Policy": DOCS_CSP})

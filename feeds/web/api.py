"""The read-only JSON API under ``/api``: typed routes whose parameters and response
models generate the OpenAPI document (``/api/openapi.json``).

    GET /api/articles?q=&source=&topic=&story=&since=&until=&sort=date|relevance&limit=&offset=
    GET /api/articles/{id}
    GET /api/sources
    GET /api/runs?source=&limit=&offset=
    GET /api/status

Errors are ``{"error": "..."}`` with a 4xx status: a malformed query is a 400 with the
reason (`feeds.web.errors` turns FastAPI's validation errors into that shape), never a
traceback. Integers are plain ASCII digits: ``int()`` would also take " 5", "5_0" and
"٥", which an OpenAPI integer does not allow and which would name another article.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BeforeValidator, WithJsonSchema
from starlette.responses import Response

from crawler.archive import Archive
from crawler.exporters import to_jsonable
from feeds.web.api_models import Article, ArticlePage, Error, RunPage, SourceList, Status
from feeds.web.archive_access import ArchiveAccess, get_access
from feeds.web.fastpath import fast_path
from feeds.web.http import JSON_TYPE, Answer, Representation, error_response, json_body, json_response, send_answer

LIST_OMIT = ("body_html", "body_text")
"""Listings leave the bodies out (fetch one article for them)."""
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
DEFAULT_RUNS = 50
MAX_RUNS = 200
MAX_OFFSET = 1_000_000
API_HEADERS = {"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_ARTICLE_ID = re.compile(r"-?[0-9]+")
_PRIVATE_RUN_KEYS = ("host", "pid")


def _strict(pattern: re.Pattern[str]) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"must be an integer, not {value[:40]!r}")
        return value

    return BeforeValidator(check)


STRICT_INT = _strict(_INTEGER)
"""After the `Query(...)` of an int parameter (before it, FastAPI would not turn its
bounds into minimum/maximum)."""
Text = Annotated[str | None, WithJsonSchema({"type": "string"})]
"""An optional string parameter (absent or empty: no filter), documented as a string."""
DateBound = Annotated[
    str | None,
    # What `since`/`until` accept: a date, a date-time, or nothing (an empty form field).
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"},
                              {"type": "string", "maxLength": 0}]}),
]
NO_ARCHIVE: dict[int | str, dict[str, Any]] = {
    503: {"model": Error, "description": "the server was started without an archive (feed files only)"}}
ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": Error, "description": "bad request"}, **NO_ARCHIVE}

router = APIRouter(prefix="/api", tags=["archive"])


def archive_access(request: Request) -> ArchiveAccess:
    access = get_access(request)
    if access is None:
        raise HTTPException(503, "no archive configured: this server serves the feed files only")
    return access


Access = Annotated[ArchiveAccess, Depends(archive_access)]


def public_path(path: Any) -> Any:
    """A server file path as the public sees it: its file name only."""
    return path.replace("\\", "/").rsplit("/", 1)[-1] if isinstance(path, str) and path else path


def public_warc(record: Any) -> Any:
    if isinstance(record, dict) and "file" in record:
        return {**record, "file": public_path(record["file"])}
    return record


def public_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run record without where the server keeps its files or which process ran it."""
    out = {k: v for k, v in run.items() if k not in _PRIVATE_RUN_KEYS}
    if "warc_file" in out:
        out["warc_file"] = public_path(out["warc_file"])
    return out


def _blank(value: str | None) -> str | None:
    return value if value else None


def _search(archive: Archive, **kw: Any) -> dict[str, Any]:
    res = archive.search(kw.pop("q"), **kw)
    items = [{k: (public_warc(v) if k == "warc_record" else v) for k, v in item.items() if k not in LIST_OMIT}
             for item in res.items]
    # dates left as they are: `json_body` writes them as `to_jsonable` would, without a
    # second walk over every field of every item (~1 ms a page of 20)
    body: dict[str, Any] = {"items": items, "limit": res.limit, "offset": res.offset, "has_more": res.has_more}
    if res.has_more:
        body["next_offset"] = res.offset + res.limit
    if res.hints:
        body["hints"] = res.hints
    return body


@router.get("/articles", response_model=ArticlePage, responses=ERRORS,
            summary="Search or list articles, newest first or by relevance")
async def list_articles(
    request: Request,
    access: Access,
    q: Annotated[Text, Query(description='Words and "phrases" (word* for a prefix); normalised like the index, so '
                             "diacritics and hamza/alef spellings do not matter. Empty lists all articles.")] = None,
    source: Annotated[Text, Query(description="Source id")] = None,
    topic: Annotated[Text, Query(description="Topic id")] = None,
    story: Annotated[Text, Query(description="Story id")] = None,
    since: Annotated[DateBound,
                     Query(description="From this date (YYYY-MM-DD or ISO 8601), inclusive; empty means no bound")] = None,
    until: Annotated[DateBound, Query(description="Up to this date, inclusive; empty means no bound")] = None,
    sort: Annotated[Literal["date", "relevance"] | None, WithJsonSchema({"type": "string", "enum": ["date", "relevance"]}),
                    Query(description="date (default without q) or relevance (default with q)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size"), STRICT_INT] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip"), STRICT_INT] = 0,
) -> Response:
    q = _blank(q)
    # The same query answers the same while the archive is unchanged: the answer is kept
    # (`feeds.web.fastpath`) under the change token read before the search.
    token, body = await access.run_versioned(_search, q=q, source=_blank(source), topic=_blank(topic), story=_blank(story),
                            since=_blank(since), until=_blank(until), sort=sort or ("relevance" if q else "date"),
                            limit=limit, offset=offset)
    return _kept(request, body, token)


def _kept(request: Request, body: Any, token: object | None) -> Response:
    """`body` as the API's JSON answer, kept (`feeds.web.fastpath`) while the archive's
    change token stays `token`, the one read before `body` was."""
    answer = Answer(Representation(json_body(body), JSON_TYPE), API_HEADERS)
    fast_path(request).keep(request, answer, token=token, archive=True)
    return send_answer(request, answer)


def _article(archive: Archive, aid: int) -> dict[str, Any] | None:
    item = archive.get_article(aid)
    if item is None:
        return None
    # Clients put body_html into pages: serve it sanitised like the feeds (the archive
    # and `akhbar export` keep it as published).
    from feeds.build import sanitize_html

    item["body_html"] = sanitize_html(item.get("body_html")) or None
    item["warc_record"] = public_warc(item.get("warc_record"))
    item["versions"] = [
        {"version": v["version"], "title": v["title"], "superseded_at": v["superseded_at"],
         "warc_record": public_warc(v["warc_record"])}
        for v in archive.versions(aid)
    ]
    return to_jsonable(item)


@router.get("/articles/{id}", response_model=Article,
            responses={**ERRORS, 404: {"model": Error, "description": "no such article"}},
            summary="One article with every field and its earlier versions")
async def get_article(request: Request, access: Access,
                      id: Annotated[int, _strict(_ARTICLE_ID)]) -> Response:  # noqa: A002 (the document's name)
    if not 0 < id < 2**63:
        return error_response(404, f"no article {id}")
    token, item = await access.run_versioned(_article, id)
    if item is None:
        return error_response(404, f"no article {id}")
    return _kept(request, item, token)


@router.get("/sources", response_model=SourceList, responses=NO_ARCHIVE, summary="Sources in the archive with their article counts")
async def list_sources(request: Request, access: Access) -> Response:
    token, items = await access.run_versioned(lambda archive: to_jsonable(archive.sources()))
    return _kept(request, {"items": items}, token)


@router.get("/runs", response_model=RunPage, responses=ERRORS, summary="Crawl runs, newest first")
async def list_runs(
    request: Request,
    access: Access,
    source: Annotated[Text, Query(description="Source id")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RUNS, description="Page size"), STRICT_INT] = DEFAULT_RUNS,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip"), STRICT_INT] = 0,
) -> Response:
    if source and "\x00" in source:
        return error_response(400, "source must not contain NUL characters")
    runs = await access.run(lambda archive: archive.runs(limit=limit + 1, offset=offset, source=_blank(source)))
    items = [public_run(r) for r in runs[:limit]]
    return json_response(request, {"items": to_jsonable(items), "limit": limit, "offset": offset,
                                   "has_more": len(runs) > limit}, headers=API_HEADERS)


@router.get("/status", response_model=Status, responses=NO_ARCHIVE,
            summary="Per source: the last run, its health (ok / degraded / failing), the next run, articles per day over 30 days")
async def status(request: Request, access: Access) -> Response:
    from crawler.ops.health import source_status

    body = await access.run(lambda archive: source_status(archive).to_dict())
    return json_response(request, body, headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})

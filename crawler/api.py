"""Read-only JSON API over the archive, framework-free.

Each endpoint is a pure function ``(archive, params) -> (status, body)`` where `body`
is JSON-able; `handle(archive, method, path, query)` dispatches a request path under
``/api``. The HTTP app (feeds/serve.py) mounts `handle` and serialises the body.
Errors are ``{"error": "..."}`` with a 4xx status: a malformed query is a 400 with
the reason, never a traceback.

    GET /api/articles?q=&source=&topic=&story=&since=&until=&sort=date|relevance&limit=&offset=
    GET /api/articles/{id}
    GET /api/sources
    GET /api/runs?source=&limit=&offset=
    GET /api/status
    GET /api/stories/{story_id}
    GET /api/openapi.json
"""

from __future__ import annotations

import logging
import re
from typing import Any, Mapping

from crawler.archive import Archive, QueryError
from crawler.exporters import to_jsonable

logger = logging.getLogger(__name__)

Response = tuple[int, dict[str, Any]]

LIST_OMIT = ("body_html", "body_text")
"""Listings leave the bodies out (fetch one article for them)."""
DEFAULT_LIMIT = 20
MAX_RUNS = 200
MAX_OFFSET = 1_000_000
SORTS = ("date", "relevance")


def _param(params: Mapping[str, Any], name: str) -> str | None:
    v = params.get(name)
    if isinstance(v, (list, tuple)):
        v = v[0] if v else None
    if v is None:
        return None
    v = str(v)
    return v if v != "" else None


_INTEGER = re.compile(r"-?[0-9]{1,19}")
_ARTICLE_ID = re.compile(r"-?[0-9]+")


def _int(params: Mapping[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    v = params.get(name)
    if isinstance(v, (list, tuple)):
        v = v[0] if v else None
    if v is None:
        return default
    raw = str(v)
    # Plain ASCII digits only: int() would also take "", " 5", "5_0" and "٥", which
    # the OpenAPI document (type integer) does not allow.
    if not _INTEGER.fullmatch(raw):
        raise QueryError(f"{name} must be an integer, not {raw!r}")
    v = int(raw)
    if not lo <= v <= hi:
        raise QueryError(f"{name} must be between {lo} and {hi}")
    return v


def error(status: int, message: str) -> Response:
    return status, {"error": message}


def list_articles(archive: Archive, params: Mapping[str, Any]) -> Response:
    q = _param(params, "q")
    sort = _param(params, "sort") or ("relevance" if q else "date")
    if sort not in SORTS or ("sort" in params and not _param(params, "sort")):
        return error(400, f"sort must be one of {', '.join(SORTS)}")
    try:
        limit = _int(params, "limit", DEFAULT_LIMIT, 1, 100)
        offset = _int(params, "offset", 0, 0, MAX_OFFSET)
        res = archive.search(
            q, source=_param(params, "source"), topic=_param(params, "topic"), story=_param(params, "story"),
            since=_param(params, "since"), until=_param(params, "until"), sort=sort, limit=limit, offset=offset,
        )
    except QueryError as exc:
        return error(400, str(exc))
    items = [{k: (public_warc(v) if k == "warc_record" else v) for k, v in item.items() if k not in LIST_OMIT}
             for item in res.items]
    body: dict[str, Any] = {"items": to_jsonable(items), "limit": res.limit, "offset": res.offset, "has_more": res.has_more}
    if res.has_more:
        body["next_offset"] = res.offset + res.limit
    if res.hints:  # how the query was read where it differs from what was typed
        body["hints"] = res.hints
    return 200, body


def get_article(archive: Archive, article_id: Any) -> Response:
    # Plain ASCII digits (a minus sign allowed: an integer, just not an article's): int()
    # reads "1_0" as 10 and "٥" as 5 (another article's URL).
    if not _ARTICLE_ID.fullmatch(str(article_id)):
        return error(400, f"article id must be an integer, not {str(article_id)[:40]!r}")
    aid = int(str(article_id))
    if not 0 < aid < 2**63:
        return error(404, f"no article {aid}")
    item = archive.get_article(aid)
    if item is None:
        return error(404, f"no article {aid}")
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
    return 200, to_jsonable(item)


def list_sources(archive: Archive, params: Mapping[str, Any] | None = None) -> Response:
    return 200, {"items": to_jsonable(archive.sources())}


def list_runs(archive: Archive, params: Mapping[str, Any]) -> Response:
    try:
        limit = _int(params, "limit", 50, 1, MAX_RUNS)
        offset = _int(params, "offset", 0, 0, MAX_OFFSET)
    except QueryError as exc:
        return error(400, str(exc))
    source = _param(params, "source")
    if source and "\x00" in source:
        return error(400, "source must not contain NUL characters")
    runs = archive.runs(limit=limit + 1, offset=offset, source=source)
    items = [public_run(r) for r in runs[:limit]]
    return 200, {"items": to_jsonable(items), "limit": limit, "offset": offset, "has_more": len(runs) > limit}


_PRIVATE_RUN_KEYS = ("host", "pid")


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


def get_story(archive: Archive, story_id: str) -> Response:
    """A story: its canonical report, the other sites' reports ("also reported by") and
    its most similar other stories (related)."""
    from crawler.dedup import related_stories, story_members

    if not _STORY_ID.match(story_id):
        return error(400, f"malformed story id {story_id!r}")
    members = story_members(archive, story_id)
    if not members:
        return error(404, f"no story {story_id}")
    body = {
        "story_id": story_id,
        "canonical": members[0],
        "also_reported_by": members[1:],
        "related": related_stories(archive, story_id),
    }
    return 200, to_jsonable(body)


_ARTICLE_PATH = re.compile(r"^/api/articles/([^/]+)/?$")
_STORY_PATH = re.compile(r"^/api/stories/([^/]+)/?$")
_STORY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def handle(archive: Archive, method: str, path: str, query: Mapping[str, Any] | None = None) -> Response:
    """Dispatch one request under ``/api``; `query` maps names to a value or a list of
    values (as ``urllib.parse.parse_qs`` gives)."""
    query = query or {}
    if method.upper() not in ("GET", "HEAD"):
        return error(405, "the archive API is read-only: GET only")
    path = path.split("?", 1)[0]
    try:
        if path in ("/api/articles", "/api/articles/"):
            return list_articles(archive, query)
        m = _ARTICLE_PATH.match(path)
        if m:
            return get_article(archive, m.group(1))
        m = _STORY_PATH.match(path)
        if m:
            return get_story(archive, m.group(1))
        if path in ("/api/sources", "/api/sources/"):
            return list_sources(archive, query)
        if path in ("/api/runs", "/api/runs/"):
            return list_runs(archive, query)
        if path in ("/api/status", "/api/status/"):
            from crawler.ops.health import api_status

            return api_status(archive, query)
        if path in ("/api/openapi.json", "/api", "/api/"):
            return 200, OPENAPI
    except QueryError as exc:
        return error(400, str(exc))
    except Exception:  # the client gets a clean error; the log gets the details
        logger.exception("API error on %s", path)
        return error(500, "internal error while reading the archive")
    return error(404, f"no such API path: {path}")


# --- OpenAPI -------------------------------------------------------------------------

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_ERROR = {"description": "bad request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


# What `since`/`until` accept: a date, a date-time, or nothing (an empty form field).
_DATE_PARAM = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"},
                         {"type": "string", "maxLength": 0}]}


def _q(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or _STR}


_ARTICLE_PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "url": _STR,
    "source": _STR,
    "canonical_url": _NULLABLE_STR,
    "site_article_id": _NULLABLE_STR,
    "title": _NULLABLE_STR,
    "body_html": {"type": ["string", "null"], "description": "sanitised HTML (no script, style, frames, handlers, "
                  "non-http(s) URLs); the archive keeps it as published"},
    "body_text": _NULLABLE_STR,
    "summary": _NULLABLE_STR,
    "author": _NULLABLE_STR,
    "section_raw": _NULLABLE_STR,
    "tags": {"type": "array", "items": _STR},
    "image_url": _NULLABLE_STR,
    "language": _NULLABLE_STR,
    "date_published_raw": _NULLABLE_STR,
    "date_displayed_raw": _NULLABLE_STR,
    "date_published": {"type": ["string", "null"], "format": "date-time"},
    "date_published_precision": _NULLABLE_STR,
    "date_modified_raw": _NULLABLE_STR,
    "date_modified": {"type": ["string", "null"], "format": "date-time"},
    "fetched_at": {"type": ["string", "null"], "format": "date-time"},
    "extraction": _NULLABLE_STR,
    "http_status": {"type": ["integer", "null"]},
    "warc_record": {"type": ["object", "null"], "properties": {"file": _STR, "offset": {"type": "integer"}, "record_id": _STR}},
    "topic": _NULLABLE_STR,
    "topic_confidence": {"type": ["number", "null"]},
    "story_id": _NULLABLE_STR,
    "is_canonical": {"type": ["boolean", "null"]},
    "extra": {"type": "object"},
    "archived_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer"},
    "run_id": _NULLABLE_STR,
    "score": {"type": "number", "description": "relevance (higher is better); only with sort=relevance"},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Akhbar archive API",
        "version": "1",
        "description": "Read-only access to the archive of Moroccan Arabic news: articles (Arabic-aware "
        "full-text search with filters), sources and crawl runs. Errors are {\"error\": message}.",
    },
    "paths": {
        "/api/articles": {
            "get": {
                "summary": "Search or list articles, newest first or by relevance",
                "parameters": [
                    _q("q", 'Words and "phrases" (word* for a prefix); normalised like the index, so diacritics '
                       "and hamza/alef spellings do not matter. Empty lists all articles."),
                    _q("source", "Source id"),
                    _q("topic", "Topic id"),
                    _q("story", "Story id"),
                    _q("since", "From this date (YYYY-MM-DD or ISO 8601), inclusive; empty means no bound", _DATE_PARAM),
                    _q("until", "Up to this date, inclusive; empty means no bound", _DATE_PARAM),
                    _q("sort", "date (default without q) or relevance (default with q)", {"type": "string", "enum": list(SORTS)}),
                    _q("limit", "Page size", {"type": "integer", "minimum": 1, "maximum": 100, "default": DEFAULT_LIMIT}),
                    _q("offset", "Items to skip", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
                ],
                "responses": {
                    "200": {"description": "a page of articles (bodies omitted)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArticlePage"}}}},
                    "400": _ERROR,
                },
            }
        },
        "/api/articles/{id}": {
            "get": {
                "summary": "One article with every field and its earlier versions",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {
                    "200": {"description": "the article", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Article"}}}},
                    "400": _ERROR,
                    "404": {"description": "no such article", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
        },
        "/api/sources": {
            "get": {
                "summary": "Sources in the archive with their article counts",
                "responses": {"200": {"description": "sources", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}}}}}}}},
            }
        },
        "/api/runs": {
            "get": {
                "summary": "Crawl runs, newest first",
                "parameters": [
                    _q("source", "Source id"),
                    _q("limit", "Page size", {"type": "integer", "minimum": 1, "maximum": MAX_RUNS, "default": 50}),
                    _q("offset", "Items to skip", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
                ],
                "responses": {
                    "200": {"description": "runs", "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
                        "limit": {"type": "integer"}, "offset": {"type": "integer"}, "has_more": {"type": "boolean"}}}}}},
                    "400": _ERROR,
                },
            }
        },
        "/api/stories/{story_id}": {
            "get": {
                "summary": "One story: its canonical report, the other reports of it and related stories",
                "parameters": [{"name": "story_id", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": _STORY_ID.pattern}}],
                "responses": {
                    "200": {"description": "the story", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Story"}}}},
                    "400": _ERROR,
                    "404": {"description": "no such story", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
        },
        "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    },
    "components": {
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": _STR}},
            "StoryMember": {"type": "object", "properties": {
                "id": {"type": "integer"}, "story_id": _STR, "url": _STR, "canonical_url": _STR, "source": _STR,
                "title": _NULLABLE_STR, "date_published": {"type": ["string", "null"], "format": "date-time"},
                "is_canonical": {"type": ["boolean", "null"]},
                "score": {"type": "number", "description": "similarity (related stories only)"}}},
            "Story": {"type": "object", "required": ["story_id", "canonical", "also_reported_by", "related"], "properties": {
                "story_id": _STR,
                "canonical": {"$ref": "#/components/schemas/StoryMember"},
                "also_reported_by": {"type": "array", "items": {"$ref": "#/components/schemas/StoryMember"}},
                "related": {"type": "array", "items": {"$ref": "#/components/schemas/StoryMember"}}}},
            "Article": {"type": "object", "required": ["id", "url", "source"], "properties": {
                **_ARTICLE_PROPS,
                "versions": {"type": "array", "items": {"type": "object", "properties": {
                    "version": {"type": "integer"}, "title": _NULLABLE_STR,
                    "superseded_at": {"type": "string", "format": "date-time"}, "warc_record": {"type": ["object", "null"]}}}},
            }},
            "ArticlePage": {"type": "object", "required": ["items", "limit", "offset", "has_more"], "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Article"}},
                "limit": {"type": "integer"}, "offset": {"type": "integer"}, "has_more": {"type": "boolean"},
                "next_offset": {"type": "integer"},
                "hints": {"type": "array", "items": {"type": "string"}}}},
            "Source": {"type": "object", "properties": {
                "id": _STR, "name": _NULLABLE_STR, "name_en": _NULLABLE_STR, "base_url": _NULLABLE_STR,
                "language": _NULLABLE_STR, "articles": {"type": "integer"},
                "first_seen_at": {"type": "string", "format": "date-time"}, "last_seen_at": {"type": "string", "format": "date-time"}}},
            "Run": {"type": "object", "properties": {
                "id": _STR, "spider": _NULLABLE_STR, "source": _NULLABLE_STR,
                "started_at": {"type": "string", "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"},
                "status": _STR, "stats": {"type": "object"}, "errors": {"type": "array", "items": {"type": "object"}},
                "warc_file": _NULLABLE_STR}},
        }
    },
}


# The admin endpoints moved to feeds/web/admin.py, whose OpenAPI entries FastAPI generates.


def _add_status_endpoint() -> None:
    # GET /api/status is computed by crawler.ops.health (what `akhbar status` prints).
    from crawler.ops.health import OPENAPI_PATHS, OPENAPI_SCHEMAS

    OPENAPI["paths"].update(OPENAPI_PATHS)
    OPENAPI["components"]["schemas"].update(OPENAPI_SCHEMAS)


_add_status_endpoint()

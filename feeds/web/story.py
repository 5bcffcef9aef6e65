"""A story: every outlet's report of it side by side, each with what it changed against the
first report.

    GET /api/stories/{story_id}   the story as data (typed: the OpenAPI document carries it)
    GET /story/{story_id}         the Arabic page (Jinja2, autoescaped, no script)

The first report is the story's canonical one (the earliest published); every other
report carries ``changes``: `feeds.web.diff` of its title and text against the first
report's. Everything read from the archive is untrusted and reaches the page only through
autoescaped templates: bodies are compared and shown as plain text, links only when they
are http(s) (`feeds.build.safe_url`).
"""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from feeds.build import plain_text, safe_url, sanitize_html
from feeds.web.archive_access import get_access
from feeds.web.diff import MAX_CHARS, ReportDiff, diff_reports, paragraphs_of
from feeds.web.templating import render

logger = logging.getLogger(__name__)

router = APIRouter()

STORY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_COMPARED = 20
"""Reports compared with the first one; a story's further reports are listed without
``changes`` (a bulletin series can gather hundreds, and each difference costs a body read)."""
PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; form-action 'self'; "
            "frame-ancestors 'self'; base-uri 'none'")
"""As every page of the app: no script at all, so a payload in a report is inert text."""
MOROCCO = ZoneInfo("Africa/Casablanca")


# --- the response, typed ---------------------------------------------------------------------

class ErrorBody(BaseModel):
    error: str


class StoryMember(BaseModel):
    id: int
    story_id: str | None
    url: str
    canonical_url: str | None
    source: str
    title: str | None
    date_published: datetime | None
    is_canonical: bool | None


class RelatedStory(StoryMember):
    score: float = Field(description="similarity with this story, 0..1")


class Segment(BaseModel):
    op: Literal["equal", "insert", "delete"] = Field(
        description="equal: in both reports; insert: only in this report; delete: only in the first report")
    text: str


class ParagraphChange(BaseModel):
    op: Literal["kept", "replaced", "added", "removed"]
    segments: list[Segment] = Field(description="the paragraph as this report has it, with what the first report had instead")
    words_added: list[str]
    words_removed: list[str]
    moved: bool = Field(description="kept or replaced, at another place than in the first report")
    similarity: float


class ChangeSummary(BaseModel):
    identical: bool = Field(description="same title and text once normalised (tashkeel, hamza forms, digits aside)")
    title_changed: bool
    kept: int
    replaced: int
    added: int
    removed: int
    moved: int
    words_added: int
    words_removed: int
    truncated: bool = Field(description="a text was longer than what is compared; the rest is left out")


class Changes(BaseModel):
    against: int = Field(description="article id of the first report, which this report is compared with")
    summary: ChangeSummary
    title: list[Segment]
    paragraphs: list[ParagraphChange]


class OtherReport(StoryMember):
    changes: Changes | None = Field(
        description=f"what this report changed against the first report (null past the first {MAX_COMPARED} reports)")


class Story(BaseModel):
    story_id: str
    canonical: StoryMember
    also_reported_by: list[OtherReport]
    related: list[RelatedStory]


def changes_of(diff: ReportDiff, against: int) -> Changes:
    s = diff.summary
    return Changes(
        against=against,
        summary=ChangeSummary(**{name: getattr(s, name) for name in ChangeSummary.model_fields}),
        title=[Segment(op=g.op, text=g.text) for g in diff.title],
        paragraphs=[
            ParagraphChange(op=p.op, segments=[Segment(op=g.op, text=g.text) for g in p.segments],
                            words_added=p.words_added, words_removed=p.words_removed, moved=p.moved,
                            similarity=p.similarity)
            for p in diff.paragraphs
        ],
    )


# --- reading a story -------------------------------------------------------------------------

_BLOCK = re.compile(r"(?i)<(?:/?(?:p|div|li|ul|ol|h[1-6]|blockquote|tr|table|section|article|figure|figcaption)\b[^>]*|br\s*/?)>")
_TAG = re.compile(r"<[^>]*>")


def report_text(row: dict[str, Any]) -> str:
    """A report's text with its paragraph breaks: the stored text, else its HTML's blocks
    (scripts and styles dropped with their content by the sanitiser first)."""
    if row.get("body_text"):
        return str(row["body_text"])[:MAX_CHARS]
    fragment = sanitize_html(str(row.get("body_html") or "")[: MAX_CHARS * 2])
    return html.unescape(_TAG.sub("", _BLOCK.sub("\n\n", fragment)))[:MAX_CHARS]


def load_story(archive: Any, story_id: str) -> Story | None:
    """The story as the API serves it; None when no article carries `story_id`."""
    from crawler.dedup.stories import related_stories, story_members

    members = story_members(archive, story_id)
    if not members:
        return None
    compared = members[: MAX_COMPARED + 1]
    ids = [m["id"] for m in compared]
    marks = ", ".join("?" for _ in ids)
    rows = {r["id"]: r for r in archive.fetch(f"SELECT id, title, body_text, body_html FROM articles WHERE id IN ({marks})", ids)}
    first = rows.get(members[0]["id"], {})
    first_text = report_text(first)
    others = []
    for k, m in enumerate(members[1:], start=1):
        changes = None
        if k < len(compared):
            row = rows.get(m["id"], {})
            # Titles as every page and feed shows them: markup dropped (`plain_text`).
            diff = diff_reports(first_text, report_text(row), plain_text(first.get("title")), plain_text(row.get("title")))
            changes = changes_of(diff, members[0]["id"])
        others.append(OtherReport(**m, changes=changes))
    try:
        related = [RelatedStory(**r) for r in related_stories(archive, story_id)]
    except Exception:  # related stories are a nicety: the story is served without them
        logger.exception("related stories of %s failed", story_id)
        related = []
    return Story(story_id=story_id, canonical=StoryMember(**members[0]), also_reported_by=others, related=related)


# --- the archive the app reads ----------------------------------------------------------------

def get_archive(request: Request) -> Any:
    """The app's archive, opened (and closed) by the app's lifespan (`ArchiveAccess`);
    None when the app serves the feed files only."""
    access = get_access(request)
    return access.archive if access is not None else None


ArchiveDep = Annotated[Any, Depends(get_archive)]




class InertJSONResponse(JSONResponse):
    """JSON with ``<``, ``>`` and ``&`` as ``\\u`` escapes (as the API has always served
    it): the same data, but no byte a sniffing or embedding client could read as markup."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        # str.replace, not str.translate: translate looks every character of Arabic text up
        # in a dict (11 ms for a 24 kB story against 0.04 ms)
        return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").encode("utf-8")


def _json(body: Any, status: int = 200) -> InertJSONResponse:
    return InertJSONResponse(body, status_code=status, headers={"X-Content-Type-Options": "nosniff"})


def _error(status: int, message: str) -> JSONResponse:
    return _json({"error": message}, status)


_ID_PARAM = PathParam(description="a story id (letters, digits, - and _)",
                      json_schema_extra={"pattern": f"^{STORY_ID.pattern}$", "maxLength": 64})


@router.get(
    "/api/stories/{story_id}",
    response_model=Story,
    summary="One story: its first report, the other reports of it with what each changed, and related stories",
    responses={400: {"model": ErrorBody, "description": "malformed story id"},
               404: {"model": ErrorBody, "description": "no such story"},
               503: {"model": ErrorBody, "description": "no archive configured"}},
    tags=["stories"],
)
def api_story(story_id: Annotated[str, _ID_PARAM], archive: ArchiveDep) -> Any:
    # Checked here rather than by the path parameter's pattern: a bad id is this API's
    # 400 {"error"} like every other, not FastAPI's 422.
    if not STORY_ID.fullmatch(story_id):
        return _error(400, f"malformed story id {story_id[:80]!r}")
    if archive is None:
        return _error(503, "no archive configured")
    story = load_story(archive, story_id)
    if story is None:
        return _error(404, f"no story {story_id}")
    return _json(story.model_dump(mode="json"))


# --- the page ----------------------------------------------------------------------------------

@cache
def _source_names() -> dict[str, str]:
    try:
        from feeds.query import source_names

        return source_names()
    except Exception:  # names are cosmetic: the page shows source ids without the config
        logger.exception("source names not loaded")
        return {}


def arabic_date(dt: datetime | None) -> str:
    """``الجمعة 8 أبريل 2022 - 23:56`` in Moroccan time (as the front page prints dates)."""
    if dt is None:
        return ""
    from feeds.arabic_date import arabic_date as page_date

    return page_date(dt if dt.tzinfo else dt.replace(tzinfo=UTC), MOROCCO)  # the archive stores UTC


def page_view(story: Story, first_text: str) -> dict[str, Any]:
    """What the template shows: plain, cleaned values only (the template escapes them)."""
    names = _source_names()

    def member(m: StoryMember) -> dict[str, Any]:
        return {
            "id": m.id,
            "source": m.source,
            "source_name": names.get(m.source, m.source),
            "title": plain_text(m.title) or "",
            "url": safe_url(m.canonical_url) or safe_url(m.url),
            "date": m.date_published,
            "date_text": arabic_date(m.date_published),
        }

    first = member(story.canonical) | {"paragraphs": paragraphs_of(first_text)}
    others = [member(o) | {"changes": o.changes} for o in story.also_reported_by]
    related = [member(r) | {"story_id": r.story_id} for r in story.related if r.story_id]
    return {"story_id": story.story_id, "first": first, "others": others, "related": related}


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={
        "Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"})


# HEAD too: link checkers and feed readers probe a page before fetching it.
@router.api_route("/story/{story_id}", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False)
def story_page(story_id: str, archive: ArchiveDep) -> HTMLResponse:
    if not STORY_ID.fullmatch(story_id) or archive is None:
        return _missing(story_id)
    story = load_story(archive, story_id)
    if story is None:
        return _missing(story_id)
    row = archive.fetchone("SELECT body_text, body_html FROM articles WHERE id = ?", (story.canonical.id,)) or {}
    view = page_view(story, report_text(row))
    return _page(render("story.html", title=view["first"]["title"] or "خبر", missing=False, **view))


def _missing(story_id: str) -> HTMLResponse:
    return _page(render("story.html", title="خبر غير موجود", missing=True, story_id=story_id[:80]), 404)

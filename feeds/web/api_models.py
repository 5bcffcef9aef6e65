"""The JSON API's bodies as pydantic models: the OpenAPI document's schemas are generated
from these (and the routes' typed parameters), not written by hand.

Models describe what the archive returns; they allow fields they do not name (a column
added to the archive shows up in the API before it is documented here).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crawler.ops.health import WINDOW_DAYS


class Error(BaseModel):
    """Every error: a 4xx or 5xx status with the reason."""

    error: str


class WarcRecord(BaseModel):
    file: str | None = Field(None, description="the WARC file's name (never the server's path to it)")
    offset: int | None = None
    record_id: str | None = None


class ArticleVersion(BaseModel):
    version: int
    title: str | None = None
    superseded_at: datetime | None = None
    warc_record: WarcRecord | None = None


class Article(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    url: str
    source: str
    canonical_url: str | None = None
    site_article_id: str | None = None
    title: str | None = None
    body_html: str | None = Field(None, description="sanitised HTML (no script, style, frames, handlers, "
                                  "non-http(s) URLs); the archive keeps it as published. Left out of listings.")
    body_text: str | None = Field(None, description="left out of listings")
    summary: str | None = None
    author: str | None = None
    section_raw: str | None = None
    tags: list[str] | None = None
    image_url: str | None = None
    language: str | None = None
    date_published_raw: str | None = None
    date_displayed_raw: str | None = None
    date_published: datetime | None = None
    date_published_precision: str | None = None
    date_modified_raw: str | None = None
    date_modified: datetime | None = None
    fetched_at: datetime | None = None
    extraction: str | None = None
    http_status: int | None = None
    warc_record: WarcRecord | None = None
    topic: str | None = None
    topic_confidence: float | None = None
    story_id: str | None = None
    is_canonical: bool | None = None
    extra: dict[str, Any] | None = None
    archived_at: datetime | None = None
    updated_at: datetime | None = None
    version: int | None = None
    run_id: str | None = None
    score: float | None = Field(None, description="relevance (higher is better); only with sort=relevance")
    versions: list[ArticleVersion] | None = Field(None, description="earlier versions, oldest first (one article only)")


class ArticlePage(BaseModel):
    items: list[Article]
    limit: int
    offset: int
    has_more: bool
    next_offset: int | None = Field(None, description="the offset of the next page, when there is one")
    hints: list[str] | None = Field(None, description="how the query was read, where it differs from what was typed")


class Source(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    name_en: str | None = None
    base_url: str | None = None
    language: str | None = None
    articles: int
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None


class SourceList(BaseModel):
    items: list[Source]


class Run(BaseModel):
    """A crawl run, without the host and process that ran it."""

    model_config = ConfigDict(extra="allow")

    id: str
    spider: str | None = None
    source: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    status: str | None = None
    stats: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    warc_file: str | None = Field(None, description="the WARC file's name (never the server's path to it)")


class RunPage(BaseModel):
    items: list[Run]
    limit: int
    offset: int
    has_more: bool


# --- GET /api/status (computed by crawler.ops.health, what `akhbar status` prints) --------

Health = Literal["ok", "degraded", "failing", "unknown"]
Count = Annotated[int, Field(ge=0)]


class MonitorResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    ok: bool
    value: Any = None
    threshold: Any = None
    message: str


class RunSummary(BaseModel):
    id: str
    started_at: datetime | None
    finished_at: datetime | None
    status: str | None
    health: Literal["ok", "degraded", "failing"] | None
    articles_scraped: int | None = None
    articles_new: int | None = None
    articles_updated: int | None = None
    pages: int | None = None
    http_errors: dict[str, Any] | None = None
    duration_s: float | None = None
    failed_monitors: list[MonitorResult]
    layers: dict[str, dict[str, Count]] | None = Field(
        None, description="field -> extraction layer -> articles, for title, body_text and date_published_raw")


class SourceStatus(BaseModel):
    id: str
    name: str
    health: Health
    running: bool = Field(description="a scheduler lease says a crawl of it is running")
    last_run: RunSummary | None
    next_run: datetime | None
    articles_per_day: Annotated[list[Count], Field(min_length=WINDOW_DAYS, max_length=WINDOW_DAYS)]
    articles_30d: Count


class Status(BaseModel):
    generated_at: datetime
    days: Annotated[list[date], Field(min_length=WINDOW_DAYS, max_length=WINDOW_DAYS)]
    sources: list[SourceStatus]

"""The `Article` item: one news report as extracted from one site.

Raw values (`date_published_raw`, `section_raw`, ...) are kept beside the cleaned
ones so that a parser fix can be replayed over stored items without refetching.
Pipelines fill the derived fields (`date_published`, `topic`, `story_id`, ...);
spiders leave them empty.

Every field has an attribute docstring; `ARTICLE_FIELDS` lists the names in
schema order for exporters and the archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass
class Article:
    # --- identity -------------------------------------------------------------
    url: str
    """The URL the article was fetched from (after redirects)."""

    source: str
    """Source id from the sources config, e.g. ``hespress``."""

    canonical_url: str | None = None
    """``<link rel=canonical>`` / ``og:url`` / JSON-LD ``url`` when the page declares one,
    else the fetched URL. The archive folds tracking parameters and AMP variants on top."""

    site_article_id: str | None = None
    """The site's own article id where its URLs or markup carry one (WordPress post id)."""

    # --- content --------------------------------------------------------------
    title: str | None = None
    """Headline, whitespace-collapsed, exactly as published otherwise."""

    body_html: str | None = None
    """Article body HTML as published (boilerplate blocks removed, markup not sanitised)."""

    body_text: str | None = None
    """Plain-text body, paragraphs separated by blank lines."""

    summary: str | None = None
    """Standfirst / ``og:description`` / excerpt; never invented."""

    author: str | None = None
    """Byline or desk as printed (``هسبريس من الرباط``, ``هبة بريس - وكالات``)."""

    section_raw: str | None = None
    """The site's own section name or slug as printed (breadcrumb, category)."""

    tags: list[str] = field(default_factory=list)
    """Keyword tags as printed by the site."""

    image_url: str | None = None
    """Absolute URL of the lead image."""

    language: str = "ar"
    """BCP 47 language tag of the article (``lang`` attribute or config)."""

    # --- dates: raw strings beside parsed values -------------------------------
    date_published_raw: str | None = None
    """Publication date string as found, from the most machine-readable place available
    (JSON-LD ``datePublished`` > ``article:published_time`` > the displayed date)."""

    date_displayed_raw: str | None = None
    """The date as the page displays it to readers (``الجمعة 8 أبريل 2022 - 23:56``,
    ``منذ 3 ساعات``, ``١٦-٠٧-٢٠٢٥``); kept even when a machine-readable date exists."""

    date_published: datetime | None = None
    """Aware publication datetime, filled by the dates pipeline; None when unparseable."""

    date_published_precision: str | None = None
    """Precision of `date_published`: ``minute``, ``hour``, ``day``, ``month`` or ``year``.
    ``year`` only comes from a count of years (``منذ سنة``, ``قبل عامين``): the value is
    the fetch time minus 365 days a year, good to about six months."""

    date_modified_raw: str | None = None
    """Last-modified date string as found (JSON-LD ``dateModified``, ``article:modified_time``)."""

    date_modified: datetime | None = None
    """Aware last-modified datetime, filled by the dates pipeline."""

    fetched_at: datetime | None = None
    """Aware UTC moment the page was fetched; relative dates resolve against it."""

    # --- provenance -------------------------------------------------------------
    extraction: str | None = None
    """Which extractor supplied the title and body: ``jsonld``, ``meta``, ``selectors``,
    ``generic`` or ``api`` (comma-joined when several contributed)."""

    http_status: int | None = None
    """HTTP status of the article response."""

    warc_record: dict[str, Any] | None = None
    """Where the raw response is kept: ``{"file", "offset", "record_id"}`` in the run's WARC."""

    # --- derived by pipelines -----------------------------------------------------
    topic: str | None = None
    """Canonical topic id (see `crawler.taxonomy`), from the section map or the classifier."""

    topic_confidence: float | None = None
    """1.0 when the topic came from the section map, the classifier's probability otherwise."""

    story_id: str | None = None
    """Story shared by near-identical reports across sites (dedup pipeline)."""

    is_canonical: bool | None = None
    """True when this report is its story's canonical (earliest published) report."""

    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else extraction found that has no field of its own (JSON-LD keywords, ...)."""


ARTICLE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Article))

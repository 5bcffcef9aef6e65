"""Crawl-run identity shared by the archive pipeline and the WARC middleware.

Each crawler (one spider run) gets one run id the first time a component asks;
it names the run's row in ``crawl_runs`` and its WARC file ``<data>/warc/<run-id>.warc.gz``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def run_id_for(crawler: Any) -> str:
    rid = getattr(crawler, "akhbar_run_id", None)
    if rid is None:
        name = getattr(crawler.spidercls, "name", None) or "crawl"
        rid = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{name}-{uuid.uuid4().hex[:8]}"
        crawler.akhbar_run_id = rid
    return rid


def data_dir(settings: Any) -> Path:
    import os

    return Path(settings.get("AKHBAR_DATA") or os.environ.get("AKHBAR_DATA") or "data")


def warc_path(settings: Any, run_id: str) -> Path:
    return data_dir(settings) / "warc" / f"{run_id}.warc.gz"


# --- extraction layers -------------------------------------------------------------------
# Which layer of the page object (spiders/page.py: jsonld, meta, selectors, the api/rss
# hints, generic) gave each article's title, body and date, counted per run in the Scrapy
# stats and kept on the run's row (``crawl_runs.layers``): a site whose own selectors stop
# giving bodies shows as bodies moving to the generic layer (crawler/ops/monitors.py).

LAYER_FIELDS: tuple[str, ...] = ("title", "body_text", "date_published_raw")
LAYER_STAT_PREFIX = "akhbar/layer/"
GENERIC_LAYER = "generic"


def record_layers(stats: Any, field_layers: Mapping[str, str], article: Any) -> None:
    """Count, in `stats`, the layer that gave each of `LAYER_FIELDS` to one article
    (``akhbar/layer/body_text/generic``); a field no layer gave counts under ``none``."""
    if stats is None:
        return
    for name in LAYER_FIELDS:
        layer = field_layers.get(name)
        if name == "date_published_raw" and layer is None and getattr(article, name, None):
            # the displayed date stood in for the machine-readable one (page.to_article)
            layer = field_layers.get("date_displayed_raw")
        stats.inc_value(f"{LAYER_STAT_PREFIX}{name}/{layer or 'none'}")


def layer_counts(stats: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """``{field: {layer: articles}}`` from a run's stats (every field of `LAYER_FIELDS`
    present, empty when the run extracted nothing)."""
    out: dict[str, dict[str, int]] = {name: {} for name in LAYER_FIELDS}
    for key, value in stats.items():
        if not key.startswith(LAYER_STAT_PREFIX):
            continue
        name, _, layer = key[len(LAYER_STAT_PREFIX):].partition("/")
        if name in out and layer:
            out[name][layer] = out[name].get(layer, 0) + int(value)
    return {name: dict(sorted(counts.items())) for name, counts in out.items()}

"""Crawl-run identity shared by the archive pipeline and the WARC middleware.

Each crawler (one spider run) gets one run id the first time a component asks;
it names the run's row in ``crawl_runs`` and its WARC file ``<data>/warc/<run-id>.warc.gz``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def run_id_for(crawler: Any) -> str:
    rid = getattr(crawler, "akhbar_run_id", None)
    if rid is None:
        name = getattr(crawler.spidercls, "name", None) or "crawl"
        rid = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{name}-{uuid.uuid4().hex[:8]}"
        crawler.akhbar_run_id = rid
    return rid


def data_dir(settings: Any) -> Path:
    import os

    return Path(settings.get("AKHBAR_DATA") or os.environ.get("AKHBAR_DATA") or "data")


def warc_path(settings: Any, run_id: str) -> Path:
    return data_dir(settings) / "warc" / f"{run_id}.warc.gz"

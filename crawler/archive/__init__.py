"""The archive: every article ever collected, its sources, crawl runs and seen URLs.

One interface (`crawler.archive.base.Archive`), two backends chosen by a URL:

- ``sqlite:///<path>`` (or a bare file path): embedded, the default, at
  ``<AKHBAR_DATA>/archive.sqlite3``;
- ``postgresql://user@host/db[?schema=NAME]``: for many crawler machines.

`open_archive` opens it and runs pending migrations; a crawl's components share one
per crawler through `crawler.archive.shared.crawler_archive`. See docs/archive.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from crawler.archive.base import Archive, SearchResult, UpsertResult
from crawler.archive.search import QueryError, SearchTimeout

__all__ = ["Archive", "QueryError", "SearchResult", "SearchTimeout", "UpsertResult", "archive_url", "open_archive"]


def default_url(data_dir: str | Path | None = None) -> str:
    data = Path(data_dir or os.environ.get("AKHBAR_DATA") or "data").resolve()
    return f"sqlite:///{data / 'archive.sqlite3'}"


def archive_url(settings: Any = None) -> str:
    """The archive URL: the ``AKHBAR_ARCHIVE_URL`` setting or environment variable,
    else the SQLite file under the data directory (``AKHBAR_DATA``)."""
    url = None
    data = None
    if settings is not None:
        url = settings.get("AKHBAR_ARCHIVE_URL")
        data = settings.get("AKHBAR_DATA")
    url = url or os.environ.get("AKHBAR_ARCHIVE_URL")
    return url or default_url(data)


_DEFAULT: Any = object()


def open_archive(url_or_path: str | Path | None = None, *, migrate: bool = True, migrate_to: int | None = None,
                 search_budget: float | None = _DEFAULT) -> Archive:
    """Open (creating when needed) the archive at `url_or_path` (default: `archive_url()`)
    and bring its schema up to date. `search_budget`: seconds a search may take before it
    raises `SearchTimeout` (None: no limit; default ``AKHBAR_SEARCH_BUDGET`` or 2 s)."""
    url = str(url_or_path) if url_or_path else archive_url()
    archive: Archive
    if url.startswith(("postgresql://", "postgres://")):
        from crawler.archive.postgres import PostgresArchive

        archive = PostgresArchive(url)
    elif "://" in url and not url.startswith("sqlite://"):
        raise ValueError(f"unsupported archive URL {url!r}: use sqlite:///PATH or postgresql://...")
    else:
        from crawler.archive.sqlite import SQLiteArchive

        archive = SQLiteArchive(url)
    if search_budget is not _DEFAULT:
        archive.search_budget = search_budget
    if migrate:
        archive.migrate(migrate_to)
    return archive

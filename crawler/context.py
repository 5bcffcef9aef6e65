"""The run context every command gets from the CLI: where its data lives and which archive
it uses, decided once from the flags, the environment the user set and the config.

Commands used to find these through ``os.environ`` (the CLI wrote ``AKHBAR_DATA`` and
``AKHBAR_ARCHIVE_URL`` into its own environment and library code read them back): two
commands run in one process, or a test calling a command twice, saw each other's values.
The CLI now reads the user's environment once, builds a `Context` and hands it down;
Scrapy crawls get it as settings, child processes as explicit arguments or environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.archive import default_url

ARCHIVE_ENV = "AKHBAR_ARCHIVE_URL"
DATA_ENV = "AKHBAR_DATA"


@dataclass(frozen=True)
class Context:
    data_dir: Path
    """Absolute data directory (archive file, WARCs, items log, public/ feeds, leases)."""
    archive_url: str
    """The archive every command of this invocation reads and writes."""

    @classmethod
    def build(cls, data: str | Path | None = None, archive: str | None = None, *,
              cluster_url: str | None = None) -> Context:
        """The context for `data` and `archive` (a command's flags), falling back to the
        user's environment, then ``[cluster] archive_url``, then ``DATA/archive.sqlite3``."""
        data_dir = Path(data or os.environ.get(DATA_ENV) or "data").resolve()
        url = archive or os.environ.get(ARCHIVE_ENV) or cluster_url
        return cls(data_dir, url or default_url(data_dir))

    def scrapy_settings(self) -> dict[str, Any]:
        """The settings a crawl started from this context runs with."""
        return {DATA_ENV: str(self.data_dir), ARCHIVE_ENV: self.archive_url}

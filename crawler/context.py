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
from dataclasses import dataclass, replace
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
    archive_explicit: bool = False
    """Whether the URL was named (``--archive``, the environment, ``[cluster]``) rather
    than defaulted to the SQLite file under `data_dir`."""

    @classmethod
    def build(cls, data: str | Path | None = None, archive: str | None = None, *,
              environ: dict[str, str] | None = None, cluster_url: str | None = None) -> Context:
        """The context for `data` and `archive` (a command's flags), falling back to the
        user's environment, then ``[cluster] archive_url``, then ``DATA/archive.sqlite3``."""
        env = os.environ if environ is None else environ
        data_dir = Path(data or env.get(DATA_ENV) or "data").resolve()
        url = archive or env.get(ARCHIVE_ENV) or cluster_url
        return cls(data_dir, url or default_url(data_dir), archive_explicit=bool(url))

    def with_archive(self, url: str | None) -> Context:
        """This context with a command's own ``--archive`` flag applied (when given)."""
        return replace(self, archive_url=url, archive_explicit=True) if url else self

    def scrapy_settings(self) -> dict[str, Any]:
        """The settings a crawl started from this context runs with."""
        return {"AKHBAR_DATA": str(self.data_dir), "AKHBAR_ARCHIVE_URL": self.archive_url}

    def child_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a child ``akhbar`` process that must use the same data and archive."""
        env = dict(os.environ if base is None else base)
        env.update({DATA_ENV: str(self.data_dir), ARCHIVE_ENV: self.archive_url})
        return env

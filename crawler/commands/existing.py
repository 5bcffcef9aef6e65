"""Commands that only read an archive refuse one that does not exist.

`akhbar --data /path/with/typo search ...` used to create a new empty archive there, print
its migrations and answer "no articles found": a typo looked like an empty result. Reading
commands (search, export, status, publish, serve, failed, dedup) call `existing_archive`;
only `crawl`, `import`, `demo` and `run` create an archive.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

ARCHIVE_FILE = "archive.sqlite3"


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):].split("?", 1)[0])  # as crawler/archive/sqlite.py reads it
    if "://" not in url:
        return Path(url)
    return None


def _suggestions(path: Path) -> list[str]:
    """Sibling directories of the data directory that hold an archive, closest names first."""
    data = path.parent
    parent = data.parent
    try:
        found = [d.name for d in parent.iterdir() if d.is_dir() and (d / ARCHIVE_FILE).is_file()]
    except OSError:
        return []
    return [str(parent / name) for name in difflib.get_close_matches(data.name, found, n=3, cutoff=0.5)]


def existing_archive(url: str, command: str) -> str:
    """`url` when its archive exists; otherwise one line on stderr and exit 2. A
    PostgreSQL archive is opened as it is (its schema is created on first use by a writer
    and a reader alike; an unreachable server is reported by the open)."""
    path = _sqlite_path(url)
    if path is None or path.is_file():
        return url
    where = path.parent if path.name == ARCHIVE_FILE else path
    hint = _suggestions(path)
    mean = f"; did you mean {' or '.join(hint)}?" if hint else ""
    print(f"akhbar {command}: no archive in {where}{mean} (`akhbar crawl` or `akhbar import` creates one)",
          file=sys.stderr)
    raise SystemExit(2)

"""Write the feed set into ``DIR/public/`` atomically, touching only what changed.

Each file is written to a hidden temporary file in its own directory, flushed and
fsynced, then `os.replace`d over the old one: a reader (the HTTP server, a web
server serving ``public/``, a sync job) sees the old bytes or the new bytes,
never half a file, even if the process is killed midway. A file whose new bytes
equal the old ones is not rewritten at all, so its modification time, and the
Last-Modified / ETag a server derives from it, stay put and readers get 304s.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
WRITE_THREADS = 8


@dataclass
class PublishReport:
    public_dir: Path
    written: list[str] = field(default_factory=list)
    """Relative paths whose content changed (or that were new)."""
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stories: int = 0
    """Distinct stories across every feed."""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (``query``, ``build``, ``write``)."""
    websub: Any = None
    """What WebSub was told (`feeds.web.websub_publish.Announced`), when the publish came from an archive."""

    @property
    def files(self) -> int:
        return len(self.written) + len(self.unchanged)

    def summary(self) -> str:
        return (
            f"published {self.files} files into {self.public_dir} in {self.seconds:.2f}s "
            f"({len(self.written)} written, {len(self.unchanged)} unchanged, {len(self.removed)} removed; "
            f"{self.stories} stories)"
        )


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` atomically; return False (and touch nothing) when
    `path` already holds exactly these bytes."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server must read it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return True


def _fsync_dir(path: Path) -> None:
    # The renames are durable once the directory entry is on disk.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def clean_stale_temps(public_dir: Path, older_than: float = 60.0) -> int:
    """Remove temporary files a killed publish left behind (older than `older_than` s)."""
    n = 0
    cutoff = time.time() - older_than
    if not public_dir.exists():
        return 0
    for p in public_dir.rglob(TMP_PREFIX + "*"):
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
                n += 1
        except FileNotFoundError:
            pass
    return n


def write_files(public_dir: Path, files: dict[str, bytes], *, managed_prefix: str | None = "feeds/") -> PublishReport:
    """Write every ``relative path -> bytes`` under `public_dir`.

    Files under `managed_prefix` that are no longer part of the set (a source
    removed from the config) are deleted, after the new ones are in place.
    """
    t0 = time.perf_counter()
    report = PublishReport(public_dir=public_dir)
    public_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(public_dir)
    dirs: set[Path] = set()
    # fsync waits on the disk with the GIL released: a few threads overlap those waits.
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        changed = list(pool.map(lambda item: write_atomic(public_dir / item[0], item[1]), files.items()))
    for rel, was_written in zip(files, changed):
        if was_written:
            report.written.append(rel)
            dirs.add((public_dir / rel).parent)
        else:
            report.unchanged.append(rel)
    if managed_prefix is not None:
        managed = public_dir / managed_prefix
        if managed.is_dir():
            for p in sorted(managed.rglob("*")):
                rel = p.relative_to(public_dir).as_posix()
                if p.is_file() and not p.name.startswith(TMP_PREFIX) and rel not in files:
                    p.unlink()
                    report.removed.append(rel)
                    dirs.add(p.parent)
    for d in dirs:
        _fsync_dir(d)
    report.seconds = time.perf_counter() - t0
    return report


def publish_stories(
    public_dir: Path,
    feeds: list[tuple[Any, list[Any]]],
    ctx: Any = None,
) -> PublishReport:
    """Build and write a feed set given as ``[(FeedSpec, [FeedStory, ...]), ...]``."""
    from feeds.build import FeedContext, build_feed_files

    t0 = time.perf_counter()
    files = build_feed_files(feeds, ctx or FeedContext())
    t1 = time.perf_counter()
    report = write_files(public_dir, files)
    report.stories = len({id(s) for _, stories in feeds for s in stories})
    report.timings = {"build": t1 - t0, "write": report.seconds}
    report.seconds = time.perf_counter() - t0
    return report

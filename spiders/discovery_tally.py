"""What each discovery path found, kept and rejected (and why), for the log, stats and run record.

"wp-json found no articles" said nothing when the API listed every article and the spider
refused them all; the tally says "52 entries found, none kept: 52 on another site". Stats
keys: ``akhbar/discovery/<path>/entries``, ``.../kept``, ``.../probed`` and
``.../rejected/<reason>`` (reasons: `REASONS`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

REASONS: dict[str, str] = {
    "not_web": "not web addresses",
    "offsite": "on another site",
    "over_budget": "of unknown URL shape left unchecked (probe budget spent)",
    "not_article": "not articles by their content",
    "probe_failed": "of unknown URL shape that could not be fetched",
    "given_up": "of unknown URL shape on a path already given up",
    "duplicate": "already requested otherwise",
}
"""Why an entry was not kept: stats key suffix -> how the log words it (plural)."""


@dataclass
class PathTally:
    entries: int = 0
    kept: int = 0
    probed: int = 0
    """Entries of unknown URL shape fetched to judge their content."""
    checked: int = 0
    """Probes judged so far (kept or rejected)."""
    rejected: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        """``52 entries found, none kept: 40 on another site, 12 not web addresses``."""
        parts = [f"{self.entries} {'entry' if self.entries == 1 else 'entries'} found",
                 f"{self.kept} kept" if self.kept else "none kept"]
        if self.probed > self.checked:
            parts.append(f"{self.probed - self.checked} being checked")
        why = ", ".join(f"{n} {REASONS.get(r, r)}" for r, n in self.rejected.most_common())
        return ", ".join(parts) + (f": {why}" if why else "")


class DiscoveryTally:
    """Per-path counts of one spider run; `inc` is the spider's stats counter."""

    def __init__(self, inc: Callable[[str, int], None]) -> None:
        self._inc = inc
        self.paths: dict[str, PathTally] = {}

    def path(self, path: str | None) -> PathTally:
        return self.paths.setdefault(path or "other", PathTally())

    def entry(self, path: str | None) -> None:
        self.path(path).entries += 1
        self._inc(f"akhbar/discovery/{path or 'other'}/entries", 1)

    def kept(self, path: str | None) -> None:
        self.path(path).kept += 1
        self._inc(f"akhbar/discovery/{path or 'other'}/kept", 1)

    def judged(self, path: str | None, article: bool, reason: str = "not_article") -> None:
        """A probe came back: kept as an article, or rejected for `reason`."""
        self.path(path).checked += 1
        if article:
            self.kept(path)
        else:
            self.reject(path, reason)

    def probed(self, path: str | None) -> None:
        self.path(path).probed += 1
        self._inc(f"akhbar/discovery/{path or 'other'}/probed", 1)

    def reject(self, path: str | None, reason: str) -> None:
        self.path(path).rejected[reason] += 1
        self._inc(f"akhbar/discovery/{path or 'other'}/rejected/{reason}", 1)

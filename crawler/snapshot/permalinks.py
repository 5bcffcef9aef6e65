"""Permalink structures the snapshot can serve its articles under.

A real site changes its permalink settings, or a mirror uses other ones; the spiders must
still find every article. ``SnapshotServer(permalinks=...)`` and ``akhbar snapshot serve
--permalinks ...`` take a name from `STRUCTURES` or a WordPress structure string built from
the tags below (``/%category%/%postname%/``). ``None`` or ``"site"`` keeps each site's own
URLs (``crawler.snapshot.catalog.post_path``).
"""

from __future__ import annotations

import re
from datetime import datetime

STRUCTURES: dict[str, str] = {
    "category": "/%category%/%postname%/",
    "query": "/?p=%post_id%",
    "day": "/%year%/%monthnum%/%day%/%postname%/",
    "month": "/%year%/%monthnum%/%postname%/",
    "id": "/%post_id%.html",
    # Hespress's pre-2021 CMS (shared/sites.md) and its current slug-id shape, on any site
    "section-id": "/%category%/%post_id%.html",
    "slug-id": "/%postname%-%post_id%.html",
    "postname": "/%postname%/",
}
"""Named structures (WordPress "Permalink Settings" presets and the shapes the five sites use)."""

SITE = "site"
TAGS = frozenset({"year", "monthnum", "day", "hour", "minute", "second", "postname", "post_id", "category"})
_TAG = re.compile(r"%([a-z_]+)%")
# The only query WordPress permalinks have: the "Plain" setting.
QUERY = "/?p=%post_id%"


def resolve(structure: str | None) -> str | None:
    """The structure string for a name or a structure (None: the sites' own URLs);
    ValueError with the reason for anything the server could not route."""
    if structure is None or structure == SITE:
        return None
    if structure in STRUCTURES:
        return STRUCTURES[structure]
    if not structure.startswith("/"):
        raise ValueError(f"permalinks: {structure!r} is neither a name ({', '.join([SITE, *STRUCTURES])}) "
                         "nor a structure starting with '/'")
    unknown = sorted(set(_TAG.findall(structure)) - TAGS)
    if unknown:
        raise ValueError(f"permalinks: unknown tag(s) {', '.join(f'%{t}%' for t in unknown)}; known: "
                         + ", ".join(f"%{t}%" for t in sorted(TAGS)))
    if "%postname%" not in structure and "%post_id%" not in structure:
        raise ValueError(f"permalinks: {structure!r} names no post (needs %postname% or %post_id%)")
    if ("?" in structure or "#" in structure) and structure != QUERY:
        raise ValueError(f"permalinks: the only query structure is {QUERY!r}")
    return structure


def render(structure: str, *, slug_path: str, post_id: int, local: datetime, category_path: str) -> str:
    """One post's path under `structure`; `slug_path` and `category_path` come percent-encoded."""
    values = {
        "year": f"{local:%Y}", "monthnum": f"{local:%m}", "day": f"{local:%d}",
        "hour": f"{local:%H}", "minute": f"{local:%M}", "second": f"{local:%S}",
        "postname": slug_path, "post_id": str(post_id), "category": category_path,
    }
    return _TAG.sub(lambda m: values[m.group(1)], structure)

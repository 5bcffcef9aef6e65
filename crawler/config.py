"""Sources configuration: one TOML file, documented defaults, validated on load.

The bundled `sources.toml` describes the five sites; `AKHBAR_SOURCES` (or the
``--sources`` option) points at another file to add or override sites without code.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.arabic import normalize
from crawler.taxonomy import TOPIC_IDS

# Through importlib.resources, not Path(__file__): Scrapyd imports the project from a zipped
# egg, where a file path into the package cannot be opened.
BUNDLED_SOURCES: Traversable = resources.files("crawler") / "sources.toml"

# The discovery paths a spider knows (spiders/base.py walks them); declared here so the
# config can check a [sources] entry without importing the spiders that import it.
DISCOVERY_PATHS: tuple[str, ...] = ("wp-json", "rss", "sitemap", "sections")

DEFAULTS: dict[str, Any] = {
    "language": "ar",
    "timezone": "Africa/Casablanca",
    "discovery": ["wp-json", "rss", "sitemap"],
    "per_page": 100,
    "max_pages": 20,
    "recheck_hours": 24,
}


class ConfigError(ValueError):
    """The sources file is malformed; the message names the offending key."""


# Keys a [sources.<id>] entry or [defaults] may hold, with their TOML types. Operations
# components add theirs here (schedule keys: crawler/ops/schedule.py); any other key is a
# typo, reported at start by `load_config` with the file, the key and the reason.
SOURCE_KEY_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "name_en": str,
    "base_url": str,
    "spider": str,
    "language": str,
    "timezone": str,
    "discovery": list,
    "per_page": int,
    "max_pages": int,
    "recheck_hours": (int, float),
    "sections": dict,
    "hosts": list,
    "allow_private_network": bool,
    "schedule": str,
    "jitter": (str, int),
    "quiet_hours": str,
}


def _check_types(p: Path | Traversable, where: str, entry: dict[str, Any]) -> None:
    for key, value in entry.items():
        want = SOURCE_KEY_TYPES.get(key)
        if want is None:
            continue
        wanted = want if isinstance(want, tuple) else (want,)
        if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
            names = " or ".join({str: "a string", int: "an integer", float: "a number", list: "a list",
                                 dict: "a table", bool: "true or false"}[t] for t in wanted)
            raise ConfigError(f"{p}: {where} {key}: expected {names}, got {value!r}")


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    base_url: str
    spider: str = "wordpress"
    name_en: str | None = None
    language: str = "ar"
    timezone: str = "Africa/Casablanca"
    discovery: tuple[str, ...] = ("wp-json", "rss", "sitemap")
    per_page: int = 100
    max_pages: int = 20
    recheck_hours: float = 24
    sections: dict[str, str] = field(default_factory=dict)
    """Normalised section key -> topic id."""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The entry as written, merged over [defaults]: keys read by other components
    (``schedule``, ``jitter``, ``quiet_hours``...) are validated by them."""

    def topic_for_section(self, section: str | None) -> str | None:
        """Topic id for a section name or slug as printed, or None when unmapped."""
        if not section:
            return None
        key = normalize(section).strip("/ ")
        if key in self.sections:
            return self.sections[key]
        # A URL path or "a/b" breadcrumb: try each part, most specific last.
        for part in reversed([p for p in key.replace("\\", "/").split("/") if p]):
            if part in self.sections:
                return self.sections[part]
        return None


def sources_path() -> Path | Traversable:
    env = os.environ.get("AKHBAR_SOURCES")
    return Path(env) if env else BUNDLED_SOURCES


def _config_path(path: str | Path | Traversable | None) -> Path | Traversable:
    if not path:
        return sources_path()
    return Path(path) if isinstance(path, str) else path


def _read(p: Path | Traversable) -> dict[str, Any]:
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: {exc}") from exc


def load_sources(path: str | Path | Traversable | None = None) -> dict[str, Source]:
    """Read and validate a sources file; raises `ConfigError` with the reason."""
    p = _config_path(path)
    return _sources_from(p, _read(p))


def _sources_from(p: Path | Traversable, raw: dict[str, Any]) -> dict[str, Source]:
    if not isinstance(raw.get("defaults", {}), dict):
        raise ConfigError(f"{p}: [defaults] must be a table")
    _check_types(p, "[defaults]", raw.get("defaults", {}))
    defaults = {**DEFAULTS, **raw.get("defaults", {})}
    out: dict[str, Source] = {}
    for sid, entry in (raw.get("sources") or {}).items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{p}: [sources.{sid}] must be a table")
        _check_types(p, f"[sources.{sid}]", entry)
        if "base_url" not in entry:
            raise ConfigError(f"{p}: [sources.{sid}] needs base_url")
        try:
            url = urlsplit(entry["base_url"])
            url.port  # noqa: B018 - raises ValueError when out of range
        except ValueError:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"{p}: [sources.{sid}] base_url: expected an http(s) URL with a host, "
                              f"got {entry['base_url']!r}")
        merged = {**defaults, **entry}
        sections: dict[str, str] = {}
        for key, topic in (entry.get("sections") or {}).items():
            if topic not in TOPIC_IDS:
                raise ConfigError(f"{p}: [sources.{sid}.sections] {key!r} maps to unknown topic {topic!r}")
            sections[normalize(str(key))] = topic
        out[sid] = Source(
            id=sid,
            name=merged.get("name", sid),
            name_en=merged.get("name_en"),
            base_url=str(merged["base_url"]).rstrip("/"),
            spider=merged.get("spider", "wordpress"),
            language=merged["language"],
            timezone=merged["timezone"],
            discovery=tuple(merged["discovery"]),
            per_page=int(merged["per_page"]),
            max_pages=int(merged["max_pages"]),
            recheck_hours=float(merged["recheck_hours"]),
            sections=sections,
            raw=merged,
        )
    return out


# --- the whole file ------------------------------------------------------------------
# Besides [defaults] and [sources.*], the file holds one table per operations component;
# each component validates its own table through the hook named here
# ("module:function", called with the `Config`; raises ConfigError naming file, key, reason).
TABLE_VALIDATORS: dict[str, str] = {
    "schedule": "crawler.ops.schedule:validate",
    "monitors": "crawler.ops.monitors:validate",
    "alerts": "crawler.ops.alerts:validate",
    "admin": "crawler.web_config:validate_admin",
    "websub": "crawler.web_config:validate_websub",
    "cluster": "crawler.ops.cluster:validate",
    "serve": "crawler.commands.feeds_cmds:validate",
}
KNOWN_TABLES: tuple[str, ...] = ("defaults", "sources", "schedule", "monitors", "alerts", "cluster", "admin", "websub",
                                 "serve")


@dataclass(frozen=True)
class Config:
    """A parsed sources/operations file."""

    path: Path | Traversable
    sources: dict[str, Source]
    tables: dict[str, dict[str, Any]]
    """Every top-level table other than [sources], as written (missing ones: empty)."""

    def table(self, name: str) -> dict[str, Any]:
        return self.tables.get(name) or {}


def _check_spiders(p: Path | Traversable, sources: dict[str, Source]) -> None:
    """A spider name or discovery path that does not exist would only fail inside the
    crawl process, mid-run; name the entry at start instead."""
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    from crawler.settings import SPIDER_MODULES

    spiders = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": SPIDER_MODULES})).list()
    for sid, source in sources.items():
        if source.spider not in spiders:
            raise ConfigError(f"{p}: [sources.{sid}] spider: no spider {source.spider!r}; known: {', '.join(spiders)}")
        unknown = [d for d in source.discovery if d not in DISCOVERY_PATHS]
        if unknown:
            raise ConfigError(f"{p}: [sources.{sid}] discovery: unknown path(s) {', '.join(map(repr, unknown))}; "
                              f"known: {', '.join(DISCOVERY_PATHS)}")


def load_config(path: str | Path | Traversable | None = None, *, validate: bool = True) -> Config:
    """Read the whole file: sources plus the operations tables; with `validate`, every
    registered component checks its table, so a broken entry fails at start with the
    file, the key and the reason."""
    import importlib

    p = _config_path(path)
    raw = _read(p)
    sources = _sources_from(p, raw)
    unknown = sorted(set(raw) - set(KNOWN_TABLES))
    if unknown:
        raise ConfigError(f"{p}: unknown top-level key(s) {', '.join(unknown)}; known: {', '.join(KNOWN_TABLES)}")
    tables: dict[str, dict[str, Any]] = {}
    for name in KNOWN_TABLES:
        if name == "sources":
            continue
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{p}: [{name}] must be a table")
        tables[name] = value
    cfg = Config(path=p, sources=sources, tables=tables)
    if validate:
        for where, entry in [("[defaults]", raw.get("defaults") or {}),
                             *((f"[sources.{sid}]", e) for sid, e in (raw.get("sources") or {}).items())]:
            for key in entry:
                if key not in SOURCE_KEY_TYPES:
                    raise ConfigError(f"{p}: {where} {key}: unknown key; known: {', '.join(SOURCE_KEY_TYPES)}")
        _check_spiders(p, sources)
        for target in TABLE_VALIDATORS.values():
            module, _, func = target.partition(":")
            getattr(importlib.import_module(module), func)(cfg)
    return cfg

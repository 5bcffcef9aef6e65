"""Jinja2 for every page of the web app, autoescape on: a value from the archive or the
request is escaped wherever a template prints it, unless the template says otherwise
(which none does for such values).

Pages extend ``base.html`` (the Arabic right-to-left document, the site's header, its
shared CSS); another part of the app adds a page by putting its template in
``feeds/web/templates/`` and calling `render`.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from feeds.arabic_date import MONTHS_MA, arabic_date
from feeds.build import plain_text, safe_url

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _query(params: dict[str, Any]) -> str:
    """``?k=v`` of the non-empty `params` (empty: no query at all)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def _short_day(d: Any) -> str:
    return f"{d.day} {MONTHS_MA[d.month - 1]}"


def _iso_time(value: str | datetime | None) -> datetime | None:
    if not value:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


# Autoescape everywhere but the stylesheet included raw into <style> (no value reaches it).
def _linkable(items: Any) -> list[Any]:
    """The items (other reports, related stories) whose ``url`` is safe to link."""
    return [i for i in items or () if _safe_url(i.url)]


env = Environment(loader=FileSystemLoader(TEMPLATES),
                  autoescape=select_autoescape(disabled_extensions=("css",), default_for_string=True, default=True),
                  undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                  auto_reload=False)  # templates ship with the code: no stat of them per render
# The same stories are on page after page: their cleaned texts, URLs and dates are kept
# (pure functions of hashable values) rather than cleaned again for every render.
MEMO = 8192
_plain_text = lru_cache(maxsize=MEMO)(plain_text)
_safe_url = lru_cache(maxsize=MEMO)(safe_url)
_arabic_date = lru_cache(maxsize=MEMO)(arabic_date)

env.filters.update(arabic_date=_arabic_date, plain_text=_plain_text, safe_url=_safe_url, short_day=_short_day,
                   linkable=_linkable,
                   query=_query, path_segment=lambda s: quote(str(s), safe=""), as_time=_iso_time)


def render(name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)

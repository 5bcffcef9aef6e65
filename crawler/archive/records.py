"""Article <-> archive row conversion, shared by both backends.

Stored columns hold the article exactly as published; `search_text` derives the
normalised title/body the full-text index is built on, and `sort_key` the integer
that orders articles by date (it is also the FTS rowid on SQLite).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from typing import Any

from itemadapter import ItemAdapter

from crawler.archive.search import exact_form, search_form
from crawler.items import ARTICLE_FIELDS, Article

logger = logging.getLogger(__name__)

DATETIME_FIELDS = frozenset({"date_published", "date_modified", "fetched_at"})
JSON_FIELDS = frozenset({"tags", "warc_record", "extra"})
BOOL_FIELDS = frozenset({"is_canonical"})
META_COLUMNS: tuple[str, ...] = ("archived_at", "updated_at", "version", "run_id")
"""Archive bookkeeping columns returned beside the Article fields."""

# A changed body makes a new version; these fields change on every fetch and do not.
CONTENT_FIELDS: tuple[str, ...] = ("title", "body_text", "body_html", "summary")
_VOLATILE = frozenset({"fetched_at", "warc_record", "http_status"})

SORT_SHIFT = 2**24
_TAG = re.compile(r"<[^>]+>")


def utc(dt: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso_utc(dt: datetime) -> str:
    """Fixed-width UTC ISO text, so string order is time order on SQLite."""
    return utc(dt).isoformat(timespec="microseconds")


def parse_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, str) and value.endswith("+00:00"):
        try:  # the archive's own UTC text: no conversion needed
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    try:
        return utc(datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def article_dict(item: Any) -> dict[str, Any]:
    """The Article fields of an item (Article, dict, any ItemAdapter-supported item)."""
    if isinstance(item, Article):
        # shallow: asdict() deep-copies bodies and lists, a third of an upsert's time
        return {name: getattr(item, name) for name in ARTICLE_FIELDS}
    if is_dataclass(item):
        data = asdict(item)  # type: ignore[arg-type]
    else:
        data = dict(ItemAdapter(item).items()) if not isinstance(item, Mapping) else dict(item)
    return {name: data.get(name) for name in ARTICLE_FIELDS}


def content_hash(rec: Mapping[str, Any]) -> str:
    h = hashlib.sha1()
    for name in ("title", "body_text"):
        h.update((rec.get(name) or "").encode("utf-8"))
        h.update(b"\x00")
    if not rec.get("body_text"):
        h.update((rec.get("body_html") or "").encode("utf-8"))
    return h.hexdigest()


def html_to_text(html: str) -> str:
    return _TAG.sub(" ", html)


def text_fields(rec: Mapping[str, Any]) -> tuple[str, str]:
    """Raw (title, body) the index covers: body falls back to the HTML's text; the
    summary and author are appended to it."""
    body = rec.get("body_text") or (html_to_text(rec["body_html"]) if rec.get("body_html") else "")
    extra = " ".join(x for x in (rec.get("summary"), rec.get("author")) if x)
    return rec.get("title") or "", f"{body} {extra}"


def search_text(rec: Mapping[str, Any]) -> tuple[str, str]:
    """Normalised, stemmed (title, body) for the full-text index (see `text_fields`)."""
    title, body = text_fields(rec)
    return search_form(title), search_form(body)


def exact_text(rec: Mapping[str, Any]) -> tuple[str, str]:
    """Normalised, unstemmed (title, body): what quoted phrases are checked against."""
    title, body = text_fields(rec)
    return exact_form(title), exact_form(body)


def sort_date(rec: Mapping[str, Any], now: datetime) -> datetime:
    return parse_datetime(rec.get("date_published")) or parse_datetime(rec.get("fetched_at")) or now


def sort_key_for(when: datetime, salt: str) -> int:
    """Seconds since the epoch in the high bits, a hash of the URL key in the low 24:
    unique in practice, and integer order is date order."""
    low = int.from_bytes(hashlib.blake2b(salt.encode("utf-8"), digest_size=4).digest(), "big") % SORT_SHIFT
    return int(utc(when).timestamp()) * SORT_SHIFT + low


def sort_key_bounds(since: datetime | None, until: datetime | None) -> tuple[int | None, int | None]:
    lo = int(utc(since).timestamp()) * SORT_SHIFT if since else None
    hi = (int(utc(until).timestamp()) + 1) * SORT_SHIFT - 1 if until else None
    return lo, hi


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
"""What ``json.dumps(..., ensure_ascii=False, sort_keys=True)`` builds on every call."""


def encode_json(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is list and all(type(v) is str for v in value):
        return _JSON.encode(value)  # tags: nothing for `to_jsonable` to convert
    from crawler.exporters import to_jsonable

    return _JSON.encode(to_jsonable(value))


_DECODERS: tuple[tuple[str, int], ...] = tuple(
    (name, 1 if name in DATETIME_FIELDS else 2 if name in JSON_FIELDS else 3 if name in BOOL_FIELDS else 0)
    for name in ARTICLE_FIELDS
)
_EMPTY_JSON = {"tags": list, "extra": dict}


def _json(name: str, v: Any) -> Any:
    if isinstance(v, str):
        if v == "[]":
            return []
        if v == "{}":
            return {}
        return json.loads(v)
    if v is None and name in _EMPTY_JSON:
        return _EMPTY_JSON[name]()
    return v


def decode_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as the archive returns it: id, every Article field with aware
    datetimes / lists / dicts / bools, then the bookkeeping columns."""
    out: dict[str, Any] = {"id": row["id"]}
    for name, kind in _DECODERS:
        if name not in row:
            continue
        v = row[name]
        if v is not None or kind == 2:
            if kind == 1:
                v = parse_datetime(v)
            elif kind == 2:
                v = _json(name, v)
            elif kind == 3:
                v = bool(v)
        out[name] = v
    for name in META_COLUMNS:
        if name in row:
            v = row[name]
            out[name] = parse_datetime(v) if name in ("archived_at", "updated_at") else v
    if "score" in row:
        out["score"] = row["score"]
    return out


def to_article(row: Mapping[str, Any]) -> Article:
    d = decode_row(row)
    return Article(**{k: d[k] for k in ARTICLE_FIELDS if k in d})


def merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """New values win; fields the new crawl left empty keep their archived value
    (a listing-only re-visit must not erase a body or a topic)."""
    out = dict(old)
    for name in ARTICLE_FIELDS:
        v = new.get(name)
        if v is None or v == [] or v == {} or v == "":
            continue
        out[name] = v
    return out


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return [n for n in ARTICLE_FIELDS if n not in _VOLATILE and old.get(n) != new.get(n)]


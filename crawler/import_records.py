"""Reading an import file one line at a time, and turning one record into an `Article`.

An import is a stranger's file (a dump from another scraper, an older archive, a colleague's
script). One bad line must cost that line only, reported with its number and reason:

- `read_lines` reads bytes, never a whole line beyond ``max_bytes`` into memory (a 60 MB
  line is skipped as it streams past), decodes each line on its own (strict UTF-8: an
  undecodable byte rejects its line, not the file), and accepts a BOM and CRLF endings;
- `article_from_json` checks each field against the `Article` schema: values of a wrong
  type are coerced where the meaning is unambiguous (``"200"`` for an HTTP status, one
  string for a list of tags, a number for a site id), otherwise the record is rejected
  naming the field; dates that are not ISO 8601 or out of range are kept raw for the dates
  pipeline; NUL characters are removed from every string (PostgreSQL cannot store them,
  and SQLite must store the same thing).
"""

from __future__ import annotations

import gzip
import io
import json
import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, cast

from crawler.archive.records import DATETIME_FIELDS, parse_datetime
from crawler.items import ARTICLE_FIELDS, Article

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
_CHUNK = 1 << 16
# What `akhbar export` writes besides the Article fields (the archive's own bookkeeping), and
# the story fields: stories are the target archive's to derive (the dedup pipeline assigns
# them on import), and a story id taken from another archive would be overwritten by that
# assignment, so every re-import of the same file would "update" the row again.
IGNORED_KEYS = frozenset({"id", "url_key", "site_key", "sort_key", "content_hash", "version", "archived_at",
                          "updated_at", "run_id", "score", "story_id", "is_canonical"})

TEXT_FIELDS = frozenset({
    "url", "source", "canonical_url", "site_article_id", "title", "body_html", "body_text", "summary", "author",
    "section_raw", "image_url", "language", "date_published_raw", "date_displayed_raw", "date_modified_raw",
    "date_published_precision", "extraction", "topic", "story_id",
})


class RecordError(ValueError):
    """A line that cannot be an article; the message names the field and the reason."""


@dataclass
class Line:
    number: int
    offset: int
    """Byte offset of the line in the (decompressed) input."""
    text: str | None
    """The decoded line, or None when it was refused (`error` says why)."""
    error: str | None = None
    preview: bytes = b""
    """The first bytes of a refused line (for the errors file)."""
    size: int = 0


def open_input(path: str) -> IO[bytes]:
    """Bytes of `path`: ``-`` is standard input; ``.gz`` (or gzip magic) is decompressed."""
    if path == "-":
        raw: IO[bytes] = sys.stdin.buffer
    else:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if path.endswith(".gz") or head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def read_lines(stream: IO[bytes], *, max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Line]:
    """Every non-blank line of `stream`, decoded on its own; refused lines carry `error`."""
    number = 0
    offset = 0
    # any binary stream with readinto works; typeshed asks for a RawIOBase
    reader = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(cast(Any, stream))
    while True:
        start = offset
        data = reader.readline(max_bytes + 1)
        if not data:
            return
        number += 1
        offset += len(data)
        if len(data) > max_bytes and not data.endswith(b"\n"):
            size = len(data)
            preview = data[:1024]
            while True:  # stream past the rest of the line without keeping it
                more = reader.readline(_CHUNK)
                if not more:
                    break
                size += len(more)
                offset += len(more)
                if more.endswith(b"\n"):
                    break
            yield Line(number, start, None, f"line longer than {max_bytes} bytes ({size} bytes): not read",
                       preview, size)
            continue
        body = data.rstrip(b"\r\n")
        if number == 1 or body.startswith(b"\xef\xbb\xbf"):
            body = body.removeprefix(b"\xef\xbb\xbf")
        if not body.strip():
            continue
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Line(number, start, None, f"not UTF-8 (byte {exc.start}: {body[exc.start:exc.start + 1]!r})",
                       body[:1024], len(data))
            continue
        yield Line(number, start, text, size=len(data))


def _no_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    if isinstance(value, dict):
        return {_no_nul(str(k)): _no_nul(v) for k, v in value.items()}
    return value


def _text(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if name in ("site_article_id", "story_id") and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"{name}: expected text, got {type(value).__name__}")


def _coerce(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in TEXT_FIELDS:
        return _text(name, value)
    if name == "tags":
        if isinstance(value, str):
            return [value] if value.strip() else []
        if not isinstance(value, list):
            raise RecordError(f"tags: expected a list of text, got {type(value).__name__}")
        out = []
        for t in value:
            if isinstance(t, str):
                out.append(t)
            elif isinstance(t, (int, float)) and not isinstance(t, bool):
                out.append(str(t))
            else:
                raise RecordError(f"tags: expected text items, got {type(t).__name__}")
        return out
    if name == "http_status":
        if isinstance(value, bool):
            raise RecordError("http_status: expected an integer, got a boolean")
        if isinstance(value, int):
            status = value
        elif isinstance(value, str) and value.strip().isdigit():
            status = int(value.strip())
        else:
            raise RecordError(f"http_status: expected an integer, got {value!r:.40}")
        if not 100 <= status <= 599:
            raise RecordError(f"http_status: {status} is not an HTTP status")
        return status
    if name == "topic_confidence":
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not 0.0 <= number <= 1.0:
            raise RecordError(f"topic_confidence: expected a number from 0 to 1, got {value!r:.40}")
        return number
    if name == "is_canonical":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise RecordError(f"is_canonical: expected true or false, got {value!r:.40}")
    if name in ("extra", "warc_record"):
        if not isinstance(value, dict):
            raise RecordError(f"{name}: expected an object, got {type(value).__name__}")
        return value
    return value


def article_from_json(record: Any) -> Article:
    """An `Article` from one decoded JSON value, or `RecordError` naming what is wrong."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    record = _no_nul(dict(record))
    for key in ("url", "source"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise RecordError(f"{key}: required text field missing or empty")
    if not record["url"].lower().startswith(("http://", "https://")):
        raise RecordError(f"url: not an http(s) address: {record['url'][:80]!r}")
    kwargs: dict[str, Any] = {}
    extra = _coerce("extra", record.get("extra")) or {}
    for key, value in record.items():
        if key in IGNORED_KEYS or key == "extra":
            continue
        if key not in ARTICLE_FIELDS:
            extra[key] = value
            continue
        if key in DATETIME_FIELDS:
            if value is None:
                continue
            if not isinstance(value, str):
                raise RecordError(f"{key}: expected an ISO 8601 date string, got {type(value).__name__}")
            raw = f"{key}_raw"
            if raw in ARTICLE_FIELDS and not record.get(raw):
                kwargs[raw] = value
            parsed = _datetime(value)
            if parsed is None:
                if raw not in ARTICLE_FIELDS:
                    extra[key] = value
                continue
            kwargs[key] = parsed
            continue
        kwargs[key] = _coerce(key, value)
    kwargs["extra"] = extra
    if kwargs.get("tags") is None:
        kwargs["tags"] = []
    if kwargs.get("language") is None:
        kwargs.pop("language", None)
    return Article(**kwargs)


def _datetime(value: str) -> datetime | None:
    """An aware datetime from ISO 8601, or None (not ISO, or out of the representable range:
    ``0001-01-01T00:00:00+05:00`` is before year 1 in UTC)."""
    try:
        return parse_datetime(value)
    except (OverflowError, ValueError):
        return None


def parse_line(line: Line) -> Article:
    """The article on a decoded line, or `RecordError`."""
    assert line.text is not None
    try:
        value = json.loads(line.text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise RecordError("not JSON: nested too deeply") from None
    return article_from_json(value)

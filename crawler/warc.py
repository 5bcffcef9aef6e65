"""Provenance: article responses written to a WARC file per crawl run.

A downloader middleware. For requests marked ``meta["akhbar_article"]`` it writes
the (final, decompressed) 2xx response as a WARC ``response`` record to
``<AKHBAR_DATA>/warc/<run-id>.warc.gz`` and sets
``request.meta["warc_record"] = {"file", "offset", "record_id"}``, which the spider
copies into ``Article.warc_record``; the archive keeps it with the article.

``file`` is relative to the data directory; ``offset`` is the byte offset of the
record's gzip member, so ``ArchiveIterator`` (or ``warcio extract``) reads it
directly. Settings: ``WARC_ENABLED`` (default True).

The values discovery passed along with the article (REST API / RSS hints: a date, the
categories, the author) are not in the page itself; the record keeps them in an
``Akhbar-Hints`` WARC header (JSON), so re-extraction (`read_record`, ``akhbar
reextract``) sees what the crawl saw.

`read_record` reads one record back; a missing file, a truncated or corrupt member, or a
record that is not the one named raises `WarcReadError` with the reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archive.runs import data_dir, run_id_for, warc_path

logger = logging.getLogger(__name__)

# Headers that describe the transfer, not the body we store (decompressed, whole).
_TRANSFER_HEADERS = frozenset({b"content-encoding", b"transfer-encoding", b"content-length"})
HINTS_HEADER = "Akhbar-Hints"


class WarcMiddleware:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.path: Path | None = None
        self._fh: BinaryIO | None = None
        self._writer: WARCWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> WarcMiddleware:
        if not crawler.settings.getbool("WARC_ENABLED", True):
            raise NotConfigured("WARC_ENABLED is off")
        mw = cls(crawler)
        crawler.signals.connect(mw.close, signal=signals.spider_closed)
        return mw

    def _open(self) -> WARCWriter:
        if self._writer is None:
            run_id = run_id_for(self.crawler)
            self.path = warc_path(self.crawler.settings, run_id)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("ab")
            self._writer = WARCWriter(self._fh, gzip=True)
            if self._fh.tell() == 0:
                info = self._writer.create_warcinfo_record(
                    self.path.name, {"software": "Akhbar (warcio)", "format": "WARC File Format 1.1", "run-id": run_id}
                )
                self._writer.write_record(info)
        return self._writer

    def process_response(self, request: Any, response: Any) -> Any:
        if not request.meta.get("akhbar_article") or not 200 <= response.status < 300:
            return response
        try:
            hints = (getattr(request, "cb_kwargs", None) or {}).get("hints")
            request.meta["warc_record"] = self.write(response, hints=hints)
            self.crawler.stats.inc_value("warc/records")
        except Exception:  # provenance is best-effort: the article itself must go on
            logger.error("WARC: could not record %s", response.url, exc_info=True)
            self.crawler.stats.inc_value("warc/errors")
        return response

    def write(self, response: Any, *, hints: dict[str, Any] | None = None) -> dict[str, Any]:
        writer = self._open()
        assert self._fh is not None and self.path is not None
        body = bytes(response.body)
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, values in response.headers.items()
            if k.lower() not in _TRANSFER_HEADERS
            for v in values
        ]
        headers.append(("Content-Length", str(len(body))))
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        http_headers = StatusAndHeaders(f"{response.status} {phrase}".strip(), headers, protocol="HTTP/1.1")
        warc_headers = {"WARC-Date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if hints:
            # ASCII JSON: one header line whatever the hint values hold
            warc_headers[HINTS_HEADER] = json.dumps(hints, ensure_ascii=True, default=str, separators=(",", ":"))
        record = writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        self._fh.flush()
        offset = self._fh.tell()
        writer.write_record(record)
        self._fh.flush()
        try:
            rel = str(self.path.resolve().relative_to(data_dir(self.crawler.settings).resolve()))
        except ValueError:
            rel = str(self.path)
        return {"file": rel, "offset": offset, "record_id": record.rec_headers.get_header("WARC-Record-ID")}

    def close(self, *args: Any, **kwargs: Any) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._writer = None


# --- reading back -------------------------------------------------------------------------


class WarcReadError(Exception):
    """A WARC record that cannot be read back: the reason is the message."""


@dataclass
class WarcResponse:
    """One archived response as `read_record` returns it."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    record_id: str | None
    hints: dict[str, Any] = field(default_factory=dict)
    """The discovery hints kept with the record (empty for records written before them)."""


def read_record(data: Path, warc_record: Any) -> WarcResponse:
    """The response an article's ``warc_record`` ({file, offset, record_id}) points at;
    ``file`` is relative to the data directory `data` (absolute paths are taken as they
    are). Raises `WarcReadError` when the file is missing, the member at the offset is
    truncated or corrupt, or it is not a response record with that id."""
    if not isinstance(warc_record, dict) or not warc_record.get("file") or warc_record.get("offset") is None:
        raise WarcReadError(f"no WARC record reference: {warc_record!r}")
    path = Path(str(warc_record["file"]))
    if not path.is_absolute():
        path = data / path
    try:
        offset = int(warc_record["offset"])
    except (TypeError, ValueError):
        raise WarcReadError(f"bad WARC offset {warc_record.get('offset')!r}") from None
    if not path.is_file():
        raise WarcReadError(f"WARC file missing: {path}")
    size = path.stat().st_size
    if offset < 0 or offset >= size:
        raise WarcReadError(f"WARC file {path} is truncated: offset {offset} beyond its {size} bytes")
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            for record in ArchiveIterator(fh):
                return _response(record, path, offset, warc_record.get("record_id"))
    except WarcReadError:
        raise
    except Exception as exc:  # ArchiveLoadFailed, zlib.error, EOFError...: a cut or damaged member
        raise WarcReadError(f"WARC file {path} unreadable at offset {offset}: {exc!r}") from None
    raise WarcReadError(f"WARC file {path} has no record at offset {offset} (truncated)")


def _response(record: Any, path: Path, offset: int, record_id: Any) -> WarcResponse:
    got_id = record.rec_headers.get_header("WARC-Record-ID")
    if got_id is None:  # the member ends inside the record's own headers
        raise WarcReadError(f"WARC file {path} is truncated: no complete record at offset {offset}")
    if record_id and got_id != record_id:
        raise WarcReadError(f"WARC file {path} offset {offset} holds record {got_id}, not {record_id}")
    if record.rec_type != "response" or record.http_headers is None:
        raise WarcReadError(f"WARC file {path} offset {offset} is a {record.rec_type} record, not a response")
    body = record.content_stream().read()
    declared = record.http_headers.get_header("Content-Length")
    if declared and declared.isdigit() and int(declared) != len(body):
        # the gzip member ended early: what was read is not the page that was fetched
        raise WarcReadError(f"WARC file {path} is truncated: record at {offset} has {len(body)} of {declared} bytes")
    hints_text = record.rec_headers.get_header(HINTS_HEADER)
    try:
        hints = json.loads(hints_text) if hints_text else {}
    except ValueError:
        logger.warning("WARC %s offset %d: unreadable %s header; re-extracting without hints", path, offset, HINTS_HEADER)
        hints = {}
    status_line = record.http_headers.get_statuscode() or "200"
    return WarcResponse(
        url=record.rec_headers.get_header("WARC-Target-URI") or "",
        status=int(status_line) if str(status_line).isdigit() else 200,
        headers={k: v for k, v in record.http_headers.headers},
        body=body,
        record_id=got_id,
        hints=hints if isinstance(hints, dict) else {},
    )

"""Provenance: article responses written to a WARC file per crawl run.

A downloader middleware. For requests marked ``meta["akhbar_article"]`` it writes
the (final, decompressed) 2xx response as a WARC ``response`` record to
``<AKHBAR_DATA>/warc/<run-id>.warc.gz`` and sets
``request.meta["warc_record"] = {"file", "offset", "record_id"}``, which the spider
copies into ``Article.warc_record``; the archive keeps it with the article.

``file`` is relative to the data directory; ``offset`` is the byte offset of the
record's gzip member, so ``ArchiveIterator`` (or ``warcio extract``) reads it
directly. Settings: ``WARC_ENABLED`` (default True).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archive.runs import data_dir, run_id_for, warc_path

logger = logging.getLogger(__name__)

# Headers that describe the transfer, not the body we store (decompressed, whole).
_TRANSFER_HEADERS = frozenset({b"content-encoding", b"transfer-encoding", b"content-length"})


class WarcMiddleware:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.path: Path | None = None
        self._fh: BinaryIO | None = None
        self._writer: WARCWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> "WarcMiddleware":
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
            request.meta["warc_record"] = self.write(response)
            self.crawler.stats.inc_value("warc/records")
        except Exception:  # provenance is best-effort: the article itself must go on
            logger.error("WARC: could not record %s", response.url, exc_info=True)
            self.crawler.stats.inc_value("warc/errors")
        return response

    def write(self, response: Any) -> dict[str, Any]:
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
        record = writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
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

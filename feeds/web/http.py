"""Representations with validators: strong ETags, conditional GET (304) and content
coding (brotli preferred, gzip), shared by the feed files, the pages and the JSON API.

Every encoding of a representation has its own strong ETag (``"<hash>"``, ``"<hash>-br"``,
``"<hash>-gz"``), as RFC 9110 asks of strong validators: the bytes differ. A conditional
request matches any of them, so a reader that switched encodings still gets its 304.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from typing import Any

import brotli
from starlette.requests import Request
from starlette.responses import Response

MIN_COMPRESS = 256
"""Below this many bytes the headers of a compressed answer cost more than they save."""
COMPRESSIBLE = ("text/", "application/rss", "application/atom", "application/feed", "application/json",
                "application/xml", "application/javascript", "image/svg", "text/x-opml")
_VALIDATOR_HEADERS = ("ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Location", "Expires")
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


def strong_etag(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def _json_default(value: Any) -> Any:
    """What `json.dumps` cannot write: dates in ISO 8601 (as `crawler.exporters.to_jsonable`
    writes them, so a payload need not be walked first), sets as lists, else the text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


def json_body(payload: Any) -> bytes:
    """JSON with ``<``, ``>`` and ``&`` as ``\\u`` escapes: the same data, but no byte of
    it can be read as markup by a client that sniffs or embeds it."""
    text = json.dumps(payload, ensure_ascii=False, default=_json_default)
    # str.replace, not str.translate: translate goes character by character in Python
    # objects and costs milliseconds on a page of Arabic text; replace is a C scan.
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return (text + "\n").encode("utf-8")


@dataclass
class Representation:
    """A body ready to send with its validators; its compressed forms are made once,
    on first demand (a feed file's representation lives as long as the file is unchanged)."""

    body: bytes
    content_type: str
    etag: str = ""
    last_modified: float | None = None
    brotli_quality: int = 5
    http_date: str | None = field(default=None, init=False, repr=False)
    """`last_modified` as the Last-Modified header says it (formatted once)."""
    _coded: dict[str, bytes] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.etag:
            self.etag = strong_etag(self.body)
        self.http_date = formatdate(self.last_modified, usegmt=True) if self.last_modified is not None else None

    @property
    def compressible(self) -> bool:
        return len(self.body) >= MIN_COMPRESS and self.content_type.startswith(COMPRESSIBLE)

    def encoded(self, coding: str) -> bytes:
        if coding == "identity":
            return self.body
        with self._lock:
            data = self._coded.get(coding)
        if data is None:
            if coding == "br":
                data = brotli.compress(self.body, quality=self.brotli_quality)
            else:
                # mtime=0: the same bytes always compress to the same bytes (stable ETag).
                data = gzip.compress(self.body, compresslevel=6, mtime=0)
            with self._lock:
                self._coded[coding] = data
        return data

    def has_coding(self, coding: str) -> bool:
        """Whether `encoded(coding)` is ready without compressing."""
        return coding == "identity" or coding in self._coded

    def etag_for(self, coding: str) -> str:
        return self.etag if coding == "identity" else f'{self.etag[:-1]}-{"gz" if coding == "gzip" else coding}"'

    def all_etags(self) -> set[str]:
        return {self.etag_for(c) for c in ("identity", "gzip", "br")}


def _q_values(header: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0  # a q we cannot read is not an acceptance
                if not 0.0 <= q <= 1.0 or q != q:
                    q = 0.0
        out[token] = q
    return out


@lru_cache(maxsize=256)  # clients send a handful of distinct Accept-Encoding values
def choose_coding(accept_encoding: str | None) -> str:
    """``br`` when the client accepts it, else ``gzip``, else ``identity`` (RFC 9110 12.5.3:
    ``*`` stands for any coding not named; a zero q refuses)."""
    if not accept_encoding:
        return "identity"
    q = _q_values(accept_encoding)
    star = q.get("*")

    def accepted(coding: str, *aliases: str) -> float:
        for name in (coding, *aliases):
            if name in q:
                return q[name]
        return star if star is not None else 0.0

    br, gz = accepted("br"), accepted("gzip", "x-gzip")
    if br > 0 and br >= gz:
        return "br"
    if gz > 0:
        return "gzip"
    return "identity"


def etag_matches(header: str, etags: set[str]) -> bool:
    if header.strip() == "*":
        return True
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]  # If-None-Match uses the weak comparison
        if tag in etags:
            return True
    return False


def not_modified(headers: Mapping[str, str], rep: Representation) -> bool:
    return validators_match(headers.get("if-none-match"), headers.get("if-modified-since"), rep)


def validators_match(inm: str | None, ims: str | None, rep: Representation) -> bool:
    """Whether a request with these If-None-Match / If-Modified-Since values has `rep`."""
    if inm is not None:
        # RFC 9110 13.2.2: when If-None-Match is present, If-Modified-Since is ignored.
        return etag_matches(inm, rep.all_etags())
    if ims and rep.last_modified is not None:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, OverflowError, IndexError):  # malformed: ignored (RFC 9110)
            return False
        if since > time.time() + 60:  # a date in the future is not one we sent
            return False
        return int(rep.last_modified) <= since
    return False


RawHeaders = list[tuple[bytes, bytes]]


def raw_headers(rep: Representation, coding: str, extra: Mapping[str, str] | None, unchanged: bool) -> RawHeaders:
    """The header lines of `rep` in `coding`: a 304's validators only (`unchanged`), else
    every header with Content-Length and Content-Type, as Starlette's Response writes them."""
    out = {"ETag": rep.etag_for(coding), "Vary": "Accept-Encoding", "X-Content-Type-Options": "nosniff",
           **(extra or {})}
    if rep.http_date is not None:
        out["Last-Modified"] = rep.http_date
    if unchanged:
        return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out.items() if k in _VALIDATOR_HEADERS]
    if coding != "identity":
        out["Content-Encoding"] = coding
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out.items()]
    ctype = rep.content_type
    if ctype.startswith("text/") and "charset=" not in ctype.lower():
        ctype += "; charset=utf-8"
    raw += [(b"content-length", str(len(rep.encoded(coding))).encode("latin-1")), (b"content-type", ctype.encode("latin-1"))]
    return raw


class Prepared(Response):
    """A response whose status line, header lines and body are already made."""

    def __init__(self, status: int, headers: RawHeaders, body: bytes) -> None:
        self.status_code = status
        self.body = body
        self.raw_headers = headers
        self.background = None


class Answer:
    """`rep` with the fixed headers its route adds: the header lines of each coding, 200
    and 304, made once (what `feeds.web.fastpath` sends without the app)."""

    __slots__ = ("rep", "extra", "_heads")

    def __init__(self, rep: Representation, extra: Mapping[str, str] | None = None) -> None:
        self.rep = rep
        self.extra = dict(extra or {})
        self._heads: dict[tuple[str, bool], RawHeaders] = {}

    def head(self, coding: str, unchanged: bool) -> RawHeaders:
        key = (coding, unchanged)
        lines = self._heads.get(key)
        if lines is None:
            lines = self._heads[key] = raw_headers(self.rep, coding, self.extra, unchanged)
        return lines


def send(request: Request, rep: Representation, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """The response for `rep`: 304 when the request's validators match (a 200 only),
    else the body in the best coding the client accepts, with its own ETag."""
    coding = choose_coding(request.headers.get("accept-encoding")) if rep.compressible else "identity"
    if status == 200 and request.method in ("GET", "HEAD") and not_modified(request.headers, rep):
        return Prepared(304, raw_headers(rep, coding, headers, True), b"")
    return Prepared(status, raw_headers(rep, coding, headers, False), rep.encoded(coding))


def send_answer(request: Request, answer: Answer, status: int = 200) -> Response:
    """`send` for an `Answer` (its header lines made once)."""
    rep = answer.rep
    coding = choose_coding(request.headers.get("accept-encoding")) if rep.compressible else "identity"
    if status == 200 and request.method in ("GET", "HEAD") and not_modified(request.headers, rep):
        return Prepared(304, answer.head(coding, True), b"")
    if status != 200:
        return Prepared(status, raw_headers(rep, coding, answer.extra, False), rep.encoded(coding))
    return Prepared(status, answer.head(coding, False), rep.encoded(coding))


def json_response(request: Request, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return send(request, Representation(json_body(payload), JSON_TYPE), status, headers)


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """``{"error": message}``: every error of the app, uncached."""
    return Response(json_body({"error": message}), status_code=status, media_type=JSON_TYPE,
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})})

"""Declarative fault plans for the snapshot server: what breaks, where, how often.

A `Fault` names a kind, which requests it hits (a site, and an ``fnmatch`` glob on the
decoded path, or on ``path?query``) and how many of the first matching requests per URL
it spoils (``times``; None = every one). `FaultPlan` counts hits per (fault, URL) under a
lock and logs every injection. Each kind is carried out at the HTTP level for real on
the handler's socket (see docs/faults.md):

===============  ======================================================================
kind             what the crawler gets (params)
===============  ======================================================================
status           that status, tiny body (``status`` 500; ``retry_after`` seconds/date)
slow             the normal answer after ``delay`` seconds (default 5)
reset            headers + ``fraction`` of the body (0.5), then a TCP reset (SO_LINGER 0)
truncate         headers + ``fraction`` of the body, then a clean close (short body)
truncated_html   a complete HTTP answer whose HTML is cut at ``fraction``
charset          body re-encoded in ``body_encoding``, declared ``header_charset``
                 (None: no charset anywhere; the ``<meta charset>`` is removed then)
huge             the page padded to ``size`` bytes (20 MiB), streamed
redirect_loop    302 between ``path`` and ``path?loop=1`` for ever
robots           robots.txt with ``disallow`` paths added (match is ignored)
gzip_bomb        ``Content-Encoding: gzip``, ~4 MB inflating to ``gib`` GiB (4) of zeros
xml_bomb         the XML (feed, sitemap) with a DTD: ``variant`` ``laughs`` (billion laughs)
                 or ``external`` (SYSTEM entities to ``file:///etc/hostname`` and ``url``)
invalid_json     the JSON cut in half (or ``body``), still 200 ``application/json``
empty            a page with no title and no body
===============  ======================================================================

Plans load from JSON or TOML (`load_faults`): ``{"faults": [{"kind": "status", "site":
"le12", "match": "/article/*", "times": 2, "status": 503}, ...]}`` (keys other than
kind/site/match/times are params).
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import re
import socket
import struct
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

Response = tuple[int, dict[str, str], bytes]

# kind -> its params and how each must read (checked when the plan is built: a typo or a
# bad value in a plan file is an error at load time, not a traceback at the first request)
PARAMS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "status": {"status": int, "retry_after": str},
    "slow": {"delay": float},
    "reset": {"fraction": float},
    "truncate": {"fraction": float},
    "truncated_html": {"fraction": float},
    "charset": {"body_encoding": codecs.lookup, "header_charset": lambda v: v is None or codecs.lookup(v)},
    "huge": {"size": int},
    "redirect_loop": {},
    "robots": {"disallow": lambda v: [str(d) for d in v] if isinstance(v, list) else int("not a list")},
    "gzip_bomb": {"gib": int},
    "xml_bomb": {"variant": lambda v: {"laughs": v, "external": v}[v], "url": str},
    "invalid_json": {"body": str},
    "empty": {},
}
KINDS = tuple(PARAMS)


@dataclass(frozen=True)
class Fault:
    kind: str
    match: str = "*"
    """fnmatch glob on the decoded path, or on ``path?query`` (case-sensitive)."""
    site: str | None = None
    """Source id the fault applies to; None = every site."""
    times: int | None = 1
    """How many of the first matching requests per URL fail; None = all of them."""
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault: unknown kind {self.kind!r}; known: {', '.join(KINDS)}")
        if self.times is not None and (not isinstance(self.times, int) or self.times < 0):
            raise ValueError(f"fault {self.kind}: times must be an integer >= 0 or None")
        known = PARAMS[self.kind]
        for name, value in self.params.items():
            if name not in known:
                raise ValueError(f"fault {self.kind}: unknown param {name!r}; known: {', '.join(known) or 'none'}")
            try:
                known[name](value)
            except (TypeError, ValueError, LookupError):
                raise ValueError(f"fault {self.kind}: bad {name} {value!r}") from None

    def matches(self, site: str, path: str, query: str) -> bool:
        if self.site is not None and self.site != site:
            return False
        if self.kind == "robots":
            return path == "/robots.txt"
        full = f"{path}?{query}" if query else path
        return fnmatchcase(path, self.match) or fnmatchcase(full, self.match)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        data = dict(data)
        try:
            kind = data.pop("kind")
        except KeyError:
            raise ValueError(f"fault without a kind: {data}") from None
        params = dict(data.pop("params", {}) or {})
        times = data.pop("times", 1)
        if times in ("always", -1):
            times = None
        return cls(kind=kind, match=data.pop("match", "*"), site=data.pop("site", None), times=times,
                   params={**params, **data})


def load_faults(path: str | Path) -> list[Fault]:
    """Faults from a JSON or TOML file (``{"faults": [...]}`` or a JSON list); ValueError on bad input."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        data: Any = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{p}: not a fault plan: {exc}") from None
    entries = data.get("faults", []) if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{p}: 'faults' must be a list of tables")
    return [Fault.from_dict(e) for e in entries]


@dataclass(frozen=True)
class Injection:
    site: str
    path: str
    kind: str
    request_no: int


class FaultPlan:
    """Thread-safe: picks the fault (if any) for each request and logs what was injected."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self.faults: list[Fault] = list(faults)
        self._hits: dict[tuple[int, str], int] = {}
        self.log: list[Injection] = []

    def replace(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self.faults = list(faults)
            self._hits.clear()

    def pick(self, site: str, path: str, query: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self.faults):
                if not fault.matches(site, path, query):
                    continue
                key = (i, path)
                n = self._hits.get(key, 0)
                self._hits[key] = n + 1
                if fault.times is not None and n >= fault.times:
                    continue
                self.log.append(Injection(site, path, fault.kind, n + 1))
                logger.info("%s: injecting %s for %s (request %d)", site, fault.kind, path, n + 1)
                return fault
        return None


# --- carrying faults out --------------------------------------------------------------
# `serve` writes straight to the handler's socket: several kinds are about what goes
# wrong on the wire (a reset, a short body, a stall), which a (status, headers, body)
# triple cannot express.

Render = Callable[[], Response]
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout, OSError)


def serve(fault: Fault, handler: Any, render: Render, head_only: bool = False) -> None:
    p = fault.params
    kind = fault.kind
    try:
        if kind == "slow":
            time.sleep(float(p.get("delay", 5.0)))
            _send(handler, *render(), head_only=head_only)
        elif kind in ("reset", "truncate"):
            _cut_off(handler, render(), float(p.get("fraction", 0.5)), reset=kind == "reset")
        elif kind == "huge":
            _send_huge(handler, render(), int(p.get("size", 20 * 1024 * 1024)), head_only)
        else:
            _send(handler, *build(fault, handler, render), head_only=head_only)
    except _CLIENT_GONE:
        # the crawler gave up (timeout, size limit): that is the point of the fault
        handler.close_connection = True


def build(fault: Fault, handler: Any, render: Render) -> Response:
    """The (status, headers, body) of the kinds that are a complete HTTP answer."""
    p = fault.params
    kind = fault.kind
    if kind == "status":
        status = int(p.get("status", 500))
        headers = {"Content-Type": "text/html; charset=UTF-8"}
        if p.get("retry_after") is not None:
            headers["Retry-After"] = str(p["retry_after"])
        return status, headers, f"<html><body><h1>{status}</h1></body></html>".encode()
    if kind == "empty":
        return 200, {"Content-Type": "text/html; charset=UTF-8"}, b"<!DOCTYPE html>\n<html><head></head><body></body></html>\n"
    if kind == "redirect_loop":
        path = handler.path.split("?", 1)[0]
        target = path if "loop=1" in handler.path else path + "?loop=1"
        return 302, {"Location": target, "Content-Type": "text/html; charset=UTF-8"}, b""
    if kind == "gzip_bomb":
        return 200, {"Content-Type": "text/html; charset=UTF-8", "Content-Encoding": "gzip"}, gzip_bomb(int(p.get("gib", 4)))
    status, headers, body = render()
    if kind == "truncated_html":
        return status, headers, body[: int(len(body) * float(p.get("fraction", 0.5)))]
    if kind == "invalid_json":
        bad = p.get("body")
        return status, {**headers, "Content-Type": "application/json; charset=UTF-8"}, (
            bad.encode() if isinstance(bad, str) else body[: max(1, len(body) // 2)])
    if kind == "charset":
        return _recharset(status, headers, body, p)
    if kind == "robots":
        lines = "".join(f"Disallow: {d}\n" for d in p.get("disallow", []))
        text = body.decode("utf-8").replace("User-agent: *\n", "User-agent: *\n" + lines, 1)
        return status, headers, text.encode("utf-8")
    if kind == "xml_bomb":
        return status, headers, xml_bomb(body, str(p.get("variant", "laughs")), p.get("url") or _canary(handler))
    raise AssertionError(kind)


def _canary(handler: Any) -> str:
    host, port = handler.server.server_address[:2]
    return f"http://{host}:{port}/xxe-canary"


def _send(handler: Any, status: int, headers: dict[str, str], body: bytes, *, head_only: bool = False,
          length: int | None = None) -> None:
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    if not head_only:
        handler.wfile.write(body)


def _cut_off(handler: Any, response: Response, fraction: float, *, reset: bool) -> None:
    status, headers, body = response
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body[: int(len(body) * fraction)])
    handler.wfile.flush()
    handler.close_connection = True
    conn: socket.socket = handler.connection
    if reset:
        # SO_LINGER on with a zero timeout: close() sends RST instead of FIN
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    else:
        conn.shutdown(socket.SHUT_RDWR)


def _send_huge(handler: Any, response: Response, size: int, head_only: bool) -> None:
    status, headers, body = response
    cut = body.rfind(b"</body>")
    head, tail = (body[:cut], body[cut:]) if cut >= 0 else (body, b"")
    pad = max(0, size - len(body))
    _send(handler, status, headers, b"", head_only=True, length=len(body) + pad)
    if head_only:
        return
    handler.wfile.write(head)
    chunk = (b"<p>" + b"x" * 1017 + b"</p>\n") * 1024  # 1 MiB of paragraph filler
    while pad > 0:
        piece = chunk[:pad]
        handler.wfile.write(piece)
        pad -= len(piece)
    handler.wfile.write(tail)


_META_CHARSET = re.compile(rb"<meta[^>]+charset=[^>]*>\s*", re.I)


def _recharset(status: int, headers: dict[str, str], body: bytes, p: Mapping[str, Any]) -> Response:
    ctype = headers.get("Content-Type", "text/html")
    m = re.search(r"charset=([\w-]+)", ctype, re.I)
    text = body.decode(m.group(1) if m else "utf-8")
    target = str(p.get("body_encoding", "utf-8"))
    declared = p.get("header_charset")
    raw = text.encode(target, errors="xmlcharrefreplace")
    if declared is None:
        raw = _META_CHARSET.sub(b"", raw)
        new_ctype = ctype.split(";")[0].strip()
    else:
        new_ctype = f"{ctype.split(';')[0].strip()}; charset={declared}"
    return status, {**headers, "Content-Type": new_ctype}, raw


@lru_cache(maxsize=4)
def gzip_bomb(gib: int) -> bytes:
    """A gzip stream inflating to `gib` GiB of zeros: one 64 MiB member (~65 KB)
    repeated; gzip readers (Scrapy's included) read concatenated members as one."""
    member = gzip.compress(b"\0" * (64 << 20), compresslevel=9, mtime=0)
    return member * (gib * 16)


def xml_bomb(body: bytes, variant: str, url: str) -> bytes:
    """`body` (an XML document) with a hostile DTD and its entity used in a first element."""
    if variant == "laughs":
        ents = ['<!ENTITY lol0 "lol">'] + [
            f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
        ]
        use = "&lol9;"
    elif variant == "external":
        ents = ['<!ENTITY xxefile SYSTEM "file:///etc/hostname">', f'<!ENTITY xxehttp SYSTEM "{url}">']
        use = "&xxefile;&xxehttp;"
    else:
        raise ValueError(f"xml_bomb: unknown variant {variant!r} (laughs, external)")
    text = body.decode("utf-8")
    decl = re.match(r"<\?xml[^>]*\?>\s*", text)
    prolog_end = decl.end() if decl else 0
    root = re.search(r"<([A-Za-z][\w:.-]*)[^>]*>", text[prolog_end:])
    if root is None:
        return body
    name = root.group(1)
    dtd = f"<!DOCTYPE {name} [\n" + "\n".join(ents) + "\n]>\n"
    at = prolog_end + root.end()
    return (text[:prolog_end] + dtd + text[prolog_end:at] + f"<bomb>{use}</bomb>" + text[at:]).encode("utf-8")

"""Answers the app already gave, sent again without the app while they are still true.

The answers readers ask for most are the same bytes request after request: a feed file
and its 304, the OpenAPI document, a search (API or page) repeated while the archive did
not change. FastAPI's middleware, routing and parameter validation cost several times
what sending those bytes does, so the route that made an answer leaves it here, keyed by
(root path, path, query string), with how to tell it is still true:

* `fresh`, a cheap check (a feed file's stat is unchanged; the pages' own cache still
  holds the same page), and, for answers read from the archive,
* the archive's change token (`crawler.archive.changes`) read before the answer was made:
  any commit since, by any process, and the answer is not reused.

`FastPath.answer` runs in front of the app for GET and HEAD: an entry still true is sent
as the route would send it (`feeds.web.http.Answer`: the same header lines, 304s and
content coding); anything else (no entry, a stale one, a coding not yet compressed) goes
to the app, whose route makes the answer again and leaves the new one. Only 200 answers
are kept; the entries are bounded in number and bytes (oldest out first).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import Scope, Send

from feeds.web.http import Answer, choose_coding, validators_match

logger = logging.getLogger(__name__)

MAX_ENTRIES = 4096
MAX_BYTES = 64 * 1024 * 1024
"""Bodies and keys kept (the bodies' compressed forms come on top, smaller)."""
MAX_KEY = 2048
"""Longer paths and query strings are not kept: no reader's request needs one, and each
would cost its own memory."""

Key = tuple[str, str, bytes]


@dataclass(slots=True)
class Entry:
    answer: Answer
    fresh: Callable[[], bool] | None
    token: object | None
    """The archive's change token the answer was made under; None: not read from the archive."""
    size: int


def _key(scope: Scope) -> Key | None:
    path: str = scope["path"]
    if not path.startswith("/") or path.startswith("//"):
        return None
    return scope.get("root_path", ""), path, scope.get("query_string", b"")


class FastPath:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: dict[Key, Entry] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def keep(self, request: Request, answer: Answer, *, fresh: Callable[[], bool] | None = None,
             token: object | None = None, archive: bool = False) -> None:
        """Keep the route's answer to `request` (a GET's 200). `archive`: the answer was
        read from the archive under change token `token` (None: unknown, not kept)."""
        if request.method != "GET" or (archive and token is None):
            return
        key = _key(request.scope)
        if key is None or len(key[1]) + len(key[2]) > MAX_KEY:
            return
        size = len(answer.rep.body) + len(key[1]) + len(key[2]) + 256
        if size > self.max_bytes // 16:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            while self._entries and (len(self._entries) >= self.max_entries or self._bytes + size > self.max_bytes):
                first = next(iter(self._entries))
                self._bytes -= self._entries.pop(first).size
            self._entries[key] = Entry(answer, fresh, token if archive else None, size)
            self._bytes += size

    def forget(self, key: Key) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size

    async def answer(self, scope: Scope, send: Send, archive: Any) -> bool:
        """Send the kept answer to this GET or HEAD if it is still true; False: the app
        must answer. `archive` is the app's `ArchiveAccess` (None: no archive)."""
        key = _key(scope)
        if key is None:
            return False
        entry = self._entries.get(key)  # dict reads are atomic; the lock guards writers
        if entry is None:
            return False
        if entry.fresh is not None and not entry.fresh():
            self.forget(key)
            return False
        if entry.token is not None:
            if archive is None:
                return False
            now = await archive.token()
            if now != entry.token:
                self.forget(key)
                return False
        rep = entry.answer.rep
        ae = inm = ims = None
        for name, value in scope["headers"]:
            # the first of a repeated header, as Starlette's Headers.get reads it
            if name == b"accept-encoding":
                ae = value.decode("latin-1") if ae is None else ae
            elif name == b"if-none-match":
                inm = value.decode("latin-1") if inm is None else inm
            elif name == b"if-modified-since":
                ims = value.decode("latin-1") if ims is None else ims
        coding = choose_coding(ae) if rep.compressible else "identity"
        if not rep.has_coding(coding):  # another client's coding: compressed once, off the event loop
            await asyncio.get_running_loop().run_in_executor(None, rep.encoded, coding)
        unchanged = validators_match(inm, ims, rep)
        self.hits += 1
        await send({"type": "http.response.start", "status": 304 if unchanged else 200,
                    "headers": entry.answer.head(coding, unchanged)})
        body = b"" if unchanged or scope["method"] == "HEAD" else rep.encoded(coding)
        await send({"type": "http.response.body", "body": body})
        return True


def fast_path(request: Request) -> FastPath:
    found: FastPath = request.app.state.fast_path
    return found

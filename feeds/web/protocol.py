"""uvicorn's httptools protocol with per-request deadlines and size caps.

uvicorn times out only idle keep-alive connections: a client that connects and sends
nothing, or sends one header line every few seconds, or trickles a body one byte a second,
holds its connection (and, under ``limit_concurrency``, a slot every other client needs)
for as long as it likes. Here each request has two deadlines, counted from a fixed start
and not per read: the request line and headers must be in within ``header_timeout`` of the
connection (first request) or of the request's first byte (later ones), the body within
``body_timeout`` of the headers. Past a deadline the client gets 408 and the connection is
closed; headers or a body over their caps get 431 / 413 the same way. Requests beyond
``limit_concurrency`` in flight, and connections beyond ``max_connections``, get 503; a
response the client leaves unread for ``write_timeout`` is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from feeds.web.limits import ServeLimits

logger = logging.getLogger(__name__)

LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class Refused:
    """Why a request is answered `status` and its connection closed (deadline or cap)."""

    status: int
    reason: str


def refusals(server_state: Any) -> Counter[str]:
    """Per-reason counts of connections cut by a deadline or a cap, kept on uvicorn's
    per-server state (so one count per worker)."""
    counts: Counter[str] | None = getattr(server_state, "akhbar_refused", None)
    if counts is None:
        counts = Counter()
        server_state.akhbar_refused = counts
    return counts


class DeadlineProtocol(HttpToolsProtocol):
    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: ServeLimits = getattr(config, "limits", None) or ServeLimits()
        self._deadline: asyncio.TimerHandle | None = None
        self._stage = "headers"
        self._header_bytes = 0
        self._body_bytes = 0
        self._refused = False
        self._write_stall: asyncio.TimerHandle | None = None

    # --- deadlines -------------------------------------------------------------------
    def _arm(self, seconds: float, stage: str) -> None:
        self._disarm()
        self._stage = stage
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        what = "headers" if self._stage == "headers" else "body"
        limit = self.limits.header_timeout if what == "headers" else self.limits.body_timeout
        self._refuse(Refused(408, f"request {what} not complete within {limit:g} s"))

    # --- connection ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(Refused(503, f"over {self.limits.max_connections} connections; retry later"))
            return
        self._arm(self.limits.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._write_stall is not None:
            self._write_stall.cancel()
            self._write_stall = None
        super().connection_lost(exc)

    # A client that stops reading fills the send buffer; uvicorn then pauses the app's
    # writes and waits for it for ever. Paused for `write_timeout` without the client
    # taking anything: the connection is dropped.
    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_stall is None:
            self._write_stall = self.loop.call_later(self.limits.write_timeout, self._stalled)

    def resume_writing(self) -> None:
        if self._write_stall is not None:
            self._write_stall.cancel()
            self._write_stall = None
        super().resume_writing()

    def _stalled(self) -> None:
        self._write_stall = None
        refusals(self.server_state)["write-stall"] += 1
        logger.debug("%s:%s - response unread for %g s: dropped", *(self.client or ("?", 0)), self.limits.write_timeout)
        self.transport.abort()

    # --- parser callbacks ----------------------------------------------------------------
    # After a refusal the parser still runs over the rest of the bytes already read; the
    # callbacks then do nothing, so no request is started on a closed connection.
    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        self._stage = "headers"
        self._header_bytes = self._body_bytes = 0

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._stage = "headers"  # nothing started yet: a refusal below is answered
        size = len(self.url)
        for name, value in self.headers:
            size += len(name) + len(value) + 4
            if name == b"content-length" and value.isdigit() and int(value) > self.limits.max_body_bytes:
                self._refuse(Refused(413, f"request body over {self.limits.max_body_bytes} bytes"))
                return
        if size > self.limits.max_header_bytes:
            self._refuse(Refused(431, f"request headers over {self.limits.max_header_bytes} bytes"))
            return
        # uvicorn's own limit counts open connections too, so held-open slow connections
        # would get every request refused; here only requests in flight count.
        if len(self.server_state.tasks) >= self.limits.limit_concurrency:
            self._refuse(Refused(503, f"over {self.limits.limit_concurrency} requests in flight; retry later"))
            return
        super().on_headers_complete()
        self._stage = "body"

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body_bytes:
            self._refuse(Refused(413, f"request body over {self.limits.max_body_bytes} bytes"))
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._stage = "done"
        super().on_message_complete()

    # --- answering -------------------------------------------------------------------
    def _refuse(self, refusal: Refused) -> None:
        """Answer `refusal.status` unless a response is already on the wire, then close."""
        self._refused = True
        self._disarm()
        refusals(self.server_state)[str(refusal.status)] += 1
        logger.debug("%s:%s - %s: %s", *(self.client or ("?", 0)), refusal.status, refusal.reason)
        cycle = self.cycle
        in_flight = cycle is not None and not cycle.response_complete
        # A response half written, or one still owed to an earlier pipelined request,
        # cannot be followed by ours: the connection is just closed.
        # After a complete response a late body is not worth an answer either.
        if self._stage == "headers":
            can_answer = not in_flight
        else:
            can_answer = cycle is not None and not cycle.response_started
        if in_flight:
            cycle.disconnected = True
            cycle.message_event.set()
        if not can_answer:
            self.transport.close()
            return
        body = refusal.reason.encode("ascii", "replace")
        head = [STATUS_LINE[refusal.status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        if refusal.status == 503:
            head.append(b"retry-after: 1\r\n")
        head += [b"content-type: text/plain; charset=utf-8\r\n",
                 b"content-length: " + str(len(body)).encode() + b"\r\n",
                 b"connection: close\r\n\r\n", body]
        self.transport.write(b"".join(head))
        # Lingering close: closing at once while the client is still sending makes the
        # kernel answer its next bytes with a reset, which discards our answer unread on
        # the client's side. Send FIN after the answer, drop whatever still comes, and
        # close when the client does or after LINGER_SECONDS.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: the rest of a refused request is dropped unread
        super().data_received(data)
        # Timers and counts are set here, once per read, rather than in the per-request
        # and per-header callbacks: a request read whole in one go (most GETs) costs no
        # timer at all. A request left incomplete by this read gets its deadline now,
        # i.e. from the read its first byte came in (the first request's runs from the
        # connection).
        if self._refused or self._stage == "done":
            return
        if self._stage == "headers":
            # headers still incomplete: every byte of the read counts against the cap, so
            # they cannot grow without bound before on_headers_complete counts them exactly
            # (a read can also hold the end of an earlier pipelined request: over-counted)
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(Refused(431, f"request headers over {self.limits.max_header_bytes} bytes"))
                return
            if self._deadline is None:
                self._arm(self.limits.header_timeout, "headers")
        elif self._deadline is None:  # headers in, body still coming
            self._arm(self.limits.body_timeout, "body")

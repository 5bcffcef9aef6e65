"""Failed-credential throttling per client.

A client that sends `limit` wrong tokens within `window` seconds is refused, every request
of it with the right token too, until `window` seconds after the failure that tripped the
limit: guessing a 32-character token stays hopeless, and a client that knows the token is
told when to come back (``Retry-After``). The client is the connection's peer address as
uvicorn gives it: with ``--proxy-headers`` and a trusted proxy, the address the proxy
forwarded; a client cannot choose it by sending headers of its own.

State lives in the serving process (one per uvicorn worker: N workers allow N x `limit`
guesses per window, still nothing against a 32-character token). Its size is bounded: at
most `max_clients` are tracked, the oldest dropped first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Client:
    failures: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class FailureThrottle:
    def __init__(self, limit: int, window: float, *, max_clients: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._clock = clock
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._lock = threading.Lock()
        self.refused = 0
        """Requests answered 429 since start (a counter for logs and tests)."""

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it may now."""
        now = self._clock()
        with self._lock:
            state = self._clients.get(client)
            if state is None or state.blocked_until <= now:
                return None
            self.refused += 1
            return max(1, math.ceil(state.blocked_until - now))

    def failed(self, client: str) -> int | None:
        """Record a wrong credential; the Retry-After when this one trips the limit."""
        now = self._clock()
        with self._lock:
            state = self._clients.pop(client, None) or _Client()
            self._clients[client] = state  # most recently seen last
            while state.failures and state.failures[0] <= now - self.window:
                state.failures.popleft()
            state.failures.append(now)
            tripped = len(state.failures) >= self.limit
            if tripped:
                state.failures.clear()
                state.blocked_until = now + self.window
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
            return max(1, math.ceil(self.window)) if tripped else None

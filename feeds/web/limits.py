"""What one client may cost the server: deadlines, sizes and counts, with their defaults.

The defaults suit `akhbar serve` facing the internet directly; behind a reverse proxy the
proxy's own limits come first and these are a second line (docs/deployment.md). Every
value can be set in the ``[serve]`` table of the sources file or on the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ServeLimits:
    header_timeout: float = 10.0
    """Seconds a request may take to send its request line and headers, counted from the
    connection (first request) or from the request's first byte (later ones); not per read,
    so a client trickling one header line at a time is cut at the deadline (408)."""
    body_timeout: float = 30.0
    """Seconds from the end of the headers to the end of the body (408 when exceeded)."""
    keep_alive: float = 5.0
    """Seconds an idle keep-alive connection is kept between requests."""
    max_header_bytes: int = 64 * 1024
    """Request line plus headers; larger is answered 431 and the connection closed."""
    max_body_bytes: int = 1024 * 1024
    """Request body; larger (declared or sent) is answered 413 and the connection closed."""
    write_timeout: float = 30.0
    """Seconds a client may leave a response unread (the server's send buffer full)
    before its connection is dropped: a reader that stops reading holds nothing for long."""
    limit_concurrency: int = 1000
    """Requests in flight per worker; a request beyond is answered 503 at once."""
    max_connections: int = 4096
    """Open connections per worker; a connection beyond is answered 503 and closed."""
    backlog: int = 2048
    """Listen backlog: connections the kernel queues before the server accepts them."""
    graceful_timeout: float = 10.0
    """Seconds in-flight requests get to finish when the server is asked to stop."""

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "[serve]") -> ServeLimits:
        """The limits a ``[serve]`` table sets (other keys ignored here); ValueError naming
        the key and the reason for a wrong type or a value out of range."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in table:
                continue
            value = table[f.name]
            integral = f.type in ("int", int)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (integral and not isinstance(value, int)):
                raise ValueError(f"{where} {f.name}: expected {'an integer' if integral else 'a number of seconds'}, got {value!r}")
            if value <= 0:
                raise ValueError(f"{where} {f.name}: must be greater than 0, got {value!r}")
            values[f.name] = value
        return cls(**values)

    def replace(self, **changes: Any) -> ServeLimits:
        """These limits with the given (non-None) values changed."""
        from dataclasses import replace

        return replace(self, **{k: v for k, v in changes.items() if v is not None})


LIMIT_KEYS: tuple[str, ...] = tuple(f.name for f in fields(ServeLimits))

"""The hub's outgoing requests: intent verification, content distribution, pings of
external hubs, and the check that a callback may be called at all.

Plain blocking `http.client` calls with a timeout, run on threads by the hub; redirects
are not followed (a callback that redirects elsewhere would be a way around the address
check). A subscriber names the URL the hub calls, so callbacks get the crawl's egress
rule (`crawler/egress.py`): an address that is loopback, private, link-local, multicast,
reserved or unspecified is refused unless ``[websub] allow_private_callbacks = true``.
The check resolves the host before every request; a DNS answer changed between the check
and the connection is the one gap left open.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

logger = logging.getLogger(__name__)

USER_AGENT = "Akhbar-WebSub-Hub/1 (+https://www.w3.org/TR/websub/)"
MAX_CALLBACK_LENGTH = 2048
MAX_ANSWER = 64 * 1024
"""Bytes of a subscriber's answer read at most (a challenge is short)."""


class CallbackRefused(ValueError):
    pass


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return _forbidden(mapped)
    for name in ("is_loopback", "is_private", "is_link_local", "is_multicast", "is_reserved", "is_unspecified"):
        if getattr(ip, name):
            return name[3:].replace("_", "-")
    return None if ip.is_global else "not-global"


def check_callback(url: str, *, allow_private: bool) -> None:
    """Raise `CallbackRefused` (with the reason) unless `url` may be called."""
    if len(url) > MAX_CALLBACK_LENGTH:
        raise CallbackRefused(f"longer than {MAX_CALLBACK_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRefused("must be an absolute http(s) URL")
    if parts.fragment or parts.username or parts.password:
        raise CallbackRefused("must carry no fragment and no credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise CallbackRefused("has an invalid port") from None
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackRefused(f"its host does not resolve ({exc})") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        why = _forbidden(ip)
        if why:
            raise CallbackRefused(f"resolves to a {why} address ({ip}); "
                                  "[websub] allow_private_callbacks = true permits it")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def request(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = 10.0) -> Answer:
    """One request, no redirects followed; raises OSError/HTTPException on transport errors."""
    parts = urlsplit(url)
    conn_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_type(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})})
        resp = conn.getresponse()
        return Answer(resp.status, resp.read(MAX_ANSWER))
    finally:
        conn.close()


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` appended to any query it already has (the spec keeps it)."""
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(params)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value: ``sha256=<hex HMAC of the body with the secret>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def ping(hub: str, topics: list[str], timeout: float) -> Answer:
    """Tell an external hub that `topics` changed (``hub.mode=publish``, one ``hub.url`` each)."""
    body = urlencode([("hub.mode", "publish"), *(("hub.url", t) for t in topics)]).encode("ascii")
    return request("POST", hub, body=body, timeout=timeout,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})

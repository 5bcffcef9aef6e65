"""Egress policy: what a crawl may fetch.

A source is a stranger's web site. Its pages, feeds and redirects name the URLs the crawl
fetches next, so without a policy a hostile (or hacked) site can make the crawler fetch an
internal address — a metadata service, an admin page on loopback — and publish what it
got in the feeds. Every request and every redirect hop is checked here, after DNS
resolution:

- schemes other than http(s) are refused;
- a redirect is followed only to the source's own hosts (``base_url``'s host, the address
  crawled with ``--base-url``, and the optional ``hosts = [...]`` of its table);
- an address that is loopback, private, link-local, multicast, reserved or unspecified
  (IPv4 or IPv6, IPv4-mapped forms included) is refused unless the source sets
  ``allow_private_network = true``; a crawl whose address (``base_url`` or ``--base-url``)
  is itself such an address *literally* (the offline snapshot on 127.0.0.1) implies it,
  unless the table says ``allow_private_network = false``. Even then a redirect leaves
  the source's own hosts (host and port) for nothing.

`EgressMiddleware` refuses with ``IgnoreRequest("egress: ...")``: the spider's errback
records the URL in ``failed_urls`` with that reason, and ``akhbar/egress/refused/<why>``
counts it. `GuardedResolver` applies the same address rule where Twisted connects, so a
host that resolves to a public address at the check and a private one at connect time
(DNS rebinding) is still refused.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads
from twisted.internet.error import DNSLookupError

from crawler.archive.canonical import url_host

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_DNS_TTL = 60.0


def forbidden_address(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return forbidden_address(mapped)
        if ip.teredo is not None:
            return forbidden_address(ip.teredo[1])
    for name in ("is_loopback", "is_private", "is_link_local", "is_multicast", "is_reserved", "is_unspecified"):
        if getattr(ip, name):
            return name[3:].replace("_", "-")
    if not ip.is_global:
        return "not-global"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally (``127.0.0.1``, ``[::1]``, ``2130706433``), else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # inet_aton reads what browsers and curl read: 127.1, 0x7f.0.0.1, 2130706433
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def resolve(host: str) -> list[IPAddress]:
    """Every address `host` resolves to (blocking)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    out: list[IPAddress] = []
    for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP):
        try:
            out.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    return out


def is_private_target(url: str) -> bool:
    """True when `url`'s host is literally a loopback/private address: an operator who
    typed that address (``--base-url http://127.0.0.1:8001``, the offline snapshot) means
    a crawl of a local mirror. A host *name* implies nothing: names are what resolve
    somewhere unexpected."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    ip = literal_address(host)
    return ip is not None and forbidden_address(ip) is not None


class EgressPolicy:
    """The rules for one source's crawl (see the module docstring)."""

    def __init__(self, hosts: Iterable[str], *, allow_private: bool) -> None:
        self.hosts = {h for h in (url_host(x) for x in hosts) if h}
        self.allow_private = allow_private
        self._cache: dict[str, tuple[float, str | None]] = {}

    def static_reason(self, url: str, *, redirected: bool) -> str | None:
        """What can be judged without DNS: scheme, host, redirect target."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return "malformed URL"
        if parts.scheme not in ("http", "https"):
            return f"scheme {parts.scheme or '(none)'} not allowed"
        if not host:
            return "no host"
        if redirected and url_host(url) not in self.hosts:
            return f"redirect to another host ({parts.netloc})"
        return None

    def address_reason(self, host: str) -> str | None:
        """Why `host` may not be fetched by address (cached for a minute), or None."""
        if self.allow_private:
            return None
        now = time.monotonic()
        hit = self._cache.get(host)
        if hit is not None and now - hit[0] < _DNS_TTL:
            return hit[1]
        try:
            addresses = resolve(host)
        except OSError:
            reason = None  # unresolvable: the download fails with its own DNS error
        else:
            reason = next((f"{why} address {ip}" for ip in addresses if (why := forbidden_address(ip))), None)
        self._cache[host] = (now, reason)
        return reason


def policy_for(spider: Any) -> EgressPolicy:
    """The policy of the source `spider` crawls."""
    base = getattr(spider, "base_url", None) or ""
    source = getattr(spider, "source", None)
    raw = dict(getattr(source, "raw", None) or {})
    hosts = [base, getattr(source, "base_url", "") or "", *[str(h) for h in raw.get("hosts") or () if isinstance(h, str)]]
    explicit = raw.get("allow_private_network")
    allow = explicit if isinstance(explicit, bool) else is_private_target(base)
    return EgressPolicy(hosts, allow_private=allow)


class EgressMiddleware:
    """Downloader middleware: refuses what the source's `EgressPolicy` does not allow."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self._policy: EgressPolicy | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> EgressMiddleware:
        mw = cls(crawler)
        return mw

    @property
    def policy(self) -> EgressPolicy:
        if self._policy is None:
            self._policy = policy_for(self.crawler.spider)
        return self._policy

    async def process_request(self, request: Request, spider: Any = None) -> None:
        policy = self.policy
        redirected = bool(request.meta.get("redirect_urls"))
        reason = policy.static_reason(request.url, redirected=redirected)
        if reason is None and not policy.allow_private:
            host = urlsplit(request.url).hostname or ""
            reason = await maybe_deferred_to_future(threads.deferToThread(policy.address_reason, host))
        if reason is None:
            if policy.allow_private:
                _PRIVATE_OK.add((urlsplit(request.url).hostname or "").lower())
            if redirected:
                self.stats.inc_value("akhbar/egress/redirect_followed")
            return None
        kind = reason.split(" ", 1)[0]
        self.stats.inc_value("akhbar/egress/refused")
        self.stats.inc_value(f"akhbar/egress/refused/{kind}")
        via = f" (redirected from {request.meta['redirect_urls'][0]})" if redirected else ""
        logger.warning("egress: refused %s%s: %s", request.url, via, reason)
        raise IgnoreRequest(f"egress: {reason}")


# Host names whose requests a source allowed to reach private addresses. The reactor has one
# resolver for every crawler of the process, so the permission travels with the name.
_PRIVATE_OK: set[str] = set()


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing names that resolve to non-public addresses at
    connect time, except names a source allowed (`EgressMiddleware` registers them)."""

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802 - Twisted's name
        d = super().getHostByName(name, timeout)

        def check(address: str) -> str:
            if name.lower() in _PRIVATE_OK:
                return address
            try:
                why = forbidden_address(ipaddress.ip_address(address))
            except ValueError:
                return address
            if why:
                logger.warning("egress: %s resolves to a %s address (%s): refused", name, why, address)
                raise DNSLookupError(f"egress: {name} resolves to a {why} address ({address})")
            return address

        return d.addCallback(check)

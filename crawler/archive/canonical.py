"""URL folding: the key under which the archive stores an article.

The same report reaches the crawler under many spellings: with ``utm_*`` or
``fbclid`` appended by social shares, as an AMP page (``/amp/``, ``?amp=1``,
``amp.`` host), over http or https, with or without ``www.`` or a trailing slash,
with an Arabic slug raw or percent-encoded. `fold_url` maps all of them to one
string; `article_key` prefers the site's own article id when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

# Query parameters that track the reader, never select the content.
_TRACKING_EXACT = frozenset(
    {
        "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
        "ref", "ref_src", "referrer", "share", "shared", "via",
        "amp", "outputtype", "noamp", "_ga", "_gl", "at_medium", "at_campaign",
        "xtor", "cmpid", "ocid", "s_cid", "spm", "wt.mc_id", "__twitter_impression",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_")
_AMP_SEGMENT = re.compile(r"/amp(?=/|$)", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"\.amp(?=$|\.html?$)", re.IGNORECASE)
_SLASHES = re.compile(r"/{2,}")


def _is_tracking(name: str) -> bool:
    n = name.lower()
    return n in _TRACKING_EXACT or n.startswith(_TRACKING_PREFIXES)


_SPLIT = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?(?://(?P<netloc>[^/?#]*))?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?")
_HOST_PREFIXES = ("www.", "amp.", "m.")
# After percent-decoding, characters that would change the key's structure or vanish
# when the key is read again (urlsplit drops tab/CR/LF, str.strip trailing spaces) go
# back to %XX, so folding a folded key changes nothing.
_REENCODE = re.compile(r"%(?=[0-9A-Fa-f]{2})|[?#\t\r\n]")
_TRAILING_SPACE = re.compile(r"\s+$")


def _pct(m: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in m.group().encode("utf-8"))


def _split(url: str) -> tuple[str, str, str]:
    """(netloc, path, query) as urlsplit gives them; a netloc urlsplit refuses (an
    unbalanced IPv6 bracket, characters that NFKC-normalise into separators) is kept
    as written, so a hostile URL gets a key instead of an exception."""
    try:
        parts = urlsplit(url)
        return parts.netloc, parts.path, parts.query
    except ValueError:
        m = _SPLIT.match(re.sub(r"[\t\r\n]", "", url))
        assert m is not None  # every group is optional
        return m.group("netloc") or "", m.group("path") or "", m.group("query") or ""


def _host(netloc: str) -> str:
    """Lower-cased host without userinfo, ``www.``/``amp.``/``m.`` and default port."""
    hostport = netloc.rpartition("@")[2].lower()
    for _ in range(8):  # to a fixed point: a folded host must fold to itself (".:0:" -> ".:0" -> ":0")
        folded = _host_port(hostport)
        if folded == hostport:
            break
        hostport = folded
    return hostport


def _host_port(hostport: str) -> str:
    if hostport.startswith("[") and "]" in hostport:
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest[1:] if rest.startswith(":") else ""
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    else:
        host, port = hostport, ""
    host = host.strip().rstrip(".:")  # "a::" reads back as host "a"
    while host.startswith(_HOST_PREFIXES) and host.count(".") >= 2:
        host = host[host.index(".") + 1:]
    port = port.strip()
    if port.isascii() and port.isdigit():
        number = int(port)
        port = "" if number in (80, 443) else str(number)
    return f"{host}:{port}" if port else host


def _path(raw: str) -> str:
    path = _REENCODE.sub(_pct, unquote(raw or "/"))
    while True:  # removing one marker can expose another (/a.amp.amp, /amp/amp)
        folded = _AMP_SUFFIX.sub("", _AMP_SEGMENT.sub("", _SLASHES.sub("/", path))).rstrip("/")
        if folded == path:
            return path
        path = folded


def fold_url(url: str) -> str:
    """The folded form of `url`: ``//host/path?sorted-query`` with scheme, ``www.``,
    ``amp.``/``m.`` hosts, AMP path markers, tracking parameters, fragment, default
    port and trailing slash removed and the path percent-decoded (Arabic slugs compare
    equal however they were encoded). Not a fetchable URL: a key. Never raises, and
    folding a key again gives the same key."""
    url = (url or "").strip()
    if not url:
        return ""
    netloc, raw_path, raw_query = _split(url if "//" in url else "//" + url)
    if not netloc and raw_path and not raw_path.startswith("/"):
        # "example.com/a//b": what the key writes as host is read back as one.
        netloc, raw_path, _ = _split("//" + raw_path)
    host = _host(netloc)
    path = _path(raw_path)
    query = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if not _is_tracking(k)]
    query.sort()
    q = urlencode(query)
    if not q:  # the key ends with the path: trailing blanks would not survive a re-read
        path = _TRAILING_SPACE.sub(_pct, path)
    return f"//{host}{path}" + (f"?{q}" if q else "")


_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*):")


def key_url(url: str | None, canonical_url: str | None = None) -> str:
    """The URL `article_key` folds: the canonical one, or the fetched one when none was
    declared or the declared one is not a web address (``javascript:``, ``data:``)."""
    m = _SCHEME.match(canonical_url or "")
    if m and m.group(1).lower() not in ("http", "https"):
        canonical_url = None
    return canonical_url or url or ""


def url_host(url: str | None) -> str:
    """The folded host of `url` (``www.``/``amp.``/``m.`` and default port removed)."""
    netloc, _, _ = _split(url if url and "//" in url else "//" + (url or ""))
    return _host(netloc)


def own_key_url(url: str | None, canonical_url: str | None, hosts: Iterable[str] = ()) -> str:
    """`key_url`, except that a canonical URL on neither the fetched URL's host nor one of
    the source's own `hosts` is not used as a key: another site's address must never
    select (and so overwrite) another site's row. Wire copies routinely declare the
    original outlet's page as canonical; the value stays in ``canonical_url`` as data."""
    keyed = key_url(url, canonical_url)
    if keyed is url or not url:
        return keyed
    own = {url_host(url)} | {url_host(h) for h in hosts if h}
    return keyed if url_host(keyed) in own else url


def article_key(url: str | None, canonical_url: str | None = None) -> str:
    """Folded canonical URL (or fetched URL when none was declared, or when the declared
    one is not a web address: a ``javascript:`` or ``data:`` "canonical" is ignored)."""
    return fold_url(key_url(url, canonical_url))


def site_id_key(source: str | None, site_article_id: str | None) -> str | None:
    """``source#id`` when the site gave its own article id, else None."""
    if not source or site_article_id in (None, ""):
        return None
    return f"{source}#{str(site_article_id).strip()}"

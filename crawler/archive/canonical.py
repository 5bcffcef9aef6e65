"""URL folding: the key under which the archive stores an article.

The same report reaches the crawler under many spellings: with ``utm_*`` or
``fbclid`` appended by social shares, as an AMP page (``/amp/``, ``?amp=1``,
``amp.`` host), over http or https, with or without ``www.`` or a trailing slash,
with an Arabic slug raw or percent-encoded. `fold_url` maps all of them to one
string; `article_key` prefers the site's own article id when there is one.
"""

from __future__ import annotations

import re
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


def fold_url(url: str) -> str:
    """The folded form of `url`: ``//host/path?sorted-query`` with scheme, ``www.``,
    ``amp.``/``m.`` hosts, AMP path markers, tracking parameters, fragment, default
    port and trailing slash removed and the path percent-decoded (Arabic slugs compare
    equal however they were encoded). Not a fetchable URL: a key."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url if "//" in url else "//" + url)
    host = (parts.hostname or "").lower().rstrip(".")
    for prefix in ("www.", "amp.", "m."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
    port = parts.port
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = unquote(parts.path or "/")
    path = _SLASHES.sub("/", path)
    path = _AMP_SEGMENT.sub("", path)
    path = _AMP_SUFFIX.sub("", path)
    path = path.rstrip("/") or ""
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query.sort()
    q = urlencode(query)
    return f"//{host}{path}" + (f"?{q}" if q else "")


def article_key(url: str | None, canonical_url: str | None = None) -> str:
    """Folded canonical URL (or fetched URL when none was declared)."""
    return fold_url(canonical_url or url or "")


def site_id_key(source: str | None, site_article_id: str | None) -> str | None:
    """``source#id`` when the site gave its own article id, else None."""
    if not source or site_article_id in (None, ""):
        return None
    return f"{source}#{str(site_article_id).strip()}"

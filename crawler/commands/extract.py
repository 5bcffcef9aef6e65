"""`akhbar extract [--source ID] [--format jsonl|json|table] INPUT...`: one article per page.

INPUT is a saved page (HTML, gzipped or not), ``-`` for standard input, or an http(s) URL.
Without ``--source`` the page goes through the config-only chain a new WordPress source
gets (JSON-LD → meta → the default-theme selectors → the generic layer); with it, through
that source's own page object. Each output object carries the `Article` fields, the parsed
dates (the dates pipeline itself, `pipelines.dates.DatesPipeline`) and ``layers``: which
extraction layer gave each field. An input that cannot be read or parsed gives an object
with ``input`` and ``error`` and the others go on; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import json
import logging
import re
import sys
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # imported where used: `akhbar extract --help` must not load the spiders
    from spiders.page import ArticlePage

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "json", "table")
FETCH_TIMEOUT = 30.0
USER_AGENT = "Akhbar-extract/0.1 (+https://github.com/akhbar)"
# The config-only chain's source id and language when no --source is given ([defaults]).
GENERIC_SOURCE = "generic"
# Fields printed, in this order (Article names); dates parsed are added after the raw ones.
FIELDS = ("url", "canonical_url", "title", "author", "section_raw", "tags", "image_url", "language",
          "date_published_raw", "date_displayed_raw", "date_modified_raw",
          "date_published", "date_published_precision", "date_modified", "summary", "body_text", "body_html")
_LOOKS_HTML = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|meta|title|p|div|article|main|section|h1|br)\b", re.I)
# A byte-order mark names the encoding outright (longest first: UTF-32 LE starts like UTF-16 LE).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class InputError(Exception):
    """This input cannot be read or is not an HTML page; the message says why."""


@dataclass
class RawPage:
    input: str
    url: str
    body: bytes
    header_charset: str | None = None


def register(sub: Any) -> None:
    p = sub.add_parser(
        "extract",
        help="extract the article from saved pages or URLs (generic chain, or a source's page object)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="saved page (.html, .gz), - for stdin, or http(s) URL")
    p.add_argument("--source", help="use this source's page object (an id of the sources file)")
    p.add_argument("--format", choices=FORMATS, default="jsonl", help="jsonl (default): one object a line")
    p.add_argument("--timeout", type=float, default=FETCH_TIMEOUT, help="seconds per URL fetch (default 30)")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- reading

def _charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return m.group(1) if m else None


def _fetch(url: str, timeout: float) -> RawPage:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.5"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body = resp.read()
            final_url = resp.geturl()
            charset = _charset_of(resp.headers.get("Content-Type"))
            coding = (resp.headers.get("Content-Encoding") or "").lower()
    except urllib.error.HTTPError as exc:
        raise InputError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(f"cannot fetch: {reason}") from None
    if coding in ("gzip", "x-gzip", "deflate"):
        try:
            body = gzip.decompress(body) if coding != "deflate" else zlib.decompress(body)
        except (OSError, zlib.error, EOFError) as exc:
            raise InputError(f"bad {coding} content: {exc}") from None
    return RawPage(url, final_url, body, charset)


def read_input(arg: str, timeout: float = FETCH_TIMEOUT) -> RawPage:
    """The bytes of one INPUT (gzip undone), or `InputError`."""
    if re.match(r"https?://", arg, re.I):
        page = _fetch(arg, timeout)
    elif arg == "-":
        page = RawPage(arg, "file:///dev/stdin", sys.stdin.buffer.read())
    else:
        path = Path(arg)
        try:
            body = path.read_bytes()
        except IsADirectoryError:
            raise InputError("is a directory") from None
        except OSError as exc:
            raise InputError(exc.strerror or str(exc)) from None
        page = RawPage(arg, path.resolve().as_uri(), body)
    if page.body[:2] == b"\x1f\x8b":  # gzip magic, whatever the name says
        try:
            page.body = gzip.decompress(page.body)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"not a valid gzip file: {exc}") from None
    if not page.body.strip():
        raise InputError("empty input")
    return page


def detect_encoding(body: bytes, header_charset: str | None = None) -> str:
    """BOM, then the HTTP header's charset, then ``<meta charset>``, then detection.

    Detection: strict UTF-8 when the bytes decode as such, else charset_normalizer's best
    guess (windows-1256 Arabic pages without a declaration are the case that matters)."""
    from w3lib.encoding import html_body_declared_encoding

    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    for declared in (header_charset, html_body_declared_encoding(body)):
        if declared:
            try:
                return codecs.lookup(declared).name
            except LookupError:
                logger.debug("unknown declared charset %r ignored", declared)
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    if best is None:
        raise InputError("cannot tell the text encoding (binary content?)")
    return codecs.lookup(best.encoding).name


def check_html(body: bytes) -> None:
    """`InputError` unless `body` looks like an HTML document (UTF-16/32 with a BOM pass)."""
    if any(body.startswith(bom) for bom, name in _BOMS if not name.startswith("utf-8")):
        return
    if b"\x00" in body[:4096]:
        raise InputError("binary content, not an HTML page")
    if not _LOOKS_HTML.search(body[:65536]):
        raise InputError("not an HTML page (no HTML markup)")


# --------------------------------------------------------------------------- extracting

class _Counts:
    """The dates pipeline's stats sink: this command reports per input, not per run."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value


@dataclass
class Chain:
    """The page object class and the source id / language an input is extracted with."""

    page_class: type[ArticlePage]
    source_id: str
    language: str


def chain_for(source_id: str | None) -> Chain:
    from spiders.wordpress import WordPressArticlePage

    if not source_id:
        return Chain(WordPressArticlePage, GENERIC_SOURCE, "ar")
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    from crawler.config import load_config
    from crawler.settings import SPIDER_MODULES
    from spiders.base import NewsSpider

    cfg = load_config()
    source = cfg.sources.get(source_id)
    if source is None:
        raise KeyError(f"unknown source {source_id!r}; known: {', '.join(sorted(cfg.sources))}")
    spider_cls = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": SPIDER_MODULES})).load(source.spider)
    if not issubclass(spider_cls, NewsSpider):
        raise KeyError(f"source {source_id!r}: spider {source.spider!r} is no NewsSpider, so it has no page class")
    return Chain(spider_cls.page_class, source.id, source.language)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def extract_one(raw: RawPage, chain: Chain) -> dict[str, Any]:
    from pipelines.dates import DatesPipeline

    check_html(raw.body)
    encoding = detect_encoding(raw.body, raw.header_charset)
    headers = {"Content-Type": f"text/html; charset={encoding}"}
    try:
        page = chain.page_class.from_bytes(raw.url, raw.body, headers=headers, encoding=encoding,
                                           default_language=chain.language,
                                           fetched_at=datetime.now(UTC))
        article = page.to_article(chain.source_id)
    except (ValueError, TypeError, LookupError) as exc:  # lxml / decoding refusing the document
        raise InputError(f"cannot parse the page: {exc}") from None
    DatesPipeline(_Counts()).process_item(article)
    record: dict[str, Any] = {"input": raw.input}
    for name in FIELDS:
        record[name] = _jsonable(getattr(article, name))
    record["encoding"] = encoding
    # a layer gave a value that was then refused (a data: image URL): no layer to name
    record["layers"] = {f: layer for f, layer in page.field_layers.items() if record.get(f) not in (None, "", [])}
    return record


def records(inputs: list[str], chain: Chain, timeout: float) -> Iterator[dict[str, Any]]:
    """One record per input, in input order; failures become ``{"input", "error"}``."""
    for arg in inputs:
        try:
            yield extract_one(read_input(arg, timeout), chain)
        except InputError as exc:
            logger.warning("extract: %s: %s", arg, exc)
            yield {"input": arg, "error": str(exc)}
        except Exception as exc:  # one odd page must not stop the others
            logger.exception("extract: %s: extraction failed", arg)
            yield {"input": arg, "error": f"extraction failed: {type(exc).__name__}: {exc}"}


# --------------------------------------------------------------------------- output

def _short(value: Any, width: int = 100) -> str:
    if value is None or value == [] or value == {}:
        return "-"
    text = ", ".join(value) if isinstance(value, list) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def write_table(rec: dict[str, Any], out: TextIO) -> None:
    out.write(f"== {rec['input']}\n")
    if "error" in rec:
        out.write(f"   error: {rec['error']}\n\n")
        return
    layers = rec.get("layers") or {}
    rows = [(name, _short(rec.get(name)), layers.get(name, "")) for name in FIELDS if name != "body_html"]
    rows.append(("body_html", f"{len(rec.get('body_html') or '')} chars", layers.get("body_text", "")))
    rows.append(("encoding", rec.get("encoding") or "-", ""))
    width = max(len(r[0]) for r in rows)
    for name, value, layer in rows:
        tag = f"  [{layer}]" if layer else ""
        out.write(f"   {name.ljust(width)}  {value}{tag}\n")
    out.write("\n")


def run(args: argparse.Namespace) -> int:
    try:
        chain = chain_for(args.source)
    except KeyError as exc:
        print(f"akhbar extract: {exc.args[0]}", file=sys.stderr)
        return 2
    failed = 0
    collected: list[dict[str, Any]] = []
    out = sys.stdout
    for rec in records(args.inputs, chain, args.timeout):
        failed += "error" in rec
        if args.format == "jsonl":
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            out.flush()
        elif args.format == "table":
            write_table(rec, out)
        else:
            collected.append(rec)
    if args.format == "json":
        json.dump(collected, out, ensure_ascii=False, indent=2)
        out.write("\n")
    if failed:
        print(f"akhbar extract: {failed} of {len(args.inputs)} input(s) failed", file=sys.stderr)
    return 1 if failed else 0

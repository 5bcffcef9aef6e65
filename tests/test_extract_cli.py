"""`akhbar extract`, run as a real command in a subprocess: saved pages (plain, gzipped,
stdin, windows-1256 without a declared charset), URLs of the snapshot served on loopback,
and inputs that cannot be read (missing, binary) which must not stop the others."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from w3lib.encoding import html_body_declared_encoding

from crawler.snapshot import SnapshotServer
from tests.serving_support import loopback_server, reply, serving

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
HESPRESS = FIXTURES / "hespress" / "article-politique.html"
BELPRESSE = FIXTURES / "belpresse" / "article-2020-04-saham.html"  # served in windows-1256


def akhbar(*args: str, stdin: bytes | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    return subprocess.run([sys.executable, "-m", "crawler.cli", "extract", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, timeout=120)


def lines(run: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]


def test_saved_page_gives_the_article_fields_the_layers_and_parsed_dates() -> None:
    run = akhbar(str(HESPRESS))
    assert run.returncode == 0, run.stderr.decode()
    [rec] = lines(run)
    assert rec["input"] == str(HESPRESS)
    assert rec["url"] == HESPRESS.resolve().as_uri()
    assert rec["title"] == '"الاتحاد الدستوري" ينفي مقاطعة اجتماع في الرباط'
    assert rec["body_text"].startswith("تفاعل المكتب السياسي لحزب الاتحاد الدستوري")
    assert rec["body_html"].lstrip().startswith("<")
    assert rec["section_raw"] == "سياسة"
    assert rec["language"] == "ar"
    # the dates pipeline's own parser: ISO raw value kept with its offset
    assert rec["date_published_raw"] == "2020-01-31T04:34:00+01:00"
    assert rec["date_published"] == "2020-01-31T04:34:00+01:00"
    assert rec["date_published_precision"] == "minute"
    assert rec["date_modified"] == "2020-01-31T09:12:45+01:00"
    # no --source: the config-only chain; a generic theme selector does not match this page
    assert rec["layers"]["title"] == "meta"
    assert rec["layers"]["body_text"] == "generic"
    assert rec["layers"]["date_modified_raw"] == "meta"
    assert rec["encoding"] == "utf-8"


def test_source_option_uses_the_sites_page_object() -> None:
    generic, = lines(akhbar(str(HESPRESS)))
    run = akhbar("--source", "hespress", str(HESPRESS))
    assert run.returncode == 0, run.stderr.decode()
    [rec] = lines(run)
    assert rec["layers"]["body_text"] == "selectors"
    assert rec["title"] == generic["title"]


def test_unknown_source_is_a_usage_error() -> None:
    run = akhbar("--source", "no-such-site", str(HESPRESS))
    assert run.returncode == 2
    assert b"unknown source 'no-such-site'" in run.stderr and b"hespress" in run.stderr
    assert run.stdout == b""


def test_gzip_file_and_stdin_give_the_same_article(tmp_path: Path) -> None:
    gz = tmp_path / "page.html.gz"
    gz.write_bytes(gzip.compress(HESPRESS.read_bytes()))
    plain, = lines(akhbar(str(HESPRESS)))
    run = akhbar(str(gz))
    assert run.returncode == 0, run.stderr.decode()
    [from_gz] = lines(run)
    run = akhbar("-", stdin=HESPRESS.read_bytes())
    assert run.returncode == 0, run.stderr.decode()
    [from_stdin] = lines(run)
    assert from_stdin["input"] == "-"
    for rec in (from_gz, from_stdin):
        for field in ("title", "body_text", "body_html", "author", "date_published", "tags", "layers"):
            assert rec[field] == plain[field], field


def test_windows_1256_page_without_declared_charset_is_detected(tmp_path: Path) -> None:
    raw = BELPRESSE.read_bytes()
    assert b"windows-1256" in raw.lower()
    declared, = lines(akhbar(str(BELPRESSE)))
    assert declared["encoding"] == "cp1256"
    undeclared = tmp_path / "belpresse-no-charset.html"
    stripped = raw.replace(b'content="text/html; charset=windows-1256"', b'content="text/html"')
    assert html_body_declared_encoding(stripped) is None, "the page still declares its charset"
    undeclared.write_bytes(stripped)
    run = akhbar(str(undeclared))
    assert run.returncode == 0, run.stderr.decode()
    [rec] = lines(run)
    assert rec["encoding"] == "cp1256"
    assert rec["title"] == declared["title"] == "سَهام للتأمين تتعبأ إلى جانب المواطنين لمواجهة كورونا"
    assert rec["body_text"] == declared["body_text"]


def test_urls_of_the_snapshot_and_bad_inputs_keep_their_order(tmp_path: Path) -> None:
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8)
    missing = tmp_path / "missing.html"
    with SnapshotServer(sites=["hespress", "belpresse"]) as srv:
        hes = srv.articles("hespress")[0]
        bel = srv.articles("belpresse")[0]
        gone = srv.base_urls["hespress"] + "/no-such-article-404.html"
        run = akhbar(hes["url"], str(missing), str(binary), bel["url"], gone, "--format", "jsonl")
    assert run.returncode == 1
    recs = lines(run)
    assert [r["input"] for r in recs] == [hes["url"], str(missing), str(binary), bel["url"], gone]
    first, miss, binr, second, notfound = recs
    assert first["title"] == hes["title"] and "error" not in first
    assert first["body_text"] and first["layers"]["body_text"]
    assert second["title"] == bel["title"]
    assert second["encoding"] == "cp1256"  # from the HTTP header
    assert second["date_published"]
    assert set(miss) == {"input", "error"} and "No such file" in miss["error"]
    assert set(binr) == {"input", "error"} and "binary" in binr["error"]
    assert set(notfound) == {"input", "error"} and "404" in notfound["error"]
    assert b"3 of 5 input(s) failed" in run.stderr


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_json_and_table_formats(fmt: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.html"
    run = akhbar("--format", fmt, str(HESPRESS), str(missing))
    assert run.returncode == 1
    out = run.stdout.decode("utf-8")
    if fmt == "json":
        recs = json.loads(out)
        assert [r["input"] for r in recs] == [str(HESPRESS), str(missing)]
        assert recs[0]["title"] and recs[1]["error"]
    else:
        assert f"== {HESPRESS}" in out and f"== {missing}" in out
        assert "الاتحاد الدستوري" in out and "[meta]" in out and "error:" in out


def test_encoding_precedence_bom_then_header_then_meta(tmp_path: Path) -> None:
    # UTF-8 bytes whose <meta> claims windows-1256: only a BOM or an HTTP header may say better
    utf8 = HESPRESS.read_bytes().replace(b'<meta charset="UTF-8">', b'<meta charset="windows-1256">')
    assert b"windows-1256" in utf8
    bom = tmp_path / "bom.html"
    bom.write_bytes(b"\xef\xbb\xbf" + utf8)
    plain, = lines(akhbar(str(HESPRESS)))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (stdlib name)
            reply(self, 200, utf8, "text/html; charset=utf-8")

        def log_message(self, *args: object) -> None:
            pass

    with serving(loopback_server(Handler)) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/article"
        run = akhbar(str(bom), url)
    assert run.returncode == 0, run.stderr.decode()
    from_bom, from_header = lines(run)
    assert from_bom["encoding"] == from_header["encoding"] == "utf-8"
    assert from_bom["title"] == from_header["title"] == plain["title"]
    assert from_bom["body_text"] == plain["body_text"]
    # and the <meta> alone decides when nothing says better (the page is then mis-decoded)
    meta_only = tmp_path / "meta.html"
    meta_only.write_bytes(utf8)
    [wrong] = lines(akhbar(str(meta_only)))
    assert wrong["encoding"] == "cp1256" and wrong["title"] != plain["title"]

"""The JSON API fuzzed from its own OpenAPI document with schemathesis, against the real
server on loopback (a SQLite archive with articles, stories and a crawl run, admin
endpoints on with a token the fuzzer does not know): every schemathesis check (no 5xx,
status codes, content types and bodies as documented, invalid input refused with 4xx,
undeclared methods answered 405 with Allow, secured endpoints refusing requests without
credentials), plus no stack trace in any body. Bounded: a few dozen examples per
operation, so the whole run stays well under a minute."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from typing import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from crawler.admin import TOKEN_ENV
from crawler.api import OPENAPI
from crawler.archive import open_archive
from feeds.query import publish
from feeds.samples import fill_archive, sample_stories
from feeds.serve import FeedServer, make_server

TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+|\b\w+Error: ")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeedServer]:
    data = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    archive = open_archive(url)
    fill_archive(archive, sample_stories(40))
    archive.start_run("20250716T120000Z-hespress-fuzz", spider="hespress", source="hespress")
    archive.finish_run("20250716T120000Z-hespress-fuzz", status="finished", stats={"item_scraped_count": 3})
    mp = pytest.MonkeyPatch()
    mp.setenv(TOKEN_ENV, "fuzzing-without-this-token-0123")  # admin on; the fuzzer never has it
    srv = make_server(data, url, "127.0.0.1", 0)
    mp.undo()
    publish(data, archive, base_url=srv.url)
    archive.close()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


# Collected from the document the server publishes (the same object crawler.api serves
# at /api/openapi.json; test_served_document_is_the_fuzzed_one checks they are equal), so
# pytest lists one test per operation before any server is up.
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(OPENAPI)))


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, server: FeedServer) -> None:
    excluded = []
    if case.operation.path == "/api/articles" and (case.query or {}).get("q"):
        # q has a grammar (words, "phrases", prefix*) no JSON schema can state: a q without
        # a word or with an unclosed quote is a documented 400, not a schema-valid success.
        excluded.append(positive_data_acceptance)
    response = case.call_and_validate(base_url=server.url, excluded_checks=excluded)
    assert response.status_code < 500
    assert not TRACE.search(response.text), response.text[:500]
    if response.status_code == 401:
        # schemathesis' Response.headers: lower-case names -> lists of values
        assert response.headers.get("www-authenticate", [""])[0].startswith("Bearer "), (case.path, response.headers)


def test_served_document_is_the_fuzzed_one(server: FeedServer) -> None:
    with urllib.request.urlopen(f"{server.url}/api/openapi.json", timeout=30) as r:
        served = json.loads(r.read())
    assert served == json.loads(json.dumps(OPENAPI))
    ops = {f"{op.ok().method.upper()} {op.ok().path}" for op in schema.get_all_operations()}
    assert {"GET /api/articles", "GET /api/articles/{id}", "GET /api/stories/{story_id}", "GET /api/sources",
            "GET /api/runs", "POST /api/admin/crawl", "POST /api/admin/rebuild-stories"} <= ops

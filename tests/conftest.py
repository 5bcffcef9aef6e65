"""Shared test fixtures: the repository root, service checks that skip with a
reason on a developer's machine and fail under CI=true."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN_CI = os.environ.get("CI") == "true"

# Property tests explore new random inputs on every developer run; under CI they replay a
# fixed derivation (derandomize), so CI judges the change and not the luck of the draw. A
# failure found locally is a new example to pin in the tests.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if IN_CI:
    _hypothesis_settings.load_profile("ci")


def require(ok: bool, reason: str) -> None:
    """Skip when a service or tool is missing, except under CI=true where it fails."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("AKHBAR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    require(port_open("127.0.0.1", 5432), "PostgreSQL is not running on 127.0.0.1:5432")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    require(port_open("127.0.0.1", 6379), "Redis is not running on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "chromium is not installed (scripts/services installs it as root)")
    return str(path)


@pytest.fixture(scope="session")
def newsboat() -> str:
    path = shutil.which("newsboat")
    require(path is not None, "newsboat is not installed (scripts/services installs it as root)")
    return str(path)


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty archive on each backend: a real SQLite file, then a fresh schema in the
    real PostgreSQL (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.sqlite3'}"
        return
    from crawler.archive import open_archive

    url = f"{request.getfixturevalue('postgres_url')}?schema=t_{uuid.uuid4().hex[:10]}"
    yield url
    archive = open_archive(url, migrate=False)
    try:
        archive.drop_schema()
    finally:
        archive.close()

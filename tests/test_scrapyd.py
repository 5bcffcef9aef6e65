"""Scrapyd: the project deploys unchanged (scrapy.cfg's deploy section, an egg built by
scrapyd-client) to a real Scrapyd on loopback, and a scheduled spider crawls the snapshot
into the archive — running the code and data from the deployed, zipped egg."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.snapshot import SnapshotServer
from tests.conftest import ROOT, require

PROJECT_FILES = ("scrapy.cfg", "setup.py", "pyproject.toml", "README.md", "crawler", "spiders", "pipelines", "feeds")
FAST = {"AUTOTHROTTLE_START_DELAY": "0", "AUTOTHROTTLE_MAX_DELAY": "0.2"}
SITE = "le12"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def _post(url: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
    with urllib.request.urlopen(url, urllib.parse.urlencode(fields).encode(), timeout=10) as r:
        return json.load(r)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AKHBAR_SOURCES", "AKHBAR_ARCHIVE_URL", "AKHBAR_REDIS_URL", "AKHBAR_DATA", "PYTHONPATH"):
        env.pop(name, None)
    return env


def _require_scrapyd() -> None:
    require(importlib.util.find_spec("scrapyd") is not None and importlib.util.find_spec("scrapyd_client") is not None,
            "scrapyd / scrapyd-client are not installed (pip install -e '.[test]')")


def _copy_project(target: Path) -> Path:
    """The project as a user's checkout has it (scrapyd-deploy writes build files beside setup.py)."""
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=ignore)
        else:
            shutil.copy2(src, target / name)
    return target


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    """A real Scrapyd on a free loopback port, with its own eggs/logs/dbs directories."""
    _require_scrapyd()
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = _free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\ndbs_dir = {home / 'dbs'}\nitems_dir =\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\nmax_proc = 1\npoll_interval = 0.2\n",
        encoding="utf-8",
    )
    log = (home / "scrapyd.out").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "scrapyd"], cwd=home, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(url + "daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"scrapyd did not start: {(home / 'scrapyd.out').read_text()[-2000:]}")
            time.sleep(0.1)  # polling for the port to answer
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_deploy_and_schedule(scrapyd: str, tmp_path: Path) -> None:
    # The project unchanged but for a deploy target naming this Scrapyd's port.
    project = _copy_project(tmp_path / "project")
    with (project / "scrapy.cfg").open("a", encoding="utf-8") as cfg:
        cfg.write(f"\n[deploy:test]\nurl = {scrapyd}\nproject = akhbar\n")
    deploy = subprocess.run([str(Path(sys.executable).with_name("scrapyd-deploy")), "test", "-v", "1"],
                            cwd=project, env=_env(), capture_output=True, text=True, timeout=120)
    assert deploy.returncode == 0, deploy.stderr + deploy.stdout
    assert json.loads(deploy.stdout)["status"] == "ok", deploy.stdout
    spiders = _get(scrapyd + "listspiders.json?project=akhbar")["spiders"]
    assert {"hespress", "hibapress", "le12", "rue20", "belpresse", "wordpress"} <= set(spiders)

    data = tmp_path / "data"
    archive = f"sqlite:///{data / 'archive.sqlite3'}"
    with SnapshotServer(sites=[SITE]) as snap:
        settings = {"AKHBAR_DATA": str(data), "AKHBAR_ARCHIVE_URL": archive, **FAST}
        job = _post(scrapyd + "schedule.json", [
            ("project", "akhbar"), ("spider", SITE), ("base_url", snap.base_urls[SITE]),
            *(("setting", f"{k}={v}") for k, v in settings.items()),
        ])
        assert job["status"] == "ok", job
        deadline = time.monotonic() + 180
        while not any(j["id"] == job["jobid"] for j in _get(scrapyd + "listjobs.json?project=akhbar")["finished"]):
            assert time.monotonic() < deadline, "the Scrapyd job did not finish"
            time.sleep(0.2)  # polling Scrapyd's job list
        truth = {a["url"] for a in snap.articles(SITE)}

    log = next((tmp_path / "scrapyd" / "logs" / "akhbar" / SITE).glob(f"{job['jobid']}.log")).read_text()
    assert "Traceback" not in log, log[-3000:]
    assert "'finish_reason': 'finished'" in log

    from crawler.archive import open_archive

    arch = open_archive(archive)
    try:
        urls = [r["url"] for r in arch.fetch("SELECT url FROM articles WHERE source = ?", [SITE])]
        runs = arch.fetch("SELECT spider, status FROM crawl_runs")
    finally:
        arch.close()
    assert len(urls) == len(set(urls)) and set(urls) == truth
    assert runs == [{"spider": SITE, "status": "finished"}]


def test_egg_finds_its_data(tmp_path: Path) -> None:
    """The egg scrapyd-deploy builds, imported from the zip as Scrapyd does, with the
    editable checkout hidden: the sources file and the topic model are read from inside it."""
    _require_scrapyd()
    project = _copy_project(tmp_path / "project")
    egg = tmp_path / "akhbar.egg"
    build = subprocess.run([str(Path(sys.executable).with_name("scrapyd-deploy")), "--build-egg", str(egg)],
                           cwd=project, env=_env(), capture_output=True, text=True, timeout=120)
    assert build.returncode == 0 and egg.is_file(), build.stderr
    check = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import crawler.config, pipelines.topic_model\n"
        "assert crawler.config.__file__.startswith(sys.argv[1]), crawler.config.__file__\n"
        "sources = crawler.config.load_config()\n"
        "assert set(sources.sources) >= {'hespress', 'le12'}, sources.sources\n"
        "model = pipelines.topic_model.TopicModel.load()\n"
        "print(len(sources.sources), len(model), crawler.config.__file__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", check, str(egg)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert str(egg) in proc.stdout

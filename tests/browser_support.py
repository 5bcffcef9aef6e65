"""Headless Chromium for the page tests: one command line, and the convention the check
pages use to report back (a ``<div id="out" data-...>`` their script fills in)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

HEADLESS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def chromium_cmd(chromium: str, profile: Path, *, budget_ms: int = 10000, window: str | None = None) -> list[str]:
    """The headless command line without its action (``--dump-dom URL``, ``--screenshot=...``)."""
    cmd = [chromium, *HEADLESS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}"]
    if window:
        cmd.append(f"--window-size={window}")
    return cmd


def dump_dom(cmd: list[str], url: str) -> str:
    """The DOM after the page's scripts ran (within the virtual time budget)."""
    run = subprocess.run([*cmd, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def check_results(dom: str) -> dict[str, str]:
    """The ``data-*`` attributes a check page wrote on its ``<div id="out">``."""
    m = re.search(r'<div id="out"([^>]*)>', dom)
    assert m, dom[-2000:]
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', m.group(1)))
    assert "data-error" not in attrs, attrs
    return attrs

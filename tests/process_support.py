"""Peak memory of a child process, measured apart from the test runner's own.

Linux folds the address space a child was spawned from into its `ru_maxrss`
(exec records the old mm's high-water mark), so a child started straight from
a pytest process that has grown to 400 MB reports at least 400 MB however
little it uses. A small launcher process in between starts the command from a
~10 MB address space and reports the command's own peak.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_LAUNCHER = (
    "import json, os, subprocess, sys\n"
    "proc = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(proc.pid, 0)\n"
    "proc.returncode = 0\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    json.dump({'code': os.waitstatus_to_exitcode(status), 'maxrss_kib': usage.ru_maxrss}, out)\n"
)


@dataclass(frozen=True)
class Measured:
    code: int
    peak_mb: float
    stderr: str  # empty unless stderr=subprocess.PIPE


def run_measured(cmd: list[str], *, cwd: Path | str | None = None, env: dict[str, str] | None = None,
                 stdout: int | IO[Any] | None = None, stderr: int | IO[Any] | None = None) -> Measured:
    """Run `cmd` to its end; its exit code and its own peak RSS in MB."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        done = subprocess.run([sys.executable, "-c", _LAUNCHER, report.name, *cmd], cwd=cwd, env=env,
                              stdout=stdout, stderr=stderr, check=True)
        result = json.loads(Path(report.name).read_text())
    err = done.stderr.decode(errors="replace") if isinstance(done.stderr, bytes) else ""
    return Measured(int(result["code"]), result["maxrss_kib"] / 1024, err)

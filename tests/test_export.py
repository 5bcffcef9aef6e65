"""`akhbar export | akhbar import -` into a fresh archive round-trips every field.

The bundled snapshot sample is imported into a real archive (SQLite file; a fresh
PostgreSQL schema), exported to standard output and piped, through a real OS pipe, into
`akhbar import -` against a second, empty archive. Every column of every table an import
writes must come out equal, except those that name the archive's own bookkeeping:

- ``id``: row ids are the target archive's own (references between tables are compared
  through the article's URL instead);
- ``archived_at`` / ``updated_at``: when the target archive wrote the row;
- ``run_id``: the import run that wrote it, in the target archive's run log.

Story ids and canonical flags are exported but not imported (`IGNORED_KEYS`): the target
archive derives them again, and they must come out the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from test_import_batch import akhbar_import, assert_same, env_for, sample_records, snapshot, summary, write_jsonl

from crawler.archive import open_archive
from crawler.commands.archive_cmds import EXPORT_COLUMNS


def test_export_piped_into_import_round_trips_every_field(archive_url: str, tmp_path: Path) -> None:
    recs = sample_records()
    src = write_jsonl(tmp_path / "sample.jsonl", recs)
    assert akhbar_import(tmp_path / "d", archive_url, str(src), "--batch-size", "50").returncode == 0
    if archive_url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'copy.sqlite3'}"
    else:
        target = archive_url.replace("?schema=", "?schema=copy_")
    try:
        export = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "d"), "export"],
                                  cwd=ROOT, env=env_for(archive_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        tee = tmp_path / "exported.jsonl"
        imp = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "copy"), "import", "-",
                                "--batch-size", "40"],
                               cwd=ROOT, env=env_for(target), stdin=export.stdout, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        assert export.stdout is not None
        export.stdout.close()  # the import holds the pipe's read end now
        _, imp_err = imp.communicate(timeout=600)
        assert export.wait(timeout=60) == 0 and imp.returncode == 0, imp_err[-2000:]
        n = len(recs)
        assert summary(subprocess.CompletedProcess([], 0, "", imp_err)) == \
            f"import: {n} records read; imported {n} (inserted {n}, updated 0); skipped 0; failed 0"
        original, copy = snapshot(archive_url), snapshot(target)
        assert_same(original, copy)
        # every exported field was there to compare: nothing the export leaves out
        with open_archive(archive_url) as a:
            columns = set(a.fetchone("SELECT * FROM articles") or {})
        assert columns - {"url_key", "site_key", "sort_key", "content_hash"} <= set(EXPORT_COLUMNS)
        # and what went through the pipe is what the export writes to a file
        out = subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "d"), "export", "-o", str(tee)],
                             cwd=ROOT, env=env_for(archive_url), capture_output=True, text=True, timeout=300)
        assert out.returncode == 0 and f"exported {n} articles" in out.stderr
        exported = [json.loads(x) for x in tee.read_text(encoding="utf-8").splitlines()]
        assert len(exported) == n and [r["id"] for r in exported] == sorted(r["id"] for r in exported)
        assert all(r["story_id"] and r["topic"] for r in exported)
    finally:
        if target.startswith("postgresql"):
            with open_archive(target, migrate=False) as c:
                c.drop_schema()  # type: ignore[attr-defined]

"""`DIR/items.jsonl` keeps every crawl's items: a later crawl appends, a crawl that found
nothing (or failed before writing) never shortens it, and ``-O FILE`` gets this run's alone."""

from __future__ import annotations

import threading
from pathlib import Path

from crawler.commands.crawl import merge_items


def _parts(tmp: Path, name: str, lines: list[str]) -> list[Path]:
    part = tmp / f"{name}.jsonl"
    part.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return [part]


def test_runs_append_and_an_empty_run_truncates_nothing(tmp_path: Path) -> None:
    log = tmp_path / "items.jsonl"
    assert merge_items(_parts(tmp_path, "a", ['{"n": 1}', '{"n": 2}']), log) == 2
    assert merge_items([tmp_path / "missing.jsonl"], log) == 0  # a failed crawl wrote no part
    assert merge_items(_parts(tmp_path, "b", []), log, output=tmp_path / "out.jsonl") == 0
    assert (tmp_path / "out.jsonl").read_text() == ""
    assert merge_items(_parts(tmp_path, "c", ['{"n": 3}']), log, output=tmp_path / "out.jsonl") == 1
    assert log.read_text().splitlines() == ['{"n": 1}', '{"n": 2}', '{"n": 3}']
    assert (tmp_path / "out.jsonl").read_text().splitlines() == ['{"n": 3}']


def test_a_part_without_final_newline_does_not_glue_two_records(tmp_path: Path) -> None:
    log = tmp_path / "items.jsonl"
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b'{"n": 1}')
    merge_items([cut], log)
    merge_items(_parts(tmp_path, "b", ['{"n": 2}']), log)
    assert log.read_text().splitlines() == ['{"n": 1}', '{"n": 2}']


def test_crawls_finishing_together_append_whole_runs(tmp_path: Path) -> None:
    log = tmp_path / "items.jsonl"
    runs = {k: _parts(tmp_path, k, [f'{{"run": "{k}", "n": {i}}}' for i in range(2000)]) for k in "abcd"}
    threads = [threading.Thread(target=merge_items, args=(parts, log)) for parts in runs.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = log.read_text().splitlines()
    assert len(lines) == 8000
    order = [line.split('"')[3] for line in lines]
    blocks = [order[i] for i in range(len(order)) if i == 0 or order[i] != order[i - 1]]
    assert sorted(blocks) == list("abcd"), "runs interleaved"

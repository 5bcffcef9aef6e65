"""Sources config: defaults, validation, section → topic mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import ConfigError, load_sources
from crawler.taxonomy import TOPIC_IDS


def test_bundled_sources_are_the_five_sites() -> None:
    sources = load_sources()
    assert set(sources) == {"hespress", "hibapress", "le12", "rue20", "belpresse"}
    for source in sources.values():
        assert source.base_url.startswith("https://")
        assert set(source.sections.values()) <= TOPIC_IDS


def test_section_mapping_is_normalised() -> None:
    sources = load_sources()
    assert sources["hibapress"].topic_for_section("إقتصاد") == "economy"
    assert sources["hibapress"].topic_for_section("اقتصاد") == "economy"  # hamza folded
    assert sources["hespress"].topic_for_section("/faits-divers/") == "incidents"
    assert sources["hespress"].topic_for_section("https://www.hespress.com/sport") == "sports"
    assert sources["le12"].topic_for_section("قسم لا يعرفه أحد") is None
    assert sources["le12"].topic_for_section(None) is None


def test_defaults_apply_and_entries_override(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[defaults]\nmax_pages = 3\n[sources.x]\nbase_url = "http://127.0.0.1:9/"\n'
        '[sources.y]\nbase_url = "http://h"\nmax_pages = 7\nlanguage = "fr"\n',
        encoding="utf-8",
    )
    sources = load_sources(path)
    assert sources["x"].spider == "wordpress"
    assert sources["x"].max_pages == 3
    assert sources["x"].base_url == "http://127.0.0.1:9"
    assert sources["y"].max_pages == 7 and sources["y"].language == "fr"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[sources.x]\nname = "x"\n', "needs base_url"),
        ('[sources.x]\nbase_url = "http://h"\n[sources.x.sections]\nfoo = "gossip"\n', "unknown topic"),
        ("[sources.x\n", "s.toml"),
        ('[sources.x]\nbase_url = "not a url"\n', r"\[sources.x\] base_url: expected an http\(s\) URL"),
        ('[sources.x]\nbase_url = "ftp://h"\n', r"\[sources.x\] base_url"),
        ('[sources.x]\nbase_url = "http://[::1"\n', r"\[sources.x\] base_url"),
        ('[sources.x]\nbase_url = "http://h:99999"\n', r"\[sources.x\] base_url"),
    ],
)
def test_malformed_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_sources(path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('spider = "nope"\n', r"\[sources.x\] spider: no spider 'nope'; known: .*wordpress"),
        ('discovery = ["rss", "atom"]\n', r"\[sources.x\] discovery: unknown path\(s\) 'atom'"),
    ],
)
def test_unknown_spider_or_discovery_path_is_named_at_start(tmp_path: Path, entry: str, message: str) -> None:
    # Before: accepted here, then the crawl process died mid-run ("Spider not found" / ValueError).
    from crawler.config import load_config

    path = tmp_path / "s.toml"
    path.write_text('[sources.x]\nbase_url = "http://127.0.0.1:9"\n' + entry, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
    path.write_text('[sources.x]\nbase_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    assert load_config(path).sources["x"].spider == "wordpress"


def test_the_readme_operations_example_is_a_valid_config(tmp_path: Path) -> None:
    # The README's example is what operators copy: it must load, every table validated.
    import re

    from crawler.config import BUNDLED_SOURCES, load_config

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Operations config", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S)
    assert example, "README lost its operations config example"
    bundled = Path(str(BUNDLED_SOURCES)).read_text(encoding="utf-8")
    # the example's [defaults] replaces the bundled one (TOML forbids a table twice)
    first_site = bundled.index("\n[sources.") + 1
    sites = bundled[first_site:]
    bundled_defaults = bundled[bundled.index("\n[defaults]") + 1:first_site]
    keep = "\n".join(line for line in bundled_defaults.splitlines()[1:] if line and not line.startswith("#")
                     and line.split("=")[0].strip() not in {"schedule", "jitter", "quiet_hours"})
    text = example.group(1).replace("[defaults]", "[defaults]\n" + keep, 1) + "\n" + sites
    path = tmp_path / "ops.toml"
    # copied as it is, the example's admin token is refused (it is public); with a real one it loads
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="documentation's example"):
        load_config(path)
    text = text.replace('"change-me-to-a-long-random-string"', '"' + "x9" * 20 + '"')
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    assert set(cfg.sources) == {"hespress", "hibapress", "le12", "rue20", "belpresse"}
    assert cfg.table("cluster")["redis_url"].startswith("redis://")
    assert cfg.sources["le12"].raw["quiet_hours"] == "01:00-05:00"
    broken = text.replace('max_parallel = 2', 'max_parallel = "two"')
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[schedule\] max_parallel"):
        load_config(path)


def test_every_command_reports_a_broken_config_in_one_line_with_exit_2(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    bad = tmp_path / "bad.toml"
    bad.write_text('[sources.x]\nbase_url = "https://x.example"\nschedule = "every banana"\n', encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    for verb in (["status"], ["run", "--once"], ["crawl", "x"]):
        res = subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "d"), "--sources", str(bad), *verb],
                             cwd=root, env={**os.environ, "AKHBAR_LOG_LEVEL": "WARNING"},
                             capture_output=True, text=True, timeout=120)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert res.returncode == 2, (verb, res.stderr)
        assert len(lines) == 1 and "[sources.x] schedule" in lines[0] and str(bad) in lines[0], (verb, res.stderr)

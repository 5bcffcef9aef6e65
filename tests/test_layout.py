"""The code's shape: no import cycles, and the web package reached only through its door."""

from __future__ import annotations

from tests.layout_support import cycles, import_graph

GRAPH = import_graph()

# What the web package (feeds/web/) may use from crawler/: the archive interface and
# plain data and read-only operations state. Anything else goes through the archive.
WEB_MAY_IMPORT = ("crawler.archive", "crawler.config", "crawler.taxonomy", "crawler.arabic",
                  "crawler.arabic_stem", "crawler.dedup", "crawler.ops", "crawler.items", "crawler.egress",
                  "crawler.web_config", "crawler.exporters")


def test_graph_is_read() -> None:
    # a broken reader would make every assertion below vacuous
    assert "spiders.base" in GRAPH and "crawler.config" in GRAPH["spiders.base"]
    assert len(GRAPH) > 100


def test_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_crawler_and_pipelines_do_not_import_the_web_package() -> None:
    # the CLI starts the app; the feed publisher (feeds/) tells the hub what changed
    offenders = sorted(
        mod for mod, deps in GRAPH.items()
        if mod.startswith(("crawler", "spiders", "pipelines")) and not mod.startswith(("crawler.commands", "crawler.cli"))
        and any(d.startswith("feeds.web") for d in deps)
    )
    assert offenders == []


def test_web_package_reaches_crawler_only_through_the_archive_interface() -> None:
    web = {mod: deps for mod, deps in GRAPH.items() if mod.startswith("feeds.web")}
    assert web, "feeds/web/ not found"
    outside = sorted(
        f"{mod} -> {dep}" for mod, deps in web.items() for dep in deps
        if dep.startswith(("crawler", "spiders", "pipelines")) and not dep.startswith(WEB_MAY_IMPORT)
    )
    assert outside == []


def test_reader_follows_runtime_imports_only(tmp_path) -> None:
    pkg = tmp_path / "crawler"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from crawler.b import B\n")
    (pkg / "b.py").write_text("def f():\n    from crawler import a\n    return a\n")
    (pkg / "c.py").write_text("from .b import f\n")
    graph = import_graph(tmp_path)
    assert graph["crawler.a"] == set()  # annotations only
    assert graph["crawler.b"] == {"crawler.a"}  # a function-level import counts
    assert graph["crawler.c"] == {"crawler.b"}  # relative imports resolved

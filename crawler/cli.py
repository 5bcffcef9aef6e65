"""`akhbar` command line.

Global options come before the verb (``akhbar --data DIR demo --once``). Each verb
lives in its own module under `crawler.commands` and registers itself through
``register(subparsers)``; the module list below is the whole wiring.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

COMMAND_MODULES: tuple[str, ...] = (
    "crawler.commands.crawl",
    "crawler.commands.demo",
    "crawler.commands.snapshot",
    "crawler.commands.feeds_cmds",
    "crawler.commands.archive_cmds",
    "crawler.commands.dedup",
    "crawler.commands.run",
    "crawler.commands.status",
    "crawler.commands.failed",
    "crawler.commands.optimize",
    "crawler.commands.reextract",
    "crawler.commands.extract",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="akhbar",
        description="Crawl Moroccan Arabic news sites, archive, dedupe and publish feeds.",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("AKHBAR_DATA", "data"),
        help="directory where every command keeps its state (default ./data, or AKHBAR_DATA)",
    )
    parser.add_argument("--sources", default=None, help="sources TOML file (default: bundled, or AKHBAR_SOURCES)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _cluster_archive() -> str | None:
    """``[cluster] archive_url`` (docs/scale-out.md) is the archive of every command on this
    machine (crawl, serve, publish, search, the crawls `akhbar run` starts), unless
    AKHBAR_ARCHIVE_URL or a command's --archive names another."""
    if os.environ.get("AKHBAR_ARCHIVE_URL"):
        return None
    from crawler.config import ConfigError, load_config

    try:
        url = load_config(validate=False).table("cluster").get("archive_url")
    except (ConfigError, OSError, ValueError):  # the command reports a broken file itself
        return None
    return url if isinstance(url, str) and url else None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.data = str(Path(args.data).resolve())
    if args.sources:
        # the sources file stays an environment setting: Scrapy's settings module, Scrapyd
        # and every crawl child read it there (docs/scale-out.md)
        os.environ["AKHBAR_SOURCES"] = str(Path(args.sources).resolve())
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from crawler.context import Context

    args.ctx = Context.build(args.data, getattr(args, "archive", None), cluster_url=_cluster_archive())
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`akhbar failed | head`): nothing to report; stdout goes to
        # /dev/null so the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # a clear one-line error for the user; details with -v
        from crawler.config import ConfigError

        if isinstance(exc, ConfigError) and not args.verbose:
            # every command reports a broken config the same way: one line, exit 2
            print(f"akhbar: {exc}", file=sys.stderr)
            return 2
        if args.verbose:
            raise
        print(f"akhbar: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""`akhbar snapshot serve [--port-base 8001] [--host H]`: serve the offline snapshot.

The five sites answer on consecutive ports from ``--port-base`` (hespress, hibapress,
le12, rue20, belpresse); ``--with-wpdemo`` adds the generic WordPress site after them;
``--permalinks STRUCTURE`` serves every article under another URL shape.
``--rename-classes`` serves every page with its ``class`` and ``id`` attributes renamed, as
after a theme change (``--rename-seed N`` repeats one renaming).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from crawler.snapshot.sites import FIVE_SITES


def register(sub: Any) -> None:
    p = sub.add_parser("snapshot", help="the offline snapshot of the five news sites")
    verbs = p.add_subparsers(dest="snapshot_command", metavar="VERB")
    verbs.required = True
    serve = verbs.add_parser("serve", help="serve the five sites on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--port-base", type=int, default=8001, help="port of the first site (default 8001); 0 = ephemeral ports")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--with-wpdemo", action="store_true", help="also serve the generic WordPress demo site")
    serve.add_argument("--faults", nargs="?", const=True, default=False, metavar="FILE",
                       help="inject the deterministic demo faults (503/429/500, a page without title), "
                            "or the fault plan in FILE (JSON/TOML, see docs/faults.md)")
    serve.add_argument("--rename-classes", action="store_true",
                       help="rename every class and id attribute of the HTML pages (a theme change); "
                            "the names differ on every run unless --rename-seed is given")
    serve.add_argument("--rename-seed", type=int, default=None, metavar="N",
                       help="seed of --rename-classes: the same seed gives the same names")
    serve.add_argument("--permalinks", default=None, metavar="STRUCTURE",
                       help="serve the articles under other URLs: a name (category, query, day, month, id, "
                            "section-id, slug-id, postname; 'site' = each site's own, the default) or a WordPress "
                            "structure such as '/%%category%%/%%postname%%/' (docs/snapshot.md)")
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from crawler.snapshot import SnapshotServer, permalinks
    from crawler.snapshot.faults import load_faults

    faults = args.faults
    if isinstance(faults, str):
        try:
            faults = load_faults(faults)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"akhbar snapshot serve: {exc}") from None
    try:
        permalinks.resolve(args.permalinks)
    except ValueError as exc:
        raise SystemExit(f"akhbar snapshot serve: {exc}") from None
    sites = [*FIVE_SITES, *(["wpdemo"] if args.with_wpdemo else [])]
    ports = {s: args.port_base + i for i, s in enumerate(sites)} if args.port_base else None
    if args.rename_seed is not None and not args.rename_classes:
        raise SystemExit("akhbar snapshot serve: --rename-seed needs --rename-classes")
    with SnapshotServer(sites=sites, host=args.host, ports=ports, faults=faults,
                        rename_classes=args.rename_classes, rename_seed=args.rename_seed,
                        permalinks=args.permalinks) as snap:
        for site, url in snap.base_urls.items():
            print(f"snapshot  {site:<10} {url}  ({len(snap.articles(site))} articles)", flush=True)
        if snap.renamer is not None:
            print(f"renamed   every class and id (seed {snap.renamer.seed})", flush=True)
        print("serving; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0

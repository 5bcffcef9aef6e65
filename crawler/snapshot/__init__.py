"""Offline snapshot of the five news sites: see docs/snapshot.md and docs/snapshot-contract.md."""

from crawler.snapshot.server import SnapshotServer

__all__ = ["SnapshotServer"]

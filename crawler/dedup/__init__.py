"""Near-duplicate detection: reports of one story across sites share a story id.

- `crawler.dedup.text`: what of a report is compared (dateline / tail stripped,
  stopwords out) and its figures (the templated-series guard).
- `crawler.dedup.vectok`: the shared Arabic normaliser compiled to numpy tables.
- `crawler.dedup.minhash`: stable shingle hashes, MinHash, LSH band keys.
- `crawler.dedup.fingerprint`: `Fingerprint`, `Fingerprinter` (pairwise decision),
  `DedupParams`.
- `crawler.dedup.engine`: `StoryIndex`, story assignment over an `IndexStore`.
- `crawler.dedup.memory` / `crawler.dedup.sqlstore`: the index in memory (tests) or
  in the archive (the crawler).

See docs/dedup.md.
"""

from crawler.dedup.engine import Assignment, StoryIndex, published_key, story_id_for
from crawler.dedup.fingerprint import Comparison, DedupParams, Fingerprint, Fingerprinter

__all__ = [
    "Assignment",
    "Comparison",
    "DedupParams",
    "Fingerprint",
    "Fingerprinter",
    "StoryIndex",
    "published_key",
    "story_id_for",
]

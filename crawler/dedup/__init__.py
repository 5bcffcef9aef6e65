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
- `crawler.dedup.stories`: assign / rebuild in the archive; `story_members`,
  `related_stories`, `also_reported_by` for the API and feeds.

See docs/dedup.md.
"""

from crawler.dedup.engine import Assignment, StoryIndex, published_key, story_id_for
from crawler.dedup.fingerprint import Comparison, DedupParams, Fingerprint, Fingerprinter
from crawler.dedup.stories import ArchiveDedup, also_reported_by, rebuild, related_stories, story_members

__all__ = [
    "ArchiveDedup",
    "Assignment",
    "also_reported_by",
    "rebuild",
    "related_stories",
    "story_members",
    "Comparison",
    "DedupParams",
    "Fingerprint",
    "Fingerprinter",
    "StoryIndex",
    "published_key",
    "story_id_for",
]

"""A report's fingerprint (what the index stores) and the pairwise decision.

Fingerprint:
- ``order``: the distinct 32-bit hashes of the word 3-shingles over the content
  tokens (shared normaliser, stopwords out), in order of first appearance. 3 words
  is the usual choice for news: 2-shingles make unrelated reports on one topic
  overlap, 4+ let every small edit break too many. Kept exact (4 bytes a shingle) so
  candidates are verified exactly, not estimated; the first 40 are the *lead*.
- ``band_keys``: LSH keys of a whole-text MinHash (24 bands × 4 rows: a pair at
  Jaccard 0.6 becomes a candidate with p = 0.96, at 0.75 with p ≈ 1, at 0.1 with
  p = 0.002) and of a lead MinHash (first 40 shingles, 8 bands × 4 rows), since a
  truncated copy has a low whole-text Jaccard but the same lead.
- ``figures``: numbers with their slot (see `crawler.dedup.text.figures`).

Decision (`Fingerprinter.compare`), on exact Jaccard J, containment C = |A∩B| /
min(|A|,|B|), lead agreement L (share of the smaller text's first 40 shingles found in
the other) and rest agreement R (the same for all its later shingles):

- figures conflict (same slot, different numbers): never one story (a templated
  series: another day's count or rate) — at most *related*;
- published more than 48 h apart: one story only when J ≥ 0.9 (follow-ups that
  repeat their background paragraphs are new stories);
- else one story when J ≥ 0.75 (a paragraph added or cut, small edits), or when
  (L ≥ 0.6 or R ≥ 0.9) and (J ≥ 0.5 or C ≥ 0.85 with ≥ 20 shingles): a truncated
  copy, a copy with a replaced intro line, several edits at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crawler.dedup.minhash import MinHasher, band_keys, shingle_hashes
from crawler.dedup.text import figures, figures_conflict, prepare


@dataclass(frozen=True)
class DedupParams:
    shingle_size: int = 3
    bands: int = 24
    rows: int = 4
    lead_shingles: int = 40
    lead_bands: int = 8
    strong_jaccard: float = 0.75
    """Duplicates on the whole text alone (intro swapped, a paragraph added or cut)."""
    match_jaccard: float = 0.5
    match_containment: float = 0.85
    """... or with the lead agreeing too (truncated copy, several small edits)."""
    lead_agreement: float = 0.6
    rest_agreement: float = 0.9
    """... or everything after the lead agreeing (the intro line swapped)."""
    min_containment_shingles: int = 20
    far_hours: float = 48.0
    """Reports further apart than this are one story only when near-verbatim:"""
    far_jaccard: float = 0.9
    related_score: float = 0.2
    related_top: int = 5
    max_candidates: int = 300
    seed: int = 1

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


@dataclass
class Fingerprint:
    order: np.ndarray
    """Distinct shingle hashes (uint32) in order of first appearance: the first
    `lead_shingles` are the lead; sorted on demand for set operations."""
    figures: frozenset[tuple[int, str]]
    band_keys: list[int] = field(default_factory=list)
    _sorted: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(len(self.order))

    @property
    def shingles(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(self.order)
        return self._sorted

    # --- compact storage: 4 bytes a shingle; figures as "slot:value;..." ------------
    def shingles_blob(self) -> bytes:
        return self.order.astype("<u4").tobytes()

    def figures_text(self) -> str:
        return ";".join(f"{slot:x}:{value}" for slot, value in sorted(self.figures))

    @classmethod
    def from_stored(cls, blob: bytes, figs: str | None) -> "Fingerprint":
        order = np.frombuffer(bytes(blob), dtype="<u4").astype(np.uint32)
        parsed: set[tuple[int, str]] = set()
        for part in (figs or "").split(";"):
            if part:
                slot, _, value = part.partition(":")
                parsed.add((int(slot, 16), value))
        return cls(order, frozenset(parsed))


@dataclass(frozen=True)
class Comparison:
    jaccard: float
    containment: float
    lead: float
    conflicts: int
    duplicate: bool

    @property
    def score(self) -> float:
        """Similarity used to rank related stories."""
        return max(self.jaccard, self.containment * 0.8)


class Fingerprinter:
    """Builds fingerprints and decides pairs; holds the hash functions (build once)."""

    def __init__(self, params: DedupParams | None = None) -> None:
        self.params = params or DedupParams()
        self._hasher = MinHasher(self.params.num_perm, seed=self.params.seed)

    def fingerprint(self, *, title: str | None, body: str | None, summary: str | None = None) -> Fingerprint:
        raw, token_hashes = prepare(body, title=title, summary=summary)
        seq = shingle_hashes(token_hashes, self.params.shingle_size)
        uniq, first = np.unique(seq, return_index=True)
        order = uniq[np.argsort(first, kind="stable")]
        fp = Fingerprint(order, figures(raw) | _title_figures(title), [], uniq)
        fp.band_keys = self.band_keys(fp)
        return fp

    def band_keys(self, fp: Fingerprint) -> list[int]:
        """LSH keys of a fingerprint: whole-text bands, then lead bands (the MinHash of
        the first `lead_shingles` distinct shingles). Recomputable from what is stored."""
        p = self.params
        full, lead = self._hasher.signatures(fp.order, p.lead_shingles)
        keys = band_keys(full, p.bands, p.rows, namespace=1)
        if fp.size > p.lead_shingles // 2:
            keys += band_keys(lead, p.lead_bands, p.rows, namespace=2)
        return keys

    def compare(self, a: Fingerprint, b: Fingerprint, hours_apart: float | None = None) -> Comparison:
        p = self.params
        na, nb = a.size, b.size
        if not na or not nb:
            return Comparison(0.0, 0.0, 0.0, 0, False)
        inter = int(np.intersect1d(a.shingles, b.shingles, assume_unique=True).size)
        jac = inter / (na + nb - inter)
        small_fp, big_fp = (a, b) if na <= nb else (b, a)
        small = small_fp.size
        cont = inter / small
        found = np.isin(small_fp.order, big_fp.shingles, assume_unique=True)
        lead = float(found[: p.lead_shingles].mean())
        rest = found[p.lead_shingles :]
        body_agrees = len(rest) >= p.min_containment_shingles and float(rest.mean()) >= p.rest_agreement
        conflicts = figures_conflict(a.figures, b.figures)
        if hours_apart is not None and abs(hours_apart) > p.far_hours:
            near = jac >= p.far_jaccard
        else:
            near = jac >= p.strong_jaccard or (
                (lead >= p.lead_agreement or body_agrees)
                and (jac >= p.match_jaccard or (cont >= p.match_containment and small >= p.min_containment_shingles))
            )
        return Comparison(jac, cont, lead, conflicts, near and conflicts == 0)


def _title_figures(title: str | None) -> frozenset[tuple[int, str]]:
    # Titles of a series differ in their numbers first ("يسجل 191 إصابة"); marked so a
    # title slot never meets a body slot.
    if not title:
        return frozenset()
    return frozenset((slot ^ 0x5A5A5A5A, v) for slot, v in figures(title))

"""A report's fingerprint (what the index stores) and the pairwise decision.

Fingerprint:
- ``order``: the distinct 32-bit hashes of the word 3-shingles over the content
  tokens (shared normaliser, stopwords out), in order of first appearance. 3 words
  is the usual choice for news: 2-shingles make unrelated reports on one topic
  overlap, 4+ let every small edit break too many. Kept exact (4 bytes a shingle) so
  candidates are verified exactly, not estimated; the first 40 are the *lead*.
- ``band_keys``: LSH keys of a whole-text MinHash (24 bands × 4 rows: a pair at
  Jaccard 0.6 becomes a candidate with p = 0.96, at 0.75 with p ≈ 1, at 0.1 with
  p = 0.002) and *passage* keys: the `passage_keys` (14) smallest hashes of the
  report's runs of `passage_window` consecutive shingles (8 content words), a
  bottom-k sample of its passages. Two reports sharing a paragraph or more share some
  of them whatever else changed around it (a new lead, another closing, sentences cut
  or moved, the text truncated), which whole-text bands miss once the Jaccard falls
  to 0.25–0.6. (A lead MinHash, 8 bands, found truncated copies before; the passage
  keys find them too with 6 index rows fewer, so `lead_bands` is 0.)
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
  copy, a copy with a replaced intro line, several edits at once;
- else, published at most 12 h apart, one story on *passage* evidence: the shingles
  of each text that lie in runs of ≥ `passage_run` consecutive shingles found in the
  other (a copied passage, not scattered frame phrases) cover ≥ 0.65 of the smaller
  text and ≥ 0.4 of the larger, ≥ 20 shingles in all: the same report with its lead
  paragraph swapped, its tail replaced, sentences deleted or paragraphs moved. A
  bulletin of a template (same frame, other facts) breaks every run at each fact, a
  follow-up recalling an earlier report's background shares a passage but is mostly
  new, and a report of the next day is judged on the stricter rules above.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crawler.dedup.minhash import MinHasher, band_keys, passage_keys, shingle_hashes
from crawler.dedup.text import figures, figures_conflict, prepare


@dataclass(frozen=True)
class DedupParams:
    shingle_size: int = 3
    bands: int = 24
    rows: int = 4
    lead_shingles: int = 40
    lead_bands: int = 0
    """Bands of a MinHash of the lead alone (0: none; the passage keys find truncated
    copies as well, with fewer index rows)."""
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
    passage_window: int = 6
    """Consecutive shingles (8 content words) hashed into one passage gram."""
    passage_keys: int = 14
    """Passage grams kept as LSH keys (the smallest hashes: a consistent sample)."""
    passage_run: int = 6
    """A shared run shorter than this is frame or stock phrase, not a copied passage."""
    passage_small: float = 0.65
    passage_large: float = 0.4
    passage_min_shingles: int = 20
    passage_hours: float = 12.0
    """Passage evidence counts only between reports published this close (or less)."""
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
        return _figures_text(self.figures)

    @classmethod
    def from_stored(cls, blob: bytes, figs: str | None) -> Fingerprint:
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
    passage: float = 0.0
    """Share of the smaller text in passages shared with the other (0 when not needed)."""

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
        order, uniq = first_seen(shingle_hashes(token_hashes, self.params.shingle_size))
        fp = Fingerprint(order, figures(raw) | _title_figures(title), [], uniq)
        fp.band_keys = self.band_keys(fp)
        return fp

    def band_keys(self, fp: Fingerprint) -> list[int]:
        """LSH keys of a fingerprint: whole-text bands, then lead bands (the MinHash of
        the first `lead_shingles` distinct shingles). Recomputable from what is stored."""
        p = self.params
        if p.lead_bands:
            full, lead = self._hasher.signatures(fp.order, p.lead_shingles)
        else:  # the lead's minima are not needed (the default)
            full = self._hasher.signature(fp.order)
        keys = band_keys(full, p.bands, p.rows, namespace=1)
        if p.lead_bands and fp.size > p.lead_shingles // 2:
            keys += band_keys(lead, p.lead_bands, p.rows, namespace=2)
        if p.passage_keys:
            keys += passage_keys(fp.order, p.passage_window, p.passage_keys, namespace=3)
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
        passage = 0.0
        if hours_apart is not None and abs(hours_apart) > p.far_hours:
            near = jac >= p.far_jaccard
        else:
            near = jac >= p.strong_jaccard or (
                (lead >= p.lead_agreement or body_agrees)
                and (jac >= p.match_jaccard or (cont >= p.match_containment and small >= p.min_containment_shingles))
            )
            if (not near and conflicts == 0 and hours_apart is not None and abs(hours_apart) <= p.passage_hours
                    and cont >= p.passage_small):
                passage, in_runs = _run_cover(found, p.passage_run)
                if passage >= p.passage_small or na == nb:
                    other, other_runs = _run_cover(np.isin(big_fp.order, small_fp.shingles, assume_unique=True),
                                                   p.passage_run)
                    if na == nb and other > passage:  # equal sizes: the same answer in either order
                        passage, other, in_runs = other, passage, other_runs
                    near = (passage >= p.passage_small and in_runs >= p.passage_min_shingles
                            and other >= p.passage_large)
        return Comparison(jac, cont, lead, conflicts, near and conflicts == 0, passage)


def _run_cover(found: np.ndarray, run: int) -> tuple[float, int]:
    """Share (and number) of positions in runs of at least `run` consecutive True."""
    if not len(found):
        return 0.0, 0
    edges = np.diff(np.concatenate(([0], found.view(np.int8), [0])))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    covered = int(lengths[lengths >= run].sum())
    return covered / len(found), covered


def first_seen(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values of `seq` in order of first appearance, the same sorted): what
    ``np.unique(seq, return_index=True)`` and an argsort of the indices give, in a third
    of the array passes (a stable sort puts each value's first occurrence first)."""
    if len(seq) == 0:
        return seq[:0], seq[:0]
    perm = np.argsort(seq, kind="stable")
    s = seq.take(perm)  # `take`: the gather of `seq[perm]`, with less overhead
    new = np.empty(len(s), dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    return seq.take(np.sort(perm[new])), s[new]


def _title_figures(title: str | None) -> frozenset[tuple[int, str]]:
    # Titles of a series differ in their numbers first ("يسجل 191 إصابة"); marked so a
    # title slot never meets a body slot.
    if not title:
        return frozenset()
    return frozenset((slot ^ 0x5A5A5A5A, v) for slot, v in figures(title))


def _figures_text(figures: frozenset[tuple[int, str]]) -> str:
    """Figures as stored (`Fingerprint.from_stored` reads them back)."""
    return ";".join(f"{slot:x}:{value}" for slot, value in sorted(figures))


class StoredFingerprint(Fingerprint):
    """A fingerprint held in its stored form (the shingle blob and the figures text),
    decoded only when a comparison needs it: most reports a streaming pass indexes are
    never anyone's candidate in the transaction that writes them, so they go from the
    worker that made them to the database without being decoded or re-encoded."""

    def __init__(self, blob: bytes, figs: str, band_keys: list[int] | None = None) -> None:
        self._blob = blob
        self._figs = figs
        self._order: np.ndarray | None = None
        self._figures: frozenset[tuple[int, str]] | None = None
        self.band_keys = band_keys if band_keys is not None else []
        self._sorted = None

    def _decode(self) -> None:
        fp = Fingerprint.from_stored(self._blob, self._figs)
        self._order, self._figures = fp.order, fp.figures

    @property
    def order(self) -> np.ndarray:
        if self._order is None:
            self._decode()
        assert self._order is not None
        return self._order

    @order.setter
    def order(self, value: np.ndarray) -> None:
        self._order = value
        self._blob = value.astype("<u4").tobytes()
        self._sorted = None

    @property
    def figures(self) -> frozenset[tuple[int, str]]:
        if self._figures is None:
            self._decode()
        assert self._figures is not None
        return self._figures

    @figures.setter
    def figures(self, value: frozenset[tuple[int, str]]) -> None:
        self._figures = value
        self._figs = _figures_text(value)

    @property
    def size(self) -> int:
        return len(self._blob) // 4

    def shingles_blob(self) -> bytes:
        return self._blob

    def figures_text(self) -> str:
        return self._figs

    def __repr__(self) -> str:
        return f"StoredFingerprint(size={self.size}, figures={self._figs!r})"

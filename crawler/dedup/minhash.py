"""Stable shingle hashing, a numpy-vectorised MinHash and LSH band keys.

Everything here must give the same numbers in every process and on every machine
(the band keys and shingle sets are persisted in the archive and compared across
crawls), so hashes are CRC-32 and fixed 64-bit mixing, never Python's salted
``hash()``. One ``(n_shingles × num_perm)`` matrix per document gives both the
whole-body signature and, from its first rows, the lead signature, at no extra cost.
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_INT63 = np.uint64(0x7FFF_FFFF_FFFF_FFFF)

def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64 that spreads every input bit."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


def shingle_hashes(token_hashes: np.ndarray, k: int = 3) -> np.ndarray:
    """32-bit hashes of the word k-shingles, in document order (repeats kept), from
    the tokens' 32-bit hashes. A text shorter than k tokens is one shingle."""
    th = np.asarray(token_hashes, dtype=np.uint64)
    if len(th) == 0:
        return np.empty(0, dtype=np.uint32)
    if len(th) < k:
        k = len(th)
    n = len(th) - k + 1
    acc = th[:n].copy()
    for j in range(1, k):  # in place: no new array a step (wrapping mod 2^64 as before)
        acc *= _P1
        acc += th[j : j + n]
    acc += np.uint64(k)
    return (_mix(acc) >> _S32).astype(np.uint32)


class MinHasher:
    """``num_perm`` multiply-shift hash functions ``h_i(x) = (a_i·x + b_i mod 2^64) >> 32``
    (a universal family; the shingle hashes are already well mixed), 32-bit minima."""

    def __init__(self, num_perm: int, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self._a = (rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)).reshape(1, -1)
        self._b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64).reshape(1, -1)
        self._a_col, self._b_col = self._a.reshape(-1, 1), self._b.reshape(-1, 1)

    def matrix(self, shingles: np.ndarray) -> np.ndarray:
        """Per-shingle permuted hashes, shape ``(len(shingles), num_perm)``, uint32."""
        x = shingles.astype(np.uint64).reshape(-1, 1)
        return ((x * self._a + self._b) >> _S32).astype(np.uint32)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """The whole-text signature alone (`signatures` without the lead's minima)."""
        if len(shingles) == 0:
            return np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        m = self._a_col * shingles.astype(np.uint64).reshape(1, -1)
        m += self._b_col
        return (m.min(axis=1) >> _S32).astype(np.uint32)

    def signatures(self, shingles: np.ndarray, lead: int) -> tuple[np.ndarray, np.ndarray]:
        """Whole-text signature and the signature of the first `lead` shingles."""
        if len(shingles) == 0:
            empty = np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
            return empty, empty
        # Minima of the 64-bit values, shifted afterwards (`>> 32` is monotone, so
        # min(h >> 32) == min(h) >> 32): two signatures are shifted and narrowed, not the
        # whole matrix; one row per hash function, so the minima run along contiguous
        # memory. Same signatures, ~30 % less time than `matrix` + min.
        x = shingles.astype(np.uint64).reshape(1, -1)
        m = self._a_col * x
        m += self._b_col
        full = (m.min(axis=1) >> _S32).astype(np.uint32)
        head = (m[:, :lead].min(axis=1) >> _S32).astype(np.uint32)
        return full, head


_ROW_MULT = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                      0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x2545F4914F6CDD1D, 0x94D049BB133111EB],
                     dtype=np.uint64)


def band_keys(sig: np.ndarray, bands: int, rows: int, namespace: int) -> list[int]:
    """One 63-bit key per band of `rows` signature values; `namespace` keeps the
    whole-text and lead bands (and band positions) from ever sharing a key."""
    v = sig[: bands * rows].astype(np.uint64).reshape(bands, rows)
    acc = (v * _ROW_MULT[:rows]).sum(axis=1, dtype=np.uint64)
    acc = _mix(acc + (np.arange(bands, dtype=np.uint64) + np.uint64(namespace << 16)) * _P2)
    return (acc & _INT63).tolist()


def passage_keys(order: np.ndarray, window: int, keep: int, namespace: int) -> list[int]:
    """Keys of a text's passages: a hash of every run of `window` consecutive shingles
    (in order of first appearance; all distinct, so no two runs are equal), the `keep`
    smallest. Bottom-k is a consistent sample: a passage two texts share is kept by
    both when its hash is small in both, so texts sharing a paragraph share some keys
    in expectation, however much else differs. Texts shorter than a window have none
    (their whole-text bands suffice)."""
    if len(order) < window:
        return []
    # a fixed odd multiplier per position, summed (wrapping mod 2^64): the shingle
    # hashes are already well mixed, so this hashes the run in a few vector operations
    x = order.astype(np.uint64)
    n = len(x) - window + 1
    grams = x[:n] * _ROW_MULT[0]
    for j in range(1, window):
        grams += x[j:j + n] * _ROW_MULT[j]
    if n > keep:
        # sorted after the partition: np.partition leaves its `keep` smallest in an order
        # that depends on the CPU's SIMD kernel (AVX-512 and AVX2 builds of its selection
        # differ), and a fingerprint must be the same on every machine
        grams = np.sort(np.partition(grams, keep - 1)[:keep])
    # the low 47 bits go into the index (engine.epoch_keys); the salt keeps passage keys
    # apart from band keys
    return ((grams ^ np.uint64((_PASSAGE_SALT * namespace) & 0xFFFF_FFFF_FFFF_FFFF)) & _INT63).tolist()


_PASSAGE_SALT = 0x2545F4914F6CDD1D

"""Token hashing in numpy, equal to hashing ``crawler.arabic.tokens(text)``.

Dedup must fingerprint ≥ 2,000 reports a second on a slow core; translating and
regex-splitting every text in Python costs more than that budget on its own. So the
shared normaliser is compiled once into lookup tables (derived *from*
`crawler.arabic.normalize` and `crawler.arabic.tokens`, code point by code point, so
there is still one definition of the normal form), and a text is then normalised,
split and hashed as arrays of code points. The tests check token-for-token equality
with `crawler.arabic.tokens` on real text.

Token hash: ``mix64(Σ c_k · B^k mod 2^64) >> 32`` over the token's normalised code
points — stable across processes and machines, computable per token in one
vectorised pass (B is odd, hence invertible mod 2^64).
"""

from __future__ import annotations

import numpy as np

from crawler.arabic import normalize, tokens

_B = 0x100000001B3  # odd: has an inverse mod 2^64
_B_INV = pow(_B, -1, 2**64)
_SEP = 0x20
_DEL = 0
_BMP = 0x10000

_lut: np.ndarray | None = None
_is_tok: np.ndarray | None = None
_pow: np.ndarray = np.ones(1, dtype=np.uint64)
_pow_inv: np.ndarray = np.ones(1, dtype=np.uint64)


def _build() -> tuple[np.ndarray, np.ndarray]:
    lut = np.full(_BMP, _SEP, dtype=np.uint32)
    is_tok = np.zeros(_BMP, dtype=bool)
    for c in range(1, _BMP):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        out = normalize(f"a{ch}a")
        if out == "aa":
            lut[c] = _DEL
        elif len(out) == 3 and out[0] == "a" and out[2] == "a" and out[1] != " ":
            lut[c] = ord(out[1])
    for c in range(1, _BMP):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        is_tok[c] = tokens(ch) == [ch]
    is_tok[_SEP] = False
    # `token_hashes` reads astral characters (emoji) through the last entry, clamped:
    # they must break words as a separator does, neither deleted nor part of a token
    if lut[_BMP - 1] == _DEL or is_tok[lut[_BMP - 1]]:
        raise AssertionError("U+FFFF must read as a word break")
    return lut, is_tok


def _tables() -> tuple[np.ndarray, np.ndarray]:
    global _lut, _is_tok
    if _lut is None or _is_tok is None:
        _lut, _is_tok = _build()
    return _lut, _is_tok


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    global _pow, _pow_inv
    if len(_pow) < n:
        size = max(n, 2 * len(_pow), 4096)
        p = np.empty(size, dtype=np.uint64)
        q = np.empty(size, dtype=np.uint64)
        x, y = 1, 1
        m = 2**64
        for i in range(size):  # once per process, up to the longest text seen
            p[i] = x
            q[i] = y
            x = (x * _B) % m
            y = (y * _B_INV) % m
        _pow, _pow_inv = p, q
    return _pow, _pow_inv


def _mix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def token_hashes(text: str) -> np.ndarray:
    """32-bit hash (as uint64) of every token of ``crawler.arabic.tokens(text)``, in order."""
    lut, is_tok = _tables()
    if not text:
        return np.empty(0, dtype=np.uint64)
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    # `take` (clipped: an astral character reads U+FFFF's entry, a word break) instead of
    # indexing with an array: the same gather for half the time
    mapped = lut.take(cp, mode="clip")
    mapped = mapped[mapped != _DEL]
    pos = np.flatnonzero(is_tok.take(mapped))  # token characters, in the compressed text
    if not len(pos):
        return np.empty(0, dtype=np.uint64)
    # a token starts where a token character does not follow the previous one; its
    # index among the token characters is where its sum starts
    gap = np.empty(len(pos), dtype=bool)
    gap[0] = True
    np.not_equal(pos[1:], pos[:-1] + 1, out=gap[1:])
    starts = np.flatnonzero(gap)
    n = len(pos)
    p, q = _powers(n)
    sums = np.add.reduceat(mapped.take(pos).astype(np.uint64) * p[:n], starts)
    return _mix(sums * q.take(starts)) >> np.uint64(32)


def hash_token(token: str) -> int:
    """The hash `token_hashes` gives a single normalised token (for tables of words)."""
    m = 2**64
    h = 0
    for k, ch in enumerate(token):
        h = (h + ord(ch) * pow(_B, k, m)) % m
    return int(_mix(np.array([h], dtype=np.uint64))[0] >> np.uint64(32))

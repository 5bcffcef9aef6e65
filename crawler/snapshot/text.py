"""Text helpers for the snapshot: paragraph splitting of the glued corpus bodies, slugs."""

from __future__ import annotations

import re

# The corpus lost its paragraph breaks: a paragraph end is a sentence end glued to the
# next word (`...كلمة.كلمة`). A decimal point or a URL dot is followed by a digit or a
# Latin letter, so requiring an Arabic letter or an opening quote after it keeps those.
_GLUED_END = re.compile(r"(?:(?<=[.!?؟:])|(?<=[.!?؟][\"»”'])|(?<=[.!?؟]\)))(?=[«\"“\u0621-\u064A])")
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+(?=\S)")
_LONG = 900
_SHORT = 40


def split_paragraphs(body: str) -> list[str]:
    """Split a corpus body into paragraphs: at glued sentence ends, then long blocks at sentence ends."""
    parts = [p.strip() for p in _GLUED_END.split(body.strip()) if p.strip()]
    out: list[str] = []
    for part in parts:
        if len(part) <= _LONG:
            out.append(part)
            continue
        # a long run of spaced sentences: cut it into blocks of a few sentences
        block = ""
        for sentence in _SENTENCE_END.split(part):
            if block and len(block) + len(sentence) > _LONG // 2:
                out.append(block)
                block = sentence
            else:
                block = f"{block} {sentence}".strip()
        if block:
            out.append(block)
    merged: list[str] = []
    for p in out:
        # a fragment (a quote's tail, a one-word line) belongs to its neighbour
        if merged and (len(p) < _SHORT or len(merged[-1]) < _SHORT):
            merged[-1] = f"{merged[-1]} {p}"
        else:
            merged.append(p)
    return merged or [body.strip()]


_NON_WORD = re.compile(r"[^\w\u0600-\u06FF]+")


def slugify(title: str, limit: int = 40) -> str:
    """WordPress-like slug of an Arabic title: words joined by '-', cut at a word boundary."""
    words = [w for w in _NON_WORD.split(title.lower().replace("_", " ")) if w]
    slug = ""
    for w in words:
        cand = f"{slug}-{w}" if slug else w
        if len(cand) > limit and slug:
            break
        slug = cand
    return slug or "post"

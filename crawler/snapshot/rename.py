"""Class and id renaming: the snapshot as a theme change leaves it.

A redesign (or a theme update) keeps the content, the URLs and the machine-readable
metadata of a news site but renames the classes and ids the spiders' selectors were
written against. `ClassRenamer` rewrites every ``class`` and ``id`` attribute of an HTML
page to opaque names: the same original token always gets the same new name within one
renamer (a theme's stylesheet still has to work), and no new name is an original one.
Different seeds give different names, so nothing can be tuned to one renaming.
"""

from __future__ import annotations

import hashlib
import re
import secrets

# Only real attributes: preceded by whitespace inside a tag, double-quoted as every
# renderer writes them (``data-id="…"`` and JSON-LD's ``"@id": …`` do not match).
_ATTR = re.compile(r'(?<=[\s])(class|id)="([^"]*)"')


class ClassRenamer:
    """Maps class and id tokens to opaque names (``z`` + 7 hex digits), per seed."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = secrets.randbits(32) if seed is None else seed
        self._salt = self.seed.to_bytes(8, "big", signed=False)
        self._names: dict[str, str] = {}

    def name(self, token: str) -> str:
        """The new name of one class or id token."""
        hit = self._names.get(token)
        if hit is None:
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=4, key=self._salt).hexdigest()
            # "z" + hex digits: no letter of the words generic extractors look for in class
            # names ("date", "author", "cat", "crumb", "cover", ...) can be spelled by accident.
            hit = self._names[token] = f"z{digest[:7]}"
        return hit

    def _attr(self, match: re.Match[str]) -> str:
        attr, value = match.group(1), match.group(2)
        renamed = " ".join(self.name(t) for t in value.split())
        return f'{attr}="{renamed}"'

    def html(self, text: str) -> str:
        """`text` with every ``class="…"`` and ``id="…"`` value renamed token by token."""
        return _ATTR.sub(self._attr, text)

"""Field access to an item for the pipelines, cheap for the project's own `Article`.

``ItemAdapter(item)`` on a dataclass builds a dict of its ~30 fields with
``dataclasses.fields`` on every wrap (~9 µs); validate, dates, bounds and topics each wrap
every article once, a few percent of what the pipelines cost an article beside storage.
`fields_of` gives an `Article` a wrapper with the same reading and writing rules (a
known field reads its value, an unknown one the default or KeyError, writing an unknown
field is a KeyError) and every other item the real ``ItemAdapter``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from itemadapter import ItemAdapter

from crawler.items import ARTICLE_FIELDS, Article

_FIELDS = frozenset(ARTICLE_FIELDS)


class ArticleFields:
    """``ItemAdapter`` semantics for an `Article`, reading attributes directly."""

    __slots__ = ("item",)

    def __init__(self, item: Article) -> None:
        self.item = item

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self.item, name) if name in _FIELDS else default

    def __getitem__(self, name: str) -> Any:
        if name not in _FIELDS:
            raise KeyError(name)
        return getattr(self.item, name)

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in _FIELDS:
            raise KeyError(f"Article does not support field: {name}")
        setattr(self.item, name, value)

    def field_names(self) -> Collection[str]:
        return _FIELDS


Fields = ArticleFields | ItemAdapter
"""What the pipelines read and write an item through."""


def fields_of(item: Any) -> Fields:
    """An `ArticleFields` for an `Article` (not a subclass: it may add fields), else
    ``ItemAdapter(item)``."""
    if type(item) is Article:
        return ArticleFields(item)
    return ItemAdapter(item)

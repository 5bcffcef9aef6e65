"""`pipelines.item_fields`: the pipelines' cheap wrapper of an `Article` reads and writes
exactly as ``ItemAdapter`` does."""

from __future__ import annotations

from typing import Any

import pytest
from itemadapter import ItemAdapter

from crawler.items import ARTICLE_FIELDS, Article
from pipelines.item_fields import ArticleFields, fields_of


def _article() -> Article:
    return Article(url="https://example.ma/a", source="hespress", title="عنوان", body_text="نص")


def test_an_article_gets_the_cheap_wrapper_and_anything_else_itemadapter() -> None:
    assert isinstance(fields_of(_article()), ArticleFields)
    assert isinstance(fields_of({"title": "x"}), ItemAdapter)

    class Sub(Article):
        pass

    assert isinstance(fields_of(Sub(url="u", source="s")), ItemAdapter)


@pytest.mark.parametrize("name", [*ARTICLE_FIELDS, "no_such_field", ""])
def test_reads_as_itemadapter(name: str) -> None:
    item = _article()
    ours, theirs = ArticleFields(item), ItemAdapter(item)
    assert ours.get(name) == theirs.get(name)
    assert ours.get(name, "default") == theirs.get(name, "default")
    outcomes: list[Any] = []
    for adapter in (ours, theirs):
        try:
            outcomes.append(adapter[name])
        except KeyError:
            outcomes.append(KeyError)
    assert outcomes[0] == outcomes[1]
    assert set(ours.field_names()) == set(theirs.field_names())


def test_writes_as_itemadapter() -> None:
    ours_item, theirs_item = _article(), _article()
    ArticleFields(ours_item)["topic"] = "sport"
    ItemAdapter(theirs_item)["topic"] = "sport"
    assert ours_item == theirs_item and ours_item.topic == "sport"
    for adapter in (ArticleFields(ours_item), ItemAdapter(theirs_item)):
        with pytest.raises(KeyError):
            adapter["no_such_field"] = 1
    assert ours_item == theirs_item

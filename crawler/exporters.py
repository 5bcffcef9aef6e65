"""Item exporters that keep time zones: Scrapy's default JSON encoder drops them."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exporters import JsonLinesItemExporter


def to_jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    return value


class IsoJsonLinesExporter(JsonLinesItemExporter):
    """JSON Lines with ISO 8601 datetimes (offset included) and Arabic kept readable."""

    def export_item(self, item: Any) -> None:
        record = {k: to_jsonable(v) for k, v in ItemAdapter(item).items()}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self.file.write(line.encode(self.encoding or "utf-8"))

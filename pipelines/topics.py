"""Topics pipeline: give every article a canonical topic id and a confidence.

The site's own section wins when the sources config maps it (`Source.topic_for_section`):
confidence 1.0. Otherwise (no section, an unmapped one, a source missing from the config)
the bundled classifier (`pipelines.topic_model`) reads headline and body and decides on one
of the topics it was trained on, with its calibrated probability; only below
`TOPICS_MIN_CONFIDENCE` (0.4: about 0.5% of held-out articles) is the article filed under
``other`` with that (low) confidence. Topics the training text does not cover (culture,
world, video, ...) come from section maps only (docs/topics.md).

A section mapped to ``other`` (a site's "miscellany") says nothing about the subject, so
by default the classifier gets a say there too (`TOPICS_CLASSIFY_OTHER`); when it is not
confident the article stays ``other`` as the site filed it.

Settings:
    TOPICS_ENABLED          (True)   False turns the pipeline off (NotConfigured)
    TOPICS_MIN_CONFIDENCE   (0.4)    classifier probability needed to keep its topic
    TOPICS_MODEL            (None)   path of a model file; None: the bundled one
    TOPICS_CLASSIFY_OTHER   (True)   let the classifier refine sections mapped to `other`
    AKHBAR_SOURCES                   sources file (None: bundled / $AKHBAR_SOURCES)

Stats: ``topics/section`` (mapped section), ``topics/classifier`` (confident classifier),
``topics/other`` (classifier below the threshold, or no text), ``topics/topic/<id>``,
``topics/error`` (the classifier failed on an item; the item is kept, topic ``other``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from crawler.config import Source, load_sources
from crawler.taxonomy import TOPIC_IDS
from pipelines.item_fields import Fields, fields_of
from pipelines.topic_model import ModelError, Prediction, TopicModel, bundled_model

logger = logging.getLogger(__name__)

OTHER = "other"
# Low on purpose: the classifier decides rather than abstains. On the held-out split its
# calibrated confidence reaches 0.4 for 99.4% of articles and accuracy is the same with or
# without the threshold (0.906), while 0.5 would set 2.2% aside for half a point of
# precision. What stays under it is text with next to nothing the model knows.
DEFAULT_MIN_CONFIDENCE = 0.4
MAX_CLASSIFIER_CONFIDENCE = 0.9999
# Breadcrumbs and multi-category strings as spiders may print them: "الرئيسية › سياسة",
# "سياسة, مجتمع". `topic_for_section` already splits on "/".
_SECTION_SEPARATORS = re.compile(r"\s*[,،|›»>;]\s*")


class TopicsPipeline:
    def __init__(
        self,
        sources: dict[str, Source],
        model: TopicModel | None,
        stats: StatsCollector,
        *,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        classify_other: bool = True,
    ) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"TOPICS_MIN_CONFIDENCE must be within [0, 1], got {min_confidence}")
        self.sources = sources
        self.model = model
        self.stats = stats
        self.min_confidence = min_confidence
        self.classify_other = classify_other

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TopicsPipeline:
        settings = crawler.settings
        if not settings.getbool("TOPICS_ENABLED", True):
            raise NotConfigured("TOPICS_ENABLED is off")
        model_path = settings.get("TOPICS_MODEL") or None
        model: TopicModel | None
        try:
            model = bundled_model(str(model_path) if model_path else None)
        except ModelError as exc:
            # Sections still map; unmapped articles go to `other` and the error is visible
            # in the log and the stats rather than stopping the crawl.
            logger.error("topic classifier unavailable, unmapped articles get topic 'other': %s", exc)
            crawler.stats.set_value("topics/model_error", str(exc))
            model = None
        return cls(
            load_sources(settings.get("AKHBAR_SOURCES") or None),
            model,
            crawler.stats,
            min_confidence=settings.getfloat("TOPICS_MIN_CONFIDENCE", DEFAULT_MIN_CONFIDENCE),
            classify_other=settings.getbool("TOPICS_CLASSIFY_OTHER", True),
        )

    # -- section map --------------------------------------------------------------
    def section_topic(self, source_id: str | None, section: str | None) -> str | None:
        source = self.sources.get(source_id or "")
        if source is None or not section:
            return None
        topic = source.topic_for_section(section)
        if topic is not None:
            return topic
        # Most specific part last, as in a breadcrumb.
        for part in reversed([p for p in _SECTION_SEPARATORS.split(section) if p.strip()]):
            topic = source.topic_for_section(part)
            if topic is not None:
                return topic
        return None

    # -- classifier ---------------------------------------------------------------
    def classify(self, adapter: Fields) -> Prediction | None:
        if self.model is None:
            return None
        title = adapter.get("title") or ""
        body = adapter.get("body_text") or adapter.get("summary") or ""
        if not isinstance(title, str) or not isinstance(body, str):
            raise TypeError(f"title/body_text must be text, got {type(title).__name__}/{type(body).__name__}")
        if not title.strip() and not body.strip():
            return None
        return self.model.predict(title, body)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        adapter = fields_of(item)
        if "topic" not in adapter.field_names() and not isinstance(item, dict):
            return item  # not an article
        mapped = self.section_topic(adapter.get("source"), adapter.get("section_raw"))
        if mapped is not None and not (mapped == OTHER and self.classify_other):
            return self._set(adapter, mapped, 1.0, "section")

        try:
            pred = self.classify(adapter)
        except Exception:  # keep the item: a topic is never worth losing an article
            logger.exception("topic classifier failed on %s", adapter.get("url"))
            self.stats.inc_value("topics/error")
            pred = None

        if pred is not None and pred.confidence >= self.min_confidence:
            # Capped below 1.0, which stays the mark of a site's own section: the calibrated
            # probability of a clear text rounds to 1.0 at four decimals.
            return self._set(adapter, pred.topic, min(round(pred.confidence, 4), MAX_CLASSIFIER_CONFIDENCE),
                             "classifier")
        if mapped is not None:  # a section mapped to `other` and no confident guess
            return self._set(adapter, mapped, 1.0, "section")
        confidence = round(pred.confidence, 4) if pred is not None else 0.0
        return self._set(adapter, OTHER, confidence, "other")

    def _set(self, adapter: Fields, topic: str, confidence: float, how: str) -> Any:
        assert topic in TOPIC_IDS, topic
        adapter["topic"] = topic
        adapter["topic_confidence"] = confidence
        self.stats.inc_value(f"topics/{how}")
        self.stats.inc_value(f"topics/topic/{topic}")
        logger.debug("%s: topic %s (%.3f, %s)", adapter.get("url"), topic, confidence, how)
        return adapter.item

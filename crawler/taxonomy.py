"""The canonical topic taxonomy every site's sections map onto."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    id: str
    ar: str
    en: str


TOPICS: tuple[Topic, ...] = (
    Topic("politics", "سياسة", "Politics"),
    Topic("economy", "اقتصاد", "Economy"),
    Topic("society", "مجتمع", "Society"),
    Topic("regions", "جهات", "Regions"),
    Topic("world", "دولي", "World"),
    Topic("sports", "رياضة", "Sports"),
    Topic("culture", "فن وثقافة", "Culture"),
    Topic("incidents", "حوادث", "Incidents"),
    Topic("media", "إعلام", "Media"),
    Topic("opinion", "رأي", "Opinion"),
    Topic("religion", "دين", "Religion"),
    Topic("health", "صحة", "Health"),
    Topic("technology", "تكنولوجيا", "Technology"),
    Topic("diaspora", "مغاربة العالم", "Diaspora"),
    Topic("video", "فيديو", "Video"),
    Topic("other", "متفرقات", "Other"),
)

TOPIC_IDS: frozenset[str] = frozenset(t.id for t in TOPICS)
BY_ID: dict[str, Topic] = {t.id: t for t in TOPICS}

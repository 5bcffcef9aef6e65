"""Static description of the emulated sites: names, sections, id ranges.

Shared by the sample builder (which files corpus articles into sections) and the
server (which renders them). Section names match `crawler/sources.toml` so the
spiders' section -> topic mapping works, except the few sections deliberately left
unmapped there (``mapped=False``) to give the topic classifier work.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    slug: str
    """Path component of the section URL (may be Arabic; percent-encoded in links)."""
    name: str
    """Section name as printed by the site."""
    cat_id: int
    """WordPress category id."""
    corpus: tuple[str, ...]
    """Corpus categories filed into this section by the sample builder."""
    share: int
    """Target number of articles in the sample (0: a section the site has but the sample leaves empty)."""
    mapped: bool = True
    """False when sources.toml maps this section to no topic (deliberately)."""


@dataclass(frozen=True)
class SiteSpec:
    id: str
    name: str
    name_latin: str
    first_post_id: int
    post_id_step: int
    sections: tuple[Section, ...]
    encoding: str = "utf-8"

    def section(self, slug: str) -> Section:
        for s in self.sections:
            if s.slug == slug:
                return s
        raise KeyError(f"{self.id}: no section {slug!r}")


SITES: dict[str, SiteSpec] = {
    s.id: s
    for s in (
        SiteSpec(
            "hespress", "هسبريس", "Hespress", 480113, 37,
            (
                Section("politique", "سياسة", 4, ("politics",), 13),
                Section("economie", "اقتصاد", 7, ("economy",), 9),
                Section("societe", "مجتمع", 5, ("society",), 9),
                Section("sport", "هسبريس الرياضية", 9, ("sports",), 8),
                Section("regions", "جهات", 6, ("regions",), 7),
                Section("faits-divers", "حوادث", 11, ("crime_incidents",), 7),
                Section("medias", "السلطة الرابعة", 13, (), 0),
                Section("interviews", "حوارات", 14, (), 0),
                Section("art-et-culture", "فن وثقافة", 15, (), 0),
                Section("tamazight", "تمازيغت", 16, (), 0),
                Section("sawt-soura", "صوت وصورة", 17, (), 0),
                Section("international", "خارج الحدود", 18, (), 0),
            ),
        ),
        SiteSpec(
            "hibapress", "هبة بريس", "Hiba Press", 1203411, 53,
            (
                Section("section-3", "سياسة", 3, ("politics",), 12),
                Section("section-20", "إقتصاد", 20, ("economy",), 8),
                Section("section-2", "مجتمع", 2, ("society",), 9),
                Section("section-22", "رياضة", 22, ("sports",), 9),
                Section("section-19", "حوادث", 19, ("crime_incidents",), 9),
                Section("section-99", "متفرقات", 99, ("regions",), 6),
                Section("section-8", "فن", 8, (), 0),
                Section("section-24", "مهجر", 24, (), 0),
                Section("section-10", "بلا حدود", 10, (), 0),
                Section("section-9", "آراء", 9, (), 0),
                Section("section-6", "شؤون دينية", 6, (), 0),
                Section("section-11", "فيديوهات", 11, (), 0),
            ),
        ),
        SiteSpec(
            "le12", "LE12", "LE12", 190027, 29,
            (
                Section("politique", "سياسة", 12, ("politics",), 9),
                Section("economie", "اقتصاد", 14, ("economy",), 8),
                Section("societe", "مجتمع", 13, ("society",), 12),
                Section("sport", "رياضة", 16, ("sports",), 8),
                Section("regions", "جهات", 18, ("regions",), 6),
                Section("faits-divers", "حوادث", 17, ("crime_incidents",), 6),
                Section("varietes", "منوعات", 21, ("society",), 3, mapped=False),
                Section("international", "دولي", 15, (), 0),
                Section("culture", "ثقافة وفن", 19, (), 0),
            ),
        ),
        SiteSpec(
            "rue20", "زنقة 20", "Zanqa 20", 901250, 41,
            (
                Section("سياسة", "سياسة", 3, ("politics",), 10),
                Section("اقتصاد", "اقتصاد", 5, ("economy",), 8),
                Section("مجتمع", "مجتمع", 4, ("society",), 8),
                Section("رياضة", "رياضة", 7, ("sports",), 12),
                Section("جهات", "جهات", 9, ("regions",), 6),
                Section("حوادث", "حوادث", 8, ("crime_incidents",), 5),
                Section("صحة", "صحة", 15, ("society",), 3, mapped=False),
                Section("دولية", "دولية", 6, (), 0),
                Section("فن", "فن", 10, (), 0),
                Section("ميديا", "ميديا", 11, (), 0),
            ),
        ),
        SiteSpec(
            "belpresse", "بلبريس", "Belpress", 52031, 17,
            (
                Section("siyasa", "سياسة", 2, ("politics",), 9),
                Section("iqtisad", "اقتصاد", 3, ("economy",), 12),
                Section("mujtamaa", "مجتمع", 4, ("society",), 8),
                Section("riyada", "رياضة", 5, ("sports",), 8),
                Section("jihat", "جهات", 6, ("regions",), 7),
                Section("hawadith", "حوادث", 7, ("crime_incidents",), 5),
                Section("akhbar-watania", "أخبار وطنية", 10, ("politics", "society"), 3, mapped=False),
                Section("dawli", "دولي", 8, (), 0),
                Section("thaqafa", "ثقافة", 9, (), 0),
            ),
            encoding="windows-1256",
        ),
        SiteSpec(
            "wpdemo", "أخبار اليوم التجريبي", "WP Demo", 3001, 7,
            (
                Section("politics", "سياسة", 2, ("politics",), 12),
                Section("economy", "اقتصاد", 3, ("economy",), 5),
                Section("sports", "رياضة", 4, ("sports",), 5),
            ),
        ),
    )
}

FIVE_SITES: tuple[str, ...] = ("hespress", "hibapress", "le12", "rue20", "belpresse")
"""The bundled sites in port order (``--port-base`` + index)."""

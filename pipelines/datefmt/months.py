"""Month and weekday names, one tuple per naming family, as the sites print them.

Arabic news uses four names for each Gregorian month, depending on the country; the
families never give one spelling two different months, so they share one lookup
table. Hijri months have their own table: the grammar only reads them as Hijri, and
the two tables share no name.

Each entry lists the twelve months in order; a month with several spellings is a
tuple, the first being the usual one.
"""

from __future__ import annotations

Names = tuple[str | tuple[str, ...], ...]

MOROCCAN: Names = (
    # French-derived, as Moroccan papers write them (Hespress, LE12, rue20...)
    "يناير", ("فبراير", "فبرير"), ("مارس", "مارص"), "أبريل", "ماي", "يونيو",
    "يوليوز", ("غشت", "اغشت"), "شتنبر", "أكتوبر", "نونبر", "دجنبر",
)
EGYPTIAN_GULF: Names = (
    "يناير", "فبراير", "مارس", ("أبريل", "إبريل"), ("مايو", "مايه"), ("يونيو", "يونيه"),
    ("يوليو", "يوليه"), "أغسطس", ("سبتمبر", "سيبتمبر"), ("أكتوبر", "اكتوبر", "أوكتوبر"),
    "نوفمبر", ("ديسمبر", "ديسمبير"),
)
LEVANTINE_IRAQI: Names = (
    # Syriac names. "كانون"/"تشرين" alone name no month: the ordinal decides
    # (كانون الثاني = January, كانون الأول = December, تشرين الأول/الثاني = October/November).
    ("كانون الثاني", "كانون ثاني"), "شباط", "آذار", "نيسان", "أيار", "حزيران",
    "تموز", "آب", "أيلول", ("تشرين الأول", "تشرين أول"), ("تشرين الثاني", "تشرين ثاني"),
    ("كانون الأول", "كانون أول"),
)
ALGERIAN_TUNISIAN: Names = (
    # French-derived, spelt from the French sound (janvier, février, juin, juillet, août)
    ("جانفي", "جانفييه"), ("فيفري", "فيفرييه"), "مارس", "أفريل", "ماي", "جوان",
    ("جويلية", "جويليه"), ("أوت", "اوت"), "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)
GREGORIAN_FAMILIES: dict[str, Names] = {
    "moroccan": MOROCCAN,
    "egyptian_gulf": EGYPTIAN_GULF,
    "levantine_iraqi": LEVANTINE_IRAQI,
    "algerian_tunisian": ALGERIAN_TUNISIAN,
}

HIJRI: Names = (
    ("محرم", "المحرم"),
    "صفر",
    ("ربيع الأول", "ربيع أول", "ربيع الاول"),
    ("ربيع الآخر", "ربيع الثاني", "ربيع ثاني", "ربيع الأخير"),
    ("جمادى الأولى", "جمادى الأول", "جمادى أولى"),
    ("جمادى الآخرة", "جمادى الثانية", "جمادى الآخر", "جمادى الثاني", "جمادى الأخيرة"),
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    ("ذو القعدة", "ذي القعدة"),
    ("ذو الحجة", "ذي الحجة"),
)

WEEKDAYS: tuple[str, ...] = ("الأحد", "الإثنين", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت")


def spellings(names: Names) -> list[tuple[str, int]]:
    """Every (spelling, month number) pair of a family."""
    pairs: list[tuple[str, int]] = []
    for number, entry in enumerate(names, start=1):
        for spelling in (entry,) if isinstance(entry, str) else entry:
            pairs.append((spelling, number))
    return pairs

"""Dates as each emulated site prints them.

Month-name systems follow /work/shared/sites.md: Moroccan (Hespress), Egyptian
(Zanqa 20), Levantine paired with Egyptian (Belpress), Arabic-Indic digits (LE12),
and WordPress ``human_time_diff``-style relative dates (Hiba Press).
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

WEEKDAYS = ("الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
MOROCCAN_MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر")
EGYPTIAN_MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر")
LEVANTINE_MONTHS = ("كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول")
_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def hespress(local: datetime, old_cms: bool = False) -> str:
    """``الجمعة 8 أبريل 2022 - 23:56``; the pre-2021 CMS zero-pads the day."""
    day = f"{local.day:02d}" if old_cms else str(local.day)
    return f"{WEEKDAYS[local.weekday()]} {day} {MOROCCAN_MONTHS[local.month - 1]} {local.year} - {local:%H:%M}"


def le12(local: datetime) -> str:
    """``١٦-٠٧-٢٠٢٥ ١٤:٣٠``: day-first, Arabic-Indic digits."""
    return f"{local:%d-%m-%Y %H:%M}".translate(_INDIC)


def rue20(local: datetime, style: str = "current") -> str:
    """``16 يوليو 2025 - 14:30``, or ``الأربعاء 16 يوليو 2025 على الساعة 14:30``."""
    month = EGYPTIAN_MONTHS[local.month - 1]
    if style == "ala_saa":
        return f"{WEEKDAYS[local.weekday()]} {local.day} {month} {local.year} على الساعة {local:%H:%M}"
    return f"{local.day} {month} {local.year} - {local:%H:%M}"


def belpresse(local: datetime) -> str:
    """``الأربعاء 16 تموز/يوليو 2025``: Levantine month paired with the Egyptian one."""
    m = local.month - 1
    return f"{WEEKDAYS[local.weekday()]} {local.day} {LEVANTINE_MONTHS[m]}/{EGYPTIAN_MONTHS[m]} {local.year}"


def plain(local: datetime) -> str:
    """WordPress default theme: ``16 يوليو 2025``."""
    return f"{local.day} {EGYPTIAN_MONTHS[local.month - 1]} {local.year}"


# singular, dual, plural (3-10), accusative singular (11+)
_UNITS = {
    "minute": ("دقيقة واحدة", "دقيقتين", "دقائق", "دقيقة"),
    "hour": ("ساعة واحدة", "ساعتين", "ساعات", "ساعة"),
    "day": ("يوم واحد", "يومين", "أيام", "يوما"),
    "week": ("أسبوع واحد", "أسبوعين", "أسابيع", "أسبوعا"),
    "month": ("شهر واحد", "شهرين", "أشهر", "شهرا"),
}


def relative(published: datetime, now: datetime) -> str:
    """``منذ 3 ساعات``: rounded to the largest unit, as WordPress ``human_time_diff`` does."""
    secs = max(0.0, (now - published).total_seconds())
    if secs < 3600:
        unit, n = "minute", max(1, round(secs / 60))
    elif secs < 86400:
        unit, n = "hour", max(1, round(secs / 3600))
    elif secs < 7 * 86400:
        unit, n = "day", max(1, round(secs / 86400))
    elif secs < 30 * 86400:
        unit, n = "week", max(1, round(secs / (7 * 86400)))
    else:
        unit, n = "month", max(1, round(secs / (30 * 86400)))
    one, two, few, many = _UNITS[unit]
    if n == 1:
        return f"منذ {one}"
    if n == 2:
        return f"منذ {two}"
    return f"منذ {n} {few if n <= 10 else many}"


def rfc822(dt: datetime) -> str:
    return format_datetime(dt, usegmt=False)

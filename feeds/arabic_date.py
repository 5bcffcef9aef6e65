"""Dates as Moroccan readers see them: Moroccan month names, Moroccan time (pages, story page)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

MOROCCO = ZoneInfo("Africa/Casablanca")

# Months as Moroccan papers print them (the French-derived names, not the Levantine
# كانون/تشرين ones nor the Egyptian يوليو/أغسطس).
MONTHS_MA = ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر")
WEEKDAYS_AR = ("الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")


def arabic_date(dt: datetime, tz: ZoneInfo = MOROCCO) -> str:
    """``الجمعة 8 أبريل 2022 - 23:56`` in Moroccan time, as Hespress prints dates."""
    local = dt.astimezone(tz)
    return f"{WEEKDAYS_AR[local.weekday()]} {local.day} {MONTHS_MA[local.month - 1]} {local.year} - {local:%H:%M}"

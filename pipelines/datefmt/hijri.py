"""Hijri to Gregorian by the Umm al-Qura calendar (hijridate's tables).

Umm al-Qura is the published Saudi civil calendar that most Arabic sites and phones
follow; the arithmetic ("tabular") calendar used before could be a day off it either
way. hijridate bundles the official month starts for 1343-1500 AH (1 August 1924 to
16 November 2077); a date outside that range has no answer, which callers must treat
as "not parsed" rather than guess one.
"""

from __future__ import annotations

from datetime import date, timedelta

from hijridate import Hijri, ummalqura

FIRST_YEAR, LAST_YEAR = ummalqura.HIJRI_RANGE[0][0], ummalqura.HIJRI_RANGE[1][0]


class HijriOutOfRange(ValueError):
    """A well-formed Hijri date outside the Umm al-Qura tables."""


def hijri_to_gregorian(year: int, month: int, day: int) -> date:
    """The Gregorian day of `day` `month` `year` AH in the Umm al-Qura calendar.

    Raises `HijriOutOfRange` for a year outside the tables and `ValueError` for a month
    or day that does not exist (the tables are kept as published, with the odd 28- and
    31-day months of the 1340s AH). Day 30 of a month Umm al-Qura makes 29 days long is read
    as the day after the 29th: a calendar by moon sighting (Morocco's) can give that
    month 30 days, and the day it names is then the one after the 29th."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise HijriOutOfRange(f"Hijri year {year} outside the Umm al-Qura tables ({FIRST_YEAR}-{LAST_YEAR})")
    if not 1 <= month <= 12 or not 1 <= day <= 31:  # the earliest tables have 31-day months
        raise ValueError(f"no Hijri date {day}/{month}/{year}")
    if day == 30 and Hijri(year, month, 1).month_length() == 29:
        if year == LAST_YEAR and month == 12:
            raise HijriOutOfRange("the day after the last day of the Umm al-Qura tables")
        return _plain(Hijri(year, month, 29).to_gregorian()) + timedelta(days=1)
    return _plain(Hijri(year, month, day).to_gregorian())


def _plain(day: date) -> date:
    # hijridate returns its own `date` subclass; callers get the standard type
    return date(day.year, day.month, day.day)

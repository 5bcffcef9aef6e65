"""Arabic news dates: a fast table-and-regex parser and the pipeline that applies it.

`parse_date` reads every date form the five sites (and the aggregators that copy them)
print: ISO 8601 and RFC 822 from meta tags, the REST API and feeds; day-first numeric
dates in ASCII, Arabic-Indic or Persian digits; month names in the Moroccan,
Egyptian/Gulf, Levantine/Iraqi and Algerian/Tunisian families (`pipelines.datefmt.months`),
day first or month first (``16 يوليو 2025``, ``يوليو 16، 2025``) with spaces, commas,
dashes or slashes; Hijri dates by the Umm al-Qura tables (alone, or paired with a
Gregorian date, which then wins); relative dates (``منذ 3 ساعات``, ``منذ عامين``, ``أمس``);
and labels glued to the date (``LE12١٦-٠٧-٢٠٢٥``).

The grammar is a short list of handlers tried in turn, each a compiled regex plus table
lookups: ISO 8601, RFC 822, the common Hespress shape, then the general absolute path
(numeric, day-month-year, month-day-year, Hijri, month only), then relative forms.

Rules that keep it honest:

* A wall-clock time without an offset is ``Africa/Casablanca`` local time, resolved with
  the tz database (UTC+1, UTC+0 during Ramadan), never a fixed offset.
* A value is only as exact as what the text says: ``precision`` is ``minute``, ``hour``,
  ``day``, ``month`` or ``year`` (``منذ سنة``). Absolute days and months are the local
  midnight starting them; a relative count (``منذ 3 ساعات``, ``منذ يومين``) is the
  reference minus the amount, to the minute, because sites round those counts.
* Never guess: digits the grammar cannot account for, contradictory month pairs, vague
  plurals (``منذ أيام``), years of two digits in Arabic text... all give None.
* Never raise: any input, of any type, returns a `ParsedDate` or None
  (`parse_date_explained` also says why: ``invalid``, ``hijri_out_of_range``, ``not_a_date``).

dateparser is an optional fallback for forms outside the fast path (English month names,
for instance); it is only consulted for text carrying a four-digit year and no relative
wording, with strict parsing, so it cannot turn noise into "now".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from scrapy.exceptions import NotConfigured

from crawler.arabic import fold_digits, normalize
from pipelines.datefmt.hijri import HijriOutOfRange, hijri_to_gregorian
from pipelines.datefmt.months import GREGORIAN_FAMILIES, HIJRI, WEEKDAYS, spellings
from pipelines.item_fields import Fields, fields_of

logger = logging.getLogger(__name__)

CASABLANCA = ZoneInfo("Africa/Casablanca")
PRECISIONS = ("minute", "hour", "day", "month", "year")
_MAX_LEN = 300  # a date field is short; longer text is prose, not a date


@dataclass(frozen=True, slots=True)
class ParsedDate:
    value: datetime
    """Aware datetime: the moment printed; for an absolute day or month, the local
    midnight starting it; for a relative count, the reference minus the amount."""
    precision: str
    """``minute``, ``hour``, ``day``, ``month`` or ``year`` (the last only for ``منذ سنة``
    and other counts of years)."""
    method: str = "fast"
    """``fast`` (own parser) or ``dateparser`` (fallback)."""


# --------------------------------------------------------------------------- tables
def _n(word: str) -> str:
    # Tables are written as sites print them and folded the same way the input is,
    # so hamza/alef/ta-marbuta spelling variants match without listing each one.
    return normalize(word)


_GREGORIAN_MONTHS: dict[str, int] = {}
for _family in GREGORIAN_FAMILIES.values():
    for _name, _number in spellings(_family):
        _GREGORIAN_MONTHS[_n(_name)] = _number
_HIJRI_MONTHS: dict[str, int] = {_n(_name): _number for _name, _number in spellings(HIJRI)}
# The grammar tells Hijri from Gregorian by the month name alone: no shared spelling.
assert not set(_GREGORIAN_MONTHS) & set(_HIJRI_MONTHS)

# Relative units: normalised word -> (unit, grammatical number). A singular takes an
# optional count (منذ ساعة, منذ 11 ساعة), a dual carries its own 2, a plural needs one.
_UNITS: dict[str, tuple[str, str]] = {}
for _unit, _forms in {
    "second": (("ثانية", "s"), ("ثانيتين", "d"), ("ثانيتان", "d"), ("ثوان", "p"), ("ثواني", "p")),
    "minute": (("دقيقة", "s"), ("دقيقتين", "d"), ("دقيقتان", "d"), ("دقائق", "p"), ("دقايق", "p")),
    "hour": (("ساعة", "s"), ("ساعتين", "d"), ("ساعتان", "d"), ("ساعات", "p")),
    "day": (("يوم", "s"), ("يوما", "s"), ("يومين", "d"), ("يومان", "d"), ("أيام", "p")),
    "week": (("أسبوع", "s"), ("أسبوعا", "s"), ("أسبوعين", "d"), ("أسبوعان", "d"), ("أسابيع", "p")),
    "month": (("شهر", "s"), ("شهرا", "s"), ("شهرين", "d"), ("شهران", "d"), ("أشهر", "p"), ("شهور", "p")),
    "year": (
        ("سنة", "s"), ("عام", "s"), ("عاما", "s"), ("سنتين", "d"), ("سنتان", "d"), ("عامين", "d"), ("عامان", "d"),
        ("سنوات", "p"), ("سنين", "p"), ("أعوام", "p"),
    ),
}.items():
    for _form, _kind in _forms:
        _UNITS[_n(_form)] = (_unit, _kind)

_WORD_NUMBERS: dict[str, int] = {}
for _value, _words in {
    1: ("واحد", "واحدة"),
    2: ("اثنين", "اثنتين", "اثنان"),
    3: ("ثلاث", "ثلاثة"),
    4: ("أربع", "أربعة"),
    5: ("خمس", "خمسة"),
    6: ("ست", "ستة"),
    7: ("سبع", "سبعة"),
    8: ("ثمان", "ثماني", "ثمانية"),
    9: ("تسع", "تسعة"),
    10: ("عشر", "عشرة"),
}.items():
    for _word in _words:
        _WORD_NUMBERS[_n(_word)] = _value

_DAY_WORDS: dict[str, int] = {
    _n("أول أمس"): 2,
    _n("أول من أمس"): 2,
    _n("قبل أمس"): 2,
    _n("أمس"): 1,
    _n("البارحة"): 1,
    _n("اليوم"): 0,
}
_NOW_WORDS = tuple(
    _n(w)
    for w in ("منذ أقل من دقيقة", "قبل أقل من دقيقة", "منذ لحظات", "قبل لحظات", "منذ قليل", "قبل قليل", "الآن", "حالا", "للتو")
)

# Time-of-day markers: normalised word -> how it maps a 12-hour clock.
_MARKERS: dict[str, str] = {}
for _word, _kind in (
    ("صباحا", "am"), ("صباح", "am"), ("صباحًا", "am"), ("ص", "am"), ("فجرا", "am"), ("am", "am"), ("a.m.", "am"),
    ("مساء", "pm"), ("مساءا", "pm"), ("مساءً", "pm"), ("م", "pm"), ("عصرا", "pm"), ("pm", "pm"), ("p.m.", "pm"),
    ("ظهرا", "noon"), ("الظهر", "noon"), ("زوالا", "noon"),
    ("ليلا", "night"), ("ليلًا", "night"),
):
    _MARKERS[_n(_word)] = _kind

_EN_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_RFC_ZONES = {"z": 0, "gmt": 0, "ut": 0, "utc": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}


# --------------------------------------------------------------------------- regexes
def _alt(words: Any) -> str:
    # Longest first: the regex engine takes the first alternative that fits.
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(set(words), key=len, reverse=True))


_L = r"\u0621-\u064a"  # Arabic letters (after normalisation)
_GMONTH = _alt(_GREGORIAN_MONTHS)
_HMONTH = _alt(_HIJRI_MONTHS)
# "تموز/يوليو", "تموز (يوليو)", "يوليو - تموز": both names must agree.
_MONTH_PAIR = rf"(?<![{_L}])({_GMONTH})(?![{_L}])(?:\s*[/(\-]\s*({_GMONTH})(?![{_L}])\s*\)?)?"
_YEAR_WORD = rf"(?:(?:{_alt([_n('سنة'), _n('عام')])})\s+)?"

# Between the parts: a space, or one of , - / . (the Arabic comma is a space once
# normalised), so "16 يوليو 2025", "16-يوليو-2025", "16/يوليو/2025", "16، يوليو، 2025".
_SEP = r"\s*[,.\-/]?\s*"
_ERA = rf"(?:\s*{_n('م')}(?![{_L}\d:]))?"  # "2025م": the Gregorian-era mark, not "p.m."
# day month year
_GREG_RE = re.compile(
    rf"(?<![\d.:/-])(\d{{1,2}})\s*(?:{_n('من')}\s+)?[-./,]?\s*{_MONTH_PAIR}{_SEP}{_YEAR_WORD}(\d{{4}})(?!\d){_ERA}"
)
# month day, year ("يوليو 16، 2025", "كانون الثاني 16, 2025"): the order of
# English-style datelines, common on Gulf and Levantine sites and in translated copy.
_GREG_MDY_RE = re.compile(
    rf"(?<![\d.:/-]){_MONTH_PAIR}{_SEP}(\d{{1,2}})(?![\d:])\s*[,\-/]?\s*{_YEAR_WORD}(\d{{4}})(?!\d){_ERA}"
)
_MONTH_ONLY_RE = re.compile(rf"(?<![\d.:/-]){_MONTH_PAIR}\s*[,.\-]?\s*{_YEAR_WORD}(\d{{4}})(?!\d)")
_NUM_DMY_RE = re.compile(r"(?<![\d.:/-])(\d{1,2})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{4})(?![\d.:/-]*\d)")
_NUM_YMD_RE = re.compile(r"(?<![\d.:/-])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d.:/-]*\d)")
_HIJRI_MARK = rf"(?:\s*(?:{_alt([_n('هجري'), _n('هجرية'), _n('هـ'), 'ه'])})(?![{_L}])\.?)?"
_HIJRI_RE = re.compile(
    rf"(?<![\d.:/-])(\d{{1,2}})\s*(?:{_n('من')}\s+)?[-./,]?\s*(?<![{_L}])({_HMONTH})(?![{_L}]){_SEP}{_YEAR_WORD}(\d{{3,4}})(?!\d)"
    + _HIJRI_MARK
)
# "رمضان 12، 1447 هـ": month first, as above.
_HIJRI_MDY_RE = re.compile(
    rf"(?<![{_L}\d.:/-])({_HMONTH})(?![{_L}]){_SEP}(\d{{1,2}})(?![\d:])\s*[,\-/]?\s*{_YEAR_WORD}(\d{{3,4}})(?!\d)"
    + _HIJRI_MARK
)
# The digits lead the pattern (fast to scan for); a preceding "الساعة" is looked up by
# `_take_time` only when it matters (a bare hour), and leftover words are harmless.
_TIME_RE = re.compile(
    r"(?<![\d:./-])(?P<h>\d{1,2})(?:(?::|h)(?P<m>\d{2})(?::(?P<s>\d{2}))?)?(?![\d:/-]|\.\d)"
    rf"(?:\s*(?P<mark>{_alt(_MARKERS)})(?![{_L}a-z]))?"
    r"(?:\s*(?P<zone>gmt|utc)\s*(?P<off>[+-]\d{1,2}(?::?\d{2})?)?)?"
)
_HOUR_WORD = (_n("الساعة"), _n("ساعة"))
_REL_RE = re.compile(
    rf"(?<![{_L}])(?:{_alt([_n('منذ'), _n('قبل')])})\s+(?:(?:{_alt([_n('حوالي'), _n('نحو')])})\s+)?"
    rf"(?:(?P<num>\d{{1,5}})\s*|(?P<word>{_alt(_WORD_NUMBERS)})\s+)?"
    rf"(?P<unit>{_alt(_UNITS)})(?![{_L}])(?:\s+(?P<one>{_alt([_n('واحد'), _n('واحدة')])})(?![{_L}]))?"
)
# "منذ ساعتين و10 دقائق", "منذ سنة وثلاثة أشهر", "منذ ساعة ونصف": a second, smaller
# part after "و", matched where the first one ends.
_REL_MORE_RE = re.compile(
    rf"\s*{_n('و')}\s*(?:(?P<fraction>{_alt([_n('نصف'), _n('ربع')])})|"
    rf"(?:(?P<num>\d{{1,5}})\s*|(?P<word>{_alt(_WORD_NUMBERS)})\s+)?"
    rf"(?P<unit>{_alt(_UNITS)})(?:\s+(?P<one>{_alt([_n('واحد'), _n('واحدة')])}))?)(?![{_L}])"
)
_FRACTIONS = {_n("نصف"): 0.5, _n("ربع"): 0.25}
_UNIT_ORDER = ("second", "minute", "hour", "day", "week", "month", "year")
_DAYWORD_RE = re.compile(rf"(?<![{_L}])(?:{_n('يوم')}\s+)?({_alt(_DAY_WORDS)})(?![{_L}])")
_NOW_RE = re.compile(rf"(?<![{_L}])(?:{_alt(_NOW_WORDS)})(?![{_L}])")
_RELATIVE_HINT = re.compile(
    rf"(?:{_alt([_n(w) for w in ('منذ', 'قبل', 'أمس', 'البارحة', 'اليوم', 'الآن', 'حالا', 'لحظات')])}|ago|yesterday|today|now)"
)
# A counted unit ("0 سنة", "3 ساعات") or a dual ("عامين") is relative wording too:
# dateparser would read it as an offset from today.
_COUNTED_UNIT_RE = re.compile(
    rf"(?<![{_L}])(?:(?:\d+\s*|(?:{_alt(_WORD_NUMBERS)})\s+)(?:{_alt(_UNITS)})"
    rf"|{_alt(w for w, (_, kind) in _UNITS.items() if kind == 'd')})(?![{_L}])"
)
# An ASCII digit run glued to Arabic-Indic/Persian digits is a label (LE12١٦-٠٧-٢٠٢٥):
# split them before folding, or the label's digits would merge into the day.
_GLUE_RE = re.compile(r"(?<=[0-9])(?=[\u0660-\u0669\u06f0-\u06f9])|(?<=[\u0660-\u0669\u06f0-\u06f9])(?=[0-9])")
_LABEL_RE = re.compile(r"(?<![a-z0-9])[a-z][a-z_]*\d+")
_DIGIT_RE = re.compile(r"\d")
_WORD_RE = re.compile(rf"[{_L}a-z]+")
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})(?:-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(z|[+-]\d{2}(?::?\d{2})?)?)?)?",
    re.IGNORECASE,
)
_RFC_RE = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*)?(\d{1,2})\s+([a-z]{3})[a-z]*\.?,?\s+(\d{4}|\d{2})"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(z|gmt|ut|utc|[ecmp][sd]t|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_CLOCK_RE = re.compile(r"\d{1,2}:\d{2}")
_YEAR4_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")

# The common shape (every Hespress date, most others) in one anchored match: weekday,
# day, one month name, year, optional "- HH:MM". Anything else takes the general path.
_WEEKDAYS = _alt(_n(w) for w in WEEKDAYS)
_COMMON_RE = re.compile(
    rf"(?:(?:{_n('يوم')}\s+)?(?:{_WEEKDAYS})\s*[,|\-]?\s*)?(\d{{1,2}})\s+({_GMONTH})\s+(\d{{4}})"
    r"(?:\s*[-|,]?\s*(\d{1,2}):(\d{2}))?"
)

_MAX_LEFTOVER_WORDS = 8  # weekday + a label ("آخر تحديث", "نشر في") fit; a sentence does not
_MAX_RELATIVE_LEFTOVER_WORDS = 2


# --------------------------------------------------------------------------- helpers
def _offset(text: str) -> tzinfo:
    text = text.lower()
    if text == "z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    body = text[1:]
    if ":" in body:
        hh, _, mm = body.partition(":")
    else:  # "+1", "+01", "+130", "+0130"
        hh, mm = (body, "0") if len(body) <= 2 else (body[:-2], body[-2:])
    hours, minutes = int(hh), int(mm)
    if hours > 14 or minutes > 59:
        raise ValueError(f"offset out of range: {text}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


_FIXED: dict[timedelta | None, tzinfo] = {}


def _fixed(value: datetime) -> datetime:
    """The same instant with the offset in force pinned as a fixed `timezone`.

    Python never finds a zoneinfo datetime in a repeated or skipped hour equal to any
    datetime of another zone (PEP 495), and Casablanca repeats an hour every Ramadan:
    pinned offsets keep comparisons, sorting and serialisation plain."""
    offset = value.utcoffset()
    tz = _FIXED.get(offset)
    if tz is None:
        tz = _FIXED.setdefault(offset, timezone(offset) if offset is not None else UTC)
    return value.replace(tzinfo=tz, fold=0)


def _local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    """Africa/Casablanca wall-clock time (tz database: UTC+1, UTC+0 in Ramadan)."""
    return _fixed(datetime(y, m, d, hh, mm, ss, us, tzinfo=CASABLANCA))


def _apply_marker(hour: int, marker: str | None) -> int | None:
    if marker is None:
        return hour if hour <= 23 else None
    kind = _MARKERS[marker]
    if hour > 12:
        # A 24-hour clock with a redundant afternoon word ("16:56 مساء") is fine;
        # "16:56 صباحا" contradicts itself.
        return hour if kind in ("pm", "noon") and hour <= 23 else None
    if kind == "am":
        return 0 if hour == 12 else hour
    if kind == "pm":
        return 12 if hour == 12 else hour + 12
    if kind == "noon":
        return hour if hour >= 11 else hour + 12
    # night: 8-11 in the evening, 12 is midnight, 1-5 small hours
    if hour == 12:
        return 0
    return hour + 12 if hour >= 6 else hour


def _strip(text: str, span: tuple[int, int]) -> str:
    return text[: span[0]] + " " + text[span[1] :]


def _leftover_ok(rest: str, max_words: int) -> bool:
    # Anything the grammar did not consume may only be words (weekday, label, "الموافق"):
    # a stray number means another reading exists, and we do not guess between them.
    if _DIGIT_RE.search(rest) and _DIGIT_RE.search(_LABEL_RE.sub(" ", rest)):
        return False
    return len(_WORD_RE.findall(rest)) <= max_words


class _Time:
    __slots__ = ("hour", "minute", "second", "tz", "precision")

    def __init__(self, hour: int, minute: int, second: int, tz: tzinfo | None, precision: str) -> None:
        self.hour, self.minute, self.second, self.tz, self.precision = hour, minute, second, tz, precision


def _take_time(text: str) -> tuple[_Time | None, str, bool]:
    """Find at most one time of day in `text`; return it, the text without it, and False
    when the time is malformed or there are two."""
    found: _Time | None = None
    rest = text
    for m in _TIME_RE.finditer(text):
        h, minute, second, mark, zone, off = m.groups()
        if minute is None and mark is None and not text[: m.start()].rstrip().endswith(_HOUR_WORD):
            continue  # a bare number is not a time; the leftover check will see it
        if found is not None:
            return None, text, False
        hour = _apply_marker(int(h), mark)
        mi = int(minute) if minute is not None else 0
        sec = int(second) if second else 0
        if hour is None or mi > 59 or sec > 59:
            return None, text, False
        tz: tzinfo | None = None
        if zone:
            tz = _offset(off) if off else UTC
        found = _Time(hour, mi, sec, tz, "minute" if minute is not None else "hour")
        rest = _strip(text, m.span())
    return found, rest, True


def _at(day: date, time: _Time | None) -> tuple[datetime, str]:
    if time is None:
        return _local(day.year, day.month, day.day), "day"
    if time.tz is not None:
        return datetime(day.year, day.month, day.day, time.hour, time.minute, time.second, tzinfo=time.tz), time.precision
    return _local(day.year, day.month, day.day, time.hour, time.minute, time.second), time.precision


def _lookup(table: dict[str, int], name: str) -> int:
    found = table.get(name)
    return found if found is not None else table[" ".join(name.split())]  # "كانون  الثاني"


def _month_of(m: re.Match[str], first: int) -> int | None:
    a = _lookup(_GREGORIAN_MONTHS, m.group(first))
    b_text = m.group(first + 1)
    if b_text is not None and _lookup(_GREGORIAN_MONTHS, b_text) != a:
        return None  # "تموز/أغسطس": the two names disagree
    return a


def _valid_year(year: int) -> bool:
    return 1900 <= year <= 2100


# --------------------------------------------------------------------------- fast paths
def _parse_iso(text: str) -> ParsedDate | None:
    m = _ISO_RE.fullmatch(text)
    if m is None:
        return None
    y, mo, d, hh, mi, ss, frac, off = m.groups()
    if not _valid_year(int(y)):
        return None
    if d is None:
        return ParsedDate(_local(int(y), int(mo), 1), "month")
    if hh is None:
        return ParsedDate(_local(int(y), int(mo), int(d)), "day")
    micro = int((frac or "0")[:6].ljust(6, "0"))
    if off is None:
        return ParsedDate(_local(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0), micro), "minute")
    value = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0), micro, tzinfo=_offset(off))
    return ParsedDate(value, "minute")


def _parse_rfc(text: str) -> ParsedDate | None:
    m = _RFC_RE.fullmatch(text)
    if m is None:
        return None
    d, mon, y, hh, mi, ss, zone = m.groups()
    month = _EN_MONTHS.get(mon.lower())
    if month is None:
        return None
    year = int(y)
    if len(y) == 2:  # RFC 2822 section 4.3
        year += 2000 if year < 50 else 1900
    if not _valid_year(year):
        return None
    if hh is None:
        return ParsedDate(_local(year, month, int(d)), "day")
    if zone is None:
        return ParsedDate(_local(year, month, int(d), int(hh), int(mi), int(ss or 0)), "minute")
    tz: tzinfo
    if zone.lower() in _RFC_ZONES:
        tz = timezone(timedelta(hours=_RFC_ZONES[zone.lower()]))
    else:
        tz = _offset(zone)
    return ParsedDate(datetime(year, month, int(d), int(hh), int(mi), int(ss or 0), tzinfo=tz), "minute")


def _find_gregorian(n: str) -> tuple[re.Match[str], date] | None | bool:
    """The Gregorian date in `n`: numeric day-first, numeric year-first, or a named month.
    False when there is none; None when there is one but its month names disagree."""
    if "-" in n or "/" in n or "." in n:
        m = _NUM_DMY_RE.search(n)
        if m is not None:
            return m, date(int(m.group(4)), int(m.group(3)), int(m.group(1)))
        m = _NUM_YMD_RE.search(n)
        if m is not None:
            return m, date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
    m = _GREG_RE.search(n)
    if m is not None:
        month = _month_of(m, 2)
        if month is None:
            return None
        return m, date(int(m.group(4)), month, int(m.group(1)))
    m = _GREG_MDY_RE.search(n)
    if m is not None:
        month = _month_of(m, 1)
        if month is None:
            return None
        return m, date(int(m.group(4)), month, int(m.group(3)))
    return False


def _find_hijri(n: str) -> tuple[re.Match[str], int, int, int] | None:
    """The Hijri date in `n` as (match, year, month, day), day first or month first."""
    m = _HIJRI_RE.search(n)
    if m is not None:
        return m, int(m.group(3)), _lookup(_HIJRI_MONTHS, m.group(2)), int(m.group(1))
    m = _HIJRI_MDY_RE.search(n)
    if m is not None:
        return m, int(m.group(3)), _lookup(_HIJRI_MONTHS, m.group(1)), int(m.group(2))
    return None


def _parse_absolute(n: str) -> ParsedDate | _Rejected | None | bool:
    """Gregorian (numeric or named), Hijri, month-only. False when no absolute date is
    present at all (relative forms are tried next); None (or a `_Rejected` with a reason)
    when one is, but is invalid."""
    found = _find_gregorian(n)
    if found is None:
        return None
    if found is not False:
        m, day = found  # type: ignore[misc]
        if not _valid_year(day.year):
            return None
        rest = _strip(n, m.span())
        if _DIGIT_RE.search(rest):
            # "… 1447 هـ الموافق 16 يوليوز 2025": the Gregorian date wins, the Hijri one
            # is consumed so that its digits do not count as unexplained.
            hijri = _find_hijri(rest)
            if hijri is not None:
                rest = _strip(rest, hijri[0].span())
        time, rest, ok = _take_time(rest)
        if not ok or not _leftover_ok(rest, _MAX_LEFTOVER_WORDS):
            return None
        value, precision = _at(day, time)
        return ParsedDate(value, precision)
    hijri = _find_hijri(n)
    if hijri is not None:
        m, year, month, day_number = hijri
        _, rest, ok = _take_time(_strip(n, m.span()))
        if not ok or not _leftover_ok(rest, _MAX_LEFTOVER_WORDS):
            return None
        if year >= 1900:
            return None  # "10 رمضان 2025": a Gregorian year beside a Hijri month, no reading
        try:
            day = hijri_to_gregorian(year, month, day_number)
        except HijriOutOfRange:
            # A real Hijri date the tables cannot place: say so, never guess a day.
            return _Rejected("hijri_out_of_range")
        # Morocco's calendar follows moon sighting and can run a day off Umm al-Qura: a
        # time of day would claim more than we know, so Hijri-only dates stay day-precise.
        return ParsedDate(_local(day.year, day.month, day.day), "day")
    m = _MONTH_ONLY_RE.search(n)
    if m is None:
        return False
    month_of = _month_of(m, 1)
    year = int(m.group(3))
    if month_of is None or not _valid_year(year) or not _leftover_ok(_strip(n, m.span()), _MAX_LEFTOVER_WORDS):
        return None
    return ParsedDate(_local(year, month_of, 1), "month")


def _parse_relative(n: str, reference: datetime) -> ParsedDate | None:
    ref_local = reference.astimezone(CASABLANCA)
    m = _NOW_RE.search(n)
    if m is not None:
        if not _leftover_ok(_strip(n, m.span()), _MAX_RELATIVE_LEFTOVER_WORDS):
            return None
        return ParsedDate(_fixed(ref_local.replace(second=0, microsecond=0)), "minute")
    m = _DAYWORD_RE.search(n)
    if m is not None:
        days_back = _lookup(_DAY_WORDS, m.group(1))
        rest = _strip(n, m.span())
        at_time, rest, ok = _take_time(rest)
        # "اليوم" is an everyday word ("كاريكاتير اليوم"): only alone or with a time.
        limit = 0 if days_back == 0 else _MAX_RELATIVE_LEFTOVER_WORDS
        if not ok or not _leftover_ok(rest, limit):
            return None
        value, precision = _at(ref_local.date() - timedelta(days=days_back), at_time)
        return ParsedDate(value, precision)
    m = _REL_RE.search(n)
    if m is None:
        return None
    unit, count = _UNITS[m.group("unit")][0], _count_of(m)
    if count is None:
        return None
    amount = _UNIT_STEP[unit] * count
    span = m.span()
    more = _REL_MORE_RE.match(n, m.end())
    if more is not None:
        if more.group("fraction") is not None:
            amount += _UNIT_STEP[unit] * _FRACTIONS[more.group("fraction")]
        else:
            small, small_count = _UNITS[more.group("unit")][0], _count_of(more)
            if small_count is None or _UNIT_ORDER.index(small) >= _UNIT_ORDER.index(unit):
                return None  # "منذ 3 دقائق وساعتين": not how anyone counts
            amount += _UNIT_STEP[small] * small_count
            unit = small  # the finer part sets the precision
        span = (m.start(), more.end())
    rest = _strip(n, span)
    time: _Time | None = None
    if unit in ("day", "week") and more is None:
        time, rest, ok = _take_time(rest)
        if not ok:
            return None
    if not _leftover_ok(rest, _MAX_RELATIVE_LEFTOVER_WORDS):
        return None
    if time is not None:
        # "منذ يومين الساعة 18:00": the time pins a calendar day, counted back locally.
        value, precision = _at(ref_local.date() - timedelta(days=count * (7 if unit == "week" else 1)), time)
        return ParsedDate(value, precision)
    # Sites round these counts (WordPress human_time_diff: "3 hours" is 2.5-3.5 h ago,
    # "2 days" 1.5-2.5 days, a month is 30 days), so the reference minus the amount is
    # the best estimate, kept to the minute; the precision says how loose it is.
    value = _fixed((reference - amount).astimezone(CASABLANCA).replace(second=0, microsecond=0))
    if not _valid_year(value.year):
        return None  # "منذ 99999 يوم" is not a news date
    return ParsedDate(value, _UNIT_PRECISION[unit])


def _count_of(m: re.Match[str]) -> int | None:
    """The count a relative-unit match states, or None when it states none or two."""
    kind = _UNITS[m.group("unit")][1]
    count: int | None
    if m.group("num") is not None:
        count = int(m.group("num"))
    elif m.group("word") is not None:
        count = _WORD_NUMBERS[m.group("word")]
    else:
        count = None
    if kind == "d":
        return 2 if count in (None, 2) else None  # "منذ 3 يومين" contradicts itself
    if kind == "p":
        return count  # "منذ أيام": vague, no count
    if m.group("one") is not None and count not in (None, 1):
        return None
    return 1 if count is None else count


_UNIT_STEP = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
}
# The finest precision that still covers the rounding: "3 hours" is +-30 min (hour),
# "2 days" +-12 h (day), but "1 week" is +-3.5 days, which only "month" covers, and
# "2 years" is +-6 months, which only "year" does.
_UNIT_PRECISION = {
    "second": "minute", "minute": "minute", "hour": "hour", "day": "day", "week": "month", "month": "month",
    "year": "year",
}


@dataclass(frozen=True, slots=True)
class _Rejected:
    """A date is there but cannot be given a value: no second opinion is asked."""

    reason: str


_REJECTED = _Rejected("invalid")


def _parse_fast(text: str, reference: datetime | None) -> ParsedDate | _Rejected | None:
    head = text.lstrip()[:1]
    # Machine formats start with a digit or a Latin letter; Arabic text skips them.
    if head.isdigit() or (head.isascii() and head.isalpha()):
        folded = fold_digits(text).strip()
        if folded[:4].isdigit() and folded[4:5] == "-":
            iso = _parse_iso(folded)
            if iso is not None:
                return iso
        if folded[:1].isascii() and folded[:1].isalnum():
            rfc = _parse_rfc(folded)
            if rfc is not None:
                return rfc
    n = normalize(_GLUE_RE.sub(" ", text))
    m = _COMMON_RE.fullmatch(n)
    if m is not None:
        day, month, year, hh, mi = m.groups()
        if _valid_year(int(year)):
            if hh is None:
                return ParsedDate(_local(int(year), _lookup(_GREGORIAN_MONTHS, month), int(day)), "day")
            if int(hh) <= 23 and int(mi) <= 59:
                return ParsedDate(
                    _local(int(year), _lookup(_GREGORIAN_MONTHS, month), int(day), int(hh), int(mi)), "minute"
                )
    result = _parse_absolute(n)
    if result is None:
        return _REJECTED  # a date was there but contradicts itself: no second opinion
    if result is not False:
        return result  # type: ignore[return-value]
    return _parse_relative(n, reference or datetime.now(UTC))


# --------------------------------------------------------------------------- fallback
_LATIN_LOCALES = ("en", "fr")
_ARABIC_LOCALES = ("ar-MA", "ar")  # dateparser knows the Moroccan months only as ar-MA
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u017f]{3,}")
_ARABIC_LETTER_RE = re.compile(r"[\u0621-\u064a]")
_dateparser_cache: dict[str, Any] = {}


def _parse_dateparser(text: str) -> ParsedDate | None:
    folded = fold_digits(text)
    # Only absolute dates with a full year go to dateparser: its relative parsing and its
    # habit of filling missing parts from today would be guesses. Digits-only text is
    # the fast path's alone (dateparser would read "16/07/25" or "1216-07-2025" somehow).
    if not _YEAR4_RE.search(folded):
        return None
    normalized = normalize(folded)
    if _RELATIVE_HINT.search(normalized) or _COUNTED_UNIT_RE.search(normalized):
        return None
    if _LATIN_WORD_RE.search(folded):
        locales = _LATIN_LOCALES
    elif _ARABIC_LETTER_RE.search(folded):
        locales = _ARABIC_LOCALES
    else:
        return None
    try:
        from dateparser.date import DateDataParser
    except ImportError:  # optional at run time
        return None
    for locale in locales:
        parser = _dateparser_cache.get(locale)
        if parser is None:
            parser = DateDataParser(
                locales=[locale],
                settings={
                    "TIMEZONE": "Africa/Casablanca",
                    "RETURN_AS_TIMEZONE_AWARE": True,
                    "STRICT_PARSING": True,
                    "DATE_ORDER": "DMY",
                    "PREFER_DATES_FROM": "past",
                },
            )
            _dateparser_cache[locale] = parser
        data = parser.get_date_data(folded)
        if data.date_obj is not None:
            value = data.date_obj
            if value.tzinfo is None:
                value = value.replace(tzinfo=CASABLANCA)
            value = _fixed(value.astimezone(CASABLANCA))
            if not _valid_year(value.year):
                return None
            if _CLOCK_RE.search(folded):
                return ParsedDate(value.replace(second=0, microsecond=0), "minute", "dateparser")
            return ParsedDate(_local(value.year, value.month, value.day), "day", "dateparser")
    return None


# --------------------------------------------------------------------------- public API
def parse_date(text: Any, *, reference: datetime | None = None, fallback: bool = True) -> ParsedDate | None:
    """Parse a date string as the sites print it; None when it is not (only) a date.

    `reference` is the aware moment the page was fetched: relative dates resolve against
    it (the current time when absent). `fallback` lets dateparser try forms the fast
    path does not know. Never raises.
    """
    return parse_date_explained(text, reference=reference, fallback=fallback)[0]


def parse_date_explained(
    text: Any, *, reference: datetime | None = None, fallback: bool = True
) -> tuple[ParsedDate | None, str | None]:
    """`parse_date`, plus why there is no result: ``invalid`` (a date with impossible or
    contradictory parts), ``hijri_out_of_range`` (a Hijri year outside the Umm al-Qura
    tables, 1343-1500 AH), ``not_a_date``; the reason is None when a date was read."""
    if not isinstance(text, str) or not text or len(text) > _MAX_LEN:
        return None, "not_a_date"
    if reference is not None and (not isinstance(reference, datetime) or reference.tzinfo is None):
        reference = reference.replace(tzinfo=UTC) if isinstance(reference, datetime) else None
    try:
        result = _parse_fast(text, reference)
    except (ValueError, OverflowError):
        # Out-of-range parts (31 February, hour 25, year 10000) mean "not a date".
        return None, "invalid"
    except Exception:  # a bug here must not lose the item: log it loudly, return None
        logger.exception("date parser failed on %r", text)
        return None, "invalid"
    if isinstance(result, _Rejected):
        return None, result.reason
    if result is None and fallback:
        try:
            result = _parse_dateparser(text)
        except Exception:  # dateparser is third-party code: contain whatever it throws
            logger.debug("dateparser failed on %r", text, exc_info=True)
            return None, "not_a_date"
    return result, None if result is not None else "not_a_date"


# --------------------------------------------------------------------------- pipeline
def _as_reference(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = parse_date(value, fallback=False)
        return parsed.value if parsed is not None else None
    return None


class DatesPipeline:
    """Fills `date_published` (+ precision) and `date_modified` from the raw strings.

    `date_published_raw` first, then `date_displayed_raw`; relative dates resolve
    against the item's `fetched_at`. Unparseable strings keep the item: the field stays
    empty, the string is logged, counted (``dates/unparsed``; Hijri dates outside the
    Umm al-Qura tables also ``dates/hijri_out_of_range``) and sampled
    (``dates/unparsed_samples``).
    """

    def __init__(self, stats: Any, *, fallback: bool = True, samples: int = 20) -> None:
        self.stats = stats
        self.fallback = fallback
        self.samples = samples
        self._sampled: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> DatesPipeline:
        settings = crawler.settings
        if not settings.getbool("DATES_ENABLED", True):
            raise NotConfigured("DATES_ENABLED is off")
        return cls(
            crawler.stats,
            fallback=settings.getbool("DATES_DATEPARSER_FALLBACK", True),
            samples=settings.getint("DATES_UNPARSED_SAMPLES", 20),
        )

    def _parse(self, adapter: Fields, field: str, reference: datetime | None) -> ParsedDate | None:
        raw = adapter.get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, datetime) and raw.tzinfo is not None:
            return ParsedDate(raw, "minute")
        parsed, reason = parse_date_explained(str(raw), reference=reference, fallback=self.fallback)
        if parsed is None:
            self._unparsed(adapter, field, str(raw))
            if reason == "hijri_out_of_range":
                self.stats.inc_value("dates/hijri_out_of_range")
        elif parsed.method == "dateparser":
            self.stats.inc_value("dates/dateparser_fallback")
        return parsed

    def _unparsed(self, adapter: Fields, field: str, raw: str) -> None:
        logger.warning("unparseable %s %r (%s)", field, raw, adapter.get("url"))
        self.stats.inc_value("dates/unparsed")
        self.stats.inc_value(f"dates/unparsed/{field}")
        if len(self._sampled) < self.samples and raw not in self._sampled:
            self._sampled.append(raw)
            self.stats.set_value("dates/unparsed_samples", list(self._sampled))

    def process_item(self, item: Any) -> Any:
        adapter = fields_of(item)
        reference = _as_reference(adapter.get("fetched_at"))
        published = self._parse(adapter, "date_published_raw", reference)
        if published is None:
            displayed = self._parse(adapter, "date_displayed_raw", reference)
            if displayed is not None:
                published = displayed
                self.stats.inc_value("dates/from_displayed")
        if published is not None:
            adapter["date_published"] = published.value
            adapter["date_published_precision"] = published.precision
            self.stats.inc_value(f"dates/parsed/{published.precision}")
        else:
            adapter["date_published"] = None
            adapter["date_published_precision"] = None
            if adapter.get("date_published_raw") is None and adapter.get("date_displayed_raw") is None:
                self.stats.inc_value("dates/missing")
        modified = self._parse(adapter, "date_modified_raw", reference)
        if modified is not None:
            adapter["date_modified"] = modified.value
            self.stats.inc_value("dates/modified_parsed")
        return item

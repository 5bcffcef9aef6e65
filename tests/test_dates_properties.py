"""Property tests for `parse_date`: any date written in any supported form (including
the snapshot server's emulated site formats) parses back to itself; arbitrary text never
raises; date-like noise never yields an invented date."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime

from hijridate import Gregorian
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crawler.arabic import fold_digits
from crawler.snapshot import dates as site_dates
from pipelines.dates import CASABLANCA, hijri_to_gregorian, parse_date, parse_date_explained

MOROCCAN = "يناير فبراير مارس أبريل ماي يونيو يوليوز غشت شتنبر أكتوبر نونبر دجنبر".split()
EGYPTIAN = "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر".split()
LEVANTINE = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"]
ALGERIAN = "جانفي فيفري مارس أفريل ماي جوان جويلية أوت سبتمبر أكتوبر نوفمبر ديسمبر".split()
HIJRI = ["محرم", "صفر", "ربيع الأول", "ربيع الآخر", "جمادى الأولى", "جمادى الآخرة", "رجب", "شعبان", "رمضان", "شوال", "ذو القعدة", "ذو الحجة"]
WEEKDAYS = ["الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]
DIGITS = {
    "ascii": str.maketrans("", ""),
    "arabic-indic": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    "persian": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
}

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Writer = Callable[[datetime], str]


def _12h(local: datetime, am: str, pm: str) -> str:
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M} {am if local.hour < 12 else pm}"


# Minute-precise forms: each writes a local wall-clock time as a site would.
MINUTE_FORMS: dict[str, Writer] = {
    "hespress": lambda t: f"{WEEKDAYS[t.weekday()]} {t.day} {MOROCCAN[t.month - 1]} {t.year} - {t:%H:%M}",
    "hespress-old": lambda t: f"{WEEKDAYS[t.weekday()]} {t.day:02d} {MOROCCAN[t.month - 1]} {t.year} - {t:%H:%M}",
    "rue20": lambda t: f"{WEEKDAYS[t.weekday()]} {t.day} {EGYPTIAN[t.month - 1]} {t.year} على الساعة {t:%H:%M}",
    "levantine": lambda t: f"{t.day} {LEVANTINE[t.month - 1]}/{EGYPTIAN[t.month - 1]} {t.year} | {t:%H:%M}",
    "algerian": lambda t: f"{WEEKDAYS[t.weekday()]}، {t.day} {ALGERIAN[t.month - 1]} {t.year} الساعة {t:%H:%M}",
    "ampm-short": lambda t: f"{t.day} {EGYPTIAN[t.month - 1]} {t.year} - " + _12h(t, "ص", "م"),
    "ampm-long": lambda t: f"{t.day} {MOROCCAN[t.month - 1]} {t.year} " + _12h(t, "صباحا", "مساء"),
    "numeric-dash": lambda t: f"{t:%d-%m-%Y %H:%M}",
    "numeric-slash": lambda t: f"{t:%d/%m/%Y} - {t:%H:%M}",
    "time-first": lambda t: f"{t:%H:%M} | {t.day}.{t.month}.{t.year}",
    "iso-local": lambda t: f"{t:%Y-%m-%dT%H:%M:00}",
    "hijri-paired": lambda t: f"12 رجب 1440 هـ الموافق {t.day} {MOROCCAN[t.month - 1]} {t.year} - {t:%H:%M}",
    # month first ("month day, year"), Latin or Arabic comma, 12- or 24-hour clock
    "mdy-levantine": lambda t: f"{LEVANTINE[t.month - 1]} {t.day}، {t.year} - " + _12h(t, "ص", "م"),
    "mdy-algerian": lambda t: f"{WEEKDAYS[t.weekday()]}، {ALGERIAN[t.month - 1]} {t.day}, {t.year} " + _12h(t, "AM", "PM"),
    "mdy-gulf": lambda t: f"{EGYPTIAN[t.month - 1]} {t.day}, {t.year} الساعة {t:%H:%M}",
}
DAY_FORMS: dict[str, Writer] = {
    "moroccan": lambda t: f"{t.day} {MOROCCAN[t.month - 1]} {t.year}",
    "egyptian": lambda t: f"{WEEKDAYS[t.weekday()]} {t.day} {EGYPTIAN[t.month - 1]} {t.year}",
    "levantine": lambda t: f"{t.day} {LEVANTINE[t.month - 1]} {t.year}",
    "algerian": lambda t: f"{t.day} {ALGERIAN[t.month - 1]} {t.year}م",
    "le12": lambda t: "LE12" + f"{t:%d-%m-%Y}".translate(DIGITS["arabic-indic"]),
    "numeric-dot": lambda t: f"{t:%d.%m.%Y}",
    "iso-date": lambda t: f"{t:%Y-%m-%d}",
    "mdy-moroccan": lambda t: f"{MOROCCAN[t.month - 1]} {t.day}، {t.year}",
    "mdy-levantine": lambda t: f"{WEEKDAYS[t.weekday()]}، {LEVANTINE[t.month - 1]} {t.day}, {t.year}",
    "slashes-levantine": lambda t: f"{t.day}/{LEVANTINE[t.month - 1]}/{t.year}",
    "dashes-algerian": lambda t: f"{t.day}-{ALGERIAN[t.month - 1]}-{t.year}",
}

local_datetimes = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31)).map(
    lambda t: t.replace(second=0, microsecond=0, fold=0)
)


def local(wall: datetime) -> datetime:
    """`wall` in Casablanca as a fixed-offset datetime. Python never finds a zoneinfo time
    in a skipped or repeated hour equal to another zone's (PEP 495), so expectations
    are pinned the way the parser pins its values."""
    aware = wall.replace(tzinfo=CASABLANCA)
    return aware.astimezone(timezone(aware.utcoffset()))  # type: ignore[arg-type]


def _exists(wall: datetime) -> bool:
    # Wall-clock times skipped or repeated by a clock change have no single reading:
    # there, the two folds give different offsets.
    return wall.replace(tzinfo=CASABLANCA, fold=0).utcoffset() == wall.replace(tzinfo=CASABLANCA, fold=1).utcoffset()


@PROPS
@given(local_datetimes, st.sampled_from(sorted(MINUTE_FORMS)), st.sampled_from(sorted(DIGITS)))
def test_minute_forms_parse_back_to_themselves(wall: datetime, form: str, digits: str) -> None:
    assume(_exists(wall))
    text = MINUTE_FORMS[form](wall)
    if not form.startswith("iso"):
        text = text.translate(DIGITS[digits])
    got = parse_date(text, fallback=False)
    assert got is not None, text
    assert got.precision == "minute", text
    assert got.value == local(wall), text
    assert got.value.utcoffset() == local(wall).utcoffset(), text


@PROPS
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)), st.sampled_from(sorted(DAY_FORMS)), st.sampled_from(sorted(DIGITS)))
def test_day_forms_parse_back_to_themselves(day: date, form: str, digits: str) -> None:
    text = DAY_FORMS[form](datetime(day.year, day.month, day.day))
    if form != "le12":
        text = text.translate(DIGITS[digits])
    got = parse_date(text, fallback=False)
    assert got is not None, text
    assert got.precision == "day"
    assert got.value == local(datetime(day.year, day.month, day.day)), text


@PROPS
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30)), timezone(timedelta(hours=3))])))
def test_machine_forms_parse_back_to_themselves(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    for text in (moment.isoformat(), format_datetime(moment), moment.isoformat().translate(DIGITS["arabic-indic"])):
        got = parse_date(text, fallback=False)
        assert got is not None, text
        assert got.value == moment and got.precision == "minute", text


UNITS = {  # unit -> (singular, dual, plural 3-10, 11+)
    "minute": ("دقيقة", "دقيقتين", "دقائق", "دقيقة"),
    "hour": ("ساعة", "ساعتين", "ساعات", "ساعة"),
}


@PROPS
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2050, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(sorted(UNITS)),
    st.integers(min_value=1, max_value=59),
    st.sampled_from(["منذ", "قبل"]),
)
def test_relative_minutes_and_hours_parse_back(reference: datetime, unit: str, n: int, word: str) -> None:
    one, two, few, many = UNITS[unit]
    phrase = one if n == 1 else two if n == 2 else f"{n} {few if n <= 10 else many}"
    got = parse_date(f"{word} {phrase}", reference=reference, fallback=False)
    assert got is not None
    step = timedelta(minutes=1) if unit == "minute" else timedelta(hours=1)
    assert got.value == (reference - n * step).replace(second=0, microsecond=0)
    assert got.precision == unit


@PROPS
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2050, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=1, max_value=60),
    st.sampled_from(["سنة", "عام"]),
    st.sampled_from(["منذ", "قبل"]),
)
def test_relative_years_are_365_days_each_and_year_precise(reference: datetime, n: int, noun: str, word: str) -> None:
    forms = {  # singular, dual, plural 3-10, 11+
        "سنة": ("سنة", "سنتين", "سنوات", "سنة"),
        "عام": ("عام", "عامين", "أعوام", "عاما"),
    }[noun]
    phrase = forms[0] if n == 1 else forms[1] if n == 2 else f"{n} {forms[2] if n <= 10 else forms[3]}"
    got = parse_date(f"{word} {phrase}", reference=reference, fallback=False)
    assert got is not None and got.precision == "year", phrase
    assert got.value == (reference - timedelta(days=365 * n)).replace(second=0, microsecond=0)


@PROPS
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2050, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=1, max_value=40),
)
def test_relative_days_are_counted_back_from_the_reference(reference: datetime, n: int) -> None:
    phrase = "يوم واحد" if n == 1 else "يومين" if n == 2 else f"{n} {'أيام' if n <= 10 else 'يوما'}"
    got = parse_date(f"منذ {phrase}", reference=reference, fallback=False)
    assert got is not None and got.precision == "day"
    assert got.value == (reference - timedelta(days=n)).replace(second=0, microsecond=0)
    # With a time, the count names a local calendar day.
    got = parse_date(f"منذ {phrase} الساعة 10:15", reference=reference, fallback=False)
    assert got is not None and got.precision == "minute"
    day = reference.astimezone(CASABLANCA).date() - timedelta(days=n)
    assert got.value == local(datetime(day.year, day.month, day.day, 10, 15))


@PROPS
@given(st.integers(min_value=1365, max_value=1499), st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=29))
def test_hijri_conversion_is_a_consistent_calendar(year: int, month: int, day: int) -> None:
    # From 1365 AH on, the published Umm al-Qura months are all 29 or 30 days long (the
    # earliest tables also hold months of 28 and 31 days, kept as published).
    start = hijri_to_gregorian(year, month, 1)
    assert hijri_to_gregorian(year, month, day) == start + timedelta(days=day - 1)
    following = hijri_to_gregorian(year + (month == 12), month % 12 + 1, 1)
    assert (following - start).days in (29, 30)
    # A sighted 30th is the day after the 29th whatever Umm al-Qura makes the month.
    assert hijri_to_gregorian(year, month, 30) == start + timedelta(days=29)


@PROPS
@given(st.dates(min_value=date(1924, 8, 1), max_value=date(2077, 11, 16)), st.sampled_from(sorted(DIGITS)), st.booleans())
def test_hijri_dates_read_as_umm_al_qura(day: date, digits: str, month_first: bool) -> None:
    # Any day of the tables, written as its Umm al-Qura Hijri date, reads back as itself.
    h = Gregorian(day.year, day.month, day.day).to_hijri()
    name = HIJRI[h.month - 1]
    text = f"{name} {h.day}، {h.year} هـ" if month_first else f"{h.day} {name} {h.year} هـ"
    got = parse_date(text.translate(DIGITS[digits]), fallback=False)
    assert got is not None and got.precision == "day", text
    assert got.value == local(datetime(day.year, day.month, day.day)), text


@PROPS
@given(st.one_of(st.integers(100, 1342), st.integers(1501, 1899)), st.integers(1, 12), st.integers(1, 29))
def test_hijri_dates_outside_the_tables_fail_clearly(year: int, month: int, day: int) -> None:
    got, reason = parse_date_explained(f"{day} {HIJRI[month - 1]} {year} هـ")
    assert got is None and reason == "hijri_out_of_range"
    # A Gregorian-looking year beside a Hijri month is no date at all, not an old one.
    got, reason = parse_date_explained(f"{day} {HIJRI[month - 1]} {year + 1900 - 100}")
    assert got is None and reason == "invalid"


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_never_raises(text: str) -> None:
    got = parse_date(text)
    assert got is None or got.value.tzinfo is not None


NOISE_WORDS = ["نشر في", "آخر تحديث", "الموافق", "هسبريس", "time", "LE12", "|", "-", "،", ":", "الساعة"]
TOKENS = (
    MOROCCAN + EGYPTIAN + LEVANTINE + ALGERIAN + HIJRI + WEEKDAYS + NOISE_WORDS
    + ["منذ", "قبل", "أمس", "اليوم", "هـ", "ص", "م", "مساء", "/", ".", ",", "سنة", "عامين", "PM", "كانون", "تشرين"]
)
numbers = st.one_of(st.integers(0, 40), st.integers(1300, 2100), st.integers(0, 99999)).map(str)
token_soup = st.lists(st.one_of(st.sampled_from(TOKENS), numbers, numbers.map(lambda n: n + ":" + "30")), max_size=9)
RELATIVE = re.compile("منذ|قبل|أمس|اليوم")


@settings(max_examples=800, deadline=None)
@given(token_soup, st.sampled_from(sorted(DIGITS)))
def test_date_like_noise_never_yields_an_invented_date(tokens: list[str], digits: str) -> None:
    text = " ".join(tokens).translate(DIGITS[digits])
    got = parse_date(text, reference=datetime(2025, 7, 16, 12, tzinfo=UTC))
    if got is None or RELATIVE.search(text):
        return
    folded = fold_digits(text)
    local = got.value.astimezone(CASABLANCA) if got.value.utcoffset() is not None else got.value
    if any(h in text for h in HIJRI) and str(local.year) not in folded:
        return  # a Hijri date converts to a year that is not printed
    # Whatever was read, its year was printed, and so was its day unless it is a month.
    assert str(got.value.year) in folded, text
    if got.precision != "month":
        assert re.search(rf"(?<!\d)0?{got.value.day}(?!\d)", folded), text


@PROPS
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)), st.lists(st.sampled_from(NOISE_WORDS[:5]), max_size=3))
def test_labels_around_a_date_do_not_change_it(day: date, labels: list[str]) -> None:
    text = " ".join(labels) + f" {day.day} {MOROCCAN[day.month - 1]} {day.year}"
    got = parse_date(text, fallback=False)
    assert got is not None, text
    assert got.value == local(datetime(day.year, day.month, day.day))


@PROPS
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)), st.integers(0, 9999), st.booleans())
def test_a_stray_number_means_no_answer_rather_than_a_guess(day: date, stray: int, before: bool) -> None:
    core = f"{day.day} {EGYPTIAN[day.month - 1]} {day.year}"
    text = f"{stray} {core}" if before else f"{core} رقم {stray}"
    got = parse_date(text)
    assert got is None or got.value == local(datetime(day.year, day.month, day.day)), text


# The bundled snapshot server prints dates the way each emulated site does
# (crawler/snapshot/dates.py); whatever it prints must read back.

TOLERANCE = {  # how far a rounded relative count may be from the truth, per precision
    "minute": timedelta(seconds=90),
    "hour": timedelta(minutes=31),
    "day": timedelta(hours=12, minutes=1),
    "month": timedelta(days=15, minutes=1),
    "year": timedelta(days=183, minutes=1),
}


@PROPS
@given(local_datetimes, st.sampled_from(["hespress", "hespress-old", "le12", "rue20", "rue20-ala", "belpresse", "plain"]))
def test_snapshot_site_formats_read_back(wall: datetime, site: str) -> None:
    assume(_exists(wall))
    text = {
        "hespress": lambda: site_dates.hespress(wall),
        "hespress-old": lambda: site_dates.hespress(wall, old_cms=True),
        "le12": lambda: site_dates.le12(wall),
        "rue20": lambda: site_dates.rue20(wall),
        "rue20-ala": lambda: site_dates.rue20(wall, style="ala_saa"),
        "belpresse": lambda: site_dates.belpresse(wall),
        "plain": lambda: site_dates.plain(wall),
    }[site]()
    got = parse_date(text, fallback=False)
    assert got is not None, text
    if site in ("belpresse", "plain"):
        assert got.precision == "day" and got.value == local(datetime(wall.year, wall.month, wall.day))
    else:
        assert got.precision == "minute" and got.value == local(wall), text


@PROPS
@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=30, max_value=200 * 86400),
)
def test_wordpress_relative_dates_land_within_their_precision(now: datetime, age_seconds: int) -> None:
    published = now - timedelta(seconds=age_seconds)
    text = site_dates.relative(published, now)
    got = parse_date(text, reference=now, fallback=False)
    assert got is not None, text
    assert abs(got.value - published) <= TOLERANCE[got.precision], (text, got)

"""The date table: every form the sites print, with the value and precision expected.

Expectations were written from the calendar and the tz database, not from the parser:
``Africa/Casablanca`` is UTC+1 except during Ramadan (UTC+0: 2025-02-23 03:00 to
2025-04-06 02:00 local, 2020-04-19 to 2020-05-31, 2022-03-27 to 2022-05-08, 2026-02-15 to
2026-03-22). Relative rows resolve against `REFERENCE` (12:47:30 local) or, for
`RAMADAN_TABLE`, `RAMADAN_REFERENCE` (09:05:10 local, UTC+0): a counted unit
(`منذ 3 ساعات`, `منذ يومين`, `منذ شهرين`) is the reference minus the amount (a month is
30 days), to the minute, because sites round those counts; a day word (`أمس`, `اليوم`)
or a count with a time is a local calendar day. Weeks are month-precise: a rounded
"1 week" is +-3.5 days, which "day" would overstate. Hijri-only rows follow the tabular civil calendar (1 Muharram
1447 = 2025-06-27), which can be a day off the observed calendar. Rows whose expectation is
None are not (exactly one) date and must not yield one.

The benchmark (`bench/dates.py`) loads this module to score accuracy on the same rows.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipelines.dates import PRECISIONS, parse_date

Row = tuple[str, str | None, str | None]

REFERENCE = datetime(2025, 7, 16, 11, 47, 30, tzinfo=timezone.utc)
RAMADAN_REFERENCE = datetime(2025, 3, 10, 9, 5, 10, tzinfo=timezone.utc)

TABLE: list[Row] = [
    ('3 يناير 2025', '2025-01-03T00:00:00+01:00', 'day'),  # moroccan
    ('الثلاثاء 02 يناير 2024 - 09:07', '2024-01-02T09:07:00+01:00', 'minute'),  # moroccan
    ('الثلاثاء، ٢ يناير ٢٠٢٤', '2024-01-02T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('4 فبراير 2025', '2025-02-04T00:00:00+01:00', 'day'),  # moroccan
    ('الأحد 04 فبراير 2024 - 10:11', '2024-02-04T10:11:00+01:00', 'minute'),  # moroccan
    ('الأحد، ٤ فبراير ٢٠٢٤', '2024-02-04T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('5 مارس 2025', '2025-03-05T00:00:00+00:00', 'day'),  # moroccan
    ('الأربعاء 06 مارس 2024 - 11:15', '2024-03-06T11:15:00+01:00', 'minute'),  # moroccan
    ('الأربعاء، ٦ مارس ٢٠٢٤', '2024-03-06T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('6 أبريل 2025', '2025-04-06T00:00:00+00:00', 'day'),  # moroccan
    ('الاثنين 08 أبريل 2024 - 12:19', '2024-04-08T12:19:00+00:00', 'minute'),  # moroccan
    ('الاثنين، ٨ أبريل ٢٠٢٤', '2024-04-08T00:00:00+00:00', 'day'),  # moroccan arabic-indic
    ('7 ماي 2025', '2025-05-07T00:00:00+01:00', 'day'),  # moroccan
    ('الجمعة 10 ماي 2024 - 13:23', '2024-05-10T13:23:00+01:00', 'minute'),  # moroccan
    ('الجمعة، ١٠ ماي ٢٠٢٤', '2024-05-10T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('8 يونيو 2025', '2025-06-08T00:00:00+01:00', 'day'),  # moroccan
    ('الأربعاء 12 يونيو 2024 - 14:27', '2024-06-12T14:27:00+01:00', 'minute'),  # moroccan
    ('الأربعاء، ١٢ يونيو ٢٠٢٤', '2024-06-12T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('9 يوليوز 2025', '2025-07-09T00:00:00+01:00', 'day'),  # moroccan
    ('الأحد 14 يوليوز 2024 - 15:31', '2024-07-14T15:31:00+01:00', 'minute'),  # moroccan
    ('الأحد، ١٤ يوليوز ٢٠٢٤', '2024-07-14T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('10 غشت 2025', '2025-08-10T00:00:00+01:00', 'day'),  # moroccan
    ('الجمعة 16 غشت 2024 - 16:35', '2024-08-16T16:35:00+01:00', 'minute'),  # moroccan
    ('الجمعة، ١٦ غشت ٢٠٢٤', '2024-08-16T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('11 شتنبر 2025', '2025-09-11T00:00:00+01:00', 'day'),  # moroccan
    ('الأربعاء 18 شتنبر 2024 - 17:39', '2024-09-18T17:39:00+01:00', 'minute'),  # moroccan
    ('الأربعاء، ١٨ شتنبر ٢٠٢٤', '2024-09-18T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('12 أكتوبر 2025', '2025-10-12T00:00:00+01:00', 'day'),  # moroccan
    ('الأحد 20 أكتوبر 2024 - 18:43', '2024-10-20T18:43:00+01:00', 'minute'),  # moroccan
    ('الأحد، ٢٠ أكتوبر ٢٠٢٤', '2024-10-20T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('13 نونبر 2025', '2025-11-13T00:00:00+01:00', 'day'),  # moroccan
    ('الجمعة 22 نونبر 2024 - 19:47', '2024-11-22T19:47:00+01:00', 'minute'),  # moroccan
    ('الجمعة، ٢٢ نونبر ٢٠٢٤', '2024-11-22T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('14 دجنبر 2025', '2025-12-14T00:00:00+01:00', 'day'),  # moroccan
    ('الثلاثاء 24 دجنبر 2024 - 20:51', '2024-12-24T20:51:00+01:00', 'minute'),  # moroccan
    ('الثلاثاء، ٢٤ دجنبر ٢٠٢٤', '2024-12-24T00:00:00+01:00', 'day'),  # moroccan arabic-indic
    ('6 يناير 2025', '2025-01-06T00:00:00+01:00', 'day'),  # egyptian
    ('الاثنين 02 يناير 2023 - 09:07', '2023-01-02T09:07:00+01:00', 'minute'),  # egyptian
    ('الاثنين، ٢ يناير ٢٠٢٣', '2023-01-02T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('7 فبراير 2025', '2025-02-07T00:00:00+01:00', 'day'),  # egyptian
    ('السبت 04 فبراير 2023 - 10:11', '2023-02-04T10:11:00+01:00', 'minute'),  # egyptian
    ('السبت، ٤ فبراير ٢٠٢٣', '2023-02-04T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('8 مارس 2025', '2025-03-08T00:00:00+00:00', 'day'),  # egyptian
    ('الاثنين 06 مارس 2023 - 11:15', '2023-03-06T11:15:00+01:00', 'minute'),  # egyptian
    ('الاثنين، ٦ مارس ٢٠٢٣', '2023-03-06T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('9 أبريل 2025', '2025-04-09T00:00:00+01:00', 'day'),  # egyptian
    ('السبت 08 أبريل 2023 - 12:19', '2023-04-08T12:19:00+00:00', 'minute'),  # egyptian
    ('السبت، ٨ أبريل ٢٠٢٣', '2023-04-08T00:00:00+00:00', 'day'),  # egyptian arabic-indic
    ('10 مايو 2025', '2025-05-10T00:00:00+01:00', 'day'),  # egyptian
    ('الأربعاء 10 مايو 2023 - 13:23', '2023-05-10T13:23:00+01:00', 'minute'),  # egyptian
    ('الأربعاء، ١٠ مايو ٢٠٢٣', '2023-05-10T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('11 يونيو 2025', '2025-06-11T00:00:00+01:00', 'day'),  # egyptian
    ('الاثنين 12 يونيو 2023 - 14:27', '2023-06-12T14:27:00+01:00', 'minute'),  # egyptian
    ('الاثنين، ١٢ يونيو ٢٠٢٣', '2023-06-12T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('12 يوليو 2025', '2025-07-12T00:00:00+01:00', 'day'),  # egyptian
    ('الجمعة 14 يوليو 2023 - 15:31', '2023-07-14T15:31:00+01:00', 'minute'),  # egyptian
    ('الجمعة، ١٤ يوليو ٢٠٢٣', '2023-07-14T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('13 أغسطس 2025', '2025-08-13T00:00:00+01:00', 'day'),  # egyptian
    ('الأربعاء 16 أغسطس 2023 - 16:35', '2023-08-16T16:35:00+01:00', 'minute'),  # egyptian
    ('الأربعاء، ١٦ أغسطس ٢٠٢٣', '2023-08-16T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('14 سبتمبر 2025', '2025-09-14T00:00:00+01:00', 'day'),  # egyptian
    ('الاثنين 18 سبتمبر 2023 - 17:39', '2023-09-18T17:39:00+01:00', 'minute'),  # egyptian
    ('الاثنين، ١٨ سبتمبر ٢٠٢٣', '2023-09-18T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('15 أكتوبر 2025', '2025-10-15T00:00:00+01:00', 'day'),  # egyptian
    ('الجمعة 20 أكتوبر 2023 - 18:43', '2023-10-20T18:43:00+01:00', 'minute'),  # egyptian
    ('الجمعة، ٢٠ أكتوبر ٢٠٢٣', '2023-10-20T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('16 نوفمبر 2025', '2025-11-16T00:00:00+01:00', 'day'),  # egyptian
    ('الأربعاء 22 نوفمبر 2023 - 19:47', '2023-11-22T19:47:00+01:00', 'minute'),  # egyptian
    ('الأربعاء، ٢٢ نوفمبر ٢٠٢٣', '2023-11-22T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('17 ديسمبر 2025', '2025-12-17T00:00:00+01:00', 'day'),  # egyptian
    ('الأحد 24 ديسمبر 2023 - 20:51', '2023-12-24T20:51:00+01:00', 'minute'),  # egyptian
    ('الأحد، ٢٤ ديسمبر ٢٠٢٣', '2023-12-24T00:00:00+01:00', 'day'),  # egyptian arabic-indic
    ('9 كانون الثاني 2025', '2025-01-09T00:00:00+01:00', 'day'),  # levantine
    ('الأحد 02 كانون الثاني 2022 - 09:07', '2022-01-02T09:07:00+01:00', 'minute'),  # levantine
    ('الأحد، ٢ كانون الثاني ٢٠٢٢', '2022-01-02T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('10 شباط 2025', '2025-02-10T00:00:00+01:00', 'day'),  # levantine
    ('الجمعة 04 شباط 2022 - 10:11', '2022-02-04T10:11:00+01:00', 'minute'),  # levantine
    ('الجمعة، ٤ شباط ٢٠٢٢', '2022-02-04T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('11 آذار 2025', '2025-03-11T00:00:00+00:00', 'day'),  # levantine
    ('الأحد 06 آذار 2022 - 11:15', '2022-03-06T11:15:00+01:00', 'minute'),  # levantine
    ('الأحد، ٦ آذار ٢٠٢٢', '2022-03-06T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('12 نيسان 2025', '2025-04-12T00:00:00+01:00', 'day'),  # levantine
    ('الجمعة 08 نيسان 2022 - 12:19', '2022-04-08T12:19:00+00:00', 'minute'),  # levantine
    ('الجمعة، ٨ نيسان ٢٠٢٢', '2022-04-08T00:00:00+00:00', 'day'),  # levantine arabic-indic
    ('13 أيار 2025', '2025-05-13T00:00:00+01:00', 'day'),  # levantine
    ('الثلاثاء 10 أيار 2022 - 13:23', '2022-05-10T13:23:00+01:00', 'minute'),  # levantine
    ('الثلاثاء، ١٠ أيار ٢٠٢٢', '2022-05-10T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('14 حزيران 2025', '2025-06-14T00:00:00+01:00', 'day'),  # levantine
    ('الأحد 12 حزيران 2022 - 14:27', '2022-06-12T14:27:00+01:00', 'minute'),  # levantine
    ('الأحد، ١٢ حزيران ٢٠٢٢', '2022-06-12T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('15 تموز 2025', '2025-07-15T00:00:00+01:00', 'day'),  # levantine
    ('الخميس 14 تموز 2022 - 15:31', '2022-07-14T15:31:00+01:00', 'minute'),  # levantine
    ('الخميس، ١٤ تموز ٢٠٢٢', '2022-07-14T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('16 آب 2025', '2025-08-16T00:00:00+01:00', 'day'),  # levantine
    ('الثلاثاء 16 آب 2022 - 16:35', '2022-08-16T16:35:00+01:00', 'minute'),  # levantine
    ('الثلاثاء، ١٦ آب ٢٠٢٢', '2022-08-16T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('17 أيلول 2025', '2025-09-17T00:00:00+01:00', 'day'),  # levantine
    ('الأحد 18 أيلول 2022 - 17:39', '2022-09-18T17:39:00+01:00', 'minute'),  # levantine
    ('الأحد، ١٨ أيلول ٢٠٢٢', '2022-09-18T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('18 تشرين الأول 2025', '2025-10-18T00:00:00+01:00', 'day'),  # levantine
    ('الخميس 20 تشرين الأول 2022 - 18:43', '2022-10-20T18:43:00+01:00', 'minute'),  # levantine
    ('الخميس، ٢٠ تشرين الأول ٢٠٢٢', '2022-10-20T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('19 تشرين الثاني 2025', '2025-11-19T00:00:00+01:00', 'day'),  # levantine
    ('الثلاثاء 22 تشرين الثاني 2022 - 19:47', '2022-11-22T19:47:00+01:00', 'minute'),  # levantine
    ('الثلاثاء، ٢٢ تشرين الثاني ٢٠٢٢', '2022-11-22T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('20 كانون الأول 2025', '2025-12-20T00:00:00+01:00', 'day'),  # levantine
    ('السبت 24 كانون الأول 2022 - 20:51', '2022-12-24T20:51:00+01:00', 'minute'),  # levantine
    ('السبت، ٢٤ كانون الأول ٢٠٢٢', '2022-12-24T00:00:00+01:00', 'day'),  # levantine arabic-indic
    ('12 جانفي 2025', '2025-01-12T00:00:00+01:00', 'day'),  # algerian
    ('السبت 02 جانفي 2021 - 09:07', '2021-01-02T09:07:00+01:00', 'minute'),  # algerian
    ('السبت، ٢ جانفي ٢٠٢١', '2021-01-02T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('13 فيفري 2025', '2025-02-13T00:00:00+01:00', 'day'),  # algerian
    ('الخميس 04 فيفري 2021 - 10:11', '2021-02-04T10:11:00+01:00', 'minute'),  # algerian
    ('الخميس، ٤ فيفري ٢٠٢١', '2021-02-04T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('14 مارس 2025', '2025-03-14T00:00:00+00:00', 'day'),  # algerian
    ('السبت 06 مارس 2021 - 11:15', '2021-03-06T11:15:00+01:00', 'minute'),  # algerian
    ('السبت، ٦ مارس ٢٠٢١', '2021-03-06T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('15 أفريل 2025', '2025-04-15T00:00:00+01:00', 'day'),  # algerian
    ('الخميس 08 أفريل 2021 - 12:19', '2021-04-08T12:19:00+01:00', 'minute'),  # algerian
    ('الخميس، ٨ أفريل ٢٠٢١', '2021-04-08T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('16 ماي 2025', '2025-05-16T00:00:00+01:00', 'day'),  # algerian
    ('الاثنين 10 ماي 2021 - 13:23', '2021-05-10T13:23:00+00:00', 'minute'),  # algerian
    ('الاثنين، ١٠ ماي ٢٠٢١', '2021-05-10T00:00:00+00:00', 'day'),  # algerian arabic-indic
    ('17 جوان 2025', '2025-06-17T00:00:00+01:00', 'day'),  # algerian
    ('السبت 12 جوان 2021 - 14:27', '2021-06-12T14:27:00+01:00', 'minute'),  # algerian
    ('السبت، ١٢ جوان ٢٠٢١', '2021-06-12T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('18 جويلية 2025', '2025-07-18T00:00:00+01:00', 'day'),  # algerian
    ('الأربعاء 14 جويلية 2021 - 15:31', '2021-07-14T15:31:00+01:00', 'minute'),  # algerian
    ('الأربعاء، ١٤ جويلية ٢٠٢١', '2021-07-14T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('19 أوت 2025', '2025-08-19T00:00:00+01:00', 'day'),  # algerian
    ('الاثنين 16 أوت 2021 - 16:35', '2021-08-16T16:35:00+01:00', 'minute'),  # algerian
    ('الاثنين، ١٦ أوت ٢٠٢١', '2021-08-16T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('20 سبتمبر 2025', '2025-09-20T00:00:00+01:00', 'day'),  # algerian
    ('السبت 18 سبتمبر 2021 - 17:39', '2021-09-18T17:39:00+01:00', 'minute'),  # algerian
    ('السبت، ١٨ سبتمبر ٢٠٢١', '2021-09-18T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('21 أكتوبر 2025', '2025-10-21T00:00:00+01:00', 'day'),  # algerian
    ('الأربعاء 20 أكتوبر 2021 - 18:43', '2021-10-20T18:43:00+01:00', 'minute'),  # algerian
    ('الأربعاء، ٢٠ أكتوبر ٢٠٢١', '2021-10-20T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('22 نوفمبر 2025', '2025-11-22T00:00:00+01:00', 'day'),  # algerian
    ('الاثنين 22 نوفمبر 2021 - 19:47', '2021-11-22T19:47:00+01:00', 'minute'),  # algerian
    ('الاثنين، ٢٢ نوفمبر ٢٠٢١', '2021-11-22T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('23 ديسمبر 2025', '2025-12-23T00:00:00+01:00', 'day'),  # algerian
    ('الجمعة 24 ديسمبر 2021 - 20:51', '2021-12-24T20:51:00+01:00', 'minute'),  # algerian
    ('الجمعة، ٢٤ ديسمبر ٢٠٢١', '2021-12-24T00:00:00+01:00', 'day'),  # algerian arabic-indic
    ('20 كانون الثاني/يناير 2023', '2023-01-20T00:00:00+01:00', 'day'),  # levantine pair
    ('20 شباط/فبراير 2023', '2023-02-20T00:00:00+01:00', 'day'),  # levantine pair
    ('20 آذار/مارس 2023', '2023-03-20T00:00:00+00:00', 'day'),  # levantine pair
    ('21 مارس (آذار) 2023', '2023-03-21T00:00:00+00:00', 'day'),  # pair bracket
    ('20 نيسان/أبريل 2023', '2023-04-20T00:00:00+00:00', 'day'),  # levantine pair
    ('20 أيار/مايو 2023', '2023-05-20T00:00:00+01:00', 'day'),  # levantine pair
    ('20 حزيران/يونيو 2023', '2023-06-20T00:00:00+01:00', 'day'),  # levantine pair
    ('21 يونيو (حزيران) 2023', '2023-06-21T00:00:00+01:00', 'day'),  # pair bracket
    ('20 تموز/يوليو 2023', '2023-07-20T00:00:00+01:00', 'day'),  # levantine pair
    ('20 آب/أغسطس 2023', '2023-08-20T00:00:00+01:00', 'day'),  # levantine pair
    ('20 أيلول/سبتمبر 2023', '2023-09-20T00:00:00+01:00', 'day'),  # levantine pair
    ('21 سبتمبر (أيلول) 2023', '2023-09-21T00:00:00+01:00', 'day'),  # pair bracket
    ('20 تشرين الأول/أكتوبر 2023', '2023-10-20T00:00:00+01:00', 'day'),  # levantine pair
    ('20 تشرين الثاني/نوفمبر 2023', '2023-11-20T00:00:00+01:00', 'day'),  # levantine pair
    ('20 كانون الأول/ديسمبر 2023', '2023-12-20T00:00:00+01:00', 'day'),  # levantine pair
    ('21 ديسمبر (كانون الأول) 2023', '2023-12-21T00:00:00+01:00', 'day'),  # pair bracket
    ('يناير 2025', '2025-01-01T00:00:00+01:00', 'month'),  # month only
    ('ماي 2025', '2025-05-01T00:00:00+01:00', 'month'),  # month only
    ('شتنبر 2025', '2025-09-01T00:00:00+01:00', 'month'),  # month only
    ('تموز/يوليو 2024', '2024-07-01T00:00:00+01:00', 'month'),  # month only pair
    ('الجمعة 8 أبريل 2022 - 23:56', '2022-04-08T23:56:00+00:00', 'minute'),  # hespress (Ramadan 2022: UTC+0)
    ('الأربعاء 01 يوليوز 2020 - 21:05', '2020-07-01T21:05:00+01:00', 'minute'),  # hespress old
    ('١٦-٠٧-٢٠٢٥', '2025-07-16T00:00:00+01:00', 'day'),  # le12 aggregator
    ('LE12١٦-٠٧-٢٠٢٥', '2025-07-16T00:00:00+01:00', 'day'),  # glued label
    ('time٠٤-٠٨-٢٠٢٥', '2025-08-04T00:00:00+01:00', 'day'),  # glued label
    ('Le12 ٠٣-٠١-٢٠٢٥', '2025-01-03T00:00:00+01:00', 'day'),  # label
    ('16/07/2025', '2025-07-16T00:00:00+01:00', 'day'),
    ('16.07.2025', '2025-07-16T00:00:00+01:00', 'day'),
    ('6-7-2025', '2025-07-06T00:00:00+01:00', 'day'),  # no padding
    ('۱۶/۰۷/۲۰۲۵', '2025-07-16T00:00:00+01:00', 'day'),  # persian
    ('۱۶ يوليوز ۲۰۲۵', '2025-07-16T00:00:00+01:00', 'day'),  # persian
    ('٠١/١٢/٢٠٢٤ - ٠٩:٣٠', '2024-12-01T09:30:00+01:00', 'minute'),
    ('2025/07/16', '2025-07-16T00:00:00+01:00', 'day'),  # year first
    ('2025.07.16 08:15', '2025-07-16T08:15:00+01:00', 'minute'),  # year first
    ('16/07/2025 14:30', '2025-07-16T14:30:00+01:00', 'minute'),
    ('14:30 - 16/07/2025', '2025-07-16T14:30:00+01:00', 'minute'),  # time first
    ('14:30 | 16-07-2025', '2025-07-16T14:30:00+01:00', 'minute'),  # time first
    ('آخر تحديث: 16/07/2025 14:30', '2025-07-16T14:30:00+01:00', 'minute'),  # label
    ('نشر في: 16 يوليوز 2025 - 14:30', '2025-07-16T14:30:00+01:00', 'minute'),  # label
    ('تاريخ النشر : 03.02.2025', '2025-02-03T00:00:00+01:00', 'day'),  # label
    ('16 يوليوز 2025 - 14:30', '2025-07-16T14:30:00+01:00', 'minute'),
    ('16 يوليوز 2025 الساعة 14:30', '2025-07-16T14:30:00+01:00', 'minute'),
    ('16 يوليوز 2025 على الساعة 16:56', '2025-07-16T16:56:00+01:00', 'minute'),
    ('الأربعاء 16 يوليوز 2025 على الساعة 09:05', '2025-07-16T09:05:00+01:00', 'minute'),
    ('16 يوليو 2025 02:30 م', '2025-07-16T14:30:00+01:00', 'minute'),  # pm
    ('16 يوليو 2025 02:30 ص', '2025-07-16T02:30:00+01:00', 'minute'),  # am
    ('16 يوليو 2025 12:10 ص', '2025-07-16T00:10:00+01:00', 'minute'),  # 12 am
    ('16 يوليو 2025 12:10 م', '2025-07-16T12:10:00+01:00', 'minute'),  # 12 pm
    ('16 يوليو 2025 - 8:45 صباحا', '2025-07-16T08:45:00+01:00', 'minute'),
    ('16 يوليو 2025 - 8:45 صباحاً', '2025-07-16T08:45:00+01:00', 'minute'),  # tanwin
    ('16 يوليو 2025 - 8:45 مساء', '2025-07-16T20:45:00+01:00', 'minute'),
    ('16 يوليو 2025 - 8:45 مساءً', '2025-07-16T20:45:00+01:00', 'minute'),
    ('16 يوليو 2025 - 16:45 مساء', '2025-07-16T16:45:00+01:00', 'minute'),  # 24h + redundant pm
    ('16 يوليو 2025 الساعة 9 صباحا', '2025-07-16T09:00:00+01:00', 'hour'),  # bare hour
    ('16 يوليو 2025 الساعة 9 مساء', '2025-07-16T21:00:00+01:00', 'hour'),  # bare hour
    ('16 يوليو 2025 الساعة 1 ظهرا', '2025-07-16T13:00:00+01:00', 'hour'),  # noon
    ('16 يوليو 2025 - 11 ليلا', '2025-07-16T23:00:00+01:00', 'hour'),  # night
    ('16 يوليو 2025 - 14:30:59', '2025-07-16T14:30:59+01:00', 'minute'),  # seconds
    ('16 يوليو 2025 - 14:30 GMT', '2025-07-16T14:30:00+00:00', 'minute'),  # explicit GMT
    ('16 يوليو 2025 - 14:30 GMT+2', '2025-07-16T14:30:00+02:00', 'minute'),  # explicit offset
    ('16 يوليوز 2025م', '2025-07-16T00:00:00+01:00', 'day'),  # era mark
    ('16 يوليوز 2025 م', '2025-07-16T00:00:00+01:00', 'day'),  # era mark
    ('16 يوليوز سنة 2025', '2025-07-16T00:00:00+01:00', 'day'),  # year word
    ('16 من يوليوز 2025', '2025-07-16T00:00:00+01:00', 'day'),  # من
    ('الأربعاء | 16 يوليوز 2025 | 14:30', '2025-07-16T14:30:00+01:00', 'minute'),  # pipes
    ('الأربعاء - 16 يوليوز، 2025 - 14:30', '2025-07-16T14:30:00+01:00', 'minute'),
    ('16 يوليو 2025 - 14:30 UTC+5:30', '2025-07-16T14:30:00+05:30', 'minute'),  # explicit offset
    ('16 يوليو 2025 - 14:30 GMT-0300', '2025-07-16T14:30:00-03:00', 'minute'),  # explicit offset
    ('16يوليوز2025', '2025-07-16T00:00:00+01:00', 'day'),  # no spaces
    ('  16 يوليوز 2025\n', '2025-07-16T00:00:00+01:00', 'day'),  # whitespace
    ('\u200f16 يوليوز 2025\u200e', '2025-07-16T00:00:00+01:00', 'day'),  # direction marks
    ('الجمعة 9 إبريل 2021', '2021-04-09T00:00:00+01:00', 'day'),  # إبريل
    ('5 يونيه 2024', '2024-06-05T00:00:00+01:00', 'day'),  # Egyptian يونيه
    ('5 يوليه 2024', '2024-07-05T00:00:00+01:00', 'day'),  # Egyptian يوليه
    ('29 فبراير 2024', '2024-02-29T00:00:00+01:00', 'day'),  # leap day
    ('١٦-٠٧-٢٠٢٥ ١٤:٣٠', '2025-07-16T14:30:00+01:00', 'minute'),  # le12 with time
    ('الإثنين 14 يوليو 2025 على الساعة 14:30', '2025-07-14T14:30:00+01:00', 'minute'),  # rue20
    ('الأربعاء 16 تموز/يوليو 2025', '2025-07-16T00:00:00+01:00', 'day'),  # belpresse
    ('الإثنين 3 آذار/مارس 2025', '2025-03-03T00:00:00+00:00', 'day'),  # belpresse, Ramadan
    ('22 فبراير 2025 - 23:30', '2025-02-22T23:30:00+01:00', 'minute'),  # before Ramadan switch, UTC+1
    ('23 فبراير 2025 - 12:00', '2025-02-23T12:00:00+00:00', 'minute'),  # Ramadan 2025, UTC+0
    ('الأحد 2 مارس 2025 - 14:30', '2025-03-02T14:30:00+00:00', 'minute'),  # Ramadan 2025, UTC+0
    ('30 مارس 2025 - 20:00', '2025-03-30T20:00:00+00:00', 'minute'),  # Eid 2025, still UTC+0
    ('5 أبريل 2025 - 23:00', '2025-04-05T23:00:00+00:00', 'minute'),  # last UTC+0 evening
    ('6 أبريل 2025 - 12:00', '2025-04-06T12:00:00+01:00', 'minute'),  # back to UTC+1
    ('20 فبراير 2026 - 10:00', '2026-02-20T10:00:00+00:00', 'minute'),  # Ramadan 2026, UTC+0
    ('25 مارس 2026 - 10:00', '2026-03-25T10:00:00+01:00', 'minute'),  # after Ramadan 2026, UTC+1
    ('10 ماي 2020 - 18:00', '2020-05-10T18:00:00+00:00', 'minute'),  # Ramadan 2020, UTC+0
    ('01 يونيو 2020 - 18:00', '2020-06-01T18:00:00+01:00', 'minute'),  # after Ramadan 2020, UTC+1
    ('2025-03-10T14:30:00', '2025-03-10T14:30:00+00:00', 'minute'),  # ISO without offset during Ramadan: local UTC+0
    ('2025-07-10T14:30:00', '2025-07-10T14:30:00+01:00', 'minute'),  # ISO without offset: local UTC+1
    ('2025-07-16T14:30:00+01:00', '2025-07-16T14:30:00+01:00', 'minute'),  # iso
    ('2025-07-16T13:30:00Z', '2025-07-16T13:30:00+00:00', 'minute'),  # iso Z
    ('2025-07-16T13:30:00.123456Z', '2025-07-16T13:30:00.123456+00:00', 'minute'),  # iso fraction
    ('2025-07-16T15:30:00+02:00', '2025-07-16T15:30:00+02:00', 'minute'),  # iso +02
    ('2025-07-16T15:30:00+0200', '2025-07-16T15:30:00+02:00', 'minute'),  # iso basic offset
    ('2025-07-16 14:30', '2025-07-16T14:30:00+01:00', 'minute'),  # iso space
    ('2025-07-16', '2025-07-16T00:00:00+01:00', 'day'),  # iso date
    ('2025-07', '2025-07-01T00:00:00+01:00', 'month'),  # iso month
    ('٢٠٢٥-٠٧-١٦T١٤:٣٠:٠٠+٠١:٠٠', '2025-07-16T14:30:00+01:00', 'minute'),  # iso arabic digits
    ('Wed, 16 Jul 2025 13:30:00 +0000', '2025-07-16T13:30:00+00:00', 'minute'),  # rfc822
    ('Wed, 16 Jul 2025 13:30:00 GMT', '2025-07-16T13:30:00+00:00', 'minute'),  # rfc822
    ('Wed, 16 Jul 2025 14:30:00 +0100', '2025-07-16T14:30:00+01:00', 'minute'),  # rfc822
    ('16 Jul 2025 09:30:00 EDT', '2025-07-16T09:30:00-04:00', 'minute'),  # rfc822 zone name
    ('Sun, 2 Mar 2025 10:00:00 +0000', '2025-03-02T10:00:00+00:00', 'minute'),  # rfc822
    ('Wed, 16 Jul 25 13:30:00 GMT', '2025-07-16T13:30:00+00:00', 'minute'),  # rfc822 2-digit year
    ('16 Jul 2025', '2025-07-16T00:00:00+01:00', 'day'),  # rfc date only
    ('10 محرم 1447 هـ', '2025-07-06T00:00:00+01:00', 'day'),  # hijri tabular
    ('1 محرم 1447', '2025-06-27T00:00:00+01:00', 'day'),  # hijri no marker
    ('10 صفر 1447 هـ', '2025-08-05T00:00:00+01:00', 'day'),  # hijri tabular
    ('10 ربيع الأول 1447 هـ', '2025-09-03T00:00:00+01:00', 'day'),  # hijri tabular
    ('1 ربيع الأول 1447', '2025-08-25T00:00:00+01:00', 'day'),  # hijri no marker
    ('10 ربيع الآخر 1447 هـ', '2025-10-03T00:00:00+01:00', 'day'),  # hijri tabular
    ('10 جمادى الأولى 1447 هـ', '2025-11-01T00:00:00+01:00', 'day'),  # hijri tabular
    ('1 جمادى الأولى 1447', '2025-10-23T00:00:00+01:00', 'day'),  # hijri no marker
    ('10 جمادى الآخرة 1447 هـ', '2025-12-01T00:00:00+01:00', 'day'),  # hijri tabular
    ('10 رجب 1447 هـ', '2025-12-30T00:00:00+01:00', 'day'),  # hijri tabular
    ('1 رجب 1447', '2025-12-21T00:00:00+01:00', 'day'),  # hijri no marker
    ('10 شعبان 1447 هـ', '2026-01-29T00:00:00+01:00', 'day'),  # hijri tabular
    ('10 رمضان 1447 هـ', '2026-02-27T00:00:00+00:00', 'day'),  # hijri tabular
    ('1 رمضان 1447', '2026-02-18T00:00:00+00:00', 'day'),  # hijri no marker
    ('10 شوال 1447 هـ', '2026-03-29T00:00:00+01:00', 'day'),  # hijri tabular
    ('10 ذو القعدة 1447 هـ', '2026-04-27T00:00:00+01:00', 'day'),  # hijri tabular
    ('1 ذو القعدة 1447', '2026-04-18T00:00:00+01:00', 'day'),  # hijri no marker
    ('10 ذو الحجة 1447 هـ', '2026-05-27T00:00:00+01:00', 'day'),  # hijri tabular
    ('21 محرم 1447 هـ', '2025-07-17T00:00:00+01:00', 'day'),  # hijri (Umm al-Qura says 16 July: the ±1 caveat)
    ('الخميس 5 ذي الحجة 1447ه', '2026-05-22T00:00:00+01:00', 'day'),  # hijri ذي
    ('15 جمادى الثانية 1447 هـ', '2025-12-06T00:00:00+01:00', 'day'),  # hijri variant
    ('الأربعاء 21 محرم 1447 هـ الموافق 16 يوليوز 2025', '2025-07-16T00:00:00+01:00', 'day'),  # paired: Gregorian wins
    ('الأربعاء 21 محرم 1447 هـ الموافق 16 يوليوز 2025 - 10:20', '2025-07-16T10:20:00+01:00', 'minute'),  # paired
    ('16 يوليو 2025 م الموافق 20 محرم 1447 هـ', '2025-07-16T00:00:00+01:00', 'day'),  # paired reversed
    ('16/07/2025 - 21 محرم 1447', '2025-07-16T00:00:00+01:00', 'day'),  # paired numeric
    ('1 رمضان 1446 هـ الموافق 1 مارس 2025', '2025-03-01T00:00:00+00:00', 'day'),  # paired, Ramadan
    ('منذ ساعة واحدة', '2025-07-16T11:47:00+01:00', 'hour'),  # relative
    ('منذ ساعة', '2025-07-16T11:47:00+01:00', 'hour'),  # relative
    ('منذ ساعتين', '2025-07-16T10:47:00+01:00', 'hour'),  # relative
    ('منذ 3 ساعات', '2025-07-16T09:47:00+01:00', 'hour'),  # relative
    ('منذ ٣ ساعات', '2025-07-16T09:47:00+01:00', 'hour'),  # relative
    ('منذ 11 ساعة', '2025-07-16T01:47:00+01:00', 'hour'),  # relative
    ('منذ 13 ساعة', '2025-07-15T23:47:00+01:00', 'hour'),  # relative
    ('قبل 5 ساعات', '2025-07-16T07:47:00+01:00', 'hour'),  # relative
    ('منذ ثلاث ساعات', '2025-07-16T09:47:00+01:00', 'hour'),  # relative
    ('منذ حوالي ساعتين', '2025-07-16T10:47:00+01:00', 'hour'),  # relative
    ('منذ ساعتان', '2025-07-16T10:47:00+01:00', 'hour'),  # relative
    ('منذ دقيقة', '2025-07-16T12:46:00+01:00', 'minute'),  # relative
    ('منذ دقيقة واحدة', '2025-07-16T12:46:00+01:00', 'minute'),  # relative
    ('منذ دقيقتين', '2025-07-16T12:45:00+01:00', 'minute'),  # relative
    ('منذ 9 دقائق', '2025-07-16T12:38:00+01:00', 'minute'),  # relative
    ('منذ 41 دقيقة', '2025-07-16T12:06:00+01:00', 'minute'),  # relative
    ('قبل 15 دقيقة', '2025-07-16T12:32:00+01:00', 'minute'),  # relative
    ('منذ ۵ دقائق', '2025-07-16T12:42:00+01:00', 'minute'),  # relative
    ('منذ 30 ثانية', '2025-07-16T12:47:00+01:00', 'minute'),  # relative
    ('منذ يوم واحد', '2025-07-15T12:47:00+01:00', 'day'),  # relative
    ('منذ يوم', '2025-07-15T12:47:00+01:00', 'day'),  # relative
    ('منذ يومين', '2025-07-14T12:47:00+01:00', 'day'),  # relative
    ('منذ 5 أيام', '2025-07-11T12:47:00+01:00', 'day'),  # relative
    ('منذ 3 أيام', '2025-07-13T12:47:00+01:00', 'day'),  # relative
    ('منذ 12 يوما', '2025-07-04T12:47:00+01:00', 'day'),  # relative
    ('قبل يومين', '2025-07-14T12:47:00+01:00', 'day'),  # relative
    ('منذ أسبوع واحد', '2025-07-09T12:47:00+01:00', 'month'),  # relative
    ('منذ أسبوع', '2025-07-09T12:47:00+01:00', 'month'),  # relative
    ('منذ أسبوعين', '2025-07-02T12:47:00+01:00', 'month'),  # relative
    ('منذ 3 أسابيع', '2025-06-25T12:47:00+01:00', 'month'),  # relative
    ('منذ شهر', '2025-06-16T12:47:00+01:00', 'month'),  # relative
    ('منذ شهرين', '2025-05-17T12:47:00+01:00', 'month'),  # relative
    ('منذ 3 أشهر', '2025-04-17T12:47:00+01:00', 'month'),  # relative
    ('منذ 8 أشهر', '2024-11-18T12:47:00+01:00', 'month'),  # relative
    ('أمس', '2025-07-15T00:00:00+01:00', 'day'),  # relative
    ('البارحة', '2025-07-15T00:00:00+01:00', 'day'),  # relative
    ('يوم أمس', '2025-07-15T00:00:00+01:00', 'day'),  # relative
    ('أول أمس', '2025-07-14T00:00:00+01:00', 'day'),  # relative
    ('أول من أمس', '2025-07-14T00:00:00+01:00', 'day'),  # relative
    ('اليوم', '2025-07-16T00:00:00+01:00', 'day'),  # relative
    ('أمس 14:30', '2025-07-15T14:30:00+01:00', 'minute'),  # relative
    ('أمس على الساعة 16:56', '2025-07-15T16:56:00+01:00', 'minute'),  # relative
    ('أمس - 09:15', '2025-07-15T09:15:00+01:00', 'minute'),  # relative
    ('أول أمس الساعة 10:00', '2025-07-14T10:00:00+01:00', 'minute'),  # relative
    ('اليوم 10:15', '2025-07-16T10:15:00+01:00', 'minute'),  # relative
    ('اليوم - 08:00 صباحا', '2025-07-16T08:00:00+01:00', 'minute'),  # relative
    ('البارحة 11:20 ليلا', '2025-07-15T23:20:00+01:00', 'minute'),  # relative
    ('منذ يومين الساعة 18:00', '2025-07-14T18:00:00+01:00', 'minute'),  # relative
    ('الآن', '2025-07-16T12:47:00+01:00', 'minute'),  # relative
    ('منذ لحظات', '2025-07-16T12:47:00+01:00', 'minute'),  # relative
    ('قبل قليل', '2025-07-16T12:47:00+01:00', 'minute'),  # relative
    ('منذ أقل من دقيقة', '2025-07-16T12:47:00+01:00', 'minute'),  # relative
    ('نشر منذ 3 ساعات', '2025-07-16T09:47:00+01:00', 'hour'),  # relative
    ('', None, None),  # not a date
    ('   ', None, None),  # not a date
    ('hello', None, None),  # not a date
    ('مرحبا بكم في هسبريس', None, None),  # not a date
    ('2025', None, None),  # not a date
    ('يوليوز', None, None),  # not a date
    ('16 يوليوز', None, None),  # not a date
    ('منذ أيام', None, None),  # not a date
    ('منذ ساعات', None, None),  # not a date
    ('منذ سنة', None, None),  # not a date
    ('قال الوزير إن 3 ملفات تنتظر', None, None),  # not a date
    ('كاريكاتير اليوم', None, None),  # not a date
    ('16 تموز/أغسطس 2025', None, None),  # not a date
    ('31 فبراير 2025', None, None),  # not a date
    ('29 فبراير 2025', None, None),  # not a date
    ('32/01/2025', None, None),  # not a date
    ('16/13/2025', None, None),  # not a date
    ('16 يوليوز 2025 - 25:00', None, None),  # not a date
    ('16 يوليوز 2025 - 14:75', None, None),  # not a date
    ('16 يوليوز 2025 - 16:56 صباحا', None, None),  # not a date
    ('16 يوليوز 2025 - 17 غشت 2025', None, None),  # not a date
    ('LE1216-07-2025', None, None),  # not a date
    ('16/07/25', None, None),  # not a date
    ('منذ 3 ساعات 16 يوليوز 2025', None, None),  # not a date
    ('منذ 3 يومين', None, None),  # not a date
    ('منذ 99999 يوم', None, None),  # not a date
    ('منذ ساعة واحدة 14:30', None, None),  # not a date
    ('99 محرم 1447', None, None),  # not a date
    ('16 يوليوز 3025', None, None),  # not a date
    ('0000-00-00', None, None),  # not a date
    ('2025-13-45T10:00:00', None, None),  # not a date
    ('Wed, 16 Foo 2025 13:30:00 GMT', None, None),  # not a date
    ('١٢٣٤٥٦٧٨٩', None, None),  # not a date
    ('رقم 14:30', None, None),  # not a date
    ('14:30', None, None),  # not a date
    ('الأربعاء', None, None),  # not a date
    ('الخميس 05 دجنبر 2019 - 16:51', '2019-12-05T16:51:00+01:00', 'minute'),  # hespress corpus
    ('السبت 28 دجنبر 2019 - 09:00', '2019-12-28T09:00:00+01:00', 'minute'),  # hespress corpus
    ('الخميس 23 يناير 2020 - 16:00', '2020-01-23T16:00:00+01:00', 'minute'),  # hespress corpus
    ('الاثنين 10 فبراير 2020 - 18:47', '2020-02-10T18:47:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 01 مارس 2020 - 17:00', '2020-03-01T17:00:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 08 مارس 2020 - 16:00', '2020-03-08T16:00:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 18 مارس 2020 - 19:59', '2020-03-18T19:59:00+01:00', 'minute'),  # hespress corpus
    ('الخميس 09 أبريل 2020 - 22:25', '2020-04-09T22:25:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 26 أبريل 2020 - 15:00', '2020-04-26T15:00:00+00:00', 'minute'),  # hespress corpus
    ('الأحد 03 ماي 2020 - 16:15', '2020-05-03T16:15:00+00:00', 'minute'),  # hespress corpus
    ('الأحد 10 ماي 2020 - 22:50', '2020-05-10T22:50:00+00:00', 'minute'),  # hespress corpus
    ('الاثنين 18 ماي 2020 - 11:14', '2020-05-18T11:14:00+00:00', 'minute'),  # hespress corpus
    ('الأحد 24 ماي 2020 - 22:00', '2020-05-24T22:00:00+00:00', 'minute'),  # hespress corpus
    ('الاثنين 01 يونيو 2020 - 16:00', '2020-06-01T16:00:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 07 يونيو 2020 - 00:18', '2020-06-07T00:18:00+01:00', 'minute'),  # hespress corpus
    ('الخميس 11 يونيو 2020 - 01:50', '2020-06-11T01:50:00+01:00', 'minute'),  # hespress corpus
    ('الثلاثاء 16 يونيو 2020 - 06:11', '2020-06-16T06:11:00+01:00', 'minute'),  # hespress corpus
    ('السبت 20 يونيو 2020 - 06:20', '2020-06-20T06:20:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 24 يونيو 2020 - 17:00', '2020-06-24T17:00:00+01:00', 'minute'),  # hespress corpus
    ('الاثنين 29 يونيو 2020 - 01:45', '2020-06-29T01:45:00+01:00', 'minute'),  # hespress corpus
    ('الجمعة 03 يوليوز 2020 - 12:50', '2020-07-03T12:50:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 08 يوليوز 2020 - 12:49', '2020-07-08T12:49:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 12 يوليوز 2020 - 07:09', '2020-07-12T07:09:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 15 يوليوز 2020 - 15:00', '2020-07-15T15:00:00+01:00', 'minute'),  # hespress corpus
    ('السبت 18 يوليوز 2020 - 15:15', '2020-07-18T15:15:00+01:00', 'minute'),  # hespress corpus
    ('الثلاثاء 21 يوليوز 2020 - 10:00', '2020-07-21T10:00:00+01:00', 'minute'),  # hespress corpus
    ('الجمعة 24 يوليوز 2020 - 11:05', '2020-07-24T11:05:00+01:00', 'minute'),  # hespress corpus
    ('الاثنين 27 يوليوز 2020 - 16:00', '2020-07-27T16:00:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 29 يوليوز 2020 - 21:37', '2020-07-29T21:37:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 02 غشت 2020 - 15:45', '2020-08-02T15:45:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 05 غشت 2020 - 13:00', '2020-08-05T13:00:00+01:00', 'minute'),  # hespress corpus
    ('السبت 08 غشت 2020 - 01:27', '2020-08-08T01:27:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 09 غشت 2020 - 23:00', '2020-08-09T23:00:00+01:00', 'minute'),  # hespress corpus
    ('الثلاثاء 11 غشت 2020 - 22:48', '2020-08-11T22:48:00+01:00', 'minute'),  # hespress corpus
    ('الخميس 13 غشت 2020 - 21:00', '2020-08-13T21:00:00+01:00', 'minute'),  # hespress corpus
    ('السبت 15 غشت 2020 - 21:55', '2020-08-15T21:55:00+01:00', 'minute'),  # hespress corpus
    ('الاثنين 17 غشت 2020 - 19:17', '2020-08-17T19:17:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 19 غشت 2020 - 17:05', '2020-08-19T17:05:00+01:00', 'minute'),  # hespress corpus
    ('الجمعة 21 غشت 2020 - 15:50', '2020-08-21T15:50:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 23 غشت 2020 - 15:00', '2020-08-23T15:00:00+01:00', 'minute'),  # hespress corpus
    ('الثلاثاء 25 غشت 2020 - 11:00', '2020-08-25T11:00:00+01:00', 'minute'),  # hespress corpus
    ('الخميس 27 غشت 2020 - 05:09', '2020-08-27T05:09:00+01:00', 'minute'),  # hespress corpus
    ('الجمعة 28 غشت 2020 - 21:50', '2020-08-28T21:50:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 30 غشت 2020 - 20:12', '2020-08-30T20:12:00+01:00', 'minute'),  # hespress corpus
    ('الثلاثاء 01 شتنبر 2020 - 15:30', '2020-09-01T15:30:00+01:00', 'minute'),  # hespress corpus
    ('الخميس 03 شتنبر 2020 - 14:17', '2020-09-03T14:17:00+01:00', 'minute'),  # hespress corpus
    ('السبت 05 شتنبر 2020 - 06:15', '2020-09-05T06:15:00+01:00', 'minute'),  # hespress corpus
    ('الاثنين 07 شتنبر 2020 - 06:15', '2020-09-07T06:15:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 09 شتنبر 2020 - 09:02', '2020-09-09T09:02:00+01:00', 'minute'),  # hespress corpus
    ('الجمعة 11 شتنبر 2020 - 09:00', '2020-09-11T09:00:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 13 شتنبر 2020 - 10:03', '2020-09-13T10:03:00+01:00', 'minute'),  # hespress corpus
    ('الثلاثاء 15 شتنبر 2020 - 11:00', '2020-09-15T11:00:00+01:00', 'minute'),  # hespress corpus
    ('الخميس 17 شتنبر 2020 - 02:35', '2020-09-17T02:35:00+01:00', 'minute'),  # hespress corpus
    ('الجمعة 18 شتنبر 2020 - 22:30', '2020-09-18T22:30:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 20 شتنبر 2020 - 19:00', '2020-09-20T19:00:00+01:00', 'minute'),  # hespress corpus
    ('الثلاثاء 22 شتنبر 2020 - 18:20', '2020-09-22T18:20:00+01:00', 'minute'),  # hespress corpus
    ('الخميس 24 شتنبر 2020 - 17:00', '2020-09-24T17:00:00+01:00', 'minute'),  # hespress corpus
    ('السبت 26 شتنبر 2020 - 13:15', '2020-09-26T13:15:00+01:00', 'minute'),  # hespress corpus
    ('الاثنين 28 شتنبر 2020 - 23:28', '2020-09-28T23:28:00+01:00', 'minute'),  # hespress corpus
    ('الأربعاء 30 شتنبر 2020 - 21:00', '2020-09-30T21:00:00+01:00', 'minute'),  # hespress corpus
    ('الأحد 10 ماي 2020 - 01:10', '2020-05-10T01:10:00+00:00', 'minute'),  # hespress corpus, Ramadan 2020
]

RAMADAN_TABLE: list[Row] = [
    ('منذ 3 ساعات', '2025-03-10T06:05:00+00:00', 'hour'),  # relative in Ramadan (UTC+0)
    ('منذ 10 دقائق', '2025-03-10T08:55:00+00:00', 'minute'),  # relative in Ramadan (UTC+0)
    ('أمس 22:15', '2025-03-09T22:15:00+00:00', 'minute'),  # relative in Ramadan (UTC+0)
    ('اليوم', '2025-03-10T00:00:00+00:00', 'day'),  # relative in Ramadan (UTC+0)
    ('منذ أسبوعين', '2025-02-24T09:05:00+00:00', 'month'),  # relative in Ramadan (UTC+0)
    ('منذ 3 أسابيع', '2025-02-17T10:05:00+01:00', 'month'),  # relative in Ramadan (UTC+0)
    ('منذ 10 ساعات', '2025-03-09T23:05:00+00:00', 'hour'),  # relative in Ramadan (UTC+0)
    ('الآن', '2025-03-10T09:05:00+00:00', 'minute'),  # relative in Ramadan (UTC+0)
]


def check(text: str, expected: str | None, precision: str | None, reference: datetime, *, fallback: bool) -> str | None:
    """None when `parse_date` gives the expected answer, else a description of the miss."""
    got = parse_date(text, reference=reference, fallback=fallback)
    if expected is None:
        return None if got is None else f"expected None, got {got.value.isoformat()} {got.precision}"
    if got is None:
        return "expected a date, got None"
    want = datetime.fromisoformat(expected)
    if got.value != want or got.value.utcoffset() != want.utcoffset() or got.precision != precision:
        return f"got {got.value.isoformat()} {got.precision}"
    return None


def test_table_is_large_and_covers_every_precision() -> None:
    dated = [row for row in TABLE + RAMADAN_TABLE if row[1] is not None]
    assert len(dated) >= 300
    assert {row[2] for row in dated} == set(PRECISIONS)
    assert len({row[0] for row in TABLE}) == len(TABLE), "duplicate rows"


@pytest.mark.parametrize("fallback", [False, True], ids=["fast-path", "with-fallback"])
@pytest.mark.parametrize(("text", "expected", "precision"), TABLE)
def test_table(text: str, expected: str | None, precision: str | None, fallback: bool) -> None:
    assert check(text, expected, precision, REFERENCE, fallback=fallback) is None


@pytest.mark.parametrize(("text", "expected", "precision"), RAMADAN_TABLE)
def test_relative_dates_during_ramadan(text: str, expected: str | None, precision: str | None) -> None:
    assert check(text, expected, precision, RAMADAN_REFERENCE, fallback=True) is None


def test_every_month_of_every_naming_system() -> None:
    systems = {
        "moroccan": "يناير فبراير مارس أبريل ماي يونيو يوليوز غشت شتنبر أكتوبر نونبر دجنبر",
        "egyptian": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
        "algerian": "جانفي فيفري مارس أفريل ماي جوان جويلية أوت سبتمبر أكتوبر نوفمبر ديسمبر",
    }
    levantine = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"]
    names = {k: v.split() for k, v in systems.items()} | {"levantine": levantine}
    for system, months in names.items():
        assert len(months) == 12
        for number, name in enumerate(months, 1):
            got = parse_date(f"15 {name} 2023", fallback=False)
            assert got is not None, (system, name)
            assert (got.value.year, got.value.month, got.value.day) == (2023, number, 15), (system, name)


def test_relative_dates_use_the_current_time_without_reference() -> None:
    before = datetime.now(timezone.utc)
    got = parse_date("منذ دقيقتين", fallback=False)
    assert got is not None and got.precision == "minute"
    assert 60 <= (before - got.value).total_seconds() <= 181


def test_dateparser_fallback_reads_forms_outside_the_fast_path() -> None:
    # English and French month names are not in the fast path's tables.
    assert parse_date("July 16, 2025", fallback=False) is None
    got = parse_date("July 16, 2025", reference=REFERENCE)
    assert got is not None and got.method == "dateparser" and got.precision == "day"
    assert got.value == datetime.fromisoformat("2025-07-16T00:00:00+01:00")
    got = parse_date("16 juillet 2025 à 14:30", reference=REFERENCE)
    assert got is not None and got.precision == "minute"
    assert got.value == datetime.fromisoformat("2025-07-16T14:30:00+01:00")


@pytest.mark.parametrize("value", [None, 42, b"16/07/2025", ["16/07/2025"], "x" * 10_000, "16/07/2025" * 50])
def test_non_text_and_oversized_input_is_not_a_date(value: object) -> None:
    assert parse_date(value) is None  # type: ignore[arg-type]


def test_values_in_the_repeated_ramadan_hour_compare_as_instants() -> None:
    # 2020-04-19: Casablanca's clock went from 03:00 back to 02:00 (UTC+1 -> UTC+0), so
    # 02:xx local happened twice. Values are pinned to the offset in force and compare
    # as instants with any other zone (a zoneinfo value there would never compare equal).
    first = parse_date("منذ ساعة", reference=datetime(2020, 4, 19, 2, 0, tzinfo=timezone.utc), fallback=False)
    second = parse_date("منذ دقيقة", reference=datetime(2020, 4, 19, 2, 31, tzinfo=timezone.utc), fallback=False)
    assert first is not None and second is not None
    assert first.value == datetime(2020, 4, 19, 1, 0, tzinfo=timezone.utc)
    assert first.value.isoformat() == "2020-04-19T02:00:00+01:00"
    assert second.value == datetime(2020, 4, 19, 2, 30, tzinfo=timezone.utc)
    assert second.value.isoformat() == "2020-04-19T02:30:00+00:00"
    assert sorted([second.value, first.value]) == [first.value, second.value]

"""Dates and periods as people say them (bot/when.py), with and without diacritics."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.when import parse_day, parse_period

TODAY = dt.date(2026, 11, 18)  # a Wednesday
D = dt.date


@pytest.mark.parametrize("said, day", [
    ("hôm nay", D(2026, 11, 18)), ("hom nay", D(2026, 11, 18)), ("Hôm qua", D(2026, 11, 17)),
    ("homqua", D(2026, 11, 17)), ("hôm kia", D(2026, 11, 16)), ("hom kia", D(2026, 11, 16)),
    ("thứ 2", D(2026, 11, 16)), ("thu hai", D(2026, 11, 16)), ("T2", D(2026, 11, 16)),
    ("thứ 4", D(2026, 11, 18)), ("thứ 5", D(2026, 11, 12)), ("thứ bảy", D(2026, 11, 14)),
    ("chủ nhật", D(2026, 11, 15)), ("CN", D(2026, 11, 15)), ("25/10", D(2026, 10, 25)),
    ("ngày 25/10/2026", D(2026, 10, 25)), ("17-11", D(2026, 11, 17)), ("18.11.26", D(2026, 11, 18)),
])
def test_days_people_say(said, day):
    assert parse_day(said, TODAY) == (day, "")


@pytest.mark.parametrize("said, why", [
    ("25/11/2026", "chưa tới"),           # the future, even with the year
    ("15/10", "30 ngày"),                 # further back than the setting allows
    ("31/02", "không có trên lịch"),
    ("mai", "chưa tới"),                   # tomorrow: a day to come, not one not understood
    ("'; DROP TABLE", "hôm qua"),
])
def test_days_refused_with_a_reason(said, why):
    day, text = parse_day(said, TODAY)
    assert day is None and why in text


def test_back_dating_window_is_a_setting():
    assert parse_day("15/10", TODAY, back_days=40)[0] == D(2026, 10, 15)
    assert parse_day("hôm qua", TODAY, back_days=0)[0] is None


def test_a_date_without_year_is_the_last_one_not_in_the_future():
    assert parse_day("30/12", D(2027, 1, 5))[0] == D(2026, 12, 30)


@pytest.mark.parametrize("said, start, end", [
    ("", D(2026, 11, 1), TODAY), ("tháng này", D(2026, 11, 1), TODAY), ("thang", D(2026, 11, 1), TODAY),
    ("hôm nay", TODAY, TODAY), ("hom qua", D(2026, 11, 17), D(2026, 11, 17)),
    ("tuần này", D(2026, 11, 16), TODAY), ("tuan truoc", D(2026, 11, 9), D(2026, 11, 15)),
    ("tháng trước", D(2026, 10, 1), D(2026, 10, 31)), ("thang 10", D(2026, 10, 1), D(2026, 10, 31)),
    ("tháng 12", D(2025, 12, 1), D(2025, 12, 31)), ("thang 2/2024", D(2024, 2, 1), D(2024, 2, 29)),
    ("quý này", D(2026, 10, 1), TODAY), ("quy", D(2026, 10, 1), TODAY), ("nam", D(2026, 1, 1), TODAY),
    ("quy 3", D(2026, 7, 1), D(2026, 9, 30)),
    ("quý III", D(2026, 7, 1), D(2026, 9, 30)), ("quy truoc", D(2026, 7, 1), D(2026, 9, 30)),
    ("năm nay", D(2026, 1, 1), TODAY), ("nam 2025", D(2025, 1, 1), D(2025, 12, 31)),
    ("6 tháng", D(2026, 1, 1), D(2026, 6, 30)), ("6 thang cuoi nam", D(2026, 7, 1), TODAY),
    ("9 tháng", D(2026, 1, 1), D(2026, 9, 30)),
    ("1/11-15/11", D(2026, 11, 1), D(2026, 11, 15)),
    ("01/11/2026 - 15/11/2026", D(2026, 11, 1), D(2026, 11, 15)),
    ("từ 1/11 đến 15/11", D(2026, 11, 1), D(2026, 11, 15)),
    ("30/10/2026", D(2026, 10, 30), D(2026, 10, 30)), ("tất cả", D(2000, 1, 1), TODAY),
])
def test_periods_people_say(said, start, end):
    period = parse_period(said, TODAY)
    assert period is not None and (period.start, period.end) == (start, end)
    again = parse_period(period.arg, TODAY)  # the button form reads back as the same period
    assert again is not None and (again.start, again.end) == (start, end)


@pytest.mark.parametrize("said", ["hom kia", "tháng 13", "quý 5", "năm 1999", "10/11/2026-01/11/2026", "abc",
                                  "1/11-15/11-20/11", "01/01/1999-01/02/1999", "01/01/2020-01/01/2026",
                                  "01/01/2028"])
def test_periods_refused(said):
    assert parse_period(said, TODAY) is None


def test_labels_read_naturally():
    assert parse_period("tháng trước", TODAY).label == "tháng 10/2026"
    assert parse_period("quy 3", TODAY).label == "quý 3/2026"
    assert parse_period("6 thang", TODAY).label == "6 tháng đầu năm 2026"

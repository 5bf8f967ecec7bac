from datetime import date, datetime, timedelta

import pytest

from shared.calendar import (
    LAST_YEAR,
    CalendarError,
    CalendarOutOfRange,
    CalendarTableInvalid,
    DayOverride,
    YearTable,
    check_year_table,
    default_calendar,
    provisional_days,
)

# 2025 National Day (国庆节): 10-01..10-08 off; Sunday 09-28 and Saturday 10-11 are working days (调休).


def test_national_day_2025_holidays_are_rest_days() -> None:
    cal = default_calendar()
    assert [cal.is_working_day(date(2025, 10, d)) for d in range(1, 9)] == [False] * 8
    assert cal.is_working_day(date(2025, 10, 9))


def test_adjusted_working_weekends_2025_are_working_days() -> None:
    cal = default_calendar()
    assert cal.is_working_day(date(2025, 9, 28))  # Sunday
    assert cal.is_working_day(date(2025, 10, 11))  # Saturday


def test_ordinary_weekend_is_rest_day() -> None:
    cal = default_calendar()
    assert not cal.is_working_day(date(2025, 9, 27))  # Saturday
    assert not cal.is_working_day(date(2025, 10, 12))  # Sunday


def test_next_working_day_skips_the_whole_holiday() -> None:
    cal = default_calendar()
    assert cal.next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert cal.next_working_day(date(2025, 9, 27)) == date(2025, 9, 28)


def test_add_working_days_counts_adjusted_weekends_and_skips_holidays() -> None:
    cal = default_calendar()
    assert cal.add_working_days(date(2025, 9, 26), 3) == date(2025, 9, 30)
    assert cal.add_working_days(date(2025, 9, 30), 5) == date(2025, 10, 14)
    assert cal.add_working_days(date(2025, 10, 1), 0) == date(2025, 10, 1)


def test_add_working_days_refuses_negative_count() -> None:
    with pytest.raises(ValueError):
        default_calendar().add_working_days(date(2025, 9, 26), -1)


def test_package_table_carries_chinese_holiday_names() -> None:
    table = default_calendar().year_table(2025)
    assert DayOverride(date(2025, 9, 28), True, "国庆节") in table
    assert DayOverride(date(2025, 10, 1), False, "国庆节") in table


def test_package_years_are_tabled() -> None:
    cal = default_calendar()
    assert {2018, 2025} <= cal.tabled_years()
    assert cal.status(2018) == "packaged"


def table(year: int, *days: DayOverride, revision: int = 1) -> YearTable:
    return YearTable(year, days, "国办发明电〔2098〕1号", date(year - 1, 11, 20), revision)


def test_year_after_the_package_is_provisional_not_refused() -> None:
    cal = default_calendar()
    assert cal.status(2099) == "provisional"
    # 2099-01-01 is a Thursday: 元旦 is its statutory holiday, Friday 01-02 an ordinary working day.
    assert not cal.is_working_day(date(2099, 1, 1))
    assert cal.is_working_day(date(2099, 1, 2))
    assert cal.provisional_between(date(2098, 12, 30), date(2099, 1, 2))
    assert not cal.provisional_between(date(2025, 12, 30), date(2026, 1, 5))


def test_years_outside_the_range_are_refused_in_chinese() -> None:
    cal = default_calendar()
    for year in (cal.first_year() - 1, LAST_YEAR + 1):
        with pytest.raises(CalendarOutOfRange) as caught:
            cal.is_working_day(date(year, 3, 2))
        assert caught.value.year == year
        assert f"{year} 年不在节假日日历的范围内" in str(caught.value)
        assert isinstance(caught.value, CalendarError)


def test_counting_past_the_last_year_is_refused() -> None:
    with pytest.raises(CalendarOutOfRange) as caught:
        default_calendar().add_working_days(date(LAST_YEAR, 12, 30), 5)
    assert caught.value.year == LAST_YEAR + 1


def test_official_table_replaces_the_provisional_year() -> None:
    # A made-up New Year table for 2098 (01-01 is a Wednesday) with a working Sunday 01-05.
    official = table(
        2098,
        DayOverride(date(2098, 1, 1), False, "元旦"),
        DayOverride(date(2098, 1, 2), False, "元旦"),
        DayOverride(date(2098, 1, 5), True, "元旦调休上班"),
    )
    cal = default_calendar().with_table(official)
    assert cal.status(2098) == "official"
    assert cal.official_table(2098) == official
    assert not cal.is_working_day(date(2098, 1, 2))
    assert cal.is_working_day(date(2098, 1, 5))
    assert cal.add_working_days(date(2098, 1, 1), 2) == date(2098, 1, 5)  # Friday 01-03, Sunday 01-05
    # The provisional statutory days of that year no longer count: 春节 2098 is not in this table.
    assert all(cal.is_working_day(d) for d in provisional_days(2098) if d.weekday() < 5 and d.month > 1)
    assert not cal.provisional_between(date(2098, 1, 1), date(2098, 12, 31))


def test_publishing_a_year_leaves_the_shared_default_calendar_unchanged() -> None:
    default_calendar().with_table(table(2098, DayOverride(date(2098, 1, 2), False, "元旦")))
    assert default_calendar().status(2098) == "provisional"
    assert default_calendar().is_working_day(date(2098, 1, 2))


def test_official_table_replaces_a_packaged_year_whole() -> None:
    corrected = table(2025, DayOverride(date(2025, 10, 9), False, "调整放假"))
    cal = default_calendar().with_table(corrected)
    assert cal.status(2025) == "official"
    assert not cal.is_working_day(date(2025, 10, 9))
    # The whole year is the official table now: the package's 国庆 days are no longer there.
    assert cal.is_working_day(date(2025, 10, 1))
    assert default_calendar().is_working_day(date(2025, 10, 9))
    assert default_calendar().status(2025) == "packaged"


STATUTORY_2027 = {
    date(2027, 1, 1): "元旦",
    date(2027, 2, 5): "农历除夕",
    date(2027, 2, 6): "春节",
    date(2027, 2, 7): "春节",
    date(2027, 2, 8): "春节",
    date(2027, 4, 5): "清明节",
    date(2027, 5, 1): "劳动节",
    date(2027, 5, 2): "劳动节",
    date(2027, 6, 9): "端午节",
    date(2027, 9, 15): "中秋节",
    date(2027, 10, 1): "国庆节",
    date(2027, 10, 2): "国庆节",
    date(2027, 10, 3): "国庆节",
}
# 2028: 中秋 (八月十五) falls on 10-03, inside 国庆; the law gives no extra day for the overlap.
STATUTORY_2028 = {
    date(2028, 1, 1): "元旦",
    date(2028, 1, 25): "农历除夕",
    date(2028, 1, 26): "春节",
    date(2028, 1, 27): "春节",
    date(2028, 1, 28): "春节",
    date(2028, 4, 4): "清明节",
    date(2028, 5, 1): "劳动节",
    date(2028, 5, 2): "劳动节",
    date(2028, 5, 28): "端午节",
    date(2028, 10, 1): "国庆节",
    date(2028, 10, 2): "国庆节",
    date(2028, 10, 3): "中秋节; 国庆节",
}


@pytest.mark.parametrize("year, statutory", [(2027, STATUTORY_2027), (2028, STATUTORY_2028)])
def test_provisional_table_is_the_statutory_holidays_of_2025_law(
    year: int, statutory: dict[date, str]
) -> None:
    """全国年节及纪念日放假办法 (2025): 元旦 1, 春节 4 (除夕 to 初三), 清明 1, 劳动节 2, 端午 1,
    中秋 1, 国庆 3 days, no 调休: every other weekday works, every weekend rests."""
    days = provisional_days(year)
    assert {d: o.name for d, o in days.items()} == statutory
    cal = default_calendar()
    assert cal.status(year) == "provisional"
    assert [d.date for d in cal.year_table(year)] == sorted(statutory)
    day = date(year, 1, 1)
    while day.year == year:
        expected = day not in statutory and day.weekday() < 5
        assert cal.is_working_day(day) == expected, day
        day += timedelta(days=1)


def test_provisional_days_leave_out_the_library_substitute_rest_days() -> None:
    # 2026 has a notice the library knows (调休 rest days); the provisional reading keeps only the law.
    assert all("调休" not in o.name and "补假" not in o.name for o in provisional_days(2026).values())


def year_2099() -> tuple[list[tuple[date, str]], list[tuple[date, str]]]:
    return [(date(2099, 1, 1), "元旦"), (date(2099, 1, 2), "元旦")], [(date(2099, 1, 4), "元旦调休上班")]


def test_a_valid_table_is_accepted_in_date_order() -> None:
    holidays, working = year_2099()
    days = check_year_table(2099, reversed(holidays), working)
    assert [(d.date, d.is_working) for d in days] == [
        (date(2099, 1, 1), False),
        (date(2099, 1, 2), False),
        (date(2099, 1, 4), True),
    ]


@pytest.mark.parametrize(
    "holidays, working, field, words",
    [
        ([(date(2098, 12, 31), "元旦")], [], "holidays[0].date", "不属于 2099 年"),
        ([(date(2099, 1, 1), "元旦"), (date(2099, 1, 1), "元旦")], [], "holidays[1].date", "重复"),
        ([(date(2099, 1, 1), "元旦")], [(date(2099, 1, 1), "元旦")], "working_days[0].date", "重复"),
        ([(date(2099, 1, 1), "元旦")], [(date(2099, 1, 5), "调休")], "working_days[0].date", "星期一"),
        ([(date(2099, 1, 3), "元旦")], [], "holidays[0].date", "星期六"),
        ([], [], "holidays", "为空"),
        ([], [(date(2099, 1, 4), "调休")], "holidays", "为空"),
    ],
)
def test_a_bad_table_names_the_entry_in_chinese(
    holidays: list[tuple[date, str]], working: list[tuple[date, str]], field: str, words: str
) -> None:
    with pytest.raises(CalendarTableInvalid) as caught:
        check_year_table(2099, holidays, working)
    assert caught.value.field == field
    assert words in caught.value.detail


def test_a_table_before_the_package_or_past_the_range_is_refused() -> None:
    first = default_calendar().first_year()
    for year in (first - 1, LAST_YEAR + 1):
        with pytest.raises(CalendarTableInvalid) as caught:
            check_year_table(year, [(date(year, 3, 2), "x")], [])
        assert caught.value.field == "year"


def test_datetime_is_refused_where_a_date_is_expected() -> None:
    with pytest.raises(TypeError):
        default_calendar().is_working_day(datetime(2025, 10, 1, 12, 0))

from datetime import date, datetime

import pytest

from shared.calendar import (
    CalendarError,
    CalendarYearMissing,
    DayOverride,
    HolidayCalendar,
    default_calendar,
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


def test_covered_years_include_package_years() -> None:
    assert {2018, 2025} <= default_calendar().covered_years()


def test_year_without_data_raises_with_how_to_add_it() -> None:
    with pytest.raises(CalendarYearMissing) as caught:
        default_calendar().is_working_day(date(2099, 1, 5))
    assert caught.value.year == 2099
    message = str(caught.value)
    assert "2099" in message
    assert "calendar API" in message
    assert "holiday table" in message
    assert isinstance(caught.value, CalendarError)


def test_counting_into_a_year_without_data_raises() -> None:
    cal = HolidayCalendar(years=[2098])
    with pytest.raises(CalendarYearMissing) as caught:
        cal.add_working_days(date(2098, 12, 30), 5)
    assert caught.value.year == 2099


def test_added_year_is_covered_and_its_overrides_apply() -> None:
    # 2099-01-01 is a Thursday; a made-up New Year table with a working Sunday 01-04.
    cal = default_calendar().with_year(
        2099,
        [
            DayOverride(date(2099, 1, 1), False, "元旦"),
            DayOverride(date(2099, 1, 2), False, "元旦"),
            DayOverride(date(2099, 1, 4), True, "元旦"),
        ],
    )
    assert 2099 in cal.covered_years()
    assert not cal.is_working_day(date(2099, 1, 2))
    assert cal.is_working_day(date(2099, 1, 4))
    assert cal.add_working_days(date(2099, 1, 1), 2) == date(2099, 1, 5)
    assert not cal.is_working_day(date(2099, 1, 10))  # Saturday, not overridden


def test_adding_a_year_leaves_the_shared_default_calendar_unchanged() -> None:
    default_calendar().with_year(2099, [])
    with pytest.raises(CalendarYearMissing):
        default_calendar().is_working_day(date(2099, 1, 5))


def test_override_takes_precedence_over_package_data() -> None:
    cal = default_calendar().with_year(2025, [DayOverride(date(2025, 10, 9), False, "调整放假")])
    assert not cal.is_working_day(date(2025, 10, 9))
    assert cal.is_working_day(date(2025, 10, 11))  # the rest of the package's 2025 table stays
    assert default_calendar().is_working_day(date(2025, 10, 9))


def test_override_for_another_year_is_refused() -> None:
    with pytest.raises(ValueError):
        default_calendar().with_year(2099, [DayOverride(date(2098, 12, 31), False, "元旦")])


def test_datetime_is_refused_where_a_date_is_expected() -> None:
    with pytest.raises(TypeError):
        default_calendar().is_working_day(datetime(2025, 10, 1, 12, 0))

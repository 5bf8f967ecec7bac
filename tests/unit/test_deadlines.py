from datetime import UTC, date, datetime

import pytest

from shared.calendar import DayOverride, YearTable, default_calendar
from shared.deadlines import SHANGHAI, TimeLimit, deadline, is_past, is_provisional, last_day, local_date

CAL = default_calendar()


def test_calendar_days_roll_past_national_day_2025_civil_code_203() -> None:
    # Last day 10-02 is inside the 10-01..10-08 holiday; the next working day is 10-09.
    assert last_day(date(2025, 9, 29), TimeLimit(3, "calendar"), CAL) == date(2025, 10, 9)


def test_working_days_count_adjusted_sunday_2025_09_28() -> None:
    # From Friday 09-26: 09-28 (Sunday, 调休), 09-29, 09-30.
    assert last_day(date(2025, 9, 26), TimeLimit(3, "working"), CAL) == date(2025, 9, 30)


def test_working_days_skip_national_day_and_count_adjusted_saturday_2025_10_11() -> None:
    # From 09-30: 10-09, 10-10, 10-11 (Saturday, 调休), 10-13, 10-14.
    assert last_day(date(2025, 9, 30), TimeLimit(5, "working"), CAL) == date(2025, 10, 14)


def test_event_day_not_counted_civil_code_201() -> None:
    assert last_day(date(2025, 9, 1), TimeLimit(1, "calendar"), CAL) == date(2025, 9, 2)
    assert last_day(date(2025, 9, 1), TimeLimit(1, "working"), CAL) == date(2025, 9, 2)


def test_dragon_boat_2018_deadline_is_end_of_06_19_civil_code_203() -> None:
    # 3 days from Thursday 06-14 end on Sunday 06-17, inside 端午 (06-16..18).
    period = TimeLimit(3, "calendar")
    assert last_day(date(2018, 6, 14), period, CAL) == date(2018, 6, 19)
    assert deadline(date(2018, 6, 14), period, CAL) == datetime(2018, 6, 20, 0, 0, tzinfo=SHANGHAI)


def test_dragon_boat_2018_without_roll_ends_on_sunday_06_17() -> None:
    period = TimeLimit(3, "calendar")
    assert last_day(date(2018, 6, 14), period, CAL, roll_to_working_day=False) == date(2018, 6, 17)
    assert deadline(date(2018, 6, 14), period, CAL, roll_to_working_day=False) == datetime(
        2018, 6, 18, 0, 0, tzinfo=SHANGHAI
    )


def test_deadline_is_midnight_after_last_day_in_shanghai() -> None:
    instant = deadline(date(2018, 6, 14), TimeLimit(3, "calendar"), CAL)
    assert instant.isoformat() == "2018-06-20T00:00:00+08:00"
    assert instant == datetime(2018, 6, 19, 16, 0, tzinfo=UTC)


def test_last_second_of_last_day_is_not_past_but_midnight_is() -> None:
    instant = deadline(date(2018, 6, 14), TimeLimit(3, "calendar"), CAL)
    assert not is_past(instant, datetime(2018, 6, 19, 23, 59, 59, tzinfo=SHANGHAI))
    assert is_past(instant, datetime(2018, 6, 20, 0, 0, tzinfo=SHANGHAI))
    assert not is_past(instant, datetime(2018, 6, 19, 15, 59, 59, tzinfo=UTC))
    assert is_past(instant, datetime(2018, 6, 19, 16, 0, tzinfo=UTC))


def test_utc_start_near_midnight_uses_the_shanghai_date() -> None:
    # 2025-09-28 16:30 UTC is already 00:30 on 09-29 in Shanghai.
    after_midnight = datetime(2025, 9, 28, 16, 30, tzinfo=UTC)
    before_midnight = datetime(2025, 9, 28, 15, 30, tzinfo=UTC)
    assert local_date(after_midnight) == date(2025, 9, 29)
    assert local_date(before_midnight) == date(2025, 9, 28)
    one_working_day = TimeLimit(1, "working")
    assert deadline(after_midnight, one_working_day, CAL) == datetime(2025, 10, 1, tzinfo=SHANGHAI)
    assert deadline(before_midnight, one_working_day, CAL) == datetime(2025, 9, 30, tzinfo=SHANGHAI)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        deadline(datetime(2025, 9, 29, 12, 0), TimeLimit(3, "calendar"), CAL)
    with pytest.raises(ValueError):
        is_past(datetime(2025, 10, 10, tzinfo=SHANGHAI), datetime(2025, 10, 10))
    with pytest.raises(ValueError):
        local_date(datetime(2025, 10, 10))


def test_zero_days_ends_at_end_of_the_same_day() -> None:
    # Even on a holiday: "the same day" is not a period a rest day can extend.
    assert deadline(date(2025, 10, 1), TimeLimit(0, "calendar"), CAL) == datetime(
        2025, 10, 2, tzinfo=SHANGHAI
    )
    assert deadline(date(2025, 10, 1), TimeLimit(0, "working"), CAL) == datetime(2025, 10, 2, tzinfo=SHANGHAI)


def test_negative_or_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError):
        TimeLimit(-1, "calendar")
    with pytest.raises(ValueError):
        TimeLimit(3, "weeks")  # type: ignore[arg-type]


def test_ten_calendar_days_and_twenty_working_days_differ_national_regulation() -> None:
    # From Friday 2025-09-26: 10 days end 10-06 (holiday) and roll to 10-09; 20 working days end 10-30.
    start = date(2025, 9, 26)
    assert deadline(start, TimeLimit(10, "calendar"), CAL) == datetime(2025, 10, 10, tzinfo=SHANGHAI)
    assert deadline(start, TimeLimit(20, "working"), CAL) == datetime(2025, 10, 31, tzinfo=SHANGHAI)


def test_deadline_in_a_provisional_year_is_computed_and_said_to_be_provisional() -> None:
    # 2099-01-05 is a Monday; 3 working days reach Thursday 01-08 on the provisional table.
    start = date(2099, 1, 5)
    end = deadline(start, TimeLimit(3, "working"), CAL)
    assert end == datetime(2099, 1, 9, tzinfo=SHANGHAI)
    assert is_provisional(start, end, CAL)
    official = CAL.with_table(
        YearTable(2099, (DayOverride(date(2099, 1, 6), False, "假想"),), "通知", date(2098, 11, 1), 1)
    )
    end = deadline(start, TimeLimit(3, "working"), official)
    assert end == datetime(2099, 1, 10, tzinfo=SHANGHAI)
    assert not is_provisional(start, end, official)


def test_civil_code_roll_over_new_year_on_the_provisional_table() -> None:
    # From Tuesday 2026-12-22, 10 days end Friday 2027-01-01 (元旦, statutory), then a weekend:
    # the period ends Monday 01-04. Its last day lies in 2027, which has no official table yet.
    start = date(2026, 12, 22)
    end = deadline(start, TimeLimit(10, "calendar"), CAL)
    assert end == datetime(2027, 1, 5, tzinfo=SHANGHAI)
    assert is_provisional(start, end, CAL)
    # A period that ends in the packaged year is not provisional, though its 24:00 is in 2027.
    end = deadline(date(2026, 12, 28), TimeLimit(3, "calendar"), CAL)
    assert end == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert not is_provisional(date(2026, 12, 28), end, CAL)


def test_calendar_days_without_roll_need_no_holiday_data() -> None:
    assert last_day(date(2099, 1, 5), TimeLimit(3, "calendar"), CAL, roll_to_working_day=False) == date(
        2099, 1, 8
    )

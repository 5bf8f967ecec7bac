"""The one deadline engine: time limits in calendar or working days, ending at 24:00 Asia/Shanghai.

Counting follows the Civil Code: the day of the triggering event is not counted (第二百零一条), and
a calendar-day period whose last day is a rest day or public holiday ends on the next working day
(第二百零三条), unless the policy profile switches that off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from shared.calendar import HolidayCalendar

DayUnit = Literal["calendar", "working"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class TimeLimit:
    """A time limit from a rule, e.g. 10 days (天) or 20 working days (工作日).

    Not a reporting period (``2018-Q2``): those are ``shared.periods.ReportPeriod``.
    """

    amount: int
    unit: DayUnit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise ValueError(f"period amount must be an integer >= 0, got {self.amount!r}")
        if self.unit not in get_args(DayUnit):
            raise ValueError(f"period unit must be one of {get_args(DayUnit)}, got {self.unit!r}")


def last_day(
    start: date, period: TimeLimit, calendar: HolidayCalendar, *, roll_to_working_day: bool = True
) -> date:
    """The last day of `period` counted from the event date `start` (which itself is not counted)."""
    if isinstance(start, datetime):
        raise TypeError("last_day() takes the event's local date; use deadline() for an instant")
    # Zero days means "by the end of the same day", which no rest day can extend.
    if period.amount == 0:
        return start
    if period.unit == "working":
        return calendar.add_working_days(start, period.amount)
    end = start + timedelta(days=period.amount)
    if roll_to_working_day and not calendar.is_working_day(end):
        end = calendar.next_working_day(end)
    return end


def deadline(
    start: date | datetime, period: TimeLimit, calendar: HolidayCalendar, *, roll_to_working_day: bool = True
) -> datetime:
    """The instant the period runs out: 00:00 Asia/Shanghai after its last day, i.e. 24:00 of that day."""
    start_day = local_date(start) if isinstance(start, datetime) else start
    end = last_day(start_day, period, calendar, roll_to_working_day=roll_to_working_day)
    return datetime.combine(end + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def is_provisional(start: date | datetime, deadline_instant: datetime, calendar: HolidayCalendar) -> bool:
    """Whether the deadline counted from ``start`` consulted a provisional year of the calendar:
    one with no official holiday table yet, so the official table may still move it."""
    start_day = local_date(start) if isinstance(start, datetime) else start
    last = local_date(deadline_instant - timedelta(microseconds=1))
    return calendar.provisional_between(min(start_day, last), last)


def is_past(deadline_instant: datetime, now: datetime) -> bool:
    """Whether the deadline has run out at `now`; exactly 24:00 of the last day is already late."""
    _require_aware(deadline_instant, "deadline_instant")
    _require_aware(now, "now")
    return now >= deadline_instant


def on_the_calendar(value: datetime) -> datetime:
    """``value`` unchanged if it exists both in UTC (deadlines are compared there) and in
    Asia/Shanghai (dates are read there); a ``ValueError`` for instants at the edge of years
    1–9999, for use as a pydantic ``AfterValidator`` on instants clients send."""
    try:
        value.astimezone(UTC), value.astimezone(SHANGHAI)
    except OverflowError as exc:
        raise ValueError("时刻超出可表示的范围（公元 1–9999 年）") from exc
    return value


def local(instant: datetime) -> datetime:
    """``instant`` shown in Asia/Shanghai, where deadlines are counted (the database returns UTC)."""
    return instant.astimezone(SHANGHAI)


def maybe_local(instant: datetime | None) -> datetime | None:
    return None if instant is None else local(instant)


def local_date(instant: datetime) -> date:
    """The calendar date of `instant` in Asia/Shanghai."""
    _require_aware(instant, "instant")
    return instant.astimezone(SHANGHAI).date()


def _require_aware(value: datetime, what: str) -> None:
    # A naive datetime could be server time or UTC; guessing would shift deadlines by up to a day.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value!r}")

"""Working-day calendar for China: public holidays and adjusted working weekends (调休).

Seeded from the `chinesecalendar` package; a deployment adds the years the package lacks
(and corrections) as `DayOverride`s through the calendar API.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from chinese_calendar import constants as _package

_ONE_DAY = dt.timedelta(days=1)


class CalendarError(Exception):
    """The calendar cannot answer a question about working days."""


class CalendarYearMissing(CalendarError):
    """A date falls in a year for which no holiday table has been loaded."""

    def __init__(self, year: int, covered: Iterable[int]) -> None:
        self.year = year
        super().__init__(
            f"no holiday data for {year}, so working days in {year} cannot be counted "
            f"(covered years: {_describe_years(covered)}). Add the public holidays and adjusted "
            f"working days (调休) of {year} through the calendar API or the holiday table."
        )


@dataclass(frozen=True)
class DayOverride:
    """One exception to the Monday–Friday rule: a weekday off (holiday) or a working weekend (调休)."""

    date: dt.date
    is_working: bool
    name: str

    def __post_init__(self) -> None:
        # A datetime is a date subclass but never equal to one, so it would silently miss lookups.
        if isinstance(self.date, dt.datetime) or not isinstance(self.date, dt.date):
            raise TypeError(f"DayOverride.date must be a date, got {self.date!r}")


class HolidayCalendar:
    """Which days are working days, for the years it holds a complete holiday table for.

    Immutable: `default_calendar()` is shared process-wide, so adding a year returns a new
    calendar instead of changing one that other callers hold.
    """

    def __init__(self, days: Iterable[DayOverride] = (), years: Iterable[int] = ()) -> None:
        """`days` are the exceptions to Monday–Friday; `years` are those whose exceptions are all listed."""
        self._years = frozenset(years)
        self._days: dict[dt.date, DayOverride] = {}
        for day in days:
            if day.date.year not in self._years:
                raise ValueError(f"{day.date} is outside the covered years; add its year as well")
            self._days[day.date] = day

    def with_year(self, year: int, days: Iterable[DayOverride]) -> HolidayCalendar:
        """A copy in which `year` counts as covered and `days` replace what was known for those dates.

        For a year the package lacks, `days` is the whole table; for a covered year, they are corrections.
        """
        added: dict[dt.date, DayOverride] = {}
        for day in days:
            if day.date.year != year:
                raise ValueError(f"{day.date} does not belong to {year}")
            if day.date in added:
                raise ValueError(f"{day.date} is listed twice for {year}")
            added[day.date] = day
        return HolidayCalendar({**self._days, **added}.values(), self._years | {year})

    def covered_years(self) -> frozenset[int]:
        return self._years

    def year_table(self, year: int) -> tuple[DayOverride, ...]:
        """The exceptions listed for `year`, in date order (for showing or seeding the holiday table)."""
        self._require_year(year)
        return tuple(sorted((d for d in self._days.values() if d.date.year == year), key=lambda d: d.date))

    def is_working_day(self, day: dt.date) -> bool:
        _require_plain_date(day)
        return self._is_working(day)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        _require_plain_date(day)
        return self._nth_working_day_after(day, 1)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The `n`-th working day after `day`, not counting `day` itself; `day` when `n` is 0."""
        _require_plain_date(day)
        if n < 0:
            raise ValueError(f"working days to add must be >= 0, got {n}")
        return self._nth_working_day_after(day, n)

    def _nth_working_day_after(self, day: dt.date, n: int) -> dt.date:
        # Terminates: every step either finds a working day or reaches an uncovered year and raises.
        while n > 0:
            day += _ONE_DAY
            if self._is_working(day):
                n -= 1
        return day

    def _is_working(self, day: dt.date) -> bool:
        self._require_year(day.year)
        override = self._days.get(day)
        if override is not None:
            return override.is_working
        return day.weekday() < 5

    def _require_year(self, year: int) -> None:
        if year not in self._years:
            raise CalendarYearMissing(year, self._years)


@functools.cache
def default_calendar() -> HolidayCalendar:
    """The calendar from the installed `chinesecalendar` package, built once on first use."""
    holidays: dict[dt.date, str] = _package.holidays
    workdays: dict[dt.date, str] = _package.workdays
    # The package stores English names; users of the platform read the Chinese ones.
    chinese: dict[str, str] = {h.value: h.chinese for h in _package.Holiday}
    days = [DayOverride(d, False, chinese.get(name, name)) for d, name in holidays.items()]
    days += [DayOverride(d, True, chinese.get(name, name)) for d, name in workdays.items()]
    # Same coverage rule as the package itself: every year between its first and last holiday.
    years = range(min(holidays).year, max(holidays).year + 1)
    return HolidayCalendar(days, years)


def _require_plain_date(day: dt.date) -> None:
    # A datetime's calendar date depends on its time zone; callers convert with deadlines.local_date().
    if isinstance(day, dt.datetime):
        raise TypeError(f"expected a date, got the datetime {day!r}; convert it to a local date first")


def _describe_years(years: Iterable[int]) -> str:
    """Compact runs, e.g. '2004–2026, 2031'."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][1] + 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs) or "none"

"""Working-day calendar for China: public holidays and adjusted working weekends (调休).

Every year from the first one the `chinesecalendar` package covers up to ``LAST_YEAR`` has an
answer, of one of three kinds (``YearStatus``):

- **packaged**: the table the installed `chinesecalendar` package carries (the seed);
- **official**: a table an administrator published through the calendar API from the State
  Council's notice (国务院办公厅关于某年部分节假日安排的通知); it replaces the whole year;
- **provisional**: a year nobody has a table for yet. Its rest days are the statutory holidays of
  《全国年节及纪念日放假办法》 as in force from 2025 (元旦 1 day, 春节 4, 清明 1, 劳动节 2, 端午 1,
  中秋 1, 国庆 3), dated on the lunar calendar by the `holidays` library, and it has no adjusted
  working weekends. A deadline counted through such a year is marked provisional
  (``provisional_between``) and recomputed when the official table arrives.

Years outside that range (``CalendarOutOfRange``) are the only questions the calendar refuses.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import holidays as _holidays
from chinese_calendar import constants as _package

_ONE_DAY = dt.timedelta(days=1)

# The `holidays` library dates the lunar festivals up to 2100; a deadline further out than this
# is a typing error, not a plan.
LAST_YEAR = 2099

YearStatus = Literal["packaged", "official", "provisional"]

_WEEKDAYS = "一二三四五六日"


class CalendarError(Exception):
    """The calendar cannot answer a question about working days."""


class CalendarOutOfRange(CalendarError):
    """A date falls in a year before the packaged table begins or after ``LAST_YEAR``."""

    def __init__(self, year: int, first: int, last: int) -> None:
        self.year = year
        self.first = first
        self.last = last
        super().__init__(
            f"{year} 年不在节假日日历的范围内（{first}–{last} 年），无法计算工作日；请检查日期是否填写正确"
        )


class CalendarTableInvalid(CalendarError):
    """A year's table as submitted cannot be published; ``field`` names the offending entry."""

    def __init__(self, detail: str, *, field: str) -> None:
        self.detail = detail
        self.field = field
        super().__init__(detail)


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


@dataclass(frozen=True)
class YearTable:
    """The official table of one year, as published by an administrator (revision 1, 2, …)."""

    year: int
    days: tuple[DayOverride, ...]
    notice: str
    published_on: dt.date
    revision: int


def weekday_name(day: dt.date) -> str:
    return f"星期{_WEEKDAYS[day.weekday()]}"


def check_year_table(
    year: int, holidays: Iterable[tuple[dt.date, str]], working_days: Iterable[tuple[dt.date, str]]
) -> tuple[DayOverride, ...]:
    """The exceptions of an official table, or ``CalendarTableInvalid`` naming the first bad entry.

    A table lists only exceptions to Monday–Friday: weekdays off (``holidays``) and weekends worked
    (``working_days``); a weekend is a rest day without being listed, a weekday a working day.
    """
    first = packaged_years()[0]
    if year < first:
        raise CalendarTableInvalid(f"{year} 年早于节假日日历的起始年份 {first} 年，不能发布", field="year")
    if year > LAST_YEAR:
        raise CalendarTableInvalid(f"{year} 年晚于节假日日历支持的最后年份 {LAST_YEAR} 年", field="year")
    days: list[DayOverride] = []
    seen: dict[dt.date, str] = {}
    for kind, entries in (("holidays", holidays), ("working_days", working_days)):
        for index, (day, name) in enumerate(entries):
            field = f"{kind}[{index}].date"
            if day.year != year:
                raise CalendarTableInvalid(f"日期 {day} 不属于 {year} 年", field=field)
            if day in seen:
                raise CalendarTableInvalid(f"日期 {day} 重复列出（已见于 {seen[day]}）", field=field)
            seen[day] = field
            weekend = day.weekday() >= 5
            if kind == "holidays" and weekend:
                raise CalendarTableInvalid(
                    f"{day} 是{weekday_name(day)}，本为休息日，不应列为放假日；放假安排只列需要放假的工作日",
                    field=field,
                )
            if kind == "working_days" and not weekend:
                raise CalendarTableInvalid(
                    f"{day} 是{weekday_name(day)}，本为工作日；调休上班日只能是星期六或星期日",
                    field=field,
                )
            days.append(DayOverride(day, kind == "working_days", name))
    if not any(not d.is_working for d in days):
        raise CalendarTableInvalid(f"{year} 年的节假日安排为空：至少要列出一个放假日", field="holidays")
    return tuple(sorted(days, key=lambda d: d.date))


class HolidayCalendar:
    """Which days are working days, from ``first_year`` to ``LAST_YEAR``.

    Immutable: ``default_calendar()`` is shared process-wide, so publishing a year returns a new
    calendar instead of changing one that other callers hold.
    """

    def __init__(
        self,
        days: Iterable[DayOverride] = (),
        years: Iterable[int] = (),
        *,
        official: Mapping[int, YearTable] | None = None,
        first_year: int | None = None,
    ) -> None:
        """``days`` are the exceptions to Monday–Friday of the packaged ``years``; ``official``
        tables replace whole years; every other year up to ``LAST_YEAR`` is provisional."""
        self._packaged = frozenset(years)
        self._official: dict[int, YearTable] = dict(official or {})
        self._days: dict[dt.date, DayOverride] = {}
        for day in days:
            if day.date.year not in self._packaged:
                raise ValueError(f"{day.date} is outside the packaged years; add its year as well")
            if day.date.year not in self._official:
                self._days[day.date] = day
        for table in self._official.values():
            for day in table.days:
                self._days[day.date] = day
        tabled = self._packaged | self._official.keys()
        self._first = first_year if first_year is not None else min(tabled, default=LAST_YEAR)
        self._provisional: dict[int, dict[dt.date, DayOverride]] = {}

    def with_table(self, table: YearTable) -> HolidayCalendar:
        """A copy in which ``table`` is the official table of its year (replacing what was known)."""
        days = [d for d in self._days.values() if d.date.year in self._packaged]
        return HolidayCalendar(
            days, self._packaged, official={**self._official, table.year: table}, first_year=self._first
        )

    def first_year(self) -> int:
        return self._first

    def status(self, year: int) -> YearStatus:
        self._require_year(year)
        if year in self._official:
            return "official"
        return "packaged" if year in self._packaged else "provisional"

    def official_table(self, year: int) -> YearTable | None:
        return self._official.get(year)

    def tabled_years(self) -> frozenset[int]:
        """The years with a table, packaged or official; the others are provisional."""
        return self._packaged | self._official.keys()

    def year_table(self, year: int) -> tuple[DayOverride, ...]:
        """The exceptions of ``year``, in date order: for a provisional year, the statutory holidays."""
        self._require_year(year)
        if self.status(year) == "provisional":
            return tuple(sorted(provisional_days(year).values(), key=lambda d: d.date))
        return tuple(sorted((d for d in self._days.values() if d.date.year == year), key=lambda d: d.date))

    def provisional_between(self, first: dt.date, last: dt.date) -> bool:
        """Whether counting from ``first`` to ``last`` consults a provisional year."""
        return any(self.status(y) == "provisional" for y in range(first.year, last.year + 1))

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
        # Terminates: every step either finds a working day or leaves the range and raises.
        while n > 0:
            day += _ONE_DAY
            if self._is_working(day):
                n -= 1
        return day

    def _is_working(self, day: dt.date) -> bool:
        self._require_year(day.year)
        override = self._days.get(day)
        if override is None and day.year not in self._packaged and day.year not in self._official:
            override = provisional_days(day.year).get(day)
        if override is not None:
            return override.is_working
        return day.weekday() < 5

    def _require_year(self, year: int) -> None:
        if not self._first <= year <= LAST_YEAR:
            raise CalendarOutOfRange(year, self._first, LAST_YEAR)


@functools.cache
def provisional_days(year: int) -> dict[dt.date, DayOverride]:
    """The statutory holidays of ``year`` (《全国年节及纪念日放假办法》), without any 调休.

    ``observed=False`` leaves out the library's substitute days; the rest days it knows from a
    year's own notice are named "…调休…" and left out too, so only the statutory days remain.
    """
    table = _holidays.country_holidays("CN", years=year, observed=False, language="zh_CN")
    days: dict[dt.date, DayOverride] = {}
    for day, name in sorted(table.items()):
        if "调休" in name:
            continue
        days[day] = DayOverride(day, False, name)
    return days


def packaged_years() -> tuple[int, ...]:
    """The years of the installed `chinesecalendar` table, oldest first."""
    holidays: dict[dt.date, str] = _package.holidays
    # Same coverage rule as the package itself: every year between its first and last holiday.
    return tuple(range(min(holidays).year, max(holidays).year + 1))


@functools.cache
def default_calendar() -> HolidayCalendar:
    """The calendar from the installed `chinesecalendar` package, built once on first use."""
    holidays: dict[dt.date, str] = _package.holidays
    workdays: dict[dt.date, str] = _package.workdays
    # The package stores English names; users of the platform read the Chinese ones.
    chinese: dict[str, str] = {h.value: h.chinese for h in _package.Holiday}
    days = [DayOverride(d, False, chinese.get(name, name)) for d, name in holidays.items()]
    days += [DayOverride(d, True, chinese.get(name, name)) for d, name in workdays.items()]
    return HolidayCalendar(days, packaged_years())


def _require_plain_date(day: dt.date) -> None:
    # A datetime's calendar date depends on its time zone; callers convert with deadlines.local_date().
    if isinstance(day, dt.datetime):
        raise TypeError(f"expected a date, got the datetime {day!r}; convert it to a local date first")

"""Reporting periods, parsed once: a year ``2018``, a quarter ``2018-Q2`` or a month ``2018-05``.

Statistics (D5), the overdue table (C6), indicator releases (I1) and evaluation rounds (E2) all
name a period this way. A time limit counted from an event ("10 days") is something else:
``shared.deadlines.TimeLimit``.
"""

from __future__ import annotations

import calendar as _months
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, timedelta
from typing import Literal

from shared.rules import RuleViolation

Frequency = Literal["monthly", "quarterly", "annual"]

FREQUENCY_EXAMPLES: dict[Frequency, str] = {"monthly": "2018-05", "quarterly": "2018-Q2", "annual": "2018"}
FREQUENCY_NAMES: dict[Frequency, str] = {"monthly": "月度", "quarterly": "季度", "annual": "年度"}
_QUARTER_NAMES = "一二三四"
MONTHS_PER_QUARTER = 3

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>\d)|(?P<month>\d{2})))?$")

# A period is read in local time and its neighbours (the day after it ends, the quarter before a
# round) must be dates too: the first and last years Python can hold are excluded.
YEARS = (MINYEAR + 1, MAXYEAR - 1)


@dataclass(frozen=True, order=True)
class ReportPeriod:
    """A year, quarter or month. ``index`` is the month (1–12), the quarter (1–4), or 1 for a year."""

    year: int
    frequency: Frequency
    index: int

    def __str__(self) -> str:
        if self.frequency == "monthly":
            return f"{self.year:04d}-{self.index:02d}"
        if self.frequency == "quarterly":
            return f"{self.year:04d}-Q{self.index}"
        return f"{self.year:04d}"

    @property
    def first_day(self) -> date:
        if self.frequency == "monthly":
            return date(self.year, self.index, 1)
        if self.frequency == "quarterly":
            return date(self.year, MONTHS_PER_QUARTER * (self.index - 1) + 1, 1)
        return date(self.year, 1, 1)

    @property
    def last_day(self) -> date:
        """Inclusive."""
        if self.frequency == "annual":
            return date(self.year, 12, 31)
        month = self.index if self.frequency == "monthly" else MONTHS_PER_QUARTER * self.index
        return date(self.year, month, _months.monthrange(self.year, month)[1])

    @property
    def end(self) -> date:
        """The first day after the period (exclusive end)."""
        return self.last_day + timedelta(days=1)

    @property
    def key(self) -> int:
        """Sorts periods of one frequency in time order (year * 100 + index)."""
        return self.year * 100 + self.index

    @property
    def label(self) -> str:
        """How a bulletin names it: 2018年5月, 2018年第二季度, 2018年度."""
        if self.frequency == "monthly":
            return f"{self.year}年{self.index}月"
        if self.frequency == "quarterly":
            return f"{self.year}年第{_QUARTER_NAMES[self.index - 1]}季度"
        return f"{self.year}年度"

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def parse_period(
    text: str,
    *,
    rule: str | None,
    field: str = "period",
    noun: str = "期别",
    frequencies: Collection[Frequency] = ("monthly", "quarterly", "annual"),
    years: tuple[int, int] = YEARS,
    kind: str = "invalid-period",
) -> ReportPeriod:
    """``text`` as a period of one of ``frequencies`` with its year in ``years`` (inclusive), or a
    ``RuleViolation`` citing ``rule`` and ``field`` that shows the accepted forms."""
    forms = "、".join(FREQUENCY_EXAMPLES[f] for f in ("monthly", "quarterly", "annual") if f in frequencies)
    stripped = text.strip()
    match = _PERIOD.match(stripped)
    period = None if match is None else _period_of(match)
    if period is None or period.frequency not in frequencies:
        raise RuleViolation(f"{noun} {text!r} 格式不正确，应为 {forms}", rule=rule, kind=kind, field=field)
    if not years[0] <= period.year <= years[1]:
        raise RuleViolation(
            f"{noun} {text!r} 的年份超出范围（{years[0]}–{years[1]}）", rule=rule, kind=kind, field=field
        )
    return period


def _period_of(match: re.Match[str]) -> ReportPeriod | None:
    year = int(match["year"])
    if match["quarter"] is not None:
        quarter = int(match["quarter"])
        return ReportPeriod(year, "quarterly", quarter) if 1 <= quarter <= 4 else None
    if match["month"] is not None:
        month = int(match["month"])
        return ReportPeriod(year, "monthly", month) if 1 <= month <= 12 else None
    return ReportPeriod(year, "annual", 1)


def quarter_of(day: date) -> ReportPeriod:
    return ReportPeriod(day.year, "quarterly", (day.month - 1) // MONTHS_PER_QUARTER + 1)

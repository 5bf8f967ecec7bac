"""A made-up official holiday table of 2027 for the tests, and delivering it to a service.

The dates follow the shape of a State Council notice (weekdays off, weekends worked) but are
test data, not the real arrangement: 春节 keeps Monday 02-08 to Friday 02-12 off and makes
Sunday 02-14 a working day, so a deadline that the provisional table puts on Tuesday 02-09
moves to Sunday 02-14 (24:00, i.e. 2027-02-15T00:00+08:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI

from shared.events import CalendarDay, CalendarYearPublished
from shared.messaging.memory import MemoryBus
from tests.support.events import message_of
from tests.support.waiting import until

NOTICE_2027 = "国办发明电〔2026〕99号（测试用）"

HOLIDAYS_2027: list[tuple[str, str]] = [
    ("2027-01-01", "元旦"),
    ("2027-02-05", "春节"),
    ("2027-02-08", "春节"),
    ("2027-02-09", "春节"),
    ("2027-02-10", "春节"),
    ("2027-02-11", "春节"),
    ("2027-02-12", "春节"),
    ("2027-04-05", "清明节"),
    ("2027-05-03", "劳动节"),
    ("2027-05-04", "劳动节"),
    ("2027-05-05", "劳动节"),
    ("2027-06-09", "端午节"),
    ("2027-09-15", "中秋节"),
    ("2027-10-01", "国庆节"),
    ("2027-10-04", "国庆节"),
    ("2027-10-05", "国庆节"),
    ("2027-10-06", "国庆节"),
    ("2027-10-07", "国庆节"),
]
WORKING_DAYS_2027: list[tuple[str, str]] = [
    ("2027-02-14", "春节调休上班"),
    ("2027-04-25", "劳动节调休上班"),
    ("2027-09-26", "国庆节调休上班"),
    ("2027-10-09", "国庆节调休上班"),
]


def official_2027_body() -> dict[str, Any]:
    """The body of ``PUT /api/v1/calendar/years/2027``."""
    return {
        "notice": NOTICE_2027,
        "published_on": "2026-11-20",
        "holidays": [{"date": d, "name": n} for d, n in HOLIDAYS_2027],
        "working_days": [{"date": d, "name": n} for d, n in WORKING_DAYS_2027],
    }


def official_2027_event(revision: int = 1) -> CalendarYearPublished:
    """The ``calendar-year-published`` event the gateway sends for that table."""
    return CalendarYearPublished(
        year=2027,
        revision=revision,
        notice=NOTICE_2027,
        published_on=date(2026, 11, 20),
        holidays=[CalendarDay(date=date.fromisoformat(d), name=n) for d, n in HOLIDAYS_2027],
        working_days=[CalendarDay(date=date.fromisoformat(d), name=n) for d, n in WORKING_DAYS_2027],
        published_by="test-admin",
        published_at=datetime(2026, 11, 21, 1, 0, tzinfo=UTC),
    )


def moved_by_the_2027_table(
    subject_kind: str, subject_id: str, department: str, old: str, new: str
) -> dict[str, Any]:
    """The ``deadline-changed`` a service announces when ``official_2027_event()`` moves a deadline."""
    return {
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "department": department,
        "old_deadline": old,
        "new_deadline": new,
        "deadline_provisional": False,
        "reason": "calendar-year-published",
        "year": 2027,
        "revision": 1,
        "notice": NOTICE_2027,
    }


async def deliver(app: FastAPI, bus: MemoryBus, data: CalendarYearPublished, timeout: float = 20) -> None:
    """Publish ``data`` on the service's in-process bus and wait until its calendar consumer kept it."""
    ctx = app.state.ctx
    runner = next(r for r in ctx.consumers if r._sub.consumer == "calendar")
    before = runner.processed
    await bus.publish([message_of(data, source="/xiaoneng/gateway", prefix=ctx.common.topic_prefix)])
    await until(
        lambda: runner.processed > before, "the calendar consumer keeping it", timeout=timeout, interval=0.02
    )

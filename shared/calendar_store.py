"""The holiday calendar as living data: every service's own copy of the official year tables.

The gateway owns the calendar: an administrator publishes a year's official table there
(``publish``), which records it and a ``calendar-year-published`` event in one transaction.
Every domain service consumes that event (``subscription``): it keeps the table in its own
``calendar_years`` table (``apply``) and, in the same transaction, recomputes the deadlines of
its open items that the year touches, announcing each moved deadline once (``deadline-changed``).
Years with no table are provisional (see ``shared.calendar``).

Consistency with concurrent writes: a use case that computes a deadline reads the calendar
with ``CalendarStore.current``, which takes a shared transaction-scoped advisory lock before
it reads; ``apply`` takes the same lock exclusively. So a write either commits before the new
table is applied (and its item is then recomputed) or waits and computes on the new table.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import (
    LAST_YEAR,
    DayOverride,
    HolidayCalendar,
    YearStatus,
    YearTable,
    default_calendar,
    packaged_years,
)
from shared.deadlines import SHANGHAI
from shared.events import CalendarDay, CalendarYearPublished, CloudEvent, DeadlineChanged
from shared.messaging import outbox
from shared.messaging.consumer import Subscription
from shared.schemas import ShanghaiInstants

if TYPE_CHECKING:
    from shared.app import ServiceContext
    from shared.db import Database, Executor

log = logging.getLogger("xiaoneng.calendar")

calendar_metadata = MetaData()

# One row per published revision of a year; the newest revision is the year's table. In the
# gateway this is the record of who published what and when; in a domain service, its copy.
calendar_years = Table(
    "calendar_years",
    calendar_metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("notice", Text, nullable=False),
    Column("published_on", Date, nullable=False),
    # [{"date": "2027-02-05", "name": "春节", "working": false}, ...]
    Column("days", JSONB, nullable=False),
    Column("published_by", String(128), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("year", "revision", name="uq_calendar_years_revision"),
)

CALENDAR_LOCK = zlib.crc32(b"xiaoneng.calendar")

Reason = Literal["calendar-year-published", "calendar-year-corrected"]


@dataclass(frozen=True)
class CalendarChange:
    """A year's table as just applied, with the calendar before and after it."""

    table: YearTable
    published_by: str
    published_at: dt.datetime
    before: HolidayCalendar
    after: HolidayCalendar

    @property
    def reason(self) -> Reason:
        return "calendar-year-published" if self.table.revision == 1 else "calendar-year-corrected"

    @property
    def earliest_deadline(self) -> dt.datetime:
        """Deadlines before this instant end before the year begins, so the year cannot move them."""
        return dt.datetime(self.table.year, 1, 2, tzinfo=SHANGHAI)

    @property
    def latest_start(self) -> dt.date:
        """A clock started after the year's last day never counts through the year."""
        return dt.date(self.table.year, 12, 31)

    def moved(
        self,
        *,
        subject_kind: Literal["document-version", "joint-item", "instruction", "report-duty"],
        subject_id: str,
        department: str,
        old: dt.datetime,
        new: dt.datetime,
        provisional: bool,
    ) -> DeadlineChanged | None:
        """The announcement of a moved deadline; ``None`` when the instant stays the same."""
        if old == new:
            return None
        return DeadlineChanged(
            subject_kind=subject_kind,
            subject_id=subject_id,
            department=department,
            old_deadline=old.astimezone(SHANGHAI),
            new_deadline=new.astimezone(SHANGHAI),
            deadline_provisional=provisional,
            reason=self.reason,
            year=self.table.year,
            revision=self.table.revision,
            notice=self.table.notice,
        )


# What a service does with its open items when a year changes: the announcements to record.
Recompute = Callable[["ServiceContext", AsyncSession, CalendarChange], Awaitable[Sequence[DeadlineChanged]]]


@dataclass(frozen=True)
class CalendarHealth:
    """For /readyz and /metrics: whether the year ahead has an official table yet."""

    last_official_year: int
    degraded: bool
    detail: str


class DayView(ShanghaiInstants):
    date: dt.date = Field(examples=["2027-02-05"])
    name: str = Field(examples=["春节"])


class YearView(ShanghaiInstants):
    """One year of the calendar as a service holds it."""

    year: int = Field(examples=[2027])
    status: YearStatus = Field(
        description="official：管理员发布的官方安排；packaged：随软件包提供的官方安排；"
        "provisional：尚无官方安排，按《全国年节及纪念日放假办法》法定节日临时计算、不含调休",
        examples=["official"],
    )
    revision: int = Field(description="官方安排的版本号；packaged 与 provisional 为 0", examples=[1])
    notice: str | None = Field(description="来源通知文号", examples=["国办发明电〔2026〕7号"])
    published_on: dt.date | None = Field(description="通知发布日期", examples=["2026-11-20"])
    published_by: str | None = Field(description="发布的管理员客户端", examples=["city-admin"])
    published_at: dt.datetime | None = Field(examples=["2026-11-21T09:00:00+08:00"])
    holidays: list[DayView] = Field(description="放假的工作日（周一至周五）")
    working_days: list[DayView] = Field(description="调休上班的周末")


@dataclass(frozen=True)
class _Published:
    by: str
    at: dt.datetime


def exceptions_of(days: Sequence[DayOverride]) -> tuple[list[DayView], list[DayView]]:
    """Weekdays off and weekends worked: a table in the form it is published (weekend rest days,
    which the packaged data also lists, are left out)."""
    holidays = [DayView(date=d.date, name=d.name) for d in days if not d.is_working and d.date.weekday() < 5]
    working = [DayView(date=d.date, name=d.name) for d in days if d.is_working and d.date.weekday() >= 5]
    return holidays, working


class CalendarStore:
    """A service's view of its ``calendar_years`` table, rebuilt only when the table changes."""

    def __init__(self) -> None:
        self._generation = -1
        self._calendar = default_calendar()
        self._published: dict[tuple[int, int], _Published] = {}

    async def current(self, session: AsyncSession) -> HolidayCalendar:
        """The calendar for a use case that stores a deadline; call it inside that transaction."""
        await session.execute(select(func.pg_advisory_xact_lock_shared(CALENDAR_LOCK)))
        return await self.read(session)

    async def read(self, session: Executor) -> HolidayCalendar:
        """The calendar for reading (no lock): answers, views, checks that store nothing."""
        generation = (
            await session.execute(select(func.coalesce(func.max(calendar_years.c.seq), 0)))
        ).scalar_one()
        if generation != self._generation:
            self._calendar, self._published = await _load(session)
            self._generation = generation
        return self._calendar

    def view(self, calendar: HolidayCalendar, year: int) -> YearView:
        """``year`` as ``calendar`` holds it (``CalendarOutOfRange`` outside the calendar's range)."""
        status = calendar.status(year)
        table = calendar.official_table(year)
        holidays, working = exceptions_of(calendar.year_table(year))
        if table is None:
            return YearView(
                year=year,
                status=status,
                revision=0,
                notice=None,
                published_on=None,
                published_by=None,
                published_at=None,
                holidays=holidays,
                working_days=working,
            )
        published = self._published.get((year, table.revision))
        return YearView(
            year=year,
            status=status,
            revision=table.revision,
            notice=table.notice,
            published_on=table.published_on,
            published_by=published.by if published else None,
            published_at=published.at.astimezone(SHANGHAI) if published else None,
            holidays=holidays,
            working_days=working,
        )

    async def for_update(self, session: AsyncSession) -> HolidayCalendar:
        """The calendar as kept, read under the exclusive lock: for the owner about to publish."""
        await session.execute(select(func.pg_advisory_xact_lock(CALENDAR_LOCK)))
        calendar, _ = await _load(session)
        return calendar

    async def apply(self, session: AsyncSession, data: CalendarYearPublished) -> CalendarChange | None:
        """Keep a published table (exclusive lock); ``None`` if this revision or a newer one is kept."""
        before = await self.for_update(session)
        kept = before.official_table(data.year)
        if kept is not None and kept.revision >= data.revision:
            return None
        table = YearTable(
            year=data.year,
            days=tuple(
                sorted(
                    [DayOverride(d.date, False, d.name) for d in data.holidays]
                    + [DayOverride(d.date, True, d.name) for d in data.working_days],
                    key=lambda d: d.date,
                )
            ),
            notice=data.notice,
            published_on=data.published_on,
            revision=data.revision,
        )
        await session.execute(
            insert(calendar_years).values(
                year=table.year,
                revision=table.revision,
                notice=table.notice,
                published_on=table.published_on,
                days=[
                    {"date": d.date.isoformat(), "name": d.name, "working": d.is_working} for d in table.days
                ],
                published_by=data.published_by,
                published_at=data.published_at,
            )
        )
        return CalendarChange(table, data.published_by, data.published_at, before, before.with_table(table))

    async def health(self, db: Database, today: dt.date) -> CalendarHealth:
        async with db.reader() as session:
            calendar = await self.read(session)
        last = max(calendar.tabled_years())
        # The State Council publishes next year's table in November or December.
        needed = today.year + 1 if today >= dt.date(today.year, 11, 1) else today.year
        missing = [y for y in range(today.year, needed + 1) if calendar.status(y) == "provisional"]
        if not missing:
            return CalendarHealth(last, False, "ok")
        years = "、".join(str(y) for y in missing)
        return CalendarHealth(
            last,
            True,
            f"degraded: {years} 年尚无官方节假日安排，相关截止时刻按法定节日临时计算（provisional），"
            f"请管理员发布 PUT /api/v1/calendar/years/{missing[-1]}",
        )


async def _load(session: Executor) -> tuple[HolidayCalendar, dict[tuple[int, int], _Published]]:
    newest = select(calendar_years.c.year, func.max(calendar_years.c.revision)).group_by(
        calendar_years.c.year
    )
    rows = (
        await session.execute(
            select(calendar_years)
            .where(tuple_(calendar_years.c.year, calendar_years.c.revision).in_(newest))
            .order_by(calendar_years.c.year)
        )
    ).all()
    calendar = default_calendar()
    published: dict[tuple[int, int], _Published] = {}
    for row in rows:
        calendar = calendar.with_table(_table_of(row))
        published[(row.year, row.revision)] = _Published(row.published_by, row.published_at)
    return calendar, published


def _table_of(row: Any) -> YearTable:
    return YearTable(
        year=row.year,
        days=tuple(
            sorted(
                (DayOverride(dt.date.fromisoformat(d["date"]), d["working"], d["name"]) for d in row.days),
                key=lambda d: d.date,
            )
        ),
        notice=row.notice,
        published_on=row.published_on,
        revision=row.revision,
    )


def event_of(table: YearTable, *, published_by: str, published_at: dt.datetime) -> CalendarYearPublished:
    return CalendarYearPublished(
        year=table.year,
        revision=table.revision,
        notice=table.notice,
        published_on=table.published_on,
        holidays=[CalendarDay(date=d.date, name=d.name) for d in table.days if not d.is_working],
        working_days=[CalendarDay(date=d.date, name=d.name) for d in table.days if d.is_working],
        published_by=published_by,
        published_at=published_at.astimezone(SHANGHAI),
    )


def subscription(ctx: ServiceContext, recompute: Recompute | None) -> Subscription:
    """The consumer every domain service runs: keep the table, then move its open deadlines."""

    async def keep_calendar_year(session: AsyncSession, event: CloudEvent) -> None:
        data = CalendarYearPublished.model_validate(event.data)
        change = await ctx.calendar.apply(session, data)
        if change is None:
            log.info("calendar %s revision %s already kept", data.year, data.revision)
            return
        moved = list(await recompute(ctx, session, change)) if recompute is not None else []
        if moved:
            await outbox.record_many(session, moved, source=ctx.source, topic_prefix=ctx.common.topic_prefix)
        log.info(
            "calendar %s revision %s (%s) kept; %d open deadlines moved",
            data.year,
            data.revision,
            data.notice,
            len(moved),
        )

    return Subscription(
        consumer="calendar", handlers={CalendarYearPublished.event_type(): keep_calendar_year}
    )


def year_range() -> tuple[int, int]:
    return packaged_years()[0], LAST_YEAR

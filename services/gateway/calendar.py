"""The holiday calendar (/api/v1/calendar): the gateway owns the official year tables.

An administrator publishes a year's table from the State Council's notice; it is recorded with
who and when (every revision is kept) and sent to every domain service as
``calendar-year-published`` in the same transaction (outbox). Each service keeps its copy and
moves the deadlines of its open items that the year touches. Reading is public.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.domain import if_match_admits
from shared.calendar import (
    LAST_YEAR,
    CalendarError,
    CalendarTableInvalid,
    HolidayCalendar,
    YearStatus,
    YearTable,
    check_year_table,
)
from shared.calendar_store import YearView, event_of
from shared.deps import Admin, CtxDep
from shared.problems import Problem, declare
from shared.rules import RuleViolation

log = logging.getLogger("xiaoneng.gateway.calendar")

router = APIRouter(prefix="/api/v1/calendar", tags=["节假日日历 calendar"])

YearParam = Annotated[int, Path(description="公历年份，如 2027", examples=[2027])]


class DayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(examples=["2027-02-08"])
    name: str = Field(min_length=1, max_length=64, examples=["春节"])


class YearTableIn(BaseModel):
    """A year's official arrangement as the State Council's notice gives it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "notice": "国办发明电〔2026〕7号",
                    "published_on": "2026-11-20",
                    "holidays": [
                        {"date": "2027-01-01", "name": "元旦"},
                        {"date": "2027-02-05", "name": "春节"},
                        {"date": "2027-02-08", "name": "春节"},
                    ],
                    "working_days": [{"date": "2027-02-14", "name": "春节调休上班"}],
                }
            ]
        },
    )

    notice: str = Field(
        min_length=1, max_length=200, description="来源通知文号", examples=["国办发明电〔2026〕7号"]
    )
    published_on: dt.date = Field(description="通知的发布日期", examples=["2026-11-20"])
    holidays: list[DayIn] = Field(
        max_length=366, description="放假的工作日（周一至周五）；本为休息日的周末不列"
    )
    working_days: list[DayIn] = Field(
        default_factory=list, max_length=366, description="调休上班的周六、周日"
    )


class YearSummary(BaseModel):
    year: int = Field(examples=[2027])
    status: YearStatus = Field(examples=["provisional"])
    revision: int = Field(examples=[0])
    notice: str | None = Field(examples=[None])


class CalendarYears(BaseModel):
    first_year: int = Field(description="日历最早的年份（随软件包提供的官方安排自此年起）", examples=[2004])
    last_year: int = Field(description="日历能计算的最后年份", examples=[LAST_YEAR])
    last_official_year: int = Field(
        description="有官方安排（packaged 或 official）的最后年份", examples=[2026]
    )
    years: list[YearSummary] = Field(
        description="自 first_year 至明年（或最后一个官方年份）的各年状态；"
        "其后直到 last_year 均为 provisional"
    )


def etag(year: int, revision: int) -> str:
    return f'"{year}-r{revision}"'


def _year_of(calendar: HolidayCalendar, year: int) -> None:
    try:
        calendar.status(year)
    except CalendarError as exc:
        raise RuleViolation(str(exc), kind="calendar-out-of-range", field="year") from exc


@router.get(
    "/years",
    summary="节假日日历的年份",
    description=(
        "哪些年份有官方放假安排（official：管理员发布；packaged：随软件包提供），哪些年份是临时的"
        "（provisional：按《全国年节及纪念日放假办法》法定节日计算、不含调休，相关截止时刻标注 provisional，"
        "官方安排发布后重算）。公开，无需令牌。"
    ),
)
async def list_years(ctx: CtxDep) -> CalendarYears:
    async with ctx.db.reader() as session:
        calendar = await ctx.calendar.read(session)
    last_official = max(calendar.tabled_years())
    until = max(last_official, ctx.today().year + 1)
    years = []
    for year in range(calendar.first_year(), until + 1):
        table = calendar.official_table(year)
        years.append(
            YearSummary(
                year=year,
                status=calendar.status(year),
                revision=table.revision if table else 0,
                notice=table.notice if table else None,
            )
        )
    return CalendarYears(
        first_year=calendar.first_year(), last_year=LAST_YEAR, last_official_year=last_official, years=years
    )


@router.get(
    "/years/{year}",
    summary="某年的放假安排",
    openapi_extra=declare("calendar-out-of-range"),
    description=(
        "该年放假的工作日与调休上班的周末，附状态（official / packaged / provisional）、来源通知与版本。"
        "响应带 ETag，更正时作为 If-Match 提交。公开，无需令牌。"
    ),
)
async def read_year(ctx: CtxDep, response: Response, year: YearParam) -> YearView:
    async with ctx.db.reader() as session:
        calendar = await ctx.calendar.read(session)
    _year_of(calendar, year)
    view = ctx.calendar.view(calendar, year)
    response.headers["ETag"] = etag(year, view.revision)
    return view


@router.put(
    "/years/{year}",
    summary="发布或更正某年的官方放假安排",
    openapi_extra=declare(
        "calendar-table-invalid", "calendar-out-of-range", "precondition-required", "precondition-failed"
    ),
    description=(
        "管理员按国务院办公厅通知录入该年的放假安排：holidays 只列放假的工作日，working_days 只列调休上班的"
        "周末。首次发布返回 201；已有官方安排的年份是更正，须带 If-Match（GET 返回的 ETag），否则 428，"
        "不符 412；与现有安排完全相同则返回 200 且不产生新版本。发布后各服务收到 "
        "gov.efficiency.calendar-year-published.v1，重算该年涉及的未办结事项的截止时刻，每项变更发一条 "
        "gov.efficiency.deadline-changed.v1；已经逾期处理的事项保持原结果。"
    ),
    responses={
        200: {"description": "更正已发布（或内容相同，未产生新版本）"},
        201: {"description": "首次发布"},
    },
)
async def publish_year(
    ctx: CtxDep,
    response: Response,
    year: YearParam,
    body: YearTableIn,
    principal: Admin,
    if_match: Annotated[
        str | None, Header(alias="If-Match", description="更正已发布年份时必填：GET 返回的 ETag")
    ] = None,
) -> YearView:
    try:
        days = check_year_table(
            year,
            [(d.date, d.name) for d in body.holidays],
            [(d.date, d.name) for d in body.working_days],
        )
    except CalendarTableInvalid as exc:
        raise RuleViolation(exc.detail, kind="calendar-table-invalid", field=exc.field) from exc
    if body.published_on > ctx.today():
        raise RuleViolation("通知发布日期不能晚于今天", kind="calendar-table-invalid", field="published_on")
    async with ctx.db.transaction() as session:
        calendar = await ctx.calendar.for_update(session)
        kept = calendar.official_table(year)
        table = YearTable(year, days, body.notice, body.published_on, (kept.revision if kept else 0) + 1)
        # Sending the kept table again (a retried request) is answered as it stands, with no new revision.
        if kept is not None and (kept.days, kept.notice, kept.published_on) == (
            table.days,
            table.notice,
            table.published_on,
        ):
            changed = False
        else:
            _check_if_match(year, kept, if_match)
            data = event_of(table, published_by=principal.client_id, published_at=ctx.now())
            await ctx.calendar.apply(session, data)
            await ctx.emit(session, data)
            changed = True
    if changed:
        log.info(
            "calendar %s revision %s (%s) published by %s",
            year,
            table.revision,
            table.notice,
            principal.client_id,
        )
    async with ctx.db.reader() as session:
        calendar = await ctx.calendar.read(session)
    view = ctx.calendar.view(calendar, year)
    response.headers["ETag"] = etag(year, view.revision)
    if changed and view.revision == 1:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/api/v1/calendar/years/{year}"
    return view


def _check_if_match(year: int, kept: YearTable | None, if_match: str | None) -> None:
    if kept is None:
        return
    if if_match is None:
        raise Problem(
            428,
            f"{year} 年已有官方放假安排（第 {kept.revision} 版）；"
            "更正须带 If-Match 请求头（GET 返回的 ETag）",
            kind="precondition-required",
            field="If-Match",
        )
    if not if_match_admits(if_match, etag(year, kept.revision)):
        raise Problem(
            412,
            f"{year} 年的放假安排已被更正（当前 ETag {etag(year, kept.revision)}），请重新读取后再提交",
            kind="precondition-failed",
            field="If-Match",
        )

"""What the disclosure use cases share: profile, calendar, settings, reference look-ups, problems."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache

from services.disclosure import domain
from services.disclosure.settings import DisclosureSettings, disclosure_settings
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar import CalendarError, HolidayCalendar, default_calendar
from shared.deadlines import SHANGHAI, local_date
from shared.policy import PolicyProfile, load_profile
from shared.problems import Problem


@cache
def calendar() -> HolidayCalendar:
    return default_calendar()


def profile(ctx: ServiceContext) -> PolicyProfile:
    return load_profile(ctx.common.policy_profile)


def settings(ctx: ServiceContext) -> DisclosureSettings:
    return disclosure_settings(ctx.settings)


def now() -> datetime:
    return datetime.now(UTC)


def local(instant: datetime) -> datetime:
    """Instants are shown in Asia/Shanghai, where the deadlines are (the database returns UTC)."""
    return instant.astimezone(SHANGHAI)


def maybe_local(instant: datetime | None) -> datetime | None:
    return None if instant is None else local(instant)


def department(code: str, *, field: str, status: int = 422) -> reference.Department:
    try:
        return reference.department(code)
    except reference.UnknownReference as exc:
        raise Problem(status, f"未知的部门代码 {code}", kind="unknown-department", field=field) from exc


def department_name(code: str) -> str:
    try:
        return reference.department(code).short_name
    except reference.UnknownReference:
        return code


def require_drafter(principal: Principal, department_code: str) -> None:
    """The drafting department registers and changes its documents; the office may act for it."""
    if not principal.has_any("office") and principal.department != department_code:
        raise Problem(403, "只有起草部门或市政府办公室可以登记或变更该文件", kind="forbidden")


def leader_code(principal: Principal) -> str:
    """Which leader a ``leader`` token speaks for: its ``department`` claim, else its client id.

    A vice-mayor's client is registered with ``--roles leader --department vm-executive``.
    """
    return principal.department or principal.client_id


def clock_deadline(
    ctx: ServiceContext, formed_on: date, *, field: str, previous_deadline: datetime | None = None
) -> datetime:
    """D1: the deadline of a version formed (or, with ``previous_deadline``, changed) on ``formed_on``."""
    if formed_on > local_date(now()):
        raise Problem(
            422, f"日期 {formed_on} 晚于今天，文件尚未形成", kind="date-in-future", rule="D1", field=field
        )
    rules = profile(ctx)
    period = rules.disclosure.publish_within.to_period()
    roll = rules.calendar.civil_code_rollover
    try:
        if previous_deadline is None:
            return domain.publication_deadline(formed_on, period, calendar(), roll_to_working_day=roll)
        return domain.change_deadline(
            formed_on,
            previous_deadline,
            period,
            calendar(),
            restarts_clock=rules.disclosure.change_restarts_clock,
            roll_to_working_day=roll,
        )
    except CalendarError as exc:
        raise Problem(422, str(exc), kind="calendar-year-missing", rule="D1", field=field) from exc


def not_found(document_id: str) -> Problem:
    return Problem(404, f"文件 {document_id} 不存在", kind="document-not-found")

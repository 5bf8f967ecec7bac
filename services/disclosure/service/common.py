"""What the disclosure use cases share: profile, the D1 clock, settings, reference look-ups, problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.disclosure import domain
from services.disclosure.settings import DisclosureSettings, disclosure_settings
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar import CalendarError, HolidayCalendar
from shared.deadlines import SHANGHAI, is_provisional, local_date
from shared.policy import PolicyProfile, load_profile
from shared.problems import Problem


def profile(ctx: ServiceContext) -> PolicyProfile:
    return load_profile(ctx.common.policy_profile)


def settings(ctx: ServiceContext) -> DisclosureSettings:
    return disclosure_settings(ctx.settings)


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


@dataclass(frozen=True)
class Previous:
    """The version a change replaces: what its clock was when the change was made."""

    deadline: datetime
    deadline_provisional: bool


@dataclass(frozen=True)
class Due:
    """A version's deadline and whether it was counted through a provisional year."""

    at: datetime
    provisional: bool


def version_due(
    rules: PolicyProfile, formed_on: date, calendar: HolidayCalendar, previous: Previous | None = None
) -> Due:
    """D1: the deadline of a version formed (or, with ``previous``, changed) on ``formed_on``.

    The one computation for registration, change and recompute (``CalendarError`` passes through).
    A change that does not restart the clock keeps the previous version's deadline, and with it
    whether that deadline was provisional.
    """
    period = rules.disclosure.publish_within.to_limit()
    roll = rules.calendar.civil_code_rollover
    if previous is None:
        at = domain.publication_deadline(formed_on, period, calendar, roll_to_working_day=roll)
        return Due(at, is_provisional(formed_on, at, calendar))
    restarts = rules.disclosure.change_restarts_clock
    at = domain.change_deadline(
        formed_on, previous.deadline, period, calendar, restarts_clock=restarts, roll_to_working_day=roll
    )
    return Due(at, is_provisional(formed_on, at, calendar) if restarts else previous.deadline_provisional)


def clock_deadline(
    ctx: ServiceContext,
    calendar: HolidayCalendar,
    formed_on: date,
    *,
    field: str,
    previous: Previous | None = None,
) -> Due:
    """D1 for the version about to be stored, or the problem to answer.

    ``calendar`` comes from ``ctx.calendar.current(session)`` in the transaction that stores the
    version, taken before any row lock (the calendar consumer takes the lock before locking open
    versions): a concurrent publication then either sees the version or is seen by it.
    """
    if formed_on > local_date(ctx.now()):
        raise Problem(
            422, f"日期 {formed_on} 晚于今天，文件尚未形成", kind="date-in-future", rule="D1", field=field
        )
    try:
        return version_due(profile(ctx), formed_on, calendar, previous)
    except CalendarError as exc:
        raise Problem(422, str(exc), kind="calendar-out-of-range", rule="D1", field=field) from exc


def not_found(document_id: str) -> Problem:
    return Problem(404, f"文件 {document_id} 不存在", kind="document-not-found")

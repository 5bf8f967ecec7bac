"""What every coordination use case needs: the profile, reference look-ups that answer with
problem details, who a principal is, and recording events in the outbox. The holiday calendar is
the service's copy in the database (``ctx.calendar``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar import CalendarError
from shared.deadlines import SHANGHAI
from shared.events import EventData
from shared.messaging import outbox
from shared.policy import CoordinationPolicy, PolicyProfile, load_profile
from shared.problems import Problem

OVERSEERS = ("office", "supervisor")


def profile(ctx: ServiceContext) -> PolicyProfile:
    return load_profile(ctx.common.policy_profile)


def policy(ctx: ServiceContext) -> CoordinationPolicy:
    return profile(ctx).coordination


def rollover(ctx: ServiceContext) -> bool:
    return profile(ctx).calendar.civil_code_rollover


def local(instant: datetime) -> datetime:
    """Instants in events and views are shown in Asia/Shanghai, where deadlines are counted."""
    return instant.astimezone(SHANGHAI)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def department(code: str, field: str) -> reference.Department:
    try:
        return reference.department(code)
    except reference.UnknownReference as exc:
        raise Problem(422, f"未知的部门代码 {code}", kind="unknown-department", field=field) from exc


def department_name(code: str) -> str:
    try:
        return reference.department(code).short_name
    except reference.UnknownReference:
        return code


def leader(code: str, field: str) -> reference.Leader:
    try:
        return reference.leader(code)
    except reference.UnknownReference as exc:
        raise Problem(422, f"未知的领导代码 {code}", kind="unknown-leader", field=field) from exc


def leader_title(code: str) -> str:
    try:
        return reference.leader(code).title
    except reference.UnknownReference:
        return code


def sees_everything(principal: Principal) -> bool:
    """The office and the supervision office see every sheet (admin passes every check)."""
    return principal.has_any(*OVERSEERS)


def is_department(principal: Principal, code: str) -> bool:
    """The principal acts for department ``code`` (role department, claim department)."""
    return ("department" in principal.roles and principal.department == code) or "admin" in principal.roles


def leader_code(principal: Principal) -> str | None:
    """A leader principal's leader code is its ``department`` claim (e.g. ``dsg-industry``)."""
    return principal.department if "leader" in principal.roles else None


def is_leader(principal: Principal, code: str) -> bool:
    return leader_code(principal) == code or "admin" in principal.roles


def problem_of(exc: domain.RuleViolation, status: int = 422) -> Problem:
    return Problem(status, exc.detail, kind=exc.kind, rule=exc.rule, field=exc.field)


def calendar_out_of_range(exc: CalendarError, *, rule: str, field: str) -> Problem:
    """A deadline the calendar cannot count (a year outside its range), naming the date the user sent."""
    return Problem(422, str(exc), kind="calendar-out-of-range", rule=rule, field=field)


async def emit(ctx: ServiceContext, session: AsyncSession, data: EventData) -> None:
    await outbox.record(session, data, source=ctx.source, topic_prefix=ctx.common.topic_prefix)


async def emit_many(ctx: ServiceContext, session: AsyncSession, events: Sequence[EventData]) -> None:
    """Record a batch of events in one statement, in order (what a sweep closes at once)."""
    await outbox.record_many(session, events, source=ctx.source, topic_prefix=ctx.common.topic_prefix)


def item_is_open(state: ColumnElement[str]) -> ColumnElement[bool]:
    """``state IN ('assigned', 'acknowledged')`` with the states written into the SQL as literals.

    As bind parameters (``state IN ($1, $2)``) a generic plan, which PostgreSQL may pick for a
    prepared statement, cannot prove the predicate of the partial index on open items
    (``ix_joint_items_open_deadline``) and scans the whole table instead.
    """
    return state.in_(bindparam(None, list(domain.OPEN_STATES), expanding=True, literal_execute=True))

"""Requests for government information (依申请公开, D7): receipt, the answer clock and the answer.

Each command runs in one transaction with its outbox rows and locks the request row first, the
row the sweeps lock too, so a command and a sweep never both close the same clock. The public
(no account) submits through the gateway and gets a request number and an access code; the code
is kept only as its SHA-256 digest, and a look-up with a wrong number or a wrong code answers the
same 404, counted against the caller's address (``access``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure import domain
from services.disclosure.domain import AnswerKind, Channel, RequestClock, RequestStatus
from services.disclosure.schemas import (
    AnswerCreate,
    AnswerView,
    ClockChangeView,
    CompletionCreate,
    CompletionNoticeCreate,
    ConsultationCreate,
    ConsultationEnd,
    ExtensionCreate,
    RequestReceipt,
    RequestRegister,
    RequestSubmit,
    RequestSummary,
    RequestView,
)
from services.disclosure.service import access
from services.disclosure.sweeper import request_overdue
from services.disclosure.sweeper import running_requests as _running
from services.disclosure.tables import catalogue, disclosure_requests, request_clock_changes
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar import HolidayCalendar
from shared.calendar_store import CalendarChange
from shared.deadlines import local, local_date, maybe_local
from shared.events.contracts import (
    DeadlineChanged,
    DeadlinePassedWithdrawn,
    DisclosureRequestAnswered,
    DisclosureRequestClockChanged,
    DisclosureRequestReceived,
)
from shared.pagination import Keyset, Page, PageParams
from shared.problems import Problem
from shared.rules import Missing, RuleViolation

R = disclosure_requests
REQUESTS = Keyset(R.c.registered_at, R.c.id)
PUBLIC = "public"  # who registered a request submitted by the public through the platform


def require_organ(principal: Principal, department: str) -> None:
    """The organ's own officials (a department token of that department) or the office."""
    if not principal.has_any("office") and principal.department != department:
        raise Problem(403, f"只有受理机关 {department} 或市政府办公室可以办理该申请", kind="forbidden")


# --- receipt ------------------------------------------------------------------------------------


async def submit_request(ctx: ServiceContext, cmd: RequestSubmit) -> RequestReceipt:
    """D7 from the public through the platform, without an account. Reading of art. 31 taken: the
    applicant's submission and the platform's receipt (the number returned at once) are the two
    confirmations of an online request, so it is received on the day submitted (Asia/Shanghai)."""
    today = ctx.today()
    return await _receive(ctx, cmd, Channel.ONLINE, {"confirmed_on": today}, PUBLIC)


async def register_request(ctx: ServiceContext, cmd: RequestRegister, principal: Principal) -> RequestReceipt:
    """D7: the organ registers a request received by any channel; art. 31 fixes its day of receipt."""
    require_organ(principal, cmd.department)
    dates = {name: getattr(cmd, name) for name in domain.RECEIPT_FIELDS}
    return await _receive(ctx, cmd, cmd.channel, dates, principal.client_id)


async def _receive(
    ctx: ServiceContext, cmd: RequestSubmit, channel: Channel, dates: dict[str, date | None], by: str
) -> RequestReceipt:
    reference.known_department(cmd.department, field="department")
    domain.check_applicant(cmd.applicant_type, cmd.applicant.organisation)
    code = access.new_code()
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    now = ctx.now()
    async with ctx.db.transaction() as session:
        cal = await ctx.calendar.current(session)
        received_on = domain.receipt_date(channel, dates, today=ctx.today(), calendar=cal)
        due = domain.counted_due(ctx.profile, RequestClock(received_on), cal, field=channel.receipt_field)
        number = await access.free_number(session, R.c.number, "YSQ", received_on.year)
        await session.execute(
            insert(R).values(
                id=request_id,
                number=number,
                access_code_hash=access.digest(code),
                department=cmd.department,
                channel=channel,
                **dates,
                received_on=received_on,
                applicant_type=cmd.applicant_type,
                applicant=cmd.applicant.model_dump(mode="json"),
                content=cmd.content,
                form=cmd.form,
                delivery=cmd.delivery,
                registered_by=by,
                registered_at=now,
                status=RequestStatus.PENDING,
                clock_start_on=received_on,
                deadline=due.at,
                deadline_provisional=due.provisional,
            )
        )
        await ctx.emit(
            session,
            DisclosureRequestReceived(
                request_id=request_id,
                number=number,
                department=cmd.department,
                channel=channel,
                applicant_type=cmd.applicant_type,
                received_on=received_on,
                deadline=local(due.at),
                deadline_provisional=due.provisional,
            ),
        )
    return RequestReceipt(
        number=number,
        access_code=code,
        received_on=received_on,
        due_on=domain.last_day_of(due.at),
        deadline=due.at,
    )


# --- reads --------------------------------------------------------------------------------------


async def get_request(ctx: ServiceContext, request_id: str, principal: Principal) -> RequestView:
    async with ctx.db.reader() as session:
        row = (await session.execute(select(R).where(R.c.id == request_id))).first()
        if row is None:
            raise _not_found(request_id)
        require_organ(principal, row.department)
        return await _view(session, row)


async def lookup_request(ctx: ServiceContext, number: str, code: str | None, caller: str) -> RequestView:
    """The applicant's own view: the number and the access code, both right, else the same 404."""
    async with ctx.db.transaction() as session:
        row = await access.opened(ctx, session, R, number, code, caller)
        if row is not None:
            return await _view(session, row)
    raise access.not_found("申请编号或查询码不正确")


async def list_requests(
    ctx: ServiceContext,
    page: PageParams,
    principal: Principal,
    *,
    department: str | None,
    status: RequestStatus | None,
) -> Page[RequestSummary]:
    """Newest first; a department sees its own organ's requests only."""
    if not principal.has_any("office", "supervisor"):
        department = principal.department or "-"
    query = select(R)
    if department is not None:
        query = query.where(R.c.department == department)
    if status is not None:
        query = query.where(R.c.status == status)
    async with ctx.db.reader() as session:
        rows = (await session.execute(REQUESTS.apply(query, page))).all()
    return REQUESTS.page(rows, page, RequestSummary.of)


async def _view(session: AsyncSession, row: Row[Any]) -> RequestView:
    changes = (
        await session.execute(
            select(request_clock_changes)
            .where(request_clock_changes.c.request_id == row.id)
            .order_by(request_clock_changes.c.id)
        )
    ).all()
    shown = [ClockChangeView.of(c) for c in changes]
    if row.abandoned_at is not None:
        shown.append(
            ClockChangeView(
                change="abandoned",
                changed_at=row.abandoned_at,
                changed_by="system",
                reason=_ABANDONED,
                old_deadline=None,
                new_deadline=None,
            )
        )
    answer = None
    if row.answer_kind is not None:
        kind = AnswerKind(row.answer_kind)
        ground_name = domain.ANSWER_GROUNDS.get(kind, {}).get(row.answer_ground or "")
        answer = AnswerView(
            kind=kind,
            kind_name=kind.label,
            ground=row.answer_ground,
            ground_name=ground_name,
            reason=row.answer_reason,
            documents=row.answer_documents or [],
            responsible_organ=row.responsible_organ,
            answered_at=row.answered_at,
            late=bool(row.answered_late),
        )
    due_on = domain.last_day_of(row.deadline) if row.deadline is not None else None
    return RequestView.of(
        row,
        department_name=reference.department_name(row.department),
        due_on=due_on,
        answer=answer,
        clock_changes=shown,
    )


def _not_found(request_id: str) -> Missing:
    return Missing(f"申请 {request_id} 不存在", kind="request-not-found")


_ABANDONED = "申请人逾期未补正，视为放弃申请（第三十条）"


# --- the clock ----------------------------------------------------------------------------------


async def _lock(session: AsyncSession, request_id: str, principal: Principal) -> Row[Any]:
    row = (await session.execute(select(R).where(R.c.id == request_id).with_for_update())).first()
    if row is None:
        raise _not_found(request_id)
    require_organ(principal, row.department)
    return row


@asynccontextmanager
async def _command(
    ctx: ServiceContext, request_id: str, principal: Principal
) -> AsyncIterator[tuple[AsyncSession, HolidayCalendar, Row[Any]]]:
    """A command's transaction: the calendar (its shared lock first, as the calendar consumer takes
    it), then the request row locked and the caller checked against its organ."""
    async with ctx.db.transaction() as session:
        cal = await ctx.calendar.current(session)
        yield session, cal, await _lock(session, request_id, principal)


def _clock(row: Row[Any], **changes: Any) -> RequestClock:
    values = {
        "start_on": row.clock_start_on,
        "extension": row.extension_days,
        "paused": row.paused_days,
        "consulting_since": row.consulting_since,
    }
    values.update(changes)
    return RequestClock(**values)


async def _record_change(
    ctx: ServiceContext,
    session: AsyncSession,
    row: Row[Any],
    change: str,
    principal: Principal,
    reason: str,
    new_deadline: datetime | None,
    columns: dict[str, Any],
) -> None:
    """The request's new columns, the change in its log (who, when, why, before and after) and its
    announcement (disclosure-request-clock-changed), in the command's transaction."""
    now = ctx.now()
    await session.execute(update(R).where(R.c.id == row.id).values(deadline=new_deadline, **columns))
    await session.execute(
        insert(request_clock_changes).values(
            request_id=row.id,
            change=change,
            changed_at=now,
            changed_by=principal.client_id,
            reason=reason,
            old_deadline=row.deadline,
            new_deadline=new_deadline,
        )
    )
    await ctx.emit(
        session,
        DisclosureRequestClockChanged(
            request_id=row.id,
            department=row.department,
            change=change,  # type: ignore[arg-type]
            old_deadline=maybe_local(row.deadline),
            new_deadline=maybe_local(new_deadline),
            changed_by=principal.client_id,
            changed_at=local(now),
            reason=reason,
        ),
    )


async def _shown(session: AsyncSession, request_id: str) -> RequestView:
    row = (await session.execute(select(R).where(R.c.id == request_id))).one()
    return await _view(session, row)


async def extend(
    ctx: ServiceContext, request_id: str, cmd: ExtensionCreate, principal: Principal
) -> RequestView:
    """D7 art. 33: once, at most the profile's maximum, with the head's consent, told to the applicant."""
    async with _command(ctx, request_id, principal) as (session, cal, row):
        domain.require_status(RequestStatus(row.status), domain.ANSWERABLE, "延长答复期限")
        logged = await session.execute(
            select(request_clock_changes.c.change)
            .where(request_clock_changes.c.request_id == row.id)
            .order_by(request_clock_changes.c.id)
        )
        domain.check_extension(
            ctx.profile,
            granted=domain.extensions_since_restart(logged.scalars()),
            already=row.extension_days,
            days=cmd.days,
            current_deadline=row.deadline,
            now=ctx.now(),
        )
        domain.check_step_day(
            cmd.notified_on,
            after=row.received_on,
            today=ctx.today(),
            field="notified_on",
            after_what="收到申请之日",
        )
        extension = row.extension_days + cmd.days
        due = domain.counted_due(ctx.profile, _clock(row, extension=extension), cal, field="days")
        reason = f"{cmd.reason}（经{cmd.consented_by}同意，{cmd.notified_on}告知申请人）"
        columns = {
            "extension_days": extension,
            "extension_reason": cmd.reason,
            "extension_consented_by": cmd.consented_by,
            "extension_notified_on": cmd.notified_on,
            "deadline_provisional": due.provisional,
        }
        await _record_change(ctx, session, row, "extended", principal, reason, due.at, columns)
        return await _shown(session, request_id)


async def request_completion(
    ctx: ServiceContext, request_id: str, cmd: CompletionNoticeCreate, principal: Principal
) -> RequestView:
    """D7 art. 30: told once, within 7 working days of receipt; the clock waits for the completion."""
    async with _command(ctx, request_id, principal) as (session, cal, row):
        if row.completion_notified_on is None:  # a second notice is refused as such (art. 30: once)
            domain.require_status(RequestStatus(row.status), {RequestStatus.PENDING}, "告知补正")
        notified_on = cmd.notified_on or ctx.today()
        complete_by = domain.check_completion_notice(
            ctx.profile,
            received_on=row.received_on,
            notified_on=notified_on,
            complete_by=cmd.complete_by,
            already_notified=row.completion_notified_on is not None,
            today=ctx.today(),
            calendar=cal,
        )
        columns = {
            "status": RequestStatus.AWAITING_COMPLETION,
            "completion_notified_on": notified_on,
            "completion_items": cmd.items,
            "complete_by": complete_by,
            "completion_deadline": domain.completion_deadline(complete_by, cal),
        }
        reason = f"告知补正：{cmd.items}（补正期限至 {complete_by}）"
        await _record_change(ctx, session, row, "completion-requested", principal, reason, None, columns)
        return await _shown(session, request_id)


async def complete(
    ctx: ServiceContext, request_id: str, cmd: CompletionCreate, principal: Principal
) -> RequestView:
    """D7 art. 30: the clock starts again from the day the completed request is received."""
    async with _command(ctx, request_id, principal) as (session, cal, row):
        domain.require_status(RequestStatus(row.status), {RequestStatus.AWAITING_COMPLETION}, "登记补正")
        domain.check_completed(
            cmd.completed_on,
            notified_on=row.completion_notified_on,
            complete_by=row.complete_by,
            today=ctx.today(),
        )
        start = RequestClock(cmd.completed_on)
        due = domain.counted_due(ctx.profile, start, cal, field="completed_on")
        columns: dict[str, Any] = {
            "status": RequestStatus.PENDING,
            "completed_on": cmd.completed_on,
            "clock_start_on": cmd.completed_on,
            "extension_days": 0,
            "paused_days": 0,
            "deadline_provisional": due.provisional,
        }
        if cmd.content is not None:
            columns["content"] = cmd.content
        reason = f"{cmd.completed_on} 收到补正后的申请，答复期限自该日重新计算（第三十条）"
        await _record_change(ctx, session, row, "completed", principal, reason, due.at, columns)
        return await _shown(session, request_id)


async def start_consultation(
    ctx: ServiceContext, request_id: str, cmd: ConsultationCreate, principal: Principal
) -> RequestView:
    """D7 art. 32: the third party's time does not count; until it replies the deadline assumes
    it uses its whole limit."""
    async with _command(ctx, request_id, principal) as (session, cal, row):
        domain.require_status(RequestStatus(row.status), {RequestStatus.PENDING}, "征求第三方意见")
        started_on = cmd.started_on or ctx.today()
        domain.check_step_day(
            started_on,
            after=row.clock_start_on,
            today=ctx.today(),
            field="started_on",
            after_what="答复期限起算之日",
        )
        due = domain.counted_due(
            ctx.profile, _clock(row, consulting_since=started_on), cal, field="started_on"
        )
        reason = f"书面征求{'、'.join(cmd.third_parties)}的意见：{cmd.reason}"
        columns = {
            "status": RequestStatus.CONSULTING,
            "consulting_since": started_on,
            "deadline_provisional": due.provisional,
        }
        await _record_change(ctx, session, row, "consultation-started", principal, reason, due.at, columns)
        return await _shown(session, request_id)


async def end_consultation(
    ctx: ServiceContext, request_id: str, cmd: ConsultationEnd, principal: Principal
) -> RequestView:
    """D7 art. 32: the working days from the letter to the reply (at most the third party's limit)
    are not counted; the clock runs again."""
    async with _command(ctx, request_id, principal) as (session, cal, row):
        domain.require_status(RequestStatus(row.status), {RequestStatus.CONSULTING}, "结束征求意见")
        domain.check_step_day(
            cmd.ended_on,
            after=row.consulting_since,
            today=ctx.today(),
            field="ended_on",
            after_what="征求意见之日",
        )
        paused = row.paused_days + domain.paused_working_days(
            row.consulting_since, cmd.ended_on, ctx.profile, cal
        )
        due = domain.counted_due(
            ctx.profile, _clock(row, paused=paused, consulting_since=None), cal, field="ended_on"
        )
        reason = f"{cmd.ended_on} 收到第三方意见：{cmd.outcome}"
        columns = {
            "status": RequestStatus.PENDING,
            "consulting_since": None,
            "paused_days": paused,
            "deadline_provisional": due.provisional,
        }
        await _record_change(ctx, session, row, "consultation-ended", principal, reason, due.at, columns)
        return await _shown(session, request_id)


# --- the answer ---------------------------------------------------------------------------------


async def answer(
    ctx: ServiceContext, request_id: str, cmd: AnswerCreate, principal: Principal
) -> RequestView:
    """D7 art. 36: the answer of its kind, with its ground where table 三 breaks it down, and the
    documents disclosed (catalogue documents linked). Late when given at or after the deadline: if
    the sweep has not recorded that yet, the answer records it and announces deadline-passed, so a
    late answer is announced once whichever comes first."""
    now = ctx.now()
    answered_at = cmd.answered_at or now
    domain.check_publication_time(answered_at, now)
    async with _command(ctx, request_id, principal) as (session, cal, row):
        domain.require_status(RequestStatus(row.status), domain.ANSWERABLE, "答复")
        domain.check_answer(
            cmd.kind, cmd.ground, cmd.reason, len(cmd.documents), completed=row.completed_on is not None
        )
        if local_date(answered_at) < row.received_on:
            raise RuleViolation(
                f"答复时刻早于收到申请之日 {row.received_on}",
                kind="answer-before-receipt",
                rule="D7",
                field="answered_at",
            )
        due_at = row.deadline
        if row.consulting_since is not None:
            paused = row.paused_days + domain.paused_working_days(
                row.consulting_since, local_date(answered_at), ctx.profile, cal
            )
            due_at = domain.counted_due(
                ctx.profile, _clock(row, paused=paused, consulting_since=None), cal, field="answered_at"
            ).at
        late = domain.answered_late(due_at, answered_at)
        documents = await _linked_documents(session, cmd)
        await session.execute(
            update(R)
            .where(R.c.id == request_id)
            .values(
                status=RequestStatus.ANSWERED,
                deadline=due_at,
                consulting_since=None,
                answer_kind=cmd.kind,
                answer_ground=cmd.ground,
                answer_reason=cmd.reason,
                answer_documents=documents,
                responsible_organ=cmd.responsible_organ,
                answered_at=answered_at,
                answered_by=principal.client_id,
                answered_late=late,
                concluded_on=local_date(answered_at),
            )
        )
        if late and row.overdue_at is None:
            await session.execute(update(R).where(R.c.id == request_id).values(overdue_at=now))
            fresh = (await session.execute(select(R).where(R.c.id == request_id))).one()
            await ctx.emit(session, request_overdue(fresh, None))
        if not late and row.overdue_at is not None:
            await _withdraw_overdue(ctx, session, row, due_at, answered_at, principal)
        await ctx.emit(
            session,
            DisclosureRequestAnswered(
                request_id=request_id,
                department=row.department,
                kind=cmd.kind,
                ground=cmd.ground,
                answered_at=local(answered_at),
                deadline=local(due_at),
                late=late,
            ),
        )
        return await _shown(session, request_id)


async def _withdraw_overdue(
    ctx: ServiceContext,
    session: AsyncSession,
    row: Row[Any],
    due_at: datetime,
    answered_at: datetime,
    principal: Principal,
) -> None:
    """An answer entered later (补录) states it was given before the deadline of a request already
    announced late: the overdue record stays, the correction is announced."""
    await ctx.emit(
        session,
        DeadlinePassedWithdrawn(
            subject_kind="disclosure-request",
            subject_id=row.id,
            department=row.department,
            deadline=local(due_at),
            consequence="overdue",
            deadline_provisional=row.deadline_provisional,
            passed_at=maybe_local(row.overdue_at),
            reason="backfilled-answer",
            stated_at=local(answered_at),
            withdrawn_by=principal.client_id,
            withdrawn_at=local(ctx.now()),
        ),
    )


async def _linked_documents(session: AsyncSession, cmd: AnswerCreate) -> list[dict[str, Any]]:
    """The documents disclosed: a catalogue document by its id (title and portal address filled in
    from the catalogue), or other material named with its title."""
    shown: list[dict[str, Any]] = []
    for i, item in enumerate(cmd.documents):
        entry = item.model_dump(mode="json")
        if item.document_id is not None:
            found = (
                await session.execute(
                    select(catalogue.c.title, catalogue.c.url).where(
                        catalogue.c.document_id == item.document_id
                    )
                )
            ).first()
            if found is None:
                raise RuleViolation(
                    f"公开目录中没有文件 {item.document_id}",
                    kind="document-not-in-catalogue",
                    rule="D7",
                    field=f"documents[{i}].document_id",
                )
            entry["title"] = entry["title"] or found.title
            entry["url"] = entry["url"] or found.url
        elif item.title is None:
            raise RuleViolation(
                "公开目录以外的信息须写明名称 title",
                kind="document-title-required",
                rule="D7",
                field=f"documents[{i}].title",
            )
        shown.append(entry)
    return shown


# --- the living calendar ------------------------------------------------------------------------


async def recompute_requests(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange
) -> list[DeadlineChanged]:
    """D7 after a year's official holiday table: the answer clocks still running (not answered,
    not late yet, not waiting for a completion) are counted again on ``change.after``; each moved
    deadline is stored, logged as a clock change (who published the table, which notice) and
    announced once (deadline-changed). Runs in the calendar consumer's transaction."""
    rows = (
        await session.execute(
            select(R)
            .where(
                _running(),
                R.c.deadline >= change.earliest_deadline,
                R.c.clock_start_on <= change.latest_start,
            )
            .order_by(R.c.deadline, R.c.id)
            .with_for_update()
        )
    ).all()
    moved: list[DeadlineChanged] = []
    for row in rows:
        due = domain.answer_due(ctx.profile, _clock(row), change.after)
        announced = change.moved(
            subject_kind="disclosure-request",  # type: ignore[arg-type]
            subject_id=row.id,
            department=row.department,
            old=row.deadline,
            new=due.at,
            provisional=due.provisional,
        )
        if due.at == row.deadline and due.provisional == row.deadline_provisional:
            continue
        await session.execute(
            update(R).where(R.c.id == row.id).values(deadline=due.at, deadline_provisional=due.provisional)
        )
        if announced is None:
            continue
        moved.append(announced)
        await session.execute(
            insert(request_clock_changes).values(
                request_id=row.id,
                change="calendar",
                changed_at=ctx.now(),
                changed_by=change.published_by,
                reason=f"{change.table.year} 年节假日安排（{change.table.notice}）发布，答复期限重新计算",
                old_deadline=row.deadline,
                new_deadline=due.at,
            )
        )
    return moved

"""Public policy inquiries (政策咨询, 004): the form without an account, the department's reply
within the profile's limit, the reply for the inquirer with their access code and, if they
agreed, on the public list (without their name and contacts). Tracked like a request: a reply
not given by the deadline is announced once (deadline-passed, subject_kind policy-inquiry)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, insert, select, text, update

from services.disclosure import domain
from services.disclosure.schemas import InquiryReceipt, InquirySubmit, InquiryView, PublicInquiry, ReplyCreate
from services.disclosure.service import access
from services.disclosure.service.requests import require_organ
from services.disclosure.sweeper import inquiry_overdue
from services.disclosure.tables import policy_inquiries
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local_date
from shared.pagination import Keyset, Page, PageParams
from shared.rules import Missing

Q = policy_inquiries
INQUIRIES = Keyset(Q.c.received_at, Q.c.id)
REPLIED = Keyset(Q.c.replied_at, Q.c.id)


async def submit_inquiry(ctx: ServiceContext, cmd: InquirySubmit) -> InquiryReceipt:
    reference.known_department(cmd.department, field="department")
    code = access.new_code()
    now = ctx.now()
    async with ctx.db.transaction() as session:
        cal = await ctx.calendar.current(session)
        due = domain.inquiry_due(ctx.profile, local_date(now), cal)
        number = await access.free_number(session, Q.c.number, "ZX", local_date(now).year)
        await session.execute(
            insert(Q).values(
                id=f"inq-{uuid.uuid4().hex[:12]}",
                number=number,
                access_code_hash=access.digest(code),
                **cmd.model_dump(),
                received_at=now,
                deadline=due.at,
                deadline_provisional=due.provisional,
                status="open",
            )
        )
    return InquiryReceipt(number=number, access_code=code, deadline=due.at)


def _view(row: Row[Any]) -> InquiryView:
    return InquiryView.of(row, department_name=reference.department_name(row.department))


async def lookup_inquiry(ctx: ServiceContext, number: str, code: str | None, caller: str) -> InquiryView:
    """The inquirer's own view ("登录个人中心查看咨询回复情况"): number and code, else the same 404."""
    async with ctx.db.transaction() as session:
        row = await access.opened(ctx, session, Q, number, code, caller)
    if row is None:
        raise access.not_found("咨询编号或查询码不正确")
    return _view(row)


async def public_inquiries(
    ctx: ServiceContext, page: PageParams, department: str | None
) -> Page[PublicInquiry]:
    """The replied inquiries whose authors agreed to show them, newest reply first."""
    query = select(Q).where(text("policy_inquiries.public AND policy_inquiries.status = 'replied'"))
    if department is not None:
        query = query.where(Q.c.department == department)
    async with ctx.db.reader() as session:
        rows = (await session.execute(REPLIED.apply(query, page))).all()
    return REPLIED.page(
        rows, page, lambda r: PublicInquiry.of(r, department_name=reference.department_name(r.department))
    )


async def list_inquiries(
    ctx: ServiceContext, page: PageParams, principal: Principal, department: str | None
) -> Page[InquiryView]:
    if not principal.has_any("office"):
        department = principal.department or "-"
    query = select(Q)
    if department is not None:
        query = query.where(Q.c.department == department)
    async with ctx.db.reader() as session:
        rows = (await session.execute(INQUIRIES.apply(query, page))).all()
    return INQUIRIES.page(rows, page, _view)


async def reply(ctx: ServiceContext, inquiry_id: str, cmd: ReplyCreate, principal: Principal) -> InquiryView:
    """The department asked (or the office) replies once; late at or after the deadline, which is
    then recorded and announced once if the sweep has not done it yet."""
    now = ctx.now()
    replied_at = cmd.replied_at or now
    async with ctx.db.transaction() as session:
        row = (await session.execute(select(Q).where(Q.c.id == inquiry_id).with_for_update())).first()
        if row is None:
            raise Missing(f"咨询 {inquiry_id} 不存在", kind="inquiry-not-found")
        require_organ(principal, row.department)
        domain.check_reply(row.status, replied_at, row.received_at, now)
        late = domain.answered_late(row.deadline, replied_at)
        changes: dict[str, Any] = {
            "status": "replied",
            "reply": cmd.reply,
            "replied_at": replied_at,
            "replied_by": principal.client_id,
            "replied_late": late,
        }
        if late and row.overdue_at is None:
            changes["overdue_at"] = now
            await ctx.emit(session, inquiry_overdue(row, None))
        await session.execute(update(Q).where(Q.c.id == inquiry_id).values(**changes))
        return _view((await session.execute(select(Q).where(Q.c.id == inquiry_id))).one())

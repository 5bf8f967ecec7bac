"""Disclosure use cases; each runs in one transaction with its outbox rows."""

from __future__ import annotations

import uuid
from functools import cache

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from services.disclosure import domain
from services.disclosure.schemas import DocumentCreate, DocumentView
from services.disclosure.tables import document_versions, documents
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar import HolidayCalendar, default_calendar
from shared.deadlines import Period
from shared.events import DocumentFormed
from shared.messaging import outbox
from shared.policy import PolicyProfile, load_profile
from shared.problems import Problem


@cache
def _calendar() -> HolidayCalendar:
    return default_calendar()


def _profile(ctx: ServiceContext) -> PolicyProfile:
    return load_profile(ctx.common.policy_profile)


async def register_document(ctx: ServiceContext, cmd: DocumentCreate, principal: Principal) -> DocumentView:
    try:
        number = domain.parse_document_number(cmd.document_number)
    except domain.InvalidDocumentNumber as exc:
        raise Problem(
            422, str(exc), kind="invalid-document-number", rule="D4", field="document_number"
        ) from exc
    try:
        reference.department(cmd.drafting_department)
    except reference.UnknownReference as exc:
        raise Problem(
            422,
            f"未知的起草部门代码 {cmd.drafting_department}",
            kind="unknown-department",
            field="drafting_department",
        ) from exc
    if not principal.has_any("office") and principal.department != cmd.drafting_department:
        raise Problem(403, "只有起草部门或市政府办公室可以登记该文件", kind="forbidden")

    profile = _profile(ctx)
    rule = profile.disclosure.publish_within
    due = domain.publication_deadline(
        cmd.formed_on,
        Period(rule.amount, rule.unit),
        _calendar(),
        roll_to_working_day=profile.calendar.civil_code_rollover,
    )
    document_id = f"doc-{uuid.uuid4().hex[:12]}"
    try:
        async with ctx.db.transaction() as session:
            await session.execute(
                insert(documents).values(
                    id=document_id,
                    document_number=str(number),
                    title=cmd.title,
                    drafting_department=cmd.drafting_department,
                    current_version=1,
                    registered_by=principal.client_id,
                )
            )
            await session.execute(
                insert(document_versions).values(
                    document_id=document_id, version=1, formed_on=cmd.formed_on, deadline=due
                )
            )
            await outbox.record(
                session,
                DocumentFormed(
                    document_id=document_id,
                    version=1,
                    department=cmd.drafting_department,
                    document_number=str(number),
                    title=cmd.title,
                    formed_on=cmd.formed_on,
                    deadline=due,
                ),
                source=ctx.source,
                topic_prefix=ctx.common.topic_prefix,
            )
    except IntegrityError as exc:
        raise Problem(
            409, f"文号 {number} 已登记", kind="duplicate-document-number", field="document_number"
        ) from exc
    return DocumentView(
        id=document_id,
        document_number=str(number),
        title=cmd.title,
        drafting_department=cmd.drafting_department,
        version=1,
        formed_on=cmd.formed_on,
        deadline=due,
    )


async def get_document(ctx: ServiceContext, document_id: str) -> DocumentView:
    async with ctx.db.reader() as session:
        row = (
            await session.execute(
                select(documents, document_versions.c.formed_on, document_versions.c.deadline)
                .join(
                    document_versions,
                    (document_versions.c.document_id == documents.c.id)
                    & (document_versions.c.version == documents.c.current_version),
                )
                .where(documents.c.id == document_id)
            )
        ).first()
    if row is None:
        raise Problem(404, f"文件 {document_id} 不存在", kind="document-not-found")
    return DocumentView(
        id=row.id,
        document_number=row.document_number,
        title=row.title,
        drafting_department=row.drafting_department,
        version=row.current_version,
        formed_on=row.formed_on,
        deadline=row.deadline,
    )

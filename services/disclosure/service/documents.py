"""Document commands: register, change, decide an exemption, publish.

Each command runs in one transaction with its outbox rows: guard (the rules of ``domain``) →
decision → persist → announce. Commands on an existing document lock its ``documents`` row first
and its version row second, the order the sweeper never inverts (it locks version rows only), so
they serialise per document without deadlocks.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure import domain, search
from services.disclosure.domain import DisclosureMode, ExemptionDecision, VersionStatus
from services.disclosure.schemas import (
    Attachment,
    DocumentCreate,
    DocumentView,
    ExemptionDecisionCreate,
    PublicationCreate,
    VersionCreate,
)
from services.disclosure.service.views import etag, load, not_found, version_key
from services.disclosure.settings import disclosure_settings
from services.disclosure.sweeper import announce_withdrawn, close_overdue
from services.disclosure.tables import catalogue, document_versions, documents, exemptions, index_counters
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local
from shared.events import DocumentFormed, DocumentPublished, ExemptionDecided
from shared.problems import Problem
from shared.rules import Conflict, Missing


def require_drafter(principal: Principal, department_code: str) -> None:
    """The drafting department registers and changes its documents; the office may act for it."""
    if not principal.has_any("office") and principal.department != department_code:
        raise Problem(403, "只有起草部门或市政府办公室可以登记或变更该文件", kind="forbidden")


def leader_code(principal: Principal) -> str:
    """Which leader a ``leader`` token speaks for: its ``department`` claim, else its client id.

    A vice-mayor's client is registered with ``--roles leader --department vm-executive``.
    """
    return principal.department or principal.client_id


async def register_document(ctx: ServiceContext, cmd: DocumentCreate, principal: Principal) -> DocumentView:
    number = domain.parse_document_number(cmd.document_number)
    reference.known_department(cmd.drafting_department, field="drafting_department")
    require_drafter(principal, cmd.drafting_department)
    requested = domain.requested_exemption(cmd.disclosure_mode, cmd.exemption)
    document_id = f"doc-{uuid.uuid4().hex[:12]}"
    try:
        async with ctx.db.transaction() as session:
            # The calendar lock before any row lock, as the calendar consumer takes them.
            cal = await ctx.calendar.current(session)
            due = domain.new_version_due(
                ctx.profile, cmd.formed_on, cal, today=ctx.today(), field="formed_on"
            )
            await _insert_document(ctx, session, document_id, number, cmd, principal)
            version = _version_values(cmd, cmd.formed_on, due, principal)
            await _insert_version(session, document_id, 1, version, requested, principal)
            formed = _formed(document_id, 1, version, cmd.drafting_department, str(number))
            await ctx.emit(session, formed)
            return await _shown(session, document_id)
    except IntegrityError as exc:
        if "document_number" not in str(exc.orig):
            raise
        raise Conflict(
            f"文号 {number} 已登记", kind="duplicate-document-number", field="document_number"
        ) from exc


async def _insert_document(
    ctx: ServiceContext,
    session: AsyncSession,
    document_id: str,
    number: domain.DocumentNumber,
    cmd: DocumentCreate,
    principal: Principal,
) -> None:
    """The document row with its D4 index number: the next serial of the year it was formed."""
    settings = disclosure_settings(ctx.settings)
    year = cmd.formed_on.year
    serial = await _next_serial(session, year)
    index_number = domain.format_index_number(
        settings.index_number_pattern, organisation=settings.organisation_code, year=year, serial=serial
    )
    await session.execute(
        insert(documents).values(
            id=document_id,
            document_number=str(number),
            title=cmd.title,
            drafting_department=cmd.drafting_department,
            current_version=1,
            registered_by=principal.client_id,
            index_number=index_number,
            index_year=year,
            index_serial=serial,
            issuing_organ=cmd.issuing_organ or domain.issuing_organ_of(number),
        )
    )


async def _next_serial(session: AsyncSession, year: int) -> int:
    """The next index serial of ``year``: the counter row stays locked until the registration commits.

    Concurrent registrations of one year queue on that row; a registration that rolls back
    rolls its increment back too, so serials have no gaps and are never handed out twice.
    """
    stmt = (
        pg_insert(index_counters)
        .values(year=year, last_serial=1)
        .on_conflict_do_update(
            index_elements=[index_counters.c.year], set_={"last_serial": index_counters.c.last_serial + 1}
        )
        .returning(index_counters.c.last_serial)
    )
    return int((await session.execute(stmt)).scalar_one())


# What a version holds of its document's content (a change carries the fields it omits over).
_CONTENT = ("title", "body", "subject_words", "disclosure_mode", "scope", "validity", "attachments")


def _version_values(
    cmd: DocumentCreate | VersionCreate,
    formed_on: date,
    due: domain.Due,
    principal: Principal,
    previous: Row[Any] | None = None,
) -> dict[str, Any]:
    """The columns of a new version: ``cmd``'s content, else ``previous``'s, and its clock."""
    content = {name: getattr(cmd, name) for name in _CONTENT}
    if content["attachments"] is not None:
        content["attachments"] = _attachments(content["attachments"])
    if previous is not None:
        content = {k: getattr(previous, k) if v is None else v for k, v in content.items()}
    return {
        **content,
        "formed_on": formed_on,
        "deadline": due.at,
        "deadline_provisional": due.provisional,
        "formed_by": principal.client_id,
        "status": VersionStatus.OPEN,
    }


def _attachments(items: list[Attachment]) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in items]


async def _insert_version(
    session: AsyncSession,
    document_id: str,
    version: int,
    values: dict[str, Any],
    requested: domain.RequestedExemption | None,
    principal: Principal,
) -> None:
    """The version row, and the exemption request (D2) recorded with it at drafting time."""
    await session.execute(
        insert(document_versions).values(document_id=document_id, version=version, **values)
    )
    if requested is not None:
        await session.execute(
            insert(exemptions).values(
                document_id=document_id,
                version=version,
                **asdict(requested),
                requested_by=principal.client_id,
                decision=ExemptionDecision.PENDING,
            )
        )


def _formed(
    document_id: str, version: int, values: dict[str, Any], department: str, number: str
) -> DocumentFormed:
    """The announcement of a version just inserted with ``values``."""
    return DocumentFormed(
        document_id=document_id,
        version=version,
        department=department,
        document_number=number,
        title=values["title"],
        formed_on=values["formed_on"],
        deadline=local(values["deadline"]),
        deadline_provisional=values["deadline_provisional"],
    )


async def change_document(
    ctx: ServiceContext,
    document_id: str,
    cmd: VersionCreate,
    principal: Principal,
    if_match: str | None = None,
) -> DocumentView:
    """D1 变更: a new version whose clock starts on the day of the change; the old one stays."""
    async with ctx.db.transaction() as session:
        # The calendar lock before the row locks, as the calendar consumer takes them.
        cal = await ctx.calendar.current(session)
        doc = await _lock_document(session, document_id)
        require_drafter(principal, doc.drafting_department)
        if if_match is not None:
            await _check_unchanged(session, document_id, if_match)
        previous = await _lock_version(session, document_id, doc.current_version)
        domain.check_change(cmd.changed_on, previous.formed_on)
        # The mode carries over like the other fields; an exemption request does not, because
        # D2 wants reason and signature for the version that is withheld.
        mode = cmd.disclosure_mode or DisclosureMode(previous.disclosure_mode)
        requested = domain.requested_exemption(mode, cmd.exemption)
        clock = domain.Due(previous.deadline, previous.deadline_provisional)
        due = domain.new_version_due(
            ctx.profile, cmd.changed_on, cal, today=ctx.today(), field="changed_on", previous=clock
        )
        version = doc.current_version + 1
        values = _version_values(cmd, cmd.changed_on, due, principal, previous)
        values["change_reason"] = cmd.change_reason
        await _insert_version(session, document_id, version, values, requested, principal)
        await _supersede(session, document_id, previous.version, ctx.now())
        await session.execute(
            update(documents)
            .where(documents.c.id == document_id)
            .values(current_version=version, title=values["title"])
        )
        formed = _formed(document_id, version, values, doc.drafting_department, doc.document_number)
        await ctx.emit(session, formed)
        return await _shown(session, document_id)


async def _check_unchanged(session: AsyncSession, document_id: str, if_match: str) -> None:
    """``If-Match``: the change is made to the document as its author last read it."""
    current = await load(session, document_id)
    assert current is not None
    if if_match.strip() != etag(current):
        raise Problem(
            412, "文件已被他人修改，请重新读取后再变更", kind="precondition-failed", field="If-Match"
        )


async def _supersede(session: AsyncSession, document_id: str, version: int, at: datetime) -> None:
    """The replaced version's clock stops, unless it already ran out (an overdue stays on record)."""
    status = document_versions.c.status
    await session.execute(
        update(document_versions)
        .where(version_key(document_id, version))
        .values(
            superseded_at=at,
            status=case((status == VersionStatus.OPEN, VersionStatus.SUPERSEDED), else_=status),
        )
    )


async def decide_exemption(
    ctx: ServiceContext, document_id: str, version: int, cmd: ExemptionDecisionCreate, principal: Principal
) -> DocumentView:
    """D2: only the vice-mayor in charge of the drafting department signs (or the office enters his
    paper sign-off with its real instant); a refusal keeps the clock. D3: a sign-off at or after the
    deadline is kept but leaves the version overdue; a backfilled one before it corrects an overdue.

    The version row is locked as the sweeper locks it, and both judge on the deadline instant, so
    the outcome does not depend on which of them runs first.
    """
    now = ctx.now()
    async with ctx.db.transaction() as session:
        doc = await _lock_document(session, document_id)
        row = await _lock_version(session, document_id, version)
        key = _exemption_key(document_id, version)
        request = (await session.execute(select(exemptions).where(key).with_for_update())).first()
        signed = domain.sign_off(
            leader=leader_code(principal) if principal.has_any("leader") else None,
            office=principal.has_any("office"),
            client=principal.client_id,
            stated_at=cmd.decided_at,
            stated_signer=cmd.signed_by,
            formed_on=row.formed_on,
            now=now,
        )
        domain.check_exemption_decision(
            _stored(doc, row),
            None if request is None else ExemptionDecision(request.decision),
            document_id=document_id,
            drafting=reference.known_department(doc.drafting_department, field="drafting_department"),
            signer=signed.signer,
        )
        assert request is not None
        outcome = domain.decision_outcome(
            cmd.granted, VersionStatus(row.status), row.deadline, signed.decided_at, now
        )
        await _record_decision(session, document_id, version, cmd, signed)
        await _apply_outcome(ctx, session, document_id, version, outcome, signed)
        await ctx.emit(session, _decided(doc, version, request.ground, cmd, signed, outcome))
        return await _shown(session, document_id)


async def _record_decision(
    session: AsyncSession,
    document_id: str,
    version: int,
    cmd: ExemptionDecisionCreate,
    signed: domain.SignOff,
) -> None:
    """The decision as signed, whatever it does to the version: kept even when it came too late."""
    decided = ExemptionDecision.GRANTED if cmd.granted else ExemptionDecision.REFUSED
    await session.execute(
        update(exemptions)
        .where(_exemption_key(document_id, version))
        .values(decision=decided, comment=cmd.comment, **_signature_columns(signed))
    )


def _exemption_key(document_id: str, version: int) -> ColumnElement[bool]:
    return (exemptions.c.document_id == document_id) & (exemptions.c.version == version)


def _signature_columns(signed: domain.SignOff) -> dict[str, Any]:
    """The sign-off as the exemption row keeps it: every field, the signer as ``signed_by``."""
    columns = asdict(signed)
    columns["signed_by"] = columns.pop("signer")
    return columns


async def _apply_outcome(
    ctx: ServiceContext,
    session: AsyncSession,
    document_id: str,
    version: int,
    outcome: domain.DecisionOutcome,
    signed: domain.SignOff,
) -> None:
    """The version after the decision: exempt, proactive, overdue (D3, as the sweeper records it),
    or exempt with its overdue record withdrawn (``overdue_at`` kept, beside who withdrew it and when)."""
    now = signed.recorded_at
    changes: dict[str, Any] = dict(outcome.changes)
    if outcome.withdraws_overdue:
        changes |= {"overdue_withdrawn_at": now, "overdue_withdrawn_by": signed.recorded_by}
    if changes:
        await session.execute(
            update(document_versions).where(version_key(document_id, version)).values(**changes)
        )
    if outcome.closes_overdue:
        await close_overdue(ctx, session, document_id, version, now)
    if outcome.withdraws_overdue:
        await announce_withdrawn(
            ctx, session, document_id, version, reason="backfilled-exemption", stated_at=signed.decided_at
        )


def _decided(
    doc: Row[Any],
    version: int,
    ground: str,
    cmd: ExemptionDecisionCreate,
    signed: domain.SignOff,
    outcome: domain.DecisionOutcome,
) -> ExemptionDecided:
    return ExemptionDecided(
        document_id=doc.id,
        version=version,
        department=doc.drafting_department,
        ground=ground,
        granted=cmd.granted,
        signed_by=signed.signer,
        decided_at=local(signed.decided_at),
        recorded_by=signed.recorded_by,
        recorded_at=local(signed.recorded_at),
        backfilled=signed.backfilled,
        after_deadline=outcome.after_deadline,
    )


async def publish_version(
    ctx: ServiceContext, document_id: str, version: int, cmd: PublicationCreate, principal: Principal
) -> DocumentView:
    """D1: the office publishes the current version on the portal; on time or late against its deadline."""
    now = ctx.now()
    published_at = cmd.published_at or now
    domain.check_publication_time(published_at, now)
    async with ctx.db.transaction() as session:
        doc = await _lock_document(session, document_id)
        row = await _lock_version(session, document_id, version)
        domain.check_publishable(_stored(doc, row), published_at)
        on_time = domain.published_on_time(row.deadline, published_at)
        await session.execute(
            update(document_versions)
            .where(version_key(document_id, version))
            .values(
                status=VersionStatus.PUBLISHED,
                published_at=published_at,
                publication_url=cmd.url,
                published_on_time=on_time,
                published_by=principal.client_id,
            )
        )
        await _catalogue(session, doc, row, cmd.url, published_at)
        await ctx.emit(
            session,
            DocumentPublished(
                document_id=document_id,
                version=version,
                department=doc.drafting_department,
                published_at=local(published_at),
                deadline=local(row.deadline),
                deadline_provisional=row.deadline_provisional,
                on_time=on_time,
                url=cmd.url,
            ),
        )
        return await _shown(session, document_id)


async def _catalogue(
    session: AsyncSession, doc: Row[Any], row: Row[Any], url: str, published_at: datetime
) -> None:
    """D5: the published version becomes the document's public catalogue entry."""
    number = domain.parse_document_number(doc.document_number)
    drafting = reference.known_department(doc.drafting_department, field="drafting_department")
    text = await asyncio.to_thread(
        search.index_text, doc.document_number, row.title, drafting.short_name, drafting.name, row.body
    )
    copied = ("version", "title", "formed_on", "subject_words", "disclosure_mode", "scope", "validity")
    values = {
        **{name: getattr(row, name) for name in (*copied, "body", "attachments")},
        **{name: getattr(doc, name) for name in ("index_number", "document_number", "issuing_organ")},
        "number_prefix": number.prefix,
        "number_year": number.year,
        "number_serial": number.serial,
        "department": doc.drafting_department,
        "year": row.formed_on.year,
        "url": url,
        "published_at": published_at,
        "search": func.to_tsvector(search.SIMPLE, text),
    }
    stmt = pg_insert(catalogue).values(document_id=doc.id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[catalogue.c.document_id], set_=values))


def _stored(doc: Row[Any], row: Row[Any]) -> domain.StoredVersion:
    return domain.StoredVersion(
        document_number=doc.document_number,
        version=row.version,
        current_version=doc.current_version,
        status=VersionStatus(row.status),
        formed_on=row.formed_on,
        published_at=row.published_at,
    )


async def _lock_document(session: AsyncSession, document_id: str) -> Row[Any]:
    doc = (
        await session.execute(select(documents).where(documents.c.id == document_id).with_for_update())
    ).first()
    if doc is None:
        raise not_found(document_id)
    return doc


async def _lock_version(session: AsyncSession, document_id: str, version: int) -> Row[Any]:
    row = (
        await session.execute(
            select(document_versions).where(version_key(document_id, version)).with_for_update()
        )
    ).first()
    if row is None:
        raise Missing(f"文件 {document_id} 没有第{version}版", kind="version-not-found", field="version")
    return row


async def _shown(session: AsyncSession, document_id: str) -> DocumentView:
    """The document as the command leaves it, read in its transaction."""
    view = await load(session, document_id)
    assert view is not None
    return view

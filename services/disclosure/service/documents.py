"""Document use cases: register, change, decide an exemption, publish; and the internal reads.

Each command runs in one transaction with its outbox rows. Commands on an existing document lock
its ``documents`` row first and its version row second, the order the sweeper never inverts (it
locks version rows only), so they serialise per document without deadlocks.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, case, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure import domain, search
from services.disclosure.domain import DisclosureMode, ExemptionDecision, VersionStatus
from services.disclosure.schemas import (
    Attachment,
    DocumentCreate,
    DocumentPage,
    DocumentSummary,
    DocumentView,
    ExemptionDecisionCreate,
    ExemptionRequest,
    ExemptionView,
    PublicationCreate,
    PublicationView,
    VersionCreate,
    VersionView,
)
from services.disclosure.service import common
from services.disclosure.tables import catalogue, document_versions, documents, exemptions, index_counters
from shared.app import ServiceContext
from shared.auth import Principal
from shared.events import DocumentFormed, DocumentPublished, ExemptionDecided
from shared.messaging import outbox
from shared.pagination import PageParams, encode_cursor
from shared.problems import Problem

# A publication time a little ahead of the server clock is a clock difference, not the future.
_CLOCK_SKEW = timedelta(minutes=5)


def _version_key(document_id: str, version: int) -> ColumnElement[bool]:
    return (document_versions.c.document_id == document_id) & (document_versions.c.version == version)


def _parse_number(text: str) -> domain.DocumentNumber:
    try:
        return domain.parse_document_number(text)
    except domain.InvalidDocumentNumber as exc:
        raise Problem(
            422, str(exc), kind="invalid-document-number", rule="D4", field="document_number"
        ) from exc


def _exemption_request(
    mode: DisclosureMode, request: ExemptionRequest | None
) -> tuple[domain.ExemptionGround, str] | None:
    """D2: withholding needs an enumerated ground and a written reason; proactive needs neither."""
    if not mode.needs_exemption:
        if request is not None:
            raise Problem(
                422,
                "主动公开的文件不需要不予公开申请；如不宜公开，请将公开方式设为 on-request 或 withheld",
                kind="exemption-not-applicable",
                rule="D2",
                field="exemption",
            )
        return None
    if request is None or not (request.reason or "").strip():
        raise Problem(
            422,
            f"公开方式为{mode.label}的文件须由起草部门书面说明不予公开的原因（D2），否则必须公开",
            kind="exemption-reason-required",
            rule="D2",
            field="exemption.reason",
        )
    return request.ground, (request.reason or "").strip()


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


def _attachments(items: list[Attachment]) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in items]


async def register_document(ctx: ServiceContext, cmd: DocumentCreate, principal: Principal) -> DocumentView:
    number = _parse_number(cmd.document_number)
    common.department(cmd.drafting_department, field="drafting_department")
    common.require_drafter(principal, cmd.drafting_department)
    requested = _exemption_request(cmd.disclosure_mode, cmd.exemption)
    settings = common.settings(ctx)
    document_id = f"doc-{uuid.uuid4().hex[:12]}"
    try:
        async with ctx.db.transaction() as session:
            # The calendar lock before any row lock, as the calendar consumer takes them.
            cal = await ctx.calendar.current(session)
            due = common.clock_deadline(ctx, cal, cmd.formed_on, field="formed_on")
            year = cmd.formed_on.year
            serial = await _next_serial(session, year)
            await session.execute(
                insert(documents).values(
                    id=document_id,
                    document_number=str(number),
                    title=cmd.title,
                    drafting_department=cmd.drafting_department,
                    current_version=1,
                    registered_by=principal.client_id,
                    index_number=domain.format_index_number(
                        settings.index_number_pattern,
                        organisation=settings.organisation_code,
                        year=year,
                        serial=serial,
                    ),
                    index_year=year,
                    index_serial=serial,
                    issuing_organ=cmd.issuing_organ or domain.issuing_organ_of(number),
                )
            )
            await session.execute(
                insert(document_versions).values(
                    document_id=document_id,
                    version=1,
                    formed_on=cmd.formed_on,
                    deadline=due.at,
                    deadline_provisional=due.provisional,
                    title=cmd.title,
                    body=cmd.body,
                    subject_words=cmd.subject_words,
                    disclosure_mode=cmd.disclosure_mode,
                    scope=cmd.scope,
                    validity=cmd.validity,
                    attachments=_attachments(cmd.attachments),
                    formed_by=principal.client_id,
                    status=VersionStatus.OPEN,
                )
            )
            if requested is not None:
                await _insert_exemption(session, document_id, 1, requested, principal)
            await _record_formed(ctx, session, document_id, 1, cmd.drafting_department, str(number))
            view = await _load(session, document_id)
    except IntegrityError as exc:
        if "document_number" not in str(exc.orig):
            raise
        raise Problem(
            409, f"文号 {number} 已登记", kind="duplicate-document-number", field="document_number"
        ) from exc
    assert view is not None
    return view


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
        common.require_drafter(principal, doc.drafting_department)
        if if_match is not None:
            current = await _load(session, document_id)
            assert current is not None
            if if_match.strip() != etag(current):
                raise Problem(
                    412, "文件已被他人修改，请重新读取后再变更", kind="precondition-failed", field="If-Match"
                )
        previous = await _lock_version(session, document_id, doc.current_version)
        if cmd.changed_on < previous.formed_on:
            raise Problem(
                422,
                f"变更日期 {cmd.changed_on} 早于上一版本的形成日期 {previous.formed_on}",
                kind="change-before-formation",
                rule="D1",
                field="changed_on",
            )
        # The mode carries over like the other fields; an exemption request does not, because
        # D2 wants reason and signature for the version that is withheld.
        mode = cmd.disclosure_mode or DisclosureMode(previous.disclosure_mode)
        requested = _exemption_request(mode, cmd.exemption)
        due = common.clock_deadline(
            ctx,
            cal,
            cmd.changed_on,
            field="changed_on",
            previous=common.Previous(previous.deadline, previous.deadline_provisional),
        )
        version = doc.current_version + 1
        title = cmd.title if cmd.title is not None else previous.title
        await session.execute(
            insert(document_versions).values(
                document_id=document_id,
                version=version,
                formed_on=cmd.changed_on,
                deadline=due.at,
                deadline_provisional=due.provisional,
                title=title,
                body=cmd.body if cmd.body is not None else previous.body,
                subject_words=cmd.subject_words if cmd.subject_words is not None else previous.subject_words,
                disclosure_mode=mode,
                scope=cmd.scope if cmd.scope is not None else previous.scope,
                validity=cmd.validity if cmd.validity is not None else previous.validity,
                attachments=(
                    _attachments(cmd.attachments) if cmd.attachments is not None else previous.attachments
                ),
                change_reason=cmd.change_reason,
                formed_by=principal.client_id,
                status=VersionStatus.OPEN,
            )
        )
        # The old version's clock stops unless it already ran out (an overdue stays on record).
        superseded = ctx.now()
        await session.execute(
            update(document_versions)
            .where(_version_key(document_id, previous.version))
            .values(
                superseded_at=superseded,
                status=case(
                    (document_versions.c.status == VersionStatus.OPEN, VersionStatus.SUPERSEDED),
                    else_=document_versions.c.status,
                ),
            )
        )
        await session.execute(
            update(documents)
            .where(documents.c.id == document_id)
            .values(current_version=version, title=title)
        )
        if requested is not None:
            await _insert_exemption(session, document_id, version, requested, principal)
        await _record_formed(ctx, session, document_id, version, doc.drafting_department, doc.document_number)
        view = await _load(session, document_id)
    assert view is not None
    return view


async def decide_exemption(
    ctx: ServiceContext, document_id: str, version: int, cmd: ExemptionDecisionCreate, principal: Principal
) -> DocumentView:
    """D2: only the vice-mayor in charge of the drafting department signs; a refusal keeps the clock."""
    async with ctx.db.transaction() as session:
        doc = await _lock_document(session, document_id)
        row = await _lock_version(session, document_id, version)
        request = (
            await session.execute(
                select(exemptions)
                .where((exemptions.c.document_id == document_id) & (exemptions.c.version == version))
                .with_for_update()
            )
        ).first()
        if request is None:
            raise Problem(
                404,
                f"文件 {document_id} 第{version}版没有不予公开申请",
                kind="exemption-not-found",
                rule="D2",
                field="version",
            )
        drafting = common.department(doc.drafting_department, field="drafting_department")
        signer = common.leader_code(principal)
        if not domain.may_sign_exemption(drafting, signer):
            required = domain.vice_mayor_in_charge(drafting)
            raise Problem(
                403,
                f"不予公开须经起草部门{drafting.short_name}的分管市长（{required}）签字，{signer} 无权签字",
                kind="signer-not-in-charge",
                rule="D2",
                field="signer",
                signer=signer,
                required_signer=required,
            )
        if request.decision != ExemptionDecision.PENDING:
            raise Problem(409, "该不予公开申请已有签字意见", kind="exemption-already-decided", rule="D2")
        if row.status not in domain.PUBLISHABLE or version != doc.current_version:
            raise Problem(
                409,
                f"第{version}版已{'公开' if row.status == VersionStatus.PUBLISHED else '被新版本取代'}，"
                "不能再决定是否公开",
                kind="version-closed",
                rule="D2",
                field="version",
            )
        decided = ExemptionDecision.GRANTED if cmd.granted else ExemptionDecision.REFUSED
        await session.execute(
            update(exemptions)
            .where((exemptions.c.document_id == document_id) & (exemptions.c.version == version))
            .values(
                decision=decided,
                signed_by=signer,
                decided_by_client=principal.client_id,
                decided_at=ctx.now(),
                comment=cmd.comment,
            )
        )
        # Granted: the version owes no publication. Refused: it must be published by the
        # original deadline, proactively (Without both, the document must be published).
        changes: dict[str, Any] = (
            {"status": VersionStatus.EXEMPT} if cmd.granted else {"disclosure_mode": DisclosureMode.PROACTIVE}
        )
        await session.execute(
            update(document_versions).where(_version_key(document_id, version)).values(**changes)
        )
        await outbox.record(
            session,
            ExemptionDecided(
                document_id=document_id,
                version=version,
                department=doc.drafting_department,
                ground=request.ground,
                granted=cmd.granted,
                signed_by=signer,
            ),
            source=ctx.source,
            topic_prefix=ctx.common.topic_prefix,
        )
        view = await _load(session, document_id)
    assert view is not None
    return view


async def publish_version(
    ctx: ServiceContext, document_id: str, version: int, cmd: PublicationCreate, principal: Principal
) -> DocumentView:
    """D1: the office publishes the current version on the portal; on time or late against its deadline."""
    now = ctx.now()
    published_at = cmd.published_at or now
    if published_at > now + _CLOCK_SKEW:
        raise Problem(
            422, "发布时刻晚于当前时刻", kind="publication-in-future", rule="D1", field="published_at"
        )
    async with ctx.db.transaction() as session:
        doc = await _lock_document(session, document_id)
        row = await _lock_version(session, document_id, version)
        if row.status == VersionStatus.PUBLISHED:
            raise Problem(
                409,
                f"文件 {doc.document_number} 第{version}版已于 {row.published_at.isoformat()} 公开，"
                "不能重复公开",
                kind="already-published",
                rule="D1",
                field="version",
            )
        if row.status == VersionStatus.EXEMPT:
            raise Problem(
                409,
                f"第{version}版已经分管市长签字同意不予公开",
                kind="version-exempt",
                rule="D2",
                field="version",
            )
        if version != doc.current_version:
            raise Problem(
                409,
                f"第{version}版已被第{doc.current_version}版取代，请公开当前版本",
                kind="version-superseded",
                rule="D1",
                field="version",
            )
        if domain.published_before_formation(row.formed_on, published_at):
            raise Problem(
                422,
                f"发布时刻 {published_at.isoformat()} 早于该版本的形成日期 {row.formed_on}",
                kind="publication-before-formation",
                rule="D1",
                field="published_at",
            )
        on_time = domain.published_on_time(row.deadline, published_at)
        await session.execute(
            update(document_versions)
            .where(_version_key(document_id, version))
            .values(
                status=VersionStatus.PUBLISHED,
                published_at=published_at,
                publication_url=cmd.url,
                published_on_time=on_time,
                published_by=principal.client_id,
            )
        )
        await _catalogue(session, doc, row, cmd.url, published_at)
        await outbox.record(
            session,
            DocumentPublished(
                document_id=document_id,
                version=version,
                department=doc.drafting_department,
                published_at=published_at,
                deadline=common.local(row.deadline),
                deadline_provisional=row.deadline_provisional,
                on_time=on_time,
                url=cmd.url,
            ),
            source=ctx.source,
            topic_prefix=ctx.common.topic_prefix,
        )
        view = await _load(session, document_id)
    assert view is not None
    return view


async def _catalogue(
    session: AsyncSession, doc: Row[Any], row: Row[Any], url: str, published_at: datetime
) -> None:
    """D5: the published version becomes the document's public catalogue entry."""
    number = domain.parse_document_number(doc.document_number)
    drafting = common.department(doc.drafting_department, field="drafting_department")
    text = await asyncio.to_thread(
        search.index_text, doc.document_number, row.title, drafting.short_name, drafting.name, row.body
    )
    values = {
        "version": row.version,
        "index_number": doc.index_number,
        "document_number": doc.document_number,
        "number_prefix": number.prefix,
        "number_year": number.year,
        "number_serial": number.serial,
        "title": row.title,
        "issuing_organ": doc.issuing_organ,
        "department": doc.drafting_department,
        "formed_on": row.formed_on,
        "year": row.formed_on.year,
        "subject_words": row.subject_words,
        "disclosure_mode": row.disclosure_mode,
        "scope": row.scope,
        "validity": row.validity,
        "body": row.body,
        "attachments": row.attachments,
        "url": url,
        "published_at": published_at,
        "search": func.to_tsvector(search.SIMPLE, text),
    }
    stmt = pg_insert(catalogue).values(document_id=doc.id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[catalogue.c.document_id], set_=values))


async def _insert_exemption(
    session: AsyncSession,
    document_id: str,
    version: int,
    requested: tuple[domain.ExemptionGround, str],
    principal: Principal,
) -> None:
    ground, reason = requested
    await session.execute(
        insert(exemptions).values(
            document_id=document_id,
            version=version,
            ground=ground,
            reason=reason,
            requested_by=principal.client_id,
            decision=ExemptionDecision.PENDING,
        )
    )


async def _record_formed(
    ctx: ServiceContext, session: AsyncSession, document_id: str, version: int, department: str, number: str
) -> None:
    row = (
        await session.execute(
            select(
                document_versions.c.title,
                document_versions.c.formed_on,
                document_versions.c.deadline,
                document_versions.c.deadline_provisional,
            ).where(_version_key(document_id, version))
        )
    ).one()
    await outbox.record(
        session,
        DocumentFormed(
            document_id=document_id,
            version=version,
            department=department,
            document_number=number,
            title=row.title,
            formed_on=row.formed_on,
            deadline=common.local(row.deadline),
            deadline_provisional=row.deadline_provisional,
        ),
        source=ctx.source,
        topic_prefix=ctx.common.topic_prefix,
    )


async def _lock_document(session: AsyncSession, document_id: str) -> Row[Any]:
    doc = (
        await session.execute(select(documents).where(documents.c.id == document_id).with_for_update())
    ).first()
    if doc is None:
        raise common.not_found(document_id)
    return doc


async def _lock_version(session: AsyncSession, document_id: str, version: int) -> Row[Any]:
    row = (
        await session.execute(
            select(document_versions).where(_version_key(document_id, version)).with_for_update()
        )
    ).first()
    if row is None:
        raise Problem(404, f"文件 {document_id} 没有第{version}版", kind="version-not-found", field="version")
    return row


def etag(view: DocumentView) -> str:
    """A strong validator of the document as shown; changes whenever anything shown changes."""
    return '"' + hashlib.sha256(view.model_dump_json().encode()).hexdigest()[:24] + '"'


async def get_document(ctx: ServiceContext, document_id: str) -> DocumentView:
    async with ctx.db.reader() as session:
        view = await _load(session, document_id)
    if view is None:
        raise common.not_found(document_id)
    return view


async def _load(session: AsyncSession, document_id: str) -> DocumentView | None:
    doc = (await session.execute(select(documents).where(documents.c.id == document_id))).first()
    if doc is None:
        return None
    rows = (
        await session.execute(
            select(document_versions)
            .where(document_versions.c.document_id == document_id)
            .order_by(document_versions.c.version)
        )
    ).all()
    requests = {
        r.version: r
        for r in (
            await session.execute(select(exemptions).where(exemptions.c.document_id == document_id))
        ).all()
    }
    required = domain.vice_mayor_in_charge(common.department(doc.drafting_department, field="department"))
    versions = [_version_view(r, requests.get(r.version), required) for r in rows]
    current = versions[doc.current_version - 1]
    return DocumentView(
        id=doc.id,
        index_number=doc.index_number,
        document_number=doc.document_number,
        title=doc.title,
        issuing_organ=doc.issuing_organ,
        drafting_department=doc.drafting_department,
        version=current.version,
        formed_on=current.formed_on,
        deadline=current.deadline,
        deadline_provisional=current.deadline_provisional,
        status=current.status,
        versions=versions,
    )


def _version_view(row: Row[Any], request: Row[Any] | None, required_signer: str) -> VersionView:
    publication = (
        PublicationView(
            url=row.publication_url,
            published_at=common.local(row.published_at),
            on_time=row.published_on_time,
            published_by=row.published_by,
        )
        if row.published_at is not None
        else None
    )
    exemption = (
        ExemptionView(
            ground=request.ground,
            ground_name=domain.ExemptionGround(request.ground).label,
            reason=request.reason,
            requested_by=request.requested_by,
            requested_at=common.local(request.requested_at),
            decision=request.decision,
            required_signer=required_signer,
            signed_by=request.signed_by,
            decided_at=common.maybe_local(request.decided_at),
            comment=request.comment,
        )
        if request is not None
        else None
    )
    return VersionView(
        version=row.version,
        formed_on=row.formed_on,
        deadline=common.local(row.deadline),
        deadline_provisional=row.deadline_provisional,
        status=row.status,
        title=row.title,
        body=row.body,
        subject_words=row.subject_words,
        disclosure_mode=row.disclosure_mode,
        scope=row.scope,
        validity=row.validity,
        attachments=row.attachments,
        change_reason=row.change_reason,
        formed_by=row.formed_by,
        overdue_at=common.maybe_local(row.overdue_at),
        superseded_at=common.maybe_local(row.superseded_at),
        publication=publication,
        exemption=exemption,
    )


async def list_documents(
    ctx: ServiceContext, page: PageParams, *, department: str | None, status: VersionStatus | None
) -> DocumentPage:
    """Newest registrations first; filtered by drafting department and the current version's status."""
    d, v = documents, document_versions
    query = select(
        d.c.id,
        d.c.index_number,
        d.c.document_number,
        d.c.title,
        d.c.drafting_department,
        d.c.current_version,
        d.c.created_at,
        v.c.formed_on,
        v.c.deadline,
        v.c.deadline_provisional,
        v.c.status,
    ).join(v, (v.c.document_id == d.c.id) & (v.c.version == d.c.current_version))
    if department is not None:
        common.department(department, field="department")
        query = query.where(d.c.drafting_department == department)
    if status is not None:
        query = query.where(v.c.status == status)
    if page.cursor is not None:
        try:
            at, last_id = datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1])
        except (IndexError, TypeError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(tuple_(d.c.created_at, d.c.id) < tuple_(at, last_id))
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(query.order_by(d.c.created_at.desc(), d.c.id.desc()).limit(page.limit + 1))
        ).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return DocumentPage(
        items=[
            DocumentSummary(
                id=r.id,
                index_number=r.index_number,
                document_number=r.document_number,
                title=r.title,
                drafting_department=r.drafting_department,
                version=r.current_version,
                formed_on=r.formed_on,
                deadline=common.local(r.deadline),
                deadline_provisional=r.deadline_provisional,
                status=r.status,
            )
            for r in rows
        ],
        next_cursor=encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id]) if more else None,
    )

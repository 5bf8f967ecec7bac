"""The internal reads of documents: one document with all its versions and their records, the
list of documents, and the ETag of what is shown."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure import domain
from services.disclosure.domain import VersionStatus
from services.disclosure.schemas import (
    DocumentSummary,
    DocumentView,
    ExemptionView,
    PublicationView,
    VersionView,
)
from services.disclosure.tables import document_versions, documents, exemptions
from shared import reference
from shared.app import ServiceContext
from shared.pagination import Keyset, Page, PageParams
from shared.rules import Missing

# Newest registrations first.
DOCUMENTS = Keyset(documents.c.created_at, documents.c.id)


def version_key(document_id: str, version: int) -> ColumnElement[bool]:
    return (document_versions.c.document_id == document_id) & (document_versions.c.version == version)


def not_found(document_id: str) -> Missing:
    return Missing(f"文件 {document_id} 不存在", kind="document-not-found")


def etag(view: DocumentView) -> str:
    """A strong validator of the document as shown; changes whenever anything shown changes."""
    return '"' + hashlib.sha256(view.model_dump_json().encode()).hexdigest()[:24] + '"'


async def get_document(ctx: ServiceContext, document_id: str) -> DocumentView:
    async with ctx.db.reader() as session:
        view = await load(session, document_id)
    if view is None:
        raise not_found(document_id)
    return view


async def load(session: AsyncSession, document_id: str) -> DocumentView | None:
    """The document as shown, read in ``session`` (a command shows what it has just written)."""
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
    found = await session.execute(select(exemptions).where(exemptions.c.document_id == document_id))
    requests = {r.version: r for r in found.all()}
    drafting = reference.known_department(doc.drafting_department, field="department")
    required = domain.vice_mayor_in_charge(drafting)
    versions = [_version_view(r, requests.get(r.version), required) for r in rows]
    current = versions[doc.current_version - 1]
    shown = current.model_dump(
        include={"version", "formed_on", "due_on", "deadline", "deadline_provisional", "status"}
    )
    return DocumentView.of(doc, **shown, versions=versions)


def _version_view(row: Row[Any], request: Row[Any] | None, required_signer: str) -> VersionView:
    publication = None
    if row.published_at is not None:
        publication = PublicationView.of(row, url=row.publication_url, on_time=row.published_on_time)
    exemption = None
    if request is not None:
        ground_name = domain.ExemptionGround(request.ground).label
        late = None
        if request.decided_at is not None:
            late = domain.signed_after_deadline(row.deadline, request.decided_at)
        exemption = ExemptionView.of(
            request, ground_name=ground_name, required_signer=required_signer, after_deadline=late
        )
    due_on = domain.last_day_of(row.deadline)
    return VersionView.of(row, due_on=due_on, publication=publication, exemption=exemption)


async def list_documents(
    ctx: ServiceContext, page: PageParams, *, department: str | None, status: VersionStatus | None
) -> Page[DocumentSummary]:
    """Newest registrations first; filtered by drafting department and the current version's status."""
    d, v = documents, document_versions
    query = select(
        d.c.id,
        d.c.index_number,
        d.c.document_number,
        d.c.title,
        d.c.drafting_department,
        d.c.current_version.label("version"),
        d.c.created_at,
        v.c.formed_on,
        v.c.deadline,
        v.c.deadline_provisional,
        v.c.status,
    ).join(v, (v.c.document_id == d.c.id) & (v.c.version == d.c.current_version))
    if department is not None:
        reference.known_department(department, field="department")
        query = query.where(d.c.drafting_department == department)
    if status is not None:
        query = query.where(v.c.status == status)
    async with ctx.db.reader() as session:
        rows = (await session.execute(DOCUMENTS.apply(query, page))).all()
    return DOCUMENTS.page(rows, page, _summary)


def _summary(row: Row[Any]) -> DocumentSummary:
    return DocumentSummary.of(row, due_on=domain.last_day_of(row.deadline))

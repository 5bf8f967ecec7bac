"""D3: open versions past their deadline become overdue, once each, and deadline-passed is announced.

The sweep is ``shared.sweeps``'s: claims through the partial index on open versions with
``FOR UPDATE SKIP LOCKED`` (several replicas may sweep at once), one guarded set-based ``UPDATE``
per batch and one multi-row outbox ``INSERT``, so a version leaves ``open`` exactly once and is
announced exactly once. ``mark_overdue`` takes the clock as an argument so tests choose ``now``;
the registered sweeper passes the business clock (``ctx.now()``).

An exemption decision that leaves a version open past its deadline closes it here too
(``close_overdue``): the same guard, the same columns and the same announcement, under the row
lock the decision holds, so a version is overdue once whichever of the two comes first. A
backfilled sign-off made in time withdraws an overdue record (``announce_withdrawn``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.disclosure.domain import RequestStatus, VersionStatus
from services.disclosure.tables import disclosure_requests, document_versions, documents, policy_inquiries
from shared.app import ServiceContext
from shared.deadlines import local, maybe_local
from shared.events import DeadlinePassed
from shared.events.contracts import DeadlinePassedWithdrawn, DisclosureRequestClockChanged, SubjectKind
from shared.settings import CommonSettings
from shared.sweeps import Sweep, run_sweep

# The batch a sweep claims when XN_SWEEP_BATCH_SIZE is not set (``ctx.common.sweep_batch_size``).
BATCH: int = CommonSettings.model_fields["sweep_batch_size"].default


def is_open() -> ColumnElement[bool]:
    """``status = 'open'`` with the status written into the SQL as a literal.

    As a bind parameter (``status = $1``) a generic plan, which PostgreSQL may pick for a prepared
    statement, cannot prove the predicate of the partial index ``ix_document_versions_open`` and
    scans every version instead. The calendar recompute selects open versions the same way.
    """
    return document_versions.c.status == bindparam(None, VersionStatus.OPEN.value, literal_execute=True)


def version_clocks(*columns: ColumnElement[Any]) -> Select[Any]:
    """Versions with their clock and drafting department (what deadline events name), and ``columns``."""
    v = document_versions
    return select(
        v.c.document_id,
        v.c.version,
        v.c.deadline,
        v.c.deadline_provisional,
        documents.c.drafting_department,
        *columns,
    ).join(documents, documents.c.id == v.c.document_id)


def subject_id(row: Row[Any]) -> str:
    """How a deadline event names a version."""
    return f"{row.document_id}@{row.version}"


def _deadline_fields(row: Row[Any]) -> dict[str, Any]:
    """What a deadline-passed and its withdrawal both say of the version in ``row``."""
    return {
        "subject_kind": "document-version",
        "subject_id": subject_id(row),
        "department": row.drafting_department,
        "deadline": local(row.deadline),
        "consequence": "overdue",
        "deadline_provisional": row.deadline_provisional,
    }


def _passed(row: Row[Any], outcome: str | None) -> DeadlinePassed:
    return DeadlinePassed(**_deadline_fields(row))


OVERDUE = Sweep(
    table=document_versions,
    key=(document_versions.c.document_id, document_versions.c.version),
    deadline=document_versions.c.deadline,
    still_open=is_open,
    claim=version_clocks,
    closing=lambda now: {"status": VersionStatus.OVERDUE, "overdue_at": now},
    announce=_passed,
)


async def mark_overdue(ctx: ServiceContext, now: datetime, *, batch: int | None = None) -> int:
    """Mark every open version whose deadline has run out at ``now``; returns how many were claimed."""
    return await run_sweep(ctx, OVERDUE, now, batch=batch)


async def sweep_overdue(ctx: ServiceContext) -> int:
    """The registered sweeper: the business clock."""
    return await mark_overdue(ctx, ctx.now())


def _one(document_id: str, version: int) -> ColumnElement[bool]:
    return (document_versions.c.document_id == document_id) & (document_versions.c.version == version)


async def close_overdue(
    ctx: ServiceContext, session: AsyncSession, document_id: str, version: int, now: datetime
) -> bool:
    """D3 for one version a command holds locked: overdue and announced as the sweep would do it,
    if it is still open and its deadline has run out at ``now``; whether it was closed."""
    v = document_versions
    closed = await session.execute(
        update(v)
        .where(_one(document_id, version), is_open(), v.c.deadline <= now)
        .values(**OVERDUE.closing(now))
        .returning(v.c.version)
    )
    if closed.first() is None:
        return False
    row = (await session.execute(version_clocks().where(_one(document_id, version)))).one()
    await ctx.emit(session, _passed(row, None))
    return True


async def announce_withdrawn(
    ctx: ServiceContext,
    session: AsyncSession,
    document_id: str,
    version: int,
    *,
    reason: str,
    stated_at: datetime,
) -> None:
    """The deadline-passed of a version withdrawn by a record entered later (``reason``), which
    states an action at ``stated_at``, before the deadline; the version row holds the rest."""
    v = document_versions
    columns = (v.c.overdue_at, v.c.overdue_withdrawn_at, v.c.overdue_withdrawn_by)
    row = (await session.execute(version_clocks(*columns).where(_one(document_id, version)))).one()
    await ctx.emit(
        session,
        DeadlinePassedWithdrawn(
            **_deadline_fields(row),
            passed_at=maybe_local(row.overdue_at),
            reason=reason,
            stated_at=local(stated_at),
            withdrawn_by=row.overdue_withdrawn_by,
            withdrawn_at=local(row.overdue_withdrawn_at),
        ),
    )


# --- D7: requests answered late, and requests not completed in time -----------------------------


def running_requests() -> ColumnElement[bool]:
    """A request whose answer clock runs and whose lateness is not recorded yet, as SQL literals so
    the partial index ``ix_disclosure_requests_running`` serves the claim under a generic plan."""
    return text(
        "disclosure_requests.status IN ('pending', 'consulting') AND disclosure_requests.overdue_at IS NULL"
    )


def _late_answer(kind: SubjectKind) -> Callable[[Row[Any], str | None], DeadlinePassed]:
    """The deadline-passed of a request (D7) or a policy inquiry (004) unanswered at its deadline,
    announced once; it must still be answered, and its answer is then late."""

    def announce(row: Row[Any], outcome: str | None) -> DeadlinePassed:
        return DeadlinePassed(
            subject_kind=kind,
            subject_id=row.id,
            department=row.department,
            deadline=local(row.deadline),
            consequence="overdue",
            deadline_provisional=row.deadline_provisional,
        )

    return announce


request_overdue = _late_answer("disclosure-request")
inquiry_overdue = _late_answer("policy-inquiry")


REQUEST_OVERDUE = Sweep(
    table=disclosure_requests,
    key=(disclosure_requests.c.id,),
    deadline=disclosure_requests.c.deadline,
    still_open=running_requests,
    closing=lambda now: {"overdue_at": now},
    announce=request_overdue,
)


def _awaiting_completion() -> ColumnElement[bool]:
    return disclosure_requests.c.status == bindparam(
        None, RequestStatus.AWAITING_COMPLETION.value, literal_execute=True
    )


ABANDONED_REASON = "申请人逾期未补正，视为放弃申请（第三十条）"


def _abandoned(row: Row[Any], outcome: str | None) -> DisclosureRequestClockChanged:
    return DisclosureRequestClockChanged(
        request_id=row.id,
        department=row.department,
        change="abandoned",
        old_deadline=None,
        new_deadline=None,
        changed_by="system",
        changed_at=local(row.completion_deadline),
        reason=ABANDONED_REASON,
    )


REQUEST_ABANDONED = Sweep(
    table=disclosure_requests,
    key=(disclosure_requests.c.id,),
    deadline=disclosure_requests.c.completion_deadline,
    still_open=_awaiting_completion,
    closing=lambda now: {
        "status": RequestStatus.ABANDONED,
        "abandoned_at": now,
        "concluded_on": disclosure_requests.c.complete_by,
    },
    announce=_abandoned,
)


async def mark_requests(ctx: ServiceContext, now: datetime, *, batch: int | None = None) -> int:
    """D7 at ``now``: requests not completed by their stated day are abandoned (art. 30), and
    requests (and 004 policy inquiries) unanswered at their deadline are late (deadline-passed,
    once each)."""
    abandoned = await run_sweep(ctx, REQUEST_ABANDONED, now, batch=batch)
    late = await run_sweep(ctx, REQUEST_OVERDUE, now, batch=batch)
    return abandoned + late + await run_sweep(ctx, INQUIRY_OVERDUE, now, batch=batch)


async def sweep_requests(ctx: ServiceContext) -> int:
    """The registered sweeper of requests: the business clock."""
    return await mark_requests(ctx, ctx.now())


# --- 004: policy inquiries not replied to in time ---------------------------------------------


INQUIRY_OVERDUE = Sweep(
    table=policy_inquiries,
    key=(policy_inquiries.c.id,),
    deadline=policy_inquiries.c.deadline,
    still_open=lambda: text("policy_inquiries.status = 'open' AND policy_inquiries.overdue_at IS NULL"),
    closing=lambda now: {"overdue_at": now},
    announce=inquiry_overdue,
)

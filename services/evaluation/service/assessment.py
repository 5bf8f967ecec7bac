"""Assessment schemes (考核, E6): the year's scheme, scores with their sources, closing items,
deductions proposed from platform facts, results and their publication.

Every score keeps its source (``entered`` one by one, ``imported`` in a batch, or ``proposed``
from a department fact and confirmed), the assessing unit it was entered for, who entered it and
when, and for a proposal who confirmed it and when. Only the assessing unit named in the item
enters, confirms or closes it; the office sets the year's scheme and publishes the results.
Entries under one unit and item are serialized (a transaction-scoped advisory lock), so the cap
and the one-per-matter rule hold under concurrent requests.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.evaluation import assessment_domain as ad
from services.evaluation.assessment_schemas import (
    BreakdownItem,
    ClosureView,
    EntryIn,
    EntryPage,
    EntryRecorded,
    EntryView,
    ImportIn,
    ImportRecorded,
    ProposalView,
    ProposedFact,
    ResultsView,
    SchemeSummary,
    SchemeVersionIn,
    SchemeVersionView,
    SourceKind,
    UnitBreakdown,
    UnitResultView,
)
from services.evaluation.domain import standing_facts, withdrawn_kind
from services.evaluation.service.common import ORGANIZER_ROLES, admit_before_publication, may
from services.evaluation.tables import (
    assessment_closures,
    assessment_decisions,
    assessment_entries,
    assessment_publications,
    assessment_schemes,
    department_facts,
)
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local
from shared.events import AssessmentPublished
from shared.pagination import Keyset, PageParams
from shared.rules import Conflict, Missing, RuleViolation

PLATFORM = "platform"
"""Who entered a deduction the platform proposed from a department fact (its confirmer is kept too)."""
MISSING_SHOWN = 50
BEFORE_PUBLICATION = "考核结果公布前仅考核办（市政府办公室、督查室）查阅"

# What a read runs on: a use case's session or a reader's connection.
Executor = AsyncSession | AsyncConnection

ENTRY_ORDER = Keyset(assessment_entries.c.entered_at, assessment_entries.c.id, descending=False)


def _unit_name(code: str) -> str:
    try:
        return reference.department_name(code)
    except reference.UnknownReference:
        return code


# --- schemes ---------------------------------------------------------------------------------------


def shipped() -> list[SchemeSummary]:
    return [
        SchemeSummary(id=s.id, title=s.title, source=s.source, base=s.base, scale=s.scale, units=len(s.units))
        for s in ad.shipped_schemes().values()
    ]


def shipped_document(name: str) -> dict[str, Any]:
    try:
        return ad.shipped_scheme(name).model_dump(mode="json", by_alias=True)
    except ad.AssessmentRefused as exc:
        raise Missing(exc.detail, kind="assessment-scheme-not-found") from exc


async def _lock(session: AsyncSession, *key: object, shared: bool = False) -> None:
    """A transaction-scoped advisory lock. Always taken in the order year → item → unit or
    proposal: changing the scheme and publishing hold the year alone, entries and closings share
    it; closing an item holds the item, entries under it share it; entries hold their unit."""
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    await session.execute(select(lock(func.hashtext(":".join(map(str, ("assessment", *key)))))))


async def _current(session: Executor, year: int) -> tuple[Row[Any], ad.Scheme]:
    row = (
        await session.execute(
            select(assessment_schemes)
            .where(assessment_schemes.c.year == year)
            .order_by(assessment_schemes.c.version.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        raise Missing(f"{year} 年度尚未设定考核方案", kind="assessment-scheme-not-found", rule=ad.RULE)
    return row, ad.parse_scheme(row.document)


async def _published(session: Executor, year: int) -> Row[Any] | None:
    query = (
        select(assessment_publications)
        .where(assessment_publications.c.year == year)
        .order_by(assessment_publications.c.number.desc())
        .limit(1)
    )
    return (await session.execute(query)).first()


async def _refuse_if_published(session: Executor, year: int) -> None:
    if await _published(session, year) is not None:
        raise ad.ItemClosed(f"{year} 年度考核结果已公布，不能再更改", field="year")


async def put_scheme(
    ctx: ServiceContext, year: int, body: SchemeVersionIn, principal: Principal
) -> SchemeVersionView:
    """A new version of the year's scheme; the scores already entered must still fit it."""
    if body.based_on is not None:
        document = ad.shipped_scheme(body.based_on).model_dump(mode="json", by_alias=True)
        if body.units is not None:
            document["units"] = [u.model_dump(by_alias=True) for u in body.units]
    else:
        document = dict(body.document or {})
    scheme = ad.parse_scheme(document)
    async with ctx.db.transaction() as session:
        await _lock(session, year)
        await _refuse_if_published(session, year)
        await _still_fits(session, year, scheme)
        version = (
            await session.execute(
                select(func.coalesce(func.max(assessment_schemes.c.version), 0)).where(
                    assessment_schemes.c.year == year
                )
            )
        ).scalar_one() + 1
        row = (
            await session.execute(
                insert(assessment_schemes)
                .values(
                    year=year,
                    version=version,
                    scheme_id=scheme.id,
                    based_on=body.based_on,
                    document=scheme.model_dump(mode="json", by_alias=True),
                    created_by=principal.client_id,
                )
                .returning(assessment_schemes)
            )
        ).one()
        return SchemeVersionView.model_validate(row)


async def _still_fits(session: Executor, year: int, scheme: ad.Scheme) -> None:
    used = await session.execute(
        select(assessment_entries.c.unit, assessment_entries.c.item)
        .where(assessment_entries.c.year == year)
        .distinct()
    )
    units, items = {u.code for u in scheme.units}, {i.code for i in scheme.items()}
    for unit, item in used:
        if unit not in units or item not in items:
            raise ad.SchemeInvalid(
                f"已有单位 {unit} 在考核项目 {item} 的评分，新方案须保留该单位和项目",
                field="units" if unit not in units else "parts",
            )


async def get_scheme(ctx: ServiceContext, year: int) -> SchemeVersionView:
    async with ctx.db.reader() as session:
        row, _ = await _current(session, year)
    return SchemeVersionView.model_validate(row)


async def scheme_versions(ctx: ServiceContext, year: int) -> list[SchemeVersionView]:
    """Every version of the year's scheme, the first first: who set it, when, from what."""
    query = (
        select(assessment_schemes)
        .where(assessment_schemes.c.year == year)
        .order_by(assessment_schemes.c.version)
    )
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    if not rows:
        raise Missing(f"{year} 年度尚未设定考核方案", kind="assessment-scheme-not-found", rule=ad.RULE)
    return [SchemeVersionView.model_validate(r) for r in rows]


# --- scores and deductions -------------------------------------------------------------------------

_MARK_KIND: dict[str, ad.MarkKind] = {
    "score": "score",
    "tiers": "measure",
    "rank": "measure",
    "panel": "panel",
}


def _mark(row: Any) -> ad.Mark:
    return ad.Mark(row.unit, row.item, row.kind, row.amount, row.reason, row.matter, row.node, row.member)


def _entries(
    year: int, *, unit: str | None = None, item: str | None = None, counted: bool = False
) -> Select[Any]:
    """The year's entries, of one unit or item when given; ``counted``: not withdrawn."""
    e = assessment_entries
    query = select(e).where(e.c.year == year)
    if counted:
        query = query.where(e.c.withdrawn_at.is_(None))
    if unit is not None:
        query = query.where(e.c.unit == unit)
    if item is not None:
        query = query.where(e.c.item == item)
    return query


async def _marks(
    session: Executor, year: int, *, unit: str | None = None, item: str | None = None
) -> list[ad.Mark]:
    query = _entries(year, unit=unit, item=item, counted=True).order_by(*ENTRY_ORDER.columns)
    return [_mark(r) for r in await session.execute(query)]


async def _closed(session: Executor, year: int, item: str) -> bool:
    query = select(assessment_closures.c.item).where(
        assessment_closures.c.year == year, assessment_closures.c.item == item
    )
    return (await session.execute(query)).first() is not None


async def _record(
    session: AsyncSession,
    ctx: ServiceContext,
    version: Row[Any],
    scheme: ad.Scheme,
    entry: EntryIn,
    principal: Principal,
    *,
    source_kind: SourceKind,
    source: str | None,
    source_detail: dict[str, Any] | None = None,
    entered: tuple[str, datetime] | None = None,
) -> EntryRecorded:
    """Judge one entry against what is recorded for its unit and item, then record it."""
    scheme.unit(entry.unit)
    item = scheme.item(entry.item)
    ad.require_assessor(item, principal.department)
    await _lock(session, version.year, "item", entry.item, shared=True)
    await _lock(session, version.year, "unit", entry.unit, entry.item)
    if await _closed(session, version.year, item.code):
        raise ad.ItemClosed(f"考核项目 {item.code} 已结项，不能再录入", field="item")
    now = ctx.now()
    values: dict[str, Any] = {"requested": None, "capped": False}
    notice = None
    if item.deducting:
        existing = await _marks(session, version.year, unit=entry.unit, item=entry.item)
        deduction = ad.deduct(
            item, existing, reason=entry.reason, matter=entry.matter, node=entry.node, amount=entry.amount
        )
        kind: ad.MarkKind = "deduction"
        amount = deduction.applied
        values = {"requested": deduction.requested, "capped": deduction.capped}
        if deduction.capped:
            notice = (
                f"扣分 {deduction.requested} 超过考核项目 {item.code} 的"
                f"剩余分值 {deduction.remaining_before}，"
                f"只扣 {deduction.applied} 分（扣完该项分值为止，E6）"
            )
    else:
        kind = _MARK_KIND[item.kind]
        if entry.amount is None:
            raise ad.AssessmentRefused(f"考核项目 {item.code} 须写明分值", field="amount")
        ad.check_score(item, kind, entry.amount, entry.member)
        amount = entry.amount
    entered_by, entered_at = entered if entered is not None else (principal.client_id, now)
    confirmed = source_kind == "proposed"
    row = (
        await session.execute(
            insert(assessment_entries)
            .values(
                id=uuid.uuid4().hex,
                year=version.year,
                scheme_version=version.version,
                unit=entry.unit,
                item=entry.item,
                kind=kind,
                amount=amount,
                reason=entry.reason,
                matter=entry.matter,
                node=entry.node,
                member=entry.member,
                note=entry.note,
                source_kind=source_kind,
                source=source,
                source_detail=source_detail,
                assessor=principal.department,
                entered_by=entered_by,
                entered_at=entered_at,
                confirmed_by=principal.client_id if confirmed else None,
                confirmed_at=now if confirmed else None,
                **values,
            )
            .returning(assessment_entries)
        )
    ).one()
    return EntryRecorded.of(row, notice=notice)


async def record_entry(ctx: ServiceContext, year: int, entry: EntryIn, principal: Principal) -> EntryRecorded:
    async with ctx.db.transaction() as session:
        await _lock(session, year, shared=True)
        await _refuse_if_published(session, year)
        version, scheme = await _current(session, year)
        return await _record(
            session, ctx, version, scheme, entry, principal, source_kind="entered", source=entry.source
        )


async def import_entries(
    ctx: ServiceContext, year: int, body: ImportIn, principal: Principal
) -> ImportRecorded:
    """All the batch's entries or none: the first refused one names its place (``entries[i].field``)."""
    batch = f"import-{uuid.uuid4().hex[:12]}"
    recorded = []
    async with ctx.db.transaction() as session:
        await _lock(session, year, shared=True)
        await _refuse_if_published(session, year)
        version, scheme = await _current(session, year)
        for i, entry in enumerate(body.entries):
            try:
                recorded.append(
                    await _record(
                        session, ctx, version, scheme, entry, principal, source_kind="imported", source=batch
                    )
                )
            except RuleViolation as exc:
                exc.detail = f"第{i + 1}条：{exc.detail}（整批未导入）"
                exc.field = f"entries[{i}].{exc.field or 'unit'}"
                raise
    return ImportRecorded(batch=batch, entries=recorded)


async def withdraw_entry(
    ctx: ServiceContext, year: int, entry_id: str, reason: str, principal: Principal
) -> EntryView:
    """The assessing unit withdraws a wrong entry before the item is closed: it is kept, marked
    withdrawn with who, when and why, and no longer counts (a matter may then be deducted again)."""
    async with ctx.db.transaction() as session:
        await _lock(session, year, shared=True)
        await _refuse_if_published(session, year)
        _, scheme = await _current(session, year)
        query = select(assessment_entries).where(
            assessment_entries.c.year == year, assessment_entries.c.id == entry_id
        )
        entry = (await session.execute(query)).first()
        if entry is None:
            raise Missing(
                f"{year} 年度没有编号为 {entry_id} 的评分记录",
                kind="assessment-entry-not-found",
                rule=ad.RULE,
            )
        ad.require_assessor(scheme.item(entry.item), principal.department)
        await _lock(session, year, "item", entry.item, shared=True)
        await _lock(session, year, "unit", entry.unit, entry.item)
        if await _closed(session, year, entry.item):
            raise ad.ItemClosed(f"考核项目 {entry.item} 已结项，不能再撤销", field="item")
        row = (
            await session.execute(
                update(assessment_entries)
                .where(assessment_entries.c.id == entry_id, assessment_entries.c.withdrawn_at.is_(None))
                .values(withdrawn_by=principal.client_id, withdrawn_at=ctx.now(), withdrawn_reason=reason)
                .returning(assessment_entries)
            )
        ).first()
        if row is None:
            raise Conflict(f"评分记录 {entry_id} 已撤销", kind="assessment-entry-withdrawn", rule=ad.RULE)
        return EntryView.model_validate(row)


async def list_entries(
    ctx: ServiceContext, year: int, page: PageParams, unit: str | None, item: str | None
) -> EntryPage:
    async with ctx.db.reader() as session:
        rows = (await session.execute(ENTRY_ORDER.apply(_entries(year, unit=unit, item=item), page))).all()
    shown, cursor = ENTRY_ORDER.cut(rows, page)
    return EntryPage(items=[EntryView.model_validate(r) for r in shown], next_cursor=cursor)


async def close_item(ctx: ServiceContext, year: int, item_code: str, principal: Principal) -> ClosureView:
    """The assessing unit closes a tiers, rank or panel item: every unit's score is computed."""
    async with ctx.db.transaction() as session:
        await _lock(session, year, shared=True)
        await _refuse_if_published(session, year)
        version, scheme = await _current(session, year)
        item = scheme.item(item_code)
        ad.require_assessor(item, principal.department)
        await _lock(session, year, "item", item.code)
        if await _closed(session, year, item.code):
            raise ad.ItemClosed(f"考核项目 {item.code} 已结项", field="item")
        scores = ad.close_item(scheme, item, await _marks(session, year, item=item.code))
        row = (
            await session.execute(
                insert(assessment_closures)
                .values(
                    year=year,
                    item=item.code,
                    scheme_version=version.version,
                    scores={u: str(s) for u, s in scores.items()},
                    assessor=principal.department,
                    closed_by=principal.client_id,
                    closed_at=ctx.now(),
                )
                .returning(assessment_closures)
            )
        ).one()
        return ClosureView.model_validate(row)


# --- proposals from department facts ---------------------------------------------------------------


def _proposal_id(event_id: str, unit: str, item: str) -> str:
    return f"{event_id}.{unit}.{item}"


async def _proposals(session: Executor, year: int, scheme: ad.Scheme) -> list[ProposalView]:
    """The deductions the scheme's mapped facts of the year propose, with any decision on them.

    A fact withdrawn later by a paper record (``…-withdrawn``) proposes nothing (E2 reading)."""
    mapped = {(m.fact, item.code): (item, m.reason) for item in scheme.items() for m in item.proposed_from}
    if not mapped:
        return []
    kinds = {fact for fact, _ in mapped}
    f = department_facts
    facts = (
        await session.execute(
            select(f)
            .where(
                f.c.kind.in_(kinds | {withdrawn_kind(k) for k in kinds}),
                f.c.department.in_([u.code for u in scheme.units]),
                f.c.effective_on >= date(year, 1, 1),
                f.c.effective_on < date(year + 1, 1, 1),
            )
            .order_by(f.c.effective_on, f.c.occurred_at, f.c.event_id)
        )
    ).all()
    decisions = {
        d.proposal_id: d
        for d in await session.execute(
            select(assessment_decisions).where(assessment_decisions.c.year == year)
        )
    }
    proposals = []
    by_department: dict[str, list[Any]] = {}
    for fact in facts:
        by_department.setdefault(fact.department, []).append(fact)
    for department, its_facts in by_department.items():
        for fact in standing_facts(its_facts):
            for (kind, item_code), (item, reason) in mapped.items():
                if kind != fact.kind:
                    continue
                pid = _proposal_id(fact.event_id, department, item_code)
                decision = decisions.get(pid)
                proposals.append(
                    ProposalView(
                        id=pid,
                        year=year,
                        unit=department,
                        unit_name=_unit_name(department),
                        item=item_code,
                        reason=reason,
                        amount=None if reason is None else item.reason(reason).amount,
                        matter=fact.subject_id,
                        fact=ProposedFact.model_validate(fact, from_attributes=True),
                        state="proposed" if decision is None else decision.decision,
                        decided_by=None if decision is None else decision.decided_by,
                        decided_at=None if decision is None else decision.decided_at,
                        note=None if decision is None else decision.note,
                        entry_id=None if decision is None else decision.entry_id,
                    )
                )
    return sorted(proposals, key=lambda p: (p.fact.effective_on or date.min, p.unit, p.matter, p.item))


def _visible(proposal: ProposalView, scheme: ad.Scheme, principal: Principal) -> bool:
    return may(principal, ORGANIZER_ROLES) or principal.department in scheme.item(proposal.item).assessors


async def list_proposals(
    ctx: ServiceContext, year: int, principal: Principal, state: str | None
) -> list[ProposalView]:
    """What the caller may decide (its items) or oversee (the office)."""
    async with ctx.db.reader() as session:
        _, scheme = await _current(session, year)
        proposals = await _proposals(session, year, scheme)
    return [p for p in proposals if _visible(p, scheme, principal) and (state is None or p.state == state)]


async def decide(
    ctx: ServiceContext,
    year: int,
    proposal_id: str,
    principal: Principal,
    *,
    confirm: bool,
    note: str | None,
    amount: Decimal | None = None,
) -> ProposalView:
    """The assessing unit confirms a proposed deduction (recorded with the fact as its source) or
    dismisses it with a reason; either is final."""
    async with ctx.db.transaction() as session:
        await _lock(session, year, shared=True)
        await _refuse_if_published(session, year)
        version, scheme = await _current(session, year)
        await _lock(session, year, "proposal", proposal_id)
        proposal = next((p for p in await _proposals(session, year, scheme) if p.id == proposal_id), None)
        if proposal is None:
            raise Missing(
                f"没有编号为 {proposal_id} 的扣分建议", kind="assessment-proposal-not-found", rule=ad.RULE
            )
        ad.require_assessor(scheme.item(proposal.item), principal.department)
        if proposal.state != "proposed":
            raise Conflict(
                f"扣分建议 {proposal_id} 已{'确认' if proposal.state == 'confirmed' else '不予扣分'}",
                kind="assessment-proposal-decided",
                rule=ad.RULE,
            )
        entry_id = None
        if confirm:
            fact = (
                await session.execute(
                    select(department_facts.c.recorded_at).where(
                        department_facts.c.event_id == proposal.fact.event_id,
                        department_facts.c.department == proposal.unit,
                    )
                )
            ).scalar_one()
            recorded = await _record(
                session,
                ctx,
                version,
                scheme,
                EntryIn(
                    unit=proposal.unit,
                    item=proposal.item,
                    amount=amount,
                    reason=proposal.reason,
                    matter=proposal.matter,
                    note=note,
                ),
                principal,
                source_kind="proposed",
                source=proposal.id,
                source_detail=proposal.fact.model_dump(mode="json"),
                entered=(PLATFORM, fact),
            )
            entry_id = recorded.id
        decided_at = ctx.now()
        await session.execute(
            insert(assessment_decisions).values(
                proposal_id=proposal.id,
                year=year,
                unit=proposal.unit,
                item=proposal.item,
                decision="confirmed" if confirm else "dismissed",
                note=note,
                entry_id=entry_id,
                assessor=principal.department,
                decided_by=principal.client_id,
                decided_at=decided_at,
            )
        )
        return proposal.model_copy(
            update={
                "state": "confirmed" if confirm else "dismissed",
                "decided_by": principal.client_id,
                "decided_at": decided_at,
                "note": note,
                "entry_id": entry_id,
            }
        )


# --- results ---------------------------------------------------------------------------------------


async def _closures(session: Executor, year: int) -> dict[str, dict[str, Decimal]]:
    rows = await session.execute(select(assessment_closures).where(assessment_closures.c.year == year))
    return {r.item: {u: Decimal(s) for u, s in r.scores.items()} for r in rows}


def _unit_view(result: ad.UnitResult) -> UnitResultView:
    return UnitResultView(
        unit=result.unit,
        name=_unit_name(result.unit),
        unit_class=result.unit_class,
        group=result.group,
        items=result.items,
        sections=result.sections,
        parts=result.parts,
        final=result.final,
        passed=result.passed,
        class_rank=result.class_rank,
        rank=result.rank,
        prize=result.prize,
    )


async def _live(session: Executor, year: int) -> tuple[ResultsView, ad.Scheme]:
    version, scheme = await _current(session, year)
    results = ad.assess(scheme, await _marks(session, year), await _closures(session, year))
    view = ResultsView(
        year=year,
        scheme_id=scheme.id,
        scheme_version=version.version,
        title=scheme.title,
        state="preview",
        pass_mark=scheme.pass_mark,
        complete=results.complete,
        missing=[{"unit": u, "item": i} for u, i in results.missing[:MISSING_SHOWN]],
        units=[_unit_view(r) for r in results.units],
    )
    return view, scheme


async def _closed_by(session: Executor, year: int) -> dict[str, dict[str, Any]]:
    """Who closed each computed item and when (kept in the published snapshot too)."""
    c = assessment_closures
    rows = await session.execute(select(c.c.item, c.c.closed_by, c.c.closed_at).where(c.c.year == year))
    return {r.item: {"closed_by": r.closed_by, "closed_at": local(r.closed_at).isoformat()} for r in rows}


async def _entries_of(session: Executor, year: int, unit: str | None = None) -> list[EntryView]:
    rows = await session.execute(_entries(year, unit=unit).order_by(*ENTRY_ORDER.columns))
    return [EntryView.model_validate(r) for r in rows]


async def results(
    ctx: ServiceContext, year: int, principal: Principal | None
) -> tuple[ResultsView, ad.Scheme]:
    """The published results (public) and their scheme; before publication the office's live preview."""
    async with ctx.db.reader() as session:
        published = await _published(session, year)
        if published is not None:
            snapshot = published.results
            return ResultsView.model_validate(snapshot["results"]), ad.parse_scheme(snapshot["scheme"])
        admit_before_publication("draft", principal, ORGANIZER_ROLES, BEFORE_PUBLICATION)
        return await _live(session, year)


async def breakdown(ctx: ServiceContext, year: int, unit: str, principal: Principal | None) -> UnitBreakdown:
    """One unit's score item by item with every score and deduction and its source."""
    async with ctx.db.reader() as session:
        published = await _published(session, year)
        if published is None:
            admit_before_publication("draft", principal, ORGANIZER_ROLES, BEFORE_PUBLICATION)
            view, scheme = await _live(session, year)
            entries = await _entries_of(session, year, unit)
            closed = await _closed_by(session, year)
        else:
            view = ResultsView.model_validate(published.results["results"])
            scheme = ad.parse_scheme(published.results["scheme"])
            entries = [EntryView.model_validate(e) for e in published.results["entries"] if e["unit"] == unit]
            closed = published.results["closed"]
    if unit not in {u.code for u in scheme.units}:
        raise Missing(
            f"单位 {unit} 不是 {year} 年度的被考核单位", kind="assessment-unit-not-assessed", rule=ad.RULE
        )
    result = next(r for r in view.units if r.unit == unit)
    items = [
        BreakdownItem(
            item=item.code,
            name=item.name,
            kind=item.kind,
            points=item.points,
            score=result.items.get(item.code),
            entries=[e for e in entries if e.item == item.code],
            **closed.get(item.code, {}),
        )
        for item in scheme.items()
    ]
    return UnitBreakdown(year=year, state=view.state, result=result, items=items)


async def publish(ctx: ServiceContext, year: int, principal: Principal) -> ResultsView:
    """The office publishes complete results; they are frozen with every entry and its source."""
    async with ctx.db.transaction() as session:
        await _lock(session, year)
        await _refuse_if_published(session, year)
        view, scheme = await _live(session, year)
        if not view.complete:
            first = view.missing[0]
            raise ad.Incomplete(
                f"尚有单位未评分（如 {first['unit']} 的 {first['item']}），不能公布考核结果", field="year"
            )
        now = ctx.now()
        view = view.model_copy(
            update={"state": "published", "published_at": now, "published_by": principal.client_id}
        )
        entries = await _entries_of(session, year)
        await session.execute(
            insert(assessment_publications).values(
                year=year,
                number=1,
                scheme_version=view.scheme_version,
                results={
                    "results": view.model_dump(mode="json"),
                    "scheme": scheme.model_dump(mode="json", by_alias=True),
                    "entries": [e.model_dump(mode="json") for e in entries],
                    "closed": await _closed_by(session, year),
                },
                published_by=principal.client_id,
                published_at=now,
            )
        )
        await ctx.emit(session, _published_event(view, scheme))
        return view


def _published_event(view: ResultsView, scheme: ad.Scheme) -> AssessmentPublished:
    prizes: dict[str, list[str]] = {p.code: [] for p in scheme.prizes}
    for unit in view.units:
        if unit.prize is not None:
            prizes[unit.prize].append(unit.unit)
    return AssessmentPublished(
        assessment_id=f"{view.scheme_id}@{view.year}",
        year=view.year,
        scheme_id=view.scheme_id,
        scheme_version=view.scheme_version,
        departments=[u.unit for u in view.units],
        scores={u.unit: str(u.final) for u in view.units},
        prizes=prizes,
        failed=[u.unit for u in view.units if u.passed is False],
    )

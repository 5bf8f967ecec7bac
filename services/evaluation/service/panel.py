"""The panel of a round (评定人员, E1): entries checked against the quotas of 附件4 §三.

An entry maps a person to the account they vote with: the ``account`` is the API client id of
the evaluator's access token (``Principal.client_id``; with an external identity provider the
token's ``client_id`` claim, else its ``sub``). One person appears once per round and an account
belongs to one entry, so a token identifies at most one panel entry of a round.
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.schemas import (
    CategoryComposition,
    CompositionView,
    DistrictComposition,
    PanelEntriesCreate,
    PanelEntryView,
    PanelView,
)
from services.evaluation.service.common import load_round, state_of
from services.evaluation.tables import panel_entries
from shared.app import ServiceContext
from shared.auth import Principal
from shared.reference import districts, panel_categories
from shared.rules import Missing

# What the rules see of an entry, named alike in a request entry and in a row.
_RULED = tuple(f.name for f in dataclasses.fields(domain.PanelMember) if f.name != "entry_id")


def _member(entry_id: str, entry: Any) -> domain.PanelMember:
    return domain.PanelMember(entry_id=entry_id, **{name: getattr(entry, name) for name in _RULED})


async def entry_rows(session: AsyncSession, round_id: str) -> list[Row[Any]]:
    query = (
        select(panel_entries)
        .where(panel_entries.c.round_id == round_id)
        .order_by(panel_entries.c.category, panel_entries.c.id)
    )
    return list((await session.execute(query)).all())


async def members(session: AsyncSession, round_id: str) -> list[domain.PanelMember]:
    return [_member(r.id, r) for r in await entry_rows(session, round_id)]


def _entry_view(row: Row[Any]) -> PanelEntryView:
    names = {c.code: c.name for c in panel_categories()}
    return PanelEntryView.of(row, category_name=names.get(row.category, row.category))


def composition_view(panel: domain.Composition) -> CompositionView:
    district_names = {d.code: d.name for d in districts()}
    return CompositionView(
        categories=[
            CategoryComposition(
                code=c.code,
                name=c.name,
                quota=c.quota,
                named=c.named,
                districts=[
                    DistrictComposition(district=d, name=district_names.get(d, d), quota=q, named=n)
                    for d, q, n in c.districts
                ],
            )
            for c in panel.categories
        ],
        total=panel.total,
        panel_size=panel.panel_size,
        complete=panel.complete,
        problems=list(panel.problems),
    )


async def _editable_round(session: AsyncSession, round_id: str) -> Row[Any]:
    """The round, locked, while its panel may still change (until the vote opens)."""
    row = await load_round(session, round_id, lock=True)
    domain.require_state(state_of(row), domain.PANEL_EDITABLE, "调整评定人员")
    return row


async def add_entries(
    ctx: ServiceContext, round_id: str, cmd: PanelEntriesCreate, principal: Principal
) -> list[PanelEntryView]:
    """Add entries all or none; each is checked against the panel as it stands with the earlier ones."""
    categories, evaluation = panel_categories(), ctx.profile.evaluation
    async with ctx.db.transaction() as session:
        row = await _editable_round(session, round_id)
        panel = await members(session, round_id)
        # The check stores no deadline, so no calendar lock: the copy as it stands.
        cal = await ctx.calendar.read(session)
        values: list[dict[str, Any]] = []
        for entry in cmd.entries:
            new = _member(f"pe-{secrets.token_hex(8)}", entry)
            domain.check_addition(
                panel, new, categories, vote_on=row.vote_on, policy=evaluation, calendar=cal
            )
            panel.append(new)
            stored = {"id": new.entry_id, "round_id": round_id, "added_by": principal.client_id}
            values.append(entry.model_dump() | stored)
        rows = (await session.execute(insert(panel_entries).values(values).returning(panel_entries))).all()
    return [_entry_view(r) for r in rows]


async def remove_entry(ctx: ServiceContext, round_id: str, entry_id: str) -> None:
    async with ctx.db.transaction() as session:
        await _editable_round(session, round_id)
        removed = (
            await session.execute(
                delete(panel_entries)
                .where(panel_entries.c.round_id == round_id, panel_entries.c.id == entry_id)
                .returning(panel_entries.c.id)
            )
        ).first()
    if removed is None:
        raise Missing(f"评定轮次 {round_id} 中没有条目 {entry_id}", kind="panel-entry-not-found")


async def get_panel(ctx: ServiceContext, round_id: str) -> PanelView:
    async with ctx.db.reader() as session:
        await load_round(session, round_id)
        rows = await entry_rows(session, round_id)
    panel = domain.composition([_member(r.id, r) for r in rows], panel_categories(), ctx.profile.evaluation)
    return PanelView(
        round_id=round_id, entries=[_entry_view(r) for r in rows], composition=composition_view(panel)
    )

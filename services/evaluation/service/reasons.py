"""Free-text reasons and factors (附件4, E1), released to the working group only as an unordered
set after the close (E5).

A reason is sealed at casting time in layers to the trustees' X25519 box keys, trustee 1's layer
outermost (``ballot_box.seal_reason``), and kept apart from the ballot. After the close the
trustees run a decryption mix in index order (``python -m services.evaluation.trustee mix``):
trustee ``k`` fetches the output of stage ``k − 1`` (stage 0: the sealed envelopes), removes its
layer from every item on its own machine, shuffles them and posts them as stage ``k``; the last
stage is the reasons in clear, which the working group reads sorted by text. Pairing a released
reason with its envelope (and so, through the database, with its voter) needs every trustee's
shuffle: no single trustee, and not the service, can. Unlike the tally this needs all trustees,
and a trustee could drop or alter items undetected beyond their number (no proof of shuffle).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select

from services.evaluation import domain
from services.evaluation.ballot_schemas import MixStageIn, MixStageView, ReleasedReasons
from services.evaluation.service.ceremony import me_as_trustee, trustees_of
from services.evaluation.service.common import load_round, state_of
from services.evaluation.tables import reason_mix_stages, sealed_reasons
from shared.app import ServiceContext
from shared.auth import Principal
from shared.rules import RuleViolation


async def _stages(session: Any, round_id: str) -> dict[int, list[str]]:
    query = select(reason_mix_stages.c.stage, reason_mix_stages.c["items"]).where(
        reason_mix_stages.c.round_id == round_id
    )
    return {r.stage: list(r.items) for r in await session.execute(query)}


async def _envelopes(session: Any, round_id: str) -> list[str]:
    query = select(sealed_reasons.c.envelope).where(sealed_reasons.c.round_id == round_id)
    return list((await session.execute(query.order_by(sealed_reasons.c.id))).scalars())


async def mix_stage(ctx: ServiceContext, round_id: str, principal: Principal) -> MixStageView:
    """What the next trustee of the mix works on: the previous stage's items."""
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
        domain.require_encrypted(row.scheme, "处理事例与理由")
        domain.require_ballots_visible(state_of(row))
        me = await me_as_trustee(session, round_id, principal)
        stages = await _stages(session, round_id)
        count = len(await trustees_of(session, round_id))
        following = domain.next_mix_stage(list(stages), count)
        domain.require_mix_turn(following, me.trustee_index)
        items = stages[following - 1] if following > 1 else await _envelopes(session, round_id)
    return MixStageView(round_id=round_id, trustees=count, next_trustee=following, items=items)


async def post_stage(
    ctx: ServiceContext, round_id: str, principal: Principal, cmd: MixStageIn
) -> MixStageView:
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        domain.require_encrypted(row.scheme, "处理事例与理由")
        domain.require_ballots_visible(state_of(row))
        me = await me_as_trustee(session, round_id, principal)
        stages = await _stages(session, round_id)
        count = len(await trustees_of(session, round_id))
        following = domain.next_mix_stage(list(stages), count)
        domain.require_mix_turn(following, me.trustee_index)
        previous = stages[following - 1] if following > 1 else await _envelopes(session, round_id)
        if cmd.stage != following or len(cmd.items) != len(previous):
            raise RuleViolation(
                f"第 {following} 步须提交与上一步同样多的 {len(previous)} 项",
                kind="invalid-mix-stage",
                rule="E5",
                field="items",
            )
        if following == count:
            _check_released(cmd.items)
        await session.execute(
            insert(reason_mix_stages).values(
                round_id=round_id, stage=following, items=cmd.items, submitted_by=principal.client_id
            )
        )
    return MixStageView(round_id=round_id, trustees=count, next_trustee=following + 1, items=[])


def _check_released(items: list[str]) -> None:
    for item in items:
        try:
            value = json.loads(item)
        except ValueError:
            value = None
        if not isinstance(value, dict) or "department" not in value:
            raise RuleViolation(
                "最后一步须提交解开的事例与理由", kind="invalid-mix-stage", rule="E5", field="items"
            )


async def released(ctx: ServiceContext, round_id: str) -> ReleasedReasons:
    """The reasons in clear once every trustee has mixed, as a set sorted by its text."""
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
        domain.require_encrypted(row.scheme, "查阅事例与理由")
        stages = await _stages(session, round_id)
        count = len(await trustees_of(session, round_id))
    domain.require_mix_done(list(stages), count)
    items = sorted((json.loads(i) for i in stages[count]), key=lambda v: json.dumps(v, ensure_ascii=False))
    return ReleasedReasons(round_id=round_id, reasons=items)

"""The secret ballot (无记名投票, E1, E5): who voted and what was voted, never linkable.

Design
------
Two tables hold the vote, with nothing in common but the round:

- ``participations (round_id, entry_id)``: who has voted; its primary key makes a second ballot
  of the same evaluator impossible even under concurrency.
- ``ballots (id, round_id, receipt, choices)``: what was voted; ``id`` and ``receipt`` are drawn
  from ``secrets`` (no serial, no sequence), and there is no timestamp.

A vote is ONE transaction (so nothing is ever lost: the voter gets the receipt only after the
commit, and a failed commit leaves neither participation nor ballot behind):

1. lock the round row (``FOR UPDATE``): votes of a round are serialised;
2. check the window, the panel entry of the caller, the ballot and that the entry has not voted;
3. read the round's whole participation set and whole ballot box, add the new entry and ballot;
4. delete both, and insert both back, each in a fresh random order (``secrets.SystemRandom``);
5. update the turnout and record vote-cast (round, receipt, turnout) in the outbox, under a new
   trace id so the event cannot be joined to the voter's request trace.

Why the rewrite: PostgreSQL stamps every row version with the id of the transaction that wrote
it (``xmin``) and places it physically (``ctid``) in write order. Had a vote inserted just its two
rows, the participation and the ballot would share an ``xmin`` and sit at matching positions,
and the vote-cast row in the outbox (ordered by ``seq``, carrying the receipt and the turnout)
would give the ballot's rank in the voting order. After the rewrite, every live participation row
and every live ballot row of the round carries the ``xmin`` of the latest vote and sits in a
random physical order, so neither system columns, nor row order, nor ids, nor the outbox order
say which entry cast which ballot. Nothing is logged by a vote (not the caller, not the choices,
not the receipt); an unexpected database error is reported by its class name only, because a
driver message can quote the statement's parameters.

Threat model
------------
Defended: anyone who reads the evaluation database at a moment of their choosing, system columns
(``xmin``, ``ctid``) included, plus the outbox, the topics and the service's logs — operators and
database administrators included (E5). They learn who voted, the turnout, and after the close
the ballots (published anyway), but not who cast which ballot.

Not defended, and why: an observer of every single commit (two snapshots taken around one vote,
statement logging or logical decoding of the WAL, the heap's dead row versions before vacuum, a
packet capture of the voter's HTTPS request, or a debugger in the running process) sees the ballot
added by one vote; any store that keeps the ballot durably at once has that property. Defending
against it needs cryptographic voting (blind signatures, mix-nets), which the policy does not
ask for. The receipt lets a voter show others how they voted (no receipt-freeness): the issue
asks for a verifiable receipt, and ballots are public after the close anyway. The API never
reveals who has voted while the vote is open (only the turnout), so polling it cannot stand in
for the two snapshots.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.schemas import (
    BallotIn,
    BallotPage,
    BallotReceipt,
    ParticipationView,
    PublishedBallot,
)
from services.evaluation.service.common import (
    BALLOT_READER_ROLES,
    admit_before_publication,
    load_round,
    state_of,
)
from services.evaluation.tables import ballots, panel_entries, participations, rounds
from shared.app import ServiceContext
from shared.auth import Principal
from shared.events import VoteCast
from shared.observability import trace_context
from shared.pagination import Keyset, PageParams
from shared.problems import Problem
from shared.reference import consideration_factors
from shared.rules import Missing

log = logging.getLogger("xiaoneng.evaluation.ballots")

_mixer = secrets.SystemRandom()

# Published ballots in receipt order: random, so it says nothing of the voting order.
BALLOT_ORDER = Keyset(ballots.c.receipt, descending=False)


def _new_receipt(taken: set[str]) -> str:
    while True:
        receipt = f"r-{secrets.token_hex(8)}"
        if receipt not in taken:
            return receipt


async def cast_ballot(
    ctx: ServiceContext, round_id: str, principal: Principal, cmd: BallotIn
) -> BallotReceipt:
    """Record one secret ballot and the caller's participation; returns the receipt."""
    choices = [domain.Choice(c.department, tuple(c.factors), c.reason or None) for c in cmd.choices]
    try:
        async with ctx.db.transaction() as session:
            receipt, turnout = await _vote(ctx, session, round_id, principal, choices)
    except SQLAlchemyError as exc:
        # The driver's message may quote the statement's parameters (entry id, choices): log the
        # class only, and chain nothing the problem handler could print.
        log.error("a ballot for round %s was not stored: %s", round_id, type(exc).__name__)
        raise Problem(503, "选票未能保存，请稍后重新提交", kind="ballot-not-stored") from None
    return BallotReceipt(round_id=round_id, receipt=receipt, turnout=turnout)


async def _vote(
    ctx: ServiceContext,
    session: AsyncSession,
    round_id: str,
    principal: Principal,
    choices: list[domain.Choice],
) -> tuple[str, int]:
    """Steps 1–5 of the design above, in the caller's transaction; returns the receipt and the turnout."""
    row = await load_round(session, round_id, lock=True)
    domain.require_state(state_of(row), ("voting-open",), "投票")
    entry_id = await _entry_of(session, round_id, principal)
    voters = await _voters(session, round_id)
    voter = domain.check_voter(domain.Quarter.parse(round_id), entry_id, voters)
    domain.check_ballot(choices, list(row.candidates), consideration_factors(), ctx.profile.evaluation)
    box = await _box(session, round_id)
    receipt = _new_receipt({b["receipt"] for b in box})
    box.append(
        {"id": secrets.token_hex(16), "round_id": round_id, "receipt": receipt, "choices": _stored(choices)}
    )
    voters.add(voter)
    await _rewrite(session, round_id, voters, box)
    turnout = len(voters)
    await session.execute(update(rounds).where(rounds.c.id == round_id).values(turnout=turnout))
    with trace_context(None):
        await ctx.emit(session, VoteCast(round_id=round_id, receipt=receipt, turnout=turnout))
    return receipt, turnout


async def _entry_of(session: AsyncSession, round_id: str, principal: Principal) -> str | None:
    """The caller's panel entry in the round: the one their account votes with."""
    query = select(panel_entries.c.id).where(
        panel_entries.c.round_id == round_id, panel_entries.c.account == principal.client_id
    )
    entry_id: str | None = (await session.execute(query)).scalar_one_or_none()
    return entry_id


async def _voters(session: AsyncSession, round_id: str) -> set[str]:
    """The entries that have voted in the round."""
    query = select(participations.c.entry_id).where(participations.c.round_id == round_id)
    return set((await session.execute(query)).scalars())


async def _box(session: AsyncSession, round_id: str) -> list[dict[str, Any]]:
    """The round's whole ballot box, as rows to insert again."""
    query = select(ballots.c.id, ballots.c.receipt, ballots.c.choices).where(ballots.c.round_id == round_id)
    return [
        {"id": b.id, "round_id": round_id, "receipt": b.receipt, "choices": b.choices}
        for b in await session.execute(query)
    ]


def _stored(choices: list[domain.Choice]) -> list[dict[str, Any]]:
    return [{"department": c.department, "factors": list(c.factors), "reason": c.reason} for c in choices]


async def _rewrite(session: AsyncSession, round_id: str, voters: set[str], box: list[dict[str, Any]]) -> None:
    """Replace the round's participation set and ballot box, each in a fresh random order."""
    order = sorted(voters)
    _mixer.shuffle(order)
    _mixer.shuffle(box)
    await session.execute(delete(participations).where(participations.c.round_id == round_id))
    await session.execute(delete(ballots).where(ballots.c.round_id == round_id))
    await session.execute(
        insert(participations).values([{"round_id": round_id, "entry_id": e} for e in order])
    )
    await session.execute(insert(ballots).values(box))


async def participation_of(ctx: ServiceContext, round_id: str, principal: Principal) -> ParticipationView:
    """Whether the caller is on the panel and has voted: only ever about the caller."""
    async with ctx.db.reader() as session:
        await load_round(session, round_id)
        entry_id = await _entry_of(session, round_id, principal)
        voted = (
            entry_id is not None
            and (
                await session.execute(
                    select(participations.c.entry_id).where(
                        participations.c.round_id == round_id, participations.c.entry_id == entry_id
                    )
                )
            ).first()
            is not None
        )
    return ParticipationView(round_id=round_id, on_panel=entry_id is not None, voted=voted)


async def _require_visible(session: AsyncSession, round_id: str, principal: Principal | None) -> None:
    state = state_of(await load_round(session, round_id))
    domain.require_ballots_visible(state)
    admit_before_publication(
        state, principal, BALLOT_READER_ROLES, "结果公布前，选票仅供评定人员、领导和组织者核对"
    )


async def published_ballots(
    ctx: ServiceContext, round_id: str, page: PageParams, principal: Principal | None
) -> BallotPage:
    """The anonymised ballots after the close, by receipt, so anyone entitled can recount (E3, E5)."""
    query = select(ballots.c.receipt, ballots.c.choices).where(ballots.c.round_id == round_id)
    async with ctx.db.reader() as session:
        await _require_visible(session, round_id, principal)
        rows = (await session.execute(BALLOT_ORDER.apply(query, page))).all()
    shown, cursor = BALLOT_ORDER.cut(rows, page)
    return BallotPage(
        round_id=round_id, items=[PublishedBallot.model_validate(r) for r in shown], next_cursor=cursor
    )


async def ballot_by_receipt(
    ctx: ServiceContext, round_id: str, receipt: str, principal: Principal | None
) -> PublishedBallot:
    async with ctx.db.reader() as session:
        await _require_visible(session, round_id, principal)
        row = (
            await session.execute(
                select(ballots.c.receipt, ballots.c.choices).where(
                    ballots.c.round_id == round_id, ballots.c.receipt == receipt
                )
            )
        ).first()
    if row is None:
        raise Missing(f"本轮没有回执为 {receipt} 的选票", kind="ballot-not-found")
    return PublishedBallot.model_validate(row)

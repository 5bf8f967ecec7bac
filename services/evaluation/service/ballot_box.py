"""The secret ballot (无记名投票, E1, E5): encrypted ballots that no single party can open.

Design
------
A round created since migration 0005 is ``encrypted``. Its election key ``Y`` is the sum of the
Feldman constant commitments of its trustees (``service.ceremony``): no one, the service
included, holds the private key; any ``threshold`` of the trustees together could decrypt, and
they only ever decrypt the per-department sums.

A ballot is one exponential-ElGamal ciphertext of 0 or 1 per candidate department, each with a
disjunctive Chaum–Pedersen proof that it is 0 or 1, and a proof that the ciphertexts sum to the
profile's number of choices (``shared.ballot_crypto``); all challenges are bound to the round and
its key. The evaluator's client may encrypt (``encrypted``); a client that cannot sends the
choices in clear (``choices``) and the service encrypts them in memory and drops them. Either
way the service verifies every proof before storing, and stores only the ciphertexts, the
proofs and the tracker (the SHA-256 of the encrypted ballot), which replaces the receipt.

Reasons and consideration factors (附件4 allows them) are sealed per named department in
layers to the trustees' X25519 box keys (trustee 1's layer outermost) and kept apart from the
ballots, in ``sealed_reasons``. After the close each trustee in turn removes its layer from the
whole set and shuffles it (a decryption mix, ``service.reasons``); the last layer gives the
reasons as an unordered set. No single trustee, and not the service, can pair a reason with its
envelope.

A vote is ONE short transaction: the round row is read-locked (``FOR SHARE``: votes do not wait
for each other, the close waits for them), the caller's panel entry is found, the participation
(``round_id, entry_id``, whose primary key keeps one ballot per evaluator even under concurrent
attempts), the encrypted ballot and the sealed reasons are inserted, and ``vote-cast`` (round and
tracker, no ordinal) is recorded under a new trace id. The encryption and the proof checks run
before it, outside the database. The turnout is counted at the close, not per vote. Nothing is
logged about a ballot request, not even a failure (a driver message could quote parameters).

Threat model
------------
Defended (E5): anyone who reads, at any time, everything the platform stores or emits — every
database as the PostgreSQL superuser, including dead row versions, the WAL, statement logs and
the system columns (``xmin``, ``ctid``), the outbox and the topics, every service and gateway log
line and every webhook delivery — and so links each participation to the ballot written in the
same transaction, learns that evaluator's **ciphertexts**, which are semantically secure under
the election key: no individual ballot is ever decrypted, so the link is harmless. The same
holds for a service operator, a debugger attached to a service after the vote, or an observer of
the bus. Fewer than ``threshold`` trustees, even together with the operators, learn nothing more.
The service cannot alter a count unnoticed: ``python -m services.evaluation.verify`` recomputes
every proof and the counts from the public verification data.

Not defended, and why:

- a ``threshold`` of trustees who collude with someone holding the database (or the WAL) can
  decrypt single ballots: that is what a threshold means; the office chooses trustees who do not
  collude (the profile's minimum is 3 trustees, threshold 2);
- for a client that lets the service encrypt (``choices``), the plaintext is in the service's
  memory during the request: a debugger in the running process, a memory dump or a capture of the
  TLS-terminated request inside the cluster sees it. A client that encrypts itself (the trustee
  and verifier commands show how with ``shared.ballot_crypto``) closes that;
- the platform authenticates evaluators, so it knows who voted (not how); the tracker lets a
  voter show others their ciphertext, which proves nothing about its content (no decryption of
  it is ever published), but a voter who encrypts on their own client can keep the nonces and
  prove their vote (no receipt-freeness, as in Helios);
- all trustees colluding on the reasons' mix link a reason to its envelope;
- rounds cast under the old scheme (``scheme = 'plain'``, before migration 0005) keep their plain
  ballots and the old protection only (see the README);
- the sealed key shares are deleted once the key exists, but their copies in the WAL and dead
  rows stay sealed to the recipients' box keys: whoever steals a threshold of trustees' secret
  files can decrypt, with or without them;
- the gateway still writes a warning with the request path when an upstream call fails or times
  out: the vote's path names the round only; a look-up by ``/ballots/{tracker}`` names a tracker
  but not who looked (``?tracker=`` stays out of the path).

``tests/service/test_evaluation_secrecy.py`` is the forensic check of the defended part.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from typing import Any

from nacl.public import PublicKey, SealedBox
from sqlalchemy import insert, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.schemas import (
    BallotIn,
    BallotPage,
    BallotReceipt,
    ParticipationView,
    PublishedBallot,
)
from services.evaluation.service.ceremony import context_of, refused_crypto, trustees_of
from services.evaluation.service.common import (
    BALLOT_READER_ROLES,
    admit_before_publication,
    load_round,
    state_of,
)
from services.evaluation.tables import (
    ballots,
    encrypted_ballots,
    panel_entries,
    participations,
    sealed_reasons,
)
from shared import ballot_crypto as bc
from shared.app import ServiceContext
from shared.auth import Principal
from shared.events import VoteCast
from shared.observability import trace_context
from shared.pagination import Keyset, PageParams
from shared.problems import Problem
from shared.reference import consideration_factors
from shared.rules import Conflict, Missing

# Published ballots by tracker (encrypted rounds) or receipt (old scheme): random, so the order
# says nothing of the voting order.
TRACKER_ORDER = Keyset(encrypted_ballots.c.tracker, descending=False)
RECEIPT_ORDER = Keyset(ballots.c.receipt, descending=False)
# A sealed reason is padded to a multiple of this many bytes, so its length says little.
REASON_PADDING = 512


def _seal_layers(plaintext: bytes, box_keys: list[str]) -> str:
    """Seal to the last trustee first, so the first trustee removes the outermost layer."""
    sealed = plaintext
    for key in reversed(box_keys):
        sealed = SealedBox(PublicKey(bytes.fromhex(key))).encrypt(sealed)
    return base64.b64encode(sealed).decode()


def seal_reason(choice: domain.Choice, box_keys: list[str]) -> str:
    text = json.dumps(
        {"department": choice.department, "factors": list(choice.factors), "reason": choice.reason},
        ensure_ascii=False,
    ).encode()
    padded = text + b" " * (-len(text) % REASON_PADDING)
    return _seal_layers(padded, box_keys)


def _encrypt(
    bctx: bc.Context, candidates: list[str], k: int, choices: list[domain.Choice], box_keys: list[str]
) -> tuple[bc.Ballot, list[str]]:
    """The service encrypts for a client that cannot: the ballot and the sealed reasons."""
    ballot = bc.encrypt_ballot(bctx, candidates, [c.department for c in choices], k)
    envelopes = [seal_reason(c, box_keys) for c in choices if c.reason or c.factors]
    return ballot, envelopes


def _verified(bctx: bc.Context, candidates: list[str], k: int, encrypted: dict[str, Any]) -> bc.Ballot:
    try:
        ballot = bc.Ballot.from_json(encrypted)
        bc.verify_ballot(bctx, candidates, k, ballot)
    except ValueError as exc:
        raise refused_crypto(exc, "encrypted") from None
    return ballot


async def cast_ballot(
    ctx: ServiceContext, round_id: str, principal: Principal, cmd: BallotIn
) -> BallotReceipt:
    """Verify (or make) one encrypted ballot, store it with the caller's participation; the tracker."""
    evaluation = ctx.profile.evaluation
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
        domain.require_encrypted(row.scheme, "投票")
        domain.require_state(state_of(row), ("voting-open",), "投票")
        # A caller off the panel is refused before any cryptography is spent on their ballot.
        domain.check_voter(domain.Quarter.parse(round_id), await _entry_of(session, round_id, principal), ())
        box_keys = [t.box_key for t in await trustees_of(session, round_id)]
    candidates, k, bctx = list(row.candidates), evaluation.choices_per_ballot, context_of(row)
    if cmd.encrypted is not None:
        domain.check_sealed_reasons(len(cmd.sealed_reasons), evaluation)
        ballot = await asyncio.to_thread(_verified, bctx, candidates, k, cmd.encrypted.model_dump())
        envelopes = list(cmd.sealed_reasons)
    else:
        choices = [domain.Choice(c.department, tuple(c.factors), c.reason or None) for c in cmd.choices or []]
        domain.check_ballot(choices, candidates, consideration_factors(), evaluation)
        ballot, envelopes = await asyncio.to_thread(_encrypt, bctx, candidates, k, choices, box_keys)
        del choices
    try:
        async with ctx.db.transaction() as session:
            await _record(ctx, session, round_id, principal, ballot, envelopes)
    except IntegrityError as exc:
        # Two attempts of one evaluator at once: the participation's primary key stops the second.
        if "pk_participations" in str(exc.orig):
            raise _already_voted() from None
        raise Conflict("该加密选票已提交过（重放）", kind="ballot-replayed", rule="E5") from None
    except SQLAlchemyError:
        # Nothing is logged: a driver message may quote the statement's parameters.
        raise Problem(503, "选票未能保存，请稍后重新提交", kind="ballot-not-stored") from None
    return BallotReceipt(round_id=round_id, tracker=ballot.tracker)


def _already_voted() -> Conflict:
    return Conflict("每名评定人员每轮只能投一票，您已投票", kind="already-voted", rule="E5")


async def _record(
    ctx: ServiceContext,
    session: AsyncSession,
    round_id: str,
    principal: Principal,
    ballot: bc.Ballot,
    envelopes: list[str],
) -> None:
    """The vote's one transaction (see the design above)."""
    row = await load_round(session, round_id, lock=True, shared=True)
    domain.require_state(state_of(row), ("voting-open",), "投票")
    entry_id = await _entry_of(session, round_id, principal)
    voted = [entry_id] if entry_id is not None and await _has_voted(session, round_id, entry_id) else []
    entry = domain.check_voter(domain.Quarter.parse(round_id), entry_id, voted)
    await session.execute(insert(participations).values(round_id=round_id, entry_id=entry))
    await session.execute(
        insert(encrypted_ballots).values(round_id=round_id, tracker=ballot.tracker, ballot=ballot.to_json())
    )
    if envelopes:
        await session.execute(
            insert(sealed_reasons).values(
                [{"round_id": round_id, "id": secrets.token_hex(16), "envelope": e} for e in envelopes]
            )
        )
    with trace_context(None):
        await ctx.emit(session, VoteCast(round_id=round_id, tracker=ballot.tracker))


async def _entry_of(session: AsyncSession, round_id: str, principal: Principal) -> str | None:
    """The caller's panel entry in the round: the one their account votes with."""
    query = select(panel_entries.c.id).where(
        panel_entries.c.round_id == round_id, panel_entries.c.account == principal.client_id
    )
    entry_id: str | None = (await session.execute(query)).scalar_one_or_none()
    return entry_id


async def _has_voted(session: AsyncSession, round_id: str, entry_id: str) -> bool:
    query = select(participations.c.entry_id).where(
        participations.c.round_id == round_id, participations.c.entry_id == entry_id
    )
    return (await session.execute(query)).first() is not None


async def participation_of(ctx: ServiceContext, round_id: str, principal: Principal) -> ParticipationView:
    """Whether the caller is on the panel and has voted: only ever about the caller."""
    async with ctx.db.reader() as session:
        await load_round(session, round_id)
        entry_id = await _entry_of(session, round_id, principal)
        voted = entry_id is not None and await _has_voted(session, round_id, entry_id)
    return ParticipationView(round_id=round_id, on_panel=entry_id is not None, voted=voted)


async def _visible_round(session: AsyncSession, round_id: str, principal: Principal | None) -> Row[Any]:
    row = await load_round(session, round_id)
    state = state_of(row)
    domain.require_ballots_visible(state)
    admit_before_publication(
        state, principal, BALLOT_READER_ROLES, "结果公布前，选票仅供评定人员、领导和组织者核对"
    )
    return row


def _published(row: Row[Any]) -> PublishedBallot:
    if hasattr(row, "tracker"):
        return PublishedBallot(tracker=row.tracker, ballot=row.ballot)
    return PublishedBallot.model_validate(row)


async def published_ballots(
    ctx: ServiceContext,
    round_id: str,
    page: PageParams,
    principal: Principal | None,
    tracker: str | None = None,
) -> BallotPage:
    """The ballots after the close, by tracker (or receipt), so anyone entitled can check theirs
    and recount (E3, E5): ciphertexts with proofs, or the plain ballots of a round of the old scheme."""
    async with ctx.db.reader() as session:
        row = await _visible_round(session, round_id, principal)
        if row.scheme == "encrypted":
            order = TRACKER_ORDER
            query = select(encrypted_ballots.c.tracker, encrypted_ballots.c.ballot).where(
                encrypted_ballots.c.round_id == round_id
            )
            if tracker is not None:
                query = query.where(encrypted_ballots.c.tracker == tracker)
        else:
            order = RECEIPT_ORDER
            query = select(ballots.c.receipt, ballots.c.choices).where(ballots.c.round_id == round_id)
            if tracker is not None:
                query = query.where(ballots.c.receipt == tracker)
        rows = (await session.execute(order.apply(query, page))).all()
    shown, cursor = order.cut(rows, page)
    return BallotPage(round_id=round_id, items=[_published(r) for r in shown], next_cursor=cursor)


async def ballot_by_receipt(
    ctx: ServiceContext, round_id: str, receipt: str, principal: Principal | None
) -> PublishedBallot:
    """One ballot by its tracker (or, in a round of the old scheme, its receipt)."""
    page = await published_ballots(ctx, round_id, PageParams(limit=1, cursor=None), principal, receipt)
    if not page.items:
        raise Missing(f"本轮没有追踪码（回执）为 {receipt} 的选票", kind="ballot-not-found")
    return page.items[0]


async def all_encrypted(session: AsyncSession, round_id: str) -> list[Row[Any]]:
    query = select(encrypted_ballots.c.tracker, encrypted_ballots.c.ballot).where(
        encrypted_ballots.c.round_id == round_id
    )
    return list((await session.execute(query.order_by(encrypted_ballots.c.tracker))).all())


async def count_participations(session: AsyncSession, round_id: str) -> int:
    query = select(participations.c.entry_id).where(participations.c.round_id == round_id)
    return len((await session.execute(query)).all())

"""The round's trustees: the key ceremony and the partial decryptions of the tally (E3, E5).

The office names the trustees (members of the working group) and the threshold before the vote.
Each trustee runs ``python -m services.evaluation.trustee`` on their own machine; the service
relays and checks public material only and never holds a private key or a share in clear:

1. **keys**: each trustee posts its X25519 box key, the Feldman commitments of the polynomial it
   deals and a proof of knowing its constant term;
2. **shares**: once every key is in, each trustee posts its shares for the others, each sealed to
   the recipient's box key (the service cannot open them);
3. **confirmations**: each trustee opens the shares addressed to it, checks each against its
   dealer's commitments and posts the public value of its key share, which the service checks
   against the commitments. When all have confirmed, the election key (the sum of the constant
   commitments) is the round's, and the sealed shares are deleted.

After the close, the service adds up the ballots per department (``rounds.aggregate``); each
trustee posts a partial decryption of every aggregate with a proof, which the service verifies
against the trustee's public key share; any threshold of them gives the counts (``results``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.ballot_schemas import (
    AggregateView,
    CeremonyView,
    ConfirmIn,
    MySharesView,
    PartialDecryptionIn,
    SealedShareView,
    SharesIn,
    TrusteeKeyIn,
    TrusteesSet,
    TrusteeView,
    VerificationData,
)
from services.evaluation.service.common import (
    BALLOT_READER_ROLES,
    admit_before_publication,
    load_round,
    state_of,
)
from services.evaluation.tables import (
    encrypted_ballots,
    partial_decryptions,
    round_results,
    round_trustees,
    rounds,
    trustee_shares,
)
from shared import ballot_crypto as bc
from shared.app import ServiceContext
from shared.auth import Principal
from shared.rules import Conflict, RuleViolation


def refused_crypto(exc: ValueError, field: str) -> RuleViolation:
    """An invalid point or proof as the E5 problem naming the field."""
    kind = "invalid-point" if isinstance(exc, bc.InvalidPoint) else "invalid-proof"
    return RuleViolation(f"{field}：{exc}", kind=kind, rule="E5", field=field)


def progress(row: Row[Any]) -> domain.TrusteeProgress:
    return domain.TrusteeProgress(
        row.trustee_index, row.box_key is not None, row.dealt_at is not None, bool(row.confirmed)
    )


async def trustees_of(session: AsyncSession, round_id: str) -> list[Row[Any]]:
    query = select(round_trustees).where(round_trustees.c.round_id == round_id)
    return list((await session.execute(query.order_by(round_trustees.c.trustee_index))).all())


def commitments_of(rows: list[Row[Any]]) -> dict[int, tuple[bc.Point, ...]]:
    """Every registered trustee's Feldman commitments."""
    return {
        r.trustee_index: tuple(bc.Point.from_hex(c) for c in r.commitments["commitments"])
        for r in rows
        if r.commitments is not None
    }


def _stage(rows: list[Row[Any]]) -> domain.CeremonyStage:
    return domain.ceremony_stage([progress(r) for r in rows])


def _view(round_row: Row[Any], rows: list[Row[Any]]) -> CeremonyView:
    stage = _stage(rows)
    everyone = commitments_of(rows) if stage not in ("no-trustees", "awaiting-keys") else {}
    return CeremonyView(
        round_id=round_row.id,
        scheme=round_row.scheme,
        threshold=round_row.threshold,
        stage=stage,
        election_key=round_row.election_key,
        trustees=[
            TrusteeView.of(
                r,
                index=r.trustee_index,
                commitments=r.commitments["commitments"] if r.commitments else None,
                constant_proof=r.commitments["constant_proof"] if r.commitments else None,
                public_share=bc.public_share(everyone, r.trustee_index).hex if everyone else None,
            )
            for r in rows
        ],
    )


async def set_trustees(
    ctx: ServiceContext, round_id: str, cmd: TrusteesSet, principal: Principal
) -> CeremonyView:
    """Name the round's trustees and threshold; a new list restarts the ceremony (E5)."""
    accounts = [t.account for t in cmd.trustees]
    domain.check_trustees(accounts, cmd.threshold, ctx.profile.evaluation)
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        domain.require_encrypted(row.scheme, "设定受托人")
        domain.require_state(state_of(row), domain.TRUSTEES_EDITABLE, "设定受托人")
        await session.execute(delete(trustee_shares).where(trustee_shares.c.round_id == round_id))
        await session.execute(delete(round_trustees).where(round_trustees.c.round_id == round_id))
        await session.execute(
            insert(round_trustees).values(
                [
                    {
                        "round_id": round_id,
                        "trustee_index": n,
                        "account": t.account,
                        "name": t.name,
                        "added_by": principal.client_id,
                    }
                    for n, t in enumerate(cmd.trustees, start=1)
                ]
            )
        )
        query = (
            update(rounds)
            .where(rounds.c.id == round_id)
            .values(threshold=cmd.threshold, trustee_count=len(accounts), election_key=None)
            .returning(rounds)
        )
        row = (await session.execute(query)).one()
        return _view(row, await trustees_of(session, round_id))


async def ceremony(ctx: ServiceContext, round_id: str) -> CeremonyView:
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
        return _view(row, await trustees_of(session, round_id))


async def me_as_trustee(session: AsyncSession, round_id: str, principal: Principal) -> Row[Any]:
    """The caller's trustee row in the round, or 403."""
    query = select(round_trustees).where(
        round_trustees.c.round_id == round_id, round_trustees.c.account == principal.client_id
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise RuleViolation(
            f"调用者不是评定轮次 {round_id} 的受托人", kind="not-a-trustee", rule="E5", status=403
        )
    return row


async def _ceremony_step(
    session: AsyncSession, round_id: str, principal: Principal, wanted: domain.CeremonyStage, doing: str
) -> tuple[Row[Any], Row[Any], list[Row[Any]]]:
    """Lock the round, check it may run the ceremony at ``wanted``; the round, the caller, everyone."""
    row = await load_round(session, round_id, lock=True)
    domain.require_encrypted(row.scheme, doing)
    domain.require_state(state_of(row), domain.KEY_CEREMONY_STATES, doing)
    me = await me_as_trustee(session, round_id, principal)
    everyone = await trustees_of(session, round_id)
    domain.require_stage(_stage(everyone), wanted, doing)
    return row, me, everyone


async def register_key(
    ctx: ServiceContext, round_id: str, principal: Principal, cmd: TrusteeKeyIn
) -> CeremonyView:
    """Step 1: the trustee's box key, its Feldman commitments and the proof of its constant term."""
    async with ctx.db.transaction() as session:
        row, me, _ = await _ceremony_step(session, round_id, principal, "awaiting-keys", "登记受托人公钥")
        if me.box_key is not None:
            raise Conflict("受托人已登记公钥", kind="trustee-key-registered", rule="E5")
        if len(cmd.commitments) != row.threshold:
            raise RuleViolation(
                f"Feldman 承诺个数须等于门限 {row.threshold}",
                kind="invalid-proof",
                rule="E5",
                field="commitments",
            )
        try:
            constant = bc.Point.from_hex(cmd.commitments[0])
            for c in cmd.commitments[1:]:
                bc.Point.from_hex(c)
            proof = bc.EqualityProof.from_json(cmd.constant_proof)
            bc.verify_constant(round_id, me.trustee_index, constant, proof)
        except ValueError as exc:
            raise refused_crypto(exc, "commitments") from None
        await session.execute(
            update(round_trustees)
            .where(round_trustees.c.round_id == round_id, round_trustees.c.trustee_index == me.trustee_index)
            .values(
                box_key=cmd.box_key,
                commitments={"commitments": cmd.commitments, "constant_proof": cmd.constant_proof},
                registered_at=func.now(),
            )
        )
        return _view(row, await trustees_of(session, round_id))


async def deal_shares(
    ctx: ServiceContext, round_id: str, principal: Principal, cmd: SharesIn
) -> CeremonyView:
    """Step 2: the caller's shares for every other trustee, sealed to their box keys."""
    async with ctx.db.transaction() as session:
        row, me, everyone = await _ceremony_step(session, round_id, principal, "awaiting-shares", "分发份额")
        if me.dealt_at is not None:
            raise Conflict("受托人已分发份额", kind="trustee-shares-dealt", rule="E5")
        others = {t.trustee_index for t in everyone} - {me.trustee_index}
        recipients = [s.recipient for s in cmd.shares]
        if sorted(recipients) != sorted(others):
            raise RuleViolation(
                f"须为其他每名受托人各密封一份份额（{sorted(others)}），收到 {sorted(recipients)}",
                kind="invalid-shares",
                rule="E5",
                field="shares",
            )
        await session.execute(
            insert(trustee_shares).values(
                [
                    {
                        "round_id": round_id,
                        "dealer": me.trustee_index,
                        "recipient": s.recipient,
                        "sealed": s.sealed,
                    }
                    for s in cmd.shares
                ]
            )
        )
        await session.execute(
            update(round_trustees)
            .where(round_trustees.c.round_id == round_id, round_trustees.c.trustee_index == me.trustee_index)
            .values(dealt_at=func.now())
        )
        return _view(row, await trustees_of(session, round_id))


async def my_shares(ctx: ServiceContext, round_id: str, principal: Principal) -> MySharesView:
    """The sealed shares addressed to the caller, once every trustee has dealt."""
    async with ctx.db.reader() as session:
        await load_round(session, round_id)
        me = await me_as_trustee(session, round_id, principal)
        domain.require_stage(
            _stage(await trustees_of(session, round_id)), "awaiting-confirmations", "领取份额"
        )
        query = (
            select(trustee_shares.c.dealer, trustee_shares.c.sealed)
            .where(trustee_shares.c.round_id == round_id, trustee_shares.c.recipient == me.trustee_index)
            .order_by(trustee_shares.c.dealer)
        )
        shares = [SealedShareView(dealer=r.dealer, sealed=r.sealed) for r in await session.execute(query)]
    return MySharesView(round_id=round_id, recipient=me.trustee_index, shares=shares)


async def confirm(ctx: ServiceContext, round_id: str, principal: Principal, cmd: ConfirmIn) -> CeremonyView:
    """Step 3: the caller checked its shares; the last confirmation fixes the election key."""
    async with ctx.db.transaction() as session:
        row, me, everyone = await _ceremony_step(
            session, round_id, principal, "awaiting-confirmations", "确认份额"
        )
        commitments = commitments_of(everyone)
        expected = bc.public_share(commitments, me.trustee_index)
        if cmd.public_share != expected.hex:
            raise RuleViolation(
                "受托人算出的密钥份额公开值与各受托人的承诺不一致，请核对收到的份额",
                kind="invalid-key-share",
                rule="E5",
                field="public_share",
            )
        await session.execute(
            update(round_trustees)
            .where(round_trustees.c.round_id == round_id, round_trustees.c.trustee_index == me.trustee_index)
            .values(confirmed=True, confirmed_at=func.now())
        )
        everyone = await trustees_of(session, round_id)
        if _stage(everyone) == "complete":
            key = bc.election_key(commitments)
            # Every trustee holds its key share now; the sealed shares are of no further use.
            await session.execute(delete(trustee_shares).where(trustee_shares.c.round_id == round_id))
            query = (
                update(rounds).where(rounds.c.id == round_id).values(election_key=key.hex).returning(rounds)
            )
            row = (await session.execute(query)).one()
        return _view(row, everyone)


# --- after the close: the aggregates and their partial decryptions -------------------------


def context_of(row: Row[Any]) -> bc.Context:
    return bc.Context(row.id, bc.Point.from_hex(row.election_key))


def aggregate_of(row: Row[Any]) -> dict[str, bc.Ciphertext]:
    return {d: bc.Ciphertext.from_json(c) for d, c in row.aggregate["ciphertexts"].items()}


async def aggregate(ctx: ServiceContext, round_id: str) -> AggregateView:
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
    domain.require_encrypted(row.scheme, "解密汇总密文")
    domain.require_ballots_visible(state_of(row))
    return AggregateView(
        round_id=round_id,
        election_key=row.election_key,
        ballots=row.aggregate["ballots"],
        aggregate=row.aggregate["ciphertexts"],
    )


async def submit_partial(
    ctx: ServiceContext, round_id: str, principal: Principal, cmd: PartialDecryptionIn
) -> dict[str, Any]:
    """A trustee's partial decryption of every department's aggregate, each with its proof."""
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        domain.require_encrypted(row.scheme, "提交部分解密")
        domain.require_state(state_of(row), domain.DECRYPTION_STATES, "提交部分解密")
        me = await me_as_trustee(session, round_id, principal)
        cts, bctx = aggregate_of(row), context_of(row)
        if set(cmd.shares) != set(cts):
            raise RuleViolation(
                "须对本轮每个备评部门的汇总密文各提交一份部分解密",
                kind="invalid-proof",
                rule="E5",
                field="shares",
            )
        public = bc.public_share(commitments_of(await trustees_of(session, round_id)), me.trustee_index)
        try:
            for department, ct in cts.items():
                partial = bc.PartialDecryption.from_json(cmd.shares[department].model_dump())
                bc.verify_partial(bctx, me.trustee_index, public, department, ct, partial)
        except ValueError as exc:
            raise refused_crypto(exc, "shares") from None
        values = {
            "round_id": round_id,
            "trustee_index": me.trustee_index,
            "shares": {d: s.model_dump() for d, s in cmd.shares.items()},
            "submitted_by": principal.client_id,
        }
        done = await partials_of(session, round_id)
        if me.trustee_index in done:  # the round row is locked: no race between the check and the insert
            raise Conflict("受托人已提交部分解密", kind="partial-decryption-submitted", rule="E5")
        await session.execute(insert(partial_decryptions).values(values))
    return {"round_id": round_id, "trustee_index": me.trustee_index, "decrypted_by": len(done) + 1}


async def partials_of(session: AsyncSession, round_id: str) -> dict[int, dict[str, Any]]:
    query = select(partial_decryptions.c.trustee_index, partial_decryptions.c.shares).where(
        partial_decryptions.c.round_id == round_id
    )
    return {r.trustee_index: r.shares for r in await session.execute(query)}


def counts_from(row: Row[Any], partials: dict[int, dict[str, Any]]) -> tuple[int, dict[str, int]]:
    """The vote counts from a threshold of verified partial decryptions (E3): Lagrange combination
    and the small discrete log, bounded by the number of ballots."""
    domain.require_threshold(list(partials), row.threshold)
    chosen = sorted(partials)[: row.threshold]
    ballots = int(row.aggregate["ballots"])
    counts: dict[str, int] = {}
    for department, ct in aggregate_of(row).items():
        shares = {j: bc.Point.from_hex(partials[j][department]["share"]) for j in chosen}
        counts[department] = bc.small_log(bc.combine(ct, shares), ballots)
    return ballots, counts


async def verification_data(
    ctx: ServiceContext, round_id: str, principal: Principal | None
) -> VerificationData:
    """Everything needed to recount the round without trusting the service (E3, E5): the trustees'
    commitments, the election key, every encrypted ballot, the aggregates, the partial decryptions
    with their proofs and the published counts. Visible when the ballots are."""
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
        domain.require_encrypted(row.scheme, "提供加密计票核验数据")
        domain.require_ballots_visible(state_of(row))
        admit_before_publication(
            state_of(row),
            principal,
            BALLOT_READER_ROLES,
            "结果公布前，核验数据仅供评定人员、领导和组织者查阅",
        )
        trustees = await trustees_of(session, round_id)
        query = select(encrypted_ballots.c.tracker, encrypted_ballots.c.ballot).where(
            encrypted_ballots.c.round_id == round_id
        )
        box = (await session.execute(query.order_by(encrypted_ballots.c.tracker))).all()
        partials = await partials_of(session, round_id)
        results = (
            await session.execute(
                select(round_results.c.department, round_results.c.votes).where(
                    round_results.c.round_id == round_id
                )
            )
        ).all()
    return VerificationData(
        round_id=round_id,
        scheme=row.scheme,
        candidates=list(row.candidates),
        choices_per_ballot=ctx.profile.evaluation.choices_per_ballot,
        threshold=row.threshold,
        trustees=[{"index": t.trustee_index, **t.commitments} for t in trustees],
        election_key=row.election_key,
        ballots=[{"tracker": b.tracker, "ballot": b.ballot} for b in box],
        aggregate=row.aggregate["ciphertexts"],
        partial_decryptions=[{"trustee_index": j, "shares": s} for j, s in sorted(partials.items())],
        counts={r.department: r.votes for r in results} if results else None,
    )

"""What the evaluation use cases share: loading a round, and who may read what before publication.

Results, ballots and designations become public when the results are published; before that
only some roles read them, with or without a token (``api.Anyone``). The roles are those of the
``shared.deps`` aliases, so that "leaders and organizers" means the same here as in a route.
"""

from __future__ import annotations

from typing import Any, cast, get_args

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.tables import rounds
from shared.auth import REALM, Principal
from shared.deps import Organizer, Overseer, OverseerOrEvaluator
from shared.problems import Problem
from shared.rules import Missing


def roles_of(alias: Any) -> tuple[str, ...]:
    """The roles a ``shared.deps`` role alias admits (the scopes of its security requirement)."""
    return tuple(get_args(alias)[1].scopes)


ORGANIZER_ROLES = roles_of(Organizer)
# The gateway's webhook visibility repeats this one (a service may not import another).
RESULT_READER_ROLES = roles_of(Overseer)
BALLOT_READER_ROLES = roles_of(OverseerOrEvaluator)


async def load_round(
    session: AsyncSession, round_id: str, *, lock: bool = False, shared: bool = False
) -> Row[Any]:
    """The round; ``lock`` takes its row lock (``shared``: FOR SHARE, which only excludes writers)."""
    query = select(rounds).where(rounds.c.id == round_id)
    if lock:
        query = query.with_for_update(read=shared)
    row = (await session.execute(query)).first()
    if row is None:
        raise Missing(f"评定轮次 {round_id} 不存在", kind="round-not-found")
    return row


def state_of(row: Row[Any]) -> domain.RoundState:
    return cast(domain.RoundState, row.state)


def may(principal: Principal | None, roles: tuple[str, ...]) -> bool:
    return principal is not None and principal.has_any(*roles)


def admit_before_publication(
    state: domain.RoundState, principal: Principal | None, roles: tuple[str, ...], refusal: str
) -> None:
    """Anyone reads once the results are published; before, only ``roles`` do (``refusal`` says who)."""
    if state == "results-published" or may(principal, roles):
        return
    if principal is None:
        challenge = {"WWW-Authenticate": REALM}
        raise Problem(401, f"{refusal}，请提供访问令牌", kind="unauthorized", headers=challenge)
    raise Problem(403, refusal, kind="forbidden")

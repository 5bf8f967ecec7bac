"""What the evaluation use cases share: the profile, loading a round, rule errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.tables import rounds
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.policy import EvaluationPolicy, PolicyProfile, load_profile
from shared.problems import Problem

ORGANIZER_ROLES = ("office", "supervisor")
RESULT_READER_ROLES = ("office", "supervisor", "leader")
BALLOT_READER_ROLES = ("office", "supervisor", "leader", "evaluator")

_STATUS: dict[type[domain.RuleViolation], int] = {
    domain.InvalidRoundState: 409,
    domain.PanelOverlap: 409,
    domain.PanelIncomplete: 409,
}


def profile(ctx: ServiceContext) -> PolicyProfile:
    return load_profile(ctx.common.policy_profile)


def policy(ctx: ServiceContext) -> EvaluationPolicy:
    return profile(ctx).evaluation


def problem_of(exc: domain.RuleViolation) -> Problem:
    extra: dict[str, Any] = dict(exc.extra)
    return Problem(
        _STATUS.get(type(exc), 422), exc.detail, kind=exc.kind, rule=exc.rule, field=exc.field, **extra
    )


@contextmanager
def rules() -> Iterator[None]:
    """Turn a broken rule into its problem details."""
    try:
        yield
    except domain.RuleViolation as exc:
        raise problem_of(exc) from exc


async def load_round(session: AsyncSession, round_id: str, *, lock: bool = False) -> Row[Any]:
    query = select(rounds).where(rounds.c.id == round_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise Problem(404, f"评定轮次 {round_id} 不存在", kind="round-not-found")
    return row


def state_of(row: Row[Any]) -> domain.RoundState:
    return cast(domain.RoundState, row.state)


def department_name(code: str) -> str:
    try:
        return reference.department(code).short_name
    except reference.UnknownReference:
        return code


def may(principal: Principal | None, roles: tuple[str, ...]) -> bool:
    return principal is not None and principal.has_any(*roles)

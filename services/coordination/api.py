"""Coordination HTTP routes."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.coordination.schemas import DeadlineTier
from shared.policy import load_profile

router = APIRouter(prefix="/v1", tags=["会办督办 coordination"])


@router.get(
    "/deadline-tiers",
    summary="会办反馈时限档次",
    description="当前政策配置下会办事项的反馈时限档次与所需审批（C2）。",
)
async def deadline_tiers(request: Request) -> list[DeadlineTier]:
    c = load_profile(request.app.state.ctx.common.policy_profile).coordination
    return [
        DeadlineTier(
            tier="routine", max_days=c.routine_feedback.amount, unit=c.routine_feedback.unit, approval=None
        ),
        DeadlineTier(
            tier="complex",
            max_days=c.complex_feedback_max.amount,
            unit=c.complex_feedback_max.unit,
            approval="vice_mayor",
        ),
        DeadlineTier(tier="beyond", max_days=None, unit=c.complex_feedback_max.unit, approval="mayor"),
    ]

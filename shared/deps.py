"""The FastAPI aliases every service's routes use: the kernel, the clock, paging and roles.

Each role alias names exactly one set of roles, the same in every service (admin passes all):

| alias | roles |
|---|---|
| ``Admin`` | admin |
| ``Office`` | office |
| ``Department`` | department |
| ``Leader`` | leader |
| ``Evaluator`` | evaluator |
| ``Drafter`` | department, office |
| ``Organizer`` | office, supervisor |
| ``Overseer`` | office, supervisor, leader |
| ``OverseerOrDepartment`` | office, supervisor, leader, department |
| ``OverseerOrEvaluator`` | office, supervisor, leader, evaluator |
| ``AnyOfficial`` | office, supervisor, leader, evaluator, department |
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request

from shared.app import ServiceContext
from shared.auth import CurrentPrincipal, Principal, require_roles
from shared.pagination import PageDep

__all__ = [
    "Admin",
    "AnyOfficial",
    "CtxDep",
    "CurrentPrincipal",
    "Department",
    "Drafter",
    "Evaluator",
    "Leader",
    "NowDep",
    "Office",
    "Organizer",
    "Overseer",
    "OverseerOrDepartment",
    "OverseerOrEvaluator",
    "PageDep",
    "context",
]


async def context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def business_now(ctx: Annotated[ServiceContext, Depends(context)]) -> datetime:
    return ctx.now()


CtxDep = Annotated[ServiceContext, Depends(context)]
# A year in a path: bounded, so a year no column can hold is a 422 naming it, not a database error.
YearPath = Annotated[int, Path(ge=1949, le=2999, description="年度", examples=[2026])]
NowDep = Annotated[datetime, Depends(business_now)]

Admin = Annotated[Principal, require_roles("admin")]
Office = Annotated[Principal, require_roles("office")]
Department = Annotated[Principal, require_roles("department")]
Leader = Annotated[Principal, require_roles("leader")]
Evaluator = Annotated[Principal, require_roles("evaluator")]
Drafter = Annotated[Principal, require_roles("department", "office")]
Organizer = Annotated[Principal, require_roles("office", "supervisor")]
Overseer = Annotated[Principal, require_roles("office", "supervisor", "leader")]
OverseerOrDepartment = Annotated[Principal, require_roles("office", "supervisor", "leader", "department")]
OverseerOrEvaluator = Annotated[Principal, require_roles("office", "supervisor", "leader", "evaluator")]
AnyOfficial = Annotated[Principal, require_roles("office", "supervisor", "leader", "evaluator", "department")]

"""Evaluation HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.evaluation import service
from services.evaluation.schemas import Candidate, DepartmentFacts
from shared import reference
from shared.auth import Principal, require_roles
from shared.pagination import PageParams, page_params, set_link_header

router = APIRouter(prefix="/v1", tags=["低效能评定 evaluation"])

Reader = Annotated[Principal, require_roles("office", "supervisor", "leader", "evaluator")]


@router.get(
    "/departments/{code}/facts",
    summary="部门效能事实",
    description="由其他服务的事件汇集的部门效能事实（E2 参考材料的原始记录），按种类计数。",
)
async def department_facts(
    code: str,
    request: Request,
    response: Response,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> DepartmentFacts:
    result = await service.department_facts_of(request.app.state.ctx, code, page)
    set_link_header(request, response, result.next_cursor)
    return result


@router.get("/candidates", summary="备评部门", description="参加低效能部门评定的备评部门（附件4 §一）。")
async def candidates(principal: Reader) -> list[Candidate]:
    return [Candidate(code=d.code, name=d.short_name) for d in reference.evaluable_departments()]

"""Dependencies shared by the coordination routes: the clock and who may call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from shared.app import ServiceContext
from shared.auth import Principal, require_roles


def current_time(request: Request) -> datetime:
    """The clock of the use cases: the service's business clock (``XN_CLOCK_START`` moves it); one
    dependency, so a test can also fix it with ``dependency_overrides``."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx.now()


def context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Now = Annotated[datetime, Depends(current_time)]
Ctx = Annotated[ServiceContext, Depends(context)]

# Finer checks (which department, which leader) are made by the use cases.
Office = Annotated[Principal, require_roles("office")]
Department = Annotated[Principal, require_roles("department")]
Leader = Annotated[Principal, require_roles("leader")]
DepartmentOrOffice = Annotated[Principal, require_roles("department", "office")]
Reader = Annotated[Principal, require_roles("office", "supervisor", "department", "leader")]
Overseer = Annotated[Principal, require_roles("office", "supervisor", "leader")]

PRINCIPALS = (
    "身份：Bearer 令牌的 roles 与 department 声明。department 角色的 department 为部门代码（如 `jsj`）；"
    "leader 角色的 department 为领导代码（如 `dsg-urban` 分管秘书长、`vm-urban` 分管市长）；"
    "office（市政府办公室）与 supervisor（市政府督查室）可查看全部。"
)

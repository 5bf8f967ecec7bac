"""Composite reads: a department's profile across the four services, and a city summary.

The parts are found in the services' OpenAPI documents, not written here: every GET operation
``/v1/departments/{code}`` or ``/v1/departments/{code}/<part>`` without other required
parameters is a department-scoped read, and a service that offers none is reported as such.
The calls go out in parallel, with the caller's token (each service still decides what the
caller may see), each with ``composite_part_timeout_seconds``. Whatever does not come back is
listed in ``missing`` with the reason, and the answer says ``partial: true``.

The city summary asks every department-scoped read for each of the departments under
evaluation and adds up the ``counts`` objects they return (today: evaluation's department
facts, which already gather every service's events), for dashboards.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from services.gateway.domain import department_part
from services.gateway.runtime import GatewayRuntime, RuntimeDep
from shared import reference
from shared.deps import CtxDep, CurrentPrincipal, OverseerOrEvaluator
from shared.observability import current_traceparent, request_id_var
from shared.problems import declare
from shared.schemas import RowModel, ShanghaiInstants

router = APIRouter(prefix="/api/v1", tags=["组合查询 composite"])

Reason = Literal["not-offered", "unavailable", "timeout", "forbidden", "not-found", "error"]
_FORWARDED = ("authorization", "accept-language")


class Source(BaseModel):
    service: str = Field(examples=["evaluation"])
    part: str = Field(examples=["facts"])
    path: str = Field(description="上游路径模板", examples=["/v1/departments/{code}/facts"])


class MissingPart(BaseModel):
    service: str = Field(examples=["disclosure"])
    part: str | None = Field(default=None, description="缺失的部分；为空表示该服务整体", examples=["facts"])
    reason: Reason = Field(
        description="not-offered 服务尚无部门维度的查询；unavailable 服务不可达；timeout 超时；"
        "forbidden 调用方无权查看；not-found 上游无此资源；error 上游出错",
        examples=["not-offered"],
    )
    status: int | None = Field(default=None, description="上游的 HTTP 状态码", examples=[404])
    departments: list[str] | None = Field(default=None, description="城市汇总中受影响的部门")


class DepartmentInfo(RowModel):
    code: str = Field(examples=["fgw"])
    name: str = Field(examples=["湖州市发展和改革委员会"])
    short_name: str = Field(examples=["市发改委"])
    kind: str = Field(examples=["department"])
    evaluable: bool = Field(description="是否为低效能评定的备评部门", examples=[True])
    vice_mayor: str | None = Field(default=None, description="分管市长代码", examples=["vm-executive"])
    deputy_secretary_general: str | None = Field(default=None, examples=["dsg-economy"])


class DepartmentProfile(BaseModel):
    department: DepartmentInfo
    partial: bool = Field(description="有部分未取得时为 true，见 missing")
    missing: list[MissingPart]
    parts: dict[str, dict[str, Any]] = Field(
        description="按服务、部分给出上游的原始响应",
        examples=[{"evaluation": {"facts": {"department": "fgw", "counts": {"document-formed": 2}}}}],
    )
    sources: list[Source]


class DepartmentCounts(BaseModel):
    code: str = Field(examples=["fgw"])
    name: str = Field(examples=["市发改委"])
    counts: dict[str, dict[str, int]] = Field(
        description="按“服务.部分”给出的计数", examples=[{"evaluation.facts": {"document-formed": 2}}]
    )


class CitySummary(ShanghaiInstants):
    generated_at: datetime
    partial: bool
    missing: list[MissingPart]
    totals: dict[str, dict[str, int]] = Field(
        description="全市合计，按“服务.部分”", examples=[{"evaluation.facts": {"document-published-late": 3}}]
    )
    departments: list[DepartmentCounts]
    sources: list[Source]


def department_reads(doc: Mapping[str, Any]) -> list[Source]:
    """A service's department-scoped reads, found by the shape of their paths."""
    found = []
    for path, item in doc.get("paths", {}).items():
        op = item.get("get") if isinstance(item, Mapping) else None
        part = department_part(path)
        if part is None or not isinstance(op, Mapping):
            continue
        required = [
            p
            for p in op.get("parameters", [])
            if isinstance(p, Mapping) and p.get("required") and p.get("in") != "path"
        ]
        if not required:
            found.append(Source(service="", part=part, path=path))
    return found


async def _sources(rt: GatewayRuntime) -> tuple[list[Source], list[MissingPart]]:
    docs = await rt.catalog.documents()
    sources: list[Source] = []
    missing: list[MissingPart] = []
    for service, doc in docs.items():
        if doc is None:
            missing.append(MissingPart(service=service, reason="unavailable"))
            continue
        reads = [s.model_copy(update={"service": service}) for s in department_reads(doc)]
        if not reads:
            missing.append(MissingPart(service=service, reason="not-offered"))
        sources.extend(reads)
    return sources, missing


def _headers(request: Request) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED}
    if (rid := request_id_var.get()) is not None:
        headers["x-request-id"] = rid
    if (tp := current_traceparent()) is not None:
        headers["traceparent"] = tp
    return headers


async def _fetch(
    rt: GatewayRuntime, source: Source, code: str, headers: dict[str, str], gate: asyncio.Semaphore
) -> tuple[dict[str, Any] | None, MissingPart | None]:
    path = re.sub(r"\{[^/{}]+\}", quote(code, safe=""), source.path, count=1)
    limit = rt.settings.composite_part_timeout_seconds

    def missing(reason: Reason, status: int | None = None) -> MissingPart:
        return MissingPart(service=source.service, part=source.part, reason=reason, status=status)

    try:
        async with gate, asyncio.timeout(limit):
            response = await rt.upstreams[source.service].get(path, headers=headers, timeout=limit)
    except (TimeoutError, httpx.TimeoutException):
        return None, missing("timeout")
    except httpx.HTTPError:
        return None, missing("unavailable")
    if response.status_code in (401, 403):
        return None, missing("forbidden", response.status_code)
    if response.status_code in (404, 405):
        return None, missing("not-found", response.status_code)
    if response.status_code != 200:
        return None, missing("error", response.status_code)
    try:
        body = response.json()
    except ValueError:
        return None, missing("error", response.status_code)
    return (body if isinstance(body, dict) else {"items": body}), None


async def _fetch_all(
    rt: GatewayRuntime, request: Request, jobs: list[tuple[str, Source]]
) -> list[tuple[dict[str, Any] | None, MissingPart | None]]:
    """Every (department code, read) at once, at most ``composite_concurrency`` calls in flight."""
    gate = asyncio.Semaphore(rt.settings.composite_concurrency)
    headers = _headers(request)
    return await asyncio.gather(*(_fetch(rt, source, code, headers, gate) for code, source in jobs))


@router.get(
    "/departments/{code}/profile",
    summary="部门效能画像（组合查询）",
    openapi_extra=declare("unknown-department"),
    description=(
        "并行向四个服务查询该部门的信息，每部分单独限时；未取得的部分列在 missing 中并标明原因，"
        "此时 partial 为 true。各部分按调用方的权限返回。"
    ),
)
async def department_profile(
    code: Annotated[str, Path(description="部门代码", examples=["fgw"])],
    request: Request,
    rt: RuntimeDep,
    caller: CurrentPrincipal,
) -> DepartmentProfile:
    info = DepartmentInfo.model_validate(reference.known_department(code, field="code", status=404))
    sources, missing = await _sources(rt)
    results = await _fetch_all(rt, request, [(code, s) for s in sources])
    parts: dict[str, dict[str, Any]] = defaultdict(dict)
    for source, (body, lost) in zip(sources, results, strict=True):
        if lost is not None:
            missing.append(lost)
        elif body is not None:
            parts[source.service][source.part] = body
    return DepartmentProfile(
        department=info, partial=bool(missing), missing=missing, parts=dict(parts), sources=sources
    )


def _counts(body: Mapping[str, Any]) -> dict[str, int] | None:
    counts = body.get("counts")
    if not isinstance(counts, Mapping):
        return None
    return {str(k): int(v) for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}


@router.get(
    "/city/summary",
    summary="全市效能汇总（看板）",
    description=(
        "对每个备评部门并行调用各服务的部门维度查询，汇总其中的计数（counts），给出全市合计与分部门计数，"
        "供看板使用。未取得的部分列在 missing 中（partial 为 true）。"
    ),
)
async def city_summary(
    request: Request, ctx: CtxDep, rt: RuntimeDep, caller: OverseerOrEvaluator
) -> CitySummary:
    sources, missing = await _sources(rt)
    departments = list(reference.evaluable_departments())
    jobs = [(d.code, s) for d in departments for s in sources]
    results = await _fetch_all(rt, request, jobs)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_department: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    lost: dict[tuple[str, str | None, Reason, int | None], list[str]] = defaultdict(list)
    for (code, source), (body, gone) in zip(jobs, results, strict=True):
        if gone is not None:
            lost[(gone.service, gone.part, gone.reason, gone.status)].append(code)
            continue
        counts = _counts(body or {})
        if counts is None:
            continue
        key = f"{source.service}.{source.part}"
        per_department[code][key] = counts
        for kind, n in counts.items():
            totals[key][kind] += n
    missing.extend(
        MissingPart(service=service, part=part, reason=reason, status=status, departments=codes)
        for (service, part, reason, status), codes in lost.items()
    )
    return CitySummary(
        generated_at=ctx.now(),
        partial=bool(missing),
        missing=missing,
        totals={k: dict(v) for k, v in totals.items()},
        departments=[
            DepartmentCounts(code=d.code, name=d.short_name, counts=per_department.get(d.code, {}))
            for d in departments
        ],
        sources=sources,
    )

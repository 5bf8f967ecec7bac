"""The pages behind every problem ``type`` (``/problems/<kind>``): what it means, its status, the
rule it guards. HTML for people, JSON for programs (``Accept: application/json``); the list of
every type at ``/problems``. All from ``shared.problems.PROBLEM_TYPES``, the one registry."""

from __future__ import annotations

import html
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from fastapi.responses import HTMLResponse, JSONResponse, Response

from shared.problems import PROBLEM_TYPES, TITLES, Problem, ProblemType

router = APIRouter(include_in_schema=False)

_STYLE = (
    "body{font:15px/1.6 sans-serif;max-width:52em;margin:2em auto;padding:0 1em;color:#222}"
    "code{background:#f4f4f4;padding:0 .3em}table{border-collapse:collapse}"
    "td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}"
)
_VARY = {"Vary": "Accept"}


def _wants_json(accept: str | None) -> bool:
    """JSON when the client asks for JSON and not for HTML (a browser asks for HTML first)."""
    media = [part.split(";", 1)[0].strip().lower() for part in (accept or "").split(",")]
    return any(m == "application/json" or m.endswith("+json") for m in media) and "text/html" not in media


def _as_json(t: ProblemType) -> dict[str, Any]:
    return {
        "type": t.uri,
        "kind": t.kind,
        "title": t.title,
        "statuses": list(t.statuses),
        "status_titles": [TITLES.get(s, "错误") for s in t.statuses],
        "rule": t.rule,
    }


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>",
        headers=_VARY,
    )


def _statuses(t: ProblemType) -> str:
    return "、".join(f"{s} {html.escape(TITLES.get(s, '错误'))}" for s in t.statuses)


AcceptHeader = Annotated[str | None, Header(alias="Accept")]


@router.get("/problems")
async def problem_types(accept: AcceptHeader = None) -> Response:
    types = sorted(PROBLEM_TYPES.values(), key=lambda t: (t.statuses[0], t.kind))
    if _wants_json(accept):
        return JSONResponse({"items": [_as_json(t) for t in types]}, headers=_VARY)
    rows = "".join(
        f'<tr><td><a href="{t.uri}"><code>{html.escape(t.kind)}</code></a></td><td>{_statuses(t)}</td>'
        f"<td>{html.escape(t.title)}</td><td>{html.escape(t.rule or '')}</td></tr>"
        for t in types
    )
    return _page(
        "问题类型 — 效能 Xiaoneng API",
        "<h1>问题类型</h1><p>每个错误响应都是 RFC 9457 <code>application/problem+json</code>，其 "
        "<code>type</code> 为下列之一；<code>detail</code> 以中文说明具体原因，<code>field</code> 指出字段，"
        '<code>rule</code> 为规则编号。接口文档见 <a href="/docs">/docs</a>。</p>'
        f"<table><tr><th>类型</th><th>状态码</th><th>含义</th><th>规则</th></tr>{rows}</table>",
    )


@router.get("/problems/{kind}")
async def problem_page(kind: Annotated[str, Path()], accept: AcceptHeader = None) -> Response:
    t = PROBLEM_TYPES.get(kind)
    if t is None:
        raise Problem(404, f"问题类型 /problems/{kind} 不存在；全部类型见 /problems", kind="not-found")
    if _wants_json(accept):
        return JSONResponse(_as_json(t), headers=_VARY)
    rule = f"<p>规则：<code>{html.escape(t.rule)}</code></p>" if t.rule else ""
    status = t.statuses[0]
    sample = {"type": t.uri, "title": TITLES.get(status, "错误"), "status": status, "detail": "…"}
    example = html.escape(json.dumps(sample, ensure_ascii=False, indent=2))
    return _page(
        f"{t.kind} — 问题类型",
        f"<h1><code>{html.escape(t.uri)}</code></h1><p>{html.escape(t.title)}</p>"
        f"<p>状态码：{_statuses(t)}</p>{rule}"
        f"<p>响应示例（<code>application/problem+json</code>）：</p><pre>{example}</pre>"
        "<p>具体原因见响应的 <code>detail</code>（中文）与 <code>field</code>。"
        '<a href="/problems">全部问题类型</a></p>',
    )

"""What every service's OpenAPI document says beyond FastAPI's own, for every route at once.

``annotate`` runs over a generated document (each service's, through ``install``, and the
gateway's own), so no route writes any of this by hand and a new route gets it too:

- **Roles.** A security requirement lists the roles it admits: ``require_roles`` (every role
  alias of ``shared.deps``) already puts them there as scopes; a requirement without any (a
  route that takes any valid token, ``CurrentPrincipal``) lists every role, which is what it
  admits.
- **Success.** A success response says what it returns (the schema, or the media type of a
  file) instead of FastAPI's "Successful Response".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI

from shared.auth import ROLES

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_DEFAULT_SUCCESS = "Successful Response"
_VERBS = {"200": "返回", "201": "已创建，返回", "202": "已受理，返回", "203": "返回"}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS and isinstance(op, dict):
                yield path, method, op


def _list_roles(op: dict[str, Any]) -> None:
    for requirement in op.get("security") or []:
        for scheme, scopes in requirement.items():
            if not scopes:
                requirement[scheme] = list(ROLES)


def _returned(response: dict[str, Any]) -> str:
    """What a response holds, in a few words: its schema's name, or the media type of a file."""
    content = response.get("content") or {}
    if not content:
        return "无响应体"
    media, body = next(iter(content.items()))
    schema = (body or {}).get("schema") or {}
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        return f"{name} 列表" if schema.get("type") == "array" else name
    if media in ("application/json", "application/problem+json"):
        return "JSON"
    return f"{media} 文件"


def _describe_success(op: dict[str, Any]) -> None:
    summary = op.get("summary", "")
    for status, response in (op.get("responses") or {}).items():
        if not isinstance(response, dict) or response.get("description") != _DEFAULT_SUCCESS:
            continue
        what = _returned(response)
        said = "成功，无响应体" if what == "无响应体" else f"{_VERBS.get(str(status), '返回')} {what}"
        response["description"] = f"{summary}：{said}" if summary else said


def annotate(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with roles and success descriptions filled in (in place; running it again changes nothing)."""
    for _, _, op in operations(doc):
        _list_roles(op)
        _describe_success(op)
    return doc


def install(app: FastAPI) -> None:
    """Make ``app``'s ``/openapi.json`` the annotated document."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        return annotate(generate())

    app.openapi = openapi  # type: ignore[method-assign]

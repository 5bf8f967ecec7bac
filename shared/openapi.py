"""What every service's OpenAPI document says beyond FastAPI's own, for every route at once.

``annotate`` runs over a generated document (each service's, through ``install``, and the
gateway's own), so no route writes any of this by hand and a new route gets it too:

- **Roles.** A security requirement lists the roles it admits: ``require_roles`` (every role
  alias of ``shared.deps``) already puts them there as scopes; a requirement without any (a
  route that takes any valid token, ``CurrentPrincipal``) lists every role, which is what it
  admits.
- **Success.** A success response says what it returns (the schema, or the media type of a
  file) instead of FastAPI's "Successful Response".
- **Errors.** Each operation documents its own error statuses and the problem ``type``s each can
  carry, from the registry ``shared.problems.PROBLEM_TYPES``: 401 and 403 from its security
  requirement, 404 for an id in its path, 422 validation errors for its parameters and body, 503
  for its database, and the kinds a route declares with ``problems.declare(...)`` (under the
  statuses the registry gives them). Every type links to its page on the gateway
  (``/problems/<kind>``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI

from shared.auth import ROLES
from shared.problems import DECLARED, PROBLEM_JSON, PROBLEM_TYPES, TITLES

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


def add_problems(op: dict[str, Any], status: int, kinds: Iterable[str]) -> None:
    """Document that ``op`` may answer ``status`` with problems of ``kinds`` (registered ones)."""
    responses = op.setdefault("responses", {})
    response = responses.setdefault(str(status), {"description": TITLES.get(status, "错误")})
    listed: list[str] = response.setdefault("x-problem-types", [])
    new = [k for k in kinds if k in PROBLEM_TYPES and PROBLEM_TYPES[k].uri not in listed]
    if not new:
        return
    listed.extend(PROBLEM_TYPES[k].uri for k in new)
    lines = [f"- [`{PROBLEM_TYPES[k].uri}`]({PROBLEM_TYPES[k].uri})：{PROBLEM_TYPES[k].title}" for k in new]
    head = response.get("description") or TITLES.get(status, "错误")
    response["description"] = "\n".join([head, *([""] if "\n- " not in head else []), *lines])
    content = response.setdefault("content", {})
    body = content.setdefault(PROBLEM_JSON, {"schema": {"$ref": "#/components/schemas/ProblemModel"}})
    examples = body.setdefault("examples", {})
    for kind in new:
        kind_type = PROBLEM_TYPES[kind]
        examples[kind] = {
            "summary": kind_type.title,
            "value": {
                "type": kind_type.uri,
                "title": TITLES.get(status, "错误"),
                "status": status,
                "detail": kind_type.title,
            },
        }


def _has_json_body(op: dict[str, Any]) -> bool:
    content = (op.get("requestBody") or {}).get("content") or {}
    return any(m == "application/json" or m.endswith("+json") for m in content)


def _document_errors(path: str, op: dict[str, Any]) -> None:
    security = op.get("security") or []
    if security:
        add_problems(op, 401, ["unauthorized"])
        add_problems(op, 403, ["forbidden"])
    if "{" in path:
        add_problems(op, 404, ["not-found"])
    if op.get("parameters") or op.get("requestBody"):
        add_problems(op, 422, ["validation-error"])
    if _has_json_body(op):
        add_problems(op, 400, ["malformed-json", "json-too-deep"])
    if any(p.get("name") == "cursor" for p in op.get("parameters") or [] if isinstance(p, dict)):
        add_problems(op, 400, ["invalid-cursor"])
    for kind in op.get(DECLARED) or []:
        for status in PROBLEM_TYPES[kind].statuses if kind in PROBLEM_TYPES else ():
            add_problems(op, status, [kind])
    add_problems(op, 503, ["database-unavailable"])


def annotate(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with roles, success descriptions and errors filled in (in place; idempotent)."""
    for path, _, op in operations(doc):
        _list_roles(op)
        _describe_success(op)
        _document_errors(path, op)
    return doc


def install(app: FastAPI) -> None:
    """Make ``app``'s ``/openapi.json`` the annotated document."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        return annotate(generate())

    app.openapi = openapi  # type: ignore[method-assign]

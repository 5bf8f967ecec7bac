"""Every error is RFC 9457 problem+json, validation errors included."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from shared import problems


class Body(BaseModel):
    amount: int


def make_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/things")
    async def create(body: Body) -> dict[str, int]:
        if body.amount > 10:
            raise problems.Problem(422, "数量超过上限", kind="too-many", rule="C2", field="amount")
        return {"amount": body.amount}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    return app


async def call(method: str, path: str, **kw: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kw)  # type: ignore[arg-type]


async def test_validation_error_names_the_field() -> None:
    r = await call("POST", "/things", json={"amount": "many"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "/problems/validation-error"
    assert body["errors"][0]["field"] == "amount"
    assert "amount" in body["detail"]


async def test_malformed_json_is_a_problem_not_a_500() -> None:
    r = await call("POST", "/things", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


async def test_domain_problem_carries_rule_and_field() -> None:
    r = await call("POST", "/things", json={"amount": 11})
    body = r.json()
    assert (r.status_code, body["type"], body["rule"], body["field"]) == (
        422,
        "/problems/too-many",
        "C2",
        "amount",
    )


async def test_unknown_path_and_unexpected_errors_are_problems() -> None:
    r = await call("GET", "/nowhere")
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    r = await call("GET", "/boom")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "unexpected" not in r.text

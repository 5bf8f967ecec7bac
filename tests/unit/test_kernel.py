"""The kernel's own promises: a bad profile stops a service when it is built, a refused rule is
one problem+json, report periods parse one way, and the only wall-clock read is the kernel's."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared import problems
from shared.app import ServiceSpec, create_service_app
from shared.periods import ReportPeriod, parse_period
from shared.policy import UnknownProfile
from shared.rules import Conflict, RuleViolation
from shared.settings import CommonSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def test_an_unknown_policy_profile_stops_the_service_when_it_is_built_naming_the_available_ones():
    spec = ServiceSpec(name="disclosure", title="t", description="d", routers=())
    with pytest.raises(UnknownProfile) as refused:
        create_service_app(
            spec,
            common=CommonSettings(policy_profile="no-such-city"),
            settings=ServiceSettings(database_url="postgresql+asyncpg://127.0.0.1:1/none"),
        )
    assert "no-such-city" in str(refused.value)
    assert "huzhou-2018" in str(refused.value)


def _app_raising(exc: Exception) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/x")
    async def x() -> None:
        raise exc

    return TestClient(app)


def test_a_rule_violation_is_one_problem_naming_its_rule_field_and_kind():
    answer = _app_raising(
        RuleViolation("日期晚于今天", rule="D1", kind="date-in-future", field="formed_on")
    ).get("/x")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert (body["type"], body["rule"], body["field"], body["detail"]) == (
        "/problems/date-in-future",
        "D1",
        "formed_on",
        "日期晚于今天",
    )


def test_a_conflict_is_409_and_class_defaults_can_be_overridden():
    class RoundClosed(Conflict):
        kind = "invalid-round-state"
        rule = "E1"

    body = _app_raising(RoundClosed("轮次已结束", field="state", state="closed")).get("/x").json()
    assert (body["status"], body["type"], body["rule"], body["state"]) == (
        409,
        "/problems/invalid-round-state",
        "E1",
        "closed",
    )
    assert _app_raising(RoundClosed("x", status=422, rule="E3")).get("/x").json()["rule"] == "E3"


@pytest.mark.parametrize(
    ("text", "period", "first", "last"),
    [
        ("2018", ReportPeriod(2018, "annual", 1), date(2018, 1, 1), date(2018, 12, 31)),
        ("2018-Q2", ReportPeriod(2018, "quarterly", 2), date(2018, 4, 1), date(2018, 6, 30)),
        ("2020-02", ReportPeriod(2020, "monthly", 2), date(2020, 2, 1), date(2020, 2, 29)),
    ],
)
def test_report_periods_parse_once_with_their_bounds(text, period, first, last):
    parsed = parse_period(f" {text} ", rule="D5")
    assert parsed == period
    assert (parsed.first_day, parsed.last_day, str(parsed)) == (first, last, text)


@pytest.mark.parametrize("text", ["2018-13", "2018-Q5", "2018-Q0", "18", "2018-5", "abc"])
def test_a_malformed_period_names_its_field_and_rule(text):
    with pytest.raises(RuleViolation) as refused:
        parse_period(text, rule="C6", field="period")
    assert (refused.value.rule, refused.value.field, refused.value.kind) == ("C6", "period", "invalid-period")


def test_periods_outside_the_allowed_years_or_forms_are_refused():
    with pytest.raises(RuleViolation):
        parse_period("1999-05", rule="I1", years=(2000, 2100))
    with pytest.raises(RuleViolation):
        parse_period("2018-05", rule="E2", frequencies=("quarterly",), kind="invalid-quarter")


def _wall_clock_reads(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"now", "today", "utcnow"}
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"datetime", "date"}
    ]


def test_nothing_but_the_kernel_clock_reads_the_wall_clock():
    folders = ("shared", "services", "launcher", "devtools", "bench", "tests")
    sources = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    reads = {
        str(p.relative_to(ROOT)): lines
        for p in sources
        if p != ROOT / "shared" / "clock.py" and (lines := _wall_clock_reads(p))
    }
    assert reads == {}

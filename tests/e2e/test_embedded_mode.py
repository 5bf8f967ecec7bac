"""`make run`'s embedded mode: one process, portal at the printed URL, data kept across restarts."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from shared.calendar import default_calendar
from shared.clock import utc_now
from shared.deadlines import local_date
from tests.support.clusters import token_for
from tests.support.embedded_mode import free_ports, start_embedded

pytestmark = pytest.mark.e2e


def next_year_provisional() -> bool:
    """What the embedded mode's fresh calendar says today (packaged years only, nothing published)."""
    today = local_date(utc_now())
    calendar = default_calendar()
    years = range(today.year, today.year + (2 if today >= date(today.year, 11, 1) else 1))
    return any(calendar.status(y) == "provisional" for y in years)


def _fgw_facts(gateway: str) -> dict[str, int]:
    with httpx.Client(base_url=gateway, timeout=10) as http:
        headers = token_for(http, "demo-office")  # the demo client's secret is demo-office-secret
        deadline = time.monotonic() + 30
        while True:
            r = http.get("/api/v1/evaluation/departments/fgw/facts", headers=headers)
            counts: dict[str, int] = r.json()["counts"]
            settled = counts.get("document-formed") == 2 and counts.get("document-version-overdue") == 2
            if settled or time.monotonic() > deadline:
                return counts
            time.sleep(0.2)


def _demo_assessment(gateway: str) -> tuple[int, list[tuple[str, str]]]:
    """The demo year's scheme version and the deductions proposed from the demo documents."""
    with httpx.Client(base_url=gateway, timeout=10) as http:
        headers = token_for(http, "demo-office")
        year = "/api/v1/evaluation/assessment/years/2018"
        version = http.get(f"{year}/scheme", headers=headers).json()["version"]
        proposals = http.get(f"{year}/proposals", headers=headers).json()
        return version, [(p["unit"], p["item"]) for p in proposals]


def test_embedded_mode_serves_the_portal_and_keeps_its_data(tmp_path: Path) -> None:
    base, pg_port = free_ports()
    run = start_embedded(tmp_path / "var", base, pg_port)
    try:
        docs_url = run.announcement.splitlines()[1].split()[2]
        assert docs_url == f"http://127.0.0.1:{base}/docs"
        page = httpx.get(docs_url, timeout=10)
        assert page.status_code == 200 and "swagger-ui" in page.text
        doc = httpx.get(f"http://127.0.0.1:{base}/openapi.json", timeout=30).json()
        services = {p.split("/")[3] for p in doc["paths"]}
        assert {"disclosure", "coordination", "indicators", "evaluation", "oauth"} <= services
        for port in range(base, base + 5):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()
            assert ready["checks"]["database"] == ready["checks"]["bus"] == "ok", ready
            # From 1 November a year ahead without its official holiday table reports "degraded".
            assert ready["status"] == ("degraded" if next_year_provisional() else "ready"), ready
        first = _fgw_facts(run.gateway)
        # The two demo documents, formed in 2018, are long past their publication deadline (D3).
        assert first == {"document-formed": 2, "document-version-overdue": 2}
        # The demo year's assessment scheme (wenzhou-2013, E6) proposes a 公共服务查访 deduction for each.
        assert _demo_assessment(run.gateway) == (1, [("fgw", "public-service-visits")] * 2)
    finally:
        assert run.stop() == 0

    run = start_embedded(tmp_path / "var", base, pg_port)
    try:
        # Same database: the demo documents exist already and nothing is recorded twice.
        assert _fgw_facts(run.gateway) == first
        assert _demo_assessment(run.gateway) == (1, [("fgw", "public-service-visits")] * 2)
    finally:
        assert run.stop() == 0

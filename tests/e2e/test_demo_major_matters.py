"""The demo (``make run`` in dev) lists this year's 55 major matters in every state, once (C8)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.clock import utc_now
from shared.deadlines import local_date
from tests.support.clusters import token_for
from tests.support.embedded_mode import free_ports, start_embedded
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def _year_list(gateway: str) -> list[dict[str, Any]]:
    year = local_date(utc_now()).year
    matters: list[dict[str, Any]] = []
    with httpx.Client(base_url=gateway, timeout=30) as http:
        office = token_for(http, "demo-office")
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = http.get(
                f"/api/v1/coordination/major-matter-lists/{year}/matters", params=params, headers=office
            )
            assert page.status_code == 200, page.text
            matters += page.json()["items"]
            if not page.json()["next_cursor"]:
                return matters
            params["cursor"] = page.json()["next_cursor"]


def _behind(gateway: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=gateway, timeout=30) as http:
        office = token_for(http, "demo-office")
        found: list[dict[str, Any]] = http.get(
            "/api/v1/coordination/major-matters-behind", headers=office
        ).json()
        return found


def test_C8_demo_lists_55_major_matters_in_every_state_once(tmp_path: Path) -> None:
    base, pg_port = free_ports()
    run = start_embedded(tmp_path / "var", base, pg_port, XN_SWEEP_INTERVAL_SECONDS="1")
    try:
        matters = _year_list(run.gateway)
        assert len(matters) == 55 and [m["number"] for m in matters] == list(range(1, 56))
        assert Counter(m["state"] for m in matters) == {
            "listed": 53,
            "close-off-requested": 1,
            "closed-off": 1,
        }
        assert "fgw" not in {m["lead_department"] for m in matters}
        # Every seventh matter has a milestone already past: the sweeper finds it behind.
        behind = wait_for(lambda: len(_behind(run.gateway)) == 7 and _behind(run.gateway), "7 matters behind")
        assert {b["number"] for b in behind} == {7, 14, 21, 28, 35, 42, 49}
    finally:
        assert run.stop() == 0

    run = start_embedded(tmp_path / "var", base, pg_port)
    try:
        assert len(_year_list(run.gateway)) == 55  # listed once
    finally:
        assert run.stop() == 0

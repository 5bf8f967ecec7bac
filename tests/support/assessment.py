"""Helpers of the assessment-scheme tests (E6): every unit scored under every item by its assessing
unit, through the API of the service or of the gateway."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import httpx

from services.evaluation.assessment_domain import Scheme, shipped_scheme

SCHEME = shipped_scheme("wenzhou-2013")
SCORE_SHARE = Decimal("0.8")
PANEL = (("甲", "16"), ("乙", "17"))


def item_entries(scheme: Scheme, item_code: str, units: Sequence[str]) -> list[dict[str, Any]]:
    """A scored item at 80% of its points, a tiered or ranked item by the unit's place (the first
    unit highest), a panel item by two members (16 and 17)."""
    item = scheme.item(item_code)
    entries: list[dict[str, Any]] = []
    for n, unit in enumerate(units):
        if item.kind == "score":
            entries.append({"unit": unit, "item": item.code, "amount": str(item.points * SCORE_SHARE)})
        elif item.kind in ("tiers", "rank"):
            entries.append({"unit": unit, "item": item.code, "amount": str(len(units) - n)})
        else:
            entries += [{"unit": unit, "item": item.code, "amount": a, "member": m} for m, a in PANEL]
    return entries


async def fill_everything(
    client: httpx.AsyncClient,
    base: str,
    units: Sequence[str],
    headers_for: Callable[[str], dict[str, str]],
    scheme: Scheme = SCHEME,
) -> None:
    """Every non-deduction item entered by its first assessing unit in one import, and the
    computed items closed (deduction items stay at their points less what was deducted)."""
    for item in scheme.items():
        if item.deducting:
            continue
        headers = headers_for(item.assessors[0])
        body = {"source": item.name, "entries": item_entries(scheme, item.code, units)}
        r = await client.post(f"{base}/entries/import", json=body, headers=headers)
        assert r.status_code == 201, r.text
        if item.computed:
            closed = await client.post(f"{base}/items/{item.code}/close", headers=headers)
            assert closed.status_code == 200, closed.text

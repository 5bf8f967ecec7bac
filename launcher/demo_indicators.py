"""Demo data for indicators (I2–I5): twelve months of the province's releases and the city's
bulletins, as the office records them.

Ten monthly items and four quarterly ones (none led by fgw, the demo department, whose facts stay
the documents'), every city's value for each of the twelve months released so far (up to the
month before last) and each of the last four quarters released; the month's bulletin is issued on
the 20th of the next month (the last one three days ago), the quarter's on the 25th of the month
after it. Huzhou is mostly in the top five; a few releases rank it 6th–8th, giving the lead
department a report duty (I4): the older ones reported late by the department (``demo-admin`` acts
for it) or left overdue, the newest still open; 规上工业增加值 ranks 7th, 8th and 6th three months
running, so 市经信委 is called to an interview (I5).

Seeds only a service without bulletins: a second start adds nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import httpx

from launcher.demo_api import Headers, send, token
from launcher.demo_disclosure import months
from shared import reference

API = "/api/v1/indicators"
MONTHLY = [
    "fiscal-revenue-total",
    "industrial-value-added-above-scale",
    "high-tech-industries-value-added",
    "retail-sales-of-consumer-goods",
    "commercial-housing-floor-area-sold",
    "deposits-balance",
    "industrial-investment",
    "imports-and-exports",
    "road-transport-turnover",
    "aqi-good-days-ratio",
]
QUARTERLY = [
    "agriculture-value-added",
    "industrial-value-added-below-scale",
    "construction-output",
    "rural-disposable-income-per-capita",
]
INTERVIEWED = "industrial-value-added-above-scale"
"""Three monthly releases running worse than 5th (I5)."""
INTERVIEW_RANKS = (7, 8, 6)
LOW = {
    ("retail-sales-of-consumer-goods", 1): 6,
    ("deposits-balance", 5): 7,
    ("imports-and-exports", 8): 6,
    ("road-transport-turnover", 11): 6,
}
"""(item, month index) of single releases worse than 5th: a report duty each (I4); the newest
month's (index 11) is still open."""
LOW_QUARTER = {("construction-output", 2): 6}
OVERDUE_LEFT = "deposits-balance"
"""Its duty is never reported: overdue."""


def _ranks(codes: list[str], index: int, low: dict[tuple[str, int], int]) -> dict[str, int]:
    """Huzhou's place in release ``index`` of each item (1–5 unless chosen lower above)."""
    ranks = {code: low.get((code, index), (len(code) + index * 2) % 5 + 1) for code in codes}
    if INTERVIEWED in ranks and 3 <= index < 3 + len(INTERVIEW_RANKS):
        ranks[INTERVIEWED] = INTERVIEW_RANKS[index - 3]
    return ranks


def _values(rank: int, seed: int) -> list[dict[str, str]]:
    """Every city's growth (one decimal) with Huzhou at ``rank``: the others from 9.5 down by 0.4."""
    others = [c.code for c in reference.cities() if c.code != "huzhou"]
    top = Decimal("9.5") + Decimal(seed % 7) / 10
    placed = [top - Decimal("0.4") * i for i in range(len(others))]
    ours = placed[rank - 2] - Decimal("0.2") if rank > 1 else top + Decimal("0.3")
    return [{"city": "huzhou", "value": str(ours)}] + [
        {"city": c, "value": str(v)} for c, v in zip(others, placed, strict=True)
    ]


def periods(today: date) -> tuple[list[tuple[str, date]], list[tuple[str, date]]]:
    """(period, bulletin date) of the twelve months released so far (up to the month before last)
    and of the four quarters released."""
    released = months(today - timedelta(days=today.day + 31))
    monthly = [(f"{m:%Y-%m}", (m + timedelta(days=32)).replace(day=20)) for m in released]
    monthly[-1] = (monthly[-1][0], today - timedelta(days=3))
    quarters = sorted({(m.year, (m.month - 1) // 3 + 1) for m in released[:-1]})[-4:]
    quarterly = []
    for year, q in quarters:
        after = date(year + q // 4, q * 3 % 12 + 1, 25)
        quarterly.append((f"{year}-Q{q}", after))
    return monthly, [(p, d) for p, d in quarterly if d <= today]


async def seed(http: httpx.AsyncClient, today: date) -> None:
    office = await token(http, "demo-office")
    if (await http.get(f"{API}/bulletins", params={"limit": 1}, headers=office)).json()["items"]:
        return
    monthly, quarterly = periods(today)
    for index, (period, issued) in enumerate(monthly):
        await _release(http, office, _ranks(MONTHLY, index, LOW), period, issued)
    for index, (period, issued) in enumerate(quarterly):
        await _release(http, office, _ranks(QUARTERLY, index, LOW_QUARTER), period, issued)
    await _reports(http, await token(http, "demo-admin"), office, monthly[-1][0])


async def _release(
    http: httpx.AsyncClient, office: Headers, ranks: dict[str, int], period: str, issued: date
) -> None:
    """Every item's release of ``period`` with Huzhou at its rank, then the period's bulletin."""
    bodies = {
        code: {"period": period, "values": _values(rank, n), "source": f"省统计局 {period} 主要指标"}
        for n, (code, rank) in enumerate(ranks.items())
    }
    await asyncio.gather(
        *(send(http, "POST", f"{API}/indicators/{code}/releases", office, b) for code, b in bodies.items())
    )
    await send(http, "POST", f"{API}/bulletins/{period}/editions", office, {"issued_on": issued.isoformat()})


async def _reports(http: httpx.AsyncClient, department: Headers, office: Headers, newest: str) -> None:
    """The departments' reports on their duties, late, except the newest and one left overdue."""
    duties = (await http.get(f"{API}/report-duties", params={"limit": 100}, headers=office)).json()["items"]
    for duty in duties:
        if duty["indicator"] == OVERDUE_LEFT or duty["period"] == newest:
            continue
        report = {
            "causes": "受重点企业订单下滑影响，增速回落。",
            "targets": "下月回到全省前五位。",
            "measures": "建立重点企业月度走访和问题交办机制。",
        }
        await send(http, "POST", f"{API}/report-duties/{duty['id']}/report", department, report)

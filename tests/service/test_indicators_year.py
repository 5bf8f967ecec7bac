"""A realistic year replayed: twelve monthly bulletins for four indicators, one correction after
publication, and every report duty (I4) and interview (I5) checked against a plain expectation."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from services.indicators.service.duties import sweep_overdue_report_duties
from shared.events import DeadlinePassed, InterviewRequired, RankingPublished
from shared.settings import CommonSettings
from tests.support.events import committed
from tests.support.indicators import Office, indicators, values_for_rank
from tests.support.infra import PostgresSource

MONTHS = [f"2018-{m:02d}" for m in range(1, 13)]

# Huzhou's rank in each month's release, January to December. None: the province did not
# release it that month. "5=" is 5th by a tie that only exists after rounding to one decimal.
RANKS: dict[str, list[int | str | None]] = {
    # 社会消费品零售总额 (市商务局), 同比增速: values of all cities.
    "retail-sales-of-consumer-goods": [3, 4, 6, 7, 5, 6, 6, 6, 2, 1, 6, 7],
    # 不良贷款率 (市金融办 牵头, 市银监局), lower is better: values of all cities; three gaps.
    "npl-ratio": [6, 6, None, 7, 8, 4, 6, None, None, 6, 6, 6],
    # 设区市PM2.5平均浓度 (市环保局), 同比降幅 with rises among the cities: two ties at 5th.
    "pm25-average-concentration": [1, 2, "5=", 5, 9, 10, 3, 2, 4, "5=", 6, 3],
    # 固定资产投资 (市发改委): the province gives only our rank.
    "fixed-asset-investment": [8, 8, 8, 8, 8, 8, 4, 3, 2, 2, 1, 1],
}

# After May's bulletin the province corrects npl-ratio for April: 4th, not 7th (republished).
CORRECTED_RANK = 4

# Worked out by hand from the table above (with the April correction):
# retail: ranks worse than 5th in 03 04 06 07 08 11 12; runs 03-04 (two), 06-07-08 (three: an
#   interview at 08), 11-12 (two).
# npl: worse in 01 02 04 05 07 10 11 12, April withdrawn after the correction; before it, 01 02
#   and 04 (March not released) made three, an interview at 04 that the correction withdraws.
#   After: 01 02 (then April breaks), 05 (June breaks), 07 10 11 (August, September not
#   released) make three: an interview at 11; 12 starts a new run.
# pm25: worse in 05 06 (two, July breaks) and 11; the ties at 5th are not worse than 5th.
# fixed-asset-investment: worse 01-06: interviews at 03 and at 06 (the count starts again).
EXPECTED_DUTIES = {
    ("retail-sales-of-consumer-goods", "swj"): ["03", "04", "06", "07", "08", "11", "12"],
    ("npl-ratio", "jrb"): ["01", "02", "05", "07", "10", "11", "12"],
    ("pm25-average-concentration", "hbj"): ["05", "06", "11"],
    ("fixed-asset-investment", "fgw"): ["01", "02", "03", "04", "05", "06"],
}
EXPECTED_WITHDRAWN_DUTIES = [("npl-ratio", "2018-04")]
EXPECTED_INTERVIEWS = [
    (
        "fixed-asset-investment",
        "2018-03",
        "fgw",
        ["2018-01", "2018-02", "2018-03"],
        ["vm-executive", "dsg-economy"],
    ),
    (
        "fixed-asset-investment",
        "2018-06",
        "fgw",
        ["2018-04", "2018-05", "2018-06"],
        ["vm-executive", "dsg-economy"],
    ),
    ("npl-ratio", "2018-11", "jrb", ["2018-07", "2018-10", "2018-11"], ["vm-executive", "dsg-economy"]),
    (
        "retail-sales-of-consumer-goods",
        "2018-08",
        "swj",
        ["2018-06", "2018-07", "2018-08"],
        ["vm-industry", "dsg-industry"],
    ),
]
EXPECTED_WITHDRAWN_INTERVIEWS = [("npl-ratio", "2018-04", ["2018-01", "2018-02", "2018-04"])]


def release_body(code: str, rank: int | str) -> dict[str, object]:
    if code == "fixed-asset-investment":
        return {"rank": rank}
    tie = rank == "5="
    place = 5 if tie else int(rank)
    return {"values": values_for_rank(place, higher_is_better=code != "npl-ratio", tie=tie)}


def issued_on(month: str) -> str:
    """Bulletins go out on the 15th of the following month."""
    year, m = int(month[:4]), int(month[5:])
    return f"{year + m // 12}-{m % 12 + 1:02d}-15"


async def a_year_of_bulletins(office: Office) -> None:
    """Every month of 2018 recorded and published as RANKS says; April corrected in May."""
    for n, month in enumerate(MONTHS):
        for code, ranks in RANKS.items():
            if ranks[n] is None:
                continue
            release = await office.record(code, month, **release_body(code, ranks[n]))
            expected_rank = 5 if ranks[n] == "5=" else ranks[n]
            assert release["current"]["rank"] == expected_rank, (code, month)
        bulletin = await office.publish(month, issued_on(month))
        assert bulletin["summary"]["released"] == sum(1 for r in RANKS.values() if r[n] is not None)
        if month == "2018-05":
            await office.correct(
                "npl-ratio",
                "2018-04",
                values=values_for_rank(CORRECTED_RANK, higher_is_better=False),
                reason="省金融办更正4月不良贷款率",
            )
            second = await office.publish("2018-04", "2018-06-16")
            assert second["edition"] == 2


async def test_I4_I5_a_year_of_monthly_bulletins_produces_exactly_the_expected_duties(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with indicators(postgres, common, "2019-01-20") as (_client, app, office):
        await a_year_of_bulletins(office)

        duties = await office.duties()
        live = [d for d in duties if d["status"] != "withdrawn"]
        got = {}
        for d in live:
            got.setdefault((d["indicator"], d["department"]), []).append(d["period"][5:])
        assert {k: sorted(v) for k, v in got.items()} == EXPECTED_DUTIES
        assert [(d["indicator"], d["period"]) for d in duties if d["status"] == "withdrawn"] == (
            EXPECTED_WITHDRAWN_DUTIES
        )
        assert {d["status"] for d in live} == {"open"}

        interviews = await office.interviews()
        required = sorted(
            (i["indicator"], i["period"], i["department"], i["run"], i["interviewers"])
            for i in interviews
            if i["status"] == "required"
        )
        assert required == EXPECTED_INTERVIEWS
        withdrawn = [
            (i["indicator"], i["period"], i["run"]) for i in interviews if i["status"] == "withdrawn"
        ]
        assert withdrawn == EXPECTED_WITHDRAWN_INTERVIEWS
        announced = sorted((e["indicator"], e["period"]) for e in await committed(app, InterviewRequired))
        assert announced == sorted(
            [(i[0], i[1]) for i in EXPECTED_INTERVIEWS]
            + [(i[0], i[1]) for i in EXPECTED_WITHDRAWN_INTERVIEWS]
        )

        # One ranking-published per release, plus one for the corrected April release.
        ranking = await committed(app, RankingPublished)
        released = sum(1 for ranks in RANKS.values() for r in ranks if r is not None)
        assert len(ranking) == released + 1
        worse = Counter(e["indicator"] for e in ranking if e["worse_than_threshold"])
        assert worse == Counter(
            {
                "retail-sales-of-consumer-goods": 7,
                "npl-ratio": 8,  # April counts once: announced worse, then announced corrected (4th)
                "pm25-average-concentration": 3,
                "fixed-asset-investment": 6,
            }
        )

        # No report is filed: when the sweeper runs after the last due date every live duty is
        # announced overdue, once.
        last_due = max(datetime.fromisoformat(d["due_at"]) for d in live)
        assert await sweep_overdue_report_duties(app.state.ctx, last_due) == len(live)
        assert await sweep_overdue_report_duties(app.state.ctx, last_due) == 0
        passed = await committed(app, DeadlinePassed)
        assert sorted(e["subject_id"] for e in passed) == sorted(d["id"] for d in live)
        assert {e["subject_kind"] for e in passed} == {"report-duty"}

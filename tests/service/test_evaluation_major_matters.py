"""Evaluation consumes the major-matter events (C8) into department facts, and the quarter's
reference pack shows each lead department's major matters: reported, closed off, behind (E2)."""

from __future__ import annotations

from datetime import date, datetime

from shared.deadlines import SHANGHAI
from shared.events import DeadlinePassed, EventData, MatterClosedOff, MatterListed, ProgressReported
from shared.settings import CommonSettings
from tests.support.evaluation import consumed, create_round, evaluation, office
from tests.support.events import message_of
from tests.support.infra import PostgresSource


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def _ref(matter: str, number: int, lead: str) -> dict[str, object]:
    return {
        "matter_id": matter,
        "year": 2018,
        "number": number,
        "title": f"重大事项{number}",
        "lead_department": lead,
    }


def major_events() -> list[EventData]:
    """jsj leads mm-1 (a milestone missed in June, the May report missing) and mm-2 (closed off in
    May); gtj cooperates on mm-1; a July report falls outside the second quarter."""
    listed = {"completion_due": date(2018, 12, 31), "milestones": 2, "leader": "vm-urban"}
    return [
        MatterListed(**_ref("mm-1", 1, "jsj"), cooperating_departments=["gtj"], **listed),  # type: ignore[arg-type]
        MatterListed(**_ref("mm-2", 2, "jsj"), cooperating_departments=[], **listed),  # type: ignore[arg-type]
        ProgressReported(
            **_ref("mm-1", 1, "jsj"),  # type: ignore[arg-type]
            month="2018-04",
            milestones_total=2,
            milestones_done=1,
            milestones_behind=0,
            submitted_at=_at("2018-05-03 10:00"),
            late=False,
        ),
        DeadlinePassed(
            subject_kind="major-monthly-report",
            subject_id="mm-1@2018-05",
            department="jsj",
            deadline=_at("2018-06-06 00:00"),
            consequence="overdue",
            parent_id="mm-1",
        ),
        DeadlinePassed(
            subject_kind="major-milestone",
            subject_id="ms-2",
            department="jsj",
            deadline=_at("2018-07-01 00:00"),
            consequence="overdue",
            parent_id="mm-1",
        ),
        MatterClosedOff(
            **_ref("mm-2", 2, "jsj"),  # type: ignore[arg-type]
            closed_off_at=_at("2018-05-20 15:00"),
            completion_due=date(2018, 12, 31),
        ),
        ProgressReported(
            **_ref("mm-1", 1, "jsj"),  # type: ignore[arg-type]
            month="2018-07",
            milestones_total=2,
            milestones_done=2,
            milestones_behind=0,
            submitted_at=_at("2018-08-02 10:00"),
            late=False,
        ),
    ]


async def test_C8_major_matters_in_department_facts_and_the_quarters_reference_pack(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, bus, app):
        events = major_events()
        await bus.publish([message_of(e) for e in events])
        await consumed(app, len(events))
        facts = (await client.get("/v1/departments/jsj/facts", headers=office(common))).json()
        assert facts["counts"] == {
            "major-matter-listed": 2,
            "major-matter-reported": 2,
            "major-monthly-report-overdue": 1,
            "major-milestone-overdue": 1,
            "major-matter-closed-off": 1,
        }
        gtj = (await client.get("/v1/departments/gtj/facts", headers=office(common))).json()
        assert gtj["counts"] == {"major-matter-cooperating": 1}

        await create_round(client, common, "2018-Q2")
        pack = (await client.get("/v1/rounds/2018-Q2/reference-pack", headers=office(common))).json()
        (jsj,) = [d for d in pack["departments"] if d["code"] == "jsj"]
        assert (
            jsj["major_matters_reported"],
            jsj["major_matters_closed_off"],
            jsj["major_milestones_behind"],
            jsj["major_reports_missing"],
        ) == (1, 1, 1, 1)
        assert jsj["major_matters"] == [
            {
                "matter_id": "mm-1",
                "number": 1,
                "title": "重大事项1",
                "month": "2018-04",
                "milestones_done": 1,
                "milestones_total": 2,
                "closed_off": False,
                "behind": ["mm-1@2018-05", "ms-2"],
            },
            {
                "matter_id": "mm-2",
                "number": 2,
                "title": "重大事项2",
                "month": None,
                "milestones_done": None,
                "milestones_total": None,
                "closed_off": True,
                "behind": [],
            },
        ]
        labels = [n["label"] for n in jsj["notable"]]
        assert labels == ["重大事项月报逾期未报（进展迟缓）", "重大事项节点逾期未完成（进展迟缓）"]
        html = (await client.get("/v1/rounds/2018-Q2/reference-pack.html", headers=office(common))).text
        assert "重大事项进展迟缓" in html and "ms-2" in html

"""A request for government information answered late (D7) is a department fact evaluation keeps
and the quarter's reference pack names (E2), through the existing deadline-passed handling."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events import DeadlinePassed
from shared.settings import CommonSettings
from tests.support.evaluation import consumed, create_round, evaluation, office
from tests.support.events import message_of
from tests.support.infra import PostgresSource


async def test_D7_E2_a_late_answer_is_a_department_fact_and_notable_in_the_reference_pack(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, bus, app):
        late = DeadlinePassed(
            subject_kind="disclosure-request",
            subject_id="req-5c1e9a0b7d21",
            department="czj",
            deadline=datetime(2018, 6, 12, 16, tzinfo=UTC),  # 24:00 of 2018-06-12 in Shanghai
            consequence="overdue",
        )
        await bus.publish([message_of(late, at=datetime(2018, 6, 13, 1, tzinfo=UTC))])
        await consumed(app, 1)
        facts = (await client.get("/v1/departments/czj/facts", headers=office(common))).json()
        assert facts["counts"] == {"disclosure-request-overdue": 1}
        await create_round(client, common, "2018-Q2")
        pack = (await client.get("/v1/rounds/2018-Q2/reference-pack", headers=office(common))).json()
        czj = next(d for d in pack["departments"] if d["code"] == "czj")
        (notable,) = czj["notable"]
        assert notable["kind"] == "disclosure-request-overdue" and notable["on"] == "2018-06-12"
        assert notable["label"] == "政府信息公开申请逾期未答复"

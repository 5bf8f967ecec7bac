"""Public policy inquiries (政策咨询, 004): the form, the reply limit, the reply for the inquirer
with their code, and on the public list only if they agreed."""

from __future__ import annotations

from services.disclosure.sweeper import mark_requests
from shared.events import DeadlinePassed
from shared.settings import CommonSettings
from tests.support.apps import bearer
from tests.support.clock import at
from tests.support.disclosure import clock_at, disclosure
from tests.support.disclosure_requests import organ
from tests.support.events import committed
from tests.support.infra import PostgresSource

FORM = {
    "department": "fgw",
    "mobile": "13800000000",
    "name": "张三",
    "email": "zhangsan@example.com",
    "title": "企业投资项目备案如何办理",
    "content": "请问需要提交哪些材料？",
}


async def test_D7_a_policy_inquiry_is_replied_within_the_profile_limit_and_shown_as_agreed(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        ctx = app.state.ctx
        with clock_at(ctx, "2018-06-01 09:00:00"):
            shown = (await client.post("/v1/public/inquiries", json={**FORM, "public": True})).json()
            hidden = (await client.post("/v1/public/inquiries", json={**FORM, "public": False})).json()
        # 5 working days (profile default) after Friday 06-01: Friday 06-08, 24:00.
        assert shown["deadline"] == "2018-06-09T00:00:00+08:00"
        r = await client.post("/v1/public/inquiries", json={**FORM, "mobile": "12345"})
        assert r.status_code == 422

        listed = (await client.get("/v1/inquiries", headers=organ(common))).json()["items"]
        by_number = {i["number"]: i for i in listed}
        with clock_at(ctx, "2018-06-05 10:00:00"):
            r = await client.post(
                f"/v1/inquiries/{by_number[shown['number']]['id']}/reply",
                json={"reply": "在线填报即可。"},
                headers=organ(common),
            )
        assert r.status_code == 201 and r.json()["replied_late"] is False
        assert (
            await client.post(
                f"/v1/inquiries/{by_number[shown['number']]['id']}/reply",
                json={"reply": "再答"},
                headers=organ(common),
            )
        ).status_code == 409
        assert await mark_requests(ctx, at("2018-06-09 00:00:00")) == 1
        (passed,) = await committed(app, DeadlinePassed)
        assert (
            passed["subject_kind"] == "policy-inquiry"
            and passed["subject_id"] == by_number[hidden["number"]]["id"]
        )
        with clock_at(ctx, "2018-06-11 10:00:00"):
            r = await client.post(
                f"/v1/inquiries/{by_number[hidden['number']]['id']}/reply",
                json={"reply": "迟到的答复"},
                headers=organ(common),
            )
        assert r.json()["replied_late"] is True and len(await committed(app, DeadlinePassed)) == 1

        mine = await client.get(
            f"/v1/public/inquiries/{hidden['number']}", headers={"X-Access-Code": hidden["access_code"]}
        )
        assert (
            mine.status_code == 200 and mine.json()["reply"] == "迟到的答复" and mine.json()["name"] == "张三"
        )
        wrong = await client.get(
            f"/v1/public/inquiries/{hidden['number']}", headers={"X-Access-Code": shown["access_code"]}
        )
        assert wrong.status_code == 404

        public = (await client.get("/v1/public/inquiries")).json()["items"]
        assert [p["number"] for p in public] == [shown["number"]]
        assert (
            public[0]["reply"] == "在线填报即可。" and "name" not in public[0] and "mobile" not in public[0]
        )

        # The inquirers' personal data: the department asked and the office only.
        supervisor = bearer(common, "supervisor", department="supervision", client_id="city-supervision")
        assert (await client.get("/v1/inquiries", headers=supervisor)).status_code == 403
        assert (await client.get("/v1/inquiries", headers=organ(common, "czj"))).json()["items"] == []

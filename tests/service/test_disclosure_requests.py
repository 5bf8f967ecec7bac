"""Disclosure on request (D7): receipt by channel (art. 31), the public form with its access code,
the answer clock (art. 30, 32, 33) and the answers (art. 36), as the organ and the applicant see them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.disclosure.sweeper import mark_requests
from services.disclosure.tables import disclosure_requests
from shared.events import DeadlineChanged, DeadlinePassed
from shared.events.contracts import (
    DisclosureRequestAnswered,
    DisclosureRequestClockChanged,
    DisclosureRequestReceived,
)
from shared.settings import CommonSettings
from tests.support.calendar import deliver, moved_by_the_2027_table, official_2027_event
from tests.support.clock import at
from tests.support.disclosure import clock_at, disclosure
from tests.support.disclosure_requests import act, look_up, organ, received, submission
from tests.support.events import committed
from tests.support.infra import PostgresSource


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        ("in-person", "submitted_on"),
        ("post-signed", "signed_for_on"),
        ("post-unsigned", "confirmed_on"),
        ("online", "confirmed_on"),
        ("fax", "confirmed_on"),
    ],
)
async def test_D7_each_channel_of_art_31_fixes_the_day_of_receipt(
    postgres: PostgresSource, common: CommonSettings, channel: str, field: str
) -> None:
    async with disclosure(postgres, common) as (client, _app):
        request = await received(client, common, "2018-06-01", channel=channel)
        assert request["received_on"] == "2018-06-01" and request[field] == "2018-06-01"
        assert request["channel"] == channel and request["status"] == "pending"
        # 20 working days from Friday 06-01 (the 端午 holiday on Monday 06-18 not counted): 07-02.
        assert request["due_on"] == "2018-07-02" and request["deadline"] == "2018-07-03T00:00:00+08:00"

        # The channel's own date is required, and another channel's date is not a receipt.
        r = await client.post("/v1/requests", json=submission(channel=channel), headers=organ(common))
        assert r.status_code == 422 and r.json()["type"] == "/problems/receipt-date-required"
        assert r.json()["field"] == field and r.json()["rule"] == "D7"
        other = "submitted_on" if field != "submitted_on" else "confirmed_on"
        body = submission(channel=channel, **{field: "2018-06-01", other: "2018-05-30"})
        r = await client.post("/v1/requests", json=body, headers=organ(common))
        assert r.status_code == 422 and r.json()["type"] == "/problems/receipt-date-not-applicable"
        assert r.json()["field"] == other


async def test_D7_a_receipt_date_in_the_future_or_before_the_calendar_is_refused(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        with clock_at(app.state.ctx, "2018-06-01 10:00:00"):
            body = submission(channel="post-signed", signed_for_on="2018-06-02")
            r = await client.post("/v1/requests", json=body, headers=organ(common))
            assert r.status_code == 422, r.text
            assert (r.json()["type"], r.json()["field"]) == (
                "/problems/receipt-date-in-future",
                "signed_for_on",
            )
            body = submission(channel="in-person", submitted_on="2003-12-31")
            r = await client.post("/v1/requests", json=body, headers=organ(common))
            assert r.status_code == 422, r.text
            assert r.json()["type"] == "/problems/receipt-date-before-calendar"
            assert "2004" in r.json()["detail"]


async def test_D7_the_public_submits_without_an_account_and_only_the_access_code_opens_the_request(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        with clock_at(app.state.ctx, "2018-09-28 15:00:00"):
            r = await client.post("/v1/public/requests", json=submission())
        assert r.status_code == 201, r.text
        receipt = r.json()
        # Online through the platform: received the day it is submitted and acknowledged.
        assert receipt["received_on"] == "2018-09-28" and receipt["due_on"] == "2018-10-31"
        number, code = receipt["number"], receipt["access_code"]

        mine = await look_up(client, number, code)
        assert mine.status_code == 200, mine.text
        assert mine.json()["applicant"]["name"] == "张三" and mine.json()["registered_by"] == "public"
        assert mine.json()["channel"] == "online" and mine.json()["confirmed_on"] == "2018-09-28"

        # A wrong code and a wrong number answer alike: nothing tells a number exists.
        wrong_code = await look_up(client, number, "AAAA-BBBB-CCCC-DDDD")
        wrong_number = await look_up(client, "YSQ2018-00000000", code)
        assert wrong_code.status_code == wrong_number.status_code == 404
        same = ("type", "title", "status", "detail")
        assert [wrong_code.json()[k] for k in same] == [wrong_number.json()[k] for k in same]
        assert (await client.get(f"/v1/public/requests/{number}")).status_code == 404

        # The code is kept only as a digest; the event carries no personal data.
        async with app.state.ctx.db.reader() as session:
            row = (await session.execute(select(disclosure_requests))).one()
        assert code not in str(tuple(row)) and code.replace("-", "") not in str(tuple(row))
        (event,) = await committed(app, DisclosureRequestReceived)
        assert "张三" not in str(event) and "13800000000" not in str(event)
        assert event["applicant_type"] == "natural-person" and event["received_on"] == "2018-09-28"

        # Personal data: only the organ (and the office), not another department.
        other = await client.get(f"/v1/requests/{mine.json()['id']}", headers=organ(common, "czj"))
        assert other.status_code == 403
        listed = await client.get("/v1/requests", headers=organ(common, "czj"))
        assert listed.json()["items"] == []


async def test_D7_guessing_access_codes_is_rate_limited(
    postgres: PostgresSource, common: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XN_DISCLOSURE_ACCESS_MAX_FAILURES", "3")
    async with disclosure(postgres, common) as (client, _app):
        request = await received(client, common, "2018-06-01")
        guesser = {"X-Forwarded-For": "203.0.113.9"}
        for guess in ("AAAA", "BBBB", "CCCC"):
            assert (await look_up(client, request["number"], guess, **guesser)).status_code == 404
        r = await look_up(client, request["number"], request["access_code"], **guesser)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert r.json()["type"] == "/problems/too-many-attempts"
        # The applicant elsewhere is not locked out.
        r = await look_up(
            client, request["number"], request["access_code"], **{"X-Forwarded-For": "198.51.100.1"}
        )
        assert r.status_code == 200


async def test_D7_twenty_working_days_across_the_national_day_holiday_and_its_working_weekend(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    """Received Friday 2018-09-28. Working days after it: Sat 09-29 and Sun 09-30 (调休上班) are
    1 and 2, 10-01..07 are the holiday, then 10-08..12 (3–7), 10-15..19 (8–12), 10-22..26 (13–17),
    10-29, 30, 31 (18–20): the answer is due 10-31, 24:00."""
    async with disclosure(postgres, common) as (client, app):
        request = await received(client, common, "2018-09-28")
        assert request["due_on"] == "2018-10-31"
        assert request["deadline"] == "2018-11-01T00:00:00+08:00"
        assert request["deadline_provisional"] is False
        (event,) = await committed(app, DisclosureRequestReceived)
        assert event["deadline"] == "2018-11-01T00:00:00+08:00"


async def test_D7_one_extension_of_at_most_20_working_days_with_the_heads_consent(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        request = await received(client, common, "2018-06-01")
        extension = {
            "reason": "涉及多个部门，需协调核实",
            "consented_by": "李四（办公室主任）",
            "notified_on": "2018-06-25",
        }
        with clock_at(app.state.ctx, "2018-06-25 10:00:00"):
            r = await act(client, common, request, "extension", days=21, **extension)
            assert r.status_code == 422 and r.json()["type"] == "/problems/extension-too-long"
            assert r.json()["field"] == "days" and "20" in r.json()["detail"]
            r = await act(client, common, request, "extension", days=20, **extension)
            assert r.status_code == 201, r.text
            # Due 07-02, plus 20 working days: 07-30.
            assert r.json()["due_on"] == "2018-07-30" and r.json()["extension_days"] == 20
            assert r.json()["extension_consented_by"] == "李四（办公室主任）"
            (change,) = r.json()["clock_changes"]
            assert change["change"] == "extended" and change["changed_by"] == "client-fgw"
            assert change["old_deadline"] == "2018-07-03T00:00:00+08:00"
            assert change["new_deadline"] == "2018-07-31T00:00:00+08:00"
            assert "涉及多个部门" in change["reason"] and "李四" in change["reason"]
            r = await act(client, common, request, "extension", days=5, **extension)
            assert r.status_code == 409 and r.json()["type"] == "/problems/extension-already-granted"
        # The applicant sees the extension and its reason with the code.
        mine = await look_up(client, request["number"], request["access_code"])
        assert mine.json()["extension_reason"] == "涉及多个部门，需协调核实"
        (event,) = await committed(app, DisclosureRequestClockChanged)
        assert event["change"] == "extended" and event["new_deadline"] == "2018-07-31T00:00:00+08:00"

        late = await received(client, common, "2018-06-01")
        with clock_at(app.state.ctx, "2018-07-03 00:00:00"):
            r = await act(client, common, late, "extension", days=5, **extension)
        assert r.status_code == 409 and r.json()["type"] == "/problems/extension-after-deadline"


async def test_D7_a_completion_notice_within_7_working_days_restarts_the_clock_from_the_completion(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        request = await received(client, common, "2018-06-01")
        with clock_at(app.state.ctx, "2018-06-13 09:00:00"):
            # 7 working days after Friday 06-01 end on Tuesday 06-12.
            r = await act(
                client, common, request, "completion-notice", items="请写明年份", notified_on="2018-06-13"
            )
            assert r.status_code == 422 and r.json()["type"] == "/problems/completion-notice-late"
            assert "2018-06-12" in r.json()["detail"]
            r = await act(
                client,
                common,
                request,
                "completion-notice",
                items="请写明年份",
                notified_on="2018-06-05",
                complete_by="2018-06-20",
            )
            assert r.status_code == 201, r.text
            assert r.json()["status"] == "awaiting-completion" and r.json()["deadline"] is None
            r = await act(
                client, common, request, "completion-notice", items="再补充", notified_on="2018-06-06"
            )
            assert r.status_code == 409 and r.json()["type"] == "/problems/completion-already-requested"
        with clock_at(app.state.ctx, "2018-06-15 09:00:00"):
            r = await act(
                client, common, request, "completion", completed_on="2018-06-15", content="2018年的资金安排"
            )
        assert r.status_code == 201, r.text
        restarted = r.json()
        # From Friday 06-15 (the 端午 holiday 06-18 not counted): 20 working days end on 07-16.
        assert restarted["status"] == "pending" and restarted["clock_start_on"] == "2018-06-15"
        assert restarted["due_on"] == "2018-07-16" and restarted["content"] == "2018年的资金安排"
        assert [c["change"] for c in restarted["clock_changes"]] == ["completion-requested", "completed"]


async def test_D7_a_request_not_completed_in_the_stated_time_is_abandoned(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        request = await received(client, common, "2018-06-01")
        with clock_at(app.state.ctx, "2018-06-05 09:00:00"):
            r = await act(
                client, common, request, "completion-notice", items="请写明年份", complete_by="2018-06-20"
            )
        assert r.status_code == 201 and r.json()["complete_by"] == "2018-06-20"
        ctx = app.state.ctx
        assert await mark_requests(ctx, at("2018-06-20 23:59:59")) == 0
        assert await mark_requests(ctx, at("2018-06-21 00:00:00")) == 1
        assert await mark_requests(ctx, at("2018-06-22 00:00:00")) == 0
        mine = (await look_up(client, request["number"], request["access_code"])).json()
        assert mine["status"] == "abandoned" and mine["abandoned_at"] == "2018-06-21T00:00:00+08:00"
        assert mine["clock_changes"][-1]["change"] == "abandoned"
        events = await committed(app, DisclosureRequestClockChanged)
        assert [e["change"] for e in events] == ["completion-requested", "abandoned"]
        with clock_at(ctx, "2018-06-22 09:00:00"):
            r = await act(client, common, request, "completion", completed_on="2018-06-20")
        assert r.status_code == 409 and r.json()["type"] == "/problems/request-state"
        # An abandoned request is never late.
        assert await committed(app, DeadlinePassed) == []


async def test_D7_third_party_consultation_time_is_not_counted(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        request = await received(client, common, "2018-06-01")
        with clock_at(app.state.ctx, "2018-06-05 09:00:00"):
            r = await act(
                client,
                common,
                request,
                "consultation",
                third_parties=["湖州某某建设有限公司"],
                reason="合同含第三方商业信息",
            )
        assert r.status_code == 201, r.text
        # Until the reply, the deadline assumes the third party uses its 15 working days.
        assert r.json()["status"] == "consulting" and r.json()["due_on"] == "2018-07-23"
        with clock_at(app.state.ctx, "2018-06-08 17:00:00"):
            r = await act(
                client, common, request, "consultation/end", ended_on="2018-06-08", outcome="不同意公开报价"
            )
        assert r.status_code == 201, r.text
        # 06-06, 06-07 and 06-08 did not count: 07-02 + 3 working days = 07-05.
        assert r.json()["paused_days"] == 3 and r.json()["due_on"] == "2018-07-05"
        assert [c["change"] for c in r.json()["clock_changes"]] == [
            "consultation-started",
            "consultation-ended",
        ]
        ctx = app.state.ctx
        assert await mark_requests(ctx, at("2018-07-03 00:00:00")) == 0
        assert await mark_requests(ctx, at("2018-07-06 00:00:00")) == 1


ANSWERS = [
    (
        "already-public",
        {"documents": [{"title": "老旧小区改造资金安排", "url": "https://www.huzhou.gov.cn/a/1"}]},
    ),
    ("disclosed", {"documents": [{"title": "老旧小区改造资金安排"}]}),
    (
        "partly-disclosed",
        {"documents": [{"title": "资金安排（删除个人信息）"}], "reason": "含个人信息部分不予公开"},
    ),
    ("not-disclosed", {"ground": "state-secret", "reason": "经保密审查属于国家秘密"}),
    ("cannot-provide", {"ground": "not-held"}),
    ("cannot-provide", {"ground": "needs-production"}),
    ("not-handled", {"ground": "complaint"}),
    ("not-this-organ", {"reason": "该信息由市建设局制作", "responsible_organ": "市建设局 0572-0000000"}),
    ("other", {"reason": "申请人撤回申请"}),
]


@pytest.mark.parametrize(("kind", "body"), ANSWERS, ids=[f"{k}-{b.get('ground', '')}" for k, b in ANSWERS])
async def test_D7_each_kind_of_answer_of_art_36(
    postgres: PostgresSource, common: CommonSettings, kind: str, body: dict[str, object]
) -> None:
    async with disclosure(postgres, common) as (client, app):
        request = await received(client, common, "2018-06-01")
        with clock_at(app.state.ctx, "2018-06-20 10:00:00"):
            r = await act(client, common, request, "answer", kind=kind, **body)
        assert r.status_code == 201, r.text
        shown = r.json()["answer"]
        assert r.json()["status"] == "answered" and shown["kind"] == kind and shown["late"] is False
        assert shown["ground"] == body.get("ground")
        mine = (await look_up(client, request["number"], request["access_code"])).json()
        assert mine["answer"] == shown
        (event,) = await committed(app, DisclosureRequestAnswered)
        assert (event["kind"], event["ground"], event["late"]) == (kind, body.get("ground"), False)


@pytest.mark.parametrize(
    ("kind", "body", "problem", "field"),
    [
        ("not-disclosed", {"reason": "保密"}, "answer-ground-required", "ground"),
        ("cannot-provide", {}, "answer-ground-required", "ground"),
        ("not-handled", {}, "answer-ground-required", "ground"),
        ("not-disclosed", {"ground": "not-held", "reason": "x"}, "answer-ground-invalid", "ground"),
        ("cannot-provide", {"ground": "unclear-after-completion"}, "not-completed", "ground"),
        (
            "disclosed",
            {"ground": "state-secret", "documents": [{"title": "x"}]},
            "ground-not-applicable",
            "ground",
        ),
        ("disclosed", {}, "answer-documents-required", "documents"),
        ("not-disclosed", {"ground": "state-secret"}, "answer-reason-required", "reason"),
        (
            "disclosed",
            {"documents": [{"document_id": "doc-nothere"}]},
            "document-not-in-catalogue",
            "documents[0].document_id",
        ),
    ],
)
async def test_D7_an_answer_without_what_its_kind_requires_is_refused(
    postgres: PostgresSource,
    common: CommonSettings,
    kind: str,
    body: dict[str, object],
    problem: str,
    field: str,
) -> None:
    async with disclosure(postgres, common) as (client, app):
        request = await received(client, common, "2018-06-01")
        with clock_at(app.state.ctx, "2018-06-20 10:00:00"):
            r = await act(client, common, request, "answer", kind=kind, **body)
        assert r.status_code == 422, r.text
        assert (r.json()["type"], r.json()["field"], r.json()["rule"]) == (
            f"/problems/{problem}",
            field,
            "D7",
        )


async def test_D7_a_late_answer_is_announced_deadline_passed_once(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        swept = await received(client, common, "2018-06-01")
        unswept = await received(client, common, "2018-06-01", department="czj")
        ctx = app.state.ctx
        assert await mark_requests(ctx, at("2018-07-02 23:59:59")) == 0
        with clock_at(ctx, "2018-07-03 00:00:00"):
            # Answered at 24:00 of the last day: late; recorded by the answer, the sweep finds nothing more.
            r = await client.post(
                f"/v1/requests/{unswept['id']}/answer",
                json={"kind": "cannot-provide", "ground": "not-held"},
                headers=organ(common, "czj"),
            )
        assert r.status_code == 201 and r.json()["answer"]["late"] is True
        assert await mark_requests(ctx, at("2018-07-03 00:00:00")) == 1
        assert await mark_requests(ctx, at("2018-07-10 00:00:00")) == 0
        with clock_at(ctx, "2018-07-05 10:00:00"):
            r = await act(client, common, swept, "answer", kind="cannot-provide", ground="not-held")
        assert r.status_code == 201 and r.json()["answer"]["late"] is True
        assert r.json()["overdue_at"] == "2018-07-03T00:00:00+08:00"
        passed = await committed(app, DeadlinePassed)
        assert sorted((e["subject_id"], e["department"]) for e in passed) == sorted(
            [(unswept["id"], "czj"), (swept["id"], "fgw")]
        )
        assert all(
            e["subject_kind"] == "disclosure-request" and e["deadline"] == "2018-07-03T00:00:00+08:00"
            for e in passed
        )
        answered = await committed(app, DisclosureRequestAnswered)
        assert [e["late"] for e in answered] == [True, True]


async def test_D7_the_official_holiday_table_moves_a_running_answer_clock_and_logs_it(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    """Received Thursday 2027-01-28, before 2027 has an official table: on the provisional one
    (春节 02-05 and 02-08 off) the 20th working day is Monday 03-01. The (test) official table
    takes 02-05 and 02-08..12 off and makes Sunday 02-14 a working day: the 20th is Thursday 03-04."""
    async with disclosure(postgres, common) as (client, app):
        with clock_at(app.state.ctx, "2027-01-28 10:00:00"):
            request = await received(client, common, "2027-01-28")
            answered = await received(client, common, "2027-01-28")
            r = await act(client, common, answered, "answer", kind="cannot-provide", ground="not-held")
            assert r.status_code == 201, r.text
        assert (request["due_on"], request["deadline_provisional"]) == ("2027-03-01", True)
        await deliver(app, app.state.ctx.bus, official_2027_event())
        moved = (await client.get(f"/v1/requests/{request['id']}", headers=organ(common))).json()
        assert (moved["due_on"], moved["deadline_provisional"]) == ("2027-03-04", False)
        (logged,) = moved["clock_changes"]
        assert logged["change"] == "calendar" and logged["changed_by"] == "test-admin"
        assert (logged["old_deadline"], logged["new_deadline"]) == (
            "2027-03-02T00:00:00+08:00",
            "2027-03-05T00:00:00+08:00",
        )
        assert await committed(app, DeadlineChanged) == [
            moved_by_the_2027_table(
                "disclosure-request",
                request["id"],
                "fgw",
                "2027-03-02T00:00:00+08:00",
                "2027-03-05T00:00:00+08:00",
            )
        ]
        # An answered request keeps its clock.
        kept = (await client.get(f"/v1/requests/{answered['id']}", headers=organ(common))).json()
        assert kept["due_on"] == "2027-03-01"

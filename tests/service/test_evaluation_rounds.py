"""Evaluation rounds through the HTTP API: state machine, panel (E1), reference pack (E2), ballots
(E1, E5), tally with ties (E3), recount, and who may do what. The helpers are in
``tests.support.evaluation``.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import httpx

from services.evaluation import verify
from shared.events import (
    DeadlinePassed,
    DocumentFormed,
    DocumentPublished,
    EventData,
    InterviewRequired,
    RankingPublished,
    RoundTallied,
    TaskAssigned,
    VoteCast,
    topic_for,
)
from shared.reference import panel_categories
from shared.settings import CommonSettings
from tests.support.apps import bearer
from tests.support.evaluation import (
    CANDIDATES,
    all_ballots,
    ballot,
    ballots_for,
    consumed,
    create_round,
    decrypt_aggregates,
    evaluation,
    evaluator,
    eventually_events,
    office,
    open_round,
    panel_entries,
    problem,
    run_round,
    vote,
    with_election_key,
)
from tests.support.events import message_of
from tests.support.infra import PostgresSource

# --- state machine ------------------------------------------------------------------------------


async def test_E1_E3_round_runs_from_draft_to_published_results(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        created = await create_round(client, common, "2018-Q2")
        assert created["state"] == "draft" and created["quarter_label"] == "2018年第二季度"
        assert created["schedule"] == {
            "reference_pack_due": "2018-07-20",
            "vote_on": "2018-07-20",
            "tally_due": "2018-07-25",
        }
        assert [c["code"] for c in created["candidates"]] == CANDIDATES and created["panel_size"] == 100
        r = await client.get("/v1/rounds/2018-Q2", headers=office(common))
        assert r.json()["state"] == "draft"

        r = await client.put(
            "/v1/rounds/2018-Q2/candidates", json={"departments": CANDIDATES[:10]}, headers=office(common)
        )
        assert [c["code"] for c in r.json()["candidates"]] == CANDIDATES[:10]
        entries = panel_entries("life", "2018-07-18")
        r = await client.post("/v1/rounds/2018-Q2/panel", json={"entries": entries}, headers=office(common))
        assert r.status_code == 201 and len(r.json()) == 100
        r = await client.post("/v1/rounds/2018-Q2/publish-reference-pack", headers=office(common))
        assert r.status_code == 200 and r.json()["published"] is True
        # E5: no vote before the trustees' key ceremony has made the election key.
        body = problem(
            await client.post("/v1/rounds/2018-Q2/open-voting", headers=office(common)),
            409,
            "key-ceremony-incomplete",
        )
        assert body["rule"] == "E5"
        await with_election_key(client, common, "2018-Q2")
        r = await client.post("/v1/rounds/2018-Q2/open-voting", headers=office(common))
        assert r.status_code == 200 and r.json()["state"] == "voting-open"
        assert r.json()["scheme"] == "encrypted" and r.json()["election_key"] and r.json()["turnout"] is None
        r = await vote(client, common, "2018-Q2", entries[0]["account"], CANDIDATES[:3])
        assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
        assert set(r.json()) == {"round_id", "tracker"} and len(r.json()["tracker"]) == 64
        assert (await client.get("/v1/rounds/2018-Q2", headers=office(common))).json()["turnout"] is None
        r = await client.post("/v1/rounds/2018-Q2/close-voting", headers=office(common))
        assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["turnout"] == 1
        # E3: the counts exist only once a threshold of trustees decrypted the aggregates.
        problem(
            await client.post("/v1/rounds/2018-Q2/tally", headers=office(common)), 409, "awaiting-trustees"
        )
        await decrypt_aggregates(client, common, "2018-Q2")
        for step, state in (("tally", "tallied"), ("publish-results", "results-published")):
            r = await client.post(f"/v1/rounds/2018-Q2/{step}", headers=office(common))
            assert r.status_code == 200, r.text
            assert r.json()["state"] == state
        public = await client.get("/v1/rounds/2018-Q2/results")
        assert public.status_code == 200 and sorted(public.json()["selected"]) == sorted(CANDIDATES[:3])
        listed = await client.get("/v1/rounds", params={"limit": 1}, headers=office(common))
        assert [r["id"] for r in listed.json()["items"]] == ["2018-Q2"]


async def test_E1_round_refuses_steps_out_of_order(postgres: PostgresSource, common: CommonSettings) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        await create_round(client, common, "2018-Q3")
        problem(
            await client.post("/v1/rounds", json={"quarter": "2018-Q3"}, headers=office(common)),
            409,
            "round-exists",
        )
        problem(
            await client.post("/v1/rounds", json={"quarter": "2018-Q5"}, headers=office(common)),
            422,
            "validation-error",
        )
        bad_day = {"quarter": "2018-Q4", "vote_on": "2018-12-01"}
        problem(await client.post("/v1/rounds", json=bad_day, headers=office(common)), 422, "invalid-quarter")
        body = problem(
            await client.post("/v1/rounds/2018-Q3/open-voting", headers=office(common)),
            409,
            "invalid-round-state",
        )
        assert "草拟" in body["detail"] and body["rule"] == "E1"
        problem(
            await client.post("/v1/rounds/2018-Q3/tally", headers=office(common)), 409, "invalid-round-state"
        )
        problem(await vote(client, common, "2018-Q3", "anyone", CANDIDATES[:3]), 409, "invalid-round-state")
        problem(await client.get("/v1/rounds/2017-Q1", headers=office(common)), 404, "round-not-found")
        problem(
            await client.put(
                "/v1/rounds/2018-Q3/candidates",
                json={"departments": ["fgw", "office"]},
                headers=office(common),
            ),
            422,
            "unknown-department",
        )


# --- panel (E1) --------------------------------------------------------------------------------


async def short_panel_cannot_open_the_vote(
    client: httpx.AsyncClient, common: CommonSettings, url: str, entries: list[dict[str, Any]]
) -> dict[str, Any]:
    """99 of the 100: accepted, shown incomplete, and the vote cannot open; the panel as listed."""
    r = await client.post(url, json={"entries": entries[:-1]}, headers=office(common))
    assert r.status_code == 201
    panel = (await client.get(url, headers=office(common))).json()
    assert panel["composition"]["total"] == 99 and not panel["composition"]["complete"]
    last = panel_categories()[-1]
    assert panel["composition"]["problems"] == [
        f"“{last.name}”应为 {last.quota} 名，现有 {last.quota - 1} 名",
        "评定人员应共 100 名，现有 99 名",
    ]
    assert (
        await client.post("/v1/rounds/2018-Q2/publish-reference-pack", headers=office(common))
    ).status_code == 200
    body = problem(
        await client.post("/v1/rounds/2018-Q2/open-voting", headers=office(common)),
        409,
        "panel-incomplete",
    )
    assert "市民主监督团成员" in body["detail"]
    return panel  # type: ignore[no-any-return]


async def overlaps_and_exceeded_quotas_are_refused(
    client: httpx.AsyncClient,
    common: CommonSettings,
    url: str,
    entries: list[dict[str, Any]],
    panel: dict[str, Any],
) -> dict[str, Any]:
    """Entries the panel refuses; the entrepreneur one too many, which a full panel refuses later."""
    # The same person again, now as an entrepreneur: refused, naming both entries.
    first = panel["entries"][0]
    twin = {**entries[-1], "category": "entrepreneurs", "person_id": first["person_id"], "account": "twin"}
    body = problem(
        await client.post(url, json={"entries": [twin]}, headers=office(common)), 409, "panel-overlap"
    )
    assert body["entries"][0] == first["id"] and body["entries"][1].startswith("pe-")
    assert first["id"] in body["detail"] and body["entries"][1] in body["detail"] and body["rule"] == "E1"
    # One more entrepreneur exceeds the category's quota.
    extra = {**entries[-1], "category": "entrepreneurs", "person_id": "new-person", "account": "new-account"}
    body = problem(
        await client.post(url, json={"entries": [extra]}, headers=office(common)),
        422,
        "panel-quota-exceeded",
    )
    assert "市本级企业家" in body["detail"]
    # District splits are quotas too.
    edz = next(e for e in panel["entries"] if e["district"] == "huzhou-edz")
    other = {
        **entries[-1],
        "category": edz["category"],
        "district": "huzhou-edz",
        "person_id": "x",
        "account": "y",
    }
    problem(
        await client.post(url, json={"entries": [other]}, headers=office(common)),
        422,
        "panel-quota-exceeded",
    )
    problem(
        await client.post(url, json={"entries": [{**other, "district": None}]}, headers=office(common)),
        422,
        "panel-district-mismatch",
    )
    # A batch with an internal overlap is refused as a whole.
    a = {**entries[-1], "person_id": "dup", "account": "a1"}
    problem(
        await client.post(url, json={"entries": [a, {**a, "account": "a2"}]}, headers=office(common)),
        409,
        "panel-overlap",
    )
    return extra


async def test_E1_panel_is_checked_against_quotas_and_refuses_overlaps_naming_both_entries(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        await create_round(client, common, "2018-Q2")
        entries = panel_entries("quota")
        url = "/v1/rounds/2018-Q2/panel"
        panel = await short_panel_cannot_open_the_vote(client, common, url, entries)
        extra = await overlaps_and_exceeded_quotas_are_refused(client, common, url, entries, panel)

        # Adjusting: remove one entry and add the missing member; now voting can open.
        removed = panel["entries"][-1]
        assert (await client.delete(f"{url}/{removed['id']}", headers=office(common))).status_code == 204
        problem(
            await client.delete(f"{url}/{removed['id']}", headers=office(common)),
            404,
            "panel-entry-not-found",
        )
        readd = {k: removed[k] for k in ("person_id", "name", "category", "district", "account", "named_on")}
        r = await client.post(url, json={"entries": [entries[-1], readd]}, headers=office(common))
        assert r.status_code == 201, r.text
        assert (await client.get(url, headers=office(common))).json()["composition"]["complete"]
        await with_election_key(client, common, "2018-Q2")
        assert (
            await client.post("/v1/rounds/2018-Q2/open-voting", headers=office(common))
        ).status_code == 200
        problem(
            await client.post(url, json={"entries": [extra]}, headers=office(common)),
            409,
            "invalid-round-state",
        )


async def test_E1_rotating_members_named_on_the_vote_day_are_refused(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        await create_round(client, common, "2018-Q2", vote_on="2018-07-19")
        entry = next(e for e in panel_entries("late") if e["category"] == "entrepreneurs")
        url = "/v1/rounds/2018-Q2/panel"
        body = problem(
            await client.post(
                url, json={"entries": [{**entry, "named_on": "2018-07-19"}]}, headers=office(common)
            ),
            422,
            "rotating-member-named-too-late",
        )
        assert body["field"] == "named_on" and "投票前 1 天" in body["detail"]
        r = await client.post(
            url, json={"entries": [{**entry, "named_on": "2018-07-18"}]}, headers=office(common)
        )
        assert r.status_code == 201


async def test_E1_panel_for_a_vote_in_a_year_without_an_official_holiday_table(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    """2027 has no official holiday table yet (its calendar is provisional): naming rotating
    members before the vote is still checked and a full panel is still accepted."""
    async with evaluation(postgres, common) as (client, _bus, _app):
        round_ = await create_round(client, common, "2026-Q4")
        assert round_["schedule"]["vote_on"] == "2027-01-20"
        url = "/v1/rounds/2026-Q4/panel"
        late = next(e for e in panel_entries("late-2027", "2027-01-20") if e["category"] == "entrepreneurs")
        body = problem(
            await client.post(url, json={"entries": [late]}, headers=office(common)),
            422,
            "rotating-member-named-too-late",
        )
        assert body["field"] == "named_on" and "投票日为 2027-01-20" in body["detail"]
        r = await client.post(
            url, json={"entries": panel_entries("p2027", "2027-01-19")}, headers=office(common)
        )
        assert r.status_code == 201, r.text
        r = await client.get(url, headers=office(common))
        assert r.status_code == 200 and r.json()["composition"]["complete"] is True


# --- reference pack (E2) -----------------------------------------------------------------------

IN_Q2 = datetime(2018, 5, 15, 9, tzinfo=UTC)


def message(data: EventData) -> Any:
    return message_of(data, at=IN_Q2)


def document_facts(department: str, due: datetime) -> list[EventData]:
    return [
        DocumentFormed(
            document_id="doc-1",
            version=1,
            department=department,
            document_number="湖政发〔2018〕1号",
            title="关于加强行政效能建设的通知",
            formed_on=date(2018, 6, 1),
            deadline=due,
        ),
        DocumentPublished(
            document_id="doc-0",
            version=1,
            department=department,
            published_at=datetime(2018, 5, 2, 2, tzinfo=UTC),
            deadline=datetime(2018, 4, 30, 16, tzinfo=UTC),
            on_time=False,
            url="https://www.huzhou.gov.cn/art/2018/5/2/art_1.html",
        ),
        DeadlinePassed(
            subject_kind="document-version",
            subject_id="doc-1@1",
            department=department,
            deadline=due,
            consequence="overdue",
        ),
    ]


def joint_item_and_ranking_facts(department: str, due: datetime) -> list[EventData]:
    return [
        TaskAssigned(
            task_id="item-1",
            kind="joint-item",
            parent_id="m-1",
            lead_department="fgw",
            department=department,
            deadline=due,
        ),
        DeadlinePassed(
            subject_kind="joint-item",
            subject_id="item-1",
            department=department,
            deadline=due,
            consequence="deemed-consent",
        ),
        RankingPublished(
            bulletin_id="b-2018-05",
            indicator="local-fiscal-revenue",
            period="2018-05",
            rank=7,
            cities=11,
            departments=[department],
            worse_than_threshold=True,
        ),
        InterviewRequired(
            interview_id="iv-2018-05-x",
            department=department,
            reason="月度指标连续三次全省排名第5位以后",
            interviewers=["vm-executive", "dsg-economy"],
            indicator="local-fiscal-revenue",
            period="2018-05",
        ),
    ]


def quarter_events(department: str) -> list[EventData]:
    due = datetime(2018, 6, 12, 16, tzinfo=UTC)  # 2018-06-13 00:00 in Shanghai: last day 06-12
    return document_facts(department, due) + joint_item_and_ranking_facts(department, due)


def czj_counts_every_kind_of_fact(pack: dict[str, Any]) -> None:
    czj = next(d for d in pack["departments"] if d["code"] == "czj")
    assert (czj["rankings_published"], czj["rankings_worse_than_threshold"], czj["reports_due"]) == (
        1,
        1,
        1,
    )
    assert czj["rankings"][0]["period"] == "2018-05" and czj["rankings"][0]["rank"] == 7
    assert czj["rankings"][0]["indicator_name"] == "地方财政收入"
    assert [i["interview_id"] for i in czj["interviews_required"]] == ["iv-2018-05-x"]
    assert (czj["joint_items_assigned"], czj["joint_items_deemed_consent"]) == (1, 1)
    assert (czj["documents_formed"], czj["documents_published_late"], czj["documents_overdue"]) == (
        1,
        1,
        1,
    )
    assert {n["kind"] for n in czj["notable"]} >= {
        "joint-item-deemed-consent",
        "document-version-overdue",
        "document-published-late",
    }
    overdue = next(n for n in czj["notable"] if n["kind"] == "document-version-overdue")
    assert overdue["on"] == "2018-06-12"


async def test_E2_reference_pack_gathers_the_quarter_facts_as_json_and_printable_html(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, bus, app):
        events = quarter_events("czj")
        outside = [
            # Ranked for July: the July round's business, not the second quarter's.
            RankingPublished(
                bulletin_id="b-2018-07",
                indicator="local-fiscal-revenue",
                period="2018-07",
                rank=9,
                cities=11,
                departments=["czj"],
                worse_than_threshold=True,
            ),
        ]
        await bus.publish([message(e) for e in events + outside])
        await consumed(app, len(events) + 1)
        await create_round(client, common, "2018-Q2")
        url = "/v1/rounds/2018-Q2/reference-pack"
        ev = evaluator(common, "someone")
        problem(await client.get(url, headers=ev), 409, "pack-not-published")
        preview = (await client.get(url, headers=office(common))).json()
        assert preview["published"] is False

        r = await client.post("/v1/rounds/2018-Q2/publish-reference-pack", headers=office(common))
        assert r.status_code == 200 and r.json()["published"] is True
        pack = (await client.get(url, headers=ev)).json()
        assert pack["published"] and (pack["period_from"], pack["period_to"]) == ("2018-04-01", "2018-06-30")
        assert [d["code"] for d in pack["departments"]] == CANDIDATES
        czj_counts_every_kind_of_fact(pack)
        fgw = next(d for d in pack["departments"] if d["code"] == "fgw")
        assert fgw["counts"] == {}

        page = await client.get("/v1/rounds/2018-Q2/reference-pack.html", headers=ev)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "2018年第二季度“低效能”部门预评参考材料" in page.text
        assert "市财政局" in page.text and "会办事项逾期未反馈，视作同意" in page.text

        # Published means frozen: a late fact does not change what evaluators read.
        late = TaskAssigned(
            task_id="item-2",
            kind="joint-item",
            parent_id="m-2",
            lead_department="fgw",
            department="czj",
            deadline=IN_Q2,
        )
        await bus.publish([message(late)])
        await consumed(app, len(events) + 2)
        again = (await client.get(url, headers=ev)).json()
        assert next(d for d in again["departments"] if d["code"] == "czj")["joint_items_assigned"] == 1


# --- ballots (E1, E5) --------------------------------------------------------------------------


async def test_E1_E5_bad_ballots_get_problem_details(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        accounts = await open_round(client, common, "2018-Q2")
        url = "/v1/rounds/2018-Q2/ballots"
        me = evaluator(common, accounts[0])
        body = problem(
            await client.post(url, json=ballot("fgw", "jxw"), headers=me), 422, "wrong-number-of-choices"
        )
        assert body["rule"] == "E1" and "3" in body["detail"]
        problem(
            await client.post(url, json=ballot("fgw", "jxw", "jtj", "czj"), headers=me),
            422,
            "wrong-number-of-choices",
        )
        problem(await client.post(url, json=ballot("fgw", "fgw", "jtj"), headers=me), 422, "repeated-choice")
        body = problem(
            await client.post(url, json=ballot("fgw", "jxw", "zzz"), headers=me), 422, "not-a-candidate"
        )
        assert "zzz" in body["detail"]
        problem(
            await client.post(url, json=ballot("fgw", "jxw", "jtj", factors=["nope"]), headers=me),
            422,
            "unknown-consideration-factor",
        )
        problem(await client.post(url, json={"choices": "fgw"}, headers=me), 422, "validation-error")
        problem(
            await client.post(url, json=ballot("fgw", "jxw", "jtj"), headers=evaluator(common, "stranger")),
            403,
            "not-on-panel",
        )
        problem(
            await client.post(url, json=ballot("fgw", "jxw", "jtj"), headers=office(common)), 403, "forbidden"
        )

        factors = {"factors": ["buck-passing-and-delay"], "reason": "会办事项多次逾期"}
        first = await client.post(url, json=ballot("fgw", "jxw", "jtj", **factors), headers=me)
        assert first.status_code == 201, first.text
        assert set(first.json()) == {"round_id", "tracker"}
        body = problem(
            await client.post(url, json=ballot("czj", "jxw", "jtj"), headers=me), 409, "already-voted"
        )
        assert body["rule"] == "E5"
        status = (await client.get("/v1/rounds/2018-Q2/participation/me", headers=me)).json()
        assert status == {"round_id": "2018-Q2", "on_panel": True, "voted": True}

        assert (
            await client.post("/v1/rounds/2018-Q2/close-voting", headers=office(common))
        ).status_code == 200
        problem(
            await client.post(url, json=ballot("fgw", "jxw", "jtj"), headers=evaluator(common, accounts[1])),
            409,
            "invalid-round-state",
        )
        # E5: the stored ballot is the ciphertexts and proofs only; the reason is sealed elsewhere.
        mine = await client.get(f"{url}/{first.json()['tracker']}", headers=me)
        assert mine.status_code == 200 and mine.json()["tracker"] == first.json()["tracker"]
        stored = mine.json()["ballot"]
        assert [c["department"] for c in stored["choices"]] == CANDIDATES
        assert set(stored["choices"][0]) == {"department", "alpha", "beta", "proof"}
        assert "会办事项" not in mine.text and "buck-passing" not in mine.text
        listed = await client.get(url, params={"tracker": first.json()["tracker"]}, headers=me)
        assert [b["tracker"] for b in listed.json()["items"]] == [first.json()["tracker"]]


async def test_E5_vote_cast_carries_the_round_and_the_tracker_only_no_turnout(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, bus, _app):
        accounts = await open_round(client, common, "2018-Q2")
        trackers = []
        for n, account in enumerate(accounts[:3]):
            r = await vote(client, common, "2018-Q2", account, CANDIDATES[n : n + 3])
            trackers.append(r.json()["tracker"])
        events = await eventually_events(bus, VoteCast, common, 3)
        assert events == [{"round_id": "2018-Q2", "tracker": t} for t in trackers]
        headers = dict(bus.messages(topic_for(VoteCast, common.topic_prefix))[0].headers)
        assert headers["ce_subject"] == b"2018-Q2"


# --- tally (E3) and recount ---------------------------------------------------------------------


async def test_E3_tie_at_third_place_selects_four_and_a_recount_of_published_ballots_agrees(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, bus, _app):
        counts = {"jxw": 20, "fgw": 15, "jtj": 12, "czj": 12}
        fillers = [d for d in CANDIDATES if d not in counts]
        results = await run_round(client, common, "2018-Q2", ballots_for(counts, fillers))
        assert sorted(results["selected"]) == ["czj", "fgw", "jtj", "jxw"]
        ranks = {s["department"]: (s["votes"], s["rank"]) for s in results["standings"]}
        assert [ranks[d] for d in ("jxw", "fgw", "jtj", "czj")] == [(20, 1), (15, 2), (12, 3), (12, 3)]
        assert results["ballots"] == 20 and all(
            s["consequences"] == ["working-group-interview"] for s in results["standings"] if s["selected"]
        )
        assert all(not s["selected"] for s in results["standings"] if s["votes"] == 0)

        # Anyone entitled recounts from the published encrypted ballots and gets the same result.
        published = await all_ballots(client, "2018-Q2", evaluator(common, "any-evaluator"))
        assert len(published) == 20 and len({b["tracker"] for b in published}) == 20
        data = await client.get("/v1/rounds/2018-Q2/verification", headers=evaluator(common, "any-evaluator"))
        assert sorted(b["tracker"] for b in data.json()["ballots"]) == sorted(b["tracker"] for b in published)
        recount = Counter(verify.recount(data.json()))
        official = {s["department"]: s["votes"] for s in results["standings"]}
        assert {d: recount.get(d, 0) for d in official} == official
        third = sorted(recount.values(), reverse=True)[2]
        assert sorted(d for d, v in recount.items() if v >= third) == sorted(results["selected"])

        tallied = await eventually_events(bus, RoundTallied, common, 1)
        assert tallied[0]["votes"] == {d: v for d, v in official.items() if v} and tallied[0]["ballots"] == 20
        assert sorted(tallied[0]["selected"]) == sorted(results["selected"])


async def test_E3_a_round_without_ballots_selects_nobody(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        results = await run_round(client, common, "2018-Q2", [])
        assert results["selected"] == [] and results["ballots"] == 0
        assert {s["rank"] for s in results["standings"]} == {1}


# --- who may do what ---------------------------------------------------------------------------


async def test_office_runs_rounds_evaluators_vote_leaders_read_results_public_after_publication(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        department = bearer(common, "department", department="jtj")
        leader = bearer(common, "leader", client_id="vm-executive")
        problem(
            await client.post("/v1/rounds", json={"quarter": "2018-Q2"}, headers=department), 403, "forbidden"
        )
        problem(await client.post("/v1/rounds", json={"quarter": "2018-Q2"}), 401, "unauthorized")
        accounts = await open_round(client, common, "2018-Q2")
        me = evaluator(common, accounts[0])
        problem(await client.get("/v1/rounds/2018-Q2/panel", headers=me), 403, "forbidden")
        problem(await client.post("/v1/rounds/2018-Q2/close-voting", headers=me), 403, "forbidden")
        assert (await client.get("/v1/rounds/2018-Q2/reference-pack", headers=me)).status_code == 200
        assert (await vote(client, common, "2018-Q2", accounts[0], ["fgw", "jxw", "jtj"])).status_code == 201
        # While the vote is open nobody sees ballots or results, organizers included.
        problem(
            await client.get("/v1/rounds/2018-Q2/ballots", headers=office(common)),
            409,
            "ballots-not-published",
        )
        problem(await client.get("/v1/rounds/2018-Q2/results", headers=leader), 409, "results-not-available")
        supervisor = bearer(common, "supervisor", client_id="duchashi")
        assert (await client.post("/v1/rounds/2018-Q2/close-voting", headers=supervisor)).status_code == 200
        await decrypt_aggregates(client, common, "2018-Q2")
        problem(await client.get("/v1/rounds/2018-Q2/ballots"), 401, "unauthorized")
        assert (await client.get("/v1/rounds/2018-Q2/ballots", headers=me)).status_code == 200
        problem(await client.post("/v1/rounds/2018-Q2/tally", headers=leader), 403, "forbidden")
        assert (await client.post("/v1/rounds/2018-Q2/tally", headers=supervisor)).status_code == 200
        assert (await client.get("/v1/rounds/2018-Q2/results", headers=leader)).status_code == 200
        problem(await client.get("/v1/rounds/2018-Q2/results", headers=me), 403, "forbidden")
        problem(await client.get("/v1/rounds/2018-Q2/results"), 401, "unauthorized")
        assert (
            await client.post("/v1/rounds/2018-Q2/publish-results", headers=office(common))
        ).status_code == 200
        assert (await client.get("/v1/rounds/2018-Q2/results")).status_code == 200
        assert (await client.get("/v1/rounds/2018-Q2/ballots")).status_code == 200
        factors = (await client.get("/v1/consideration-factors", headers=me)).json()
        assert len(factors) == 8 and factors[5]["code"] == "buck-passing-and-delay"

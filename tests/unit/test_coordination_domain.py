"""Coordination rules without I/O: C1 sheet checks, C2 tiers, C4 consequences, C5 chain, C6
overdue rows and ranking, C7 same-day rule and half-month tally."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.coordination import domain
from shared.calendar import default_calendar
from shared.policy import CoordinationPolicy, load_profile
from shared.reference import department
from shared.rules import RuleViolation

SH = ZoneInfo("Asia/Shanghai")
POLICY = load_profile("huzhou-2018").coordination
CAL = default_calendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def other_city() -> CoordinationPolicy:
    """A profile with other numbers: 5 working days routine, 20 working days with approval."""
    return POLICY.model_copy(
        update={
            "routine_feedback": POLICY.routine_feedback.model_copy(update={"amount": 5, "unit": "working"}),
            "complex_feedback_max": POLICY.complex_feedback_max.model_copy(
                update={"amount": 20, "unit": "working"}
            ),
        }
    )


# --- C1 ---


def test_C1_lead_department_cannot_cooperate_and_each_department_has_one_item() -> None:
    domain.check_cooperating_departments("jsj", ["nyj", "lyj"])
    with pytest.raises(domain.RuleViolation) as lead:
        domain.check_cooperating_departments("jsj", ["nyj", "jsj"])
    assert (lead.value.rule, lead.value.kind, lead.value.field) == (
        "C1",
        "lead-among-cooperating",
        "items.1.department",
    )
    with pytest.raises(domain.RuleViolation) as twice:
        domain.check_cooperating_departments("jsj", ["nyj", "lyj", "nyj"])
    assert (twice.value.kind, twice.value.field) == ("duplicate-cooperating-department", "items.2.department")


# --- C2 ---


def test_C2_routine_limit_needs_no_approval_and_defaults_to_the_profile() -> None:
    limit = domain.feedback_limit(None, POLICY)
    assert (limit.days, limit.tier, limit.required_approval) == (3, "routine", None)
    domain.require_approval(limit, [], POLICY)


def test_C2_complex_limit_needs_the_vice_mayor_or_higher() -> None:
    limit = domain.feedback_limit(10, POLICY)
    assert (limit.tier, limit.required_approval) == ("complex", "vice_mayor")
    with pytest.raises(domain.RuleViolation) as refused:
        domain.require_approval(limit, [], POLICY)
    assert refused.value.rule == "C2" and "分管市长" in refused.value.detail and "3" in refused.value.detail
    domain.require_approval(limit, ["vice_mayor"], POLICY)
    domain.require_approval(limit, ["mayor"], POLICY)


def test_C2_beyond_the_complex_maximum_needs_the_mayor() -> None:
    limit = domain.feedback_limit(11, POLICY)
    assert (limit.tier, limit.required_approval) == ("beyond", "mayor")
    with pytest.raises(domain.RuleViolation) as refused:
        domain.require_approval(limit, ["vice_mayor"], POLICY)
    assert refused.value.rule == "C2" and "10" in refused.value.detail and "市长" in refused.value.detail
    domain.require_approval(limit, ["mayor"], POLICY)


def test_C2_tiers_follow_the_profile_numbers_and_units() -> None:
    policy = other_city()
    assert domain.feedback_limit(5, policy).tier == "routine"
    limit = domain.feedback_limit(20, policy)
    assert (limit.tier, limit.period.unit) == ("complex", "working")
    assert domain.feedback_limit(21, policy).tier == "beyond"
    # 5 working days from Thursday 2018-06-14 skip the weekend and 端午 (06-16..18): Friday 06-22.
    assert domain.item_deadline(
        date(2018, 6, 14), domain.feedback_limit(5, policy), CAL, roll_to_working_day=True
    ) == at("2018-06-23 00:00")


def test_C2_deadline_is_2400_of_the_last_day_rolled_past_holidays() -> None:
    limit = domain.feedback_limit(3, POLICY)
    due = domain.item_deadline(date(2018, 6, 14), limit, CAL, roll_to_working_day=True)
    assert due == at("2018-06-20 00:00")
    assert domain.last_day_of(due) == date(2018, 6, 19)
    assert domain.item_deadline(date(2018, 6, 14), limit, CAL, roll_to_working_day=False) == at(
        "2018-06-18 00:00"
    )


# --- C3, C4 ---


def test_C4_silence_is_deemed_consent_and_acknowledged_but_unhandled_is_deemed_agreed_to_handle() -> None:
    assert domain.consequence_at_deadline("assigned") == "deemed-consent"
    assert domain.consequence_at_deadline("acknowledged") == "deemed-agreed-to-handle"
    for final in domain.FINAL_STATES:
        with pytest.raises(ValueError):
            domain.consequence_at_deadline(final)


def test_C4_final_states_take_no_new_answer_only_one_late_feedback() -> None:
    assert domain.feedback_kind_for("assigned", False) == "answer"
    assert domain.feedback_kind_for("acknowledged", False) == "answer"
    assert domain.feedback_kind_for("deemed-consent", False) == "late"
    assert domain.feedback_kind_for("deemed-agreed-to-handle", False) == "late"
    for state, has_late in (("answered", False), ("deemed-consent", True)):
        with pytest.raises(domain.RuleViolation) as closed:
            domain.feedback_kind_for(state, has_late)  # type: ignore[arg-type]
        assert (closed.value.rule, closed.value.kind) == ("C4", "item-closed")


def test_C3_feedback_is_signed_and_stamped() -> None:
    domain.check_feedback_signed("李华", True)
    with pytest.raises(domain.RuleViolation) as unsigned:
        domain.check_feedback_signed("  ", True)
    assert unsigned.value.field == "signed_by"
    with pytest.raises(domain.RuleViolation) as unstamped:
        domain.check_feedback_signed("李华", False)
    assert unstamped.value.field == "stamped"


def test_C4_an_item_is_late_from_exactly_its_deadline() -> None:
    due = at("2018-06-20 00:00")
    before = due - timedelta(microseconds=1)
    assert not domain.is_late_item(due, "assigned", None, before)
    assert domain.is_late_item(due, "assigned", None, due)
    assert not domain.is_late_item(due, "answered", before, due + timedelta(days=1))
    assert domain.is_late_item(due, "deemed-consent", due + timedelta(hours=9), due + timedelta(days=1))


# --- C5 ---


def test_C5_chain_is_the_late_departments_deputy_secretary_general_then_vice_mayor() -> None:
    chain = domain.escalation_chain(POLICY.escalation_chain, department("nyj"))
    assert [(link.step, link.leader) for link in chain] == [
        ("deputy_secretary_general", "dsg-agriculture"),
        ("vice_mayor", "vm-agriculture"),
    ]


def test_C5_steps_go_in_order_and_only_the_holder_acts() -> None:
    chain = domain.escalation_chain(POLICY.escalation_chain, department("nyj"))
    raised = domain.EscalationPosition("awaiting-verification", 0)
    with pytest.raises(domain.RuleViolation) as early:
        domain.forward_escalation(raised, chain, "dsg-agriculture")
    assert early.value.kind == "escalation-out-of-order" and early.value.rule == "C5"
    with pytest.raises(domain.RuleViolation) as stranger:
        domain.verify_escalation(raised, chain, "dsg-urban", confirmed=True)
    assert stranger.value.kind == "not-escalation-holder"
    verified = domain.verify_escalation(raised, chain, "dsg-agriculture", confirmed=True)
    assert verified == domain.EscalationPosition("verified", 0)
    forwarded = domain.forward_escalation(verified, chain, "dsg-agriculture")
    assert forwarded == domain.EscalationPosition("forwarded", 1)
    with pytest.raises(domain.RuleViolation) as closed:
        domain.verify_escalation(forwarded, chain, "vm-agriculture", confirmed=True)
    assert closed.value.kind == "escalation-closed"
    dismissed = domain.verify_escalation(raised, chain, "dsg-agriculture", confirmed=False)
    with pytest.raises(domain.RuleViolation):
        domain.forward_escalation(dismissed, chain, "dsg-agriculture")


# --- C6 ---


def facts(
    item_id: str, state: str, feedback: datetime | None, *, due: date = date(2018, 6, 19), **kw: str
) -> domain.ItemFacts:
    return domain.ItemFacts(
        item_id=item_id,
        matter_id=kw.get("matter", "matter-1"),
        assigned_on=date(2018, 6, 14),
        seq=int(item_id[-1]),
        content=f"事项{item_id}",
        department=kw.get("department", "nyj"),
        department_name="市农业局",
        due_on=due,
        deadline=datetime.combine(due + timedelta(days=1), datetime.min.time(), tzinfo=SH),
        state=state,  # type: ignore[arg-type]
        first_feedback_at=feedback,
        delay_reason=kw.get("reason"),
    )


def test_C6_overdue_rows_show_answered_late_and_still_unanswered_items() -> None:
    items = [
        facts("i1", "answered", at("2018-06-19 10:00")),
        facts("i2", "deemed-consent", at("2018-06-21 15:00"), reason="等待省厅意见"),
        facts("i3", "deemed-agreed-to-handle", None),
        facts("i4", "assigned", None, due=date(2018, 6, 29)),
        facts("i5", "deemed-consent", None, due=date(2018, 7, 2)),
    ]
    rows = domain.overdue_rows(items, domain.parse_period("2018-06"), at("2018-06-25 09:00"))
    assert [r.cells() for r in rows] == [
        (1, "事项i2", "市农业局", "6月19日", "6月21日", "等待省厅意见"),
        (2, "事项i3", "市农业局", "6月19日", "尚未办理反馈", ""),
    ]
    assert domain.OVERDUE_HEADERS == (
        "序号",
        "会办事项",
        "会办单位",
        "办结时限",
        "实际办理反馈时间",
        "超期原因",
    )


def test_C6_periods_are_months_quarters_and_years() -> None:
    assert domain.parse_period("2018-02") == domain.ReportPeriod(
        "2018-02", date(2018, 2, 1), date(2018, 2, 28)
    )
    assert domain.parse_period("2018-Q2") == domain.ReportPeriod(
        "2018-Q2", date(2018, 4, 1), date(2018, 6, 30)
    )
    assert domain.parse_period("2018") == domain.ReportPeriod("2018", date(2018, 1, 1), date(2018, 12, 31))
    for bad in ("2018-13", "2018-Q5", "18-06", "2018-6"):
        with pytest.raises(domain.RuleViolation):
            domain.parse_period(bad)


def test_C6_departments_with_equal_late_counts_share_a_rank() -> None:
    june = domain.parse_period("2018-06")
    items = [
        facts("a1", "deemed-consent", None, department="lyj"),
        facts("a2", "deemed-consent", None, department="lyj", matter="m2"),
        facts("b1", "deemed-consent", at("2018-06-22 09:00"), department="rsj"),
        facts("c1", "deemed-agreed-to-handle", None, department="kjj"),
        facts("d1", "answered", at("2018-06-18 09:00"), department="nyj"),
    ]
    ranked = domain.rank_by_late_items(domain.late_counts(items, june, at("2018-07-01 00:00")))
    assert [(r.rank, r.count.department, r.count.late) for r in ranked] == [
        (1, "lyj", 2),
        (2, "kjj", 1),
        (2, "rsj", 1),
    ]
    assert ranked[2].count.answered_late == 1 and ranked[1].count.deemed_agreed_to_handle == 1


# --- C7 ---


def test_C7_same_day_rule_runs_to_2400_of_the_day_received_in_shanghai() -> None:
    received = at("2018-06-14 23:50")
    due = domain.assignment_due(received, "supervised", POLICY, CAL, roll_to_working_day=True)
    assert due == at("2018-06-15 00:00")
    assert not domain.held_overnight(at("2018-06-14 23:59:59.999999"), due)
    assert domain.held_overnight(at("2018-06-15 00:00"), due)
    # 2018-06-14 16:30 UTC is already the 15th in Shanghai.
    utc = datetime.fromisoformat("2018-06-14T16:30:00+00:00")
    assert domain.assignment_due(utc, "request", POLICY, CAL, roll_to_working_day=True) == at(
        "2018-06-16 00:00"
    )


def test_C7_not_overnight_kinds_take_the_stricter_limit_and_supervised_ones_need_a_deadline() -> None:
    lenient = POLICY.model_copy(
        update={"instruction_assignment": POLICY.instruction_assignment.model_copy(update={"amount": 2})}
    )
    received = at("2018-06-11 09:00")  # a Monday
    assert domain.assignment_due(received, "supervised", lenient, CAL, roll_to_working_day=True) == at(
        "2018-06-14 00:00"
    )
    assert domain.assignment_due(received, "citizen-letter", lenient, CAL, roll_to_working_day=True) == at(
        "2018-06-12 00:00"
    )
    assert domain.default_handling_deadline(
        "general-reply", received, POLICY, CAL, roll_to_working_day=True
    ) == at("2018-06-12 00:00")
    with pytest.raises(domain.RuleViolation) as supervised:
        domain.default_handling_deadline("supervised", received, POLICY, CAL, roll_to_working_day=True)
    assert supervised.value.rule == "C7"


def test_C7_half_months_are_the_1st_to_15th_and_16th_to_month_end() -> None:
    def spans(year: int, month: int) -> list[tuple[date, date]]:
        return [
            (p.start, p.end) for p in domain.tally_periods(year, month, POLICY.instruction_tallies_per_month)
        ]

    assert spans(2018, 6) == [(date(2018, 6, 1), date(2018, 6, 15)), (date(2018, 6, 16), date(2018, 6, 30))]
    assert spans(2018, 7)[1] == (date(2018, 7, 16), date(2018, 7, 31))
    assert spans(2018, 2)[1] == (date(2018, 2, 16), date(2018, 2, 28))
    assert spans(2020, 2)[1] == (date(2020, 2, 16), date(2020, 2, 29))
    assert domain.parse_tally_period("2018-06-1", 2).label == "2018-06-1"
    assert domain.parse_tally_period("2018-02-2", 2).end == date(2018, 2, 28)
    for bad in ("2018-06-3", "2018-06-0", "2018-13-1", "2018-06"):
        with pytest.raises(domain.RuleViolation):
            domain.parse_tally_period(bad, 2)
    thirds = domain.tally_periods(2018, 7, 3)
    assert [(p.start.day, p.end.day) for p in thirds] == [(1, 10), (11, 20), (21, 31)]


def supervised(
    ident: str, due: date, feedback: datetime | None = None, explained: datetime | None = None
) -> domain.AssignmentFacts:
    return domain.AssignmentFacts(
        assignment_id=ident,
        instruction_id="ins-1",
        title="批示",
        department=ident,
        deadline=domain.end_of_day(due),
        feedback_at=feedback,
        first_explanation_at=explained,
    )


def test_C7_tally_lists_late_missing_and_slow_feedback_at_the_boundaries() -> None:
    assignments = [
        supervised("on-time", date(2018, 6, 15), at("2018-06-15 23:59")),
        supervised("explained", date(2018, 6, 15), explained=at("2018-06-10 09:00")),
        supervised("silent", date(2018, 6, 15)),
        supervised("late-16th", date(2018, 6, 16), at("2018-06-20 09:00")),
        supervised("month-end", date(2018, 6, 30)),
        supervised("next-month", date(2018, 7, 1)),
    ]
    now = at("2018-07-05 09:00")
    first = domain.tally(assignments, domain.parse_tally_period("2018-06-1", 2), now)
    assert {r.facts.assignment_id: (r.status, r.slow) for r in first} == {
        "on-time": ("on-time", False),
        "explained": ("missing", False),
        "silent": ("missing", True),
    }
    second = domain.tally(assignments, domain.parse_tally_period("2018-06-2", 2), now)
    assert {r.facts.assignment_id: (r.status, r.slow) for r in second} == {
        "explained": ("missing", False),
        "silent": ("missing", True),
        "late-16th": ("late", True),
        "month-end": ("missing", True),
    }
    # The running period is judged as it stands now: not yet due is pending, not missing.
    running = domain.tally(assignments, domain.parse_tally_period("2018-07-1", 2), at("2018-07-01 12:00"))
    assert {r.facts.assignment_id: r.status for r in running}["next-month"] == "pending"


# --- C7: paper records entered later (补录) ---


def stated(
    instant: datetime | None, *, may_state: bool = True, follows: datetime | None = at("2018-06-14 23:50")
) -> datetime:
    """The proposal's instant as of 2018-07-02 09:00, after a receipt at ``follows``."""
    return domain.stated_instant(
        instant,
        at("2018-07-02 09:00"),
        step="proposed",
        field="proposed_at",
        may_state=may_state,
        follows=None if follows is None else ("received", follows),
    )


def refusal(raised: pytest.ExceptionInfo[RuleViolation]) -> tuple[str | None, str, str | None, int]:
    """What a refusal answers: its rule, kind, field and status."""
    v = raised.value
    return (v.rule, v.kind, v.field, v.status)


def test_C7_a_paper_record_keeps_its_stated_instant_or_happens_now() -> None:
    assert stated(None, may_state=False) == at("2018-07-02 09:00")
    assert stated(at("2018-06-14 23:55")) == at("2018-06-14 23:55")
    assert stated(at("2018-06-14 23:50")) == at("2018-06-14 23:50"), "the same instant as the step before"
    assert stated(at("2018-07-02 09:00")) == at("2018-07-02 09:00")


def test_C7_a_stated_instant_in_the_future_or_before_the_step_it_follows_is_refused() -> None:
    with pytest.raises(domain.RuleViolation) as future:
        stated(at("2018-07-02 09:00") + timedelta(microseconds=1))
    assert refusal(future) == ("C7", "instant-in-future", "proposed_at", 422)
    with pytest.raises(domain.RuleViolation) as before:
        stated(at("2018-06-14 23:49:59"))
    assert refusal(before) == ("C7", "instant-before-previous-step", "proposed_at", 422)
    assert "收到" in before.value.detail and "2018-06-14 23:50:00+0800" in before.value.detail


def test_C7_only_the_office_may_state_an_instant() -> None:
    with pytest.raises(domain.RuleViolation) as refused:
        stated(at("2018-06-14 23:55"), may_state=False)
    assert refusal(refused) == ("C7", "forbidden", "proposed_at", 403)
    with pytest.raises(domain.RuleViolation) as registered:
        domain.register_instruction(
            at("2018-06-14 23:50"),
            "request",
            at("2018-07-02 09:00"),
            POLICY,
            CAL,
            roll_to_working_day=True,
            may_state=False,
        )
    assert (registered.value.status, registered.value.field) == (403, "received_at")


@dataclass(frozen=True)
class _Request:
    department: str
    due_on: date | None


def test_C7_backfilled_steps_are_judged_on_the_day_they_state_not_the_day_entered() -> None:
    now = at("2018-07-02 09:00")
    registered = domain.register_instruction(
        at("2018-06-14 23:50"), "citizen-letter", now, POLICY, CAL, roll_to_working_day=True
    )
    assert registered.assignment_due == at("2018-06-15 00:00")
    assert not domain.held_overnight(at("2018-06-14 23:59:59"), registered.assignment_due)
    assert domain.held_overnight(at("2018-06-15 00:00"), registered.assignment_due)
    with pytest.raises(domain.RuleViolation) as future:
        domain.register_instruction(
            now + timedelta(seconds=1), "request", now, POLICY, CAL, roll_to_working_day=True
        )
    assert (future.value.rule, future.value.field) == ("C7", "received_at")

    # A sheet assigned on paper on the 14th: its default 不过夜 limit is counted from the 14th and a
    # stated last day may be any day from the 14th on, though all of them are past when entered.
    planned = domain.plan_assignments(
        [_Request("xfj", None), _Request("jsj", date(2018, 6, 14))],
        "citizen-letter",
        at("2018-06-14 23:59"),
        POLICY,
        CAL,
        roll_to_working_day=True,
    )
    assert [(p.department, p.deadline.instant, p.stated) for p in planned] == [
        ("xfj", at("2018-06-15 00:00"), False),
        ("jsj", at("2018-06-15 00:00"), True),
    ]
    with pytest.raises(domain.RuleViolation) as early:
        domain.plan_assignments(
            [_Request("jsj", date(2018, 6, 13))],
            "supervised",
            at("2018-06-14 23:59"),
            POLICY,
            CAL,
            roll_to_working_day=True,
        )
    assert (early.value.rule, early.value.field) == ("C7", "assignments.0.due_on")


# --- C8 major matters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    title: str
    days: int


def test_C8_plan_backwards_ends_on_the_completion_date() -> None:
    steps = [Step("立项", 0), Step("设计", 30), Step("施工", 90), Step("验收", 15)]
    assert domain.plan_backwards(date(2018, 12, 31), steps) == [
        date(2018, 8, 18),
        date(2018, 9, 17),
        date(2018, 12, 16),
        date(2018, 12, 31),
    ]


def test_C8_milestone_after_completion_names_its_field() -> None:
    with pytest.raises(RuleViolation) as refused:
        domain.check_milestones(
            [date(2018, 6, 30), date(2019, 1, 2)], date(2018, 12, 31), 2018, field="milestones"
        )
    assert (refused.value.rule, refused.value.kind, refused.value.field) == (
        "C8",
        "milestone-after-completion",
        "milestones.1.due_on",
    )


def test_C8_monthly_report_due_by_the_profile_day_of_the_next_month_at_2400() -> None:
    by_day = POLICY.major_matters.monthly_report_by_day
    december = domain.parse_report_month("2018-12", date(2019, 1, 1))
    assert domain.report_deadline(december, by_day) == at(f"2019-01-{by_day + 1:02d} 00:00")
    with pytest.raises(RuleViolation) as early:
        domain.parse_report_month("2018-12", date(2018, 12, 31))
    assert early.value.kind == "month-not-ended"
    months = domain.report_months(date(2018, 10, 20), date(2019, 3, 31), 2018)
    assert [str(m) for m in months] == ["2018-10", "2018-11", "2018-12"]


def test_C8_a_milestone_is_behind_from_2400_of_its_date_until_reported_done() -> None:
    m = domain.MilestoneFacts("ms-1", "开工", date(2018, 6, 30), at("2018-07-01 00:00"), "open", None, None)
    assert not domain.milestone_behind(m, at("2018-07-01 00:00") - timedelta(microseconds=1))
    assert domain.milestone_behind(m, at("2018-07-01 00:00"))
    done = domain.MilestoneFacts(
        "ms-1", "开工", m.due_on, m.deadline, "done", date(2018, 7, 2), at("2018-07-03 10:00")
    )
    assert domain.milestone_behind(done, at("2018-07-02 10:00"))
    assert not domain.milestone_behind(done, at("2018-07-03 10:00"))
    assert domain.public_milestone_status(done, at("2018-07-05 00:00")) == "已完成"


def test_C8_close_off_needs_every_milestone_done_and_a_reason_to_refuse() -> None:
    with pytest.raises(RuleViolation) as unfinished:
        domain.check_close_off_request("listed", ["开工"])
    assert (unfinished.value.kind, unfinished.value.field) == ("milestones-unfinished", "milestones")
    with pytest.raises(RuleViolation) as twice:
        domain.check_close_off_request("close-off-requested", [])
    assert twice.value.status == 409
    with pytest.raises(RuleViolation) as reasonless:
        domain.check_close_off_decision("close-off-requested", "refused", None)
    assert reasonless.value.field == "reason"
    domain.check_close_off_decision("close-off-requested", "closed-off", None)


def test_C8_scores_from_the_last_month_of_the_year_within_the_profile_maximum() -> None:
    top = POLICY.major_matters.score_max
    with pytest.raises(RuleViolation):
        domain.check_scoring(2018, date(2018, 11, 30), 90, top, field="score")
    domain.check_scoring(2018, date(2018, 12, 1), top, top, field="score")
    with pytest.raises(RuleViolation) as high:
        domain.check_scoring(2018, date(2019, 1, 5), top + 1, top, field="scores.0.score")
    assert high.value.field == "scores.0.score"

"""Pure rules of the low-efficiency evaluation: schedule, panel, ballot, tally, runs, bulletin."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from services.evaluation import domain
from services.evaluation.domain import Choice, PanelMember, Quarter
from shared.calendar import default_calendar
from shared.policy import load_profile
from shared.reference import (
    consideration_factors,
    designation_recipients,
    evaluable_departments,
    panel_categories,
)

POLICY = load_profile().evaluation
CANDIDATES = [d.code for d in evaluable_departments()]
VOTE_ON = date(2018, 7, 20)


def member(
    n: int, category: str, *, person: str | None = None, district: str | None = None, **kw: object
) -> PanelMember:
    return PanelMember(
        entry_id=f"pe-{n}",
        person_id=person or f"p-{n}",
        name=f"评定人{n}",
        category=category,
        district=district,
        account=str(kw.get("account", f"ev-{n}")),
        named_on=kw.get("named_on", date(2018, 7, 18)),  # type: ignore[arg-type]
    )


def full_panel() -> list[PanelMember]:
    slots = [
        (category.code, quota.district)
        for category in panel_categories()
        for quota in category.district_quotas
        for _ in range(quota.quota)
    ] + [
        (category.code, None)
        for category in panel_categories()
        if not category.district_quotas
        for _ in range(category.quota)
    ]
    return [member(n, code, district=district) for n, (code, district) in enumerate(slots)]


def add(existing: list[PanelMember], new: PanelMember) -> None:
    domain.check_addition(
        existing, new, panel_categories(), vote_on=VOTE_ON, policy=POLICY, calendar=default_calendar()
    )


# --- schedule (E2, E3) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quarter", "pack", "tally"),
    [
        ("2018-Q1", date(2018, 4, 20), date(2018, 4, 25)),
        ("2018-Q2", date(2018, 7, 20), date(2018, 7, 25)),
        ("2018-Q3", date(2018, 10, 20), date(2018, 10, 25)),
        ("2018-Q4", date(2019, 1, 20), date(2019, 1, 25)),
    ],
)
def test_E2_E3_round_on_a_quarter_runs_in_the_next_schedule_month(
    quarter: str, pack: date, tally: date
) -> None:
    schedule = domain.schedule_for(Quarter.parse(quarter), POLICY.schedule)
    assert (schedule.reference_pack_due, schedule.tally_due) == (pack, tally)


def test_E2_quarters_parse_and_step_across_years() -> None:
    q = Quarter.parse("2018-Q4")
    assert (q.first_day, q.last_day, str(q.next()), str(q.previous()), q.label) == (
        date(2018, 10, 1),
        date(2018, 12, 31),
        "2019-Q1",
        "2018-Q3",
        "2018年第四季度",
    )
    with pytest.raises(domain.InvalidQuarter):
        Quarter.parse("2018-Q5")


@pytest.mark.parametrize(
    ("period", "last"),
    [
        ("2018-05", date(2018, 5, 31)),
        ("2018-12", date(2018, 12, 31)),
        ("2018-Q2", date(2018, 6, 30)),
        ("2018", date(2018, 12, 31)),
    ],
)
def test_E2_a_period_belongs_to_the_quarter_it_ends_in(period: str, last: date) -> None:
    assert domain.period_last_day(period) == last


def test_E1_vote_day_lies_after_the_quarter_and_by_the_tally_day() -> None:
    quarter = Quarter.parse("2018-Q2")
    schedule = domain.schedule_for(quarter, POLICY.schedule)
    domain.check_vote_day(quarter, date(2018, 7, 20), schedule)
    for bad in (date(2018, 6, 30), date(2018, 7, 26)):
        with pytest.raises(domain.InvalidQuarter):
            domain.check_vote_day(quarter, bad, schedule)


# --- state machine -----------------------------------------------------------------------------


def test_E1_round_moves_through_its_states_in_order_only() -> None:
    state: domain.RoundState = "draft"
    for action in ("publish-reference-pack", "open-voting", "close-voting", "tally", "publish-results"):
        state = domain.next_state(state, action)  # type: ignore[arg-type]
    assert state == "results-published"
    with pytest.raises(domain.InvalidRoundState, match="不能开始投票"):
        domain.next_state("draft", "open-voting")


# --- panel (E1) ------------------------------------------------------------------------------


def test_E1_full_panel_matches_the_quotas_and_districts() -> None:
    panel = full_panel()
    assert len(panel) == POLICY.panel_size
    composition = domain.composition(panel, panel_categories(), POLICY)
    assert composition.complete and composition.problems == ()
    townships = next(c for c in composition.categories if c.code == "township-heads")
    assert townships.districts == (
        ("wuxing", 4, 4),
        ("nanxun", 4, 4),
        ("huzhou-edz", 1, 1),
        ("taihu-resort", 1, 1),
    )


def test_E1_panel_built_one_by_one_is_refused_beyond_a_quota() -> None:
    built: list[PanelMember] = []
    for entry in full_panel():
        add(built, entry)
        built.append(entry)
    with pytest.raises(domain.QuotaExceeded, match="市本级企业家"):
        add(built, member(999, "entrepreneurs"))


def test_E1_district_quota_is_checked_within_a_category() -> None:
    panel = [member(n, "township-heads", district="huzhou-edz") for n in range(1)]
    with pytest.raises(domain.QuotaExceeded, match="huzhou-edz"):
        add(panel, member(5, "township-heads", district="huzhou-edz"))
    with pytest.raises(domain.DistrictMismatch):
        add([], member(6, "township-heads"))
    with pytest.raises(domain.DistrictMismatch):
        add([], member(7, "entrepreneurs", district="wuxing"))


def test_E1_one_person_appears_once_and_the_refusal_names_both_entries() -> None:
    first = member(1, "npc-deputies", person="p-wang")
    with pytest.raises(domain.PanelOverlap) as refused:
        add([first], member(2, "entrepreneurs", person="p-wang"))
    assert refused.value.extra["entries"] == ["pe-1", "pe-2"]
    assert "pe-1" in refused.value.detail and "pe-2" in refused.value.detail
    assert "市人大代表" in refused.value.detail and "市本级企业家" in refused.value.detail
    with pytest.raises(domain.PanelOverlap, match="投票账号"):
        add([first], member(3, "entrepreneurs", account="ev-1"))


def test_E1_rotating_members_are_named_at_least_one_day_before_the_vote() -> None:
    add([], member(1, "entrepreneurs", named_on=date(2018, 7, 19)))
    with pytest.raises(domain.NamedTooLate):
        add([], member(2, "entrepreneurs", named_on=date(2018, 7, 20)))
    with pytest.raises(domain.NamedTooLate):
        add([], member(3, "entrepreneurs", named_on=None))
    # The government office's members do not rotate: no naming date is needed.
    add([], member(4, "government-office", named_on=None))


def test_E1_incomplete_panel_lists_what_is_missing() -> None:
    panel = full_panel()[:-3]
    composition = domain.composition(panel, panel_categories(), POLICY)
    assert not composition.complete
    with pytest.raises(domain.PanelIncomplete, match="市民主监督团成员"):
        domain.require_complete(composition)


# --- ballot (E1) -----------------------------------------------------------------------------


def check(*departments: str, factors: tuple[str, ...] = ()) -> None:
    domain.check_ballot(
        [Choice(d, factors) for d in departments], CANDIDATES, consideration_factors(), POLICY
    )


def test_E1_ballot_names_exactly_three_distinct_candidates() -> None:
    check("fgw", "jxw", "jtj", factors=("buck-passing-and-delay", "ranking-below-target"))
    with pytest.raises(domain.WrongNumberOfChoices):
        check("fgw", "jxw")
    with pytest.raises(domain.WrongNumberOfChoices):
        check("fgw", "jxw", "jtj", "czj")
    with pytest.raises(domain.RepeatedChoice, match="fgw"):
        check("fgw", "fgw", "jtj")
    with pytest.raises(domain.NotACandidate, match="office"):
        check("fgw", "office", "jtj")
    with pytest.raises(domain.UnknownFactor):
        check("fgw", "jxw", "jtj", factors=("laziness",))


# --- tally (E3) ------------------------------------------------------------------------------


def votes_for(counts: dict[str, int]) -> list[list[str]]:
    """Ballots of single names are enough for counting; the tally does not re-check ballots."""
    return [[d] for d, n in counts.items() for _ in range(n)]


def test_E3_tie_at_third_place_adds_a_seat() -> None:
    counts = {"jxw": 20, "fgw": 15, "jtj": 12, "czj": 12, "kjj": 5}
    result = domain.tally(votes_for(counts), CANDIDATES, POLICY)
    assert sorted(result.selected) == ["czj", "fgw", "jtj", "jxw"]
    ranks = {s.department: s.rank for s in result.standings}
    assert (ranks["jxw"], ranks["fgw"], ranks["jtj"], ranks["czj"], ranks["kjj"]) == (1, 2, 3, 3, 5)


def test_E3_competition_ranking_skips_ranks_after_a_tie() -> None:
    assert domain.competition_ranks({"a": 9, "b": 7, "c": 7, "d": 4}) == {"a": 1, "b": 2, "c": 2, "d": 4}
    # Two tied for second push the next one to fourth: it is not selected.
    result = domain.tally(votes_for({"jxw": 9, "fgw": 7, "jtj": 7, "czj": 4}), CANDIDATES, POLICY)
    assert sorted(result.selected) == ["fgw", "jtj", "jxw"]


def test_E3_fewer_than_three_departments_with_votes_select_only_those() -> None:
    result = domain.tally(votes_for({"jxw": 3, "fgw": 1}), CANDIDATES, POLICY)
    assert result.selected == ["jxw", "fgw"]
    # Every other candidate shares rank 3 with no votes and is never selected.
    assert {s.rank for s in result.standings if s.votes == 0} == {3}
    assert domain.tally([], CANDIDATES, POLICY).selected == []


def test_E3_counts_made_by_the_database_rank_exactly_as_the_ballots_they_count() -> None:
    """The service counts choices per department in SQL; ranking those counts is the same tally
    (a code that is not a candidate is ignored either way)."""
    box = [["jxw", "fgw", "jtj"], ["jxw", "czj"], ["fgw", "jxw"], ["kjj"], ["jxw", "fgw", "czj"], []]
    counts = {"jxw": 4, "fgw": 3, "czj": 2, "jtj": 1, "kjj": 1, "not-a-candidate": 7}
    from_counts = domain.tally_counts(len(box), counts, CANDIDATES, POLICY)
    assert from_counts == domain.tally(box, CANDIDATES, POLICY)
    assert from_counts.ballots == 6
    assert from_counts.selected == ["jxw", "fgw", "czj"]
    assert domain.tally_counts(0, {}, CANDIDATES, POLICY) == domain.tally([], CANDIDATES, POLICY)


def test_E3_without_seats_for_ties_a_tie_across_the_boundary_selects_none_of_it() -> None:
    strict = POLICY.model_copy(update={"ties_at_boundary_add_seats": False})
    votes = {"jxw": 20, "fgw": 15, "jtj": 12, "czj": 12}
    assert domain.select(votes, strict) == ["jxw", "fgw"]


# --- consequences (E4) -------------------------------------------------------------------------


def run_of(selections: list[bool]) -> list[tuple[int, tuple[str, ...]]]:
    run, out = 0, []
    for selected in selections:
        run = domain.run_length(selected, run)
        out.append((run, domain.consequences(run, POLICY)))
    return out


def test_E4_two_quarters_running_bring_the_vice_mayor_interview() -> None:
    assert run_of([True, True]) == [
        (1, ("working-group-interview",)),
        (2, ("working-group-interview", "vice-mayor-interview")),
    ]


def test_E4_three_quarters_running_designate_the_department() -> None:
    assert run_of([True, True, True])[-1] == (3, ("working-group-interview", "designated"))


def test_E4_a_quarter_out_of_the_top_resets_the_run() -> None:
    assert [r for r, _ in run_of([True, True, False, True, True])] == [1, 2, 0, 1, 2]
    assert run_of([True, False])[-1] == (0, ())


def test_E4_designation_bulletin_is_addressed_to_the_bodies_of_attachment_4() -> None:
    recipients = [r.name for r in designation_recipients()]
    bulletin = domain.designation_bulletin(
        city="湖州市",
        department="市经信委",
        quarters=[Quarter(2018, 2), Quarter(2018, 3), Quarter(2018, 4)],
        recipients=recipients,
        issued_on=date(2019, 1, 25),
        policy=POLICY,
    )
    assert bulletin.title == "关于确定市经信委为“低效能”部门的通报"
    assert bulletin.addressed_to == (
        "市委领导",
        "市人大常委会领导",
        "市政府领导",
        "市政协领导",
        "各县区政府",
        "市级各部门和单位",
    )
    lines = bulletin.text.splitlines()
    assert lines[2] == "市委领导、市人大常委会领导、市政府领导、市政协领导、各县区政府、市级各部门和单位："
    assert "2018年第二季度、2018年第三季度、2018年第四季度" in bulletin.body
    assert "连续3个季度得票进入前3位" in bulletin.body and "为“低效能”部门" in bulletin.body
    assert lines[-2:] == ["湖州市人民政府办公室“低效能”部门评定工作小组", "2019年1月25日"]


def test_E2_a_withdrawn_fact_and_its_withdrawal_are_not_counted_but_the_rest_is() -> None:
    def fact(kind: str, subject: str) -> SimpleNamespace:
        return SimpleNamespace(kind=kind, subject_id=subject)

    facts = [
        fact("document-version-overdue", "doc-1@1"),
        fact("document-version-overdue-withdrawn", "doc-1@1"),
        fact("document-version-overdue", "doc-2@1"),
        fact("document-formed", "doc-1@1"),
    ]
    standing = domain.standing_facts(facts)
    assert [(f.kind, f.subject_id) for f in standing] == [
        ("document-version-overdue", "doc-2@1"),
        ("document-formed", "doc-1@1"),
    ]
    assert domain.withdrawn_kind("report-duty-overdue") == "report-duty-overdue-withdrawn"

from typing import Any

import pytest
from pydantic import ValidationError

from shared import reference
from shared.deadlines import TimeLimit
from shared.policy import (
    DEFAULT_PROFILE,
    DeadlineRule,
    PolicyProfile,
    UnknownProfile,
    available_profiles,
    load_profile,
)


def _huzhou() -> dict[str, Any]:
    return load_profile("huzhou-2018").model_dump(mode="json")


def test_default_profile_is_huzhou_2018() -> None:
    assert DEFAULT_PROFILE == "huzhou-2018"
    assert load_profile().name == "huzhou-2018"
    assert load_profile() is load_profile("huzhou-2018")


def test_available_profiles() -> None:
    assert available_profiles() == ("huzhou-2018", "national-2019")


def test_unknown_profile_error_names_the_available_ones() -> None:
    with pytest.raises(UnknownProfile) as info:
        load_profile("shanghai-2020")
    assert str(info.value) == (
        "unknown policy profile 'shanghai-2020'; available profiles: huzhou-2018, national-2019"
    )
    assert isinstance(info.value, LookupError)


def test_profile_name_cannot_reach_outside_the_package() -> None:
    with pytest.raises(UnknownProfile):
        load_profile("../reference/cities")


def test_calendar_is_shanghai_with_civil_code_rollover() -> None:
    calendar = load_profile().calendar
    assert (calendar.timezone, calendar.civil_code_rollover) == ("Asia/Shanghai", True)


def test_D1_huzhou_publishes_within_10_days() -> None:
    disclosure = load_profile().disclosure
    assert disclosure.publish_within == DeadlineRule(amount=10, unit="calendar")
    assert disclosure.change_restarts_clock


def test_D1_national_2019_publishes_within_20_working_days() -> None:
    rule = load_profile("national-2019").disclosure.publish_within
    assert rule == DeadlineRule(amount=20, unit="working")
    assert rule.to_limit() == TimeLimit(20, "working")


def test_national_2019_differs_from_huzhou_only_in_disclosure() -> None:
    national = load_profile("national-2019")
    huzhou = load_profile("huzhou-2018")
    for group in ("calendar", "coordination", "indicators", "evaluation"):
        assert getattr(national, group) == getattr(huzhou, group), group
    assert national.disclosure != huzhou.disclosure


def test_C2_routine_3_days_complex_up_to_10_with_vice_mayor_beyond_with_mayor() -> None:
    c = load_profile().coordination
    assert c.routine_feedback == DeadlineRule(amount=3, unit="calendar")
    assert c.complex_feedback_max == DeadlineRule(amount=10, unit="calendar")
    assert (c.complex_approval_level, c.beyond_complex_approval_level) == ("vice_mayor", "mayor")


def test_C5_escalation_goes_to_deputy_secretary_general_then_vice_mayor() -> None:
    assert load_profile().coordination.escalation_chain == ("deputy_secretary_general", "vice_mayor")


def test_C7_instructions_assigned_same_day_and_tallied_every_half_month() -> None:
    c = load_profile().coordination
    assert c.instruction_assignment == DeadlineRule(amount=0, unit="calendar")
    assert c.not_overnight.amount == 0
    assert c.instruction_tallies_per_month == 2


def test_I4_I5_keep_five_strive_for_three_interview_after_three_releases() -> None:
    i = load_profile().indicators
    assert i.report_when_rank_worse_than == 5
    assert i.strive_for_top == 3
    assert i.interview_after_consecutive_releases == 3
    assert i.report_due == DeadlineRule(amount=10, unit="calendar")
    assert i.report_when_rank_worse_than < len(reference.cities())


def test_E1_E3_E4_evaluation_numbers() -> None:
    e = load_profile().evaluation
    assert (e.panel_size, e.choices_per_ballot, e.selected_top) == (100, 3, 3)
    assert e.ties_at_boundary_add_seats and e.min_votes_to_be_selected == 1
    assert e.rotating_members_named_before_vote == DeadlineRule(amount=1, unit="calendar")
    assert (e.vice_mayor_interview_after_quarters, e.designation_after_quarters) == (2, 3)


def test_E1_panel_size_matches_the_reference_quotas() -> None:
    assert load_profile().evaluation.panel_size == reference.panel_total()
    assert load_profile().evaluation.choices_per_ballot <= len(reference.evaluable_departments())


def test_E2_E3_reference_pack_by_20th_and_tally_by_25th_of_jan_apr_jul_oct() -> None:
    schedule = load_profile().evaluation.schedule
    assert schedule.months == (1, 4, 7, 10)
    assert (schedule.reference_pack_by_day, schedule.tally_by_day) == (20, 25)


def test_profile_is_frozen() -> None:
    with pytest.raises(ValidationError):
        load_profile().evaluation.panel_size = 99  # type: ignore[misc]


def test_unknown_key_is_refused() -> None:
    data = _huzhou()
    data["disclosure"]["publish_within_days"] = 10
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        PolicyProfile.model_validate(data)


def test_complex_limit_shorter_than_routine_is_refused() -> None:
    data = _huzhou()
    data["coordination"]["complex_feedback_max"] = {"amount": 2, "unit": "calendar"}
    with pytest.raises(ValidationError, match="complex_feedback_max must be at least"):
        PolicyProfile.model_validate(data)


def test_complex_limit_in_calendar_days_cannot_be_compared_to_routine_working_days() -> None:
    data = _huzhou()
    data["coordination"]["routine_feedback"] = {"amount": 3, "unit": "working"}
    with pytest.raises(ValidationError, match="complex_feedback_max must be at least"):
        PolicyProfile.model_validate(data)


def test_beyond_complex_approval_must_be_higher() -> None:
    data = _huzhou()
    data["coordination"]["beyond_complex_approval_level"] = "vice_mayor"
    with pytest.raises(ValidationError, match="must be higher than complex_approval_level"):
        PolicyProfile.model_validate(data)


def test_zero_day_disclosure_is_refused() -> None:
    data = _huzhou()
    data["disclosure"]["publish_within"] = {"amount": 0, "unit": "calendar"}
    with pytest.raises(ValidationError, match="must be at least 1 day"):
        PolicyProfile.model_validate(data)


def test_negative_amount_and_unknown_unit_are_refused() -> None:
    with pytest.raises(ValidationError):
        DeadlineRule(amount=-1, unit="calendar")
    with pytest.raises(ValidationError):
        DeadlineRule.model_validate({"amount": 3, "unit": "weeks"})


def test_non_positive_counts_are_refused() -> None:
    data = _huzhou()
    data["evaluation"]["panel_size"] = 0
    with pytest.raises(ValidationError, match="greater than 0"):
        PolicyProfile.model_validate(data)


def test_designation_must_take_longer_than_vice_mayor_interview() -> None:
    data = _huzhou()
    data["evaluation"]["designation_after_quarters"] = 2
    with pytest.raises(ValidationError, match="fewer than designation_after_quarters"):
        PolicyProfile.model_validate(data)


def test_strive_goal_must_be_within_the_floor() -> None:
    data = _huzhou()
    data["indicators"]["strive_for_top"] = 6
    with pytest.raises(ValidationError, match="strive_for_top"):
        PolicyProfile.model_validate(data)


def test_schedule_needs_one_month_per_quarter_and_pack_before_tally() -> None:
    data = _huzhou()
    data["evaluation"]["schedule"]["months"] = [1, 2, 7, 10]
    with pytest.raises(ValidationError, match="one month in each quarter"):
        PolicyProfile.model_validate(data)
    data = _huzhou()
    data["evaluation"]["schedule"]["reference_pack_by_day"] = 25
    with pytest.raises(ValidationError, match="must come before tally_by_day"):
        PolicyProfile.model_validate(data)


def test_unknown_timezone_is_refused() -> None:
    data = _huzhou()
    data["calendar"]["timezone"] = "Mars/Olympus"
    with pytest.raises(ValidationError, match="unknown timezone"):
        PolicyProfile.model_validate(data)


def test_working_days_rule_is_at_least_as_long_as_calendar_days_rule() -> None:
    assert DeadlineRule(amount=3, unit="working").at_least(DeadlineRule(amount=3, unit="calendar"))
    assert not DeadlineRule(amount=3, unit="calendar").at_least(DeadlineRule(amount=3, unit="working"))

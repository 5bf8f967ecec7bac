"""Policy profile models: every number of the rules (DOMAIN.md), grouped by domain.

A profile is one YAML file of this package; its models are frozen and refuse unknown keys, so a
misspelt parameter fails at load instead of silently keeping a default.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from shared.deadlines import DayUnit, TimeLimit

ApprovalLevel = Literal["vice_mayor", "mayor"]
EscalationStep = Literal["deputy_secretary_general", "vice_mayor"]

_APPROVAL_ORDER: dict[ApprovalLevel, int] = {"vice_mayor": 1, "mayor": 2}

Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
DayOfMonth = Annotated[int, Field(ge=1, le=28)]
"""A day every month has, so a date rule never falls outside a short month."""
Month = Annotated[int, Field(ge=1, le=12)]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeadlineRule(Strict):
    """A time limit of a rule: ``amount`` days counted in calendar days (天) or working days (工作日).

    Zero means by the end of the same day (当天). Counting itself is the deadline engine's job.
    """

    amount: NonNegativeInt
    unit: DayUnit

    def to_limit(self) -> TimeLimit:
        return TimeLimit(self.amount, self.unit)

    def at_least(self, other: DeadlineRule) -> bool:
        """Whether this limit is never shorter than ``other``, whatever the holidays.

        n working days span at least n calendar days, but not the other way round.
        """
        comparable = self.unit == other.unit or self.unit == "working"
        return comparable and self.amount >= other.amount


class CalendarPolicy(Strict):
    timezone: Text
    """Deadlines end at 24:00 of their last day in this zone."""
    civil_code_rollover: bool
    """民法典 第二百零三条: a period whose last day is a rest day or holiday ends on the next working day."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value


def _require_positive(rule: DeadlineRule) -> DeadlineRule:
    if rule.amount < 1:
        raise ValueError(f"a time limit must be at least 1 day, got {rule.amount}")
    return rule


# A limit that must leave time to act (the field's path is in the validation error).
PositiveRule = Annotated[DeadlineRule, AfterValidator(_require_positive)]


class DisclosureRequestPolicy(Strict):
    """D7 disclosure on request (依申请公开) and the public policy inquiries beside it (004)."""

    answer_within: PositiveRule
    """D7 art. 33: answer within this limit of the day the request was received."""
    extension_max: PositiveRule
    """D7 art. 33: one extension of at most this limit, with the disclosure office head's consent."""
    extensions_allowed: PositiveInt
    """D7 art. 33: how many extensions a request may get ("延长的期限最长不得超过" once: 1)."""
    completion_notice_within: PositiveRule
    """D7 art. 30: tell the applicant once what to complete within this limit of receipt."""
    completion_time_default: PositiveRule
    """D7 art. 30: the time to complete when the notice states none. Not in the regulation: a
    profile default the office may replace in each notice."""
    third_party_reply_within: PositiveRule
    """D7 art. 32: a consulted third party replies within this limit; the time is not counted."""
    inquiry_reply_within: PositiveRule
    """004 政策咨询: reply to a public policy inquiry within this limit. Not in the seed: a profile
    default."""
    annual_report_due_month: Month
    annual_report_due_day: Annotated[int, Field(ge=1, le=31)]
    """D8 art. 50: each organ publishes last year's annual report by this day (31 January)."""


class DisclosurePolicy(Strict):
    publish_within: PositiveRule
    """D1: publish on the portal within this limit of a document being formed or changed."""
    change_restarts_clock: bool
    """D1: a change (变更) restarts the limit for the new version."""
    requests: DisclosureRequestPolicy
    """D7/D8: requests, their clocks, policy inquiries and the annual report."""


class MajorMatterPolicy(Strict):
    """C8 年度重大事项: the monthly report, the year-end score."""

    monthly_report_by_day: DayOfMonth
    """C8: the lead department reports a month's progress by this day of the next month (24:00).
    Not in the seeds (002 (三)2 says only 每月): a profile default."""
    score_max: PositiveInt
    """C8: the highest score the executive meeting gives a matter at year end (打分评价)."""


class CoordinationPolicy(Strict):
    routine_feedback: PositiveRule
    """C2: routine items (一般性常规工作) are handled and answered within this limit."""
    complex_feedback_max: PositiveRule
    """C2: the longest limit a complex major item may get with ``complex_approval_level``'s approval."""
    complex_approval_level: ApprovalLevel
    beyond_complex_approval_level: ApprovalLevel
    """C2: who must approve a limit longer than ``complex_feedback_max``."""
    escalation_chain: Annotated[tuple[EscalationStep, ...], Field(min_length=1)]
    """C5: whom a lead department reports a late item to, in order."""
    instruction_assignment: DeadlineRule
    """C7: a leader instruction is proposed and assigned (拟办交办) within this limit (0 = the same day)."""
    not_overnight: DeadlineRule
    """C7 三个不过夜: general replies, requests and citizen letters are handled within this limit."""
    instruction_tallies_per_month: PositiveInt
    """C7: how often a month the office tallies supervised-instruction feedback (2 = every half month)."""
    major_matters: MajorMatterPolicy
    """C8: the year's major matters (年度重大事项清单)."""

    @model_validator(mode="after")
    def _ordered(self) -> CoordinationPolicy:
        if not self.complex_feedback_max.at_least(self.routine_feedback):
            raise ValueError(
                "coordination.complex_feedback_max must be at least coordination.routine_feedback "
                f"({self.complex_feedback_max.amount} {self.complex_feedback_max.unit} < "
                f"{self.routine_feedback.amount} {self.routine_feedback.unit})"
            )
        if (
            _APPROVAL_ORDER[self.beyond_complex_approval_level]
            <= _APPROVAL_ORDER[self.complex_approval_level]
        ):
            raise ValueError(
                "coordination.beyond_complex_approval_level must be higher than complex_approval_level"
            )
        if len(set(self.escalation_chain)) != len(self.escalation_chain):
            raise ValueError("coordination.escalation_chain names a step twice")
        return self


class IndicatorPolicy(Strict):
    report_when_rank_worse_than: PositiveInt
    """I4 保五: a rank worse than this obliges the department head to report to the executive meeting."""
    strive_for_top: PositiveInt
    """争三: the rank bulletins show as the goal."""
    interview_after_consecutive_releases: PositiveInt
    """I5: misses in this many consecutive releases lead to an interview (约谈)."""
    report_due: PositiveRule
    """I4: time for the report after a ranking is published. Not in the seeds: a profile default."""

    @model_validator(mode="after")
    def _goal_within_floor(self) -> IndicatorPolicy:
        if self.strive_for_top > self.report_when_rank_worse_than:
            raise ValueError("indicators.strive_for_top must not be below report_when_rank_worse_than")
        return self


class EvaluationSchedule(Strict):
    """E2/E3: the quarterly dates, each "by day N" of the months a round runs in."""

    months: tuple[Month, ...]
    """One month per quarter: the round on the previous quarter runs in it."""
    reference_pack_by_day: DayOfMonth
    """E2: the supervision office publishes the previous quarter's reference pack by this day."""
    tally_by_day: DayOfMonth
    """E3: the votes are tallied by this day."""

    @model_validator(mode="after")
    def _ordered(self) -> EvaluationSchedule:
        if list(self.months) != sorted(set(self.months)):
            raise ValueError("evaluation.schedule.months must be distinct and ascending")
        if sorted((m - 1) // 3 for m in self.months) != [0, 1, 2, 3]:
            raise ValueError(
                "evaluation.schedule.months must name one month in each quarter (rounds are quarterly)"
            )
        if self.reference_pack_by_day >= self.tally_by_day:
            raise ValueError("evaluation.schedule.reference_pack_by_day must come before tally_by_day")
        return self


class EvaluationPolicy(Strict):
    panel_size: PositiveInt
    """E1: evaluators per round."""
    choices_per_ballot: PositiveInt
    """E1: departments each ballot names."""
    rotating_members_named_before_vote: DeadlineRule
    """E1: rotating evaluators are named this long before the vote."""
    selected_top: PositiveInt
    """E3: departments with a rank up to this are selected (and interviewed by the working group)."""
    ties_at_boundary_add_seats: bool
    """E3: a tie at the boundary adds seats (如前3位中得票数有并列的，则相应增加名额)."""
    min_votes_to_be_selected: PositiveInt
    """E3: a department with fewer votes is never selected."""
    vice_mayor_interview_after_quarters: PositiveInt
    """E4: selected this many consecutive quarters, the vice-mayor in charge interviews the head."""
    designation_after_quarters: PositiveInt
    """E4: selected this many consecutive quarters, the department is designated low-efficiency."""
    min_trustees: Annotated[int, Field(ge=2)]
    """E5: a round's election key is held by at least this many trustees of the working group."""
    min_threshold: Annotated[int, Field(ge=2)]
    """E5: at least this many trustees are needed to decrypt the tally (no single one can)."""
    schedule: EvaluationSchedule

    @model_validator(mode="after")
    def _consistent(self) -> EvaluationPolicy:
        if self.choices_per_ballot > self.panel_size:
            raise ValueError("evaluation.choices_per_ballot must not exceed panel_size")
        if self.min_threshold > self.min_trustees:
            raise ValueError("evaluation.min_threshold must not exceed min_trustees")
        if self.vice_mayor_interview_after_quarters >= self.designation_after_quarters:
            raise ValueError(
                "evaluation.vice_mayor_interview_after_quarters must be fewer than designation_after_quarters"
            )
        return self


class PolicyProfile(Strict):
    """One city's (or regulation's) set of rule parameters."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    title: Text
    description: Text
    sources: Annotated[tuple[Text, ...], Field(min_length=1)]
    calendar: CalendarPolicy
    disclosure: DisclosurePolicy
    coordination: CoordinationPolicy
    indicators: IndicatorPolicy
    evaluation: EvaluationPolicy

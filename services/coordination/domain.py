"""Coordination rules (部门会办事项限时办结, 领导批示督办), pure: C1–C7 without I/O.

Joint matters (会办事项): the feedback limit and its approvals (C2), the item lifecycle and what
a passed deadline makes of an item (C4), the escalation chain (C5), the overdue table (附件3)
and the ranking of late departments (C6). Leader instructions (领导批示): the same-day rule,
supervised deadlines and the half-month tally (C7). Every number comes from the policy profile.
"""

from __future__ import annotations

import calendar as _months
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta
from typing import Literal, Protocol, TypeVar

from shared import periods
from shared.calendar import CalendarError, HolidayCalendar
from shared.deadlines import SHANGHAI, TimeLimit, deadline, is_provisional, local, local_date
from shared.policy import ApprovalLevel, CoordinationPolicy, DeadlineRule, EscalationStep
from shared.reference import Department, department_name, known_department, known_leader
from shared.rules import Conflict, RuleViolation

Tier = Literal["routine", "complex", "beyond"]
ItemState = Literal["assigned", "acknowledged", "answered", "deemed-consent", "deemed-agreed-to-handle"]
Consequence = Literal["deemed-consent", "deemed-agreed-to-handle"]
FeedbackKind = Literal["answer", "late", "correction"]
EscalationStatus = Literal["awaiting-verification", "verified", "forwarded", "dismissed"]
InstructionCategory = Literal["general-reply", "request", "citizen-letter", "supervised"]
InstructionState = Literal["registered", "proposed", "assigned", "archived"]

OPEN_STATES: tuple[ItemState, ...] = ("assigned", "acknowledged")
FINAL_STATES: tuple[ItemState, ...] = ("answered", "deemed-consent", "deemed-agreed-to-handle")

# 三个不过夜 (000 §四): general replies, requests and citizen letters; supervised ones carry their own limit.
NOT_OVERNIGHT_CATEGORIES: tuple[InstructionCategory, ...] = ("general-reply", "request", "citizen-letter")

APPROVAL_TITLES: dict[ApprovalLevel, str] = {"vice_mayor": "分管市长", "mayor": "市政府主要领导（市长）"}
STEP_TITLES: dict[EscalationStep, str] = {"deputy_secretary_general": "分管秘书长", "vice_mayor": "分管市长"}
# A higher approval covers a lower one: the mayor may approve what a vice-mayor could.
_APPROVAL_RANK: dict[ApprovalLevel, int] = {"vice_mayor": 1, "mayor": 2}


def unit_label(unit: str) -> str:
    return "个工作日" if unit == "working" else "天"


# --- C2: feedback limits and approvals -------------------------------------------------------


@dataclass(frozen=True)
class FeedbackLimit:
    """The limit one item gets: its tier, its period and the approval that tier needs."""

    days: int
    tier: Tier
    period: TimeLimit
    required_approval: ApprovalLevel | None


def feedback_limit(
    days: int | None, policy: CoordinationPolicy, *, field: str = "feedback_days"
) -> FeedbackLimit:
    """C2: up to the routine limit needs nothing; up to the complex maximum needs the vice-mayor's
    approval; beyond it the mayor's. No requested days means the routine limit."""
    routine, complex_max = policy.routine_feedback, policy.complex_feedback_max
    if days is None:
        days = routine.amount
    if days < 1:
        raise RuleViolation(
            f"会办反馈时限至少为 1 {unit_label(routine.unit)}（C2）",
            rule="C2",
            kind="invalid-feedback-limit",
            field=field,
        )
    if days <= routine.amount:
        return FeedbackLimit(days, "routine", TimeLimit(days, routine.unit), None)
    if days <= complex_max.amount:
        return FeedbackLimit(
            days, "complex", TimeLimit(days, complex_max.unit), policy.complex_approval_level
        )
    return FeedbackLimit(
        days, "beyond", TimeLimit(days, complex_max.unit), policy.beyond_complex_approval_level
    )


def require_approval(
    limit: FeedbackLimit,
    granted: Iterable[ApprovalLevel],
    policy: CoordinationPolicy,
    *,
    field: str = "feedback_days",
) -> None:
    """C2: refuse a limit whose tier needs an approval that was not recorded (a higher one covers it)."""
    needed = limit.required_approval
    if needed is None:
        return
    if any(_APPROVAL_RANK[g] >= _APPROVAL_RANK[needed] for g in granted):
        return
    routine, complex_max = policy.routine_feedback, policy.complex_feedback_max
    if limit.tier == "complex":
        detail = (
            f"一般性常规工作须在 {routine.amount} {unit_label(routine.unit)}内办理并反馈；"
            f"时限 {limit.days} {unit_label(limit.period.unit)}属较为复杂的重大事项，"
            f"须经{APPROVAL_TITLES[needed]}同意并记录审批（C2）"
        )
    else:
        detail = (
            f"较为复杂的重大事项最长 {complex_max.amount} {unit_label(complex_max.unit)}；"
            f"时限 {limit.days} {unit_label(limit.period.unit)}超过该上限，"
            f"须报请{APPROVAL_TITLES[needed]}同意并记录审批（C2）"
        )
    raise RuleViolation(detail, rule="C2", kind="approval-required", field=field)


class ApprovalRecord(Protocol):
    """An approval of a sheet's time limit (审批): the tier approved, by whom, on which day."""

    level: ApprovalLevel
    leader: str
    approved_on: date


def check_approvals(
    approvals: Sequence[ApprovalRecord], lead: Department, assigned_on: date
) -> list[ApprovalLevel]:
    """C2: each recorded approval names a leader of the right role, given before the sheet; the
    levels granted."""
    levels: set[ApprovalLevel] = set()
    for index, approval in enumerate(approvals):
        field = f"approvals.{index}"
        if approval.level in levels:
            raise RuleViolation(f"审批层级 {approval.level} 重复", kind="duplicate-approval", field=field)
        levels.add(approval.level)
        person = known_leader(approval.leader, field=f"{field}.leader")
        if person.role != approval.level:
            raise RuleViolation(
                f"{approval.leader}（{person.title}）不能作为{APPROVAL_TITLES[approval.level]}审批（C2）",
                rule="C2",
                kind="approval-leader-mismatch",
                field=f"{field}.leader",
            )
        if approval.level == "vice_mayor" and approval.leader != lead.vice_mayor:
            raise RuleViolation(
                f"须经主办单位的分管市长 {lead.vice_mayor} 同意，而不是 {approval.leader}（C2）",
                rule="C2",
                kind="approval-leader-mismatch",
                field=f"{field}.leader",
            )
        if approval.approved_on > assigned_on:
            raise RuleViolation(
                "时限须在交办前经同意：审批日期不能晚于交办日期（C2）",
                rule="C2",
                kind="approval-after-assignment",
                field=f"{field}.approved_on",
            )
    return list(levels)


class ItemRequest(Protocol):
    """An item of a sheet, as far as its time limit goes: its own days, or none for the sheet's."""

    feedback_days: int | None


def item_limits(
    items: Sequence[ItemRequest],
    sheet_days: int | None,
    granted: Sequence[ApprovalLevel],
    policy: CoordinationPolicy,
) -> list[FeedbackLimit]:
    """C2 for every item of a sheet: its own limit or the sheet's, each with the approval its tier
    needs; a refusal names the field the limit came from."""
    limits = []
    for index, item in enumerate(items):
        field = f"items.{index}.feedback_days" if item.feedback_days is not None else "feedback_days"
        limit = feedback_limit(item.feedback_days or sheet_days, policy, field=field)
        require_approval(limit, granted, policy, field=field)
        limits.append(limit)
    return limits


def item_deadline(
    assigned_on: date, limit: FeedbackLimit, calendar: HolidayCalendar, *, roll_to_working_day: bool
) -> datetime:
    """24:00 Asia/Shanghai of the last day; the day of assignment is not counted."""
    return deadline(assigned_on, limit.period, calendar, roll_to_working_day=roll_to_working_day)


@dataclass(frozen=True)
class CountedDeadline:
    instant: datetime
    provisional: bool
    """A provisional year of the calendar counted it: the official table may still move it."""


_T = TypeVar("_T")


def _on_calendar(count: Callable[[], _T], *, rule: str, field: str) -> _T:
    """``count()``, or a refusal naming ``field`` (the date the user sent) when the calendar cannot
    count that far (a year outside its range)."""
    try:
        return count()
    except CalendarError as exc:
        raise RuleViolation(str(exc), rule=rule, kind="calendar-out-of-range", field=field) from exc


def item_deadlines(
    assigned_on: date,
    limits: Sequence[FeedbackLimit],
    calendar: HolidayCalendar,
    *,
    roll_to_working_day: bool,
) -> list[CountedDeadline]:
    """C2: the deadline of each item of a sheet assigned on ``assigned_on``."""
    return [
        _on_calendar(
            functools.partial(_item_deadline, assigned_on, limit, calendar, roll_to_working_day),
            rule="C2",
            field="assigned_on",
        )
        for limit in limits
    ]


def _item_deadline(
    assigned_on: date, limit: FeedbackLimit, calendar: HolidayCalendar, roll_to_working_day: bool
) -> CountedDeadline:
    due = item_deadline(assigned_on, limit, calendar, roll_to_working_day=roll_to_working_day)
    return CountedDeadline(due, is_provisional(assigned_on, due, calendar))


def last_day_of(deadline_instant: datetime) -> date:
    """The last day of a period ending at ``deadline_instant`` (00:00 of the next day)."""
    return local_date(deadline_instant) - timedelta(days=1)


def end_of_day(day: date) -> datetime:
    """24:00 Asia/Shanghai of ``day``: the instant a period whose last day is ``day`` runs out."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


# --- C1: the assignment sheet ------------------------------------------------------------------


def check_cooperating_departments(lead: str, cooperating: Sequence[str]) -> None:
    """C1: one item per cooperating department, and the lead department is not one of them."""
    seen: set[str] = set()
    for index, code in enumerate(cooperating):
        if code == lead:
            raise RuleViolation(
                f"主办单位 {code} 不能同时作为会办单位（C1）",
                rule="C1",
                kind="lead-among-cooperating",
                field=f"items.{index}.department",
            )
        if code in seen:
            raise RuleViolation(
                f"会办单位 {code} 重复：每个会办单位一项会办事项（C1）",
                rule="C1",
                kind="duplicate-cooperating-department",
                field=f"items.{index}.department",
            )
        seen.add(code)


def assignment_date(requested: date | None, today: date, *, registers_earlier_sheets: bool) -> date:
    """C1: a sheet is dated the day it is issued (today in Asia/Shanghai); a paper sheet issued
    earlier is registered with its own date, by the office only."""
    assigned_on = requested or today
    if assigned_on > today:
        raise RuleViolation("交办日期不能晚于今天", kind="assigned-on-in-future", field="assigned_on")
    if assigned_on < today and not registers_earlier_sheets:
        raise RuleViolation(
            "交办单以开具当天为交办日期；此前已印发的纸质交办单由市政府办公室登记",
            kind="forbidden",
            field="assigned_on",
            status=403,
        )
    return assigned_on


def check_supersedes(supersedes: str, original_lead: str | None, lead: str) -> None:
    """A corrected sheet links the earlier sheet of the same lead department it corrects."""
    if original_lead != lead:
        raise RuleViolation(
            f"被更正的交办单 {supersedes} 不存在或不是本主办单位的", kind="unknown-matter", field="supersedes"
        )


# --- C3/C4: the item lifecycle -----------------------------------------------------------------


def consequence_at_deadline(state: ItemState) -> Consequence:
    """C4: an open item at its deadline. Never acknowledged means no feedback at all: silence is
    consent (视作同意). Acknowledged (领办) but neither handled nor answered, with no reason given
    in a feedback: deemed to have agreed to handle it (视作同意办理)."""
    if state == "assigned":
        return "deemed-consent"
    if state == "acknowledged":
        return "deemed-agreed-to-handle"
    raise ValueError(f"an item in state {state!r} is closed; its deadline has no consequence")


def is_open(state: str) -> bool:
    return state in OPEN_STATES


def check_acknowledgeable(state: ItemState) -> None:
    """C4: a closed item (answered, or deemed at its deadline) is not acknowledged any more."""
    if not is_open(state):
        raise Conflict(f"该会办事项已办结（{state}），不能再领办（C4）", rule="C4", kind="item-closed")


def feedback_kind_for(state: ItemState, has_late_feedback: bool) -> FeedbackKind:
    """Which record a feedback becomes, or a refusal when the item is closed to feedback.

    An open item is answered (final). An item closed by its deadline keeps its final state; the
    department's feedback is still recorded once, as a late feedback linked to it, because the
    overdue table (附件3) reports the actual feedback time. An answered item takes corrections only.
    """
    if state in OPEN_STATES:
        return "answer"
    if state in ("deemed-consent", "deemed-agreed-to-handle") and not has_late_feedback:
        return "late"
    raise Conflict(
        "该会办事项已办结（已反馈或视作同意后已补报），不能再次反馈；如需更正，请提交更正记录（C4）",
        rule="C4",
        kind="item-closed",
    )


def correction_target(target: _T | None, corrects: str | None) -> _T:
    """A correction links the feedback it corrects: the one named (``corrects``), or the latest."""
    if target is not None:
        return target
    if corrects is None:
        raise Conflict("该会办事项没有可更正的反馈", kind="nothing-to-correct", field="corrects")
    raise RuleViolation(f"反馈 {corrects} 不属于该会办事项", kind="nothing-to-correct", field="corrects")


def check_feedback_signed(signed_by: str, stamped: bool) -> None:
    """C3: written feedback signed by the department head and stamped."""
    if not signed_by.strip():
        raise RuleViolation(
            "书面材料须由单位主要领导签字（C3）", rule="C3", kind="feedback-unsigned", field="signed_by"
        )
    if not stamped:
        raise RuleViolation(
            "书面材料须加盖单位公章（C3）", rule="C3", kind="feedback-unstamped", field="stamped"
        )


def answered_late(deadline_instant: datetime, submitted_at: datetime) -> bool:
    return submitted_at >= deadline_instant


def is_late_item(
    deadline_instant: datetime, state: ItemState, first_feedback_at: datetime | None, now: datetime
) -> bool:
    """C5/C6: the deadline has passed and the item was not answered before it."""
    if now < deadline_instant:
        return False
    if state == "answered" and first_feedback_at is not None and first_feedback_at < deadline_instant:
        return False
    return True


# --- C5: escalation ----------------------------------------------------------------------------


def check_escalable(
    deadline_instant: datetime,
    state: ItemState,
    first_feedback_at: datetime | None,
    now: datetime,
    *,
    already_escalated: bool,
) -> None:
    """C5: the lead department reports an item that is late, once."""
    if not is_late_item(deadline_instant, state, first_feedback_at, now):
        raise Conflict(
            "该会办事项未逾期（未到时限或已按时反馈），无需报告（C5）", rule="C5", kind="item-not-late"
        )
    if already_escalated:
        raise Conflict("该会办事项已报告过，请查看原报告", rule="C5", kind="already-escalated")


@dataclass(frozen=True)
class ChainLink:
    step: EscalationStep
    leader: str


def escalation_chain(steps: Sequence[EscalationStep], late_department: Department) -> tuple[ChainLink, ...]:
    """C5: whom the lead department reports a late item to, in order.

    The chain is the late (cooperating) department's: 000 §三 has the lead department report
    "对无正当理由未按时办理并反馈的配合部门 … 向市政府分管秘书长反映，经核查后报分管市长" — the
    city government's leaders in charge of the department being reported, who can verify its
    conduct and make it act; not the lead department's own leaders.
    """
    leaders: dict[EscalationStep, str] = {
        "deputy_secretary_general": late_department.deputy_secretary_general,
        "vice_mayor": late_department.vice_mayor,
    }
    return tuple(ChainLink(step, leaders[step]) for step in steps)


@dataclass(frozen=True)
class EscalationPosition:
    status: EscalationStatus
    level: int
    """Index in the chain of the leader who holds the escalation now."""


def verify_escalation(
    position: EscalationPosition, chain: Sequence[ChainLink], actor: str, *, confirmed: bool
) -> EscalationPosition:
    """C5: the leader holding the escalation verifies it (核查) or dismisses it (a valid reason)."""
    holder = _holder(position, chain, actor)
    if position.status != "awaiting-verification":
        raise Conflict(
            f"该报告当前状态为 {position.status}，不能核查"
            f"（C5：先由主办单位报告，再由{STEP_TITLES[holder.step]}核查）",
            rule="C5",
            kind="escalation-out-of-order",
        )
    return EscalationPosition("verified" if confirmed else "dismissed", position.level)


def forward_escalation(
    position: EscalationPosition, chain: Sequence[ChainLink], actor: str
) -> EscalationPosition:
    """C5: after verification the holder reports it to the next leader of the chain (报分管市长)."""
    holder = _holder(position, chain, actor)
    if position.status != "verified":
        raise Conflict(
            f"须经{STEP_TITLES[holder.step]}核查后才能上报（C5），当前状态为 {position.status}",
            rule="C5",
            kind="escalation-out-of-order",
        )
    nxt = position.level + 1
    if nxt >= len(chain):
        raise Conflict("已到逐级报告的最后一级，无需再上报（C5）", rule="C5", kind="escalation-out-of-order")
    return EscalationPosition("forwarded" if nxt == len(chain) - 1 else "awaiting-verification", nxt)


def _holder(position: EscalationPosition, chain: Sequence[ChainLink], actor: str) -> ChainLink:
    if position.status in ("forwarded", "dismissed"):
        raise Conflict(
            f"该报告已{('上报' if position.status == 'forwarded' else '核查结案')}，不能再办理（C5）",
            rule="C5",
            kind="escalation-closed",
        )
    holder = chain[position.level]
    if actor != holder.leader:
        raise RuleViolation(
            f"该报告当前由{STEP_TITLES[holder.step]} {holder.leader} 办理（C5）",
            rule="C5",
            kind="not-escalation-holder",
            status=403,
        )
    return holder


# --- C6: periods, the overdue table and the ranking -------------------------------------------


@dataclass(frozen=True)
class ReportPeriod:
    """A month, quarter or year of the overdue table and the ranking, by its days."""

    label: str
    start: date
    end: date
    """Inclusive."""


def parse_period(text: str) -> ReportPeriod:
    """``2018-06`` (month), ``2018-Q2`` (quarter) or ``2018`` (year)."""
    period = periods.parse_period(text, rule="C6")
    return ReportPeriod(str(period), period.first_day, period.last_day)


OVERDUE_TABLE_TITLE = "部门会办事项超期办理反馈情况统计表"
OVERDUE_HEADERS: tuple[str, ...] = (
    "序号",
    "会办事项",
    "会办单位",
    "办结时限",
    "实际办理反馈时间",
    "超期原因",
)
NOT_YET_ANSWERED = "尚未办理反馈"
OVERDUE_NOTE = "注：此表经市政府分管秘书长审核后报相关市领导，同时抄送市政府督查室。"


def month_day(day: date) -> str:
    """附件3's date cells: ``6月19日``."""
    return f"{day.month}月{day.day}日"


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class ItemFacts:
    """What the overdue table and the ranking need to know of one item."""

    item_id: str
    matter_id: str
    assigned_on: date
    seq: int
    content: str
    department: str
    department_name: str
    due_on: date
    deadline: datetime
    state: ItemState
    first_feedback_at: datetime | None
    delay_reason: str | None


@dataclass(frozen=True)
class OverdueRow:
    seq: int
    item: ItemFacts
    deadline_text: str
    actual_text: str
    reason: str

    def cells(self) -> tuple[object, ...]:
        """The row exactly as 附件3 lays it out."""
        return (
            self.seq,
            self.item.content,
            self.item.department_name,
            self.deadline_text,
            self.actual_text,
            self.reason,
        )


def late_in(items: Iterable[ItemFacts], period: ReportPeriod, now: datetime) -> list[ItemFacts]:
    """C6: the items whose last day falls in the period and that were not answered in time."""
    return [
        i
        for i in items
        if period.start <= i.due_on <= period.end
        and is_late_item(i.deadline, i.state, i.first_feedback_at, now)
    ]


def overdue_rows(items: Iterable[ItemFacts], period: ReportPeriod, now: datetime) -> list[OverdueRow]:
    """C6/附件3: the items whose last day falls in the period and that were not answered in time:
    answered late (with the actual feedback day) or still unanswered (尚未办理反馈)."""
    late = sorted(late_in(items, period, now), key=lambda i: (i.due_on, i.assigned_on, i.matter_id, i.seq))
    return [
        OverdueRow(
            seq=n,
            item=i,
            deadline_text=month_day(i.due_on),
            actual_text=month_day(local_date(i.first_feedback_at))
            if i.first_feedback_at
            else NOT_YET_ANSWERED,
            reason=i.delay_reason or "",
        )
        for n, i in enumerate(late, start=1)
    ]


@dataclass(frozen=True)
class LateCount:
    department: str
    late: int
    deemed_consent: int
    deemed_agreed_to_handle: int
    answered_late: int
    unanswered: int


@dataclass(frozen=True)
class RankedLateCount:
    rank: int
    count: LateCount


def late_counts(items: Iterable[ItemFacts], period: ReportPeriod, now: datetime) -> list[LateCount]:
    by_department: dict[str, list[ItemFacts]] = {}
    for i in late_in(items, period, now):
        by_department.setdefault(i.department, []).append(i)
    return [
        LateCount(
            department=code,
            late=len(rows),
            deemed_consent=sum(1 for r in rows if r.state == "deemed-consent"),
            deemed_agreed_to_handle=sum(1 for r in rows if r.state == "deemed-agreed-to-handle"),
            answered_late=sum(1 for r in rows if r.first_feedback_at is not None),
            unanswered=sum(1 for r in rows if r.first_feedback_at is None),
        )
        for code, rows in by_department.items()
    ]


def rank_by_late_items(counts: Iterable[LateCount]) -> list[RankedLateCount]:
    """C6 通报: most late items first; equal counts share a rank (1, 2, 2, 4)."""
    ordered = sorted(counts, key=lambda c: (-c.late, c.department))
    ranked: list[RankedLateCount] = []
    for index, count in enumerate(ordered):
        if ranked and ranked[-1].count.late == count.late:
            ranked.append(RankedLateCount(ranked[-1].rank, count))
        else:
            ranked.append(RankedLateCount(index + 1, count))
    return ranked


# --- C7: leader instructions -------------------------------------------------------------------


_STATE_TITLES: dict[InstructionState, str] = {
    "registered": "已登记",
    "proposed": "已拟办",
    "assigned": "已交办",
    "archived": "已归档",
}


def check_instruction_step(state: InstructionState, allowed: Sequence[InstructionState], action: str) -> None:
    """C7: an instruction goes 登记 → 拟办 → 交办 → 督办 → 反馈 → 归档, and nothing follows the archive."""
    if state in allowed:
        return
    if state == "archived":
        raise Conflict(f"批示件已归档，不能{action}（C7）", rule="C7", kind="instruction-archived")
    raise Conflict(
        f"批示件当前{_STATE_TITLES[state]}，不能{action}：办理流程为 登记→拟办→交办→督办→反馈→归档（C7）",
        rule="C7",
        kind="instruction-out-of-order",
    )


def check_assignment_open(instruction_state: InstructionState, feedback_at: datetime | None) -> None:
    """C7: an assignment takes explanations and its one feedback until it is answered or archived."""
    if instruction_state == "archived":
        raise Conflict("批示件已归档（C7）", rule="C7", kind="instruction-archived")
    if feedback_at is not None:
        raise Conflict("该交办事项已反馈，不能再次办理（C7）", rule="C7", kind="assignment-closed")


def check_archivable(outstanding: Sequence[str]) -> None:
    """C7: an instruction is archived once every department assigned has answered."""
    if outstanding:
        names = "、".join(department_name(d) for d in outstanding)
        raise Conflict(
            f"尚有承办部门未反馈（{names}），不能归档（C7）", rule="C7", kind="feedback-outstanding"
        )


# --- C7: records handled on paper, entered later (补录) ------------------------------------------

StepName = Literal["received", "proposed", "assigned", "feedback"]
_STEP_TITLES: dict[StepName, str] = {
    "received": "收到",
    "proposed": "拟办",
    "assigned": "交办",
    "feedback": "反馈",
}


def stated_instant(
    stated: datetime | None,
    now: datetime,
    *,
    step: StepName,
    field: str,
    may_state: bool,
    follows: tuple[StepName, datetime] | None = None,
) -> datetime:
    """C7: the instant a step of an instruction happened. Handled on paper, the office (only)
    enters it later with the instant it states, never in the future nor before the step it follows
    (``follows``); otherwise it happens now. Every rule is judged on the instant returned."""
    if stated is None:
        return now
    title = _STEP_TITLES[step]
    if not may_state:
        raise RuleViolation(
            f"只有市政府办公室可以补录纸质办理的{title}时刻（{field}）（C7）",
            rule="C7",
            kind="forbidden",
            field=field,
            status=403,
        )
    if stated > now:
        raise RuleViolation(
            f"{title}时刻不能晚于现在（C7）", rule="C7", kind="instant-in-future", field=field
        )
    if follows is not None and stated < follows[1]:
        previous, at = follows
        raise RuleViolation(
            f"{title}时刻不能早于{_STEP_TITLES[previous]}时刻 {local(at):%Y-%m-%d %H:%M:%S%z}（C7）",
            rule="C7",
            kind="instant-before-previous-step",
            field=field,
        )
    return stated


@dataclass(frozen=True)
class Registration:
    received_at: datetime
    assignment_due: datetime
    """By when it must be proposed and assigned (``assignment_due``)."""


def register_instruction(
    received_at: datetime | None,
    category: InstructionCategory,
    now: datetime,
    policy: CoordinationPolicy,
    calendar: HolidayCalendar,
    *,
    roll_to_working_day: bool,
    may_state: bool = True,
) -> Registration:
    """C7 on registration: received at the instant the office states (not after now) or now, and
    due to be assigned from that day; a day the calendar cannot count from is refused naming
    ``received_at``."""
    received = stated_instant(received_at, now, step="received", field="received_at", may_state=may_state)
    count = functools.partial(
        assignment_due, received, category, policy, calendar, roll_to_working_day=roll_to_working_day
    )
    return Registration(received, _on_calendar(count, rule="C7", field="received_at"))


def assignment_due(
    received_at: datetime,
    category: InstructionCategory,
    policy: CoordinationPolicy,
    calendar: HolidayCalendar,
    *,
    roll_to_working_day: bool,
) -> datetime:
    """C7: by when an instruction must be proposed and assigned (当天拟办交办); the three kinds of
    三个不过夜 must also not wait longer than the not-overnight limit."""
    rules: list[DeadlineRule] = [policy.instruction_assignment]
    if category in NOT_OVERNIGHT_CATEGORIES:
        rules.append(policy.not_overnight)
    day = local_date(received_at)
    return min(deadline(day, r.to_limit(), calendar, roll_to_working_day=roll_to_working_day) for r in rules)


def held_overnight(assigned_at: datetime, due: datetime) -> bool:
    """C7: assigned at or after 24:00 of the last allowed day, i.e. kept overnight (过夜)."""
    return assigned_at >= due


def default_handling_deadline(
    category: InstructionCategory,
    assigned_at: datetime,
    policy: CoordinationPolicy,
    calendar: HolidayCalendar,
    *,
    roll_to_working_day: bool,
    field: str = "due_on",
) -> datetime:
    """C7: a non-supervised assignment without a stated limit is handled not overnight (三个不过夜)."""
    if category not in NOT_OVERNIGHT_CATEGORIES:
        raise RuleViolation(
            "督办类批示件须在交办单中明确办理时限（C7）", rule="C7", kind="deadline-required", field=field
        )
    return deadline(
        local_date(assigned_at),
        policy.not_overnight.to_limit(),
        calendar,
        roll_to_working_day=roll_to_working_day,
    )


class AssignmentRequest(Protocol):
    """A department an instruction is assigned to (交办), with the last day the sheet states, if any."""

    department: str
    due_on: date | None


@dataclass(frozen=True)
class PlannedAssignment:
    department: str
    deadline: CountedDeadline
    stated: bool
    """The sheet stated the last day; otherwise it is the 不过夜 limit counted from the assignment."""


def plan_assignments(
    requests: Sequence[AssignmentRequest],
    category: InstructionCategory,
    assigned_at: datetime,
    policy: CoordinationPolicy,
    calendar: HolidayCalendar,
    *,
    roll_to_working_day: bool,
) -> list[PlannedAssignment]:
    """交办 at ``assigned_at`` (now, or the instant a paper sheet states): one assignment per known
    department, each with its deadline counted from that day (督办类须明确时限)."""
    seen: set[str] = set()
    planned = []
    for index, request in enumerate(requests):
        field = f"assignments.{index}"
        known_department(request.department, field=f"{field}.department")
        if request.department in seen:
            raise RuleViolation(
                f"承办部门 {request.department} 重复",
                kind="duplicate-department",
                field=f"{field}.department",
            )
        seen.add(request.department)
        if request.due_on is None:
            count = functools.partial(
                _default_deadline,
                category,
                assigned_at,
                policy,
                calendar,
                roll_to_working_day,
                f"{field}.due_on",
            )
            due = _on_calendar(count, rule="C7", field=f"{field}.due_on")
        elif request.due_on < local_date(assigned_at):
            raise RuleViolation(
                "办理时限不能早于交办当天", rule="C7", kind="due-in-past", field=f"{field}.due_on"
            )
        else:
            # A stated last day counts no days, so no holiday table can move it.
            due = CountedDeadline(end_of_day(request.due_on), False)
        planned.append(PlannedAssignment(request.department, due, request.due_on is not None))
    return planned


def _default_deadline(
    category: InstructionCategory,
    assigned_at: datetime,
    policy: CoordinationPolicy,
    calendar: HolidayCalendar,
    roll_to_working_day: bool,
    field: str,
) -> CountedDeadline:
    due = default_handling_deadline(
        category, assigned_at, policy, calendar, roll_to_working_day=roll_to_working_day, field=field
    )
    return CountedDeadline(due, is_provisional(assigned_at, due, calendar))


@dataclass(frozen=True)
class TallyPeriod:
    """One of the month's tallies (每半月统计汇总一次: 1st–15th and 16th–end of the month)."""

    year: int
    month: int
    part: int
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-{self.part}"

    @property
    def end_instant(self) -> datetime:
        return end_of_day(self.end)

    @property
    def start_instant(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=SHANGHAI)


# Parts of a month are counted on a 30-day month (a half is 15 days) and the last part runs to
# the month's end, so the second half is 16th–28th/29th in February and 16th–31st in July.
_NOMINAL_MONTH_DAYS = 30


def tally_periods(year: int, month: int, tallies_per_month: int) -> list[TallyPeriod]:
    if not 1 <= tallies_per_month <= 28:
        raise ValueError(f"instruction tallies per month must be 1..28, got {tallies_per_month}")
    length = _NOMINAL_MONTH_DAYS // tallies_per_month
    last = _months.monthrange(year, month)[1]
    periods = []
    for part in range(1, tallies_per_month + 1):
        start = 1 + (part - 1) * length
        end = last if part == tallies_per_month else start + length - 1
        periods.append(TallyPeriod(year, month, part, date(year, month, start), date(year, month, end)))
    return periods


_TALLY = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<part>\d{1,2})$")


def parse_tally_period(text: str, tallies_per_month: int) -> TallyPeriod:
    """``2018-06-1`` is the first tally period of June 2018 (1st–15th when tallied twice a month)."""
    match = _TALLY.match(text)
    if match is None or not 1 <= int(match["month"]) <= 12 or not MINYEAR < int(match["year"]) < MAXYEAR:
        raise RuleViolation(
            f"统计期 {text!r} 无效，应为 年-月-序号，例如 2018-06-1（1–15日）、2018-06-2（16日–月末）",
            rule="C7",
            kind="invalid-period",
            field="period",
        )
    part = int(match["part"])
    periods = tally_periods(int(match["year"]), int(match["month"]), tallies_per_month)
    if not 1 <= part <= len(periods):
        raise RuleViolation(
            f"每月统计 {tallies_per_month} 次，序号应为 1–{tallies_per_month}（C7）",
            rule="C7",
            kind="invalid-period",
            field="period",
        )
    return periods[part - 1]


TallyStatus = Literal["on-time", "late", "missing", "pending"]


@dataclass(frozen=True)
class AssignmentFacts:
    """What the half-month tally needs to know of one supervised assignment."""

    assignment_id: str
    instruction_id: str
    title: str
    department: str
    deadline: datetime
    feedback_at: datetime | None
    first_explanation_at: datetime | None


@dataclass(frozen=True)
class TallyRow:
    facts: AssignmentFacts
    status: TallyStatus
    explained: bool
    """A written explanation (书面说明) was filed before the deadline."""
    slow: bool
    """办理不积极: missed the deadline without the written explanation 000 §四 requires."""


def tally(assignments: Iterable[AssignmentFacts], period: TallyPeriod, now: datetime) -> list[TallyRow]:
    """C7 half-month tally of supervised assignments: those due in the period, and those due
    earlier still without feedback when it began; each judged as it stood at the period's end
    (or now, for the running period)."""
    as_of = min(now, period.end_instant)
    rows = []
    for a in assignments:
        due_on = last_day_of(a.deadline)
        if due_on > period.end:
            continue
        carried = a.feedback_at is None or a.feedback_at >= period.start_instant
        if due_on < period.start and not carried:
            continue
        seen_feedback = a.feedback_at if a.feedback_at is not None and a.feedback_at < as_of else None
        status: TallyStatus
        if seen_feedback is not None:
            status = "on-time" if seen_feedback < a.deadline else "late"
        elif a.deadline <= as_of:
            status = "missing"
        else:
            status = "pending"
        explained = a.first_explanation_at is not None and a.first_explanation_at < a.deadline
        rows.append(TallyRow(a, status, explained, status in ("late", "missing") and not explained))
    rows.sort(key=lambda r: (r.facts.deadline, r.facts.department, r.facts.assignment_id))
    return rows


# --- C8: major matters (年度重大事项) -------------------------------------------------------------

MatterState = Literal["listed", "close-off-requested", "closed-off"]
MilestoneState = Literal["open", "done", "withdrawn"]
MilestoneStatus = Literal["done", "in-progress", "not-started"]
CloseOffDecision = Literal["closed-off", "refused"]
BehindKind = Literal["major-milestone", "major-monthly-report"]

MILESTONE_STATUS_LABELS: dict[str, str] = {"done": "已完成", "in-progress": "推进中", "not-started": "未启动"}
MATTER_STATE_LABELS: dict[str, str] = {
    "listed": "推进中",
    "close-off-requested": "申请销号",
    "closed-off": "已销号",
}
BEHIND_LABEL = "进展迟缓"
MONTHLY_BULLETIN_TITLE = "重大事项进展情况月度通报"
MONTHLY_BULLETIN_HEADERS: tuple[str, ...] = (
    "序号",
    "重大事项",
    "牵头单位",
    "分管市领导",
    "节点完成情况",
    "是否进展迟缓",
    "迟缓原因",
    "月报",
)


def _c8(detail: str, kind: str, field: str | None, *, status: int | None = None) -> RuleViolation:
    return RuleViolation(f"{detail}（C8）", rule="C8", kind=kind, field=field, status=status)


class PlannedStep(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def days(self) -> int: ...


def plan_backwards(completion_due: date, steps: Sequence[PlannedStep]) -> list[date]:
    """倒排工期 (001 六): the last step ends on the completion date and each earlier step ends
    ``days`` calendar days before the step after it ends, so the dates read forward in order."""
    dates: list[date] = []
    end = completion_due
    for index in range(len(steps) - 1, -1, -1):
        dates.append(end)
        if index:
            end = end - timedelta(days=steps[index].days)
    return list(reversed(dates))


def check_milestones(due_days: Sequence[date], completion_due: date, year: int, *, field: str) -> None:
    """C8 时间表: at least one milestone, none after the completion date nor before the year."""
    if not due_days:
        raise _c8("重大事项须有时间表（至少一个节点）", "milestones-missing", field)
    for index, due_on in enumerate(due_days):
        if due_on > completion_due:
            raise _c8(
                f"节点日期 {due_on} 晚于事项完成时限 {completion_due}",
                "milestone-after-completion",
                f"{field}.{index}.due_on",
            )
        if due_on.year < year:
            raise _c8(
                f"节点日期 {due_on} 早于 {year} 年度", "milestone-before-year", f"{field}.{index}.due_on"
            )


def check_completion_due(completion_due: date, year: int, *, field: str = "completion_due") -> None:
    if completion_due.year < year:
        raise _c8(f"完成时限 {completion_due} 早于 {year} 年度", "completion-before-year", field)


def check_responsibility(lead: str, cooperating: Sequence[str], *, field: str) -> None:
    """C8 责任表: the lead department is not among the cooperating ones, each named once."""
    if lead in cooperating:
        raise _c8("牵头单位不能同时是配合单位", "lead-among-cooperating", field)
    if len(set(cooperating)) != len(cooperating):
        raise _c8("配合单位重复", "repeated-cooperating-department", field)


def check_quarters(quarters: Sequence[int], *, field: str) -> None:
    if len(set(quarters)) != len(quarters):
        raise _c8("同一季度的目标只能填写一项", "repeated-quarter-target", field)


def duplicate_numbers(numbers: Sequence[int], taken: Iterable[int]) -> list[int]:
    """The positions of ``numbers`` that repeat an earlier one or one already on the year's list."""
    seen = set(taken)
    repeated = []
    for index, number in enumerate(numbers):
        if number in seen:
            repeated.append(index)
        seen.add(number)
    return repeated


def duplicate_number(year: int, number: int, *, field: str) -> RuleViolation:
    return Conflict(
        f"{year} 年度重大事项清单已有序号 {number} 的事项（C8）",
        rule="C8",
        kind="duplicate-matter-number",
        field=field,
    )


@dataclass(frozen=True)
class RowError:
    """One refusal of a row of a bulk list (0-based ``index``)."""

    index: int
    error: RuleViolation


def list_refused(year: int, errors: Sequence[RowError]) -> RuleViolation:
    """C8: a bulk list with any bad row is refused whole; each error names its row and field."""
    first = errors[0]
    rows = "、".join(str(e.index + 1) for e in errors)
    return RuleViolation(
        f"{year} 年度重大事项清单第 {rows} 行有误，整张清单未登记（C8）",
        rule="C8",
        kind="list-refused",
        field=first.error.field,
        errors=[
            {
                "row": e.index + 1,
                "field": e.error.field,
                "kind": e.error.kind,
                "rule": e.error.rule,
                "detail": e.error.detail,
            }
            for e in errors
        ],
    )


def month_after(month: periods.ReportPeriod) -> periods.ReportPeriod:
    following = month.end
    return periods.ReportPeriod(following.year, "monthly", following.month)


def month_of(day: date) -> periods.ReportPeriod:
    return periods.ReportPeriod(day.year, "monthly", day.month)


def report_deadline(month: periods.ReportPeriod, by_day: int) -> datetime:
    """C8: a month's progress report is due by day ``by_day`` of the next month, 24:00 Asia/Shanghai."""
    following = month_after(month)
    return end_of_day(date(following.year, following.index, by_day))


def report_months(listed_on: date, completion_due: date, year: int) -> list[periods.ReportPeriod]:
    """The months a matter reports on: from the month it is listed (not before the year) to the
    month of its completion date, within the year of the list."""
    first = max(listed_on, date(year, 1, 1))
    last = min(completion_due, periods.ReportPeriod(year, "annual", 1).last_day)
    months = []
    month = month_of(first)
    while month.first_day <= last:
        months.append(month)
        month = month_after(month)
    return months


MONTHLY: tuple[periods.Frequency, ...] = ("monthly",)
QUARTERLY: tuple[periods.Frequency, ...] = ("quarterly",)


def parse_report_month(text: str, today: date, *, field: str = "month") -> periods.ReportPeriod:
    """C8: a monthly report names a month that has ended (报送上月进展)."""
    month = periods.parse_period(
        text, rule="C8", field=field, noun="月份", frequencies=MONTHLY, kind="invalid-month"
    )
    if month.last_day >= today:
        raise _c8(f"{month.label}尚未结束，不能报送该月进展", "month-not-ended", field)
    return month


def check_report_in_year(month: periods.ReportPeriod, months: Sequence[periods.ReportPeriod]) -> None:
    if month not in months:
        raise _c8(f"{month.label}不在该事项的月报期间内", "month-outside-matter", "month")


def not_lead(lead: str) -> RuleViolation:
    """C8: only the lead department (牵头单位) reports progress and asks for close-off."""
    return _c8(
        f"只有牵头单位 {lead}（{department_name(lead)}）可以报送该事项的进展或申请销号",
        "not-lead-department",
        "matter_id",
        status=403,
    )


def check_not_closed(state: MatterState, action: str) -> None:
    """Closed-off matters stay in the record as they were closed."""
    if state == "closed-off":
        raise Conflict(f"事项已销号，不能再{action}（C8）", rule="C8", kind="matter-closed-off")


class ReportedMilestone(Protocol):
    @property
    def milestone_id(self) -> str: ...
    @property
    def status(self) -> MilestoneStatus: ...
    @property
    def done_on(self) -> date | None: ...


def check_reported_milestones(
    reported: Sequence[ReportedMilestone], known: Iterable[str], month: periods.ReportPeriod
) -> None:
    """Each reported milestone belongs to the matter, once; a done one says when, not after the month."""
    ids = set(known)
    seen: set[str] = set()
    for index, m in enumerate(reported):
        field = f"milestones.{index}"
        if m.milestone_id not in ids or m.milestone_id in seen:
            raise _c8(
                f"节点 {m.milestone_id} 不是该事项的节点或重复填报",
                "unknown-milestone",
                f"{field}.milestone_id",
            )
        seen.add(m.milestone_id)
        if m.status == "done" and m.done_on is None:
            raise _c8("已完成的节点须填写完成日期", "done-on-missing", f"{field}.done_on")
        if m.done_on is not None and m.done_on > month.last_day:
            raise _c8(f"完成日期晚于所报月份{month.label}", "done-after-month", f"{field}.done_on")


def check_milestone_done(state: MilestoneState, done_on: date, today: date) -> None:
    if state != "open":
        raise Conflict("该节点已报告完成或已撤销（C8）", rule="C8", kind="milestone-not-open")
    if done_on > today:
        raise _c8("完成日期不能晚于今天", "date-in-future", "done_on")


def check_close_off_request(state: MatterState, unfinished: Sequence[str]) -> None:
    """C8 销号: a listed matter whose milestones are all reported done."""
    if state != "listed":
        raise Conflict(
            f"事项当前为{MATTER_STATE_LABELS[state]}，不能申请销号（C8）",
            rule="C8",
            kind="close-off-not-open",
        )
    if unfinished:
        raise _c8(
            f"尚有未完成的节点：{'、'.join(unfinished)}，不能申请销号", "milestones-unfinished", "milestones"
        )


def check_close_off_decision(state: MatterState, decision: CloseOffDecision, reason: str | None) -> None:
    """C8 销号: the office verifies a pending request; a refusal says why."""
    if state != "close-off-requested":
        raise Conflict(
            f"事项当前为{MATTER_STATE_LABELS[state]}，没有待核验的销号申请（C8）",
            rule="C8",
            kind="no-close-off-request",
        )
    if decision == "refused" and not reason:
        raise _c8("退回销号申请须说明理由", "reason-missing", "reason")


def check_milestone_change(done: bool, behind: bool, *, field: str) -> None:
    """A milestone reported done or already announced behind keeps its date (the record stands)."""
    if done or behind:
        raise Conflict(
            "已完成或已通报进展迟缓的节点不能改期或撤销（C8）", rule="C8", kind="milestone-fixed", field=field
        )


def year_end(year: int) -> date:
    """年底: the first day of the year's last month, from which its matters are scored."""
    return periods.ReportPeriod(year, "annual", 1).last_day.replace(day=1)


def check_scoring(year: int, today: date, score: float, policy_max: int, *, field: str) -> None:
    """C8 年底打分评价: from the year's last month on, a score from 0 to the profile's maximum."""
    if today < year_end(year):
        raise _c8(f"{year} 年度重大事项自 {year_end(year)} 起方可评分", "scoring-not-open", "year")
    if not 0 <= score <= policy_max:
        raise _c8(f"评分须在 0 至 {policy_max} 分之间", "score-out-of-range", field)


def quarter_published_once(quarter: periods.ReportPeriod, today: date) -> None:
    """每季度媒体公布: a quarter's progress is published once it has ended."""
    if quarter.last_day >= today:
        raise _c8(f"{quarter.label}尚未结束，不能公布该季度进展", "quarter-not-ended", "quarter")


@dataclass(frozen=True)
class MilestoneFacts:
    milestone_id: str
    title: str
    due_on: date
    deadline: datetime
    state: MilestoneState
    done_on: date | None
    done_reported_at: datetime | None


def milestone_behind(m: MilestoneFacts, as_of: datetime) -> bool:
    """C8 进展迟缓: a milestone not reported done by 24:00 of its date is behind from then on,
    until a report says it is done."""
    if m.state == "withdrawn" or m.deadline > as_of:
        return False
    return m.done_reported_at is None or m.done_reported_at > as_of


def milestone_status(m: MilestoneFacts, as_of: datetime) -> str:
    if m.state == "withdrawn":
        return "已撤销"
    if m.done_reported_at is not None and m.done_reported_at <= as_of:
        return f"已完成（{m.done_on}）"
    if milestone_behind(m, as_of):
        return f"逾期未完成（{m.due_on}）"
    return f"未到期（{m.due_on}）"


# 每季度媒体公布: what the public page says of a milestone and a matter.
PUBLIC_MATTER_STATUSES = ("按计划推进", "进展迟缓", "已销号")


def public_milestone_status(m: MilestoneFacts, as_of: datetime) -> str:
    if m.done_reported_at is not None and m.done_reported_at <= as_of:
        return "已完成"
    return "逾期未完成" if milestone_behind(m, as_of) else "推进中"


def public_matter_status(closed_off: bool, behind: bool) -> str:
    on_plan, late, closed = PUBLIC_MATTER_STATUSES
    return closed if closed_off else late if behind else on_plan

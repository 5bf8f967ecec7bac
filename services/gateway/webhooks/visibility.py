"""Who receives which webhook event: the read rules of the services, applied to deliveries.

An endpoint acts for its owner: the API client that created it, with the roles and the
``department`` claim its token carried then (refreshed whenever the owner changes the endpoint).
A delivery is queued only if that principal may read what the event says; an event it may not
read leaves no delivery row at all. This module is the one place where that rule lives: the
queueing (``handlers.queue_event``) asks ``admits``, and the event-types listing and the
endpoint documentation print ``describe``.

The rules mirror each service's own read checks, and where the event does not carry what a
check needs they deny (the safe side):

* ``office``, ``supervisor`` and ``admin`` oversee everything and receive every domain event.
* A ``department`` client receives only events naming its own department (the ``department``,
  ``lead_department`` or ``departments`` field the rule lists), nothing else.
* A document is read by the office, the supervision office and its drafting department before
  it is published; ``document-formed`` does not say whether the document will be withheld (不予
  公开), so leaders and evaluators never receive it, and ``exemption-decided`` (the grant of
  withholding) goes to the same narrow audience. Published documents, published bulletins and
  the holiday calendar are public and go to everyone.
* Evaluation: ``vote-cast`` (the stream of ballot trackers) only to the office, the supervision office and
  admin; tallies and designations (and the interviews they trigger) only to the roles that may
  read results before they are published (``RESULT_READER_ROLES`` of the evaluation service:
  office, supervisor, leader).
* A ``leader`` client's ``department`` claim is its leader code. Leaders receive what the
  services let every leader read (report duties and interviews of the indicators service,
  evaluation results) and escalations that name them as actor or recipient. Instructions and
  joint matters are readable by the leaders they concern, which the events do not say: denied.
* ``webhook-endpoint-disabled`` goes to the owner of the endpoint concerned only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.auth import Principal
from shared.events import contracts

OVERSEER_ROLES = ("office", "supervisor")  # and admin, which passes every role check
# The evaluation service's RESULT_READER_ROLES (services/evaluation/service/common.py); a
# service may not import another, so it is repeated here and a test keeps the two equal.
RESULT_READER_ROLES = ("office", "supervisor", "leader")


@dataclass(frozen=True)
class Rule:
    """The audience of one kind of event. A principal receives it if any clause admits it."""

    # office, supervisor and admin.
    overseers: bool = True
    # A department client (role ``department``) whose claim appears in one of these data fields.
    department_fields: tuple[str, ...] = ()
    # Every leader.
    leaders: bool = False
    # A leader whose code (its ``department`` claim) appears in one of these data fields.
    leader_fields: tuple[str, ...] = ()
    # Anyone: the content is public when the event happens. A client whose only role is
    # ``department`` still receives only its own department's events of this kind.
    public: bool = False
    # Only the owner named in the data (``owner``), whatever its roles.
    owner_only: bool = False
    # Why the audience is what it is, for the listing (Chinese, shown to API users).
    note: str = ""


@dataclass(frozen=True)
class Case:
    """A rule that applies when ``applies(data)``; an event type has one or more, tried in order."""

    rule: Rule
    when: str = ""
    applies: Callable[[Mapping[str, Any]], bool] = lambda _data: True


_RESULTS = Rule(
    leaders=True,
    note="评定结果在公布前只有可读结果的角色（office、supervisor、leader）可见，部门与评议人不接收",
)
_SUBJECT_READERS = (
    Case(
        Rule(
            department_fields=("department",),
            leaders=True,
            note="汇报说明义务各位市领导均可查阅",
        ),
        when="subject_kind 为 report-duty 时",
        applies=lambda d: d.get("subject_kind") == "report-duty",
    ),
    Case(
        Rule(department_fields=("department",), note="事件不含分管领导，领导不接收"),
        when="其他 subject_kind",
    ),
)

RULES: dict[str, tuple[Case, ...]] = {
    contracts.DocumentFormed.event_type(): (
        Case(
            Rule(
                department_fields=("department",),
                note="事件不表明文件是否不予公开，故领导与评议人不接收",
            )
        ),
    ),
    contracts.DocumentPublished.event_type(): (
        Case(Rule(department_fields=("department",), public=True, note="已在门户网站公开的文件")),
    ),
    contracts.ExemptionDecided.event_type(): (
        Case(
            Rule(department_fields=("department",), note="不予公开的文件只给办公室、督查室、管理员与起草部门")
        ),
    ),
    contracts.TaskAssigned.event_type(): (
        Case(
            Rule(
                department_fields=("lead_department", "department"),
                note="事件不含相关领导，领导不接收",
            )
        ),
    ),
    contracts.FeedbackSubmitted.event_type(): (
        Case(
            Rule(
                department_fields=("department",),
                note="事件不含主办单位，主办单位请通过交办单查看反馈；领导不接收",
            )
        ),
    ),
    contracts.EscalationRaised.event_type(): (
        Case(Rule(department_fields=("lead_department", "department"), leader_fields=("actor", "recipient"))),
    ),
    contracts.DeadlinePassed.event_type(): _SUBJECT_READERS,
    contracts.DeadlinePassedWithdrawn.event_type(): _SUBJECT_READERS,
    contracts.DeadlineChanged.event_type(): _SUBJECT_READERS,
    **dict.fromkeys(
        (
            contracts.DisclosureRequestReceived.event_type(),
            contracts.DisclosureRequestClockChanged.event_type(),
            contracts.DisclosureRequestAnswered.event_type(),
        ),
        (Case(Rule(department_fields=("department",), note="申请只给受理机关与办公室、督查室、管理员")),),
    ),
    contracts.RankingPublished.event_type(): (
        Case(Rule(department_fields=("departments",), public=True, note="已公开发布的通报")),
    ),
    contracts.InterviewRequired.event_type(): (
        Case(
            Rule(department_fields=("department",), leaders=True, note="指标约谈各位市领导均可查阅"),
            when="indicator 不为空（保五争三指标约谈）时",
            applies=lambda d: d.get("indicator") is not None,
        ),
        Case(_RESULTS, when="indicator 为空（低效能评定引起的约谈）时"),
    ),
    contracts.VoteCast.event_type(): (
        Case(Rule(note="投票进度只给组织评定的办公室、督查室与管理员；部门、领导与评议人不接收")),
    ),
    contracts.RoundTallied.event_type(): (Case(_RESULTS),),
    contracts.DepartmentDesignated.event_type(): (Case(_RESULTS),),
    contracts.AssessmentPublished.event_type(): (
        Case(Rule(department_fields=("departments",), public=True, note="年度考核结果公布后向社会公开")),
    ),
    contracts.WebhookEndpointDisabled.event_type(): (
        Case(Rule(overseers=False, owner_only=True, note="管理员也只收到自己端点的停用通知")),
    ),
    contracts.CalendarYearPublished.event_type(): (Case(Rule(public=True, note="节假日安排公开")),),
    contracts.MatterListed.event_type(): (
        Case(
            Rule(
                department_fields=("lead_department", "cooperating_departments"),
                leader_fields=("leader",),
                note="重大事项由牵头单位、配合单位与分管市领导查看",
            )
        ),
    ),
    contracts.ProgressReported.event_type(): (
        Case(Rule(department_fields=("lead_department",), note="事件不含配合单位与分管市领导，二者不接收")),
    ),
    contracts.MatterClosedOff.event_type(): (
        Case(Rule(department_fields=("lead_department",), note="事件不含配合单位与分管市领导，二者不接收")),
    ),
}

# What an event type without a rule of its own gets: the overseers only, until someone decides.
DEFAULT = (Case(Rule(note="尚未规定受众的事件类型只给办公室、督查室与管理员")),)


def _values(data: Mapping[str, Any], fields: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for name in fields:
        value = data.get(name)
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return found


def rule_for(event_type: str, data: Mapping[str, Any]) -> Rule:
    for case in RULES.get(event_type, DEFAULT):
        if case.applies(data):
            return case.rule
    return DEFAULT[0].rule


def admits(event_type: str, data: Mapping[str, Any], owner: Principal) -> bool:
    """Whether an endpoint owned by ``owner`` may receive this event."""
    rule = rule_for(event_type, data)
    if rule.owner_only:
        return data.get("owner") == owner.client_id
    if rule.overseers and owner.has_any(*OVERSEER_ROLES):
        return True
    roles = owner.roles
    claim = owner.department
    if "department" in roles and claim and claim in _values(data, rule.department_fields):
        return True
    if "leader" in roles and (rule.leaders or (claim and claim in _values(data, rule.leader_fields))):
        return True
    if rule.public:
        department_only = roles == {"department"}
        return not (department_only and rule.department_fields)
    return False


def _describe_rule(rule: Rule) -> str:
    if rule.owner_only:
        parts = ["仅该端点的所有者（事件 owner 字段所指的客户端）"]
    else:
        parts = []
        if rule.overseers:
            parts.append("市政府办公室（office）、督查室（supervisor）与管理员（admin）")
        if rule.department_fields:
            fields = "、".join(rule.department_fields)
            parts.append(f"事件 {fields} 字段所指的部门（department 角色，令牌 department 声明为该部门）")
        if rule.leaders:
            parts.append("市领导（leader）")
        elif rule.leader_fields:
            fields = "、".join(rule.leader_fields)
            parts.append(f"事件 {fields} 字段所指的市领导（leader 角色，令牌 department 声明为领导代码）")
        if rule.public:
            scope = "；只有 department 角色的客户端仍只收本部门的" if rule.department_fields else ""
            parts.append(f"其他任何客户端（内容已公开{scope}）")
    text = "；".join(parts)
    return f"{text}。{rule.note}。" if rule.note else f"{text}。"


def describe(event_type: str) -> str:
    """Who receives ``event_type``, in words (the ``recipients`` of the event-types listing)."""
    cases = RULES.get(event_type, DEFAULT)
    if len(cases) == 1:
        return _describe_rule(cases[0].rule)
    return " ".join(f"{case.when}：{_describe_rule(case.rule)}" for case in cases)


PING_RECIPIENTS = "仅新建的端点本身（创建端点时发送一次）。"

SUMMARY = (
    "端点只收到其所有者有权读取的事件，按创建端点（或所有者最近一次修改端点）时令牌的角色与 "
    "department 声明过滤：office、supervisor、admin 收到全部领域事件；department 角色只收到事件中"
    "部门字段（department、lead_department、departments）为本部门的事件；不予公开的文件只给办公室、"
    "督查室、管理员与起草部门；vote-cast 只给 office、supervisor、admin；计票结果与低效能认定只给"
    "可读结果的角色（office、supervisor、leader）；leader 只收到其角色可读的事件。不可读的事件不产生"
    "投递记录。各事件类型的接收方见 GET /api/v1/webhooks/event-types 的 recipients。"
)

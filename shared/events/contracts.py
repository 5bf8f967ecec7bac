"""Event contracts: the one place where the shape of every domain event is defined.

Each contract is a pydantic model of the event's ``data`` with its name and version. Within a
version only additive changes are allowed; a breaking change is a new model with ``version``
+1, published beside the old one. The AsyncAPI document and JSON Schemas are generated from
this module (``make docs``).
"""

from __future__ import annotations

import datetime as _dt
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import TYPE_PREFIX
from shared.schemas import ShanghaiInstants

# What has a deadline: a document version (D1), a joint item (C4), a supervised instruction (C7),
# a report duty (I4), a disclosure request's answer (D7), a policy inquiry's reply (004), a major
# matter's milestone or monthly report (C8).
SubjectKind = Literal[
    "document-version",
    "joint-item",
    "instruction",
    "report-duty",
    "disclosure-request",
    "policy-inquiry",
    "major-milestone",
    "major-monthly-report",
]

# Additive in v1 (absent means false): the deadline was counted through a provisional year.
DeadlineProvisional = Annotated[
    bool,
    Field(
        description="截止时刻按临时节假日表计算（该年官方放假安排尚未发布），"
        "官方安排发布后可能变更并另发 deadline-changed",
        examples=[False],
    ),
]


class EventData(ShanghaiInstants):
    """Base of every event's data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_name: ClassVar[str]
    contract_version: ClassVar[int] = 1
    summary: ClassVar[str]
    # The field whose value is the aggregate id: Kafka key and CloudEvents subject.
    key_field: ClassVar[str]

    @classmethod
    def event_type(cls) -> str:
        return f"{TYPE_PREFIX}{cls.event_name}.v{cls.contract_version}"

    def aggregate_id(self) -> str:
        return str(getattr(self, self.key_field))


class DocumentFormed(EventData):
    """A government document was formed (形成) or changed (变更); its publication clock starts."""

    event_name = "document-formed"
    summary = "文件形成或变更，公开时限开始计算 (D1)"
    key_field = "document_id"

    document_id: str = Field(examples=["doc-3f1c2a"])
    version: int = Field(ge=1, examples=[1], description="1 for formation, +1 for every change")
    department: str = Field(description="起草部门代码", examples=["fgw"])
    document_number: str = Field(description="文号", examples=["湖政办发〔2018〕12号"])
    title: str = Field(examples=["关于进一步加强行政效能建设的通知"])
    formed_on: date = Field(description="形成或变更日期", examples=["2018-06-14"])
    deadline: datetime = Field(
        description="公开截止时刻 (24:00 Asia/Shanghai of the last day)",
        examples=["2018-06-25T00:00:00+08:00"],
    )
    deadline_provisional: DeadlineProvisional = False


class TaskAssigned(EventData):
    """A joint-matter item or a leader instruction was assigned to a department (交办)."""

    event_name = "task-assigned"
    summary = "会办事项或领导批示交办给部门 (C1, C7)"
    key_field = "task_id"

    task_id: str = Field(examples=["item-8d2e"])
    kind: Literal["joint-item", "instruction"] = Field(examples=["joint-item"])
    parent_id: str = Field(description="会办事项或批示编号", examples=["matter-51aa"])
    lead_department: str | None = Field(description="主办单位代码", examples=["fgw"])
    department: str = Field(description="承办/会办单位代码", examples=["jxj"])
    deadline: datetime = Field(examples=["2018-06-20T00:00:00+08:00"])
    deadline_provisional: DeadlineProvisional = False


class DeadlinePassed(EventData):
    """A deadline passed without the required action; the consequence says what followed."""

    event_name = "deadline-passed"
    summary = "时限届满未办理，记录后果 (D3, C4, I4)"
    key_field = "subject_id"

    subject_kind: SubjectKind = Field(examples=["document-version"])
    subject_id: str = Field(examples=["doc-3f1c2a@1"])
    department: str = Field(description="责任部门代码", examples=["fgw"])
    deadline: datetime = Field(examples=["2018-06-25T00:00:00+08:00"])
    consequence: Literal["overdue", "deemed-consent", "deemed-agreed-to-handle"] = Field(examples=["overdue"])
    deadline_provisional: DeadlineProvisional = False
    parent_id: str | None = Field(
        default=None,
        description="所属事项：重大事项节点或月报逾期（进展迟缓，C8）时为重大事项编号",
        examples=["mm-5b2c0e1f9a3d"],
    )


class DeadlinePassedWithdrawn(EventData):
    """A deadline-passed announced earlier is withdrawn: a record entered later (补录) shows the
    required action happened before the deadline. The original record is kept beside this one."""

    event_name = "deadline-passed-withdrawn"
    summary = "补录的记录表明时限届满前已办理，撤销此前的 deadline-passed（原记录保留）(D2, D3)"
    key_field = "subject_id"

    subject_kind: SubjectKind = Field(examples=["document-version"])
    subject_id: str = Field(description="与被撤销的 deadline-passed 相同", examples=["doc-3f1c2a@1"])
    department: str = Field(description="责任部门代码", examples=["fgw"])
    deadline: datetime = Field(examples=["2018-06-25T00:00:00+08:00"])
    consequence: Literal["overdue", "deemed-consent", "deemed-agreed-to-handle"] = Field(
        description="被撤销的后果", examples=["overdue"]
    )
    deadline_provisional: DeadlineProvisional = False
    parent_id: str | None = Field(
        default=None, description="与被撤销的 deadline-passed 相同（所属事项，C8）", examples=[None]
    )
    passed_at: datetime | None = Field(
        default=None, description="原 deadline-passed 记录的时刻", examples=["2018-06-25T00:05:00+08:00"]
    )
    reason: str = Field(
        description="撤销的原因：backfilled-exemption 补录的分管市长不予公开签字早于截止时刻",
        examples=["backfilled-exemption"],
    )
    stated_at: datetime = Field(
        description="补录记录所述的办理时刻（早于截止时刻）", examples=["2018-06-22T16:00:00+08:00"]
    )
    withdrawn_by: str = Field(description="补录记录的客户端", examples=["city-office"])
    withdrawn_at: datetime = Field(description="补录（撤销）的时刻", examples=["2018-07-03T09:30:00+08:00"])


class RankingPublished(EventData):
    """Our city's provincial rank for one indicator was published in a bulletin (I3)."""

    event_name = "ranking-published"
    summary = "重要指标全省排名通报 (I3)"
    key_field = "indicator"

    bulletin_id: str = Field(examples=["bulletin-2018-05"])
    indicator: str = Field(examples=["m-gdp"])
    period: str = Field(description="2018-05, 2018-Q2 or 2018", examples=["2018-05"])
    rank: int | None = Field(ge=1, examples=[6])
    grade: str | None = Field(default=None, description="等次 (annual assessments)", examples=[None])
    cities: int = Field(ge=1, examples=[11])
    departments: list[str] = Field(description="责任部门, lead first", examples=[["fgw", "tjj"]])
    worse_than_threshold: bool = Field(description="排名在第5位以后", examples=[True])


class VoteCast(EventData):
    """An encrypted ballot was cast. Carries no evaluator identity, no choices and no ordinal (E5).

    Version 2: v1 carried a receipt beside the running turnout, an ordinal that ranked each ballot
    in the voting order; it is no longer published (the turnout is published at the close)."""

    event_name = "vote-cast"
    contract_version = 2
    summary = "加密选票已提交（不含评议人身份、选择与投票人数）(E5)"
    key_field = "round_id"

    round_id: str = Field(examples=["2018-Q2"])
    tracker: str = Field(
        description="加密选票的追踪码（SHA-256）",
        examples=["9f2c41d07a3b5e689f2c41d07a3b5e689f2c41d07a3b5e689f2c41d07a3b5e68"],
    )


class DocumentPublished(EventData):
    """A document version was published on the portal, on time or late (D1, D3)."""

    event_name = "document-published"
    summary = "文件已在门户网站公开，标明是否按时 (D1)"
    key_field = "document_id"

    document_id: str = Field(examples=["doc-3f1c2a"])
    version: int = Field(ge=1, examples=[1])
    department: str = Field(description="起草部门代码", examples=["fgw"])
    published_at: datetime = Field(examples=["2018-06-20T10:00:00+08:00"])
    deadline: datetime = Field(examples=["2018-06-25T00:00:00+08:00"])
    deadline_provisional: DeadlineProvisional = False
    on_time: bool = Field(examples=[True])
    url: str = Field(
        description="门户网站地址", examples=["https://www.huzhou.gov.cn/art/2018/6/20/art_1.html"]
    )


class ExemptionDecided(EventData):
    """An exemption from publication (不予公开) was granted or refused (D2)."""

    event_name = "exemption-decided"
    summary = "不予公开申请的审批结果 (D2)"
    key_field = "document_id"

    document_id: str = Field(examples=["doc-3f1c2a"])
    version: int = Field(ge=1, examples=[1])
    department: str = Field(description="起草部门代码", examples=["fgw"])
    ground: str = Field(description="不予公开理由类别", examples=["state_secret"])
    granted: bool = Field(examples=[True])
    signed_by: str | None = Field(description="签字的分管市长代码", examples=["vm-industry"])
    decided_at: datetime | None = Field(
        default=None,
        description="签字时刻（办公室补录纸质签字时为纸质记录所载时刻），规则据此判断",
        examples=["2018-06-22T16:00:00+08:00"],
    )
    recorded_by: str | None = Field(
        default=None, description="录入该签字的客户端（领导本人或补录的办公室）", examples=["city-office"]
    )
    recorded_at: datetime | None = Field(
        default=None, description="录入系统的时刻", examples=["2018-07-03T09:30:00+08:00"]
    )
    backfilled: bool = Field(default=False, description="办公室补录的纸质签字", examples=[False])
    after_deadline: bool = Field(
        default=False,
        description="签字时刻不早于公开截止时刻：决定照录，但该版本仍记为逾期 (D2, D3)",
        examples=[False],
    )


class FeedbackSubmitted(EventData):
    """A cooperating department answered its item, or a department its instruction (C3, C7)."""

    event_name = "feedback-submitted"
    summary = "会办单位书面反馈或批示办理反馈 (C3, C7)"
    key_field = "task_id"

    task_id: str = Field(examples=["item-8d2e"])
    kind: Literal["joint-item", "instruction"] = Field(examples=["joint-item"])
    parent_id: str = Field(examples=["matter-51aa"])
    department: str = Field(description="反馈单位代码", examples=["jxw"])
    submitted_at: datetime = Field(examples=["2018-06-18T16:30:00+08:00"])
    deadline: datetime = Field(examples=["2018-06-20T00:00:00+08:00"])
    deadline_provisional: DeadlineProvisional = False
    late: bool = Field(examples=[False])


class EscalationRaised(EventData):
    """A step of the escalation chain for a late item (C5): raised, verified, forwarded."""

    event_name = "escalation-raised"
    summary = "逾期事项逐级报告：主办单位报告、分管秘书长核实、报分管市长 (C5)"
    key_field = "escalation_id"

    escalation_id: str = Field(examples=["esc-71b0"])
    task_id: str = Field(examples=["item-8d2e"])
    lead_department: str = Field(examples=["fgw"])
    department: str = Field(description="逾期的会办单位代码", examples=["jxw"])
    step: Literal["raised", "verified", "forwarded"] = Field(examples=["raised"])
    actor: str = Field(description="本步骤的办理人（部门或领导代码）", examples=["fgw"])
    recipient: str | None = Field(
        default=None,
        description="本步骤的报送对象（领导代码）：报告给分管秘书长，核查后报分管市长；核查步骤为空",
        examples=["dsg-industry"],
    )


class InterviewRequired(EventData):
    """A department head must be interviewed (约谈): indicators I5 or evaluation E3/E4."""

    event_name = "interview-required"
    summary = "需约谈部门主要负责人 (I5, E3, E4)"
    key_field = "interview_id"

    interview_id: str = Field(examples=["iv-2018-05-m-gdp"])
    department: str = Field(examples=["fgw"])
    reason: str = Field(examples=["月度指标连续三次全省排名第5位以后"])
    interviewers: list[str] = Field(
        description="约谈人（领导代码）", examples=[["vm-executive", "dsg-executive"]]
    )
    indicator: str | None = Field(default=None, examples=["m-gdp"])
    period: str = Field(description="期别：2018-05, 2018-Q2 或 2018", examples=["2018-05"])


class RoundTallied(EventData):
    """A quarterly evaluation round was tallied (E3); ballots are published with it."""

    event_name = "round-tallied"
    summary = "低效能部门评定计票结果 (E3)"
    key_field = "round_id"

    round_id: str = Field(examples=["2018-Q2"])
    ballots: int = Field(ge=0, examples=[100])
    votes: dict[str, int] = Field(description="各部门得票数", examples=[{"jxw": 20, "fgw": 15}])
    selected: list[str] = Field(description="得票前3位（含并列）", examples=[["jxw", "fgw", "jtj"]])


class DepartmentDesignated(EventData):
    """A department was in the top 3 for the designation run and is designated (E4)."""

    event_name = "department-designated"
    summary = "连续三个季度得票前3位，评定为低效能部门 (E4)"
    key_field = "department"

    round_id: str = Field(examples=["2018-Q4"])
    department: str = Field(examples=["jxw"])
    consecutive_quarters: int = Field(ge=1, examples=[3])


class AssessmentPublished(EventData):
    """A year's assessment results (考核, E6) were published by the office: final scores, prizes,
    class A units below the pass mark."""

    event_name = "assessment-published"
    summary = "年度考核结果公布：各单位最后得分、先进奖与A类未达标单位 (E6)"
    key_field = "assessment_id"

    assessment_id: str = Field(description="方案编号@年度", examples=["wenzhou-2013@2013"])
    year: int = Field(examples=[2013])
    scheme_id: str = Field(examples=["wenzhou-2013"])
    scheme_version: int = Field(ge=1, examples=[1])
    departments: list[str] = Field(description="被考核单位", examples=[["jxw", "fgw"]])
    scores: dict[str, str] = Field(
        description="各单位最后得分（十进制字符串，按方案规定的位数）",
        examples=[{"jxw": "9.84", "fgw": "10.52"}],
    )
    prizes: dict[str, list[str]] = Field(
        description="各奖项获奖单位（first 一等奖 / second 二等奖）",
        examples=[{"first": ["fgw"], "second": ["jxw"]}],
    )
    failed: list[str] = Field(description="A类单位中未达标的单位", examples=[["gsj"]])


class WebhookEndpointDisabled(EventData):
    """The gateway disabled a webhook endpoint (410 Gone, or failing for too long); tells its owner."""

    event_name = "webhook-endpoint-disabled"
    summary = "Webhook 端点已停用（接收方返回 410 或持续投递失败），通知端点所有者"
    key_field = "endpoint_id"

    endpoint_id: str = Field(examples=["ep_3f1c2a9d7b5e4c1a"])
    owner: str = Field(description="端点所有者（API 客户端编号）", examples=["city-portal"])
    url: str = Field(description="端点地址", examples=["https://hooks.example.gov.cn/xiaoneng"])
    reason: Literal["gone", "sustained-failure"] = Field(
        description="gone：接收方返回 410；sustained-failure：持续失败超过设定时长",
        examples=["sustained-failure"],
    )
    failing_since: datetime | None = Field(
        default=None, description="本轮连续失败的开始时刻", examples=["2018-06-20T10:00:00+08:00"]
    )
    disabled_at: datetime = Field(examples=["2018-06-25T10:00:00+08:00"])
    last_status_code: int | None = Field(default=None, description="最后一次响应状态码", examples=[503])


class CalendarDay(BaseModel):
    """One day of an official holiday table: a weekday off or a weekend worked (调休)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: _dt.date = Field(examples=["2027-02-05"])
    name: str = Field(min_length=1, max_length=64, examples=["春节"])


class CalendarYearPublished(EventData):
    """An administrator published (or corrected) the official holiday table of a year.

    Every domain service keeps the table in its own database and recomputes the deadlines of its
    open items that the year touches; each moved deadline is announced by ``deadline-changed``.
    """

    event_name = "calendar-year-published"
    summary = "年度节假日安排（官方放假调休表）发布或更正，各服务据此重算未办结事项的截止时刻"
    key_field = "year"

    year: int = Field(ge=1, le=9999, examples=[2027])
    revision: int = Field(ge=1, description="1 为首次发布，更正时递增", examples=[1])
    notice: str = Field(description="来源通知文号", examples=["国办发明电〔2026〕7号"])
    published_on: date = Field(description="通知的发布日期", examples=["2026-11-20"])
    holidays: list[CalendarDay] = Field(
        description="放假的工作日（周一至周五）",
        examples=[[{"date": "2027-01-01", "name": "元旦"}, {"date": "2027-02-08", "name": "春节"}]],
    )
    working_days: list[CalendarDay] = Field(
        description="调休上班的周末", examples=[[{"date": "2027-02-14", "name": "春节调休上班"}]]
    )
    published_by: str = Field(description="发布的管理员客户端", examples=["city-admin"])
    published_at: datetime = Field(examples=["2026-11-21T09:00:00+08:00"])


class DeadlineChanged(EventData):
    """An open item's deadline moved because the holiday table of a year it touches changed."""

    event_name = "deadline-changed"
    summary = "官方节假日安排发布或更正后，未办结事项的截止时刻变更（每项每次变更一条）"
    key_field = "subject_id"

    subject_kind: SubjectKind = Field(examples=["joint-item"])
    subject_id: str = Field(examples=["item-8d2e"])
    department: str = Field(description="责任部门代码", examples=["fgw"])
    old_deadline: datetime = Field(examples=["2027-02-10T00:00:00+08:00"])
    new_deadline: datetime = Field(examples=["2027-02-15T00:00:00+08:00"])
    deadline_provisional: bool = Field(
        description="新的截止时刻是否仍依赖某个尚无官方安排的年份", examples=[False]
    )
    reason: Literal["calendar-year-published", "calendar-year-corrected"] = Field(
        examples=["calendar-year-published"]
    )
    year: int = Field(description="引起变更的节假日安排年份", examples=[2027])
    revision: int = Field(ge=1, examples=[1])
    notice: str = Field(description="来源通知文号", examples=["国办发明电〔2026〕7号"])


class DisclosureRequestReceived(EventData):
    """A request for government information (依申请公开) was received; its answer clock starts. No
    personal data of the applicant: only their type, as the annual report counts it (D8)."""

    event_name = "disclosure-request-received"
    summary = "收到政府信息公开申请，答复期限开始计算 (D7)"
    key_field = "request_id"

    request_id: str = Field(examples=["req-5c1e9a0b7d21"])
    number: str = Field(description="申请编号", examples=["YSQ2018-48271934"])
    department: str = Field(description="收到申请的机关（部门代码）", examples=["fgw"])
    channel: str = Field(description="提交方式（第三十一条）", examples=["online"])
    applicant_type: str = Field(description="申请人类型（年度报告表三的列）", examples=["natural-person"])
    received_on: date = Field(description="收到申请之日", examples=["2018-09-28"])
    deadline: datetime = Field(description="答复截止时刻", examples=["2018-11-03T00:00:00+08:00"])
    deadline_provisional: DeadlineProvisional = False


class DisclosureRequestClockChanged(EventData):
    """A request's answer clock changed: extended, stopped for completion or a third party,
    restarted, or the request abandoned. Who changed it and why travel with it."""

    event_name = "disclosure-request-clock-changed"
    summary = "政府信息公开申请的答复期限变更：延期、补正、征求第三方意见、视为放弃 (D7)"
    key_field = "request_id"

    request_id: str = Field(examples=["req-5c1e9a0b7d21"])
    department: str = Field(description="收到申请的机关（部门代码）", examples=["fgw"])
    change: Literal[
        "extended",
        "completion-requested",
        "completed",
        "abandoned",
        "consultation-started",
        "consultation-ended",
    ] = Field(examples=["extended"])
    old_deadline: datetime | None = Field(examples=["2018-11-03T00:00:00+08:00"])
    new_deadline: datetime | None = Field(
        description="新的答复截止时刻；等待补正或视为放弃时为空", examples=["2018-12-01T00:00:00+08:00"]
    )
    changed_by: str = Field(description="变更的客户端（系统自动为 system）", examples=["city-office"])
    changed_at: datetime = Field(examples=["2018-10-30T10:00:00+08:00"])
    reason: str = Field(description="变更理由", examples=["申请内容涉及多个部门，需协调"])


class DisclosureRequestAnswered(EventData):
    """A request was answered (art. 36), on time or late."""

    event_name = "disclosure-request-answered"
    summary = "政府信息公开申请已答复（第三十六条各类答复），按时或逾期 (D7)"
    key_field = "request_id"

    request_id: str = Field(examples=["req-5c1e9a0b7d21"])
    department: str = Field(description="答复的机关（部门代码）", examples=["fgw"])
    kind: str = Field(description="答复类型", examples=["not-disclosed"])
    ground: str | None = Field(
        description="不予公开理由、无法提供或不予处理的原因", examples=["state-secret"]
    )
    answered_at: datetime = Field(examples=["2018-11-05T10:00:00+08:00"])
    deadline: datetime = Field(examples=["2018-11-03T00:00:00+08:00"])
    late: bool = Field(description="答复时刻不早于答复截止时刻", examples=[True])


class MajorMatterRef(EventData):
    """What every major-matter event says of the matter (C8)."""

    key_field = "matter_id"

    matter_id: str = Field(examples=["mm-5b2c0e1f9a3d"])
    year: int = Field(description="清单年度", examples=[2018])
    number: int = Field(ge=1, description="清单序号", examples=[7])
    title: str = Field(description="重大事项名称", examples=["南太湖新区基础设施建设"])
    lead_department: str = Field(description="牵头单位代码", examples=["jsj"])


class MatterListed(MajorMatterRef):
    """A major matter was put on the year's list (年度重大事项清单, C8)."""

    event_name = "matter-listed"
    summary = "重大事项列入年度清单（任务表、时间表、责任表）(C8)"

    cooperating_departments: list[str] = Field(description="配合单位代码", examples=[["gtj", "ghj"]])
    leader: str = Field(description="分管市领导代码", examples=["vm-urban"])
    completion_due: date = Field(description="完成时限", examples=["2018-12-31"])
    milestones: int = Field(ge=1, description="时间表节点数", examples=[4])


class ProgressReported(MajorMatterRef):
    """The lead department reported a month's progress of a major matter (C8)."""

    event_name = "progress-reported"
    summary = "牵头单位报送重大事项月度进展 (C8)"

    month: str = Field(description="所报月份", examples=["2018-06"])
    milestones_total: int = Field(ge=0, description="时间表节点数（不含已撤销）", examples=[4])
    milestones_done: int = Field(ge=0, description="报送时已完成的节点数", examples=[2])
    milestones_behind: int = Field(ge=0, description="报送时逾期未完成的节点数", examples=[0])
    submitted_at: datetime = Field(examples=["2018-07-03T10:00:00+08:00"])
    late: bool = Field(description="晚于月报截止时刻报送", examples=[False])


class MatterClosedOff(MajorMatterRef):
    """The office verified a completed major matter and closed it off (销号, C8)."""

    event_name = "matter-closed-off"
    summary = "重大事项经市政府办公室核验后销号 (C8)"

    closed_off_at: datetime = Field(examples=["2018-11-20T15:00:00+08:00"])
    completion_due: date = Field(description="完成时限", examples=["2018-12-31"])


CONTRACTS: tuple[type[EventData], ...] = (
    DocumentFormed,
    DocumentPublished,
    ExemptionDecided,
    TaskAssigned,
    FeedbackSubmitted,
    EscalationRaised,
    DeadlinePassed,
    DeadlinePassedWithdrawn,
    RankingPublished,
    InterviewRequired,
    VoteCast,
    RoundTallied,
    DepartmentDesignated,
    AssessmentPublished,
    WebhookEndpointDisabled,
    CalendarYearPublished,
    DeadlineChanged,
    DisclosureRequestReceived,
    DisclosureRequestClockChanged,
    DisclosureRequestAnswered,
    MatterListed,
    ProgressReported,
    MatterClosedOff,
)

BY_TYPE: dict[str, type[EventData]] = {c.event_type(): c for c in CONTRACTS}


def topic_for(contract: type[EventData], prefix: str = "") -> str:
    """One topic per event name and major version, optionally prefixed per deployment."""
    return f"{prefix}{contract.event_type()}"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlt"

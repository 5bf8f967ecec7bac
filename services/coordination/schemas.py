"""HTTP contract of the coordination service: joint matters (附件2), feedback, escalations, the
overdue table (附件3) and leader instructions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.coordination.domain import (
    EscalationStatus,
    FeedbackKind,
    InstructionCategory,
    InstructionState,
    ItemState,
    TallyStatus,
    Tier,
)
from shared.deadlines import SHANGHAI, on_the_calendar
from shared.policy import ApprovalLevel, EscalationStep
from shared.schemas import RowModel, ShanghaiInstants


def _in_shanghai(value: datetime) -> datetime:
    # Instants are shown in the zone the deadlines are counted in (24:00 is 00:00+08:00).
    return value.astimezone(SHANGHAI) if value.tzinfo is not None else value


Instant = Annotated[datetime, AfterValidator(_in_shanghai)]

PROVISIONAL = "截止时刻按临时节假日表计算，官方安排发布后可能变更"

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Paragraph = Annotated[str, StringConstraints(min_length=1, max_length=20000, strip_whitespace=True)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeadlineTier(BaseModel):
    tier: Literal["routine", "complex", "beyond"] = Field(description="一般事项 / 复杂重大事项 / 超过上限")
    max_days: int | None = Field(description="最长反馈时限；为空表示无上限", examples=[3])
    unit: Literal["calendar", "working"]
    approval: Literal["vice_mayor", "mayor"] | None = Field(description="所需审批：分管市长 / 市长")


class Attachment(Input):
    """附件的元数据（文件本身不经本服务传输）。"""

    name: Line = Field(description="附件名称", examples=["有关材料复印件"])
    pages: int | None = Field(default=None, ge=1, description="页数", examples=[3])
    reference: str | None = Field(
        default=None, max_length=500, description="文件存放位置或编号", examples=["oa://2018/06/0143"]
    )


class ApprovalIn(Input):
    level: ApprovalLevel = Field(
        description="审批层级：vice_mayor 分管市长（复杂重大事项，≤10天）；mayor 市政府主要领导（超过10天）",
        examples=["vice_mayor"],
    )
    leader: Code = Field(
        description="签批领导代码（分管市长须为主办单位的分管市长）", examples=["vm-agriculture"]
    )
    approved_on: date = Field(description="同意日期（不晚于交办日期）", examples=["2018-06-13"])
    reference: str | None = Field(default=None, max_length=500, description="签批件编号或说明")


class ItemIn(Input):
    department: Code = Field(description="会办单位代码", examples=["nyj"])
    content: Paragraph = Field(
        description="该会办单位的会办事项内容", examples=["提供2018年度农业项目用地需求清单"]
    )
    feedback_days: int | None = Field(
        default=None,
        ge=1,
        le=366,
        description="本项的反馈时限（天），缺省取交办单的 feedback_days",
        examples=[3],
    )


class JointMatterCreate(Input):
    lead_department: Code = Field(description="主办单位代码", examples=["jsj"])
    basis: Paragraph = Field(description="交办依据", examples=["市政府第12次常务会议纪要"])
    main_matter: Paragraph = Field(description="主办事项", examples=["推进城市有机更新项目前期工作"])
    items: list[ItemIn] = Field(min_length=1, max_length=100, description="会办事项，每个会办单位一项")
    feedback_days: int | None = Field(
        default=None,
        ge=1,
        le=366,
        description="办理反馈时限（天）。缺省为一般性常规工作的时限；超过须记录分管市长或市长的同意（C2）",
        examples=[3],
    )
    requirements: str | None = Field(
        default=None, max_length=2000, description="其他办理要求（附在附件2的标准要求之后）"
    )
    contact_person: Line = Field(description="联系人", examples=["王明"])
    contact_phone: Annotated[str, StringConstraints(min_length=3, max_length=32, strip_whitespace=True)] = (
        Field(description="联系电话", examples=["0572-2222222"])
    )
    fax: Annotated[str, StringConstraints(max_length=32, strip_whitespace=True)] | None = Field(
        default=None, description="传真", examples=["0572-2222223"]
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=50, description="附件")
    approvals: list[ApprovalIn] = Field(default_factory=list, max_length=2, description="时限审批记录（C2）")
    assigned_on: date | None = Field(
        default=None,
        description=(
            "交办日期（交办单落款日期），缺省为今天（Asia/Shanghai）。早于今天的日期仅限市政府办公室登记此前已"
            "印发的纸质交办单时使用；不得晚于今天"
        ),
        examples=["2018-06-14"],
    )
    supersedes: str | None = Field(
        default=None, description="更正：本交办单更正的原交办单编号（原单保持不变，两者互相链接）"
    )


class ApprovalView(RowModel):
    level: ApprovalLevel
    leader: str = Field(examples=["vm-agriculture"])
    leader_title: str = Field(examples=["副市长（分管农业）"])
    approved_on: date
    reference: str | None
    recorded_by: str
    recorded_at: Instant


class AttachmentView(BaseModel):
    name: str
    pages: int | None = None
    reference: str | None = None


class FeedbackView(RowModel):
    id: str = Field(examples=["fb-5b2c0e1f9a3d"])
    item_id: str
    kind: FeedbackKind = Field(
        description="answer 按时限内反馈（办结）；late 视作同意后补报的逾期反馈；correction 更正记录",
        examples=["answer"],
    )
    content: str
    signed_by: str = Field(description="签字的单位主要领导", examples=["李华"])
    stamped: bool = Field(description="已加盖单位公章")
    attachments: list[AttachmentView]
    delay_reason: str | None = Field(description="超期原因（逾期反馈时填写）")
    late: bool = Field(description="反馈时已过时限")
    corrects: str | None = Field(description="被更正的反馈编号")
    submitted_by: str
    submitted_at: Instant


class ItemView(RowModel):
    id: str = Field(examples=["item-8d2e41aa90c1"])
    matter_id: str
    seq: int = Field(description="会办事项序号", examples=[1])
    department: str = Field(examples=["nyj"])
    department_name: str = Field(examples=["市农业局"])
    content: str
    tier: Tier = Field(description="routine 一般性常规工作；complex 复杂重大事项；beyond 超过复杂事项上限")
    feedback_days: int
    day_unit: Literal["calendar", "working"]
    due_on: date = Field(description="反馈时限的最后一日（须于该日24:00前反馈）", examples=["2018-06-19"])
    deadline: Instant = Field(description="截止时刻（最后一日24:00，Asia/Shanghai）")
    deadline_provisional: bool = Field(description=PROVISIONAL, examples=[False])
    state: ItemState = Field(
        description=(
            "assigned 已交办；acknowledged 已领办；answer"
            "ed 已反馈（办结）；deemed-consent 逾期未反馈视作同意；"
            "deemed-agreed-to-handle 领办后逾期未办理视作同意办理。后三者为终态，不可重开（C4）"
        )
    )
    past_deadline: bool = Field(description="当前是否已过截止时刻")
    acknowledged_at: Instant | None
    closed_at: Instant | None = Field(description="办结时刻：反馈时刻，或视作同意时的截止时刻")
    feedback: list[FeedbackView]
    escalation_id: str | None


class JointMatterView(RowModel):
    id: str = Field(examples=["matter-51aa03c2d4e8"])
    lead_department: str
    lead_department_name: str
    basis: str
    main_matter: str
    requirements: str = Field(description="办理反馈时限及要求（附件2原文）")
    contact_person: str
    contact_phone: str
    fax: str | None
    attachments: list[AttachmentView]
    copied_to: list[str] = Field(description="抄报单位：市政府督查室", examples=[["supervision"]])
    assigned_on: date
    approvals: list[ApprovalView]
    items: list[ItemView]
    supersedes: str | None
    superseded_by: list[str] = Field(description="更正本交办单的新交办单")
    created_by: str
    created_at: Instant
    sheet_url: str = Field(description="可打印的交办单（附件2 版式，HTML）")


class MatterSummary(RowModel):
    id: str
    lead_department: str
    main_matter: str
    assigned_on: date
    items: int
    open_items: int
    created_at: Instant


class FeedbackCreate(Input):
    content: Paragraph = Field(
        description="会办情况（意见），书面材料的内容", examples=["同意，用地需求清单见附件"]
    )
    signed_by: Annotated[str, StringConstraints(max_length=64, strip_whitespace=True)] = Field(
        description="签字的单位主要领导（C3）", examples=["李华"]
    )
    stamped: bool = Field(description="书面材料已加盖单位公章（C3）", examples=[True])
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    delay_reason: str | None = Field(
        default=None, max_length=2000, description="超期原因（逾期反馈时填写，列入附件3）"
    )


class CorrectionCreate(FeedbackCreate):
    corrects: str | None = Field(default=None, description="被更正的反馈编号；缺省为最近一次反馈")


class EscalationCreate(Input):
    reason: Paragraph = Field(
        description="反映的情况：无正当理由未按时办理并反馈", examples=["逾期未反馈，影响项目报批"]
    )


class VerificationCreate(Input):
    confirmed: bool = Field(description="true：核查属实；false：有正当理由，核查结案", examples=[True])
    note: str | None = Field(default=None, max_length=2000, description="核查意见")


class ForwardingCreate(Input):
    note: str | None = Field(default=None, max_length=2000, description="报送意见")


class ChainLinkView(BaseModel):
    step: EscalationStep
    leader: str = Field(examples=["dsg-agriculture"])
    title: str = Field(examples=["副秘书长（联系农业）"])


class EscalationStepView(RowModel):
    seq: int
    step: Literal["raised", "verified", "dismissed", "forwarded"]
    actor: str = Field(description="办理人：主办单位代码或领导代码", examples=["jsj"])
    recipient: str | None = Field(description="报送对象（领导代码）", examples=["dsg-agriculture"])
    note: str | None
    at: Instant


class EscalationView(RowModel):
    id: str = Field(examples=["esc-71b0d2c4e6f8"])
    item_id: str
    matter_id: str
    lead_department: str
    department: str = Field(description="逾期的会办单位", examples=["nyj"])
    chain: list[ChainLinkView] = Field(description="逐级报告链：该会办单位的分管秘书长 → 分管市长（C5）")
    holder: str = Field(description="当前办理的领导代码", examples=["dsg-agriculture"])
    status: EscalationStatus = Field(
        description=(
            "awaiting-verification 待核查；verified 已核查；forwarded 已报分管市长；dismissed 核查结案"
        )
    )
    reason: str
    raised_at: Instant
    steps: list[EscalationStepView]


class OverdueItem(RowModel):
    seq: int = Field(description="序号")
    item_id: str
    matter_id: str
    content: str = Field(description="会办事项")
    department: str
    department_name: str = Field(description="会办单位")
    due_on: date = Field(description="办结时限（最后一日）")
    deadline_text: str = Field(description="办结时限，附件3 格式", examples=["6月19日"])
    feedback_at: Instant | None = Field(description="实际办理反馈时刻；为空表示尚未办理反馈")
    actual_feedback_text: str = Field(
        description="实际办理反馈时间，附件3 格式", examples=["6月21日", "尚未办理反馈"]
    )
    reason: str = Field(description="超期原因")
    state: ItemState


class ReviewView(RowModel):
    reviewed_by: str
    reviewed_at: Instant
    rows: int = Field(description="审核时表中的行数")
    note: str | None


class Reviewer(BaseModel):
    code: str = Field(description="审核人：主办单位的分管秘书长", examples=["dsg-urban"])
    title: str
    review: ReviewView | None = Field(description="审核记录；为空表示尚未审核")


class OverdueTable(ShanghaiInstants):
    title: str = Field(examples=["部门会办事项超期办理反馈情况统计表"])
    lead_department: str = Field(examples=["jsj"])
    filing_unit: str = Field(description="填报单位", examples=["市建设局"])
    period: str = Field(examples=["2018-06"])
    period_start: date
    period_end: date
    filled_on: date = Field(description="填报时间")
    contact_person: str | None = Field(description="联系人")
    phone: str | None = Field(description="电话")
    columns: list[str] = Field(
        description="附件3 表头",
        examples=[["序号", "会办事项", "会办单位", "办结时限", "实际办理反馈时间", "超期原因"]],
    )
    rows: list[list[int | str]] = Field(description="附件3 各行，与表头一一对应")
    items: list[OverdueItem] = Field(description="各行的结构化数据")
    reviewer: Reviewer
    note: str


class ReviewCreate(Input):
    note: str | None = Field(default=None, max_length=2000, description="审核意见")


class LateRankingEntry(RowModel):
    rank: int = Field(description="名次（超期事项多者在前，并列同名次）", examples=[1])
    department: str
    department_name: str
    late: int = Field(description="超期事项数")
    deemed_consent: int = Field(description="其中视作同意")
    deemed_agreed_to_handle: int = Field(description="其中视作同意办理")
    answered_late: int = Field(description="其中已逾期反馈")
    unanswered: int = Field(description="其中尚未办理反馈")


class LateRanking(ShanghaiInstants):
    period: str
    period_start: date
    period_end: date
    as_of: Instant
    entries: list[LateRankingEntry]


# 补录 (C7): a step of an instruction handled on paper is entered later with the instant it states.
StatedInstant = Annotated[AwareDatetime, AfterValidator(on_the_calendar)]


def _stated(step: str, follows: str | None, example: str, *, meaning: str = "") -> Any:
    """The optional field of a step's stated instant (补录): ``meaning``, then how a paper record
    gives it."""
    after = f"，不得早于{follows}时刻" if follows else ""
    return Field(
        default=None,
        description=meaning
        + f"纸质办理后补录：{step}的实际时刻（须带时区），不得晚于现在{after}，否则 422（C7）。"
        "仅限市政府办公室填写，其他身份填写返回 403。缺省为现在。"
        "当天拟办交办、督办时限和半月统计均按此时刻判断；"
        "录入人和录入时刻另行记录（recorded_by、recorded_at）",
        examples=[example],
    )


class StepRecord(ShanghaiInstants):
    """One step of an instruction: the instant it happened beside who entered it and when."""

    at: Instant = Field(
        description="该步骤发生的时刻（补录的为纸质记录所载时刻），规则据此判断",
        examples=["2018-06-14T16:20:00+08:00"],
    )
    recorded_by: str = Field(description="录入人（客户端编号）", examples=["office-portal"])
    recorded_at: Instant = Field(description="录入时刻（服务器时刻）", examples=["2018-07-02T09:00:00+08:00"])
    backfilled: bool = Field(description="补录：所载时刻早于录入时刻", examples=[True])

    @classmethod
    def of_step(cls, at: datetime | None, by: str | None, recorded_at: datetime | None) -> StepRecord | None:
        if at is None or by is None or recorded_at is None:
            return None
        return cls(at=at, recorded_by=by, recorded_at=recorded_at, backfilled=at < recorded_at)


class InstructionCreate(Input):
    leader: Code = Field(description="作出批示的市政府领导代码", examples=["vm-urban"])
    category: InstructionCategory = Field(
        description=(
            "general-reply 一般事项答复；request 请示件；citizen-letter 群众来信（三者“不过夜”）；"
            "supervised 督办类批示件（须明确办理时限）"
        ),
        examples=["supervised"],
    )
    title: Line = Field(examples=["关于加快老旧小区改造的批示"])
    content: Paragraph = Field(description="批示内容", examples=["请市建设局牵头研究，月底前报送方案。"])
    source_document: str | None = Field(default=None, max_length=500, description="来文或来信编号")
    received_at: StatedInstant | None = _stated(
        "收到",
        None,
        "2018-06-14T16:20:00+08:00",
        meaning="批示件收到时刻；当天拟办交办以 Asia/Shanghai 日期计。",
    )


class ProposalCreate(Input):
    proposal: Paragraph = Field(description="拟办意见", examples=["拟请市建设局牵头办理，市财政局配合。"])
    proposed_at: StatedInstant | None = _stated("拟办", "收到", "2018-06-14T17:00:00+08:00")


class AssignmentIn(Input):
    department: Code = Field(description="承办部门代码", examples=["jsj"])
    due_on: date | None = Field(
        default=None,
        description="交办单明确的办理时限（最后一日）；督办类必填，其他类缺省为“不过夜”",
        examples=["2018-06-30"],
    )
    requirement: str | None = Field(default=None, max_length=2000, description="办理要求")


class AssignmentsCreate(Input):
    assignments: list[AssignmentIn] = Field(min_length=1, max_length=100)
    assigned_at: StatedInstant | None = _stated(
        "交办",
        "拟办",
        "2018-06-14T17:30:00+08:00",
        meaning=(
            "交办单上各部门的交办时刻；held_overnight、缺省“不过夜”时限和 due_on 不早于交办当天均按此判断。"
        ),
    )


class ExplanationCreate(Input):
    reason: Paragraph = Field(description="不能按时办理反馈的书面说明", examples=["需待省厅批复后方能答复"])


class InstructionFeedbackCreate(Input):
    content: Paragraph = Field(description="办理情况反馈", examples=["方案已于6月28日报送。"])
    feedback_at: StatedInstant | None = _stated(
        "反馈",
        "交办",
        "2018-06-28T10:00:00+08:00",
        meaning="市政府办公室收到纸质反馈的时刻；是否逾期（feedback_late）和半月统计按此判断。",
    )


class ExplanationView(RowModel):
    id: str
    reason: str
    filed_by: str
    filed_at: Instant


class AssignmentView(RowModel):
    id: str = Field(examples=["ia-3c4d5e6f7a8b"])
    instruction_id: str
    department: str
    department_name: str
    requirement: str | None
    supervised: bool
    due_on: date
    deadline: Instant
    deadline_provisional: bool = Field(description=PROVISIONAL, examples=[False])
    assigned_by: str
    assigned_at: Instant
    feedback: str | None
    feedback_at: Instant | None
    feedback_late: bool | None
    overdue: bool = Field(description="督办类：已过时限且未反馈")
    explanations: list[ExplanationView]
    assigned_record: StepRecord = Field(description="交办：所载时刻、录入人、录入时刻")
    feedback_record: StepRecord | None = Field(description="反馈：所载时刻、录入人、录入时刻；未反馈时为空")


class InstructionView(RowModel):
    id: str = Field(examples=["ins-9a8b7c6d5e4f"])
    leader: str
    leader_title: str
    category: InstructionCategory
    title: str
    content: str
    source_document: str | None
    received_at: Instant
    assignment_due: Instant = Field(description="须拟办交办的截止时刻：收到当天24:00（C7）")
    state: InstructionState = Field(
        description="registered 已登记；proposed 已拟办；assigned 已交办；archived 已归档"
    )
    proposal: str | None
    proposed_at: Instant | None
    assigned_at: Instant | None
    held_overnight: bool | None = Field(description="交办时已过夜（未在收到当天交办）；未交办时为空")
    archived_at: Instant | None
    received_record: StepRecord = Field(description="收到：所载时刻、录入人（登记人）、录入时刻（登记时刻）")
    proposed_record: StepRecord | None = Field(description="拟办：所载时刻、录入人、录入时刻")
    assigned_record: StepRecord | None = Field(
        description="交办（最早的一次）：所载时刻、录入人、录入时刻；held_overnight 按所载时刻判断"
    )
    assignments: list[AssignmentView]


class TallyRowView(RowModel):
    assignment_id: str
    instruction_id: str
    title: str
    department: str
    department_name: str
    due_on: date
    assigned_at: Instant = Field(description="交办时刻（补录的为所载时刻）")
    feedback_at: Instant | None = Field(description="反馈时刻（补录的为所载时刻），统计据此判断")
    assigned_record: StepRecord = Field(description="交办：所载时刻、录入人、录入时刻")
    feedback_record: StepRecord | None = Field(description="反馈：所载时刻、录入人、录入时刻")
    status: TallyStatus = Field(
        description="on-time 按时反馈；late 反馈不及时；missing 逾期未反馈；pending 未到期未反馈"
    )
    explained: bool = Field(description="到期前已作书面说明")
    slow: bool = Field(description="办理不积极：逾期且未作书面说明")


class TallyDepartment(BaseModel):
    department: str
    department_name: str
    total: int
    on_time: int
    late: int
    missing: int
    slow: int


class InstructionTally(ShanghaiInstants):
    period: str = Field(examples=["2018-06-1"])
    start: date = Field(examples=["2018-06-01"])
    end: date = Field(examples=["2018-06-15"])
    as_of: Instant = Field(description="统计截至时刻：统计期末24:00，或当前时刻（统计期未结束时）")
    counts: dict[str, int] = Field(examples=[{"on-time": 3, "late": 1, "missing": 1, "pending": 0}])
    slow: list[TallyRowView] = Field(description="办理不积极")
    late: list[TallyRowView] = Field(description="反馈不及时")
    missing: list[TallyRowView] = Field(description="逾期未反馈")
    rows: list[TallyRowView] = Field(description="统计范围内的全部督办件")
    departments: list[TallyDepartment]

"""HTTP contract of the major matters (年度重大事项, C8): the year's list with its task sheet,
timetable and responsibility sheet, monthly progress reports, on-site checks, close-off (销号),
the monthly bulletin, the quarterly public page and the year-end scores."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from services.coordination.domain import CloseOffDecision, MatterState, MilestoneState, MilestoneStatus
from services.coordination.schemas import Attachment, AttachmentView, Code, Input, Instant, Line, Paragraph
from shared.schemas import RowModel, ShanghaiInstants

Phone = Annotated[str, StringConstraints(min_length=3, max_length=32, strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]

# --- the year's list ---------------------------------------------------------------------------


class MilestoneIn(Input):
    id: str | None = Field(
        default=None, description="调整时：保留的已有节点编号；新增节点不填", examples=[None]
    )
    title: Line = Field(description="节点内容", examples=["完成项目可行性研究报告批复"])
    due_on: date = Field(description="节点日期（不晚于完成时限，C8）", examples=["2018-06-30"])


class QuarterTarget(Input):
    quarter: int = Field(ge=1, le=4, description="季度", examples=[2])
    target: Paragraph = Field(description="季度目标", examples=["完成征地拆迁80%"])


class MajorMatterIn(Input):
    """一件重大事项：任务表（做什么）、时间表（节点）、责任表（谁负责）和季度目标。"""

    number: int = Field(ge=1, le=999, description="清单序号（同一年度内唯一）", examples=[7])
    title: Line = Field(description="重大事项名称", examples=["南太湖新区基础设施建设"])
    task: Paragraph = Field(description="任务表：工作内容与目标", examples=["完成滨湖大道一期主体工程"])
    lead_department: Code = Field(description="牵头单位代码", examples=["jsj"])
    cooperating_departments: list[Code] = Field(
        default_factory=list, max_length=40, description="配合单位代码", examples=[["gtj", "ghj"]]
    )
    leader: Code = Field(description="分管市领导代码", examples=["vm-urban"])
    responsible_person: Line = Field(description="责任人（不公开）", examples=["王明"])
    contact_phone: Phone | None = Field(
        default=None, description="联系电话（不公开）", examples=["0572-2222222"]
    )
    completion_due: date = Field(description="完成时限", examples=["2018-12-31"])
    milestones: list[MilestoneIn] = Field(min_length=1, max_length=60, description="时间表节点")
    quarter_targets: list[QuarterTarget] = Field(default_factory=list, max_length=4, description="季度目标")


class MajorListCreate(Input):
    matters: list[MajorMatterIn] = Field(
        min_length=1, max_length=200, description="年度清单的全部事项；任一行有误则整张清单不登记"
    )


class MajorMatterAdjust(Input):
    """调整已列入清单的事项：只填要改的字段；milestones 给出调整后的完整时间表。"""

    reason: Reason = Field(description="调整理由（记入调整记录）", examples=["根据市政府第20次常务会议调整"])
    title: Line | None = None
    task: Paragraph | None = None
    cooperating_departments: list[Code] | None = Field(default=None, max_length=40)
    leader: Code | None = None
    responsible_person: Line | None = None
    contact_phone: Phone | None = None
    completion_due: date | None = None
    milestones: list[MilestoneIn] | None = Field(default=None, min_length=1, max_length=60)
    quarter_targets: list[QuarterTarget] | None = Field(default=None, max_length=4)


class PlanStep(Input):
    title: Line = Field(examples=["完成施工图设计"])
    days: int = Field(ge=0, le=3660, description="本步骤所需天数（自上一步骤结束起算）", examples=[30])


class PlanRequest(Input):
    completion_due: date = Field(description="完成时限", examples=["2018-12-31"])
    steps: list[PlanStep] = Field(min_length=1, max_length=60, description="按先后顺序的步骤")


class PlannedMilestone(BaseModel):
    title: str
    due_on: date


class MilestoneView(RowModel):
    id: str = Field(examples=["ms-5b2c0e1f9a3d"])
    seq: int
    title: str
    due_on: date
    deadline: Instant = Field(description="节点截止时刻（节点日期24:00）")
    state: MilestoneState
    done_on: date | None
    done_reported_at: Instant | None = Field(description="首次报告完成的时刻")
    behind_at: Instant | None = Field(description="通报进展迟缓的时刻（未按期报告完成）")


class MilestoneDoneCreate(Input):
    done_on: date = Field(description="完成日期（不晚于今天）", examples=["2018-04-28"])
    evidence: list[Attachment] = Field(default_factory=list, max_length=50, description="佐证材料")
    note: str | None = Field(default=None, max_length=2000)


class ChangeView(RowModel):
    seq: int
    action: str = Field(examples=["adjusted"])
    changes: dict[str, object]
    reason: str | None
    changed_by: str
    changed_at: Instant


class ReportDutyView(RowModel):
    month: str
    deadline: Instant
    reported_at: Instant | None
    behind_at: Instant | None
    cancelled_at: Instant | None


class MajorMatterView(RowModel):
    id: str = Field(examples=["mm-5b2c0e1f9a3d"])
    year: int
    number: int
    title: str
    task: str
    lead_department: str
    lead_department_name: str
    cooperating_departments: list[str]
    leader: str
    leader_title: str
    responsible_person: str
    contact_phone: str | None
    completion_due: date
    quarter_targets: list[QuarterTarget]
    state: MatterState
    behind: bool = Field(description="当前是否进展迟缓（有逾期未报告完成的节点或逾期未报的月报）")
    milestones: list[MilestoneView]
    report_duties: list[ReportDutyView]
    listed_on: date
    listed_by: str
    listed_at: Instant
    closed_off_by: str | None
    closed_off_at: Instant | None
    history_url: str


class MajorMatterSummary(RowModel):
    id: str
    year: int
    number: int
    title: str
    lead_department: str
    leader: str
    completion_due: date
    state: MatterState


class MajorListView(BaseModel):
    year: int
    matters: list[MajorMatterView]


# --- monthly progress reports ------------------------------------------------------------------


class ReportedMilestoneIn(Input):
    milestone_id: str = Field(examples=["ms-5b2c0e1f9a3d"])
    status: MilestoneStatus = Field(examples=["done"])
    done_on: date | None = Field(default=None, description="完成日期（status=done 时必填）")
    note: str | None = Field(default=None, max_length=2000)


class ProgressReportCreate(Input):
    month: str = Field(description="所报月份（已结束的月份）", examples=["2018-06"])
    summary: Paragraph = Field(description="进展情况（内部）", examples=["主体工程完成60%"])
    public_summary: Paragraph | None = Field(
        default=None, description="可向社会公布的进展表述（季度公布时使用）", examples=["主体工程加快推进"]
    )
    milestones: list[ReportedMilestoneIn] = Field(
        default_factory=list, max_length=60, description="各节点状态"
    )
    evidence: list[Attachment] = Field(default_factory=list, max_length=50, description="佐证材料")
    delay_reason: Reason | None = Field(default=None, description="进展迟缓的原因（不公开）")


class ReportedMilestoneView(BaseModel):
    milestone_id: str
    status: MilestoneStatus
    done_on: date | None = None
    note: str | None = None


class ProgressReportView(RowModel):
    id: str
    matter_id: str
    month: str
    department: str
    summary: str
    public_summary: str | None
    milestones: list[ReportedMilestoneView]
    evidence: list[AttachmentView]
    delay_reason: str | None
    late: bool
    submitted_by: str
    submitted_at: Instant


# --- checks, close-off, scores -----------------------------------------------------------------


class CheckCreate(Input):
    checked_on: date = Field(description="督查日期（不晚于今天）", examples=["2018-07-10"])
    inspectors: Line = Field(description="督查人员", examples=["市政府督查室 张三、李四"])
    findings: Paragraph = Field(description="现场督查情况", examples=["现场施工正常，进度与月报一致"])
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)


class CheckView(RowModel):
    id: str
    matter_id: str
    checked_on: date
    inspectors: str
    findings: str
    attachments: list[AttachmentView]
    recorded_by: str
    recorded_at: Instant


class CloseOffRequestCreate(Input):
    statement: Paragraph = Field(description="完成情况说明", examples=["各节点均已完成，项目已竣工验收"])
    evidence: list[Attachment] = Field(min_length=1, max_length=50, description="佐证材料")


class CloseOffDecisionCreate(Input):
    decision: CloseOffDecision = Field(
        description="closed-off 核验通过并销号；refused 退回", examples=["refused"]
    )
    reason: Reason | None = Field(
        default=None, description="退回理由（退回时必填）", examples=["缺少竣工验收报告"]
    )


class CloseOffView(RowModel):
    id: str
    matter_id: str
    statement: str
    evidence: list[AttachmentView]
    requested_by: str
    requested_at: Instant
    decision: CloseOffDecision | None
    reason: str | None
    decided_by: str | None
    decided_at: Instant | None


class ScoreIn(Input):
    matter_id: str = Field(examples=["mm-5b2c0e1f9a3d"])
    score: float = Field(description="常务会议打分（0 至政策配置的满分）", examples=[92.5])
    comment: str | None = Field(default=None, max_length=2000)


class ScoresCreate(Input):
    meeting: Line = Field(description="打分的常务会议", examples=["市政府第30次常务会议"])
    scored_on: date = Field(description="会议日期（不晚于今天）", examples=["2018-12-20"])
    scores: list[ScoreIn] = Field(min_length=1, max_length=200)


class ScoreView(BaseModel):
    matter_id: str
    number: int
    title: str
    lead_department: str
    lead_department_name: str
    score: float | None
    comment: str | None
    meeting: str | None
    scored_on: date | None
    recorded_by: str | None


class YearScores(BaseModel):
    year: int
    score_max: int
    scores: list[ScoreView]


# --- the monthly bulletin and chasing ----------------------------------------------------------


class BulletinRow(BaseModel):
    seq: int
    matter_id: str
    number: int
    title: str
    lead_department: str
    lead_department_name: str
    leader_title: str
    state: MatterState
    milestones: list[str] = Field(
        description="各节点状态（截至该月末）", examples=[["完成施工图设计：已完成（2018-05-20）"]]
    )
    behind: bool = Field(description="是否进展迟缓")
    behind_reasons: list[str] = Field(description="迟缓的具体情形（逾期节点、未报月报）")
    reason_given: str | None = Field(description="牵头单位在月报中说明的迟缓原因")
    report: str = Field(description="该月月报：已报送 / 逾期报送 / 未报送 / 未到期", examples=["已报送"])


class MonthlyBulletin(ShanghaiInstants):
    title: str
    month: str
    headers: list[str]
    generated_at: Instant
    rows: list[BulletinRow]


class BehindItem(ShanghaiInstants):
    kind: str = Field(
        description="major-milestone 逾期节点；major-monthly-report 未报月报", examples=["major-milestone"]
    )
    subject_id: str = Field(examples=["ms-5b2c0e1f9a3d"])
    matter_id: str
    number: int
    title: str
    lead_department: str
    leader: str
    what: str = Field(examples=["完成施工图设计（2018-06-30）"])
    deadline: Instant
    behind_at: Instant


# --- the quarterly public page -----------------------------------------------------------------


class PublicMilestone(BaseModel):
    title: str
    due_on: date
    status: str = Field(examples=["已完成"])


class PublicMatter(BaseModel):
    """公开字段：序号、名称、任务、牵头与配合单位、分管市领导、完成时限、本季度目标、节点完成情况、
    可公开的进展表述、状态。责任人、联系电话、迟缓原因、佐证材料、督查记录、内部进展不公开。"""

    number: int
    title: str
    task: str
    lead_department_name: str
    cooperating_department_names: list[str]
    leader_title: str
    completion_due: date
    quarter_target: str | None
    milestones: list[PublicMilestone]
    progress: str | None
    status: str = Field(examples=["按计划推进"])


class QuarterlyPage(ShanghaiInstants):
    quarter: str = Field(examples=["2018-Q2"])
    title: str = Field(examples=["2018年第二季度重大事项进展情况"])
    published_at: Instant
    matters: list[PublicMatter]

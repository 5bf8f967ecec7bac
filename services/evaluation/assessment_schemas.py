"""HTTP contract of the assessment schemes (考核, E6): scheme versions, scores, proposals, results.

Points are exact decimals and travel as JSON strings (``"4.50"``), never as binary floats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.pagination import Page
from shared.schemas import RowModel, ShanghaiInstants

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Amount = Annotated[Decimal, Field(ge=0, le=10000, max_digits=12, decimal_places=4, allow_inf_nan=False)]
SourceKind = Literal["entered", "imported", "proposed"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- schemes ---------------------------------------------------------------------------------------


class SchemeSummary(BaseModel):
    id: str = Field(examples=["wenzhou-2013"])
    title: str = Field(examples=["2013年度“五型”机关创建工作考核办法"])
    source: str = Field(examples=["温委办发〔2013〕36号 附件2"])
    base: Decimal = Field(examples=["12"])
    scale: Decimal = Field(examples=["10"])
    units: int = Field(description="被考核单位数", examples=[44])


class UnitIn(Input):
    code: Code = Field(examples=["fgw"])
    unit_class: Literal["A", "B"] = Field(alias="class", examples=["B"])
    group: Code = Field(examples=["executive"])


class SchemeVersionIn(Input):
    """A year's scheme: a shipped scheme by name (optionally with its own unit list) or a whole
    scheme document (fields as in ``docs/assessment-schemes.md``)."""

    based_on: Code | None = Field(
        default=None, description="方案文件名（如 wenzhou-2013）", examples=["wenzhou-2013"]
    )
    units: list[UnitIn] | None = Field(default=None, description="替换被考核单位名单", max_length=1000)
    document: dict[str, Any] | None = Field(default=None, description="完整的考核方案（与方案文件同构）")

    @model_validator(mode="after")
    def _one_source(self) -> SchemeVersionIn:
        if (self.based_on is None) == (self.document is None):
            raise ValueError("based_on 与 document 须且只须给出一个")
        return self


class SchemeVersionView(RowModel):
    year: int = Field(examples=[2013])
    version: int = Field(examples=[1])
    scheme_id: str = Field(examples=["wenzhou-2013"])
    based_on: str | None = Field(examples=["wenzhou-2013"])
    created_by: str = Field(examples=["office-clerk"])
    created_at: datetime
    document: dict[str, Any] = Field(description="本年度生效的考核方案")


# --- scores and deductions -------------------------------------------------------------------------


class EntryIn(Input):
    """One score or deduction. What it is follows from the item's kind: a deduction (deduction,
    nodes, checks), an entered score (score), a measure to be tiered or ranked (tiers, rank) or
    one panel member's score (panel)."""

    unit: Code = Field(description="被考核单位", examples=["jxw"])
    item: Code = Field(description="考核项目", examples=["leader-instructions"])
    amount: Amount | None = Field(default=None, description="分值；扣分情形自带分值时可省略", examples=["1"])
    reason: Code | None = Field(
        default=None, description="扣分情形（deduction 类）", examples=["feedback-missing"]
    )
    matter: Reference | None = Field(
        default=None, description="事项（每事项不重复扣分的项目必填）", examples=["li-7"]
    )
    node: Code | None = Field(default=None, description="未完成的节点（nodes 类）", examples=["work-plan"])
    member: Reference | None = Field(
        default=None, description="评审人（panel 类）", examples=["评审组成员甲"]
    )
    source: Reference | None = Field(
        default=None, description="依据（通报、文号等）", examples=["督查通报〔2013〕5号"]
    )
    note: Note | None = Field(default=None, examples=["未按要求反馈批示办理落实情况"])


class ImportIn(Input):
    source: Reference = Field(description="本批导入的依据", examples=["市统计局满意度调查结果"])
    entries: list[EntryIn] = Field(min_length=1, max_length=5000)


class EntryView(RowModel):
    id: str
    year: int
    unit: str = Field(examples=["jxw"])
    item: str = Field(examples=["leader-instructions"])
    kind: Literal["deduction", "score", "measure", "panel"]
    amount: Decimal = Field(description="计入的分值（扣分为扣除的分值）", examples=["1"])
    requested: Decimal | None = Field(description="扣分情形或录入的分值（超过剩余分值时大于 amount）")
    capped: bool = Field(description="扣分超过该项剩余分值，只扣至该项分值为止")
    reason: str | None
    matter: str | None
    node: str | None
    member: str | None
    note: str | None
    source_kind: SourceKind = Field(
        description="entered 录入 / imported 批量导入 / proposed 平台事件提出并确认"
    )
    source: str | None = Field(description="依据：录入时写明的文号、导入批次，或事件提出的扣分编号")
    source_detail: dict[str, Any] | None = Field(description="事件提出的扣分所依据的部门事实")
    assessor: str = Field(description="考核单位", examples=["supervision"])
    entered_by: str
    entered_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None
    withdrawn_by: str | None = Field(default=None, description="撤销（更正）人；撤销的记录保留但不再计分")
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None


class EntryRecorded(EntryView):
    notice: str | None = Field(default=None, description="扣分被封顶等提示")


class ImportRecorded(BaseModel):
    batch: str
    entries: list[EntryRecorded]


class EntryPage(Page[EntryView]):
    """Scores and deductions, oldest first."""


class ClosureView(RowModel):
    year: int
    item: str
    scheme_version: int
    scores: dict[str, Decimal] = Field(description="各单位的计算得分", examples=[{"jxw": "19.40"}])
    assessor: str
    closed_by: str
    closed_at: datetime


# --- proposals from platform facts -----------------------------------------------------------------


class WithdrawIn(Input):
    reason: Note = Field(description="撤销（更正）的理由", examples=["事项编号录错，应为 li-8"])


class DismissIn(Input):
    reason: Note = Field(description="不予扣分的理由", examples=["已按时书面反馈，系统未登记"])


class ConfirmIn(Input):
    amount: Amount | None = Field(
        default=None, description="扣分；扣分情形未规定分值或现场查访类项目时必填", examples=["1"]
    )
    note: Note | None = Field(default=None, examples=["经核实，未按要求反馈"])


class ProposedFact(ShanghaiInstants):
    kind: str = Field(examples=["instruction-overdue"])
    event_id: str
    subject_id: str = Field(examples=["li-7"])
    effective_on: date | None
    occurred_at: datetime
    detail: dict[str, Any]


class ProposalView(ShanghaiInstants):
    id: str
    year: int
    unit: str = Field(examples=["jxw"])
    unit_name: str = Field(examples=["市经信委"])
    item: str = Field(examples=["leader-instructions"])
    reason: str | None = Field(description="扣分情形（checks 类项目无）", examples=["feedback-missing"])
    amount: Decimal | None = Field(description="扣分；为空时由考核单位确认时写明", examples=["1"])
    matter: str = Field(examples=["li-7"])
    fact: ProposedFact
    state: Literal["proposed", "confirmed", "dismissed"]
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    entry_id: str | None = None


# --- results ---------------------------------------------------------------------------------------


class UnitResultView(BaseModel):
    unit: str = Field(examples=["jxw"])
    name: str = Field(examples=["市经信委"])
    unit_class: Literal["A", "B"] = Field(examples=["B"])
    group: str
    items: dict[str, Decimal | None] = Field(description="各考核项目得分（未评为 null）")
    sections: dict[str, Decimal]
    parts: dict[str, Decimal]
    final: Decimal = Field(description="最后得分 = (日常考核×70% + 年末考核×30%)×10%", examples=["9.84"])
    passed: bool | None = Field(description="A类单位是否达标（基本分的75%）")
    class_rank: int | None = Field(description="B类单位名次（并列同名次）")
    rank: int = Field(description="全部被考核单位中的名次（并列同名次）")
    prize: str | None = Field(description="先进奖（first 一等奖 / second 二等奖）")


class ResultsView(ShanghaiInstants):
    year: int
    scheme_id: str
    scheme_version: int
    title: str
    state: Literal["preview", "published"]
    published_at: datetime | None = None
    published_by: str | None = None
    pass_mark: Decimal = Field(examples=["9"])
    complete: bool
    missing: list[dict[str, str]] = Field(description="尚未评分的单位与项目（最多列出前50个）")
    units: list[UnitResultView]


class BreakdownItem(ShanghaiInstants):
    item: str
    name: str
    kind: str
    points: Decimal
    score: Decimal | None
    entries: list[EntryView] = Field(description="该项目下的全部录入与扣分及其来源")
    closed_by: str | None = Field(default=None, description="结项计算人（tiers、rank、panel 类）")
    closed_at: datetime | None = None


class UnitBreakdown(ShanghaiInstants):
    year: int
    state: Literal["preview", "published"]
    result: UnitResultView
    items: list[BreakdownItem]

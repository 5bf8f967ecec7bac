"""HTTP contract of the evaluation service (低效能部门评定)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.evaluation.ballot_schemas import EncryptedBallotIn
from shared.pagination import Page
from shared.schemas import RowModel, ShanghaiInstants

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- department facts (E2 raw material) ---------------------------------------------------------


class Fact(RowModel):
    event_id: str
    kind: str = Field(examples=["document-formed"])
    subject_id: str = Field(examples=["doc-3f1c2a9d@1"])
    occurred_at: datetime
    effective_on: date | None = Field(
        default=None, description="事实所属的业务日期（决定归入哪个季度的参考材料）", examples=["2018-06-14"]
    )
    detail: dict[str, Any]


class DepartmentFacts(BaseModel):
    department: str = Field(examples=["fgw"])
    counts: dict[str, int] = Field(description="按事件种类计数", examples=[{"document-formed": 3}])
    facts: list[Fact] = Field(description="最近的事实，按发生时间倒序，分页")
    next_cursor: str | None = Field(default=None, description="下一页游标；为空表示没有更多")


class Candidate(BaseModel):
    code: str = Field(examples=["fgw"])
    name: str = Field(examples=["市发改委"])


class Factor(RowModel):
    code: str = Field(examples=["buck-passing-and-delay"])
    seq: int = Field(examples=[6])
    text: str = Field(examples=["存在推诿扯皮、敷衍塞责、办事拖拉等情形的"])


# --- rounds ---------------------------------------------------------------------------------------


class RoundCreate(Input):
    quarter: str = Field(
        pattern=r"^\d{4}-Q[1-4]$",
        description="被评定的季度；轮次于下一季度的评定月份进行（如 2018-Q2 于 2018 年 7 月评定）",
        examples=["2018-Q2"],
    )
    vote_on: date | None = Field(
        default=None,
        description="投票日；轮流安排的评定人员须在此之前按规定时限报送。默认为参考材料印发截止日",
        examples=["2018-07-20"],
    )
    candidates: list[Code] | None = Field(
        default=None,
        description="本轮备评部门代码；默认为附件4 §一所列备评部门，可按轮调整",
        examples=[["fgw", "jxw", "jtj"]],
    )


class CandidatesUpdate(Input):
    departments: list[Code] = Field(min_length=1, description="本轮备评部门代码", examples=[["fgw", "jxw"]])


class Schedule(RowModel):
    reference_pack_due: date = Field(description="参考材料印发截止日 (E2)", examples=["2018-07-20"])
    vote_on: date = Field(description="投票日", examples=["2018-07-20"])
    tally_due: date = Field(description="计票截止日 (E3)", examples=["2018-07-25"])


class RoundView(RowModel):
    id: str = Field(description="轮次编号，即被评定的季度", examples=["2018-Q2"])
    quarter_label: str = Field(examples=["2018年第二季度"])
    state: str = Field(
        description="draft → reference-published → voting-open → closed → tallied → results-published",
        examples=["voting-open"],
    )
    state_label: str = Field(examples=["投票中"])
    period_from: date = Field(examples=["2018-04-01"])
    period_to: date = Field(examples=["2018-06-30"])
    schedule: Schedule
    candidates: list[Candidate]
    panel_size: int = Field(examples=[100])
    choices_per_ballot: int = Field(examples=[3])
    turnout: int | None = Field(
        default=None, description="已投票人数：投票截止时公布，投票进行中为空（E5）", examples=[100]
    )
    scheme: str = Field(
        description="encrypted：加密选票、受托人解密汇总（E5）；plain：按旧方式（明文选票）投票的轮次",
        examples=["encrypted"],
    )
    threshold: int | None = Field(default=None, description="解密计票所需受托人人数", examples=[2])
    trustee_count: int | None = Field(default=None, description="受托人人数", examples=[3])
    election_key: str | None = Field(default=None, description="选举公钥（密钥仪式完成后）")
    created_at: datetime
    reference_published_at: datetime | None = None
    voting_opened_at: datetime | None = None
    voting_closed_at: datetime | None = None
    tallied_at: datetime | None = None
    results_published_at: datetime | None = None


class RoundPage(Page[RoundView]):
    """Rounds, newest quarter first."""


# --- panel (E1) -------------------------------------------------------------------------------


class PanelEntryCreate(Input):
    person_id: ShortText = Field(
        description="人员唯一标识（如证件号摘要或人事编号），用于发现同一人员重复列入",
        examples=["p-330502-1975-0412"],
    )
    name: ShortText = Field(examples=["张三"])
    category: Code = Field(description="评定人员类别（附件4 §三）", examples=["township-heads"])
    district: Code | None = Field(
        default=None, description="所属区（按区分配名额的类别必填）", examples=["wuxing"]
    )
    organization: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        default=None, description="单位及职务", examples=["吴兴区八里店镇镇长"]
    )
    account: ShortText = Field(
        description="投票账号：评定人员登录所用的客户端编号（访问令牌的 client_id）", examples=["ev-zhangsan"]
    )
    named_on: date | None = Field(
        default=None,
        description="统筹单位报送名单的日期；轮流安排的人员必填，且须在投票日前规定时限报送",
        examples=["2018-07-18"],
    )


class PanelEntriesCreate(Input):
    entries: list[PanelEntryCreate] = Field(min_length=1, max_length=500)


class PanelEntryView(RowModel):
    id: str = Field(examples=["pe-3f1c2a9d0b7e4c11"])
    person_id: str
    name: str
    category: str
    category_name: str = Field(examples=["市本级乡镇长（街道办事处主任）"])
    district: str | None = None
    organization: str | None = None
    account: str
    named_on: date | None = None
    added_at: datetime


class DistrictComposition(BaseModel):
    district: str = Field(examples=["wuxing"])
    name: str = Field(examples=["吴兴区"])
    quota: int = Field(examples=[4])
    named: int = Field(examples=[4])


class CategoryComposition(BaseModel):
    code: str
    name: str
    quota: int
    named: int
    districts: list[DistrictComposition] = []


class CompositionView(BaseModel):
    categories: list[CategoryComposition]
    total: int = Field(examples=[100])
    panel_size: int = Field(examples=[100])
    complete: bool = Field(description="组成是否与名额完全一致（开始投票的前提）")
    problems: list[str] = Field(
        description="与名额不符之处", examples=[["“市本级企业家”应为 20 名，现有 18 名"]]
    )


class PanelView(BaseModel):
    round_id: str
    entries: list[PanelEntryView]
    composition: CompositionView


# --- ballots (E1, E5) -------------------------------------------------------------------------


class ChoiceIn(Input):
    department: Code = Field(examples=["jxw"])
    factors: list[Code] = Field(
        default=[],
        max_length=16,
        description="考量因素代码（附件4 §四）",
        examples=[["buck-passing-and-delay"]],
    )
    reason: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)] | None = Field(
        default=None, description="具体事例或理由（可选）", examples=["会办事项多次逾期未反馈"]
    )


class BallotIn(Input):
    choices: list[ChoiceIn] | None = Field(
        default=None,
        max_length=64,
        description=(
            "预评的低效能候选部门，须恰好为规定个数且互不相同：服务在内存中加密后即丢弃明文（不能自行加密的客户端用）"
        ),
    )
    encrypted: EncryptedBallotIn | None = Field(
        default=None, description="客户端已用本轮选举公钥加密并附证明的选票（与 choices 二选一）"
    )
    sealed_reasons: list[Annotated[str, StringConstraints(max_length=8192)]] = Field(
        default=[],
        max_length=64,
        description="客户端已逐层密封给各受托人的事例或理由，每个所选部门至多一份（与 encrypted 一起用）",
    )

    @model_validator(mode="after")
    def _one_form(self) -> BallotIn:
        if (self.choices is None) == (self.encrypted is None):
            raise ValueError("choices 与 encrypted 须且只须提供其一")
        return self


class BallotReceipt(BaseModel):
    round_id: str = Field(examples=["2018-Q2"])
    tracker: str = Field(
        description="选票追踪码：加密选票的 SHA-256，投票截止后可在公布的加密选票中核对（不含序号）",
        examples=["9f2c41d07a3b5e689f2c41d07a3b5e689f2c41d07a3b5e689f2c41d07a3b5e68"],
    )


class ChoiceOut(BaseModel):
    department: str
    factors: list[str] = []
    reason: str | None = None


class PublishedBallot(RowModel):
    tracker: str | None = Field(default=None, description="加密选票的追踪码")
    ballot: dict[str, Any] | None = Field(default=None, description="加密选票：每个备评部门的 0/1 密文与证明")
    receipt: str | None = Field(
        default=None, description="按旧方式投票轮次的回执", examples=["r-9f2c41d07a3b5e68"]
    )
    choices: list[ChoiceOut] | None = Field(default=None, description="按旧方式投票轮次的明文选择")


class BallotPage(BaseModel):
    round_id: str
    items: list[PublishedBallot]
    next_cursor: str | None = Field(default=None, description="下一页游标；为空表示没有更多")


class ParticipationView(BaseModel):
    round_id: str
    on_panel: bool = Field(description="调用者是否为本轮评定人员")
    voted: bool = Field(description="调用者是否已投票")


# --- results (E3, E4) -------------------------------------------------------------------------


class StandingView(RowModel):
    department: str = Field(examples=["jxw"])
    name: str = Field(examples=["市经信委"])
    votes: int = Field(examples=[20])
    rank: int = Field(description="竞争排名：得票相同名次相同，其后名次顺延", examples=[1])
    selected: bool = Field(description="得票前3位（含并列）")
    consecutive_quarters: int = Field(description="连续进入前3位的季度数（本季度在内）", examples=[1])
    consequences: list[str] = Field(
        description="working-group-interview / vice-mayor-interview / designated",
        examples=[["working-group-interview"]],
    )
    consequence_labels: list[str] = Field(examples=[["由“低效能”部门评定工作小组约谈"]])


class ResultsView(BaseModel):
    round_id: str
    state: str
    ballots: int = Field(description="有效选票数", examples=[100])
    turnout: int = Field(examples=[100])
    panel_size: int = Field(examples=[100])
    standings: list[StandingView]
    selected: list[str] = Field(examples=[["jxw", "fgw", "jtj"]])
    designations: list[str] = Field(
        description="本轮产生的低效能部门通报编号", examples=[["dsg-2018-Q4-jxw"]]
    )


class DesignationView(RowModel):
    id: str = Field(examples=["dsg-2018-Q4-jxw"])
    round_id: str = Field(examples=["2018-Q4"])
    department: str = Field(examples=["jxw"])
    department_name: str = Field(examples=["市经信委"])
    consecutive_quarters: int = Field(examples=[3])
    quarters: list[str] = Field(examples=[["2018-Q2", "2018-Q3", "2018-Q4"]])
    title: str = Field(examples=["关于确定市经信委为“低效能”部门的通报"])
    addressed_to: list[str] = Field(
        examples=[
            ["市委领导", "市人大常委会领导", "市政府领导", "市政协领导", "各县区政府", "市级各部门和单位"]
        ]
    )
    body: str
    issuer: str = Field(examples=["湖州市人民政府办公室“低效能”部门评定工作小组"])
    issued_on: date
    text: str = Field(description="通报全文")


class DesignationPage(Page[DesignationView]):
    """Designations, newest round first."""


# --- reference pack (E2) ---------------------------------------------------------------------


class RankingItem(BaseModel):
    indicator: str = Field(examples=["m-gdp"])
    indicator_name: str | None = Field(default=None, examples=["地区生产总值"])
    period: str = Field(examples=["2018-05"])
    rank: int | None = Field(default=None, examples=[6])
    grade: str | None = None
    cities: int | None = Field(default=None, examples=[11])
    worse_than_threshold: bool


class InterviewItem(BaseModel):
    interview_id: str
    reason: str
    period: str | None = None
    interviewers: list[str] = []


class NotableItem(ShanghaiInstants):
    kind: str = Field(examples=["joint-item-deemed-consent"])
    label: str = Field(examples=["会办事项逾期视作同意"])
    subject_id: str = Field(examples=["item-8d2e"])
    on: date | None = Field(default=None, examples=["2018-06-19"])


class MajorMatterItem(BaseModel):
    """A major matter (C8) the department leads, as the quarter's facts show it."""

    matter_id: str = Field(examples=["mm-5b2c0e1f9a3d"])
    number: int | None = Field(default=None, description="清单序号", examples=[7])
    title: str | None = Field(default=None, examples=["南太湖新区基础设施建设"])
    month: str | None = Field(default=None, description="本季度最近一次月报的月份", examples=["2018-06"])
    milestones_done: int | None = Field(default=None, description="该月报时已完成的节点数", examples=[2])
    milestones_total: int | None = Field(default=None, description="时间表节点数", examples=[4])
    closed_off: bool = Field(default=False, description="本季度已销号")
    behind: list[str] = Field(
        default_factory=list,
        description="本季度进展迟缓的情形：逾期未完成的节点、逾期未报的月报（deadline-passed 的 subject_id）",
        examples=[["ms-5b2c0e1f9a3d"]],
    )


class DepartmentPack(BaseModel):
    code: str = Field(examples=["jxw"])
    name: str = Field(examples=["市经信委"])
    rankings_published: int = Field(description="保五争三：本季度通报的排名次数")
    rankings_worse_than_threshold: int = Field(description="保五争三：排名在保五线（rank_floor）以后的次数")
    rankings: list[RankingItem]
    reports_due: int = Field(description="须向常务会议汇报说明的次数（排名在保五线以后，I4）")
    reports_overdue: int = Field(description="汇报说明逾期次数")
    interviews_required: list[InterviewItem] = Field(description="需约谈主要负责人的事项")
    joint_items_assigned: int
    joint_items_answered_late: int
    joint_items_deemed_consent: int = Field(description="逾期未反馈视作同意、视作同意办理的会办事项")
    joint_items_escalated: int
    instructions_assigned: int
    instructions_answered_late: int
    instructions_overdue: int
    documents_formed: int
    documents_published_late: int
    documents_overdue: int
    notable: list[NotableItem] = Field(description="逾期、视作同意、排名靠后等需关注的事实")
    counts: dict[str, int] = Field(description="本季度各类事实计数")
    major_matters_reported: int = Field(default=0, description="重大事项：本季度报送的月度进展（C8）")
    major_matters_closed_off: int = Field(default=0, description="重大事项：本季度销号的事项")
    major_milestones_behind: int = Field(default=0, description="重大事项：本季度逾期未完成的节点")
    major_reports_missing: int = Field(default=0, description="重大事项：本季度逾期未报的月报")
    major_matters: list[MajorMatterItem] = Field(
        default_factory=list, description="本部门牵头的重大事项本季度的完成情况与进展迟缓情形（C8）"
    )


class ReferencePack(ShanghaiInstants):
    round_id: str = Field(examples=["2018-Q2"])
    quarter_label: str = Field(examples=["2018年第二季度"])
    period_from: date
    period_to: date
    published: bool = Field(description="是否已印发；未印发时为组织者可见的预览")
    rank_floor: int = Field(description="保五线：排名在此名次以后须汇报说明（I4，政策配置）", examples=[5])
    published_at: datetime | None = None
    generated_at: datetime
    departments: list[DepartmentPack]

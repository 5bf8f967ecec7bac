"""HTTP contract of the indicators service (目录、发布、通报、汇报与约谈)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.deadlines import local
from shared.reference import Attribute, Frequency
from shared.schemas import RowModel, ShanghaiInstants

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Value = Annotated[Decimal, Field(max_digits=18, decimal_places=6, allow_inf_nan=False)]
# A deadline is shown in Asia/Shanghai, where it is counted (the database returns UTC).
LocalInstant = Annotated[datetime, AfterValidator(local)]

ATTRIBUTE_DESCRIPTION = (
    "指标属性（I2）：yoy_growth 同比增速（越高越好）、absolute_low 绝对值低排位（越低越好，如不良贷款率）、"
    "yoy_points 同比增加百分点（越高越好）、yoy_decline 同比降幅（数值为降幅本身：下降为正、上升为负，"
    "降幅越大越好，任何上升都排在所有下降之后）。年度考核事项可为空（只录入省里给定的排名或等次）。"
)

PROVISIONAL = "截止时刻按临时节假日表计算，官方安排发布后可能变更"


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- catalogue ---------------------------------------------------------------------------------


class DefinitionView(RowModel):
    version: int = Field(description="定义版本", examples=[1])
    name: str = Field(examples=["不良贷款率"])
    attribute: Attribute | None = Field(description=ATTRIBUTE_DESCRIPTION, examples=["absolute_low"])
    attribute_label: str | None = Field(examples=["绝对值低排位"])
    unit: str = Field(examples=["%"])
    precision: int = Field(description="发布精度（小数位数），排名按此精度四舍五入后比较", examples=[2])
    departments: list[str] = Field(description="责任部门代码，牵头部门在前", examples=[["jrb", "yjj"]])
    lead_department: str = Field(examples=["jrb"])
    grades: list[str] = Field(description="等次（年度考核事项），由好到差", examples=[[]])
    low_grades: list[str] = Field(description="视为“等次靠后”的等次", examples=[[]])
    effective_from: date = Field(description="生效日期（含）", examples=["2018-01-01"])
    effective_to: date | None = Field(description="失效日期（含）；为空表示持续有效", examples=[None])
    note: str | None = Field(default=None, examples=["附件1 月度指标第17项"])


class Indicator(DefinitionView):
    """A catalogue item with the definition in effect (or the latest one)."""

    code: str = Field(examples=["npl-ratio"])
    frequency: Frequency = Field(description="monthly 月度（累计）、quarterly 季度（累计）、annual 年度考核")
    seq: int = Field(description="同一频度内的序号", examples=[17])


class IndicatorDetail(Indicator):
    definitions: list[DefinitionView] = Field(description="全部定义（调整历史），按版本排列")


class IndicatorCreate(Input):
    code: Code = Field(examples=["assessment-high-quality-development"])
    name: Text = Field(examples=["高质量发展综合绩效评价"])
    frequency: Frequency = Field(examples=["annual"])
    attribute: Attribute | None = Field(default=None, description=ATTRIBUTE_DESCRIPTION, examples=[None])
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(default="%", examples=["分"])
    precision: int = Field(default=1, ge=0, le=4, examples=[1])
    departments: list[Code] = Field(min_length=1, examples=[["fgw", "tjj"]])
    grades: list[Text] = Field(default_factory=list, examples=[["优秀", "良好", "合格", "不合格"]])
    low_grades: list[Text] = Field(default_factory=list, examples=[["不合格"]])
    effective_from: date = Field(examples=["2018-01-01"])
    effective_to: date | None = Field(default=None, examples=[None])
    note: LongText | None = Field(default=None, examples=["省对市党政领导班子实绩考核"])


class IndicatorAdjust(Input):
    """A catalogue adjustment (动态调整).

    With any definition field: a new definition takes effect on ``effective_from`` (required)
    and the current one ends the day before; fields left out are carried over. With only
    ``effective_to``: the current definition ends on that date (null re-opens it).
    """

    effective_from: date | None = Field(default=None, examples=["2019-01-01"])
    effective_to: date | None = Field(default=None, examples=[None])
    name: Text | None = None
    attribute: Attribute | None = Field(default=None, description=ATTRIBUTE_DESCRIPTION)
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    precision: int | None = Field(default=None, ge=0, le=4)
    departments: list[Code] | None = Field(default=None, min_length=1, examples=[["jrb", "yjj"]])
    grades: list[Text] | None = None
    low_grades: list[Text] | None = None
    note: LongText | None = None


# --- releases ------------------------------------------------------------------------------------


class CityValueIn(Input):
    city: Code = Field(description="城市代码", examples=["huzhou"])
    value: Value = Field(
        description="省里排名所用的数值（单位见指标）；建议以字符串传递以保证精确", examples=["8.25"]
    )


class ReleaseCreate(Input):
    period: str = Field(
        description="期别：2018-05（月度）、2018-Q2（季度）、2018（年度）", examples=["2018-05"]
    )
    values: list[CityValueIn] = Field(
        default_factory=list,
        description="全省各城市的数值（城市不可重复）；未给定排名时必须包含全部城市",
    )
    rank: int | None = Field(
        default=None, description="省里给定的本市排名（给定时以此为准）", examples=[None]
    )
    grade: Text | None = Field(default=None, description="省里给定的等次（仅年度考核事项）", examples=[None])
    cities: int | None = Field(
        default=None, ge=1, le=100, description="给定排名的参评城市数，默认全省城市数", examples=[None]
    )
    source: Text | None = Field(default=None, description="来源", examples=["省统计局 2018年1-5月主要指标"])


class ReleaseCorrection(Input):
    values: list[CityValueIn] = Field(default_factory=list)
    rank: int | None = None
    grade: Text | None = None
    cities: int | None = Field(default=None, ge=1, le=100)
    source: Text | None = None
    reason: LongText = Field(description="更正原因", examples=["省统计局更正了嘉兴市数据"])


class CityValueView(BaseModel):
    city: str = Field(examples=["huzhou"])
    value: Decimal = Field(examples=["8.25"])


class CityRankView(BaseModel):
    city: str = Field(examples=["huzhou"])
    city_name: str = Field(examples=["湖州市"])
    value: Decimal = Field(description="录入的数值", examples=["8.25"])
    published_value: Decimal = Field(description="按发布精度四舍五入后的数值（用于排名）", examples=["8.3"])
    rank: int = Field(examples=[3])


class RevisionView(RowModel):
    revision: int = Field(examples=[1])
    definition_version: int = Field(examples=[1])
    given: bool = Field(description="排名（或等次）由省里给定，而非按数值计算")
    cities: int = Field(examples=[11])
    rank: int | None = Field(description="本市排名", examples=[6])
    grade: str | None = Field(description="本市等次（年度考核）", examples=[None])
    low_grade: bool = Field(description="等次靠后")
    value: Decimal | None = Field(description="本市发布数值", examples=["8.3"])
    ranking: list[CityRankView] = Field(description="各城市排名（录入全部城市数值时）")
    values: list[CityValueView] = Field(description="录入的数值")
    source: str | None = None
    reason: str | None = Field(description="更正原因（第1版为空）", examples=[None])
    recorded_by: str = Field(examples=["office-client"])
    recorded_at: datetime


class ReleaseView(BaseModel):
    indicator: str = Field(examples=["npl-ratio"])
    period: str = Field(examples=["2018-05"])
    frequency: Frequency
    revision: int = Field(description="当前版本", examples=[1])
    published_revision: int | None = Field(description="已通报的版本；为空表示尚未通报", examples=[None])
    published_edition: int | None = Field(description="最近通报该版本的通报版次", examples=[None])
    current: RevisionView
    revisions: list[RevisionView] = Field(description="全部版本（更正历史），由旧到新")


class ReleaseSummary(RowModel):
    indicator: str
    period: str
    revision: int
    published_revision: int | None
    rank: int | None
    grade: str | None
    cities: int


# --- bulletins -----------------------------------------------------------------------------------


class DepartmentRef(BaseModel):
    code: str = Field(examples=["jrb"])
    name: str = Field(examples=["市金融办"])


class TrendPoint(BaseModel):
    period: str = Field(examples=["2018-04"])
    rank: int | None = Field(examples=[5])
    grade: str | None = Field(default=None, examples=[None])


class DutyRef(RowModel):
    id: str = Field(examples=["rd-3f1c2a9d0b7e"])
    department: str = Field(examples=["jrb"])
    due_at: LocalInstant = Field(
        description="发布时的汇报截止时刻（最后一日24:00，Asia/Shanghai）",
        examples=["2018-06-26T00:00:00+08:00"],
    )
    # Bulletins published before the field existed are stored without it.
    deadline_provisional: bool = Field(
        default=False,
        description=PROVISIONAL + "；通报保存发布时的截止时刻，变更后的截止时刻见 /v1/report-duties/{id}",
        examples=[False],
    )
    reason: str


class InterviewRef(RowModel):
    id: str = Field(examples=["iv-3f1c2a9d0b7e"])
    department: str = Field(examples=["jrb"])
    interviewers: list[str] = Field(examples=[["vm-executive", "dsg-economy"]])
    reason: str
    run: list[str] = Field(examples=[["2018-03", "2018-05", "2018-06"]])


class BulletinEntry(BaseModel):
    seq: int = Field(examples=[1])
    indicator: str = Field(examples=["npl-ratio"])
    name: str = Field(examples=["不良贷款率"])
    attribute: str | None = Field(examples=["absolute_low"])
    attribute_label: str | None = Field(examples=["绝对值低排位"])
    unit: str = Field(examples=["%"])
    value: Decimal | None = Field(description="本市发布数值", examples=["1.23"])
    rank: int | None = Field(description="本市全省排名", examples=[6])
    grade: str | None = Field(default=None, description="等次（年度考核）")
    cities: int = Field(examples=[11])
    previous_period: str | None = Field(description="上一次发布的期别", examples=["2018-04"])
    previous_rank: int | None = Field(examples=[4])
    change: int | None = Field(description="较上次发布前进的位次（负数为后退）", examples=[-2])
    within_top3: bool = Field(description="争三：排名在前3位（按政策参数）")
    within_top5: bool = Field(description="保五：排名在前5位（按政策参数）")
    worse_than_threshold: bool = Field(description="排名在第5位以后或等次靠后")
    standing: Literal["top", "kept", "behind", "graded"]
    standing_label: str = Field(examples=["排名靠后"])
    departments: list[DepartmentRef] = Field(description="责任部门，牵头部门在前")
    revision: int = Field(description="通报所用的发布版本", examples=[1])
    corrected: bool = Field(description="该发布经过更正（版本大于1）")
    new_in_edition: bool = Field(description="本版次新增或更正的条目（本版次对其发出 ranking-published）")
    trend: list[TrendPoint] = Field(description="排名走势（最近的已通报发布，含本期）")
    ranking: list[CityRankView] = Field(description="全省各城市数值与排名（如有）")
    report_duty: DutyRef | None = Field(description="I4 汇报说明义务")
    interview: InterviewRef | None = Field(description="I5 约谈")


class NotReleased(BaseModel):
    indicator: str
    name: str


class BulletinSummary(BaseModel):
    released: int = Field(description="本期发布的指标数")
    within_top3: int
    within_top5: int
    worse_than_threshold: int
    not_released: int = Field(description="目录中本期未发布的指标数")


class Bulletin(ShanghaiInstants):
    id: str = Field(examples=["bulletin-2018-05-e1"])
    period: str = Field(examples=["2018-05"])
    period_label: str = Field(examples=["2018年5月"])
    frequency: Frequency
    edition: int = Field(description="版次：更正后重新通报时加1", examples=[1])
    draft: bool = Field(default=False, description="预览（尚未通报）")
    title: str = Field(examples=["湖州市重要指标全省排名“保五争三”通报（2018年5月）"])
    city: str = Field(examples=["huzhou"])
    city_name: str = Field(examples=["湖州市"])
    issued_on: date = Field(description="通报日期", examples=["2018-06-20"])
    published_at: datetime | None
    report_when_rank_worse_than: int = Field(description="保五：第几位以后须汇报说明", examples=[5])
    strive_for_top: int = Field(description="争三", examples=[3])
    interview_after_consecutive_releases: int = Field(examples=[3])
    summary: BulletinSummary
    entries: list[BulletinEntry]
    not_released: list[NotReleased] = Field(description="本期未发布的指标（不中断也不延续连续排名靠后）")


class BulletinListItem(RowModel):
    id: str
    period: str
    frequency: Frequency
    edition: int
    title: str
    issued_on: date
    published_at: datetime


class PublishRequest(Input):
    issued_on: date | None = Field(
        default=None,
        description="通报日期（书面通报落款日），汇报说明时限自此日起算；默认为今天，不可晚于今天",
        examples=["2018-06-20"],
    )


# --- duties --------------------------------------------------------------------------------------

DutyStatus = Literal["open", "filed", "overdue", "withdrawn"]


class ReportDuty(RowModel):
    id: str = Field(examples=["rd-3f1c2a9d0b7e"])
    indicator: str = Field(examples=["npl-ratio"])
    period: str = Field(examples=["2018-05"])
    department: str = Field(description="牵头部门（其主要负责人向市政府常务会议汇报说明）", examples=["jrb"])
    rank: int | None = Field(examples=[6])
    grade: str | None = Field(examples=[None])
    cities: int = Field(examples=[11])
    reason: str = Field(examples=["月度指标全省排名第6位（第5位以后）"])
    bulletin_id: str = Field(examples=["bulletin-2018-05-e1"])
    status: DutyStatus = Field(
        description=(
            "open 待汇报、filed 已汇报、overdue 逾期未汇报（已发 deadline-passed）、withdrawn 更正后撤销"
        )
    )
    issued_on: date
    due_at: LocalInstant = Field(description="汇报截止时刻（最后一日24:00，Asia/Shanghai）")
    deadline_provisional: bool = Field(description=PROVISIONAL, examples=[False])
    created_at: datetime
    causes: str | None = Field(description="问题原因")
    targets: str | None = Field(description="工作目标")
    measures: str | None = Field(description="改进措施")
    filed_at: datetime | None
    late: bool | None = Field(description="逾期后才汇报")
    withdrawn_reason: str | None = None


class ReportFiling(Input):
    causes: LongText = Field(description="问题原因", examples=["部分银行处置不良贷款进度滞后"])
    targets: LongText = Field(description="工作目标", examples=["年底前不良贷款率降至1.1%以下，回到全省前五"])
    measures: LongText = Field(description="改进措施", examples=["加快不良资产处置，建立月度会商机制"])


class Interview(RowModel):
    id: str = Field(examples=["iv-3f1c2a9d0b7e"])
    indicator: str = Field(examples=["npl-ratio"])
    period: str = Field(examples=["2018-06"])
    department: str = Field(examples=["jrb"])
    kind: Literal["consecutive", "annual"]
    reason: str = Field(examples=["月度指标连续3次全省排名第5位以后"])
    interviewers: list[str] = Field(
        description="约谈人：分管市长、分管秘书长（领导代码）", examples=[["vm-executive", "dsg-economy"]]
    )
    run: list[str] = Field(description="导致约谈的发布期别", examples=[["2018-03", "2018-05", "2018-06"]])
    bulletin_id: str
    status: Literal["required", "withdrawn"]
    created_at: datetime

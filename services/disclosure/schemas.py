"""HTTP contract of the disclosure service: commands, internal views, the public catalogue, statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.disclosure.domain import (
    AnswerKind,
    ApplicantType,
    Channel,
    DisclosureMode,
    ExemptionDecision,
    ExemptionGround,
    IssuingOrgan,
    RequestStatus,
    Validity,
    VersionStatus,
)
from shared.deadlines import local, on_the_calendar
from shared.schemas import RowModel, ShanghaiInstants

Instant = Annotated[AwareDatetime, AfterValidator(on_the_calendar)]
# An instant read from the database (UTC) shown in Asia/Shanghai, where the deadlines are.
Shown = Annotated[datetime, AfterValidator(local)]

SubjectWord = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
SubjectWords = Annotated[list[SubjectWord], Field(max_length=10)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Body = Annotated[str, Field(max_length=500_000)]
Scope = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]

PROVISIONAL = "截止时刻按临时节假日表计算，官方安排发布后可能变更"


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attachment(Command):
    """附件的元数据（文件本身存放在门户网站或档案系统中）。"""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        examples=["湖州市优化营商环境若干意见.pdf"]
    )
    media_type: str | None = Field(default=None, max_length=100, examples=["application/pdf"])
    size_bytes: int | None = Field(default=None, ge=0, examples=[245760])
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")


class ExemptionRequest(Command):
    """不予公开申请（D2）：在办文环节由起草部门书面说明原因，再由分管市长签字。"""

    ground: ExemptionGround = Field(
        description=(
            "不予公开理由类别：state-secret 国家秘密、commercial-secret 商业秘密、personal-privacy 个人隐私、"
            "national-security / public-security / economic-security / social-stability "
            "公开后危及国家安全、公共安全、经济安全和社会稳定"
        ),
        examples=["personal-privacy"],
    )
    reason: str | None = Field(
        default=None,
        max_length=5000,
        description="起草部门的书面说明（必填；缺少时返回 exemption-reason-required）",
        examples=["文件附件含有征迁户的身份证号码和住址，公开将泄露个人隐私。"],
    )


_MODE_DESCRIPTION = (
    "公开方式（D4）：proactive 主动公开、on-request 依申请公开、withheld 不予公开。"
    "后两者须同时提交 exemption（不予公开理由和书面说明），并经分管市长签字同意后方可不公开（D2）；"
    "签字之前或被拒绝时，公开时限照常计算。"
)


class DocumentCreate(Command):
    """登记一份文件（形成）及其目录信息（D4）。"""

    document_number: str = Field(description="文号", examples=["湖政办发〔2018〕12号"], max_length=64)
    title: Title = Field(description="标题", examples=["关于进一步优化营商环境的通知"])
    drafting_department: str = Field(description="起草部门代码", examples=["fgw"])
    formed_on: date = Field(description="文件形成日期（发文日期）", examples=["2018-06-14"])
    issuing_organ: IssuingOrgan | None = Field(
        default=None,
        description=(
            "发布机构：government 市政府 或 government-office 市政府办公室；"
            "省略时按文号推定（机关代字含“办”者为市政府办公室）"
        ),
        examples=["government-office"],
    )
    subject_words: SubjectWords = Field(default_factory=list, description="主题词", examples=[["营商环境"]])
    disclosure_mode: DisclosureMode = Field(
        default=DisclosureMode.PROACTIVE, description=_MODE_DESCRIPTION, examples=["proactive"]
    )
    scope: Scope = Field(default="面向社会", description="公开范围", examples=["面向社会"])
    validity: Validity = Field(
        default=Validity.VALID, description="信息时效性：valid 有效、expired 失效", examples=["valid"]
    )
    body: Body = Field(default="", description="正文", examples=["各区县人民政府，市政府各部门：……"])
    attachments: list[Attachment] = Field(default_factory=list, max_length=50, description="附件元数据")
    exemption: ExemptionRequest | None = Field(default=None, description="不予公开申请（D2）")


class VersionCreate(Command):
    """文件变更（D1）：形成新版本，公开时限自变更之日起重新计算；省略的字段沿用上一版本。"""

    changed_on: date = Field(description="变更日期", examples=["2018-07-02"])
    change_reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = (
        Field(description="变更说明", examples=["根据省政府新规定调整第三条"])
    )
    title: Title | None = Field(default=None, description="标题")
    body: Body | None = Field(default=None, description="正文")
    subject_words: SubjectWords | None = Field(default=None, description="主题词")
    disclosure_mode: DisclosureMode | None = Field(default=None, description=_MODE_DESCRIPTION)
    scope: Scope | None = Field(default=None, description="公开范围")
    validity: Validity | None = Field(default=None, description="信息时效性", examples=["expired"])
    attachments: list[Attachment] | None = Field(default=None, max_length=50, description="附件元数据")
    exemption: ExemptionRequest | None = Field(
        default=None, description="新版本的不予公开申请（D2）；不沿用上一版本的申请"
    )


class ExemptionDecisionCreate(Command):
    """分管市长对不予公开申请的签字意见（D2）；或市政府办公室补录的纸质签字（写明签字时刻和签字人）。"""

    granted: bool = Field(description="true 同意不予公开；false 不同意（文件须按时公开）", examples=[True])
    comment: str | None = Field(default=None, max_length=2000, examples=["同意不予公开。"])
    decided_at: Instant | None = Field(
        default=None,
        description=(
            "补录：纸质记录所载的签字时刻（带时区），仅限市政府办公室（office）填写，其他令牌填写返回 403 "
            "`backfill-office-only`；不得晚于当前时刻，不得早于该版本的形成日期。省略为当前时刻（领导本人签字）"
        ),
        examples=["2018-06-08T16:00:00+08:00"],
    )
    signed_by: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "补录：纸质记录上签字的分管市长代码"
            "（只与 decided_at 同时填写，否则返回 422 `decided-at-required`）"
        ),
        examples=["vm-executive"],
    )


class PublicationCreate(Command):
    """在门户网站公开发布（D1）。"""

    url: str = Field(
        description="门户网站上的地址",
        max_length=2000,
        pattern=r"^https?://",
        examples=["https://www.huzhou.gov.cn/art/2018/6/20/art_1229_1.html"],
    )
    published_at: Instant | None = Field(
        default=None,
        description="发布时刻（带时区）；省略为当前时刻",
        examples=["2018-06-20T10:00:00+08:00"],
    )


class ExemptionView(RowModel):
    ground: ExemptionGround
    ground_name: str = Field(examples=["个人隐私"])
    reason: str
    requested_by: str
    requested_at: Shown
    decision: ExemptionDecision = Field(description="pending 待签字、granted 同意、refused 不同意")
    required_signer: str = Field(description="须签字的分管市长代码", examples=["vm-executive"])
    signed_by: str | None = Field(default=None, description="签字的领导代码")
    decided_at: Shown | None = Field(
        default=None, description="签字时刻（补录时为纸质记录所载时刻）；D2、D3 均按此时刻判断"
    )
    recorded_by: str | None = Field(
        default=None, description="录入签字的客户端（领导本人，或补录的办公室）", examples=["city-office"]
    )
    recorded_at: Shown | None = Field(default=None, description="录入系统的时刻")
    backfilled: bool = Field(default=False, description="办公室补录的纸质签字")
    after_deadline: bool | None = Field(
        default=None,
        description=(
            "签字时刻不早于公开截止时刻：签字属于办文环节（D2），截止时既未公开也未批准不予公开即为逾期（D3），"
            "故决定照录而该版本仍记为逾期；未签字时为空"
        ),
        examples=[False],
    )
    comment: str | None = None


class PublicationView(RowModel):
    url: str
    published_at: Shown
    on_time: bool = Field(description="是否在公开截止时刻之前发布")
    published_by: str | None = None


class VersionView(RowModel):
    version: int = Field(examples=[1])
    formed_on: date = Field(description="形成（版本1）或变更日期")
    due_on: date = Field(description="公开时限的最后一日（须于该日24:00前公开）", examples=["2018-06-11"])
    deadline: Shown = Field(description="公开截止时刻（最后一日24:00，Asia/Shanghai）")
    deadline_provisional: bool = Field(description=PROVISIONAL, examples=[False])
    status: VersionStatus = Field(
        description=(
            "open 待公开、published 已公开、overdue 逾期未公开（D3）、exempt 经批准不予公开（D2）、"
            "superseded 公开前已被新版本取代"
        )
    )
    title: str
    body: str
    subject_words: list[str]
    disclosure_mode: DisclosureMode
    scope: str
    validity: Validity
    attachments: list[Attachment]
    change_reason: str | None = None
    formed_by: str | None = None
    overdue_at: Shown | None = Field(default=None, description="被记为逾期的时刻（撤销后仍保留）")
    overdue_withdrawn_at: Shown | None = Field(
        default=None, description="逾期记录因补录的按时签字而撤销的时刻（状态随之为 exempt）"
    )
    overdue_withdrawn_by: str | None = Field(default=None, description="补录并撤销逾期记录的客户端")
    superseded_at: Shown | None = None
    publication: PublicationView | None = None
    exemption: ExemptionView | None = None


class DocumentView(RowModel):
    id: str = Field(examples=["doc-3f1c2a9d"])
    index_number: str = Field(description="索引号", examples=["330500000/2018-00012"])
    document_number: str = Field(examples=["湖政办发〔2018〕12号"])
    title: str = Field(description="当前版本的标题")
    issuing_organ: IssuingOrgan
    drafting_department: str
    version: int = Field(description="当前版本", examples=[1])
    formed_on: date = Field(description="当前版本的形成或变更日期")
    due_on: date = Field(description="当前版本公开时限的最后一日", examples=["2018-06-11"])
    deadline: Shown = Field(description="当前版本的公开截止时刻（最后一日24:00，Asia/Shanghai）")
    deadline_provisional: bool = Field(description=PROVISIONAL, examples=[False])
    status: VersionStatus = Field(description="当前版本的状态")
    versions: list[VersionView] = Field(description="全部版本，旧版本在前")


class DocumentSummary(RowModel):
    id: str
    index_number: str
    document_number: str
    title: str
    drafting_department: str
    version: int
    formed_on: date
    due_on: date = Field(description="公开时限的最后一日", examples=["2018-06-11"])
    deadline: Shown
    deadline_provisional: bool = Field(description=PROVISIONAL, examples=[False])
    status: VersionStatus


class CatalogueEntry(RowModel):
    """公开目录中的一条（D4 目录信息）。"""

    id: str = Field(examples=["doc-3f1c2a9d"])
    index_number: str = Field(description="索引号", examples=["330500000/2018-00012"])
    document_number: str = Field(description="文号", examples=["湖政办发〔2018〕12号"])
    title: str = Field(examples=["关于进一步优化营商环境的通知"])
    issuing_organ: IssuingOrgan
    issuing_organ_name: str = Field(description="发布机构", examples=["市政府办公室"])
    department: str = Field(description="起草部门代码", examples=["fgw"])
    department_name: str = Field(examples=["市发改委"])
    formed_on: date = Field(description="发文日期")
    subject_words: list[str] = Field(description="主题词")
    disclosure_mode: DisclosureMode
    disclosure_mode_name: str = Field(examples=["主动公开"])
    scope: str = Field(description="公开范围", examples=["面向社会"])
    validity: Validity
    validity_name: str = Field(examples=["有效"])
    version: int = Field(description="公开的版本")
    url: str = Field(description="门户网站地址")
    published_at: Shown


class CatalogueDocument(CatalogueEntry):
    body: str = Field(description="正文")
    attachments: list[Attachment]


class DepartmentStatistics(RowModel):
    department: str = Field(examples=["fgw"])
    department_name: str = Field(examples=["市发改委"])
    formed: int = Field(description="形成（含变更）的版本数")
    published_on_time: int = Field(description="按时公开")
    published_late: int = Field(description="逾期公开")
    overdue_unpublished: int = Field(description="逾期未公开")
    exempt: int = Field(description="经批准不予公开")
    open: int = Field(description="未到期、待公开")
    superseded: int = Field(description="公开前被新版本取代")
    on_time_rate: float | None = Field(
        description="按时公开率 = 按时公开 ÷（按时公开 + 逾期公开 + 逾期未公开）；尚无到期版本时为空",
        examples=[0.9],
    )


class StatisticsReport(ShanghaiInstants):
    period: str = Field(examples=["2018-Q2"])
    start: date = Field(description="期间首日（含）")
    end: date = Field(description="期间末日之后一日（不含）")
    departments: list[DepartmentStatistics] = Field(description="有文件的部门（或所选部门），按部门名录顺序")
    total: DepartmentStatistics = Field(description="合计（department 为 all）")


# --- D7 requests for government information (依申请公开) ----------------------------------------

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{4,19}$")]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


class Applicant(Command):
    """申请人（第二十九条）：姓名或者名称、身份证明、联系方式。个人信息只有受理机关和持查询码的申请人可见。"""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="申请人姓名（法人或其他组织为联系人姓名）", examples=["张三"]
    )
    organisation: ShortText | None = Field(
        default=None,
        description="法人或其他组织的名称（申请人为组织时必填）",
        examples=["湖州某某科技有限公司"],
    )
    id_document: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = Field(
        default=None,
        description="身份证明（证件类型和号码，或统一社会信用代码）",
        examples=["身份证 330501199001011234"],
    )
    phone: Phone = Field(description="联系电话", examples=["13800000000"])
    email: Email | None = Field(default=None, description="电子邮箱", examples=["zhangsan@example.com"])
    address: ShortText | None = Field(
        default=None, description="通信地址", examples=["湖州市吴兴区某某路1号"]
    )


class RequestSubmit(Command):
    """政府信息公开申请（第二十九条）：由公众通过网上平台提交，无需账号。"""

    department: str = Field(description="受理机关（部门代码；市政府为 office）", examples=["fgw"])
    applicant_type: ApplicantType = Field(
        description=(
            "申请人类型：natural-person 自然人；法人或其他组织：commercial-enterprise 商业企业、"
            "research-institution 科研机构、social-welfare-organisation 社会公益组织、"
            "legal-service-organisation 法律服务机构、other-organisation 其他"
        ),
        examples=["natural-person"],
    )
    applicant: Applicant
    content: LongText = Field(
        description="申请公开的政府信息的名称、文号或者便于查询的其他特征性描述",
        examples=["2018年湖州市区老旧小区改造项目的资金安排文件"],
    )
    form: Literal["paper", "electronic"] = Field(
        default="electronic",
        description="信息的形式要求：paper 纸质、electronic 电子",
        examples=["electronic"],
    )
    delivery: Literal["post", "email", "pickup", "online"] = Field(
        default="online",
        description="获取信息的方式：post 邮寄、email 电子邮件、pickup 当面领取、online 网上查看",
        examples=["online"],
    )


class RequestRegister(RequestSubmit):
    """受理机关登记收到的申请（任何方式）。收到申请之日按第三十一条由提交方式决定。"""

    channel: Channel = Field(
        description=(
            "提交方式：in-person 当面提交（填 submitted_on）、post-signed 邮寄需签收（填 signed_for_on）、"
            "post-unsigned 平常信函（填 confirmed_on，与申请人确认之日）、online 互联网渠道和 fax 传真"
            "（填 confirmed_on，双方确认之日）"
        ),
        examples=["post-signed"],
    )
    submitted_on: date | None = Field(default=None, description="当面提交之日", examples=["2018-09-28"])
    signed_for_on: date | None = Field(
        default=None, description="行政机关签收邮件之日", examples=["2018-09-28"]
    )
    confirmed_on: date | None = Field(
        default=None, description="与申请人确认收到之日", examples=["2018-09-28"]
    )


class RequestReceipt(ShanghaiInstants):
    """提交成功：申请编号和查询码。查询码只显示这一次，平台只保存其摘要，遗失无法找回。"""

    number: str = Field(description="申请编号", examples=["YSQ2018-48271934"])
    access_code: str = Field(description="查询码（只显示一次）", examples=["K7QF-M2XD-9PRA-WT3C"])
    received_on: date = Field(description="收到申请之日", examples=["2018-09-28"])
    due_on: date = Field(description="答复期限的最后一日", examples=["2018-11-02"])
    deadline: datetime = Field(
        description="答复截止时刻（最后一日24:00）", examples=["2018-11-03T00:00:00+08:00"]
    )


class ExtensionCreate(Command):
    """延长答复期限（第三十三条）：经政府信息公开工作机构负责人同意，并告知申请人；只能延长一次。"""

    days: int = Field(
        ge=1, le=366, description="延长的工作日数（不超过政策配置的上限，条例为20个工作日）", examples=[20]
    )
    reason: LongText = Field(
        description="延长理由（申请人可见）", examples=["申请内容涉及多个部门，需协调核实"]
    )
    consented_by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = (
        Field(description="同意延长的政府信息公开工作机构负责人", examples=["李四（办公室主任）"])
    )
    notified_on: date = Field(description="告知申请人之日", examples=["2018-10-30"])


class CompletionNoticeCreate(Command):
    """补正告知（第三十条）：收到申请之日起7个工作日内一次性告知需要补正的事项和合理的补正期限。"""

    items: LongText = Field(description="需要补正的事项", examples=["请写明所需文件的年份和项目名称"])
    notified_on: date | None = Field(
        default=None, description="告知之日；省略为今天", examples=["2018-10-09"]
    )
    complete_by: date | None = Field(
        default=None, description="补正期限的最后一日；省略时按政策配置的默认期限", examples=["2018-10-30"]
    )


class CompletionCreate(Command):
    """收到补正后的申请（第三十条）：答复期限自收到补正之日起重新计算。"""

    completed_on: date = Field(description="收到补正申请之日", examples=["2018-10-15"])
    content: LongText | None = Field(default=None, description="补正后的申请内容；省略则保留原内容")


class ConsultationCreate(Command):
    """书面征求第三方意见（第三十二条）：第三方15个工作日内提出意见，所需时间不计入答复期限。"""

    third_parties: Annotated[list[ShortText], Field(min_length=1, max_length=20)] = Field(
        description="被征求意见的第三方", examples=[["湖州某某建设有限公司"]]
    )
    started_on: date | None = Field(default=None, description="发出书面征求意见之日；省略为今天")
    reason: LongText = Field(description="征求意见的理由", examples=["申请公开的合同含有第三方商业信息"])


class ConsultationEnd(Command):
    """第三方意见收到（或期限届满），答复期限恢复计算。"""

    ended_on: date = Field(description="收到第三方意见之日（或第三方期限届满之日）", examples=["2018-10-19"])
    outcome: LongText = Field(description="第三方意见", examples=["第三方不同意公开报价明细"])


class DisclosedDocument(Command):
    """公开的信息：公开目录中的文件（document_id），或其他信息的名称和获取地址。"""

    document_id: str | None = Field(
        default=None, max_length=40, description="公开目录中的文件编号", examples=["doc-3f1c2a9d"]
    )
    title: ShortText | None = Field(default=None, description="信息名称（目录外的信息必填）")
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://", description="获取地址")


class AnswerCreate(Command):
    """答复（第三十六条）。"""

    kind: AnswerKind = Field(
        description=(
            "答复类型：already-public 已公开（告知获取途径）、disclosed 予以公开、partly-disclosed 部分公开、"
            "not-disclosed 不予公开、cannot-provide 无法提供、not-handled 不予处理、"
            "not-this-organ 不属于本机关负责公开、other 其他处理"
        ),
        examples=["not-disclosed"],
    )
    ground: str | None = Field(
        default=None,
        max_length=40,
        description=(
            "理由类别（年度报告表三逐项统计）。not-disclosed：state-secret、prohibited-by-law、"
            "three-securities-one-stability、third-party-rights、internal-affairs、process-information、"
            "enforcement-case-file、administrative-query；cannot-provide：not-held、needs-production、"
            "unclear-after-completion；not-handled：complaint、repeated、publication、unreasonable-repetition、"
            "confirmation。其他类型不填"
        ),
        examples=["state-secret"],
    )
    reason: LongText | None = Field(default=None, description="理由说明（部分公开、不予公开等须填写）")
    documents: Annotated[list[DisclosedDocument], Field(max_length=100)] = Field(
        default_factory=list, description="公开的信息（予以公开、部分公开、已公开时至少一项）"
    )
    responsible_organ: ShortText | None = Field(
        default=None, description="负责公开该信息的机关名称和联系方式（不属于本机关时，能确定的须告知）"
    )
    answered_at: Instant | None = Field(
        default=None,
        description="答复时刻（补录纸质答复时填写）；省略为当前时刻",
        examples=["2018-11-05T10:00:00+08:00"],
    )


class ClockChangeView(RowModel):
    change: str = Field(examples=["extended"])
    changed_at: Shown
    changed_by: str
    reason: str
    old_deadline: Shown | None = None
    new_deadline: Shown | None = None


class AnswerView(RowModel):
    kind: AnswerKind
    kind_name: str = Field(examples=["不予公开"])
    ground: str | None = None
    ground_name: str | None = Field(default=None, examples=["属于国家秘密"])
    reason: str | None = None
    documents: list[DisclosedDocument]
    responsible_organ: str | None = None
    answered_at: Shown
    late: bool = Field(description="答复时刻不早于答复截止时刻")


class RequestView(RowModel):
    """申请的全部信息：受理机关的工作人员和持查询码的申请人可见。"""

    id: str = Field(examples=["req-5c1e9a0b7d21"])
    number: str = Field(examples=["YSQ2018-48271934"])
    department: str = Field(examples=["fgw"])
    department_name: str = Field(examples=["市发改委"])
    channel: Channel
    received_on: date = Field(description="收到申请之日（第三十一条）")
    submitted_on: date | None = None
    signed_for_on: date | None = None
    confirmed_on: date | None = None
    applicant_type: ApplicantType
    applicant: Applicant
    content: str
    form: str
    delivery: str
    status: RequestStatus = Field(
        description=(
            "pending 办理中、awaiting-completion 待补正、consulting 征求第三方意见、answered 已答复、"
            "abandoned 视为放弃"
        )
    )
    clock_start_on: date = Field(description="答复期限起算之日（收到申请或收到补正之日）")
    due_on: date | None = Field(default=None, description="答复期限的最后一日（待补正时为空）")
    deadline: Shown | None = Field(
        default=None, description="答复截止时刻；征求第三方意见期间按第三方期限用满计算"
    )
    deadline_provisional: bool = Field(description=PROVISIONAL)
    extension_days: int = Field(description="已延长的工作日数")
    extension_reason: str | None = None
    extension_consented_by: str | None = None
    extension_notified_on: date | None = None
    paused_days: int = Field(description="不计入答复期限的征求第三方意见工作日数")
    consulting_since: date | None = None
    completion_notified_on: date | None = None
    completion_items: str | None = None
    complete_by: date | None = None
    completed_on: date | None = None
    overdue_at: Shown | None = Field(default=None, description="逾期未答复被记录的时刻")
    answer: AnswerView | None = None
    abandoned_at: Shown | None = None
    registered_by: str
    registered_at: Shown
    clock_changes: list[ClockChangeView] = Field(description="答复期限的每次变更：谁、何时、为何")


class RequestSummary(RowModel):
    id: str
    number: str
    department: str
    channel: Channel
    applicant_type: ApplicantType
    received_on: date
    status: RequestStatus
    deadline: Shown | None = None
    overdue_at: Shown | None = None
    answered_at: Shown | None = None


class AnnualRow(ShanghaiInstants):
    key: str = Field(description="行标识", examples=["not-disclosed:state-secret"])
    label: str = Field(description="模板中的行名", examples=["1.属于国家秘密"])
    cells: dict[str, int] = Field(
        description="各列的件数：申请人类型各列和 total 总计",
        examples=[{"natural-person": 1, "commercial-enterprise": 0, "total": 1}],
    )


class AnnualColumn(ShanghaiInstants):
    key: str = Field(examples=["natural-person"])
    label: str = Field(examples=["自然人"])


class AnnualReport(ShanghaiInstants):
    """年度报告表三：收到和处理政府信息公开申请情况（国办公开办函〔2021〕30号格式）。"""

    department: str = Field(description="机关（部门代码）", examples=["fgw"])
    department_name: str = Field(examples=["市发改委"])
    year: int = Field(examples=[2018])
    due_on: date = Field(description="年度报告须于此日前公布（第五十条）", examples=["2019-01-31"])
    columns: list[AnnualColumn]
    rows: list[AnnualRow] = Field(description="模板的各行，自上而下")
    requests: int = Field(description="计入本表的申请数（新收与上年结转之和，每件只计一次）", examples=[12])


# --- 004 policy inquiries (政策咨询) -----------------------------------------------------------


class InquirySubmit(Command):
    """政策咨询表单（004）：咨询部门、手机号码、姓名、邮箱、标题、内容、是否公开咨询内容。"""

    department: str = Field(description="咨询部门（部门代码）", examples=["fgw"])
    mobile: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^1[3-9][0-9]{9}$")] = Field(
        description="手机号码", examples=["13800000000"]
    )
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="姓名", examples=["张三"]
    )
    email: Email | None = Field(default=None, description="邮箱（选填）", examples=["zhangsan@example.com"])
    title: ShortText = Field(description="标题", examples=["企业投资项目备案如何办理"])
    content: LongText = Field(description="内容", examples=["请问2018年企业投资项目备案需要提交哪些材料？"])
    public: bool = Field(
        default=False,
        description="是否同意公开咨询内容（答复后在公开列表中展示，不含姓名和联系方式）",
        examples=[True],
    )


class InquiryReceipt(ShanghaiInstants):
    number: str = Field(description="咨询编号", examples=["ZX2018-30418277"])
    access_code: str = Field(description="查询码（只显示一次）", examples=["K7QF-M2XD-9PRA-WT3C"])
    deadline: datetime = Field(description="答复截止时刻", examples=["2018-06-08T00:00:00+08:00"])


class ReplyCreate(Command):
    reply: LongText = Field(
        description="答复内容", examples=["请登录浙江政务服务网在线填报项目信息，无需提交纸质材料。"]
    )
    replied_at: Instant | None = Field(default=None, description="答复时刻；省略为当前时刻")


class InquiryView(RowModel):
    """咨询及其答复：受理部门和持查询码的咨询人可见（含个人信息）。"""

    id: str
    number: str
    department: str
    department_name: str
    name: str
    mobile: str
    email: str | None = None
    title: str
    content: str
    public: bool
    received_at: Shown
    deadline: Shown
    deadline_provisional: bool
    status: Literal["open", "replied"]
    overdue_at: Shown | None = None
    reply: str | None = None
    replied_at: Shown | None = None
    replied_late: bool | None = None


class PublicInquiry(RowModel):
    """公开列表中的咨询（咨询人同意公开且已答复），不含姓名和联系方式。"""

    number: str
    department: str
    department_name: str
    title: str
    content: str
    received_at: Shown
    reply: str
    replied_at: Shown

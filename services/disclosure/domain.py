"""Disclosure rules (政务公开), pure: the catalogue, the publication clock, exemptions and outcomes.

D1 the clock per version, D2 exemptions and who signs them, D3 overdue, D4 catalogue metadata
(document numbers, index numbers, modes), D5 what a public search means, D6 statistics periods.
No I/O here: the service layer feeds dates, stored states, reference data and the policy profile
in; a request a rule refuses is a ``RuleViolation`` naming the rule and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Protocol

from shared.calendar import CalendarError, HolidayCalendar
from shared.deadlines import TimeLimit, deadline, is_past, is_provisional, last_day, local, local_date
from shared.periods import ReportPeriod, parse_period
from shared.policy.models import PolicyProfile
from shared.reference.models import Department
from shared.rules import Conflict, Missing, RuleViolation

# 文号: issuing-organ prefix (机关代字), 〔year〕, serial number, 号 — e.g. 湖政办发〔2018〕12号.
_DOCUMENT_NUMBER = re.compile(
    r"^(?P<prefix>[\u4e00-\u9fff]{1,12})〔(?P<year>\d{4})〕(?P<serial>[1-9]\d{0,4})号$"
)

# What people type for the brackets of a year in a document number; all mean 〔〕.
_OPENING_BRACKETS = "[［(（【〔"
_CLOSING_BRACKETS = "]］)）】〕"
_BRACKETS = str.maketrans(
    {**dict.fromkeys(_OPENING_BRACKETS, "〔"), **dict.fromkeys(_CLOSING_BRACKETS, "〕")}
)

# A piece of a document number as typed into the search box: the prefix, the year, the serial,
# any trailing part left out (湖政办发〔2018〕, 湖政办发〔2018〕12号, 〔2018〕12号).
_NUMBER_QUERY = re.compile(
    r"^(?P<prefix>[\u4e00-\u9fff]{1,12})?〔(?P<year>\d{4})(?:〕(?:(?P<serial>[1-9]\d{0,4})号?)?)?$"
)


class InvalidDocumentNumber(RuleViolation):
    """D4: the document number does not follow 前缀〔年份〕序号号."""

    kind: ClassVar[str] = "invalid-document-number"
    rule: ClassVar[str | None] = "D4"


@dataclass(frozen=True)
class DocumentNumber:
    prefix: str
    year: int
    serial: int

    def __str__(self) -> str:
        return f"{self.prefix}〔{self.year}〕{self.serial}号"


def parse_document_number(text: str) -> DocumentNumber:
    match = _DOCUMENT_NUMBER.match(text.strip())
    if match is None:
        raise InvalidDocumentNumber(
            f"文号 {text!r} 格式不正确，应为 机关代字〔年份〕序号号，例如 湖政办发〔2018〕12号",
            field="document_number",
        )
    return DocumentNumber(match["prefix"], int(match["year"]), int(match["serial"]))


class IssuingOrgan(StrEnum):
    """D1: who issues the documents the rule covers."""

    GOVERNMENT = "government"  # 市政府
    GOVERNMENT_OFFICE = "government-office"  # 市政府办公室

    @property
    def label(self) -> str:
        return _ORGAN_LABELS[self]


_ORGAN_LABELS = {IssuingOrgan.GOVERNMENT: "市政府", IssuingOrgan.GOVERNMENT_OFFICE: "市政府办公室"}


def issuing_organ_of(number: DocumentNumber) -> IssuingOrgan:
    """The organ a document number names: 湖政办发 (with 办) is the office's, 湖政发 the government's."""
    return IssuingOrgan.GOVERNMENT_OFFICE if "办" in number.prefix else IssuingOrgan.GOVERNMENT


class DisclosureMode(StrEnum):
    """D4 公开方式, chosen at drafting time."""

    PROACTIVE = "proactive"  # 主动公开
    ON_REQUEST = "on-request"  # 依申请公开
    WITHHELD = "withheld"  # 不予公开

    @property
    def label(self) -> str:
        return _MODE_LABELS[self]

    @property
    def needs_exemption(self) -> bool:
        """D2: anything short of proactive publication is an exception that needs reason and signature."""
        return self is not DisclosureMode.PROACTIVE


_MODE_LABELS = {
    DisclosureMode.PROACTIVE: "主动公开",
    DisclosureMode.ON_REQUEST: "依申请公开",
    DisclosureMode.WITHHELD: "不予公开",
}


class Validity(StrEnum):
    """D4 信息时效性."""

    VALID = "valid"  # 有效
    EXPIRED = "expired"  # 失效

    @property
    def label(self) -> str:
        return "有效" if self is Validity.VALID else "失效"


class ExemptionGround(StrEnum):
    """D2: the only grounds on which a document may be withheld (000 §一)."""

    STATE_SECRET = "state-secret"
    COMMERCIAL_SECRET = "commercial-secret"
    PERSONAL_PRIVACY = "personal-privacy"
    NATIONAL_SECURITY = "national-security"
    PUBLIC_SECURITY = "public-security"
    ECONOMIC_SECURITY = "economic-security"
    SOCIAL_STABILITY = "social-stability"

    @property
    def label(self) -> str:
        return _GROUND_LABELS[self]


_GROUND_LABELS = {
    ExemptionGround.STATE_SECRET: "国家秘密",
    ExemptionGround.COMMERCIAL_SECRET: "商业秘密",
    ExemptionGround.PERSONAL_PRIVACY: "个人隐私",
    ExemptionGround.NATIONAL_SECURITY: "公开后危及国家安全",
    ExemptionGround.PUBLIC_SECURITY: "公开后危及公共安全",
    ExemptionGround.ECONOMIC_SECURITY: "公开后危及经济安全",
    ExemptionGround.SOCIAL_STABILITY: "公开后危及社会稳定",
}


class ExemptionDecision(StrEnum):
    PENDING = "pending"  # reason recorded, signature awaited: the clock keeps running
    GRANTED = "granted"
    REFUSED = "refused"


class VersionStatus(StrEnum):
    """Where one version stands against its clock (D1, D3)."""

    OPEN = "open"  # neither published nor exempt; its deadline is running
    PUBLISHED = "published"  # on time or late, see the publication
    OVERDUE = "overdue"  # the deadline passed unpublished (D3); publishing later makes it late
    EXEMPT = "exempt"  # withheld with reason and signature (D2)
    SUPERSEDED = "superseded"  # a change replaced it before it was published; its clock stopped


# Statuses in which the office may still publish a version.
PUBLISHABLE = frozenset({VersionStatus.OPEN, VersionStatus.OVERDUE})


def publication_deadline(
    formed_on: date, period: TimeLimit, calendar: HolidayCalendar, *, roll_to_working_day: bool
) -> datetime:
    """D1: publish within the profile's period of formation or change; 24:00 of the last day."""
    return deadline(formed_on, period, calendar, roll_to_working_day=roll_to_working_day)


def change_deadline(
    changed_on: date,
    previous_deadline: datetime,
    period: TimeLimit,
    calendar: HolidayCalendar,
    *,
    restarts_clock: bool,
    roll_to_working_day: bool,
) -> datetime:
    """D1: a change restarts the clock for the new version, unless the profile says it does not."""
    if not restarts_clock:
        return previous_deadline
    return publication_deadline(changed_on, period, calendar, roll_to_working_day=roll_to_working_day)


def published_on_time(version_deadline: datetime, published_at: datetime) -> bool:
    """D1: on time until 24:00 of the last day; at 24:00 exactly it is late."""
    return not is_past(version_deadline, published_at)


def published_before_formation(formed_on: date, published_at: datetime) -> bool:
    """A version cannot be on the portal before the day it was formed (Asia/Shanghai)."""
    return local_date(published_at) < formed_on


@dataclass(frozen=True)
class Due:
    """A version's deadline and whether it was counted through a provisional year (for a change,
    also what the clock of the version it replaces was)."""

    at: datetime
    provisional: bool


def version_due(
    rules: PolicyProfile, formed_on: date, calendar: HolidayCalendar, previous: Due | None = None
) -> Due:
    """D1: the deadline of a version formed (or, with ``previous``, changed) on ``formed_on``.

    The one computation for registration, change and recompute (``CalendarError`` passes through).
    A change that does not restart the clock keeps the previous version's deadline, and with it
    whether that deadline was provisional.
    """
    period = rules.disclosure.publish_within.to_limit()
    roll = rules.calendar.civil_code_rollover
    if previous is None:
        at = publication_deadline(formed_on, period, calendar, roll_to_working_day=roll)
        return Due(at, is_provisional(formed_on, at, calendar))
    restarts = rules.disclosure.change_restarts_clock
    at = change_deadline(
        formed_on, previous.at, period, calendar, restarts_clock=restarts, roll_to_working_day=roll
    )
    return Due(at, is_provisional(formed_on, at, calendar) if restarts else previous.provisional)


def new_version_due(
    rules: PolicyProfile,
    formed_on: date,
    calendar: HolidayCalendar,
    *,
    today: date,
    field: str,
    previous: Due | None = None,
) -> Due:
    """D1 for a version a request is about to store: formed by ``today`` (Asia/Shanghai), with a
    deadline the calendar can count; otherwise a refusal naming ``field``."""
    if formed_on > today:
        raise RuleViolation(
            f"日期 {formed_on} 晚于今天，文件尚未形成", kind="date-in-future", rule="D1", field=field
        )
    try:
        return version_due(rules, formed_on, calendar, previous)
    except CalendarError as exc:
        raise RuleViolation(str(exc), kind="calendar-out-of-range", rule="D1", field=field) from exc


def check_change(changed_on: date, previous_formed_on: date) -> None:
    """D1: a change is made on or after the day the version it replaces was formed."""
    if changed_on < previous_formed_on:
        raise RuleViolation(
            f"变更日期 {changed_on} 早于上一版本的形成日期 {previous_formed_on}",
            kind="change-before-formation",
            rule="D1",
            field="changed_on",
        )


# A publication time a little ahead of the server clock is a clock difference, not the future.
CLOCK_SKEW = timedelta(minutes=5)


def check_publication_time(published_at: datetime, now: datetime) -> None:
    """D1: a publication is recorded once it happened (up to ``CLOCK_SKEW`` ahead of ``now``)."""
    if published_at > now + CLOCK_SKEW:
        raise RuleViolation(
            "发布时刻晚于当前时刻", kind="publication-in-future", rule="D1", field="published_at"
        )


@dataclass(frozen=True)
class StoredVersion:
    """What the D1/D2 rules read of a stored version and its document."""

    document_number: str
    version: int
    current_version: int
    status: VersionStatus
    formed_on: date
    published_at: datetime | None = None


def check_publishable(stored: StoredVersion, published_at: datetime) -> None:
    """D1/D2: only the current version, not yet published nor exempt, and not before it was formed."""
    version = stored.version
    if stored.status == VersionStatus.PUBLISHED:
        shown = local(stored.published_at).isoformat() if stored.published_at is not None else ""
        raise Conflict(
            f"文件 {stored.document_number} 第{version}版已于 {shown} 公开，不能重复公开",
            kind="already-published",
            rule="D1",
            field="version",
        )
    if stored.status == VersionStatus.EXEMPT:
        raise Conflict(
            f"第{version}版已经分管市长签字同意不予公开", kind="version-exempt", rule="D2", field="version"
        )
    if version != stored.current_version:
        raise Conflict(
            f"第{version}版已被第{stored.current_version}版取代，请公开当前版本",
            kind="version-superseded",
            rule="D1",
            field="version",
        )
    if published_before_formation(stored.formed_on, published_at):
        raise RuleViolation(
            f"发布时刻 {local(published_at).isoformat()} 早于该版本的形成日期 {stored.formed_on}",
            kind="publication-before-formation",
            rule="D1",
            field="published_at",
        )


def vice_mayor_in_charge(department: Department) -> str:
    """D2: only the vice-mayor in charge of the drafting department (分管市长) may sign an exemption."""
    return department.vice_mayor


def may_sign_exemption(department: Department, leader_code: str | None) -> bool:
    return leader_code is not None and leader_code == vice_mayor_in_charge(department)


class ExemptionAsk(Protocol):
    """A drafting department's request to withhold a version (the command's ``exemption``)."""

    @property
    def ground(self) -> ExemptionGround: ...

    @property
    def reason(self) -> str | None: ...


@dataclass(frozen=True)
class RequestedExemption:
    """D2: the ground and the written reason recorded at drafting time, awaiting a signature."""

    ground: ExemptionGround
    reason: str


def requested_exemption(mode: DisclosureMode, ask: ExemptionAsk | None) -> RequestedExemption | None:
    """D2: withholding needs an enumerated ground and a written reason; proactive needs neither."""
    if not mode.needs_exemption:
        if ask is not None:
            raise RuleViolation(
                "主动公开的文件不需要不予公开申请；如不宜公开，请将公开方式设为 on-request 或 withheld",
                kind="exemption-not-applicable",
                rule="D2",
                field="exemption",
            )
        return None
    reason = (ask.reason or "").strip() if ask is not None else ""
    if ask is None or not reason:
        raise RuleViolation(
            f"公开方式为{mode.label}的文件须由起草部门书面说明不予公开的原因（D2），否则必须公开",
            kind="exemption-reason-required",
            rule="D2",
            field="exemption.reason",
        )
    return RequestedExemption(ask.ground, reason)


def check_exemption_decision(
    stored: StoredVersion,
    decision: ExemptionDecision | None,
    *,
    document_id: str,
    drafting: Department,
    signer: str,
) -> None:
    """D2: a pending request of the current, still open version, signed by the vice-mayor in charge
    of the drafting department. ``decision`` is the request's, ``None`` when there is none."""
    version = stored.version
    if decision is None:
        raise Missing(
            f"文件 {document_id} 第{version}版没有不予公开申请",
            kind="exemption-not-found",
            rule="D2",
            field="version",
        )
    if not may_sign_exemption(drafting, signer):
        required = vice_mayor_in_charge(drafting)
        raise RuleViolation(
            f"不予公开须经起草部门{drafting.short_name}的分管市长（{required}）签字，{signer} 无权签字",
            status=403,
            kind="signer-not-in-charge",
            rule="D2",
            field="signer",
            signer=signer,
            required_signer=required,
        )
    if decision != ExemptionDecision.PENDING:
        raise Conflict("该不予公开申请已有签字意见", kind="exemption-already-decided", rule="D2")
    if stored.status not in PUBLISHABLE or version != stored.current_version:
        closed = "公开" if stored.status == VersionStatus.PUBLISHED else "被新版本取代"
        raise Conflict(
            f"第{version}版已{closed}，不能再决定是否公开", kind="version-closed", rule="D2", field="version"
        )


@dataclass(frozen=True)
class SignOff:
    """D2: who signed an exemption decision and when (``decided_at``, the instant the rules judge),
    and who entered it in the system and when (``recorded_by``, ``recorded_at``).

    A live sign-off is the vice-mayor's own token at ``now``; a paper sign-off entered later
    (补录, ``backfilled``) is entered by the office with the instant and the signer the paper states.
    """

    signer: str
    decided_at: datetime
    recorded_by: str
    recorded_at: datetime
    backfilled: bool


def _sign_off_refused(
    detail: str, kind: str, *, field: str = "decided_at", status: int | None = None
) -> RuleViolation:
    """D2: a sign-off refused, as a refusal about its instant (``decided_at``) unless ``field`` says."""
    return RuleViolation(detail, status=status, kind=kind, rule="D2", field=field)


def sign_off(
    *,
    leader: str | None,
    office: bool,
    client: str,
    stated_at: datetime | None,
    stated_signer: str | None,
    formed_on: date,
    now: datetime,
) -> SignOff:
    """D2: a sign-off by the vice-mayor's own token (``leader``: the code it speaks for), or a paper
    sign-off the office enters with its real instant and signer: not in the future (up to
    ``CLOCK_SKEW``), not before the day the version was formed (the request is part of its drafting)."""
    if stated_at is None:
        if stated_signer is not None:
            raise _sign_off_refused(
                "签字人 signed_by 只用于补录纸质签字，须与签字时刻 decided_at 同时填写", "decided-at-required"
            )
        if leader is None:
            raise _sign_off_refused(
                "不予公开须由分管市长本人签字；"
                "办公室补录纸质签字时须写明签字时刻 decided_at 和签字人 signed_by",
                "signer-not-leader",
                status=403,
            )
        return SignOff(leader, now, client, now, backfilled=False)
    if not office:
        raise _sign_off_refused(
            "只有市政府办公室可以补录签字时刻（纸质记录）", "backfill-office-only", status=403
        )
    if stated_signer is None:
        raise _sign_off_refused(
            "补录纸质签字须写明签字的分管市长代码", "signed-by-required", field="signed_by"
        )
    if stated_at > now + CLOCK_SKEW:
        raise _sign_off_refused("签字时刻晚于当前时刻", "decided-at-in-future")
    if local_date(stated_at) < formed_on:
        raise _sign_off_refused(
            f"签字时刻 {local(stated_at).isoformat()} 早于该版本的形成日期 {formed_on}，不予公开申请尚未提出",
            "decided-at-before-formation",
        )
    return SignOff(stated_signer, stated_at, client, now, backfilled=True)


def signed_after_deadline(version_deadline: datetime, decided_at: datetime) -> bool:
    """D2/D3: a sign-off belongs to drafting time; at or after the deadline (24:00 exactly is already
    late, as for the sweeper) it comes too late to keep the version from being overdue."""
    return is_past(version_deadline, decided_at)


@dataclass(frozen=True)
class DecisionOutcome:
    """What an exemption decision does to its version.

    - ``changes``: the version's columns the decision sets.
    - ``closes_overdue``: the version is still open past its deadline at ``now``: the decision
      records the overdue (D3) the sweeper would, once, and it is announced (deadline-passed).
    - ``withdraws_overdue``: a backfilled sign-off made before the deadline of a version already
      recorded overdue: the version is exempt after all, the overdue record stays beside the
      correction, and the correction is announced (deadline-passed-withdrawn).
    """

    changes: dict[str, str]
    after_deadline: bool
    closes_overdue: bool
    withdraws_overdue: bool


def decision_outcome(
    granted: bool, status: VersionStatus, version_deadline: datetime, decided_at: datetime, now: datetime
) -> DecisionOutcome:
    """D2: granted before the deadline, the version owes no publication (exempt); refused, it must be
    published proactively by its original deadline. D3: granted at or after the deadline, the
    decision is kept but the version was neither published nor exempt when its deadline passed,
    so it is overdue. Judged on the instant of the decision, never on whether the sweeper ran first."""
    late = signed_after_deadline(version_deadline, decided_at)
    if granted and not late:
        return DecisionOutcome(
            {"status": VersionStatus.EXEMPT},
            after_deadline=False,
            closes_overdue=False,
            withdraws_overdue=status == VersionStatus.OVERDUE,
        )
    changes: dict[str, str] = {} if granted else {"disclosure_mode": DisclosureMode.PROACTIVE}
    closes = status == VersionStatus.OPEN and is_past(version_deadline, now)
    return DecisionOutcome(changes, after_deadline=late, closes_overdue=closes, withdraws_overdue=False)


def last_day_of(version_deadline: datetime) -> date:
    """D1: the last day of the period, the day before the 00:00 (Asia/Shanghai) it runs out at."""
    return local_date(version_deadline) - timedelta(days=1)


def format_index_number(pattern: str, *, organisation: str, year: int, serial: int) -> str:
    """D4 索引号, by the deployment's pattern, e.g. ``330500000/2018-00012``."""
    return pattern.format(organisation=organisation, year=year, serial=serial)


@dataclass(frozen=True)
class NumberQuery:
    """The parts of a document number a search asks for; ``None`` means any."""

    prefix: str | None
    year: int
    serial: int | None


def normalise_brackets(text: str) -> str:
    return text.translate(_BRACKETS)


def parse_number_query(text: str) -> NumberQuery | None:
    """A search for a document number (or its leading part), or ``None`` if ``text`` is words.

    Brackets are normalised, so ``湖政办发[2018]`` and ``湖政办发（2018）`` find 湖政办发〔2018〕….
    """
    compact = normalise_brackets("".join(text.split()))
    match = _NUMBER_QUERY.match(compact)
    if match is None:
        return None
    serial = match["serial"]
    return NumberQuery(match["prefix"], int(match["year"]), int(serial) if serial else None)


def search_words(q: str, words: list[str]) -> str:
    """D5: a search by words (not a document number) needs at least one word to look for."""
    if not words:
        raise RuleViolation(f"检索词 {q!r} 不含可检索的字词", kind="empty-query", rule="D5", field="q")
    return " ".join(words)


def unpublished(document_id: str) -> Missing:
    """D5: only published documents are public; anything else is not found."""
    return Missing(f"文件 {document_id} 不存在或尚未公开", kind="document-not-found", rule="D5")


def statistics_period(text: str) -> ReportPeriod:
    """D6: a year ``2018``, a quarter ``2018-Q2`` or a month ``2018-05``; the versions formed from
    its first day up to, not including, its ``end``."""
    return parse_period(text, rule=None, field="period", noun="期间", kind="invalid-period")


@dataclass(frozen=True)
class Outcomes:
    """What became of the versions formed in a period, for one department."""

    formed: int = 0
    published_on_time: int = 0
    published_late: int = 0
    overdue_unpublished: int = 0
    exempt: int = 0
    open: int = 0
    superseded: int = 0

    @classmethod
    def combined(cls, outcomes: Iterable[Outcomes]) -> Outcomes:
        """The outcomes of several departments together."""
        counted = list(outcomes)
        return cls(**{name: sum(getattr(o, name) for o in counted) for name in cls.__dataclass_fields__})

    @property
    def on_time_rate(self) -> float | None:
        """On time among the versions whose outcome is known (published, or overdue and unpublished).

        Exempt versions owe no publication; open ones may still be published in time; a superseded
        version's clock passed to its successor. ``None`` when nothing was due yet.
        """
        due = self.published_on_time + self.published_late + self.overdue_unpublished
        if due == 0:
            return None
        return round(self.published_on_time / due, 4)


# ---------------------------------------------------------------------------------------------
# D7 disclosure on request (依申请公开, 《政府信息公开条例》2019 revision) and D8 table 三.
# ---------------------------------------------------------------------------------------------


class Channel(StrEnum):
    """D7 art. 31: how a request reached the organ, which fixes its date of receipt."""

    IN_PERSON = "in-person"  # 当面提交: the day submitted
    POST_SIGNED = "post-signed"  # 邮寄（需签收）: the day the organ signed for it
    POST_UNSIGNED = "post-unsigned"  # 平常信函: the day receipt is confirmed with the applicant
    ONLINE = "online"  # 互联网渠道: the day both sides confirm
    FAX = "fax"  # 传真: the day both sides confirm

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self]

    @property
    def receipt_field(self) -> str:
        """The date of the command that art. 31 takes as the day of receipt for this channel."""
        return _RECEIPT_FIELDS[self]


_CHANNEL_LABELS = {
    Channel.IN_PERSON: "当面提交",
    Channel.POST_SIGNED: "邮寄（需签收）",
    Channel.POST_UNSIGNED: "平常信函（无需签收）",
    Channel.ONLINE: "互联网渠道",
    Channel.FAX: "传真",
}
_RECEIPT_FIELDS = {
    Channel.IN_PERSON: "submitted_on",
    Channel.POST_SIGNED: "signed_for_on",
    Channel.POST_UNSIGNED: "confirmed_on",
    Channel.ONLINE: "confirmed_on",
    Channel.FAX: "confirmed_on",
}
_RECEIPT_MEANING = {
    "submitted_on": "提交之日",
    "signed_for_on": "行政机关签收之日",
    "confirmed_on": "与申请人确认之日",
}
RECEIPT_FIELDS = tuple(_RECEIPT_MEANING)


def receipt_date(
    channel: Channel, dates: dict[str, date | None], *, today: date, calendar: HolidayCalendar
) -> date:
    """D7 art. 31: the day of receipt is the channel's date (in person: submitted; post signed for:
    signed; plain letter, online, fax: the day receipt is confirmed with the applicant). The other
    dates do not belong to the channel and are refused, so nobody reads a receipt that is not one.
    Never in the future (Asia/Shanghai), never before the platform's holiday calendar begins."""
    field = channel.receipt_field
    for other in RECEIPT_FIELDS:
        if other != field and dates.get(other) is not None:
            raise RuleViolation(
                f"{channel.label}的申请以{_RECEIPT_MEANING[field]}为收到申请之日（第三十一条），"
                f"不填写 {other}",
                kind="receipt-date-not-applicable",
                rule="D7",
                field=other,
            )
    day = dates.get(field)
    if day is None:
        raise RuleViolation(
            f"{channel.label}的申请以{_RECEIPT_MEANING[field]}为收到申请之日（第三十一条），须填写 {field}",
            kind="receipt-date-required",
            rule="D7",
            field=field,
        )
    if day > today:
        raise RuleViolation(
            f"收到申请之日 {day} 晚于今天 {today}", kind="receipt-date-in-future", rule="D7", field=field
        )
    if day.year < calendar.first_year():
        raise RuleViolation(
            f"收到申请之日 {day} 早于平台节假日日历的起始年份 {calendar.first_year()} 年，无法计算工作日",
            kind="receipt-date-before-calendar",
            rule="D7",
            field=field,
        )
    return day


class ApplicantType(StrEnum):
    """D8 table 三's columns: natural persons; legal persons and other organisations by kind."""

    NATURAL_PERSON = "natural-person"  # 自然人
    COMMERCIAL_ENTERPRISE = "commercial-enterprise"  # 商业企业
    RESEARCH_INSTITUTION = "research-institution"  # 科研机构
    SOCIAL_WELFARE_ORGANISATION = "social-welfare-organisation"  # 社会公益组织
    LEGAL_SERVICE_ORGANISATION = "legal-service-organisation"  # 法律服务机构
    OTHER_ORGANISATION = "other-organisation"  # 其他

    @property
    def label(self) -> str:
        return _APPLICANT_LABELS[self]

    @property
    def is_organisation(self) -> bool:
        return self is not ApplicantType.NATURAL_PERSON


_APPLICANT_LABELS = {
    ApplicantType.NATURAL_PERSON: "自然人",
    ApplicantType.COMMERCIAL_ENTERPRISE: "商业企业",
    ApplicantType.RESEARCH_INSTITUTION: "科研机构",
    ApplicantType.SOCIAL_WELFARE_ORGANISATION: "社会公益组织",
    ApplicantType.LEGAL_SERVICE_ORGANISATION: "法律服务机构",
    ApplicantType.OTHER_ORGANISATION: "其他",
}


def check_applicant(applicant_type: ApplicantType, organisation: str | None) -> None:
    """D7 art. 29: an organisation applies in its name (名称); a natural person in their own."""
    if applicant_type.is_organisation and not (organisation or "").strip():
        raise RuleViolation(
            f"申请人类型为{applicant_type.label}（法人或其他组织）时须填写组织名称",
            kind="organisation-name-required",
            rule="D7",
            field="applicant.organisation",
        )


class RequestStatus(StrEnum):
    """Where a request stands (D7). An answer late or not, the overdue is recorded beside."""

    PENDING = "pending"  # the answer clock runs
    AWAITING_COMPLETION = "awaiting-completion"  # art. 30: the clock waits for the completed request
    CONSULTING = "consulting"  # art. 32: a third party is consulted; that time is not counted
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # art. 30: not completed in the stated time

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    RequestStatus.PENDING: "办理中",
    RequestStatus.AWAITING_COMPLETION: "待补正",
    RequestStatus.CONSULTING: "征求第三方意见",
    RequestStatus.ANSWERED: "已答复",
    RequestStatus.ABANDONED: "视为放弃申请",
}
# The clock can be extended and answered only while it runs (or a third party is consulted).
ANSWERABLE = frozenset({RequestStatus.PENDING, RequestStatus.CONSULTING})


class AnswerKind(StrEnum):
    """D7 art. 36: the kinds of answer."""

    ALREADY_PUBLIC = "already-public"  # 已经公开：告知获取的方式和途径
    DISCLOSED = "disclosed"  # 予以公开
    PARTLY_DISCLOSED = "partly-disclosed"  # 部分公开（区分处理）
    NOT_DISCLOSED = "not-disclosed"  # 不予公开：告知并说明理由
    CANNOT_PROVIDE = "cannot-provide"  # 无法提供
    NOT_HANDLED = "not-handled"  # 不予处理
    NOT_THIS_ORGAN = "not-this-organ"  # 不属于本机关负责公开：告知负责机关
    OTHER = "other"  # 其他处理

    @property
    def label(self) -> str:
        return _ANSWER_LABELS[self]


_ANSWER_LABELS = {
    AnswerKind.ALREADY_PUBLIC: "已经公开，告知获取方式和途径",
    AnswerKind.DISCLOSED: "予以公开",
    AnswerKind.PARTLY_DISCLOSED: "部分公开",
    AnswerKind.NOT_DISCLOSED: "不予公开",
    AnswerKind.CANNOT_PROVIDE: "无法提供",
    AnswerKind.NOT_HANDLED: "不予处理",
    AnswerKind.NOT_THIS_ORGAN: "不属于本机关负责公开",
    AnswerKind.OTHER: "其他处理",
}

# D8 table 三 breaks these kinds down by ground or reason (国办公开办函〔2021〕30号), in its order.
ANSWER_GROUNDS: dict[AnswerKind, dict[str, str]] = {
    AnswerKind.NOT_DISCLOSED: {
        "state-secret": "属于国家秘密",
        "prohibited-by-law": "其他法律行政法规禁止公开",
        "three-securities-one-stability": "危及“三安全一稳定”",
        "third-party-rights": "保护第三方合法权益",
        "internal-affairs": "属于三类内部事务信息",
        "process-information": "属于四类过程性信息",
        "enforcement-case-file": "属于行政执法案卷",
        "administrative-query": "属于行政查询事项",
    },
    AnswerKind.CANNOT_PROVIDE: {
        "not-held": "本机关不掌握相关政府信息",
        "needs-production": "没有现成信息需要另行制作",
        "unclear-after-completion": "补正后申请内容仍不明确",
    },
    AnswerKind.NOT_HANDLED: {
        "complaint": "信访举报投诉类申请",
        "repeated": "重复申请",
        "publication": "要求提供公开出版物",
        "unreasonable-repetition": "无正当理由大量反复申请",
        "confirmation": "要求行政机关确认或重新出具已获取信息",
    },
}
# Kinds whose answer names what is disclosed: catalogue documents or other material.
NAMES_DOCUMENTS = frozenset({AnswerKind.DISCLOSED, AnswerKind.PARTLY_DISCLOSED, AnswerKind.ALREADY_PUBLIC})
# Kinds whose answer must explain itself in words (art. 36: 说明理由).
NEEDS_REASON = frozenset(
    {AnswerKind.PARTLY_DISCLOSED, AnswerKind.NOT_DISCLOSED, AnswerKind.NOT_THIS_ORGAN, AnswerKind.OTHER}
)


def check_answer(
    kind: AnswerKind,
    ground: str | None,
    reason: str | None,
    documents: int,
    *,
    completed: bool,
) -> None:
    """D7 art. 36 / D8: each kind with what it needs.

    - not disclosed, cannot provide, not handled: one of the template's grounds or reasons;
    - "still unclear after completion" only for a request that was completed (art. 30);
    - disclosed, partly disclosed, already public: at least one document (or where to find it);
    - partly disclosed, not disclosed, not this organ's, other handling: the reason in words.
    A ground given to a kind the template does not break down is refused as well.
    """
    grounds = ANSWER_GROUNDS.get(kind)
    if grounds is None and ground is not None:
        raise RuleViolation(
            f"答复类型“{kind.label}”不区分理由，不填写 ground",
            kind="ground-not-applicable",
            rule="D7",
            field="ground",
        )
    if grounds is not None:
        if ground is None:
            raise RuleViolation(
                f"答复类型“{kind.label}”须写明理由类别 ground（年度报告表三逐项统计）："
                + "、".join(f"{code} {label}" for code, label in grounds.items()),
                kind="answer-ground-required",
                rule="D7",
                field="ground",
            )
        if ground not in grounds:
            raise RuleViolation(
                f"理由类别 {ground!r} 不属于“{kind.label}”，可选：" + "、".join(grounds),
                kind="answer-ground-invalid",
                rule="D7",
                field="ground",
            )
        if ground == "unclear-after-completion" and not completed:
            raise RuleViolation(
                "“补正后申请内容仍不明确”只适用于已告知补正并收到补正的申请（第三十条）",
                kind="not-completed",
                rule="D7",
                field="ground",
            )
    if kind in NAMES_DOCUMENTS and documents == 0:
        raise RuleViolation(
            f"答复类型“{kind.label}”须列出公开的信息或其获取途径（documents）",
            kind="answer-documents-required",
            rule="D7",
            field="documents",
        )
    if kind in NEEDS_REASON and not (reason or "").strip():
        raise RuleViolation(
            f"答复类型“{kind.label}”须说明理由（reason）",
            kind="answer-reason-required",
            rule="D7",
            field="reason",
        )


def _closed_refusal(status: RequestStatus, action: str) -> Conflict:
    return Conflict(
        f"申请当前状态为“{status.label}”，不能{action}", kind="request-state", rule="D7", field="status"
    )


def require_status(status: RequestStatus, allowed: Iterable[RequestStatus], action: str) -> None:
    if status not in set(allowed):
        raise _closed_refusal(status, action)


@dataclass(frozen=True)
class RequestClock:
    """D7: what a request's answer deadline is counted from.

    ``start_on``: the day of receipt, or of the completed request's receipt (art. 30 restarts it);
    ``extension``: the working days of the one extension (art. 33); ``paused``: working days of
    third-party consultations that do not count (art. 32); ``consulting_since``: a consultation
    under way, whose time is not known yet (the deadline then assumes it runs its full limit).
    """

    start_on: date
    extension: int = 0
    paused: int = 0
    consulting_since: date | None = None


def _after(day: date, limit: TimeLimit, calendar: HolidayCalendar) -> date:
    return last_day(day, limit, calendar, roll_to_working_day=True) if limit.amount else day


def answer_due(rules: PolicyProfile, clock: RequestClock, calendar: HolidayCalendar) -> Due:
    """D7 art. 33: 20 working days (profile) from ``start_on``, plus the extension granted, plus
    the consultation time that does not count (art. 32); 24:00 of the last day."""
    policy = rules.disclosure.requests
    end = _after(clock.start_on, policy.answer_within.to_limit(), calendar)
    end = _after(end, TimeLimit(clock.extension, policy.extension_max.unit), calendar)
    end = _after(end, TimeLimit(clock.paused, "working"), calendar)
    if clock.consulting_since is not None:
        end = _after(end, policy.third_party_reply_within.to_limit(), calendar)
    at = deadline(end, TimeLimit(0, "working"), calendar)
    return Due(at, is_provisional(clock.start_on, at, calendar))


def counted_due(rules: PolicyProfile, clock: RequestClock, calendar: HolidayCalendar, *, field: str) -> Due:
    """``answer_due``, a date the calendar cannot count refused naming ``field``."""
    try:
        return answer_due(rules, clock, calendar)
    except CalendarError as exc:
        raise RuleViolation(str(exc), kind="calendar-out-of-range", rule="D7", field=field) from exc


def extensions_since_restart(changes: Iterable[str]) -> int:
    """How many extensions the running clock has had: those after the last restart from a
    completed request (art. 30 starts the clock, and with it art. 33, afresh)."""
    count = 0
    for change in changes:
        count = 0 if change == "completed" else count + (change == "extended")
    return count


def check_extension(
    rules: PolicyProfile,
    *,
    granted: int,
    already: int,
    days: int,
    current_deadline: datetime,
    now: datetime,
) -> None:
    """D7 art. 33: extended at most ``extensions_allowed`` times (once), by at most
    ``extension_max`` in all (``already``: the days granted before), before the answer deadline
    has passed."""
    policy = rules.disclosure.requests
    if granted >= policy.extensions_allowed:
        raise Conflict(
            f"答复期限只能延长 {policy.extensions_allowed} 次（第三十三条），该申请已经延长过",
            kind="extension-already-granted",
            rule="D7",
            field="days",
        )
    limit = policy.extension_max
    if already + days > limit.amount:
        unit = "个工作日" if limit.unit == "working" else "天"
        raise RuleViolation(
            f"延长的期限最长不得超过 {limit.amount}{unit}（第三十三条），申请延长 {days}{unit}",
            kind="extension-too-long",
            rule="D7",
            field="days",
        )
    if is_past(current_deadline, now):
        raise Conflict(
            f"答复期限已于 {local(current_deadline).isoformat()} 届满，不能再延长",
            kind="extension-after-deadline",
            rule="D7",
            field="days",
        )


def check_completion_notice(
    rules: PolicyProfile,
    *,
    received_on: date,
    notified_on: date,
    complete_by: date | None,
    already_notified: bool,
    today: date,
    calendar: HolidayCalendar,
) -> date:
    """D7 art. 30: once, within 7 working days (profile) of receipt, with a reasonable time to
    complete; returns the last day to complete (the profile's default when the notice states none)."""
    policy = rules.disclosure.requests
    if already_notified:
        raise Conflict(
            "补正告知只能一次性作出（第三十条），该申请已经告知过补正",
            kind="completion-already-requested",
            rule="D7",
            field="notified_on",
        )
    if notified_on > today:
        raise RuleViolation(
            f"告知日期 {notified_on} 晚于今天", kind="notice-in-future", rule="D7", field="notified_on"
        )
    if notified_on < received_on:
        raise RuleViolation(
            f"告知日期 {notified_on} 早于收到申请之日 {received_on}",
            kind="notice-before-receipt",
            rule="D7",
            field="notified_on",
        )
    last = _after(received_on, policy.completion_notice_within.to_limit(), calendar)
    if notified_on > last:
        raise RuleViolation(
            f"补正告知须在收到申请之日起 {policy.completion_notice_within.amount} 个工作日内作出"
            f"（第三十条），即不晚于 {last}；{notified_on} 已超过",
            kind="completion-notice-late",
            rule="D7",
            field="notified_on",
        )
    if complete_by is None:
        return _after(notified_on, policy.completion_time_default.to_limit(), calendar)
    if complete_by <= notified_on:
        raise RuleViolation(
            f"补正期限 {complete_by} 须晚于告知日期 {notified_on}",
            kind="completion-time-invalid",
            rule="D7",
            field="complete_by",
        )
    return complete_by


def completion_deadline(complete_by: date, calendar: HolidayCalendar) -> datetime:
    """D7 art. 30: the stated time to complete ends at 24:00 of ``complete_by``; a day the calendar
    cannot count is refused naming the field."""
    try:
        return deadline(complete_by, TimeLimit(0, "working"), calendar)
    except (CalendarError, OverflowError) as exc:
        raise RuleViolation(
            f"补正期限 {complete_by} 超出可计算的日期范围",
            kind="calendar-out-of-range",
            rule="D7",
            field="complete_by",
        ) from exc


def check_completed(completed_on: date, *, notified_on: date, complete_by: date, today: date) -> None:
    """D7 art. 30: the completed request is received after the notice, by the stated day; after
    that day the request is abandoned (the sweep records it)."""
    if completed_on > today:
        raise RuleViolation(
            f"收到补正之日 {completed_on} 晚于今天",
            kind="receipt-date-in-future",
            rule="D7",
            field="completed_on",
        )
    if completed_on < notified_on:
        raise RuleViolation(
            f"收到补正之日 {completed_on} 早于补正告知日期 {notified_on}",
            kind="completion-before-notice",
            rule="D7",
            field="completed_on",
        )
    if completed_on > complete_by:
        raise Conflict(
            f"补正期限于 {complete_by} 届满，逾期未补正视为放弃申请（第三十条）",
            kind="completion-too-late",
            rule="D7",
            field="completed_on",
        )


def check_step_day(day: date, *, after: date, today: date, field: str, after_what: str) -> None:
    """A day an official states for a step: not in the future, not before the step it follows."""
    if day > today:
        raise RuleViolation(f"{field} {day} 晚于今天", kind="date-in-future", rule="D7", field=field)
    if day < after:
        raise RuleViolation(
            f"{field} {day} 早于{after_what} {after}",
            kind="date-before-previous-step",
            rule="D7",
            field=field,
        )


def paused_working_days(since: date, until: date, rules: PolicyProfile, calendar: HolidayCalendar) -> int:
    """D7 art. 32: the working days after ``since`` up to ``until`` (the third party's reply, or
    the end of its limit, whichever is first): the consultation time that does not count."""
    cap = _after(since, rules.disclosure.requests.third_party_reply_within.to_limit(), calendar)
    end = min(until, cap)
    days = 0
    day = since
    while day < end:
        day += timedelta(days=1)
        days += calendar.is_working_day(day)
    return days


def answered_late(answer_deadline: datetime, answered_at: datetime) -> bool:
    """D7: an answer at or after 24:00 of the last day is late."""
    return is_past(answer_deadline, answered_at)


# --- D8 annual report, table 三 ----------------------------------------------------------------

# Rows of table 三 as the 2021 template lists them: (key, label, indent). ``None`` keys are
# headings whose figures are the sum of the rows under them.
ABANDONED_ROW = "other-abandoned"
FEE_ROW = "other-fee-unpaid"

ANNUAL_ROWS: tuple[tuple[str, str], ...] = (
    ("new", "一、本年新收政府信息公开申请数量"),
    ("carried-over", "二、上年结转政府信息公开申请数量"),
    ("disclosed", "（一）予以公开"),
    ("partly-disclosed", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    ("not-disclosed", "（三）不予公开"),
    *(
        (f"not-disclosed:{g}", f"{i}.{label}")
        for i, (g, label) in enumerate(ANSWER_GROUNDS[AnswerKind.NOT_DISCLOSED].items(), 1)
    ),
    ("cannot-provide", "（四）无法提供"),
    *(
        (f"cannot-provide:{g}", f"{i}.{label}")
        for i, (g, label) in enumerate(ANSWER_GROUNDS[AnswerKind.CANNOT_PROVIDE].items(), 1)
    ),
    ("not-handled", "（五）不予处理"),
    *(
        (f"not-handled:{g}", f"{i}.{label}")
        for i, (g, label) in enumerate(ANSWER_GROUNDS[AnswerKind.NOT_HANDLED].items(), 1)
    ),
    ("other", "（六）其他处理"),
    (ABANDONED_ROW, "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    (FEE_ROW, "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ("other-other", "3.其他"),
    ("total", "（七）总计"),
    ("carried-forward", "四、结转下年度继续办理"),
)
# The rows that sum to another row (a heading, or the total of the year's outcomes).
_HEADINGS = {
    "not-disclosed": tuple(f"not-disclosed:{g}" for g in ANSWER_GROUNDS[AnswerKind.NOT_DISCLOSED]),
    "cannot-provide": tuple(f"cannot-provide:{g}" for g in ANSWER_GROUNDS[AnswerKind.CANNOT_PROVIDE]),
    "not-handled": tuple(f"not-handled:{g}" for g in ANSWER_GROUNDS[AnswerKind.NOT_HANDLED]),
    "other": (ABANDONED_ROW, FEE_ROW, "other-other"),
}
OUTCOME_ROWS = ("disclosed", "partly-disclosed", "not-disclosed", "cannot-provide", "not-handled", "other")


def outcome_row(kind: AnswerKind | None, ground: str | None, *, abandoned: bool = False) -> str:
    """D8: the one row of table 三 a concluded request is counted in.

    Readings of the template: an answer that the information is already public tells the
    applicant how to obtain it, so it is counted as 予以公开; "not this organ's information"
    (art. 36 (五)) is counted as 本机关不掌握相关政府信息; an abandoned request (art. 30) is
    其他处理 1.
    """
    if abandoned:
        return ABANDONED_ROW
    match kind:
        case AnswerKind.DISCLOSED | AnswerKind.ALREADY_PUBLIC:
            return "disclosed"
        case AnswerKind.PARTLY_DISCLOSED:
            return "partly-disclosed"
        case AnswerKind.NOT_THIS_ORGAN:
            return "cannot-provide:not-held"
        case AnswerKind.OTHER:
            return "other-other"
        case AnswerKind.NOT_DISCLOSED | AnswerKind.CANNOT_PROVIDE | AnswerKind.NOT_HANDLED:
            return f"{kind}:{ground}"
    raise ValueError(f"no table 三 row for {kind!r}")


@dataclass(frozen=True)
class CountedRequest:
    """What table 三 reads of one request: who applied, when received, when and how it ended."""

    request_id: str
    applicant_type: ApplicantType
    received_on: date
    concluded_on: date | None
    row: str | None


@dataclass(frozen=True)
class AnnualTable:
    """D8 table 三: ``cells[row][column]`` for every row of ``ANNUAL_ROWS`` and every applicant
    type plus ``total``; ``counted`` tells, per request, the outcome row it was counted in."""

    year: int
    cells: dict[str, dict[str, int]]
    counted: dict[str, str]


COLUMNS = (*(t.value for t in ApplicantType), "total")


def annual_table(year: int, requests: Iterable[CountedRequest]) -> AnnualTable:
    """D8: new this year (received in ``year``), carried over (received before, not concluded
    before 1 January), the year's outcomes (concluded in ``year``, each in one row), carried
    forward (received by 31 December, not concluded by then). Cross-checked before it is returned:
    headings are the sum of their rows, the total the sum of the outcomes, and new + carried over
    = total + carried forward, in every column."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    cells = {key: dict.fromkeys(COLUMNS, 0) for key, _ in ANNUAL_ROWS}
    counted: dict[str, str] = {}

    def add(row: str, column: str) -> None:
        cells[row][column] += 1
        cells[row]["total"] += 1

    for r in requests:
        if r.received_on > last:
            continue
        if r.concluded_on is not None and r.concluded_on < first:
            continue
        column = r.applicant_type.value
        add("new" if r.received_on >= first else "carried-over", column)
        if r.concluded_on is not None and r.concluded_on <= last:
            assert r.row is not None
            add(r.row, column)
            counted[r.request_id] = r.row
        else:
            add("carried-forward", column)
            counted[r.request_id] = "carried-forward"
    for heading, rows in _HEADINGS.items():
        for column in COLUMNS:
            cells[heading][column] = sum(cells[row][column] for row in rows)
    for column in COLUMNS:
        cells["total"][column] = sum(cells[row][column] for row in OUTCOME_ROWS)
    check_annual_table(cells)
    return AnnualTable(year, cells, counted)


class AnnualTableInconsistent(Exception):
    """Table 三 does not add up: a bug, never shown as a report."""


def check_annual_table(cells: dict[str, dict[str, int]]) -> None:
    """D8 cross-checks: rows add up under their headings, columns add up to the total column,
    and every request received is either concluded in the year or carried forward."""
    for row, values in cells.items():
        if sum(values[c] for c in COLUMNS if c != "total") != values["total"]:
            raise AnnualTableInconsistent(f"row {row}: columns do not add up to the total")
    for column in COLUMNS:
        for heading, rows in _HEADINGS.items():
            if cells[heading][column] != sum(cells[r][column] for r in rows):
                raise AnnualTableInconsistent(f"{heading} in {column} is not the sum of its rows")
        came = cells["new"][column] + cells["carried-over"][column]
        went = cells["total"][column] + cells["carried-forward"][column]
        if came != went:
            raise AnnualTableInconsistent(
                f"{column}: new + carried over {came} != total + carried forward {went}"
            )


def annual_report_due(rules: PolicyProfile, year: int) -> date:
    """D8 art. 50: the report on ``year`` is published by 31 January (profile) of the next year."""
    policy = rules.disclosure.requests
    return date(year + 1, policy.annual_report_due_month, policy.annual_report_due_day)


# --- 004 public policy inquiries (政策咨询) -------------------------------------------------------


def inquiry_due(rules: PolicyProfile, received_on: date, calendar: HolidayCalendar) -> Due:
    """004: a policy inquiry is replied to within the profile's limit of the day it was received."""
    try:
        at = deadline(received_on, rules.disclosure.requests.inquiry_reply_within.to_limit(), calendar)
    except CalendarError as exc:
        raise RuleViolation(str(exc), kind="calendar-out-of-range", rule="D7", field="received_at") from exc
    return Due(at, is_provisional(received_on, at, calendar))


def check_reply(status: str, replied_at: datetime, received_at: datetime, now: datetime) -> None:
    """004: one reply per inquiry, not before it was received, not in the future."""
    if status != "open":
        raise Conflict("该咨询已经答复", kind="inquiry-already-replied", rule="D7", field="reply")
    if replied_at > now + CLOCK_SKEW:
        raise RuleViolation("答复时刻晚于当前时刻", kind="reply-in-future", rule="D7", field="replied_at")
    if replied_at < received_at:
        raise RuleViolation(
            "答复时刻早于收到咨询的时刻", kind="reply-before-receipt", rule="D7", field="replied_at"
        )

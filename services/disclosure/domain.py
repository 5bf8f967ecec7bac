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
from shared.deadlines import TimeLimit, deadline, is_past, is_provisional, local, local_date
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

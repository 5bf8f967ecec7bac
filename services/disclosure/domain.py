"""Disclosure rules (政务公开), pure: the catalogue, the publication clock, exemptions and outcomes.

D1 the clock per version, D2 exemptions and who signs them, D3 overdue, D4 catalogue metadata
(document numbers, index numbers, modes), D5 what a public search means. No I/O here: the
service layer feeds dates, reference data and the policy profile in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime
from enum import StrEnum

from shared.calendar import HolidayCalendar
from shared.deadlines import TimeLimit, deadline, is_past, local_date
from shared.reference.models import Department

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


class InvalidDocumentNumber(ValueError):
    """The document number does not follow 前缀〔年份〕序号号."""


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
            f"文号 {text!r} 格式不正确，应为 机关代字〔年份〕序号号，例如 湖政办发〔2018〕12号"
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


def vice_mayor_in_charge(department: Department) -> str:
    """D2: only the vice-mayor in charge of the drafting department (分管市长) may sign an exemption."""
    return department.vice_mayor


def may_sign_exemption(department: Department, leader_code: str | None) -> bool:
    return leader_code is not None and leader_code == vice_mayor_in_charge(department)


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


class InvalidPeriod(ValueError):
    """A statistics period is not ``2018``, ``2018-Q2`` or ``2018-05``."""


_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


@dataclass(frozen=True)
class ReportingPeriod:
    """A year, quarter or month: the versions formed from ``start`` up to, not including, ``end``."""

    label: str
    start: date
    end: date


def parse_period(text: str) -> ReportingPeriod:
    match = _PERIOD.match(text.strip())
    if match is None:
        raise InvalidPeriod(f"期间 {text!r} 格式不正确，应为 2018、2018-Q2 或 2018-05")
    year = int(match["year"])
    # The period ends at the start of the next one and is read in local time: both must be dates.
    if not MINYEAR < year < MAXYEAR:
        raise InvalidPeriod(f"期间 {text!r} 的年份超出范围（{MINYEAR + 1}–{MAXYEAR - 1}）")
    if match["quarter"]:
        first = (int(match["quarter"]) - 1) * 3 + 1
        return ReportingPeriod(text.strip(), date(year, first, 1), _month_after(year, first + 2))
    if match["month"]:
        month = int(match["month"])
        return ReportingPeriod(text.strip(), date(year, month, 1), _month_after(year, month))
    return ReportingPeriod(text.strip(), date(year, 1, 1), date(year + 1, 1, 1))


def _month_after(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


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

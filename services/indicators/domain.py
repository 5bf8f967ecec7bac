"""Pure rules of the indicators service (重要指标"保五争三", DOMAIN.md I1–I5).

- I1 the catalogue: an indicator's definition (attribute, unit, precision, responsible
  departments, grades) is effective-dated, so the list can change without rewriting history.
- I2 the attribute decides the direction of the ranking.
- I3 a release is ranked with competition ranking ("1224") on values rounded to the published
  precision, or carries the rank (and for annual items the grade) the province gave.
- I4 worse than the threshold (or a low grade) obliges the lead department to report.
- I5 misses in consecutive releases (or one annual miss) lead to an interview.

How values are represented (I2): a value is the figure exactly as the province ranks it, in
the indicator's unit, and the direction of the attribute says which end is better:

==============  =========================================================  ===============
attribute       value                                                      better
==============  =========================================================  ===============
yoy_growth      同比增速, % (a fall is negative: -3.2)                       higher
absolute_low    the absolute level, e.g. the NPL ratio 1.23 (%)            lower
yoy_points      同比增加百分点 (a loss of points is negative)                higher
yoy_decline     同比降幅, %: the decline itself, positive when the figure   higher
                fell (PM2.5 40 → 35 is 12.5) and negative when it rose
                (40 → 42 is -5.0)
==============  =========================================================  ===============

So for 同比降幅 a rise is a negative decline and ranks below every fall (and below "no
change", 0) by plain ordering; nobody may enter a rise as a positive magnitude.

No I/O here: the service layer feeds reference data, the catalogue and the policy profile in.
"""

from __future__ import annotations

import calendar as _months
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from shared.policy import IndicatorPolicy
from shared.reference import ATTRIBUTE_LABELS, Attribute, Frequency

FREQUENCY_LABELS: dict[Frequency, str] = {"monthly": "月度", "quarterly": "季度", "annual": "年度"}

HIGHER_IS_BETTER: dict[Attribute, bool] = {
    "yoy_growth": True,
    "absolute_low": False,
    "yoy_points": True,
    # The value is the decline itself (positive = fell), so a larger decline ranks better.
    "yoy_decline": True,
}

MAX_PRECISION = 4


class IndicatorRuleError(ValueError):
    """A request breaks a rule; ``kind`` names it, ``field`` points at the input."""

    def __init__(self, detail: str, *, kind: str, rule: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.kind = kind
        self.rule = rule
        self.field = field


class InvalidInput(IndicatorRuleError):
    """The input itself is wrong (HTTP 422)."""


class Conflict(IndicatorRuleError):
    """The input is well-formed but conflicts with what is recorded (HTTP 409)."""


# --- periods -------------------------------------------------------------------------------

_PERIOD_PATTERNS: tuple[tuple[Frequency, re.Pattern[str]], ...] = (
    ("monthly", re.compile(r"^(?P<year>\d{4})-(?P<index>0[1-9]|1[0-2])$")),
    ("quarterly", re.compile(r"^(?P<year>\d{4})-Q(?P<index>[1-4])$")),
    ("annual", re.compile(r"^(?P<year>\d{4})$")),
)
_PERIOD_EXAMPLES: dict[Frequency, str] = {"monthly": "2018-05", "quarterly": "2018-Q2", "annual": "2018"}


@dataclass(frozen=True)
class ReleasePeriod:
    """A period of a release or bulletin: 2018-05 (monthly), 2018-Q2 (quarterly), 2018 (annual)."""

    frequency: Frequency
    year: int
    index: int
    """Month 1–12, quarter 1–4, or 1 for a year."""

    @classmethod
    def parse(cls, text: str) -> ReleasePeriod:
        for frequency, pattern in _PERIOD_PATTERNS:
            match = pattern.match(text.strip())
            if match is not None:
                year = int(match["year"])
                if not 2000 <= year <= 2100:
                    break
                index = int(match["index"]) if frequency != "annual" else 1
                return cls(frequency, year, index)
        raise InvalidInput(
            f"期别 {text!r} 格式不正确，应为 2018-05（月度）、2018-Q2（季度）或 2018（年度）",
            kind="invalid-period",
            rule="I1",
            field="period",
        )

    def __str__(self) -> str:
        if self.frequency == "monthly":
            return f"{self.year}-{self.index:02d}"
        if self.frequency == "quarterly":
            return f"{self.year}-Q{self.index}"
        return str(self.year)

    @property
    def key(self) -> int:
        """Sorts periods of one frequency in time order (year * 100 + index)."""
        return self.year * 100 + self.index

    @property
    def first_day(self) -> date:
        if self.frequency == "monthly":
            return date(self.year, self.index, 1)
        if self.frequency == "quarterly":
            return date(self.year, 3 * self.index - 2, 1)
        return date(self.year, 1, 1)

    @property
    def last_day(self) -> date:
        if self.frequency == "annual":
            return date(self.year, 12, 31)
        month = self.index if self.frequency == "monthly" else 3 * self.index
        return date(self.year, month, _months.monthrange(self.year, month)[1])

    @property
    def label(self) -> str:
        """How the bulletin names the period: 2018年5月, 2018年第二季度, 2018年度."""
        if self.frequency == "monthly":
            return f"{self.year}年{self.index}月"
        if self.frequency == "quarterly":
            return f"{self.year}年第{'一二三四'[self.index - 1]}季度"
        return f"{self.year}年度"


def period_for(frequency: Frequency, text: str) -> ReleasePeriod:
    """Parse ``text`` as a period of an indicator of ``frequency`` (I1: the period must fit)."""
    period = ReleasePeriod.parse(text)
    if period.frequency != frequency:
        raise InvalidInput(
            f"期别 {text} 是{FREQUENCY_LABELS[period.frequency]}期别，"
            f"而该指标为{FREQUENCY_LABELS[frequency]}指标（例如 {_PERIOD_EXAMPLES[frequency]}）",
            kind="period-frequency-mismatch",
            rule="I1",
            field="period",
        )
    return period


# --- the catalogue (I1) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    """One effective-dated definition of a catalogue indicator.

    The definition in effect on the last day of a period applies to that period's release (a
    cumulative figure is ranked as of its period's end). A definition whose ``effective_to`` is
    before its ``effective_from`` was superseded before it took effect and applies to nothing.
    """

    version: int
    name: str
    attribute: Attribute | None
    unit: str
    precision: int
    departments: tuple[str, ...]
    """Responsible department codes, lead (牵头) first."""
    effective_from: date
    effective_to: date | None = None
    grades: tuple[str, ...] = ()
    """Annual assessments: the grades (等次), best first."""
    low_grades: tuple[str, ...] = ()
    """The grades that count as 等次靠后 (I4, I5): a tail of ``grades``."""

    @property
    def lead_department(self) -> str:
        return self.departments[0]

    @property
    def attribute_label(self) -> str | None:
        return ATTRIBUTE_LABELS[self.attribute] if self.attribute is not None else None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def applies_to(self, period: ReleasePeriod) -> bool:
        return self.covers(period.last_day)


def validate_definition(frequency: Frequency, definition: Definition) -> None:
    """The rules a definition must satisfy whatever the timeline (I1, I2)."""
    if not definition.name.strip():
        raise InvalidInput("指标名称不能为空", kind="invalid-definition", rule="I1", field="name")
    if definition.attribute is None and frequency != "annual":
        raise InvalidInput(
            "月度、季度指标必须有指标属性（同比增速、绝对值低排位、同比增加百分点或同比降幅）",
            kind="attribute-required",
            rule="I2",
            field="attribute",
        )
    if not 0 <= definition.precision <= MAX_PRECISION:
        raise InvalidInput(
            f"发布精度应为 0 到 {MAX_PRECISION} 位小数",
            kind="invalid-definition",
            rule="I3",
            field="precision",
        )
    if not definition.departments:
        raise InvalidInput("至少需要一个责任部门", kind="invalid-definition", rule="I1", field="departments")
    if len(set(definition.departments)) != len(definition.departments):
        raise InvalidInput("责任部门重复", kind="invalid-definition", rule="I1", field="departments")
    if definition.grades and frequency != "annual":
        raise InvalidInput(
            "只有年度考核事项可以设置等次", kind="grades-not-allowed", rule="I4", field="grades"
        )
    if len(set(definition.grades)) != len(definition.grades):
        raise InvalidInput("等次重复", kind="invalid-definition", rule="I4", field="grades")
    if definition.low_grades:
        unknown = [g for g in definition.low_grades if g not in definition.grades]
        if unknown:
            raise InvalidInput(
                f"靠后等次 {'、'.join(unknown)} 不在等次列表中",
                kind="invalid-definition",
                rule="I4",
                field="low_grades",
            )
        tail = definition.grades[len(definition.grades) - len(definition.low_grades) :]
        if set(tail) != set(definition.low_grades):
            raise InvalidInput(
                "靠后等次必须是等次列表末尾的连续若干等次（比靠后等次更差的等次也算靠后）",
                kind="invalid-definition",
                rule="I4",
                field="low_grades",
            )
    if definition.effective_to is not None and definition.effective_to < definition.effective_from:
        raise InvalidInput(
            "失效日期不能早于生效日期", kind="invalid-effective-dates", rule="I1", field="effective_to"
        )


def definition_for(period: ReleasePeriod, definitions: Iterable[Definition]) -> Definition | None:
    """The definition that applies to ``period``, if the indicator is in effect for it."""
    for definition in definitions:
        if definition.applies_to(period):
            return definition
    return None


def succeed(definitions: Sequence[Definition], successor: Definition) -> list[Definition]:
    """The timeline after ``successor`` takes effect: the definitions before it end the day before.

    Only the latest definition can be succeeded (history is never re-cut): the successor must
    not start before the latest definition does. Starting on the same day supersedes it.
    """
    latest = max(definitions, key=lambda d: d.version)
    if successor.effective_from < latest.effective_from:
        raise InvalidInput(
            f"调整的生效日期不能早于当前定义的生效日期 {latest.effective_from.isoformat()}",
            kind="catalogue-change-out-of-order",
            rule="I1",
            field="effective_from",
        )
    day_before = successor.effective_from - timedelta(days=1)
    timeline: list[Definition] = []
    for definition in definitions:
        if definition.effective_to is None or definition.effective_to > day_before:
            definition = replace(definition, effective_to=day_before)
        timeline.append(definition)
    return [*timeline, successor]


def end_latest(definitions: Sequence[Definition], effective_to: date | None) -> list[Definition]:
    """The timeline with the latest definition ending on ``effective_to`` (None: open again)."""
    latest = max(definitions, key=lambda d: d.version)
    if effective_to is not None and effective_to < latest.effective_from:
        raise InvalidInput(
            f"失效日期不能早于当前定义的生效日期 {latest.effective_from.isoformat()}",
            kind="invalid-effective-dates",
            rule="I1",
            field="effective_to",
        )
    return [replace(d, effective_to=effective_to) if d.version == latest.version else d for d in definitions]


def rewritten_periods(
    before: Sequence[Definition], after: Sequence[Definition], periods: Iterable[ReleasePeriod]
) -> list[ReleasePeriod]:
    """The ``periods`` whose applicable definition a catalogue change would alter or remove."""
    changed = []
    for period in periods:
        old, new = definition_for(period, before), definition_for(period, after)
        if (old.version if old else None) != (new.version if new else None):
            changed.append(period)
    return changed


# --- ranking a release (I2, I3) ----------------------------------------------------------------


def published_value(value: Decimal, precision: int) -> Decimal:
    """The value as published: rounded half up (四舍五入) to ``precision`` decimal places."""
    return value.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


def competition_ranks(values: Mapping[str, Decimal], *, higher_is_better: bool) -> dict[str, int]:
    """Standard competition ranking ("1224"): 1 + the number of cities strictly better."""
    sign = 1 if higher_is_better else -1
    return {
        city: 1 + sum(1 for other in values.values() if sign * other > sign * v) for city, v in values.items()
    }


@dataclass(frozen=True)
class CityValue:
    city: str
    value: Decimal


@dataclass(frozen=True)
class ReleaseInput:
    """What the office records for one indicator and period."""

    values: tuple[CityValue, ...] = ()
    rank: int | None = None
    """Our city's rank as given by the province (overrides ranking the values)."""
    grade: str | None = None
    """Annual assessments: our city's grade as given by the province."""
    cities: int | None = None
    """How many cities the given rank is out of (default: all cities of the province)."""


@dataclass(frozen=True)
class CityRank:
    city: str
    value: Decimal
    published_value: Decimal
    rank: int


@dataclass(frozen=True)
class Ranking:
    """Our city's standing in one release, and every city's rank when values were ranked."""

    given: bool
    """Whether the rank or grade was given by the province rather than computed from values."""
    cities: int
    rank: int | None
    grade: str | None
    low_grade: bool
    value: Decimal | None
    """Our city's published value, when known."""
    table: tuple[CityRank, ...]
    """Every city, best first (only when all cities' values were ranked)."""


def rank_release(
    frequency: Frequency,
    definition: Definition,
    release: ReleaseInput,
    *,
    province: Sequence[str],
    our_city: str,
) -> Ranking:
    """Check a release against the rules and rank it (I3).

    Either every city of the ``province`` has a value and the values are ranked, or the
    province's rank (annual items: and/or grade) for our city is given; values then are kept
    for the record, ranked only if complete.
    """
    values = _checked_values(release.values, province)
    if release.grade is not None:
        _check_grade(frequency, definition, release.grade)
    given = release.rank is not None or release.grade is not None
    missing = [c for c in province if c not in values]
    if not given and missing:
        raise InvalidInput(
            f"缺少以下城市的数值：{'、'.join(missing)}；数值不全时须录入省里给定的排名",
            kind="values-incomplete",
            rule="I3",
            field="values",
        )
    if values and definition.attribute is None and not given:
        raise InvalidInput(
            "该考核事项没有指标属性，无法按数值排名；请录入省里给定的排名或等次",
            kind="values-not-rankable",
            rule="I2",
            field="values",
        )
    table: tuple[CityRank, ...] = ()
    if not missing and definition.attribute is not None:
        shown = {c: published_value(v, definition.precision) for c, v in values.items()}
        ranks = competition_ranks(shown, higher_is_better=HIGHER_IS_BETTER[definition.attribute])
        order = {c: i for i, c in enumerate(province)}
        table = tuple(
            sorted(
                (CityRank(c, values[c], shown[c], ranks[c]) for c in values),
                key=lambda r: (r.rank, order[r.city]),
            )
        )
    cities = len(province)
    if release.cities is not None:
        if release.rank is None or table:
            if release.cities != len(province):
                raise InvalidInput(
                    f"按数值排名时参与城市数为全省 {len(province)} 个城市",
                    kind="invalid-city-count",
                    rule="I3",
                    field="cities",
                )
        cities = release.cities
    if release.rank is not None and not 1 <= release.rank <= cities:
        raise InvalidInput(
            f"排名 {release.rank} 超出范围，应在 1 到 {cities} 之间",
            kind="rank-out-of-range",
            rule="I3",
            field="rank",
        )
    # Not given means every city has a value and the attribute ranks them, so ours is in the table.
    computed = next((r.rank for r in table if r.city == our_city), None)
    rank = release.rank if release.rank is not None else computed
    ours = values.get(our_city)
    return Ranking(
        given=given,
        cities=cities,
        rank=rank,
        grade=release.grade,
        low_grade=release.grade is not None and release.grade in definition.low_grades,
        value=published_value(ours, definition.precision) if ours is not None else None,
        table=table,
    )


def _checked_values(entries: Sequence[CityValue], province: Sequence[str]) -> dict[str, Decimal]:
    values: dict[str, Decimal] = {}
    for entry in entries:
        if entry.city not in province:
            raise InvalidInput(f"未知的城市代码 {entry.city}", kind="unknown-city", rule="I3", field="values")
        if entry.city in values:
            raise InvalidInput(
                f"城市 {entry.city} 的数值重复录入", kind="duplicate-city", rule="I3", field="values"
            )
        values[entry.city] = entry.value
    return values


def _check_grade(frequency: Frequency, definition: Definition, grade: str) -> None:
    if frequency != "annual":
        raise InvalidInput("只有年度考核事项有等次", kind="grade-not-allowed", rule="I4", field="grade")
    if grade not in definition.grades:
        scale = "、".join(definition.grades) or "（未设置等次）"
        raise InvalidInput(
            f"等次 {grade} 不在该考核事项的等次中：{scale}", kind="unknown-grade", rule="I4", field="grade"
        )


# --- consequences (I4, I5) -------------------------------------------------------------------

Standing = Literal["top", "kept", "behind", "graded"]

STANDING_LABELS: dict[Standing, str] = {
    "top": "争三达标",
    "kept": "保五达标",
    "behind": "排名靠后",
    "graded": "等次通报",
}


def worse_than_threshold(rank: int | None, low_grade: bool, policy: IndicatorPolicy) -> bool:
    """I4: ranked worse than the threshold (第5位以后), or a low grade (等次靠后)."""
    return low_grade or (rank is not None and rank > policy.report_when_rank_worse_than)


def standing(rank: int | None, low_grade: bool, policy: IndicatorPolicy) -> Standing:
    """The "保五争三" mark a bulletin shows for a release."""
    if worse_than_threshold(rank, low_grade, policy):
        return "behind"
    if rank is None:
        return "graded"
    return "top" if rank <= policy.strive_for_top else "kept"


def rank_change(previous: int | None, current: int | None) -> int | None:
    """Places gained since the previous release (positive = moved up)."""
    if previous is None or current is None:
        return None
    return previous - current


@dataclass(frozen=True)
class PublishedRank:
    """Our city's published standing in one release of an indicator."""

    period: ReleasePeriod
    rank: int | None
    grade: str | None = None
    low_grade: bool = False


@dataclass(frozen=True)
class InterviewDue:
    """I5: the release ``period`` completes a reason to interview the lead department's head."""

    period: ReleasePeriod
    kind: Literal["consecutive", "annual"]
    run: tuple[ReleasePeriod, ...]
    """The releases that led to it, oldest first."""
    reason: str


def report_periods(releases: Iterable[PublishedRank], policy: IndicatorPolicy) -> list[ReleasePeriod]:
    """I4: the releases after which the lead department's head must report."""
    return [r.period for r in releases if worse_than_threshold(r.rank, r.low_grade, policy)]


def interviews_due(
    frequency: Frequency, releases: Iterable[PublishedRank], policy: IndicatorPolicy
) -> list[InterviewDue]:
    """I5: the interviews an indicator's published releases call for.

    Monthly and quarterly: ``interview_after_consecutive_releases`` releases in a row worse than
    the threshold. The run counts releases, so a period the province did not release neither
    breaks nor extends it. No release counts towards two interviews: after one, the count
    starts again (a 4th miss in a row does not call for a second interview; a 6th does).
    Annual assessments: every release worse than the threshold or with a low grade.
    """
    ordered = sorted(releases, key=lambda r: r.period.key)
    threshold = policy.report_when_rank_worse_than
    if frequency == "annual":
        return [
            InterviewDue(r.period, "annual", (r.period,), _annual_reason(r, threshold))
            for r in ordered
            if worse_than_threshold(r.rank, r.low_grade, policy)
        ]
    needed = policy.interview_after_consecutive_releases
    due: list[InterviewDue] = []
    run: list[ReleasePeriod] = []
    for release in ordered:
        if not worse_than_threshold(release.rank, release.low_grade, policy):
            run = []
            continue
        run.append(release.period)
        if len(run) == needed:
            reason = f"{FREQUENCY_LABELS[frequency]}指标连续{needed}次全省排名第{threshold}位以后"
            due.append(InterviewDue(release.period, "consecutive", tuple(run), reason))
            run = []
    return due


def _annual_reason(release: PublishedRank, threshold: int) -> str:
    parts = []
    if release.rank is not None and release.rank > threshold:
        parts.append(f"全省排名第{release.rank}位（第{threshold}位以后）")
    if release.low_grade:
        parts.append(f"等次靠后（{release.grade}）")
    return "年度考核事项" + "，".join(parts)


def report_reason(
    frequency: Frequency, rank: int | None, grade: str | None, low_grade: bool, threshold: int
) -> str:
    """Why a report duty (I4) arose, as the duty and the bulletin say it."""
    parts = []
    if rank is not None and rank > threshold:
        parts.append(f"全省排名第{rank}位（第{threshold}位以后）")
    if low_grade:
        parts.append(f"等次靠后（{grade}）")
    return f"{FREQUENCY_LABELS[frequency]}{'考核事项' if frequency == 'annual' else '指标'}" + "，".join(
        parts
    )

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

No I/O here: the service layer feeds the catalogue, the policy profile and the holiday calendar
in; reference data (cities, departments) is read from ``shared.reference``. A refusal is a
``shared.rules.RuleViolation`` naming its rule (a ``Conflict`` when the state does not allow it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from shared.calendar import CalendarError, HolidayCalendar
from shared.deadlines import deadline, is_provisional
from shared.periods import FREQUENCY_EXAMPLES, FREQUENCY_NAMES, ReportPeriod, parse_period
from shared.policy import IndicatorPolicy, PolicyProfile
from shared.reference import ATTRIBUTE_LABELS, Attribute, Frequency, cities, known_department
from shared.rules import Conflict, Missing, RuleViolation

HIGHER_IS_BETTER: dict[Attribute, bool] = {
    "yoy_growth": True,
    "absolute_low": False,
    "yoy_points": True,
    # The value is the decline itself (positive = fell), so a larger decline ranks better.
    "yoy_decline": True,
}

MAX_PRECISION = 4

RELEASE_YEARS = (2000, 2100)
"""I1: the years a release or a bulletin may name (inclusive)."""


def province() -> tuple[str, ...]:
    """The city codes of the province, the peers of every ranking."""
    return tuple(c.code for c in cities())


# --- periods -------------------------------------------------------------------------------


def parse_release_period(text: str) -> ReportPeriod:
    """A period of a release or bulletin: 2018-05 (monthly), 2018-Q2 (quarterly), 2018 (annual)."""
    return parse_period(text, rule="I1", field="period", years=RELEASE_YEARS, kind="invalid-period")


def period_for(frequency: Frequency, text: str) -> ReportPeriod:
    """Parse ``text`` as a period of an indicator of ``frequency`` (I1: the period must fit)."""
    period = parse_release_period(text)
    if period.frequency != frequency:
        raise RuleViolation(
            f"期别 {text} 是{FREQUENCY_NAMES[period.frequency]}期别，"
            f"而该指标为{FREQUENCY_NAMES[frequency]}指标（例如 {FREQUENCY_EXAMPLES[frequency]}）",
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

    def applies_to(self, period: ReportPeriod) -> bool:
        return self.covers(period.last_day)


def validate_definition(frequency: Frequency, definition: Definition) -> None:
    """The rules a definition must satisfy whatever the timeline (I1, I2)."""
    if not definition.name.strip():
        raise RuleViolation("指标名称不能为空", kind="invalid-definition", rule="I1", field="name")
    if definition.attribute is None and frequency != "annual":
        raise RuleViolation(
            "月度、季度指标必须有指标属性（同比增速、绝对值低排位、同比增加百分点或同比降幅）",
            kind="attribute-required",
            rule="I2",
            field="attribute",
        )
    if not 0 <= definition.precision <= MAX_PRECISION:
        raise RuleViolation(
            f"发布精度应为 0 到 {MAX_PRECISION} 位小数",
            kind="invalid-definition",
            rule="I3",
            field="precision",
        )
    if not definition.departments:
        raise RuleViolation("至少需要一个责任部门", kind="invalid-definition", rule="I1", field="departments")
    if len(set(definition.departments)) != len(definition.departments):
        raise RuleViolation("责任部门重复", kind="invalid-definition", rule="I1", field="departments")
    if definition.grades and frequency != "annual":
        raise RuleViolation(
            "只有年度考核事项可以设置等次", kind="grades-not-allowed", rule="I4", field="grades"
        )
    if len(set(definition.grades)) != len(definition.grades):
        raise RuleViolation("等次重复", kind="invalid-definition", rule="I4", field="grades")
    if definition.low_grades:
        unknown = [g for g in definition.low_grades if g not in definition.grades]
        if unknown:
            raise RuleViolation(
                f"靠后等次 {'、'.join(unknown)} 不在等次列表中",
                kind="invalid-definition",
                rule="I4",
                field="low_grades",
            )
        tail = definition.grades[len(definition.grades) - len(definition.low_grades) :]
        if set(tail) != set(definition.low_grades):
            raise RuleViolation(
                "靠后等次必须是等次列表末尾的连续若干等次（比靠后等次更差的等次也算靠后）",
                kind="invalid-definition",
                rule="I4",
                field="low_grades",
            )
    if definition.effective_to is not None and definition.effective_to < definition.effective_from:
        raise RuleViolation(
            "失效日期不能早于生效日期", kind="invalid-effective-dates", rule="I1", field="effective_to"
        )
    for code in definition.departments:
        known_department(code, field="departments")


def definition_for(period: ReportPeriod, definitions: Iterable[Definition]) -> Definition | None:
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
        raise RuleViolation(
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
        raise RuleViolation(
            f"失效日期不能早于当前定义的生效日期 {latest.effective_from.isoformat()}",
            kind="invalid-effective-dates",
            rule="I1",
            field="effective_to",
        )
    return [replace(d, effective_to=effective_to) if d.version == latest.version else d for d in definitions]


def rewritten_periods(
    before: Sequence[Definition], after: Sequence[Definition], periods: Iterable[ReportPeriod]
) -> list[ReportPeriod]:
    """The ``periods`` whose applicable definition a catalogue change would alter or remove."""
    changed = []
    for period in periods:
        old, new = definition_for(period, before), definition_for(period, after)
        if (old.version if old else None) != (new.version if new else None):
            changed.append(period)
    return changed


def check_published_kept(
    before: Sequence[Definition],
    after: Sequence[Definition],
    published: Iterable[ReportPeriod],
    *,
    field: str,
) -> None:
    """I1: a catalogue change may not alter the definition a published release was ranked under."""
    rewritten = rewritten_periods(before, after, published)
    if rewritten:
        periods = "、".join(str(p) for p in rewritten)
        raise Conflict(
            f"该调整会改变已通报的 {periods} 发布所依据的指标定义；调整须在最后一期已通报发布之后生效",
            kind="published-release-would-change",
            rule="I1",
            field=field,
        )


def adjust(
    frequency: Frequency,
    before: Sequence[Definition],
    changes: Mapping[str, Any],
    *,
    effective_from: date | None,
    effective_to: date | None,
    given: Collection[str],
    note_changed: bool,
) -> tuple[list[Definition], Definition | None]:
    """I1 动态调整: the timeline after an adjustment, and the new definition if it makes one.

    ``changes`` are the definition fields the office gave, ``given`` the names of every field it
    sent (an explicit ``effective_to: null`` re-opens the current definition). Changed fields (or
    only a new note) make a successor from ``effective_from``; ``effective_to`` alone ends the
    current definition.
    """
    if changes or note_changed:
        ends = effective_to if "effective_to" in given else _carried_end(before[-1], effective_from)
        successor = _successor(frequency, before, changes, effective_from, ends)
        return succeed(before, successor), successor
    if "effective_to" in given and "effective_from" not in given:
        return end_latest(before, effective_to), None
    raise RuleViolation(
        "没有要调整的内容：给出要变更的字段及生效日期，或只给出失效日期 effective_to",
        kind="nothing-to-change",
        rule="I1",
    )


def _carried_end(latest: Definition, effective_from: date | None) -> date | None:
    """A successor keeps the current definition's end when that end is still ahead of it."""
    if (
        effective_from is not None
        and latest.effective_to is not None
        and latest.effective_to >= effective_from
    ):
        return latest.effective_to
    return None


def _successor(
    frequency: Frequency,
    before: Sequence[Definition],
    changes: Mapping[str, Any],
    effective_from: date | None,
    effective_to: date | None,
) -> Definition:
    if effective_from is None:
        raise RuleViolation(
            "调整指标定义须给出生效日期 effective_from",
            kind="effective-from-required",
            rule="I1",
            field="effective_from",
        )
    fields = dict(changes)
    for key in ("name", "unit", "precision", "departments"):
        if key in fields and fields[key] is None:
            raise RuleViolation(f"{key} 不能为空", kind="invalid-definition", rule="I1", field=key)
    for key in ("departments", "grades", "low_grades"):
        if key in fields:
            fields[key] = tuple(fields[key] or ())
    successor = replace(
        before[-1],
        version=max(b.version for b in before) + 1,
        effective_from=effective_from,
        effective_to=effective_to,
        **fields,
    )
    validate_definition(frequency, successor)
    return successor


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

    def to_json(self) -> dict[str, Any]:
        """As a revision stores it; values as strings, so a correction compares them as entered."""
        return {
            "values": [{"city": v.city, "value": str(v.value)} for v in self.values],
            "rank": self.rank,
            "grade": self.grade,
            "cities": self.cities,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReleaseInput:
        return cls(
            values=tuple(CityValue(v["city"], Decimal(v["value"])) for v in data["values"]),
            rank=data["rank"],
            grade=data["grade"],
            cities=data["cities"],
        )


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
    complete = _check_rankable(values, definition, province, given=given)
    table: tuple[CityRank, ...] = ()
    if complete and definition.attribute is not None:
        better = HIGHER_IS_BETTER[definition.attribute]
        table = _ranked(values, definition.precision, province, higher_is_better=better)
    cities = _city_count(release, province, ranked=bool(table))
    if release.rank is not None and not 1 <= release.rank <= cities:
        raise RuleViolation(
            f"排名 {release.rank} 超出范围，应在 1 到 {cities} 之间",
            kind="rank-out-of-range",
            rule="I3",
            field="rank",
        )
    # Not given means every city has a value and the attribute ranks them, so ours is in the table.
    computed = next((r.rank for r in table if r.city == our_city), None)
    ours = values.get(our_city)
    return Ranking(
        given=given,
        cities=cities,
        rank=release.rank if release.rank is not None else computed,
        grade=release.grade,
        low_grade=release.grade is not None and release.grade in definition.low_grades,
        value=published_value(ours, definition.precision) if ours is not None else None,
        table=table,
    )


def _check_rankable(
    values: Mapping[str, Decimal], definition: Definition, province: Sequence[str], *, given: bool
) -> bool:
    """Whether every city has a value; without a given rank they all must, and must be rankable."""
    missing = [c for c in province if c not in values]
    if not given and missing:
        raise RuleViolation(
            f"缺少以下城市的数值：{'、'.join(missing)}；数值不全时须录入省里给定的排名",
            kind="values-incomplete",
            rule="I3",
            field="values",
        )
    if values and definition.attribute is None and not given:
        raise RuleViolation(
            "该考核事项没有指标属性，无法按数值排名；请录入省里给定的排名或等次",
            kind="values-not-rankable",
            rule="I2",
            field="values",
        )
    return not missing


def _ranked(
    values: Mapping[str, Decimal], precision: int, province: Sequence[str], *, higher_is_better: bool
) -> tuple[CityRank, ...]:
    """Every city ranked on its published value, best first; ties in the province's order."""
    shown = {c: published_value(v, precision) for c, v in values.items()}
    ranks = competition_ranks(shown, higher_is_better=higher_is_better)
    order = {c: i for i, c in enumerate(province)}
    return tuple(
        sorted(
            (CityRank(c, values[c], shown[c], ranks[c]) for c in values),
            key=lambda r: (r.rank, order[r.city]),
        )
    )


def _city_count(release: ReleaseInput, province: Sequence[str], *, ranked: bool) -> int:
    """How many cities the rank is out of: the whole province when values are ranked."""
    if release.cities is None:
        return len(province)
    if (release.rank is None or ranked) and release.cities != len(province):
        raise RuleViolation(
            f"按数值排名时参与城市数为全省 {len(province)} 个城市",
            kind="invalid-city-count",
            rule="I3",
            field="cities",
        )
    return release.cities


def applicable_definition(period: ReportPeriod, definitions: Iterable[Definition]) -> Definition:
    """I1: the definition a release of ``period`` is ranked under; refused when none applies."""
    definition = definition_for(period, definitions)
    if definition is None:
        raise RuleViolation(
            f"该指标在 {period} 不在目录有效期内（目录按期末日适用的定义排名）",
            kind="indicator-not-in-effect",
            rule="I1",
            field="period",
        )
    return definition


def release_exists(code: str, period: ReportPeriod) -> Conflict:
    """I3: a period is recorded once; what changes later is a correction (a new revision)."""
    return Conflict(
        f"指标 {code} 的 {period} 发布已录入；如需更正请提交更正（corrections），历史版本将保留",
        kind="release-exists",
        rule="I3",
        field="period",
    )


def check_correction(
    correction: ReleaseInput, source: str | None, current: ReleaseInput, current_source: str | None
) -> None:
    """I3: a correction changes the input or its source; one that changes nothing is refused."""
    if correction.to_json() == current.to_json() and source in (None, current_source):
        raise RuleViolation("更正内容与当前版本相同", kind="correction-unchanged", rule="I3", field="values")


def rerank(
    frequency: Frequency,
    period: ReportPeriod,
    before: Sequence[Definition],
    after: Sequence[Definition],
    release: ReleaseInput,
    *,
    province: Sequence[str],
    our_city: str,
) -> tuple[Definition, Ranking] | None:
    """I1: an unpublished release ranked again after a catalogue change, under the definition now
    applying; None when the change leaves its definition as it was.

    A release the catalogue no longer covers, or whose input the new definition refuses (e.g. a
    grade no longer on the scale), makes the catalogue change a conflict: it is refused whole.
    """
    new, old = definition_for(period, after), definition_for(period, before)
    if (new.version if new else None) == (old.version if old else None):
        return None
    if new is None:
        raise Conflict(
            f"{period} 的发布已录入，调整后该期不在目录有效期内",
            kind="recorded-release-not-covered",
            rule="I1",
        )
    try:
        return new, rank_release(frequency, new, release, province=province, our_city=our_city)
    except RuleViolation as exc:
        raise Conflict(
            f"{period} 的已录入发布不符合调整后的定义：{exc.detail}", kind=exc.kind, rule=exc.rule
        ) from exc


def _checked_values(entries: Sequence[CityValue], province: Sequence[str]) -> dict[str, Decimal]:
    values: dict[str, Decimal] = {}
    for entry in entries:
        if entry.city not in province:
            raise RuleViolation(
                f"未知的城市代码 {entry.city}", kind="unknown-city", rule="I3", field="values"
            )
        if entry.city in values:
            raise RuleViolation(
                f"城市 {entry.city} 的数值重复录入", kind="duplicate-city", rule="I3", field="values"
            )
        values[entry.city] = entry.value
    return values


def _check_grade(frequency: Frequency, definition: Definition, grade: str) -> None:
    if frequency != "annual":
        raise RuleViolation("只有年度考核事项有等次", kind="grade-not-allowed", rule="I4", field="grade")
    if grade not in definition.grades:
        scale = "、".join(definition.grades) or "（未设置等次）"
        raise RuleViolation(
            f"等次 {grade} 不在该考核事项的等次中：{scale}", kind="unknown-grade", rule="I4", field="grade"
        )


# --- publishing a bulletin (I3) ----------------------------------------------------------------


def check_issued_on(issued_on: date, today: date, period: ReportPeriod) -> None:
    """I3: a bulletin is dated within its period or after it, and never in the future."""
    if issued_on > today:
        raise RuleViolation("通报日期不能晚于今天", kind="issued-in-future", rule="I3", field="issued_on")
    if issued_on < period.first_day:
        raise RuleViolation(
            f"通报日期不能早于期别 {period} 的第一天",
            kind="issued-before-period",
            rule="I3",
            field="issued_on",
        )


def new_in_edition(
    period: ReportPeriod,
    current: Mapping[str, int],
    published: Mapping[str, int],
    last_edition: int,
    *,
    draft: bool,
) -> set[str]:
    """I3: the indicators whose release an edition of ``period`` publishes anew.

    ``current`` is each recorded release's current revision, ``published`` the revision the last
    edition (number ``last_edition``, 0 if none) carried. An edition needs a release, and a new
    edition needs one recorded or corrected since the last; a draft (preview) only the first.
    """
    if not current:
        if draft:
            raise Missing(f"{period} 尚无任何指标发布", kind="nothing-to-publish", rule="I3")
        raise Conflict(f"{period} 尚无任何指标发布，无法通报", kind="nothing-to-publish", rule="I3")
    changed = {code for code, revision in current.items() if published.get(code) != revision}
    if not changed and not draft:
        raise Conflict(
            f"{period} 的通报（第 {last_edition} 版）之后没有新的发布或更正",
            kind="bulletin-unchanged",
            rule="I3",
        )
    return changed


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

    period: ReportPeriod
    rank: int | None
    grade: str | None = None
    low_grade: bool = False


@dataclass(frozen=True)
class InterviewDue:
    """I5: the release ``period`` completes a reason to interview the lead department's head."""

    period: ReportPeriod
    kind: Literal["consecutive", "annual"]
    run: tuple[ReportPeriod, ...]
    """The releases that led to it, oldest first."""
    reason: str


def report_periods(releases: Iterable[PublishedRank], policy: IndicatorPolicy) -> list[ReportPeriod]:
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
    run: list[ReportPeriod] = []
    for release in ordered:
        if not worse_than_threshold(release.rank, release.low_grade, policy):
            run = []
            continue
        run.append(release.period)
        if len(run) == needed:
            reason = f"{FREQUENCY_NAMES[frequency]}指标连续{needed}次全省排名第{threshold}位以后"
            due.append(InterviewDue(release.period, "consecutive", tuple(run), reason))
            run = []
    return due


def _misses(rank: int | None, grade: str | None, low_grade: bool, threshold: int) -> str:
    parts = []
    if rank is not None and rank > threshold:
        parts.append(f"全省排名第{rank}位（第{threshold}位以后）")
    if low_grade:
        parts.append(f"等次靠后（{grade}）")
    return "，".join(parts)


def _annual_reason(release: PublishedRank, threshold: int) -> str:
    return "年度考核事项" + _misses(release.rank, release.grade, release.low_grade, threshold)


def report_reason(
    frequency: Frequency, rank: int | None, grade: str | None, low_grade: bool, threshold: int
) -> str:
    """Why a report duty (I4) arose, as the duty and the bulletin say it."""
    item = "考核事项" if frequency == "annual" else "指标"
    return f"{FREQUENCY_NAMES[frequency]}{item}" + _misses(rank, grade, low_grade, threshold)


@dataclass(frozen=True)
class Due:
    """When a report owed from a bulletin is due (I4), and whether a provisional year decided it."""

    at: datetime
    provisional: bool


def report_due(issued_on: date, profile: PolicyProfile, calendar: HolidayCalendar) -> Due:
    """I4: the report is due ``report_due`` after the bulletin's date; the same count at publication
    and when a year's holiday table changes (``CalendarError`` outside the calendar's range)."""
    at = deadline(
        issued_on,
        profile.indicators.report_due.to_limit(),
        calendar,
        roll_to_working_day=profile.calendar.civil_code_rollover,
    )
    return Due(at, is_provisional(issued_on, at, calendar))


def report_due_at_publication(issued_on: date, profile: PolicyProfile, calendar: HolidayCalendar) -> Due:
    """I4 when a bulletin is published: a date the calendar cannot count from is refused."""
    try:
        return report_due(issued_on, profile, calendar)
    except CalendarError as exc:
        raise RuleViolation(str(exc), kind="calendar-out-of-range", rule="I4", field="issued_on") from exc


def check_filing(status: str, department: str, filer: str | None, *, admin: bool) -> None:
    """I4: the lead department files its head's report once, unless a correction withdrew the duty."""
    if not admin and filer != department:
        raise RuleViolation(
            f"只有牵头部门 {department} 可以报送该汇报说明", kind="forbidden", rule="I4", status=403
        )
    if status == "withdrawn":
        raise Conflict("该汇报义务已因更正撤销，无需汇报", kind="report-duty-withdrawn", rule="I4")
    if status == "filed":
        raise Conflict("该汇报说明已报送", kind="report-already-filed", rule="I4")

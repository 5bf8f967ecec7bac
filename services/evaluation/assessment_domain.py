"""Assessment schemes (考核, E6): the scheme as validated data and its scoring engine, pure.

A scheme (003 温州 “五型”机关 2013 is the first, ``wenzhou-2013``) is data: a **base** (12 of the
100 points of the annual unit assessment) computed ×``scale`` (10, so on 120), **parts** with
weights (daily 70%, year-end 30%) made of **sections** (责任型 40 …) made of **items** with points
and a kind, the **units** assessed with their class (A: 达标制, B: 量分考核) and group, the class A
pass mark and the prize shares. Every number of the rule is in the scheme, none in this code.

Item kinds (003 四):
- ``deduction``: per event, each reason with its amount (or an amount the assessing unit states),
  capped at the item's points; ``one_per_matter`` allows one deduction per matter, except a reason
  declared ``after`` another, which adds to that one once (督办仍不整改，再扣1分).
- ``nodes``: per missed node, each node with its points and the amount one miss deducts.
- ``checks``: on-site check deductions, each one of ``amounts``, at most ``maximum`` in all.
- ``score``: the assessing unit enters the score (0 … points).
- ``tiers``: the assessing unit enters a measure per unit; closing the item gives the best
  ``share_percent`` of units the first tier's points, and so on (20/50/30% → 5/3/1).
- ``rank``: closing ranks the measures within each group; first gets the points, each place lower
  ``step_percent`` of them less (−3%).
- ``panel``: each panel member enters a score; closing takes the average.

Final = Σ over parts (part total × weight) ÷ scale, rounded as the scheme states. Class A units
pass at ``pass_percent`` of the base; class B units are ranked. Prizes go by share of all assessed
units in order of final score. Ranks are competition ranks (ties share a rank; ``1224``), so a
tie at a boundary (tier, prize) shares the better side. All arithmetic is ``decimal.Decimal``.
"""

from __future__ import annotations

import decimal
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from shared.rules import Conflict, RuleViolation

RULE = "E6"

# --- refusals --------------------------------------------------------------------------------------


class SchemeInvalid(RuleViolation):
    """A scheme document that breaks E6 (parts not summing to the base, weights not 100% …)."""

    kind = "assessment-scheme-invalid"
    rule = RULE


class AssessmentRefused(RuleViolation):
    """A score, deduction or closing the scheme does not allow."""

    kind = "assessment-refused"
    rule = RULE


class SameMatter(Conflict):
    """A second deduction for the same matter under a one-per-matter item (每事项不重复扣分)."""

    kind = "assessment-same-matter"
    rule = RULE


class NotAssessed(RuleViolation):
    kind = "assessment-unit-not-assessed"
    rule = RULE


class ItemClosed(Conflict):
    kind = "assessment-item-closed"
    rule = RULE


class Incomplete(Conflict):
    kind = "assessment-incomplete"
    rule = RULE


# --- the scheme as data ----------------------------------------------------------------------------


def _exact(value: Any) -> Any:
    """YAML and JSON numbers as exact decimals: a float goes through its shortest text (0.5 → "0.5")."""
    if isinstance(value, float):
        return str(value)
    return value


Points = Annotated[Decimal, BeforeValidator(_exact), Field(ge=0, allow_inf_nan=False)]
Percent = Annotated[Decimal, BeforeValidator(_exact), Field(gt=0, le=100, allow_inf_nan=False)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
ItemKind = Literal["score", "deduction", "nodes", "checks", "tiers", "rank", "panel"]
UnitClass = Literal["A", "B"]
RoundingMode = Literal["half-up", "half-even", "down"]

_MODES: dict[RoundingMode, str] = {
    "half-up": decimal.ROUND_HALF_UP,
    "half-even": decimal.ROUND_HALF_EVEN,
    "down": decimal.ROUND_DOWN,
}
HUNDRED = Decimal(100)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _invalid(detail: str, field: str) -> SchemeInvalid:
    return SchemeInvalid(f"考核方案不符合规则：{detail}", field=field)


def _unique(codes: Iterable[str], field: str, noun: str) -> None:
    repeated = [c for c, n in Counter(codes).items() if n > 1]
    if repeated:
        raise _invalid(f"{noun} {repeated[0]} 重复", field)


class Rounding(_Strict):
    """How computed scores (averages, rank steps, the final score) and counts of units are rounded."""

    places: int = Field(ge=0, le=6)
    mode: RoundingMode = "half-up"

    def score(self, value: Decimal) -> Decimal:
        return value.quantize(Decimal(1).scaleb(-self.places), rounding=_MODES[self.mode])

    def count(self, value: Decimal) -> int:
        return int(value.quantize(Decimal(1), rounding=_MODES[self.mode]))


class Assessor(_Strict):
    """An assessing unit (考核单位); a caller acts for it when its token's department is ``code``."""

    code: Code
    name: Text


class Reason(_Strict):
    code: Code
    name: Text
    amount: Points | None = None
    """Points one such event deducts; none: the assessing unit states the amount (at most the item's)."""
    after: Code | None = None
    """An add-on to this other reason for the same matter (经督办仍不整改的，再扣1分)."""


class Node(_Strict):
    code: Code
    name: Text
    points: Points
    per_miss: Points | None = None
    """What one miss deducts (default: all the node's points)."""

    @property
    def miss(self) -> Decimal:
        return self.points if self.per_miss is None else self.per_miss


class Tier(_Strict):
    name: Text
    share_percent: Percent
    points: Points


class FactMapping(_Strict):
    """A department fact of the platform (``GET /departments/{code}/facts``) proposing a deduction:
    under a ``deduction`` item with one of its reasons, under a ``checks`` item without (the
    assessing unit states which of the amounts when it confirms)."""

    fact: Code
    reason: Code | None = None


class Item(_Strict):
    code: Code
    name: Text
    points: Points
    kind: ItemKind
    assessors: tuple[Code, ...] = Field(min_length=1)
    reasons: tuple[Reason, ...] = ()
    one_per_matter: bool = False
    nodes: tuple[Node, ...] = ()
    amounts: tuple[Points, ...] = ()
    maximum: Points | None = None
    tiers: tuple[Tier, ...] = ()
    step_percent: Percent | None = None
    proposed_from: tuple[FactMapping, ...] = ()

    @property
    def computed(self) -> bool:
        """Scored when the assessing unit closes it (tiers, ranks, averages)."""
        return self.kind in ("tiers", "rank", "panel")

    @property
    def deducting(self) -> bool:
        return self.kind in ("deduction", "nodes", "checks")

    @property
    def cap(self) -> Decimal:
        """The most all deductions under the item may take."""
        return self.maximum if self.maximum is not None else self.points

    def reason(self, code: str | None) -> Reason:
        for reason in self.reasons:
            if reason.code == code:
                return reason
        known = "、".join(r.code for r in self.reasons)
        raise AssessmentRefused(f"考核项目 {self.code} 没有扣分情形 {code}（可选：{known}）", field="reason")

    def node(self, code: str | None) -> Node:
        for node in self.nodes:
            if node.code == code:
                return node
        known = "、".join(n.code for n in self.nodes)
        raise AssessmentRefused(f"考核项目 {self.code} 没有节点 {code}（可选：{known}）", field="node")

    def check(self, where: str) -> None:
        """The fields its kind needs, and only those."""
        needs: dict[ItemKind, tuple[str, ...]] = {
            "deduction": ("reasons",),
            "nodes": ("nodes",),
            "checks": ("amounts", "maximum"),
            "tiers": ("tiers",),
            "rank": ("step_percent",),
        }
        for name in ("reasons", "nodes", "amounts", "maximum", "tiers", "step_percent"):
            given = getattr(self, name) not in (None, ())
            needed = name in needs.get(self.kind, ())
            if given != needed:
                verb = "须有" if needed else "不应有"
                raise _invalid(f"{self.kind} 类考核项目 {self.code} {verb} {name}", f"{where}.{name}")
        if self.one_per_matter and self.kind != "deduction":
            raise _invalid(
                f"只有 deduction 类考核项目可以每事项只扣一次（{self.code}）", f"{where}.one_per_matter"
            )
        if self.proposed_from and self.kind not in ("deduction", "checks"):
            raise _invalid(f"只有扣分类考核项目可由平台事件提出扣分（{self.code}）", f"{where}.proposed_from")
        self._check_kind(where)

    def _check_kind(self, where: str) -> None:
        _unique((r.code for r in self.reasons), f"{where}.reasons", "扣分情形")
        _unique((n.code for n in self.nodes), f"{where}.nodes", "节点")
        codes = {r.code for r in self.reasons}
        for i, reason in enumerate(self.reasons):
            if reason.after is not None and (reason.after not in codes or reason.after == reason.code):
                raise _invalid(
                    f"扣分情形 {reason.code} 所加扣的情形 {reason.after} 不存在",
                    f"{where}.reasons[{i}].after",
                )
        for i, mapping in enumerate(self.proposed_from):
            if (mapping.reason is None) != (self.kind == "checks") or (
                mapping.reason is not None and mapping.reason not in codes
            ):
                raise _invalid(
                    f"事件提出的扣分情形 {mapping.reason} 不存在（deduction 类须写明情形，checks 类不写）",
                    f"{where}.proposed_from[{i}].reason",
                )
        if self.nodes and sum((n.points for n in self.nodes), Decimal(0)) != self.points:
            raise _invalid(f"考核项目 {self.code} 各节点分值之和不等于 {self.points}", f"{where}.nodes")
        for i, node in enumerate(self.nodes):
            if node.miss <= 0 or node.miss > node.points:
                raise _invalid(
                    f"节点 {node.code} 每次扣分须大于0且不超过其分值", f"{where}.nodes[{i}].per_miss"
                )
        if self.maximum is not None and self.maximum > self.points:
            raise _invalid(f"考核项目 {self.code} 最多扣分超过其分值", f"{where}.maximum")
        if any(a <= 0 for a in self.amounts):
            raise _invalid(f"考核项目 {self.code} 的扣分档须大于0", f"{where}.amounts")
        if self.tiers:
            if sum((t.share_percent for t in self.tiers), Decimal(0)) != HUNDRED:
                raise _invalid(f"考核项目 {self.code} 各档比例之和不等于100%", f"{where}.tiers")
            if any(t.points > self.points for t in self.tiers):
                raise _invalid(f"考核项目 {self.code} 的档次得分超过其分值", f"{where}.tiers")


class Section(_Strict):
    code: Code
    name: Text
    points: Points
    items: tuple[Item, ...] = Field(min_length=1)


class Part(_Strict):
    code: Code
    name: Text
    weight_percent: Percent
    sections: tuple[Section, ...] = Field(min_length=1)

    @property
    def points(self) -> Decimal:
        return sum((s.points for s in self.sections), Decimal(0))


class Unit(_Strict):
    code: Code
    unit_class: UnitClass = Field(alias="class")
    group: Code


class Prize(_Strict):
    code: Code
    name: Text
    share_percent: Percent


class Scheme(_Strict):
    """One assessment scheme, checked whole when validated (``SchemeInvalid`` names the field)."""

    id: Code
    title: Text
    source: Text
    base: Points = Field(gt=0)
    scale: Points = Field(gt=0)
    rounding: Rounding
    assessors: tuple[Assessor, ...] = Field(min_length=1)
    parts: tuple[Part, ...] = Field(min_length=1)
    pass_percent: Percent
    """Class A units pass when their final score reaches this share of the base (达标制)."""
    prizes: tuple[Prize, ...] = ()
    units: tuple[Unit, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _sums(self) -> Scheme:
        _unique((a.code for a in self.assessors), "assessors", "考核单位")
        _unique((u.code for u in self.units), "units", "被考核单位")
        _unique((p.code for p in self.parts), "parts", "考核部分")
        _unique((s.code for p in self.parts for s in p.sections), "parts", "考核类别")
        _unique((i.code for i in self.items()), "parts", "考核项目")
        if sum((p.weight_percent for p in self.parts), Decimal(0)) != HUNDRED:
            raise _invalid("各考核部分权重之和不等于100%", "parts.weight_percent")
        total = self.base * self.scale
        assessors = {a.code for a in self.assessors}
        for p, part in enumerate(self.parts):
            if part.points != total:
                raise _invalid(
                    f"考核部分 {part.code} 各类别分值之和 {part.points} 不等于基本分×{self.scale} = {total}",
                    f"parts[{p}].sections",
                )
            for s, section in enumerate(part.sections):
                where = f"parts[{p}].sections[{s}]"
                if sum((i.points for i in section.items), Decimal(0)) != section.points:
                    raise _invalid(
                        f"考核类别 {section.code} 各项目分值之和不等于 {section.points}", f"{where}.items"
                    )
                for i, item in enumerate(section.items):
                    item.check(f"{where}.items[{i}]")
                    unknown = [a for a in item.assessors if a not in assessors]
                    if unknown:
                        raise _invalid(f"考核单位 {unknown[0]} 未列入方案", f"{where}.items[{i}].assessors")
        return self

    def items(self) -> Iterable[Item]:
        for part in self.parts:
            for section in part.sections:
                yield from section.items

    def item(self, code: str) -> Item:
        for item in self.items():
            if item.code == code:
                return item
        raise AssessmentRefused(f"考核方案 {self.id} 没有考核项目 {code}", field="item")

    def unit(self, code: str, *, field: str = "unit") -> Unit:
        for unit in self.units:
            if unit.code == code:
                return unit
        raise NotAssessed(f"单位 {code} 不是考核方案 {self.id} 的被考核单位", field=field)

    @property
    def pass_mark(self) -> Decimal:
        return self.base * self.pass_percent / HUNDRED


def parse_scheme(document: Any) -> Scheme:
    """A scheme document validated whole; any fault is a ``SchemeInvalid`` naming its field."""
    try:
        return Scheme.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "scheme"
        raise _invalid(f"字段 {where}: {error['msg']}", where) from exc


# --- marks: what has been recorded --------------------------------------------------------------

MarkKind = Literal["deduction", "score", "measure", "panel"]


@dataclass(frozen=True)
class Mark:
    """One recorded score or deduction for a unit under an item (its source is kept beside it)."""

    unit: str
    item: str
    kind: MarkKind
    amount: Decimal
    reason: str | None = None
    matter: str | None = None
    node: str | None = None
    member: str | None = None


@dataclass(frozen=True)
class Deduction:
    """A deduction as recorded: what was asked, what the item's remaining points allowed."""

    requested: Decimal
    applied: Decimal
    remaining_before: Decimal

    @property
    def capped(self) -> bool:
        return self.applied < self.requested


def _deducted(marks: Iterable[Mark]) -> Decimal:
    return sum((m.amount for m in marks if m.kind == "deduction"), Decimal(0))


def require_assessor(item: Item, department: str | None) -> None:
    """Only the assessing unit named in the item enters or closes it (该项由…负责考核)."""
    if department not in item.assessors:
        raise RuleViolation(
            f"考核项目 {item.code} 由 {'、'.join(item.assessors)} 负责考核",
            rule=RULE,
            kind="assessment-not-assessor",
            field="item",
            status=403,
        )


def deduct(
    item: Item,
    existing: Sequence[Mark],
    *,
    reason: str | None = None,
    matter: str | None = None,
    node: str | None = None,
    amount: Decimal | None = None,
) -> Deduction:
    """One deduction under ``item`` given the unit's ``existing`` marks under it.

    The amount is the reason's (or node's) own, or the stated one where the scheme leaves it to the
    assessing unit; what exceeds the item's remaining points is not taken (扣完该项分值为止).
    """
    if not item.deducting:
        raise AssessmentRefused(f"考核项目 {item.code} 不是扣分项目（{item.kind}）", field="item")
    if item.kind == "deduction":
        requested = _reason_amount(item, existing, reason, matter, amount)
    elif item.kind == "nodes":
        requested = _node_amount(item, existing, node, amount)
    else:
        if amount is None or amount not in item.amounts:
            allowed = "、".join(str(a) for a in item.amounts)
            raise AssessmentRefused(f"考核项目 {item.code} 每个问题扣 {allowed} 分", field="amount")
        requested = amount
    remaining = max(item.cap - _deducted(existing), Decimal(0))
    return Deduction(requested=requested, applied=min(requested, remaining), remaining_before=remaining)


def _reason_amount(
    item: Item, existing: Sequence[Mark], reason: str | None, matter: str | None, amount: Decimal | None
) -> Decimal:
    chosen = item.reason(reason)
    if item.one_per_matter:
        if not matter:
            raise AssessmentRefused(f"考核项目 {item.code} 每事项不重复扣分，须写明事项", field="matter")
        same = [m for m in existing if m.kind == "deduction" and m.matter == matter]
        if chosen.after is None and any(item.reason(m.reason).after is None for m in same):
            raise SameMatter(f"事项 {matter} 已在考核项目 {item.code} 扣分，每事项不重复扣分", field="matter")
        if chosen.after is not None:
            if not any(m.reason == chosen.after for m in same):
                raise AssessmentRefused(
                    f"扣分情形 {chosen.code} 是对同一事项 {chosen.after} 扣分的加扣，该事项尚无此扣分",
                    field="reason",
                )
            if any(m.reason == chosen.code for m in same):
                raise SameMatter(f"事项 {matter} 已加扣过 {chosen.code}", field="matter")
    if chosen.amount is not None:
        if amount is not None and amount != chosen.amount:
            raise AssessmentRefused(f"扣分情形 {chosen.code} 每件扣 {chosen.amount} 分", field="amount")
        return chosen.amount
    if amount is None or amount <= 0 or amount > item.points:
        raise AssessmentRefused(
            f"扣分情形 {chosen.code} 须写明扣分（大于0，至多 {item.points}）", field="amount"
        )
    return amount


def _node_amount(item: Item, existing: Sequence[Mark], node: str | None, amount: Decimal | None) -> Decimal:
    chosen = item.node(node)
    if amount is not None and amount != chosen.miss:
        raise AssessmentRefused(f"节点 {chosen.code} 每次未完成扣 {chosen.miss} 分", field="amount")
    taken = _deducted(m for m in existing if m.node == chosen.code)
    if taken + chosen.miss > chosen.points:
        raise AssessmentRefused(f"节点 {chosen.code} 的 {chosen.points} 分已扣完", field="node")
    return chosen.miss


def check_score(item: Item, kind: MarkKind, amount: Decimal, member: str | None = None) -> None:
    """An entered score, measure or panel score fits the item's kind (and range)."""
    expected: MarkKind | None = {
        "score": "score",
        "tiers": "measure",
        "rank": "measure",
        "panel": "panel",
    }.get(item.kind)  # type: ignore[assignment]
    if expected is None or kind != expected:
        raise AssessmentRefused(f"考核项目 {item.code}（{item.kind}）不接受 {kind} 类录入", field="kind")
    if amount < 0 or (kind != "measure" and amount > item.points):
        raise AssessmentRefused(f"考核项目 {item.code} 的得分须在 0 至 {item.points} 之间", field="amount")
    if kind == "panel" and not member:
        raise AssessmentRefused("评审组打分须写明评审人", field="member")


# --- closing computed items ------------------------------------------------------------------------


def competition_ranks(values: Mapping[str, Decimal]) -> dict[str, int]:
    """Competition ranks of the values, highest first; ties share a rank (1224)."""
    ordered = sorted(values.values(), reverse=True)
    first: dict[Decimal, int] = {}
    for place, value in enumerate(ordered, start=1):
        first.setdefault(value, place)
    return {key: first[value] for key, value in values.items()}


def close_item(scheme: Scheme, item: Item, marks: Sequence[Mark]) -> dict[str, Decimal]:
    """Every assessed unit's score under a computed item, from the marks entered under it."""
    if not item.computed:
        raise AssessmentRefused(f"考核项目 {item.code}（{item.kind}）无需结项计算", field="item")
    by_unit: dict[str, list[Mark]] = defaultdict(list)
    for mark in marks:
        by_unit[mark.unit].append(mark)
    missing = [u.code for u in scheme.units if not by_unit.get(u.code)]
    if missing:
        raise Incomplete(
            f"考核项目 {item.code} 尚有 {len(missing)} 个单位未录入（如 {missing[0]}），不能结项",
            field="units",
        )
    if item.kind == "panel":
        return {u: scheme.rounding.score(_mean([m.amount for m in ms])) for u, ms in by_unit.items()}
    measures = {u: ms[-1].amount for u, ms in by_unit.items()}  # the latest entry counts
    if item.kind == "tiers":
        return tiers(scheme, item, measures)
    return ranked_within_groups(scheme, item, measures)


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / Decimal(len(values))


def tiers(scheme: Scheme, item: Item, measures: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Share tiers: the units ranked by measure fill the tiers by their cumulative share of the
    count of units (rounded as the scheme says); a unit tied at a boundary takes the better tier."""
    ranks = competition_ranks(measures)
    count, cumulative, bounds = Decimal(len(measures)), Decimal(0), []
    for tier in item.tiers:
        cumulative += tier.share_percent
        bounds.append((scheme.rounding.count(count * cumulative / HUNDRED), tier.points))
    return {
        u: next((p for bound, p in bounds if r <= bound), item.tiers[-1].points) for u, r in ranks.items()
    }


def ranked_within_groups(scheme: Scheme, item: Item, measures: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Rank within each unit's group: first gets the points, each place lower ``step_percent`` less."""
    assert item.step_percent is not None
    groups: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for unit in scheme.units:
        groups[unit.group][unit.code] = measures[unit.code]
    scores: dict[str, Decimal] = {}
    for members in groups.values():
        for code, rank in competition_ranks(members).items():
            share = max(HUNDRED - item.step_percent * (rank - 1), Decimal(0))
            scores[code] = scheme.rounding.score(item.points * share / HUNDRED)
    return scores


# --- results ---------------------------------------------------------------------------------------


def item_score(
    item: Item, marks: Sequence[Mark], closed: Mapping[str, Decimal] | None, unit: str
) -> Decimal | None:
    """A unit's score under an item: points less its deductions, its latest entered score, or the
    closed item's computed score; None while not yet scored."""
    if item.deducting:
        return max(item.points - _deducted(marks), Decimal(0))
    if item.computed:
        return None if closed is None else closed.get(unit)
    scores = [m.amount for m in marks if m.kind == "score"]
    return scores[-1] if scores else None


@dataclass(frozen=True)
class UnitResult:
    unit: str
    unit_class: UnitClass
    group: str
    items: dict[str, Decimal | None]
    sections: dict[str, Decimal]
    parts: dict[str, Decimal]
    final: Decimal
    complete: bool
    passed: bool | None = None
    class_rank: int | None = None
    rank: int = 0
    prize: str | None = None


@dataclass(frozen=True)
class Results:
    units: tuple[UnitResult, ...]
    missing: tuple[tuple[str, str], ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.missing


def assess(scheme: Scheme, marks: Sequence[Mark], closures: Mapping[str, Mapping[str, Decimal]]) -> Results:
    """Every assessed unit's results by the scheme's formula, ranks and prizes (E6)."""
    by_key: dict[tuple[str, str], list[Mark]] = defaultdict(list)
    for mark in marks:
        by_key[(mark.unit, mark.item)].append(mark)
    partial, missing = [], []
    for unit in scheme.units:
        items: dict[str, Decimal | None] = {}
        sections: dict[str, Decimal] = {}
        parts: dict[str, Decimal] = {}
        weighted = Decimal(0)
        for part in scheme.parts:
            part_total = Decimal(0)
            for section in part.sections:
                section_total = Decimal(0)
                for item in section.items:
                    score = item_score(
                        item, by_key[(unit.code, item.code)], closures.get(item.code), unit.code
                    )
                    items[item.code] = score
                    if score is None:
                        missing.append((unit.code, item.code))
                    else:
                        section_total += score
                sections[section.code] = section_total
                part_total += section_total
            parts[part.code] = part_total
            weighted += part_total * part.weight_percent / HUNDRED
        final = scheme.rounding.score(weighted / scheme.scale)
        complete = all(v is not None for v in items.values())
        partial.append(
            UnitResult(unit.code, unit.unit_class, unit.group, items, sections, parts, final, complete)
        )
    return Results(units=_standings(scheme, partial), missing=tuple(missing))


def _standings(scheme: Scheme, partial: Sequence[UnitResult]) -> tuple[UnitResult, ...]:
    finals = {r.unit: r.final for r in partial}
    overall = competition_ranks(finals)
    class_b = competition_ranks({r.unit: r.final for r in partial if r.unit_class == "B"})
    count, bound, bounds = Decimal(len(partial)), 0, []
    for prize in scheme.prizes:
        bound += scheme.rounding.count(count * prize.share_percent / HUNDRED)
        bounds.append((bound, prize.code))
    results = []
    for r in partial:
        rank = overall[r.unit]
        results.append(
            UnitResult(
                **{
                    **r.__dict__,
                    "passed": r.final >= scheme.pass_mark if r.unit_class == "A" else None,
                    "class_rank": class_b.get(r.unit),
                    "rank": rank,
                    "prize": next((code for b, code in bounds if rank <= b), None),
                }
            )
        )
    return tuple(sorted(results, key=lambda r: (r.rank, r.unit)))


# --- the schemes shipped with the platform ------------------------------------------------------

SCHEMES_PACKAGE = "shared.policy"
SCHEMES_FOLDER = "schemes"


@functools.cache
def shipped_schemes() -> dict[str, Scheme]:
    """The scheme files of ``shared/policy/schemes``, each validated whole (a bad file stops the
    service when it is built) and named after its file."""
    folder = resources.files(SCHEMES_PACKAGE).joinpath(SCHEMES_FOLDER)
    schemes = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        scheme = parse_scheme(yaml.safe_load(entry.read_text(encoding="utf-8")))
        if scheme.id != entry.name.removesuffix(".yaml"):
            raise _invalid(f"方案文件 {entry.name} 声明的编号是 {scheme.id}", "id")
        schemes[scheme.id] = scheme
    return schemes


def shipped_scheme(name: str) -> Scheme:
    try:
        return shipped_schemes()[name]
    except KeyError:
        known = "、".join(shipped_schemes())
        raise AssessmentRefused(f"没有名为 {name} 的考核方案（可选：{known}）", field="based_on") from None

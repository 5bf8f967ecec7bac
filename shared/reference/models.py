"""Reference data models: departments, leaders, cities, indicators and the evaluation panel.

Each YAML file of this package parses into one ``*File`` model; ``ReferenceData`` joins them and
checks what spans files (codes that must resolve, counts the seeds state).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    model_validator,
)

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=64)]
"""A stable ASCII code: lower case, digits and single hyphens (``fgw``, ``vm-industry``)."""

Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

LeaderRole = Literal["mayor", "vice_mayor", "deputy_secretary_general"]
DepartmentKind = Literal["office", "department", "institution", "vertical"]
Frequency = Literal["monthly", "quarterly", "annual"]
Attribute = Literal["yoy_growth", "absolute_low", "yoy_points", "yoy_decline"]
Rotation = Literal["none", "advisable", "required"]
DistrictKind = Literal["district", "functional_zone"]
RecipientKind = Literal["leadership_body", "county_governments", "departments"]

ATTRIBUTE_LABELS: dict[Attribute, str] = {
    "yoy_growth": "同比增速",
    "absolute_low": "绝对值低排位",
    "yoy_points": "同比增加百分点",
    "yoy_decline": "同比降幅",
}


class Frozen(BaseModel):
    """Immutable, and refuses keys it does not know (a typo in YAML is an error, not a default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Leader(Frozen):
    """A city leader by role: the mayor (市长), a vice-mayor (副市长) or a deputy secretary-general
    (副秘书长). The titles are role placeholders, not persons."""

    code: Code
    title: Text
    role: LeaderRole
    portfolio: Text


class Department(Frozen):
    """A department or office of the city government (部门/单位)."""

    code: Code
    short_name: Text
    name: Text
    kind: DepartmentKind
    evaluable: bool
    """Eligible for the low-efficiency vote (备评部门, 000 附件4 §一)."""
    vice_mayor: Code
    """The vice-mayor in charge (分管市长), a leader code."""
    deputy_secretary_general: Code
    """The deputy secretary-general in charge (分管秘书长), a leader code."""


class City(Frozen):
    """A prefecture-level city of the province, a peer in provincial rankings."""

    code: Code
    name: Text
    short_name: Text
    division_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


class Indicator(Frozen):
    """An indicator of the "保五争三" catalogue (000 附件1)."""

    code: Code
    seq: PositiveInt
    """序号 within its frequency's table in the seed."""
    name: Text
    frequency: Frequency
    attribute: Attribute
    unit: Text
    precision: Annotated[int, Field(ge=0, le=4)] = 1
    """Decimal places of the published (ranked) value."""
    responsible_departments: Annotated[tuple[Code, ...], Field(min_length=1)]
    """Department codes, lead (牵头) first."""

    @property
    def lead_department(self) -> str:
        return self.responsible_departments[0]

    @property
    def attribute_label(self) -> str:
        return ATTRIBUTE_LABELS[self.attribute]

    @property
    def higher_is_better(self) -> bool:
        """Ranking direction (DOMAIN.md I2): only an absolute value ranks lower-is-better."""
        return self.attribute != "absolute_low"

    @model_validator(mode="after")
    def _departments_listed_once(self) -> Indicator:
        _require_unique(self.responsible_departments, f"responsible department of indicator {self.code}")
        return self


class District(Frozen):
    """A district or functional zone of the city proper (市本级)."""

    code: Code
    name: Text
    kind: DistrictKind


class DistrictQuota(Frozen):
    district: Code
    quota: PositiveInt


class PanelCategory(Frozen):
    """One category of evaluators (评定人员, 000 附件4 §三)."""

    code: Code
    seq: PositiveInt
    name: Text
    quota: PositiveInt
    coordinator: Text
    """The body that names the members (统筹单位), as the seed writes it."""
    coordinator_department: Code | None = None
    """The coordinator's department code when it is a city government department."""
    rotation: Rotation
    """Whether members rotate between rounds: 宜轮流安排 (advisable) or 应轮流安排 (required)."""
    composition: Text | None = None
    district_quotas: tuple[DistrictQuota, ...] = ()

    @model_validator(mode="after")
    def _district_quotas_add_up(self) -> PanelCategory:
        if self.district_quotas:
            _require_unique((q.district for q in self.district_quotas), f"district of category {self.code}")
            total = sum(q.quota for q in self.district_quotas)
            if total != self.quota:
                raise ValueError(
                    f"panel category {self.code}: district quotas add up to {total}, "
                    f"not its quota {self.quota}"
                )
        return self


class ConsiderationFactor(Frozen):
    """A consideration factor evaluators may weigh (考量因素, 000 附件4 §四)."""

    code: Code
    seq: PositiveInt
    text: Text


class DesignationRecipient(Frozen):
    """A body a low-efficiency designation is notified to (000 §五, 附件4 §二(三))."""

    code: Code
    name: Text
    kind: RecipientKind


class DepartmentsFile(Frozen):
    city: Code
    expected_evaluable: NonNegativeInt
    leaders: tuple[Leader, ...]
    departments: tuple[Department, ...]


class CitiesFile(Frozen):
    expected_count: PositiveInt
    cities: tuple[City, ...]


class IndicatorsFile(Frozen):
    expected_counts: dict[Frequency, NonNegativeInt]
    annual_assessment_scope: Text
    indicators: tuple[Indicator, ...]


class EvaluationFile(Frozen):
    districts: tuple[District, ...]
    panel_total: PositiveInt
    panel_categories: tuple[PanelCategory, ...]
    consideration_factors: tuple[ConsiderationFactor, ...]
    expected_leadership_bodies: PositiveInt
    designation_recipients: tuple[DesignationRecipient, ...]


class ReferenceData(Frozen):
    """All reference data, checked as a whole."""

    departments: DepartmentsFile
    cities: CitiesFile
    indicators: IndicatorsFile
    evaluation: EvaluationFile

    @model_validator(mode="after")
    def _consistent(self) -> ReferenceData:
        self._check_codes_unique()
        self._check_leaders()
        self._check_departments()
        self._check_cities()
        self._check_indicators()
        self._check_evaluation()
        return self

    def _check_codes_unique(self) -> None:
        d, e = self.departments, self.evaluation
        _require_unique((x.code for x in d.leaders), "leader code")
        _require_unique((x.code for x in d.departments), "department code")
        _require_unique((x.short_name for x in d.departments), "department short name")
        _require_unique((x.code for x in self.cities.cities), "city code")
        _require_unique((x.code for x in self.indicators.indicators), "indicator code")
        _require_unique((x.code for x in e.districts), "district code")
        _require_unique((x.code for x in e.panel_categories), "panel category code")
        _require_unique((x.code for x in e.consideration_factors), "consideration factor code")
        _require_unique((x.code for x in e.designation_recipients), "designation recipient code")

    def _check_leaders(self) -> None:
        mayors = [x.code for x in self.departments.leaders if x.role == "mayor"]
        if len(mayors) != 1:
            raise ValueError(f"exactly one leader must have the role mayor, found {mayors}")
        in_charge = {x.vice_mayor for x in self.departments.departments} | {
            x.deputy_secretary_general for x in self.departments.departments
        }
        idle = [x.code for x in self.departments.leaders if x.role != "mayor" and x.code not in in_charge]
        if idle:
            raise ValueError(f"leaders in charge of no department: {idle}")

    def _check_departments(self) -> None:
        roles = {x.code: x.role for x in self.departments.leaders}
        for dept in self.departments.departments:
            _require_role(roles, dept.vice_mayor, "vice_mayor", f"department {dept.code}")
            _require_role(
                roles, dept.deputy_secretary_general, "deputy_secretary_general", f"department {dept.code}"
            )
        evaluable = sum(1 for x in self.departments.departments if x.evaluable)
        if evaluable != self.departments.expected_evaluable:
            raise ValueError(
                f"{evaluable} departments are marked evaluable, "
                f"expected {self.departments.expected_evaluable}"
            )

    def _check_cities(self) -> None:
        count = len(self.cities.cities)
        if count != self.cities.expected_count:
            raise ValueError(f"{count} cities listed, expected {self.cities.expected_count}")
        codes = {x.code for x in self.cities.cities}
        if self.departments.city not in codes:
            raise ValueError(f"departments belong to unknown city {self.departments.city!r}")

    def _check_indicators(self) -> None:
        departments = {x.code for x in self.departments.departments}
        for ind in self.indicators.indicators:
            unknown = [c for c in ind.responsible_departments if c not in departments]
            if unknown:
                raise ValueError(f"indicator {ind.code}: unknown responsible departments {unknown}")
        for frequency, expected in self.indicators.expected_counts.items():
            seqs = [x.seq for x in self.indicators.indicators if x.frequency == frequency]
            if len(seqs) != expected:
                raise ValueError(f"{len(seqs)} {frequency} indicators listed, expected {expected}")
            if seqs != list(range(1, expected + 1)):
                raise ValueError(
                    f"{frequency} indicators must be numbered 1..{expected} in order, got {seqs}"
                )
        listed = {x.frequency for x in self.indicators.indicators}
        uncounted = listed - self.indicators.expected_counts.keys()
        if uncounted:
            raise ValueError(f"no expected count for indicator frequencies {sorted(uncounted)}")

    def _check_evaluation(self) -> None:
        e = self.evaluation
        departments = {x.code for x in self.departments.departments}
        districts = {x.code for x in e.districts}
        for cat in e.panel_categories:
            if cat.coordinator_department is not None and cat.coordinator_department not in departments:
                raise ValueError(
                    f"panel category {cat.code}: unknown department {cat.coordinator_department!r}"
                )
            unknown = [q.district for q in cat.district_quotas if q.district not in districts]
            if unknown:
                raise ValueError(f"panel category {cat.code}: unknown districts {unknown}")
        total = sum(x.quota for x in e.panel_categories)
        if total != e.panel_total:
            raise ValueError(f"panel category quotas add up to {total}, expected {e.panel_total}")
        _require_sequence((x.seq for x in e.panel_categories), "panel categories")
        _require_sequence((x.seq for x in e.consideration_factors), "consideration factors")
        bodies = sum(1 for x in e.designation_recipients if x.kind == "leadership_body")
        if bodies != e.expected_leadership_bodies:
            raise ValueError(
                f"{bodies} leadership bodies among designation recipients, "
                f"expected {e.expected_leadership_bodies}"
            )


def _require_unique(values: Iterable[str], what: str) -> None:
    duplicates = sorted(v for v, n in Counter(values).items() if n > 1)
    if duplicates:
        raise ValueError(f"duplicate {what}: {duplicates}")


def _require_sequence(values: Iterable[int], what: str) -> None:
    seqs = list(values)
    if seqs != list(range(1, len(seqs) + 1)):
        raise ValueError(f"{what} must be numbered 1..{len(seqs)} in order, got {seqs}")


def _require_role(roles: dict[str, LeaderRole], code: str, role: LeaderRole, owner: str) -> None:
    if code not in roles:
        raise ValueError(f"{owner}: unknown leader {code!r}")
    if roles[code] != role:
        raise ValueError(f"{owner}: leader {code!r} is a {roles[code]}, not a {role}")

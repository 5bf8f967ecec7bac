"""Reference data: departments and leaders, the province's cities, the indicator catalogue and
the evaluation panel, read from the YAML files of this package.

The data is copied from the seed documents (000 湖州 2018 above all) and validated as a whole on
first use; every accessor returns immutable models from one cached load.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, Protocol, TypeVar

import yaml

from shared.reference.models import (
    ATTRIBUTE_LABELS,
    Attribute,
    City,
    ConsiderationFactor,
    Department,
    DepartmentKind,
    DesignationRecipient,
    District,
    DistrictQuota,
    Frequency,
    Indicator,
    Leader,
    LeaderRole,
    PanelCategory,
    ReferenceData,
    Rotation,
)
from shared.rules import RuleViolation

__all__ = [
    "ATTRIBUTE_LABELS",
    "Attribute",
    "City",
    "ConsiderationFactor",
    "Department",
    "DepartmentKind",
    "DesignationRecipient",
    "District",
    "DistrictQuota",
    "Frequency",
    "Indicator",
    "Leader",
    "LeaderRole",
    "PanelCategory",
    "ReferenceData",
    "Rotation",
    "UnknownReference",
    "annual_assessment_scope",
    "cities",
    "city",
    "consideration_factors",
    "department",
    "department_name",
    "departments",
    "designation_recipients",
    "districts",
    "evaluable_departments",
    "indicator",
    "indicators",
    "known_department",
    "known_leader",
    "leader",
    "leader_title",
    "leaders",
    "offices",
    "panel_categories",
    "panel_total",
    "reference_data",
]


class UnknownReference(LookupError):
    """A code that names no entry of the reference data."""

    def __init__(self, kind: str, code: str) -> None:
        self.kind = kind
        self.code = code
        super().__init__(f"unknown {kind} code {code!r}")


@functools.cache
def reference_data() -> ReferenceData:
    """All reference data, loaded and validated once."""
    return ReferenceData.model_validate(
        {
            "departments": _read_yaml("departments.yaml"),
            "cities": _read_yaml("cities.yaml"),
            "indicators": _read_yaml("indicators.yaml"),
            "evaluation": _read_yaml("evaluation.yaml"),
        }
    )


def departments() -> tuple[Department, ...]:
    """Every department and office: the 38 evaluable ones first, in the seed's order."""
    return reference_data().departments.departments


def department(code: str) -> Department:
    return _by_code(departments(), code, "department")


def department_name(code: str) -> str:
    """The department's short name, or the code itself for a code the reference data lacks
    (what a view shows for a record written under older reference data)."""
    try:
        return department(code).short_name
    except UnknownReference:
        return code


def known_department(code: str, *, field: str, status: int = 422) -> Department:
    """The department ``code`` a request names, or a refusal naming ``field``."""
    try:
        return department(code)
    except UnknownReference as exc:
        raise RuleViolation(
            f"未知的部门代码 {code}", kind="unknown-department", field=field, status=status
        ) from exc


def evaluable_departments() -> tuple[Department, ...]:
    """The departments eligible for the low-efficiency vote (备评部门, 000 附件4 §一), in order."""
    return tuple(x for x in departments() if x.evaluable)


def offices() -> tuple[Department, ...]:
    """The office (市政府办公室, ``office``) and the supervision office (市政府督查室, ``supervision``)."""
    return tuple(x for x in departments() if x.kind == "office")


def leaders() -> tuple[Leader, ...]:
    return reference_data().departments.leaders


def leader(code: str) -> Leader:
    return _by_code(leaders(), code, "leader")


def leader_title(code: str) -> str:
    try:
        return leader(code).title
    except UnknownReference:
        return code


def known_leader(code: str, *, field: str) -> Leader:
    """The leader ``code`` a request names, or a refusal naming ``field``."""
    try:
        return leader(code)
    except UnknownReference as exc:
        raise RuleViolation(f"未知的领导代码 {code}", kind="unknown-leader", field=field) from exc


def cities() -> tuple[City, ...]:
    """The cities of the province, in the province's customary order."""
    return reference_data().cities.cities


def city(code: str) -> City:
    return _by_code(cities(), code, "city")


def indicators(frequency: Frequency | None = None) -> tuple[Indicator, ...]:
    """The "保五争三" catalogue (000 附件1), optionally only one frequency, in the seed's order."""
    catalogue = reference_data().indicators.indicators
    if frequency is None:
        return catalogue
    return tuple(x for x in catalogue if x.frequency == frequency)


def indicator(code: str) -> Indicator:
    return _by_code(indicators(), code, "indicator")


def annual_assessment_scope() -> str:
    """附件1 §三: which annual provincial assessments count (the seed lists no single items)."""
    return reference_data().indicators.annual_assessment_scope


def districts() -> tuple[District, ...]:
    """The districts and functional zones the panel's local categories are split among."""
    return reference_data().evaluation.districts


def panel_categories() -> tuple[PanelCategory, ...]:
    """The evaluator categories with their quotas (000 附件4 §三)."""
    return reference_data().evaluation.panel_categories


def panel_total() -> int:
    """The number of evaluators the seed's categories add up to."""
    return reference_data().evaluation.panel_total


def consideration_factors() -> tuple[ConsiderationFactor, ...]:
    """The 8 factors evaluators may weigh (000 附件4 §四)."""
    return reference_data().evaluation.consideration_factors


def designation_recipients() -> tuple[DesignationRecipient, ...]:
    """Who is notified of a low-efficiency designation (000 §五)."""
    return reference_data().evaluation.designation_recipients


class _Coded(Protocol):
    @property
    def code(self) -> str: ...


_T = TypeVar("_T", bound=_Coded)


def _by_code(entries: tuple[_T, ...], code: str, kind: str) -> _T:
    for entry in entries:
        if entry.code == code:
            return entry
    raise UnknownReference(kind, code)


def _read_yaml(filename: str) -> Any:
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    return yaml.safe_load(text)

"""Policy profiles: the parameters of the rules for one city or regulation.

Every number of the rules (DOMAIN.md) is a field of ``PolicyProfile``; code reads it from the
profile, never from a literal. Profiles are the YAML files of this package; ``huzhou-2018`` is
the default and a deployment picks another by setting (``XN_POLICY_PROFILE``).
"""

from __future__ import annotations

import functools
from importlib import resources

import yaml

from shared.policy.models import (
    ApprovalLevel,
    CalendarPolicy,
    CoordinationPolicy,
    DeadlineRule,
    DisclosurePolicy,
    EscalationStep,
    EvaluationPolicy,
    EvaluationSchedule,
    IndicatorPolicy,
    MajorMatterPolicy,
    PolicyProfile,
)

__all__ = [
    "DEFAULT_PROFILE",
    "ApprovalLevel",
    "CalendarPolicy",
    "CoordinationPolicy",
    "DeadlineRule",
    "DisclosurePolicy",
    "EscalationStep",
    "EvaluationPolicy",
    "EvaluationSchedule",
    "IndicatorPolicy",
    "MajorMatterPolicy",
    "PolicyProfile",
    "UnknownProfile",
    "available_profiles",
    "load_profile",
]

DEFAULT_PROFILE = "huzhou-2018"

_SUFFIX = ".yaml"


class UnknownProfile(LookupError):
    """No policy profile has the requested name."""

    def __init__(self, name: str, available: tuple[str, ...]) -> None:
        self.name = name
        self.available = available
        super().__init__(f"unknown policy profile {name!r}; available profiles: {', '.join(available)}")


@functools.cache
def available_profiles() -> tuple[str, ...]:
    """The names of the profiles shipped with this package, sorted."""
    files = resources.files(__name__).iterdir()
    return tuple(
        sorted(f.name.removesuffix(_SUFFIX) for f in files if f.is_file() and f.name.endswith(_SUFFIX))
    )


def load_profile(name: str = DEFAULT_PROFILE) -> PolicyProfile:
    """The validated profile ``name``, loaded once; raises ``UnknownProfile`` naming the available ones."""
    available = available_profiles()
    if name not in available:
        raise UnknownProfile(name, available)
    return _load(name)


@functools.cache
def _load(name: str) -> PolicyProfile:
    text = resources.files(__name__).joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    profile = PolicyProfile.model_validate(yaml.safe_load(text))
    if profile.name != name:
        raise ValueError(f"policy profile file {name}{_SUFFIX} declares the name {profile.name!r}")
    return profile

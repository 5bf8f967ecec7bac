"""Settings of the indicators service beyond the common ones (prefix ``XN_INDICATORS_``)."""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import reference


class IndicatorsSettings(BaseSettings):
    """Which of the province's cities this deployment serves ("our city", DOMAIN.md)."""

    model_config = SettingsConfigDict(env_prefix="XN_INDICATORS_", extra="ignore")

    our_city: str = "huzhou"
    """The city code (shared.reference cities) whose rank bulletins report and duties follow."""

    @field_validator("our_city")
    @classmethod
    def _known_city(cls, value: str) -> str:
        try:
            reference.city(value)
        except reference.UnknownReference as exc:
            known = ", ".join(c.code for c in reference.cities())
            raise ValueError(
                f"XN_INDICATORS_OUR_CITY={value!r} is not a city of the province ({known})"
            ) from exc
        return value

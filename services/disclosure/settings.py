"""Settings of the disclosure service (prefix ``XN_DISCLOSURE_``), beside the common service ones.

The organisation code and the index-number pattern belong to a deployment, not to a policy
profile: two cities may share a profile but never an index-number space.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

ENV_PREFIX = "XN_DISCLOSURE_"


class DisclosureSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    organisation_code: str = Field(
        default="330500000",
        pattern=r"^[0-9A-Za-z-]{1,32}$",
        description="组织机构代码，索引号的前缀（默认 湖州市 330500000）",
    )
    index_number_pattern: str = Field(
        default="{organisation}/{year}-{serial:05d}",
        description="索引号格式；可用 {organisation}、{year}、{serial}",
    )

    access_max_failures: int = Field(
        default=10,
        ge=1,
        description="同一来源地址在时间窗内查询码错误的次数上限，超过后返回 429（申请和政策咨询的查询）",
    )
    access_failure_window_seconds: int = Field(default=900, ge=1, description="查询码错误计数的时间窗（秒）")

    @field_validator("index_number_pattern")
    @classmethod
    def _pattern_names_year_and_serial(cls, value: str) -> str:
        if "{year" not in value or "{serial" not in value:
            raise ValueError("index_number_pattern must contain {year} and {serial}, or numbers repeat")
        try:
            value.format(organisation="330500000", year=2018, serial=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"index_number_pattern {value!r} is not a valid pattern: {exc}") from exc
        return value


def disclosure_settings(settings: ServiceSettings | None) -> DisclosureSettings:
    """The disclosure settings, keeping whatever common service settings were passed in."""
    if isinstance(settings, DisclosureSettings):
        return settings
    if settings is None:
        return DisclosureSettings()
    return DisclosureSettings(**settings.model_dump())

"""The kernel's clock: the one place that reads the wall clock.

Use cases never call ``datetime.now``: they ask the service context (``ctx.now()``, or the
``NowDep`` dependency), whose clock is this wall clock or, outside production, one that started
at ``XN_CLOCK_START`` and runs on (``clock_of``). Tests pass their own clock to
``create_service_app``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from shared.settings import CommonSettings

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def clock_of(common: CommonSettings) -> Clock:
    """The business clock: the wall clock, or one that started at ``XN_CLOCK_START`` and runs on."""
    if common.clock_start is None:
        return utc_now
    offset = common.clock_start - utc_now()
    return lambda: utc_now() + offset

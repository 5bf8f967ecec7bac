"""Instants as the tests write them: Shanghai wall-clock time, and a clock a test moves by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.deadlines import SHANGHAI


def at(text: str) -> datetime:
    """An instant in Asia/Shanghai, e.g. ``at("2018-06-19 23:59:59")``."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@dataclass
class Clock:
    """What a service under test takes for now; the test sets ``now``, time never moves by itself."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

"""Disclosure rules (政务公开), pure: document numbers and the publication clock (D1, D4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from shared.calendar import HolidayCalendar
from shared.deadlines import Period, deadline

# 文号: issuing-organ prefix, 〔year〕, serial number, 号 — e.g. 湖政办发〔2018〕12号.
_DOCUMENT_NUMBER = re.compile(
    r"^(?P<prefix>[\u4e00-\u9fff]{1,12})〔(?P<year>\d{4})〕(?P<serial>[1-9]\d{0,4})号$"
)


class InvalidDocumentNumber(ValueError):
    """The document number does not follow 前缀〔年份〕序号号."""


@dataclass(frozen=True)
class DocumentNumber:
    prefix: str
    year: int
    serial: int

    def __str__(self) -> str:
        return f"{self.prefix}〔{self.year}〕{self.serial}号"


def parse_document_number(text: str) -> DocumentNumber:
    match = _DOCUMENT_NUMBER.match(text.strip())
    if match is None:
        raise InvalidDocumentNumber(
            f"文号 {text!r} 格式不正确，应为 机关代字〔年份〕序号号，例如 湖政办发〔2018〕12号"
        )
    return DocumentNumber(match["prefix"], int(match["year"]), int(match["serial"]))


def publication_deadline(
    formed_on: date, period: Period, calendar: HolidayCalendar, *, roll_to_working_day: bool
) -> datetime:
    """D1: publish within the profile's period of formation or change; 24:00 of the last day."""
    return deadline(formed_on, period, calendar, roll_to_working_day=roll_to_working_day)

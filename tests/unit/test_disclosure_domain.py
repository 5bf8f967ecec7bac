"""Disclosure domain rules that need no I/O."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.disclosure.domain import InvalidDocumentNumber, parse_document_number, publication_deadline
from shared.calendar import default_calendar
from shared.deadlines import Period

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("text", ["湖政办发〔2018〕12号", "永政发〔2018〕1号", "湖政发〔2019〕120号"])
def test_D4_document_numbers_parse(text: str) -> None:
    assert str(parse_document_number(text)) == text


@pytest.mark.parametrize(
    "text", ["湖政办发[2018]12号", "湖政办发〔18〕12号", "〔2018〕12号", "湖政办发〔2018〕0号", "abc"]
)
def test_D4_malformed_document_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidDocumentNumber, match="文号"):
        parse_document_number(text)


def test_D1_ten_days_from_formation_end_at_midnight_of_the_last_day() -> None:
    due = publication_deadline(
        date(2018, 6, 1), Period(10, "calendar"), default_calendar(), roll_to_working_day=True
    )
    # 06-11 is a Monday: 24:00 of 06-11 is 06-12 00:00 in Shanghai.
    assert due == datetime(2018, 6, 12, tzinfo=SHANGHAI)

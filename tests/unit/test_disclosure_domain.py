"""Disclosure domain rules that need no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.disclosure.domain import (
    DisclosureMode,
    ExemptionGround,
    InvalidDocumentNumber,
    IssuingOrgan,
    NumberQuery,
    Outcomes,
    change_deadline,
    format_index_number,
    issuing_organ_of,
    may_sign_exemption,
    parse_document_number,
    parse_number_query,
    publication_deadline,
    published_before_formation,
    published_on_time,
    statistics_period,
)
from services.disclosure.settings import DisclosureSettings
from shared import reference
from shared.calendar import default_calendar
from shared.deadlines import TimeLimit
from shared.rules import RuleViolation

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
        date(2018, 6, 1), TimeLimit(10, "calendar"), default_calendar(), roll_to_working_day=True
    )
    # 06-11 is a Monday: 24:00 of 06-11 is 06-12 00:00 in Shanghai.
    assert due == datetime(2018, 6, 12, tzinfo=SHANGHAI)


def test_D1_the_deadline_boundary_is_midnight_after_the_last_day() -> None:
    due = datetime(2018, 6, 12, tzinfo=SHANGHAI)
    assert published_on_time(due, datetime(2018, 6, 11, 23, 59, 59, tzinfo=SHANGHAI))
    assert not published_on_time(due, datetime(2018, 6, 12, tzinfo=SHANGHAI))
    # The same instant written in UTC is judged the same way.
    assert published_on_time(due, datetime(2018, 6, 11, 15, 59, 59, tzinfo=UTC))


def test_D1_a_change_restarts_the_clock_unless_the_profile_says_otherwise() -> None:
    original = datetime(2018, 6, 12, tzinfo=SHANGHAI)

    def after_change(restarts: bool) -> datetime:
        return change_deadline(
            date(2018, 6, 20),
            original,
            TimeLimit(10, "calendar"),
            default_calendar(),
            restarts_clock=restarts,
            roll_to_working_day=True,
        )

    # 10 days after Wednesday 06-20 is Saturday 06-30; the period ends on Monday 07-02.
    assert after_change(True) == datetime(2018, 7, 3, tzinfo=SHANGHAI)
    assert after_change(False) == original


def test_D1_publication_cannot_precede_the_formation_day_in_shanghai() -> None:
    formed = date(2018, 6, 14)
    assert published_before_formation(formed, datetime(2018, 6, 13, 23, 59, tzinfo=SHANGHAI))
    # 2018-06-13 16:30 UTC is already 06-14 00:30 in Shanghai.
    assert not published_before_formation(formed, datetime(2018, 6, 13, 16, 30, tzinfo=UTC))


def test_D2_only_the_vice_mayor_in_charge_of_the_drafting_department_may_sign() -> None:
    fgw = reference.department("fgw")
    assert fgw.vice_mayor == "vm-executive"
    assert may_sign_exemption(fgw, "vm-executive")
    for other in ("vm-industry", "mayor", "dsg-economy", None, ""):
        assert not may_sign_exemption(fgw, other)


def test_D2_withholding_modes_need_an_exemption_and_proactive_does_not() -> None:
    assert not DisclosureMode.PROACTIVE.needs_exemption
    assert DisclosureMode.ON_REQUEST.needs_exemption and DisclosureMode.WITHHELD.needs_exemption
    assert [g.label for g in ExemptionGround][:3] == ["国家秘密", "商业秘密", "个人隐私"]
    assert len(ExemptionGround) == 7


def test_D4_issuing_organ_follows_the_document_number() -> None:
    assert issuing_organ_of(parse_document_number("湖政办发〔2018〕12号")) is IssuingOrgan.GOVERNMENT_OFFICE
    assert issuing_organ_of(parse_document_number("湖政发〔2018〕7号")) is IssuingOrgan.GOVERNMENT
    assert IssuingOrgan.GOVERNMENT_OFFICE.label == "市政府办公室"


def test_D4_index_numbers_follow_the_deployment_pattern() -> None:
    pattern = DisclosureSettings().index_number_pattern
    assert (
        format_index_number(pattern, organisation="431100000", year=2018, serial=4534)
        == "431100000/2018-04534"
    )


@pytest.mark.parametrize(
    "pattern", ["{organisation}/{serial}", "{organisation}-{year}", "{year}-{nope}{serial}"]
)
def test_D4_an_index_number_pattern_without_year_and_serial_is_refused(pattern: str) -> None:
    with pytest.raises(ValidationError):
        DisclosureSettings(index_number_pattern=pattern)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("湖政办发〔2018〕", NumberQuery("湖政办发", 2018, None)),
        ("湖政办发〔2018〕12号", NumberQuery("湖政办发", 2018, 12)),
        ("湖政办发[2018]12号", NumberQuery("湖政办发", 2018, 12)),
        ("湖政办发（2018）12", NumberQuery("湖政办发", 2018, 12)),
        ("湖政办发 〔2018", NumberQuery("湖政办发", 2018, None)),
        ("〔2018〕7号", NumberQuery(None, 2018, 7)),
        ("营商环境", None),
        ("湖政办发", None),
        ("2018", None),
    ],
)
def test_D5_a_search_for_a_document_number_is_recognised(text: str, expected: NumberQuery | None) -> None:
    assert parse_number_query(text) == expected


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2018", date(2018, 1, 1), date(2019, 1, 1)),
        ("2018-Q2", date(2018, 4, 1), date(2018, 7, 1)),
        ("2018-Q4", date(2018, 10, 1), date(2019, 1, 1)),
        ("2018-05", date(2018, 5, 1), date(2018, 6, 1)),
        ("2018-12", date(2018, 12, 1), date(2019, 1, 1)),
    ],
)
def test_statistics_periods_are_years_quarters_and_months(text: str, start: date, end: date) -> None:
    period = statistics_period(text)
    assert (period.first_day, period.end) == (start, end)


@pytest.mark.parametrize("text", ["2018-Q5", "2018-13", "18", "2018Q2", "2018-5"])
def test_statistics_periods_are_validated(text: str) -> None:
    with pytest.raises(RuleViolation):
        statistics_period(text)


def test_D3_the_on_time_rate_counts_only_versions_whose_outcome_is_known() -> None:
    assert Outcomes(formed=3, open=2, exempt=1).on_time_rate is None
    outcomes = Outcomes(
        formed=7, published_on_time=2, published_late=1, overdue_unpublished=1, exempt=1, open=2
    )
    assert outcomes.on_time_rate == 0.5

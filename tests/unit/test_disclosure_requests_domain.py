"""D7/D8 rules on their own: the answer clock's parts, table 三's rows and its cross-checks."""

from __future__ import annotations

from datetime import date

import pytest

from services.disclosure import domain
from services.disclosure.domain import AnswerKind, ApplicantType, RequestClock
from shared.calendar import default_calendar
from shared.policy import load_profile
from shared.rules import RuleViolation

NATIONAL = load_profile("national-2019")
CAL = default_calendar()


def due_on(clock: RequestClock) -> date:
    return domain.last_day_of(domain.answer_due(NATIONAL, clock, CAL).at)


def test_D7_extension_and_consultation_days_add_to_the_twenty_working_days() -> None:
    # Friday 2018-06-01: 20 working days end on 07-02 (the 端午 holiday 06-18 not counted).
    assert due_on(RequestClock(date(2018, 6, 1))) == date(2018, 7, 2)
    assert due_on(RequestClock(date(2018, 6, 1), extension=20)) == date(2018, 7, 30)
    assert due_on(RequestClock(date(2018, 6, 1), paused=3)) == date(2018, 7, 5)
    # A consultation under way: the deadline assumes the third party's 15 working days.
    assert due_on(RequestClock(date(2018, 6, 1), consulting_since=date(2018, 6, 5))) == date(2018, 7, 23)


def test_D7_consultation_days_not_counted_stop_at_the_third_partys_limit() -> None:
    # From Tuesday 06-05: 06-06, 06-07, 06-08 are 3 working days; a reply after 15 counts 15.
    assert domain.paused_working_days(date(2018, 6, 5), date(2018, 6, 8), NATIONAL, CAL) == 3
    assert domain.paused_working_days(date(2018, 6, 5), date(2018, 8, 31), NATIONAL, CAL) == 15


@pytest.mark.parametrize(
    ("kind", "ground", "row"),
    [
        (AnswerKind.ALREADY_PUBLIC, None, "disclosed"),
        (AnswerKind.DISCLOSED, None, "disclosed"),
        (AnswerKind.PARTLY_DISCLOSED, None, "partly-disclosed"),
        (AnswerKind.NOT_DISCLOSED, "process-information", "not-disclosed:process-information"),
        (AnswerKind.CANNOT_PROVIDE, "needs-production", "cannot-provide:needs-production"),
        (AnswerKind.NOT_HANDLED, "confirmation", "not-handled:confirmation"),
        (AnswerKind.NOT_THIS_ORGAN, None, "cannot-provide:not-held"),
        (AnswerKind.OTHER, None, "other-other"),
    ],
)
def test_D8_each_answer_is_counted_in_one_row_of_table_3(
    kind: AnswerKind, ground: str | None, row: str
) -> None:
    assert domain.outcome_row(kind, ground) == row
    assert row in dict(domain.ANNUAL_ROWS)


def test_D8_a_table_that_does_not_add_up_is_refused() -> None:
    table = domain.annual_table(
        2018,
        [
            domain.CountedRequest(
                "r1", ApplicantType.NATURAL_PERSON, date(2018, 3, 1), date(2018, 3, 5), "disclosed"
            )
        ],
    )
    assert table.cells["total"]["total"] == 1 and table.counted == {"r1": "disclosed"}
    broken = {row: dict(values) for row, values in table.cells.items()}
    broken["disclosed"]["natural-person"] = 2
    with pytest.raises(domain.AnnualTableInconsistent):
        domain.check_annual_table(broken)


def test_D7_still_unclear_after_completion_needs_a_completed_request() -> None:
    with pytest.raises(RuleViolation) as refused:
        domain.check_answer(AnswerKind.CANNOT_PROVIDE, "unclear-after-completion", None, 0, completed=False)
    assert refused.value.kind == "not-completed"
    domain.check_answer(AnswerKind.CANNOT_PROVIDE, "unclear-after-completion", None, 0, completed=True)

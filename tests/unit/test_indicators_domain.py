"""Indicators domain rules that need no I/O: periods, ranking, consequences, catalogue timelines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.indicators.domain import (
    CityValue,
    Definition,
    PublishedRank,
    ReleaseInput,
    competition_ranks,
    definition_for,
    end_latest,
    interviews_due,
    parse_release_period,
    period_for,
    published_value,
    rank_release,
    report_periods,
    rewritten_periods,
    standing,
    succeed,
    validate_definition,
)
from shared import reference
from shared.periods import ReportPeriod
from shared.policy import load_profile
from shared.rules import RuleViolation

POLICY = load_profile().indicators
PROVINCE = tuple(c.code for c in reference.cities())
OTHERS = [c for c in PROVINCE if c != "huzhou"]


def definition(attribute: str | None = "yoy_growth", precision: int = 1, **kw: object) -> Definition:
    values: dict[str, object] = {
        "version": 1,
        "name": "测试指标",
        "attribute": attribute,
        "unit": "%",
        "precision": precision,
        "departments": ("swj",),
        "effective_from": date(2018, 1, 1),
    }
    values.update(kw)
    return Definition(**values)  # type: ignore[arg-type]


def values(ours: str, others: list[str]) -> tuple[CityValue, ...]:
    rest = (CityValue(c, Decimal(v)) for c, v in zip(OTHERS, others, strict=True))
    return (CityValue("huzhou", Decimal(ours)), *rest)


def ranked(attribute: str, ours: str, others: list[str], precision: int = 1) -> int | None:
    return rank_release(
        "monthly",
        definition(attribute, precision),
        ReleaseInput(values=values(ours, others)),
        province=PROVINCE,
        our_city="huzhou",
    ).rank


def monthly(*months: tuple[int, int | None]) -> list[PublishedRank]:
    return [PublishedRank(ReportPeriod(2018, "monthly", m), rank) for m, rank in months]


# --- periods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "frequency", "first", "last"),
    [
        ("2018-05", "monthly", date(2018, 5, 1), date(2018, 5, 31)),
        ("2020-02", "monthly", date(2020, 2, 1), date(2020, 2, 29)),
        ("2018-Q2", "quarterly", date(2018, 4, 1), date(2018, 6, 30)),
        ("2018", "annual", date(2018, 1, 1), date(2018, 12, 31)),
    ],
)
def test_I1_periods_parse_by_frequency(text: str, frequency: str, first: date, last: date) -> None:
    period = parse_release_period(text)
    assert (period.frequency, period.first_day, period.last_day, str(period)) == (
        frequency,
        first,
        last,
        text,
    )


@pytest.mark.parametrize("text", ["2018-5", "2018-13", "2018-Q5", "18", "2018-05-01", "abc", "1999"])
def test_I1_malformed_periods_are_refused(text: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_release_period(text)
    assert caught.value.kind == "invalid-period"


def test_I1_a_period_must_fit_the_indicator_frequency() -> None:
    with pytest.raises(RuleViolation) as caught:
        period_for("monthly", "2018-Q2")
    assert caught.value.kind == "period-frequency-mismatch" and "月度" in caught.value.detail


# --- ranking ----------------------------------------------------------------------------------


def test_I3_competition_ranking_gives_ties_the_same_rank_and_skips_after_them() -> None:
    ranks = competition_ranks(
        {"a": Decimal(9), "b": Decimal(7), "c": Decimal(7), "d": Decimal(5)}, higher_is_better=True
    )
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4}


def test_I3_ties_at_the_fifth_place_keep_both_cities_in_the_top_five() -> None:
    others = ["9.0", "8.0", "7.0", "6.0", "5.0", "4.0", "3.0", "2.0", "1.0", "0.5"]
    assert ranked("yoy_growth", "5.0", others) == 5  # tied with Shaoxing
    assert ranked("yoy_growth", "4.9", ["9.0", "8.0", "7.0", "6.0", "5.0", "5.0", *others[6:]]) == 7


def test_I2_npl_ratio_ranks_lower_values_better() -> None:
    others = ["0.80", "0.95", "1.10", "1.20", "1.30", "1.40", "1.50", "1.60", "2.10", "2.50"]
    assert ranked("absolute_low", "1.25", others, precision=2) == 5
    assert ranked("absolute_low", "0.79", others, precision=2) == 1
    assert ranked("absolute_low", "2.60", others, precision=2) == 11


def test_I2_yoy_decline_ranks_every_rise_below_every_fall() -> None:
    # PM2.5 同比降幅: positive = concentration fell; negative = it rose.
    falls_and_rises = ["12.5", "10.0", "8.0", "3.0", "0.4", "0.0", "-0.5", "-2.0", "-8.0", "-15.0"]
    assert ranked("yoy_decline", "-0.1", falls_and_rises) == 7  # a small rise: below no change (0.0)
    assert ranked("yoy_decline", "0.1", falls_and_rises) == 6  # a small fall beats no change
    assert ranked("yoy_decline", "20.0", falls_and_rises) == 1
    assert ranked("yoy_decline", "-16.0", falls_and_rises) == 11


def test_I3_rounding_half_up_to_the_published_precision_makes_a_tie() -> None:
    assert published_value(Decimal("8.25"), 1) == Decimal("8.3")  # half up, not to even
    assert published_value(Decimal("1.235"), 2) == Decimal("1.24")
    assert published_value(Decimal("-2.25"), 1) == Decimal("-2.3")
    others = ["9.0", "8.6", "8.5", "8.3", "8.2", "7.0", "6.0", "5.0", "4.0", "3.0"]
    # 8.25 is published as 8.3, the same as Jiaxing's 8.3: both 4th. Unrounded it would be 5th.
    assert ranked("yoy_growth", "8.25", others) == 4
    assert ranked("yoy_growth", "8.25", others, precision=2) == 5


def test_I3_release_input_is_checked() -> None:
    d = definition()
    cases: list[tuple[ReleaseInput, str]] = [
        (ReleaseInput(values=values("1", ["1"] * 10)[:10]), "values-incomplete"),
        (ReleaseInput(values=(*values("1", ["1"] * 10), CityValue("ningbo", Decimal(2)))), "duplicate-city"),
        (ReleaseInput(values=(CityValue("suzhou", Decimal(1)),), rank=3), "unknown-city"),
        (ReleaseInput(rank=12), "rank-out-of-range"),
        (ReleaseInput(rank=0), "rank-out-of-range"),
        (ReleaseInput(rank=3, cities=2), "rank-out-of-range"),
        (ReleaseInput(values=values("1", ["1"] * 10), cities=9), "invalid-city-count"),
        (ReleaseInput(grade="优秀", rank=1), "grade-not-allowed"),
        (ReleaseInput(), "values-incomplete"),
    ]
    for release, kind in cases:
        with pytest.raises(RuleViolation) as caught:
            rank_release("monthly", d, release, province=PROVINCE, our_city="huzhou")
        assert caught.value.kind == kind, release


def test_I4_annual_grades_must_be_on_the_scale_and_low_grades_are_marked() -> None:
    d = definition(None, grades=("优秀", "良好", "一般", "较差"), low_grades=("一般", "较差"))
    r = rank_release("annual", d, ReleaseInput(grade="一般"), province=PROVINCE, our_city="huzhou")
    assert r.rank is None and r.low_grade and r.given
    r = rank_release("annual", d, ReleaseInput(grade="良好", rank=4), province=PROVINCE, our_city="huzhou")
    assert r.rank == 4 and not r.low_grade
    with pytest.raises(RuleViolation) as caught:
        rank_release("annual", d, ReleaseInput(grade="合格"), province=PROVINCE, our_city="huzhou")
    assert caught.value.kind == "unknown-grade"
    with pytest.raises(RuleViolation) as caught:
        rank_release(
            "annual", d, ReleaseInput(values=values("1", ["2"] * 10)), province=PROVINCE, our_city="huzhou"
        )
    assert caught.value.kind == "values-not-rankable"


# --- consequences -----------------------------------------------------------------------------


def test_I4_reports_are_owed_for_ranks_worse_than_fifth_or_low_grades() -> None:
    releases = monthly((1, 5), (2, 6), (3, 11), (4, 1))
    assert [str(p) for p in report_periods(releases, POLICY)] == ["2018-02", "2018-03"]
    assert standing(3, False, POLICY) == "top" and standing(4, False, POLICY) == "kept"
    assert standing(5, False, POLICY) == "kept" and standing(6, False, POLICY) == "behind"
    assert standing(None, True, POLICY) == "behind" and standing(None, False, POLICY) == "graded"


def test_I5_three_consecutive_releases_worse_than_fifth_call_for_an_interview() -> None:
    due = interviews_due("monthly", monthly((1, 6), (2, 7), (3, 8)), POLICY)
    assert [(str(d.period), [str(p) for p in d.run]) for d in due] == [
        ("2018-03", ["2018-01", "2018-02", "2018-03"])
    ]
    assert "连续3次" in due[0].reason and "第5位以后" in due[0].reason


def test_I5_a_release_in_the_top_five_breaks_the_run() -> None:
    assert interviews_due("monthly", monthly((1, 6), (2, 7), (3, 5), (4, 8), (5, 9)), POLICY) == []


def test_I5_a_period_not_released_neither_breaks_nor_extends_the_run() -> None:
    # April was not released: March, May and June are three consecutive releases.
    due = interviews_due("monthly", monthly((3, 6), (5, 7), (6, 9)), POLICY)
    assert [(str(d.period), [str(p) for p in d.run]) for d in due] == [
        ("2018-06", ["2018-03", "2018-05", "2018-06"])
    ]
    # ... and the gap does not count as a miss: two misses around it are still only two.
    assert interviews_due("monthly", monthly((3, 6), (5, 7)), POLICY) == []


def test_I5_after_an_interview_the_count_starts_again() -> None:
    due = interviews_due("monthly", monthly(*((m, 8) for m in range(1, 8))), POLICY)
    assert [str(d.period) for d in due] == ["2018-03", "2018-06"]


def test_I5_annual_items_worse_than_fifth_or_graded_low_call_for_an_interview_at_once() -> None:
    years = [
        PublishedRank(ReportPeriod(2016, "annual", 1), 4, "良好", False),
        PublishedRank(ReportPeriod(2017, "annual", 1), 6, "良好", False),
        PublishedRank(ReportPeriod(2018, "annual", 1), None, "较差", True),
    ]
    due = interviews_due("annual", years, POLICY)
    assert [(str(d.period), d.kind) for d in due] == [("2017", "annual"), ("2018", "annual")]
    assert "第6位" in due[0].reason and "等次靠后（较差）" in due[1].reason


# --- catalogue timeline -----------------------------------------------------------------------


def test_I1_a_successor_ends_the_current_definition_the_day_before() -> None:
    v1 = definition()
    v2 = definition(version=2, precision=2, effective_from=date(2019, 1, 1))
    timeline = succeed([v1], v2)
    assert timeline[0].effective_to == date(2018, 12, 31) and timeline[1] == v2
    may = ReportPeriod(2018, "monthly", 12)
    assert definition_for(may, timeline) == timeline[0]
    assert definition_for(ReportPeriod(2019, "monthly", 1), timeline) == v2
    assert rewritten_periods([v1], timeline, [may]) == []
    assert rewritten_periods([v1], timeline, [ReportPeriod(2019, "monthly", 2)]) == [
        ReportPeriod(2019, "monthly", 2)
    ]
    with pytest.raises(RuleViolation):
        succeed(timeline, definition(version=3, effective_from=date(2018, 6, 1)))


def test_I1_the_definition_on_the_last_day_of_a_period_applies() -> None:
    ended = end_latest([definition()], date(2018, 6, 15))
    assert definition_for(ReportPeriod(2018, "monthly", 5), ended) is not None
    assert definition_for(ReportPeriod(2018, "monthly", 6), ended) is None
    assert definition_for(ReportPeriod(2018, "quarterly", 2), ended) is None
    assert rewritten_periods([definition()], ended, [ReportPeriod(2018, "monthly", 6)]) != []


@pytest.mark.parametrize(
    ("frequency", "changes", "kind"),
    [
        ("monthly", {"attribute": None}, "attribute-required"),
        ("monthly", {"grades": ("优秀",)}, "grades-not-allowed"),
        ("annual", {"grades": ("优秀", "良好"), "low_grades": ("优秀",)}, "invalid-definition"),
        ("monthly", {"departments": ("swj", "swj")}, "invalid-definition"),
        ("monthly", {"effective_to": date(2017, 12, 31)}, "invalid-effective-dates"),
    ],
)
def test_I1_definitions_are_validated(frequency: str, changes: dict[str, object], kind: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        validate_definition(frequency, definition(**changes))  # type: ignore[arg-type]
    assert caught.value.kind == kind

"""Assessment schemes (E6): the scheme file's checks and the 003 formula on worked examples.

Every expected number below is computed by hand in the test's docstring from the text of 003
(温州 2013年度“五型”机关创建工作考核办法) as shipped in ``shared/policy/schemes/wenzhou-2013.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest

from services.evaluation import assessment_domain as ad
from services.evaluation.assessment_domain import Mark

D = Decimal
SHIPPED = ad.shipped_scheme("wenzhou-2013")


def document(**changes: Any) -> dict[str, Any]:
    return {**SHIPPED.model_dump(mode="json", by_alias=True), **changes}


def twenty_units() -> ad.Scheme:
    """u01–u10 class B group g1, u11–u16 class B group g2, u17–u20 class A group a."""
    units = [
        {
            "code": f"u{i:02d}",
            "class": "A" if i > 16 else "B",
            "group": "g1" if i <= 10 else "g2" if i <= 16 else "a",
        }
        for i in range(1, 21)
    ]
    return ad.parse_scheme(document(units=units))


def deductions(item: ad.Item, *asks: dict[str, Any], unit: str = "u") -> list[Mark]:
    """Record the asks one after the other as the service does: each judged on those before it."""
    marks: list[Mark] = []
    for ask in asks:
        d = ad.deduct(item, marks, **ask)
        marks.append(
            Mark(
                unit, item.code, "deduction", d.applied, ask.get("reason"), ask.get("matter"), ask.get("node")
            )
        )
    return marks


# --- the scheme file -------------------------------------------------------------------------------


def test_E6_the_003_scheme_ships_with_its_numbers() -> None:
    """003 四/五: base 12 ×10 = 120 per part, daily 70% and year-end 30%, 责任型 40 (5+5+20+5+5),
    the other four 20 each; class A pass at 75% of 12 = 9; prizes 5% and 10%."""
    s = SHIPPED
    assert (s.base, s.scale, s.pass_mark) == (D(12), D(10), D(9))
    assert [(p.code, p.weight_percent, p.points) for p in s.parts] == [
        ("daily", D(70), D(120)),
        ("year-end", D(30), D(120)),
    ]
    assert [(x.code, x.points) for x in s.parts[0].sections] == [
        ("responsibility", D(40)),
        ("service", D(20)),
        ("efficiency", D(20)),
        ("learning", D(20)),
        ("integrity", D(20)),
    ]
    assert [(p.code, p.share_percent) for p in s.prizes] == [("first", D(5)), ("second", D(10))]
    assert s.item("leader-instructions").proposed_from[0].fact == "instruction-overdue"
    assert [(t.share_percent, t.points) for t in s.item("party-building").tiers] == [
        (D(20), D(5)),
        (D(50), D(3)),
        (D(30), D(1)),
    ]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"weight_percent": 60}, "parts.weight_percent", "权重之和不等于100%"),
        ({"sections_points": 30}, "parts[0].sections", "不等于基本分×10 = 120"),
    ],
)
def test_E6_a_scheme_whose_parts_or_weights_do_not_add_up_is_refused(
    change: dict[str, int], field: str, words: str
) -> None:
    doc = document()
    if "weight_percent" in change:
        doc["parts"][0]["weight_percent"] = change["weight_percent"]
    else:
        section = doc["parts"][0]["sections"][3]  # 学习型 20 → 30 with its one item
        section["points"] = section["items"][0]["points"] = change["sections_points"]
    with pytest.raises(ad.SchemeInvalid) as refused:
        ad.parse_scheme(doc)
    assert refused.value.field == field and refused.value.rule == "E6"
    assert words in refused.value.detail


def test_E6_tiers_not_summing_to_100_percent_and_unknown_assessors_are_refused() -> None:
    doc = document()
    doc["parts"][0]["sections"][0]["items"][4]["tiers"][2]["share_percent"] = 20
    with pytest.raises(ad.SchemeInvalid, match="各档比例之和不等于100%"):
        ad.parse_scheme(doc)
    doc = document()
    doc["parts"][0]["sections"][0]["items"][0]["assessors"] = ["nobody"]
    with pytest.raises(ad.SchemeInvalid) as refused:
        ad.parse_scheme(doc)
    assert refused.value.field == "parts[0].sections[0].items[0].assessors"


def test_E6_a_missing_field_is_named() -> None:
    doc = document()
    del doc["base"]
    with pytest.raises(ad.SchemeInvalid) as refused:
        ad.parse_scheme(doc)
    assert refused.value.field == "base"


# --- deductions ------------------------------------------------------------------------------------


def test_E6_leader_instruction_deductions_are_capped_and_one_per_matter() -> None:
    """责任型(1), 5 points, 每事项不重复扣分，扣完该项分值为止:
    m1 feedback missing −1 (4 left); m2 not carried out −2 (2 left); m2 still not fixed after
    supervision, the add-on of 再扣1分 −1 (1 left); m3 criticised asks −3 but only 1 is left, so −1
    is taken and the deduction says it was capped; the item scores 5 − 5 = 0.
    A second deduction for m1 (any reason but the add-on) is refused; the add-on twice is refused;
    the add-on for a matter never deducted as not carried out is refused."""
    item = SHIPPED.item("leader-instructions")
    marks = deductions(
        item,
        {"reason": "feedback-missing", "matter": "m1"},
        {"reason": "not-carried-out", "matter": "m2"},
        {"reason": "not-fixed-after-supervision", "matter": "m2"},
    )
    assert [m.amount for m in marks] == [1, 2, 1]
    last = ad.deduct(item, marks, reason="criticised", matter="m3")
    assert (last.requested, last.applied, last.remaining_before, last.capped) == (D(3), D(1), D(1), True)
    marks.append(Mark("u", item.code, "deduction", last.applied, "criticised", "m3"))
    assert ad.item_score(item, marks, None, "u") == 0
    with pytest.raises(ad.SameMatter) as refused:
        ad.deduct(item, marks, reason="criticised", matter="m1")
    assert (refused.value.status, refused.value.field, refused.value.rule) == (409, "matter", "E6")
    with pytest.raises(ad.SameMatter):
        ad.deduct(item, marks, reason="not-fixed-after-supervision", matter="m2")
    with pytest.raises(ad.AssessmentRefused, match="尚无此扣分"):
        ad.deduct(item, marks, reason="not-fixed-after-supervision", matter="m1")
    with pytest.raises(ad.AssessmentRefused) as no_matter:
        ad.deduct(item, marks, reason="criticised")
    assert no_matter.value.field == "matter"


def test_E6_node_deductions_and_on_site_checks() -> None:
    """责任型(4), 5 points in nodes 1 + 2 + 2: missing the work plan −1 and two of the four quarterly
    evaluations −0.5 each leaves 5 − 2 = 3; a fifth quarterly miss is refused (2 = 4 × 0.5 taken).
    服务型(4) 公共服务查访, 1 or 2 per problem, at most 5: 2 + 2 + 2 asks 6, the third is capped
    at 1, the item scores 0; 3 points per problem is refused."""
    nodes = SHIPPED.item("staff-performance")
    marks = deductions(
        nodes, {"node": "work-plan"}, {"node": "quarterly-evaluation"}, {"node": "quarterly-evaluation"}
    )
    assert ad.item_score(nodes, marks, None, "u") == D(3)
    marks += deductions(nodes, {"node": "quarterly-evaluation"}, {"node": "quarterly-evaluation"})
    with pytest.raises(ad.AssessmentRefused, match="已扣完"):
        ad.deduct(nodes, marks, node="quarterly-evaluation")
    checks = SHIPPED.item("public-service-visits")
    marks = deductions(checks, {"amount": D(2)}, {"amount": D(2)})
    third = ad.deduct(checks, marks, amount=D(2))
    assert (third.applied, third.capped) == (D(1), True)
    assert ad.item_score(checks, [*marks, Mark("u", checks.code, "deduction", third.applied)], None, "u") == 0
    with pytest.raises(ad.AssessmentRefused) as refused:
        ad.deduct(checks, marks, amount=D(3))
    assert refused.value.field == "amount"


# --- computed items --------------------------------------------------------------------------------


def measures(item: str, values: dict[str, Decimal], kind: ad.MarkKind = "measure") -> list[Mark]:
    return [Mark(unit, item, kind, value) for unit, value in values.items()]


def test_E6_share_tiers_20_50_30_with_a_tie_at_the_boundary() -> None:
    """党建责任制, 20 units: the best 20% (4), the next 50% (10, up to the 14th) and the last 30% (6)
    get 5, 3 and 1. Measures 99, 98, …, 80 (u_i has 100 − i) except u05 = 96, tied with u04 at
    rank 4: both are within the first 4, so both get 5 (five 优秀); u06 (rank 6) … u14 get 3;
    u15 … u20 get 1."""
    scheme = twenty_units()
    item = scheme.item("party-building")
    values = {f"u{i:02d}": D(100 - i) for i in range(1, 21)} | {"u05": D(96)}
    scores = ad.close_item(scheme, item, measures(item.code, values))
    assert [scores[f"u{i:02d}"] for i in range(1, 21)] == [5] * 5 + [3] * 9 + [1] * 6


def test_E6_rank_within_group_loses_3_percent_per_place() -> None:
    """廉洁型 20 points, ranked within each group, 第一名得基本分，名次每降一位递减3% (0.6 a place):
    group g1 (u01–u10) with u02 and u03 tied at rank 2: 20, 19.40, 19.40, then u04 is 4th: 20 × 91%
    = 18.20, … u10 10th: 20 × 73% = 14.60; group g2 starts again: u11 20, u16 (6th) 20 × 85% = 17.00;
    group a: u17 20, u20 (4th) 18.20."""
    scheme = twenty_units()
    item = scheme.item("integrity")
    values = {f"u{i:02d}": D(100 - i) for i in range(1, 21)} | {"u03": D(98)}
    scores = ad.close_item(scheme, item, measures(item.code, values))
    expected = {"u01": "20.00", "u02": "19.40", "u03": "19.40", "u04": "18.20", "u10": "14.60"}
    expected |= {"u11": "20.00", "u16": "17.00", "u17": "20.00", "u20": "18.20"}
    assert {u: scores[u] for u in expected} == {u: D(v) for u, v in expected.items()}


def test_E6_panel_average_rounded_as_the_scheme_states() -> None:
    """学习型 20 points, 取平均分: 17 + 18 + 16.5 = 51.5, ÷ 3 = 17.1666…, half-up to 2 places 17.17.
    Closing with a unit not yet scored is refused, naming it."""
    scheme = twenty_units()
    item = scheme.item("innovation-cases")
    panel = [
        Mark("u01", item.code, "panel", D(v), member=m) for m, v in (("a", 17), ("b", 18), ("c", "16.5"))
    ]
    with pytest.raises(ad.Incomplete, match="u02"):
        ad.close_item(scheme, item, panel)
    others = measures(item.code, {f"u{i:02d}": D(15) for i in range(2, 21)}, "panel")
    assert ad.close_item(scheme, item, panel + others)["u01"] == D("17.17")


# --- the whole formula -----------------------------------------------------------------------------

ORDINARY_SCORES = {
    "service-brand": 4,
    "client-evaluation": 4,
    "satisfaction-survey": 4,
    "immediate-handling": 8,
    "e-government": 4,
    "immediate-items": 4,
}
YEAR_END = {"u01": "110", "u04": "102.87", "u11": "114.67", "u19": "60.13", "u20": "60"}


def worked_marks(scheme: ad.Scheme) -> tuple[list[Mark], dict[str, dict[str, Decimal]]]:
    marks: list[Mark] = []
    units = [u.code for u in scheme.units]
    featured = {
        "service-brand": "4.5",
        "client-evaluation": "4",
        "satisfaction-survey": "3.8",
        "immediate-handling": "8.6",
        "e-government": "4",
        "immediate-items": "5",
    }
    for unit in units:
        scores = featured if unit == "u03" else ORDINARY_SCORES
        marks += [Mark(unit, item, "score", D(v)) for item, v in scores.items()]
        year_end = "96" if unit == "u03" else YEAR_END.get(unit, "100")
        marks.append(Mark(unit, "year-end-review", "score", D(year_end)))

    def unit_marks(item: str, asks: Iterable[dict[str, Any]]) -> list[Mark]:
        return [
            Mark("u03", m.item, m.kind, m.amount, m.reason, m.matter, m.node)
            for m in deductions(scheme.item(item), *asks)
        ]

    marks += unit_marks(
        "leader-instructions",
        [
            {"reason": "feedback-missing", "matter": "m1"},
            {"reason": "not-carried-out", "matter": "m2"},
            {"reason": "not-fixed-after-supervision", "matter": "m2"},
            {"reason": "criticised", "matter": "m3"},
        ],
    )
    marks += unit_marks(
        "major-decisions", [{"reason": "implementation-accident", "matter": "d1", "amount": D(2)}]
    )
    marks += unit_marks(
        "staff-performance",
        [{"node": "work-plan"}, {"node": "quarterly-evaluation"}, {"node": "quarterly-evaluation"}],
    )
    marks += unit_marks("public-service-visits", [{"amount": D(2)}, {"amount": D(1)}])
    party = {u: D(100 - int(u[1:])) for u in units} | {"u05": D(96)}
    integrity = {u: D(100 - int(u[1:])) for u in units} | {"u03": D(98)}
    panel = [
        Mark("u03", "innovation-cases", "panel", D(v), member=m)
        for m, v in (("a", 17), ("b", 18), ("c", "16.5"))
    ]
    panel += measures("innovation-cases", {u: D(15) for u in units if u != "u03"}, "panel")
    closures = {
        "party-building": ad.close_item(
            scheme, scheme.item("party-building"), measures("party-building", party)
        ),
        "integrity": ad.close_item(scheme, scheme.item("integrity"), measures("integrity", integrity)),
        "innovation-cases": ad.close_item(scheme, scheme.item("innovation-cases"), panel),
    }
    return marks, closures


def test_E6_final_score_class_A_pass_class_B_rank_and_prizes() -> None:
    """The 003 formula, 20 units (u01–u16 class B, u17–u20 class A; groups as in the rank test).

    Featured unit u03 (daily items):
    - 责任型 40: leader instructions 5 − (1 + 2 + 1 + 1 capped) = 0; major decisions 5 − 2 = 3;
      deputies' proposals 20; staff performance 5 − (1 + 0.5 + 0.5) = 3; party building rank 3 of
      20 → 优秀 5. Section: 0 + 3 + 20 + 3 + 5 = 31.
    - 服务型 20: 4.5 + 4 + 3.8 + (5 − 2 − 1 = 2) = 14.3.   效率型 20: 8.6 + 4 + 5 = 17.6.
    - 学习型: (17 + 18 + 16.5) ÷ 3 = 17.17.   廉洁型: tied 2nd in g1 → 19.40.
    - Daily = 31 + 14.3 + 17.6 + 17.17 + 19.40 = 99.47; year-end 96.
    - Final = (99.47 × 70% + 96 × 30%) × 10% = (69.629 + 28.8) ÷ 10 = 9.8429 → 9.84.

    Every other unit: no deduction (5 + 5 + 20 + 5 = 35, checks 5), scores 4 + 4 + 4 + 8 + 4 + 4 = 28,
    panel 15, so daily = 35 + 5 + 28 + 15 + tier + integrity = 83 + tier + integrity.
    Year-end 100 unless said. Final = (daily × 0.7 + year-end × 0.3) ÷ 10:
    - u01: 83 + 5 + 20 = 108, year-end 110: (75.6 + 33) ÷ 10 = 10.86.
    - u11: 83 + 3 + 20 = 106, year-end 114.67: (74.2 + 34.401) ÷ 10 = 10.8601 → 10.86, tied with u01.
    - u02: 83 + 5 + 19.4 = 107.4: (75.18 + 30) ÷ 10 = 10.518 → 10.52.
    - u04: 83 + 5 + 18.2 = 106.2, year-end 102.87: (74.34 + 30.861) ÷ 10 = 10.5201 → 10.52, tied with u02.
    - u05: 83 + 5 + 17.6 = 105.6: (73.92 + 30) ÷ 10 = 10.392 → 10.39, alone 5th.
    - u19 (class A): 83 + 1 + 18.8 = 102.8, year-end 60.13: (71.96 + 18.039) ÷ 10 = 8.9999 → 9.00.
    - u20 (class A): 83 + 1 + 18.2 = 102.2, year-end 60: (71.54 + 18) ÷ 10 = 8.954 → 8.95.
    - u17: 83 + 1 + 20 = 104: 10.28; u18: 83 + 1 + 19.4 = 103.4: 10.238 → 10.24.

    Prizes of 20 units: first 5% = 1 place, second 10% = 2 more (places up to 3). u01 and u11 share
    rank 1: both first prize. u02 and u04 share rank 3: both second prize. u05 (rank 5): none.
    Class A pass at 75% of 12 = 9: u17, u18 and u19 (9.00 reaches it) pass, u20 (8.95) fails.
    Class B rank of u03: fifteen class B units score more than 9.84 (u01–u16 but u03 are ≥ 10.04),
    so 16th."""
    scheme = twenty_units()
    marks, closures = worked_marks(scheme)
    results = ad.assess(scheme, marks, closures)
    assert results.complete
    by_unit = {r.unit: r for r in results.units}
    u03 = by_unit["u03"]
    assert u03.items["leader-instructions"] == 0 and u03.items["major-decisions"] == 3
    assert u03.items["staff-performance"] == 3 and u03.items["public-service-visits"] == 2
    assert u03.sections == {
        "responsibility": D(31),
        "service": D("14.3"),
        "efficiency": D("17.6"),
        "learning": D("17.17"),
        "integrity": D("19.40"),
        "year-end": D(96),
    }
    assert u03.parts == {"daily": D("99.47"), "year-end": D(96)}
    assert (u03.final, u03.class_rank, u03.passed, u03.prize) == (D("9.84"), 16, None, None)
    finals = {u: by_unit[u].final for u in ("u01", "u11", "u02", "u04", "u05", "u17", "u18", "u19", "u20")}
    assert finals == {
        "u01": D("10.86"),
        "u11": D("10.86"),
        "u02": D("10.52"),
        "u04": D("10.52"),
        "u05": D("10.39"),
        "u17": D("10.28"),
        "u18": D("10.24"),
        "u19": D("9.00"),
        "u20": D("8.95"),
    }
    assert {u: r.prize for u, r in by_unit.items() if r.prize} == {
        "u01": "first",
        "u11": "first",
        "u02": "second",
        "u04": "second",
    }
    assert [by_unit[u].rank for u in ("u01", "u11", "u02", "u04", "u05")] == [1, 1, 3, 3, 5]
    assert {u: by_unit[u].passed for u in ("u17", "u18", "u19", "u20")} == {
        "u17": True,
        "u18": True,
        "u19": True,
        "u20": False,
    }
    assert all(by_unit[f"u{i}"].class_rank is None for i in range(17, 21))


def test_E6_results_are_incomplete_while_an_item_is_unscored() -> None:
    scheme = twenty_units()
    marks, closures = worked_marks(scheme)
    results = ad.assess(
        scheme, [m for m in marks if not (m.unit == "u07" and m.item == "e-government")], closures
    )
    assert results.missing == (("u07", "e-government"),)
    assert not results.complete


def test_E6_a_score_for_a_unit_not_assessed_and_scores_out_of_range_are_refused() -> None:
    with pytest.raises(ad.NotAssessed) as refused:
        SHIPPED.unit("nowhere")
    assert (refused.value.field, refused.value.rule) == ("unit", "E6")
    with pytest.raises(ad.AssessmentRefused, match="0 至 5"):
        ad.check_score(SHIPPED.item("service-brand"), "score", D("5.5"))
    with pytest.raises(ad.AssessmentRefused, match="不接受"):
        ad.check_score(SHIPPED.item("leader-instructions"), "score", D(1))


def test_E6_a_fact_maps_to_a_reason_of_a_deduction_item_and_to_no_reason_of_a_checks_item() -> None:
    doc = document()
    doc["parts"][0]["sections"][0]["items"][0]["proposed_from"] = [{"fact": "instruction-overdue"}]
    with pytest.raises(ad.SchemeInvalid) as refused:
        ad.parse_scheme(doc)
    assert refused.value.field == "parts[0].sections[0].items[0].proposed_from[0].reason"
    doc = document()
    doc["parts"][0]["sections"][1]["items"][3]["proposed_from"] = [
        {"fact": "x", "reason": "feedback-missing"}
    ]
    with pytest.raises(ad.SchemeInvalid):
        ad.parse_scheme(doc)

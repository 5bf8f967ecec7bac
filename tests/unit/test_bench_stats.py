"""The bench's statistics: percentiles, summaries and tables as a reader of ``make bench`` sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.stats import BenchResult, Target, latency_summary, percentile, ratio, render_table, write_result


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_percentile_refuses_an_empty_sample_and_out_of_range_ranks() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_latency_summary_is_in_milliseconds() -> None:
    summary = latency_summary([0.001, 0.002, 0.003])
    assert summary == {"n": 3, "p50_ms": 2.0, "p99_ms": 2.98, "mean_ms": 2.0, "max_ms": 3.0}


def test_ratio_of_a_zero_baseline_is_not_a_number() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 0.0) is None


def test_table_aligns_columns_counting_chinese_characters_as_two() -> None:
    table = render_table(["query", "ms"], [["营商环境", "1.0"], ["first page", "12.5"]])
    lines = table.splitlines()
    assert lines[0].startswith("query")
    # "营商环境" is eight columns wide, like "first pa": the number columns line up.
    assert lines[2] == "营商环境     1.0"
    assert lines[3] == "first page  12.5"


def test_result_file_carries_figures_ratios_parameters_and_cores(tmp_path: Path) -> None:
    result = BenchResult(
        name="example",
        title="an example",
        headers=["a"],
        rows=[[1]],
        figures={"p50_ms": 1.0},
        ratios={"gateway_over_direct": 1.2},
        parameters={"n": 10},
    )
    path = write_result(result, quick=True, directory=tmp_path)
    assert path.name == "example.quick.json"
    body = json.loads(path.read_text())
    assert body["machine"]["cores"] >= 1
    assert body["ratios"] == {"gateway_over_direct": 1.2}
    assert body["parameters"] == {"n": 10}
    assert body["figures"] == {"p50_ms": 1.0}
    assert body["timestamp"]


def test_a_target_is_met_on_the_right_side_of_its_bound_and_never_without_a_figure() -> None:
    assert Target("req/s", 1500.0, 1500, True).met
    assert not Target("req/s", 1499.9, 1500, True).met
    assert Target("p99", 10.0, 10, False, " ms").met
    assert not Target("p99", 10.1, 10, False, " ms").met
    assert not Target("ratio", None, 0.8, True).met
    assert Target("p99", 12.5, 10, False, " ms").row() == ["p99", "12.5 ms", "≤ 10 ms", "✗"]
    assert Target("req/s", 1600.0, 1500, True).as_json()["met"] is True

"""Figures that are not finite numbers are named, never passed on as "—" or "nan×"."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from specbench.results.figure_check import InvalidFigureError, check_figures, invalid_figures
from specbench.results.model import IndexEntry, ResultIndex
from specbench.results.readers import read_results
from tests.results_factory import make_result, save


def test_numbers_lists_of_numbers_and_none_are_valid() -> None:
    metrics = {
        "completed": 50,
        "mean_ttft_ms": 12.5,
        "spec_acceptance_per_position": [0.5, 0.25],
        "p99_itl_ms": None,
    }
    assert invalid_figures(metrics) == {}


@pytest.mark.parametrize("rate", ["inf", "Infinity", math.inf])
def test_a_requested_rate_of_inf_is_valid(rate: object) -> None:
    assert invalid_figures({"requested_rate": rate}) == {}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("fifty", "is 'fifty'"),
        (math.nan, "is NaN"),
        (math.inf, "is Infinity"),
        (-math.inf, "is -Infinity"),
        (True, "is true"),
        ({"value": 3}, "is an object"),
        ([0.5, math.nan], "[1] is NaN"),
        ([0.5, "high"], "[1] is 'high'"),
    ],
)
def test_wrong_types_and_non_finite_figures_are_named_with_what_is_wrong(value: object, problem: str) -> None:
    assert invalid_figures({"output_throughput": value}) == {"output_throughput": problem}


def test_check_names_the_file_and_every_bad_figure_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidFigureError) as caught:
        check_figures({"completed": "fifty", "mean_ttft_ms": "fast", "duration": 10.0}, tmp_path / "r.json")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'r.json'}: figures are not a finite number")
    assert "completed is 'fifty', mean_ttft_ms is 'fast'" in message and "duration" not in message


def write_corrupt(path: Path, **figures: object) -> Path:
    data = make_result().to_json_dict() | figures
    path.write_text(json.dumps(data))  # json writes NaN as NaN, as a careless tool would
    return path


def test_reading_a_result_with_a_nan_figure_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_corrupt(tmp_path / "nan.json", output_throughput=math.nan)
    expected = r"nan\.json: a figure is not a finite number \(output_throughput is NaN\)"
    with pytest.raises(InvalidFigureError, match=expected):
        read_results(path)


def test_a_vllm_file_with_a_string_figure_is_refused_too(tmp_path: Path) -> None:
    data = {
        "date": "20261201-120000",
        "backend": "vllm",
        "model_id": "m",
        "request_rate": "inf",
        "duration": 10.0,
        "completed": 100,
        "request_throughput": "fast",
    }
    path = tmp_path / "vllm.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidFigureError, match="request_throughput is 'fast'"):
        read_results(path)


def test_a_corrupt_result_in_a_directory_becomes_a_run_without_result_saying_why(tmp_path: Path) -> None:
    save(make_result(), tmp_path / "good.json")
    write_corrupt(tmp_path / "bad.json", completed="fifty")
    index = ResultIndex(
        run_id="r",
        kind="head-to-head",
        created_at="2026-12-01T10:00:00+00:00",
        entries=[
            IndexEntry(label="good", status="completed", result_file="good.json"),
            IndexEntry(label="bad", status="completed", result_file="bad.json"),
        ],
    )
    (tmp_path / "index.json").write_text(index.model_dump_json())
    good, bad = read_results(tmp_path).runs
    assert good.result is not None
    assert bad.result is None and "completed is 'fifty'" in (bad.error or "")

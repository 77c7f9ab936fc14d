"""Per-category figures from records, the per-category speed-up and the lossless check in a comparison."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from specbench.compare import compare_runs
from specbench.compare.categories import first_divergence
from specbench.metrics.categories import category_figures
from specbench.records import RequestRecord
from specbench.report.comparison.formats import comparison_csv, comparison_json, comparison_markdown
from specbench.report.comparison.page import comparison_page
from specbench.results.model import BenchmarkResult
from specbench.results.readers import read_results
from specbench.runner.record_writer import JsonlRecordWriter
from tests.results_factory import make_result, save


def record(
    request_id: int,
    category: str | None,
    *,
    output_tokens: int = 5,
    decode_s: float = 0.4,
    drafted: int | None = None,
    accepted: int | None = None,
    drafts: int | None = None,
    ids: list[int] | None = None,
    error: str | None = None,
) -> RequestRecord:
    """Sent at 0, first token at 0.1 s, last token decode_s later: TPOT = decode_s / (output_tokens − 1)."""
    return RequestRecord(
        request_id=request_id,
        scheduled_s=0.0,
        ready_s=0.0,
        sent_s=0.0,
        prompt_tokens=10,
        expected_output_tokens=output_tokens,
        chunk_times_s=[0.1, 0.1 + decode_s],
        chunk_tokens=[1, output_tokens - 1],
        end_s=None if error else 0.1 + decode_s,
        output_tokens=output_tokens,
        drafted_tokens=drafted,
        accepted_tokens=accepted,
        drafts=drafts,
        category=category,
        output_token_ids=ids,
        error=error,
    )


def test_category_figures_are_computed_from_each_categorys_records_alone():
    records = [
        record(0, "math", decode_s=0.4, drafted=8, accepted=6, drafts=2),  # TPOT 100 ms, 10 tok/s
        record(1, "math", decode_s=0.2, drafted=4, accepted=1, drafts=1),  # TPOT 50 ms, 20 tok/s
        record(2, "writing", decode_s=0.8, drafted=4, accepted=0, drafts=1),  # TPOT 200 ms, 5 tok/s
        record(3, "writing", error="boom"),
        record(4, None),
    ]
    figures = category_figures(records, duration_s=2.0)
    assert list(figures) == ["math", "writing"]
    math, writing = figures["math"], figures["writing"]
    assert (math["completed"], math["failed"], writing["completed"], writing["failed"]) == (2, 0, 1, 1)
    assert math["total_output_tokens"] == 10
    assert math["output_throughput"] == pytest.approx(10 / 2.0)
    assert math["mean_tpot_ms"] == pytest.approx(75.0)
    assert math["mean_decode_tokens_per_s"] == pytest.approx(15.0)  # mean of 10 and 20
    assert (math["spec_num_drafts"], math["spec_num_draft_tokens"], math["spec_num_accepted_tokens"]) == (
        3,
        12,
        7,
    )
    assert math["spec_acceptance_rate"] == pytest.approx(7 / 12)
    assert math["spec_mean_acceptance_length"] == pytest.approx(1 + 7 / 3)
    assert writing["spec_acceptance_rate"] == 0.0
    assert writing["mean_decode_tokens_per_s"] == pytest.approx(5.0)


def test_records_without_categories_give_no_category_figures():
    assert category_figures([record(0, None), record(1, None)], duration_s=1.0) == {}


def test_autoregressive_categories_have_no_speculative_figures():
    (figures,) = category_figures([record(0, "qa")], duration_s=1.0).values()
    assert not any(key.startswith("spec_") for key in figures)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1, 2, 3], [1, 2, 3], None),
        ([1, 2, 3], [1, 9, 3], 1),
        ([5], [6], 0),
        ([1, 2], [1, 2, 3], 2),  # one stopped early: it differs where the other goes on
    ],
)
def test_first_divergence_is_the_first_position_that_differs(a, b, expected):
    assert first_divergence(a, b) == expected


def write_run(
    directory: Path, name: str, *, method: str, records: list[RequestRecord], dummy_weights: bool = False
) -> Path:
    """A result with its per-request records beside it, as a run leaves them."""
    categories = category_figures(records, duration_s=1.0)
    result = make_result(method=method, dummy_weights=dummy_weights)
    result = BenchmarkResult.model_validate(
        {
            **result.model_dump(),
            "categories": categories,
            "run": {**result.run.model_dump(), "requests_file": f"{name}_requests.jsonl"},
        }
    )
    with JsonlRecordWriter(directory / f"{name}_requests.jsonl") as writer:
        for item in records:
            writer.write(item)
    return save(result, directory / f"{name}.json")


def compare_files(*paths: Path):
    runs = [run for path in paths for run in read_results(path).runs]
    comparison = compare_runs(runs)
    assert comparison.categories is not None
    return comparison.categories


def test_speculative_run_is_checked_against_its_target_ar_partner_request_by_request(tmp_path: Path):
    ar = write_run(
        tmp_path,
        "ar",
        method="target-ar",
        records=[
            record(0, "math", ids=[1, 2, 3, 4]),
            record(1, "qa", ids=[5, 6, 7, 8]),
            record(2, "qa", ids=[9]),
        ],
    )
    spec = write_run(
        tmp_path,
        "spec",
        method="speculative",
        records=[
            record(0, "math", ids=[1, 2, 3, 4], drafted=4, accepted=4, drafts=1),
            record(1, "qa", ids=[5, 6, 0, 8], drafted=4, accepted=1, drafts=1),
            record(2, "qa", ids=[9], drafted=4, accepted=2, drafts=1),
        ],
    )
    (check,) = compare_files(ar, spec).lossless
    assert (check.identical, check.compared, check.diverging) == (2, 3, ((1, 2),))
    assert "identical: 2 of 3; first divergence: request 1 at token 2" in check.sentence()


def four_times_faster_on_math(tmp_path: Path, method: str) -> tuple[Path, Path]:
    """An AR run and a speculative one of one math request, the second decoding it in a quarter the time."""
    ar = write_run(tmp_path, "ar", method="target-ar", records=[record(0, "math", decode_s=0.4, ids=[1])])
    spec = write_run(
        tmp_path,
        "spec",
        method=method,
        records=[record(0, "math", decode_s=0.1, drafted=2, accepted=2, drafts=1, ids=[1])],
    )
    return ar, spec


def test_per_category_speedup_is_the_ratio_of_mean_decoding_speeds(tmp_path: Path):
    categories = compare_files(*four_times_faster_on_math(tmp_path, "prompt-lookup"))
    assert categories.categories == ("math",)
    ar_column, spec_column = categories.columns
    assert (ar_column.speculative, ar_column.speedup) == (False, None)
    assert spec_column.speedup == {"math": pytest.approx(4.0)}


def test_lossless_check_is_skipped_with_the_reason_for_dummy_weights_or_missing_ids(tmp_path: Path):
    ar = write_run(tmp_path, "ar", method="target-ar", records=[record(0, "qa")])
    spec = write_run(tmp_path, "spec", method="speculative", records=[record(0, "qa", drafted=1, accepted=1)])
    (check,) = compare_files(ar, spec).lossless
    assert check.not_checked is not None and "no output token ids" in check.not_checked
    dummy = write_run(tmp_path, "dummy", method="speculative", records=[record(0, "qa")], dummy_weights=True)
    (check,) = compare_files(ar, dummy).lossless
    assert check.not_checked is not None and "dummy weights" in check.not_checked


def test_runs_without_categories_or_partners_have_no_category_comparison(tmp_path: Path):
    first = save(make_result(), tmp_path / "a.json")
    second = save(make_result(engine="vllm"), tmp_path / "b.json")
    runs = [run for path in (first, second) for run in read_results(path).runs]
    assert compare_runs(runs).categories is None


def test_compare_json_and_markdown_carry_the_categories_and_the_lossless_check(tmp_path: Path):
    ar = write_run(tmp_path, "ar", method="target-ar", records=[record(0, "math", ids=[1, 2])])
    spec = write_run(
        tmp_path, "spec", method="speculative", records=[record(0, "math", ids=[1, 3], drafted=2, accepted=1)]
    )
    runs = [run for path in (ar, spec) for run in read_results(path).runs]
    comparison = compare_runs(runs)
    data = json.loads(json.dumps(comparison_json(comparison)))  # as `compare --format json` writes it
    assert data["categories"]["categories"] == ["math"]
    assert data["categories"]["lossless"][0]["diverging"] == [[0, 1]]
    assert "identical: 0 of 1; first divergence: request 0 at token 1" in comparison_markdown(comparison)


def test_an_engine_without_a_model_gets_no_lossless_check(tmp_path: Path):
    ar = save(make_result(engine="echo", method="target-ar"), tmp_path / "ar.json")
    spec = save(make_result(engine="echo", method="speculative"), tmp_path / "spec.json")
    runs = [run for path in (ar, spec) for run in read_results(path).runs]
    assert compare_runs(runs).categories is None


def test_csv_and_the_html_page_carry_the_category_table_and_the_lossless_check(tmp_path: Path):
    ar, spec = four_times_faster_on_math(tmp_path, "speculative")
    comparison = compare_runs([run for path in (ar, spec) for run in read_results(path).runs])
    rows = list(csv.reader(io.StringIO(comparison_csv(comparison))))
    header = next(row for row in rows if row[:2] == ["per category", "category"])
    (math,) = [row for row in rows if row[:2] == ["per category", "math"]]
    assert dict(zip(header, math, strict=True))["speed-up"] == "4.00×"
    page = comparison_page(comparison, None)
    assert "<td>math</td>" in page and "<td>4.00×</td>" in page
    assert "identical: 1 of 1" in page

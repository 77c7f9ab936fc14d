"""compare_runs on hand-made results: ratios, their direction, the speed-up sentence and the warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from specbench.compare import Comparison, compare_runs
from specbench.compare.selection import DEFAULT_METRICS
from specbench.compare.speedup import times
from specbench.errors import ConfigError
from specbench.metrics.registry import METRICS
from specbench.results.model import BenchmarkResult
from specbench.results.readers import LoadedRun
from tests.results_factory import make_result


def compared(*results: BenchmarkResult | None, **options) -> Comparison:
    runs = [
        LoadedRun(Path(f"r{i}.json"), result, error=None if result else "engine failed to start")
        for i, result in enumerate(results)
    ]
    return compare_runs(runs, **options)


def row(comparison: Comparison, key: str):
    return next(r for r in comparison.rows if r.key == key)


@pytest.fixture
def head_to_head() -> Comparison:
    """vLLM: 7.3× the output throughput, a quarter of the TTFT, the same TPOT as Transformers."""
    return compared(
        make_result(engine="transformers", output_throughput=100.0, ttft_ms=200.0, tpot_ms=40.0),
        make_result(engine="vllm", output_throughput=730.0, ttft_ms=50.0, tpot_ms=40.0),
    )


def test_ratio_is_each_run_over_the_baseline(head_to_head: Comparison) -> None:
    throughput = row(head_to_head, "output_throughput")
    assert throughput.values == (100.0, 730.0)
    assert throughput.ratios[0] is None
    assert throughput.ratios[1] == pytest.approx(7.3)
    assert row(head_to_head, "p99_ttft_ms").ratios[1] == pytest.approx(0.25)


def test_verdict_follows_each_metrics_direction(head_to_head: Comparison) -> None:
    assert row(head_to_head, "output_throughput").verdicts[1] == "better"  # higher is better
    assert row(head_to_head, "median_ttft_ms").verdicts[1] == "better"  # lower is better
    assert row(head_to_head, "median_tpot_ms").verdicts[1] == "same"
    worse = compared(make_result(ttft_ms=50.0), make_result(engine="vllm", ttft_ms=200.0))
    assert row(worse, "median_ttft_ms").verdicts[1] == "worse"


def test_speedup_is_said_the_way_people_say_it(head_to_head: Comparison) -> None:
    assert head_to_head.speedups == (
        "vllm · target-ar: 7.3× the output throughput of transformers · target-ar, 4.0× lower median TTFT, "
        "the same median TPOT",
    )


def test_a_slower_run_is_a_fraction_of_the_throughput_with_higher_latency() -> None:
    comparison = compared(
        make_result(engine="vllm", output_throughput=400.0, ttft_ms=50.0, tpot_ms=10.0),
        make_result(engine="transformers", output_throughput=100.0, ttft_ms=100.0, tpot_ms=30.0),
    )
    assert comparison.speedups == (
        "transformers · target-ar: 0.25× the output throughput of vllm · target-ar, 2.0× higher median "
        "TTFT, 3.0× higher median TPOT",
    )


def test_times_keeps_digits_that_tell_ratios_apart() -> None:
    assert [times(r) for r in (7.31, 12.4, 1.04, 0.25, 0.061)] == ["7.3×", "12×", "1.04×", "0.25×", "0.061×"]


def test_baseline_can_be_any_run_with_a_result() -> None:
    comparison = compared(
        make_result(output_throughput=100.0), make_result(engine="vllm", output_throughput=400.0), baseline=1
    )
    assert row(comparison, "output_throughput").ratios == (0.25, None)
    assert comparison.baseline_run.label == "vllm · target-ar"


def test_baseline_out_of_range_or_without_result_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"--baseline 3: there are 2 runs"):
        compared(make_result(), make_result(engine="vllm"), baseline=2)
    with pytest.raises(ConfigError, match=r"--baseline 1 is .* which has no result"):
        compared(None, make_result(), baseline=0)


def test_a_run_without_result_is_a_column_and_a_warning_and_the_first_result_is_the_baseline() -> None:
    comparison = compared(None, make_result(engine="vllm"))
    assert comparison.baseline == 1
    assert row(comparison, "output_throughput").values == (None, 100.0)
    assert "r0.json: no result (engine failed to start)" in comparison.warnings


def test_default_rows_are_throughput_and_latencies_at_mean_median_p99() -> None:
    keys = [r.key for r in compared(make_result()).rows]
    assert keys[:3] == ["request_throughput", "output_throughput", "total_token_throughput"]
    assert [k for k in keys if k.endswith("_ttft_ms")] == ["mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms"]
    assert "p90_ttft_ms" not in keys and "std_ttft_ms" not in keys
    assert not any(k.startswith("spec_") for k in keys)  # no run has them


def test_every_default_row_is_declared_in_the_registry() -> None:
    assert [spec.name for spec in METRICS if spec.name in DEFAULT_METRICS] == list(DEFAULT_METRICS)


def test_metrics_option_picks_rows_by_registry_name_or_result_key() -> None:
    comparison = compared(make_result(), metrics=["p90_ttft_ms", "output_throughput", "tpot"])
    assert [r.key for r in comparison.rows] == [
        "output_throughput",
        "p90_ttft_ms",
        "mean_tpot_ms",
        "median_tpot_ms",
        "p99_tpot_ms",
    ]
    with pytest.raises(ConfigError, match="--metrics: no metric 'throughput'"):
        compared(make_result(), metrics=["throughput"])


def test_speculative_rows_show_rate_length_and_each_draft_position() -> None:
    spec = {
        "spec_acceptance_rate": 0.6,
        "spec_mean_acceptance_length": 3.4,
        "spec_acceptance_per_position": [0.8, 0.6, 0.4],
    }
    comparison = compared(
        make_result(method="speculative", metrics=spec),
        make_result(
            engine="vllm", method="speculative", metrics={**spec, "spec_acceptance_per_position": [0.9, 0.3]}
        ),
    )
    assert row(comparison, "spec_acceptance_rate").values == (0.6, 0.6)
    positions = [r for r in comparison.rows if r.key.startswith("spec_acceptance_per_position")]
    assert [r.label for r in positions] == [f"Per-position acceptance, position {i} (%)" for i in range(3)]
    assert positions[1].ratios[1] == pytest.approx(0.5)
    assert positions[2].values == (0.4, None)


def test_same_setup_gives_no_unfairness_warning(head_to_head: Comparison) -> None:
    assert head_to_head.warnings == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"model": "/models/llama-3-8b"},
            "different models: qwen3-8b {A} vs llama-3-8b {B}",
        ),
        (
            {"rate": 8.0},
            "different load: 4 req/s poisson {A} vs 8 req/s poisson {B}",
        ),
        (
            {"rate": "inf"},
            "different load: 4 req/s poisson {A} vs all at once {B}",
        ),
        (
            {"input_len": 512},
            "different input lengths: 128 tokens/request {A} vs 512 tokens/request {B}",
        ),
        (
            {"output_len": 64},
            "different output lengths: 128 tokens/request {A} vs 64 tokens/request {B}",
        ),
        (
            {"gpu": "NVIDIA H100"},
            "different hardware: 1× NVIDIA H200 {A} vs 1× NVIDIA H100 {B}",
        ),
        (
            {"dummy_weights": True},
            "different weights: real weights {A} vs dummy weights {B}",
        ),
        (
            {"status": "interrupted"},
            "vllm · target-ar was interrupted: its figures cover only the requests that finished",
        ),
        ({"failed": 3}, "vllm · target-ar had 3 failed requests of 103"),
    ],
)
def test_each_unfair_difference_is_one_warning(change: dict, expected: str) -> None:
    comparison = compared(make_result(), make_result(engine="vllm", **change))
    assert comparison.warnings == (expected.format(A="(transformers · target-ar)", B="(vllm · target-ar)"),)


def test_a_served_model_has_no_weights_of_its_own_to_differ_in() -> None:
    # The openai engine's client never loads the model: its config says nothing about the server's weights.
    served = make_result(engine="openai", dummy_weights=False)
    assert compared(make_result(engine="vllm", dummy_weights=True), served).warnings == ()


def test_lengths_within_five_percent_are_the_same_workload() -> None:
    assert compared(make_result(input_len=128), make_result(engine="vllm", input_len=130)).warnings == ()


def test_a_fact_the_file_does_not_state_is_left_out_of_its_check() -> None:
    assert compared(make_result(gpu=None), make_result(engine="vllm")).warnings == ()


def test_runs_of_the_same_setup_are_told_apart_by_what_differs_never_by_file_name() -> None:
    same_name = Path("benchmark_results_target_ar.json")
    runs = [LoadedRun(same_name, make_result(rate=rate)) for rate in (4.0, 8.0)]
    labels = [run.label for run in compare_runs(runs).runs]
    assert labels == ["transformers · target-ar · rate 4", "transformers · target-ar · rate 8"]


def test_runs_that_differ_only_in_model_are_labelled_by_model() -> None:
    runs = [
        LoadedRun(Path("r.json"), make_result(model=f"/models/{name}")) for name in ("qwen3-8b", "llama-8b")
    ]
    labels = [run.label for run in compare_runs(runs).runs]
    assert labels == ["transformers · target-ar · qwen3-8b", "transformers · target-ar · llama-8b"]


def test_runs_alike_in_every_fact_are_numbered() -> None:
    runs = [LoadedRun(Path(f"{name}.json"), make_result()) for name in ("a", "b")]
    labels = [run.label for run in compare_runs(runs).runs]
    assert labels == ["transformers · target-ar #1", "transformers · target-ar #2"]


def test_the_points_of_one_sweep_differ_in_load_without_a_warning() -> None:
    runs = [LoadedRun(Path(f"r{rate}.json"), make_result(rate=rate)) for rate in (1.0, 2.0)]
    assert compare_runs(runs, load_varied=True).warnings == ()
    assert compare_runs(runs).warnings[0].startswith("different load:")


def test_reasoning_runs_compare_time_to_first_answer_token_and_reasoning_tokens() -> None:
    reasoning = {
        "median_ttfat_ms": 900.0,
        "mean_ttfat_ms": 950.0,
        "p99_ttfat_ms": 1500.0,
        "total_reasoning_tokens": 6000,
        "total_answer_tokens": 4000,
    }
    shorter = {**reasoning, "median_ttfat_ms": 450.0, "total_reasoning_tokens": 2000}
    comparison = compared(make_result(metrics=reasoning), make_result(engine="vllm", metrics=shorter))
    assert row(comparison, "median_ttfat_ms").verdicts[1] == "better"
    assert row(comparison, "total_reasoning_tokens").values == (6000, 2000)


def test_runs_without_reasoning_have_no_reasoning_rows(head_to_head: Comparison) -> None:
    assert not [r for r in head_to_head.rows if "ttfat" in r.key or "reasoning" in r.key]

"""The readers against real files of the other tools (tests/data/foreign, made as its README says).

Expected figures were read off the raw JSON by hand; the comments say where each one is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from specbench.compare import compare_runs
from specbench.results.readers import read_results
from specbench.results.readers.records import load_records

FOREIGN = Path(__file__).parent.parent / "data" / "foreign"
TINY = "/root/.cache/specbench/tiny-models-v1/target"


def only(name: str):
    (run,) = read_results(FOREIGN / name).runs
    assert run.result is not None
    return run.result


def test_vllm_bench_serve_figures_keep_their_names_and_units() -> None:
    result = only("vllm_bench_serve.json")
    assert result.source_format == "vllm-bench-serve"
    assert (result.engine.model, result.run.started_at) == (TINY, "2026-12-01T17:41:22")
    m = result.metrics
    assert (m["completed"], m["failed"]) == (16, 0)
    assert m["output_throughput"] == 59.33842090214569  # "output_throughput"
    assert m["median_ttft_ms"] == 46.010972000033235  # "median_ttft_ms"
    assert m["p99_tpot_ms"] == 22.654149163335735  # "p99_tpot_ms"
    assert m["requested_rate"] == 4.0


def test_vllm_speculative_acceptance_is_rescaled_from_percent() -> None:
    m = only("vllm_bench_serve_spec.json").metrics
    # "spec_decode_acceptance_rate": 37.46556473829201 (%) = 136 accepted / 363 drafted
    assert m["spec_acceptance_rate"] == pytest.approx(136 / 363)
    assert m["spec_mean_acceptance_length"] == pytest.approx(1 + 136 / 121)  # 121 drafts
    assert m["spec_acceptance_per_position"][0] == pytest.approx(0.5537190082644629)


def test_vllm_detailed_file_carries_request_records_that_reproduce_its_statistics() -> None:
    (run,) = read_results(FOREIGN / "vllm_bench_serve_detailed.json").runs
    records = load_records(run)
    assert len(records) == 12
    ttfts = sorted(r.ttft_ms for r in records)
    assert (ttfts[5] + ttfts[6]) / 2 == pytest.approx(run.result.metrics["median_ttft_ms"])


def test_guidellm_figures_follow_the_declared_mapping() -> None:
    result = only("guidellm_benchmarks.json")
    assert result.source_format == "guidellm"
    assert result.run.label == "constant 4 req/s"
    m = result.metrics
    assert m["completed"] == 12 and m["total_output_tokens"] == 192  # request_totals, output_token_count
    assert m["duration"] == 2.9518306255340576  # benchmarks[0].duration
    assert m["output_throughput"] == 65.0443824043131  # output_tokens_per_second.successful.mean
    assert m["mean_ttft_ms"] == 39.59425290425619  # time_to_first_token_ms.successful.mean
    assert m["median_tpot_ms"] == 10.524749755859375  # inter_token_latency_ms.successful.median
    assert m["mean_e2el_ms"] == pytest.approx(211.29689613978067)  # request_latency mean, 0.2113 s
    assert "mean_itl_ms" not in m  # guidellm has no per-gap ITL
    assert result.environment["packages"] == {"guidellm": "0.8.1"}


def test_guidellm_speculation_is_summed_from_every_request_or_left_out() -> None:
    m = only("guidellm_benchmarks_spec.json").metrics
    # 11 requests' response_metrics.speculative_decoding: 75 steps, 225 drafted, 98 accepted;
    # acceptance histogram summed: [28, 14, 15, 18] → positions accepted 47, 33, 18 of 75.
    assert m["spec_acceptance_rate"] == pytest.approx(98 / 225)
    assert m["spec_mean_acceptance_length"] == pytest.approx(1 + 98 / 75)
    assert m["spec_acceptance_per_position"] == pytest.approx([47 / 75, 33 / 75, 18 / 75])
    warnings = only("guidellm_benchmarks_spec.json").run.warnings
    assert "guidellm sent 12 requests but counts 11: 1 are in none of its figures" in warnings
    sweep = read_results(FOREIGN / "guidellm_benchmarks_concurrent_sweep.json")
    assert sweep.kind == "concurrent" and sweep.load_varied
    assert [run.result.workload["max_concurrency"] for run in sweep.runs] == [1, 2]
    for run in sweep.runs:  # sample_size=2: records of 2 of 8 requests
        assert "spec_acceptance_rate" not in run.result.metrics
        assert any("2 of 8 requests" in w for w in run.result.run.warnings)


def test_aiperf_figures_follow_the_declared_mapping_and_units() -> None:
    result = only("aiperf_profile_export_aiperf.json")
    assert result.source_format == "aiperf" and result.environment["packages"] == {"aiperf": "0.13.0"}
    m = result.metrics
    assert m["duration"] == 3.0647032320000003  # benchmark_duration, unit sec
    assert m["median_ttft_ms"] == 32.9505165  # time_to_first_token.p50
    assert m["p99_tpot_ms"] == 11.051063285777778  # inter_token_latency.p99
    assert m["mean_itl_ms"] == 11.11004374074074  # inter_chunk_latency.avg
    assert m["total_output_tokens"] == 221  # total_osl: AIPerf's own count …
    assert any("the server reported 192" in w for w in result.run.warnings)  # … and the server's


def test_aiperf_concurrency_run_and_speculation() -> None:
    assert only("aiperf_profile_export_aiperf_server_tokens.json").workload["max_concurrency"] == 2
    m = only("aiperf_profile_export_aiperf_spec.json").metrics
    # totals: 81 steps, 243 drafted, 111 accepted; histogram {0: 22, 1: 23, 2: 20, 3: 16}
    assert m["spec_acceptance_rate"] == pytest.approx(111 / 243)
    assert m["spec_mean_acceptance_length"] == pytest.approx(2.3703703703703702)
    assert m["spec_acceptance_per_position"] == pytest.approx([59 / 81, 36 / 81, 16 / 81])


def test_the_three_tools_line_up_against_specbench_columns() -> None:
    runs = [
        run
        for name in (
            "vllm_bench_serve_spec.json",
            "guidellm_benchmarks_spec.json",
            "aiperf_profile_export_aiperf_spec.json",
        )
        for run in read_results(FOREIGN / name).runs
    ]
    comparison = compare_runs(runs)
    assert [run.label for run in comparison.runs] == [
        "vllm bench serve · target",
        "guidellm · target · constant 4 req/s",
        "aiperf · target",
    ]
    acceptance = next(row for row in comparison.rows if row.key == "spec_acceptance_rate")
    assert all(value is not None for value in acceptance.values)
    assert any(w.startswith("different output lengths:") for w in comparison.warnings)  # AIPerf's 227/12

"""The summary table, rendered from hand-made result dicts and read back as text."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console

from specbench.metrics import METRICS
from specbench.report import render_summary
from specbench.report.summary import INTERRUPTED_NOTE, TITLE
from specbench.results.model import BenchmarkResult


def rendered(result: dict[str, Any]) -> str:
    """`result` as the file holds it: metrics flat, beside `status` (moved into the run section here)."""
    flat = dict(result)
    run = {"id": "test", "status": flat.pop("status", "completed")}
    engine = {"model": "m", "method": "target-ar", **flat.pop("engine", {"name": "transformers"})}
    console = Console(record=True, width=120, color_system=None)
    render_summary(BenchmarkResult.from_json_dict({**flat, "run": run, "engine": engine}), console)
    return console.export_text()


def row_value(text: str, label: str) -> str:
    """The value printed on the row whose label is exactly `label`."""
    match = re.search(rf"^\s*{re.escape(label)}\s+(\S+)\s*$", text, flags=re.MULTILINE)
    assert match is not None, f"no row {label!r} in:\n{text}"
    return match.group(1)


def latency(name: str, base: float, percentiles: tuple[str, ...] = ("p50", "p90", "p99", "p99.9")) -> dict:
    stats = ("mean", "median", "std", "max", *percentiles)
    return {f"{stat}_{name}_ms": base + i for i, stat in enumerate(stats)}


def plain_result() -> dict[str, Any]:
    return {
        "status": "completed",
        "engine": {"name": "transformers"},
        "completed": 98,
        "failed": 2,
        "requested_rate": 4.0,
        "achieved_rate": 3.9876,
        "duration": 25.0,
        "total_input_tokens": 12544,
        "total_output_tokens": 12544,
        "request_throughput": 3.92,
        "request_goodput": None,
        "output_throughput": 501.76,
        "total_token_throughput": 1003.52,
        **latency("ttft", 10.0),
        **latency("tpot", 20.0),
        **latency("itl", 30.0),
        **latency("e2el", 40.0),
        **latency("dispatch_lag", 0.5),
        **{f"{stat}_client_queue_ms": 0.0 for stat in ("mean", "median", "std", "max", "p50", "p99")},
    }


def test_run_rows_show_counts_as_integers_and_rates_with_two_decimals() -> None:
    text = rendered(plain_result())
    assert TITLE in text
    assert row_value(text, "Successful requests") == "98"
    assert row_value(text, "Failed requests") == "2"
    assert row_value(text, "Request rate achieved (RPS)") == "3.99"
    assert row_value(text, "Output token throughput (tok/s)") == "501.76"


def test_latency_rows_list_mean_median_percentiles_in_order_then_max() -> None:
    text = rendered(plain_result())
    labels = [f"{stat} TTFT (ms)" for stat in ("Mean", "Median", "P50", "P90", "P99", "P99.9", "Max")]
    positions = [text.index(label) for label in labels]
    assert positions == sorted(positions)
    # latency() numbers the statistics mean 10, median 11, std 12, max 13, p50 14, …, p99.9 17.
    assert row_value(text, "P99.9 TTFT (ms)") == "17.00"
    assert row_value(text, "Max TTFT (ms)") == "13.00"
    for heading in ("Time to First Token", "Inter-token Latency", "End-to-end Latency"):
        assert heading in text


def test_unset_values_and_all_zero_families_are_left_out() -> None:
    text = rendered(plain_result())
    assert "goodput" not in text  # request_goodput is None: no SLO was set
    assert "Client" not in text  # client queue is all zeros: no --max-concurrency
    assert row_value(text, "Mean Dispatch Lag (ms)") == "0.50"


def test_speculative_block_only_when_spec_keys_are_present() -> None:
    assert "Speculative decoding" not in rendered(plain_result())
    result = plain_result() | {
        "spec_acceptance_rate": 0.625,
        "spec_mean_acceptance_length": 3.5,
        "spec_num_drafts": 40,
        "spec_num_draft_tokens": 160,
        "spec_num_accepted_tokens": 100,
        "spec_acceptance_per_position": [0.9, 0.6, 0.5, 0.5],
    }
    text = rendered(result)
    assert "Speculative decoding" in text
    assert row_value(text, "Acceptance rate (%)") == "62.50"  # stored as a fraction, shown as percent
    assert row_value(text, "Mean acceptance length") == "3.50"
    assert row_value(text, "Draft tokens") == "160"
    assert row_value(text, "Position 0") == "90.00"
    assert row_value(text, "Position 3") == "50.00"
    assert "Position 4" not in text


def test_vllm_extras_shown_when_the_engine_reported_them() -> None:
    assert "Preemptions" not in rendered(plain_result())
    result = plain_result() | {"num_preemptions": 3, "peak_kv_cache_usage": 0.42, "mean_queue_time_ms": 1.5}
    text = rendered(result)
    assert row_value(text, "Preemptions") == "3"
    assert row_value(text, "Peak KV-cache usage (%)") == "42.00"
    assert row_value(text, "Mean engine queue time (ms)") == "1.50"
    assert "Prefix cache hit rate" not in text


def test_interrupted_run_gets_a_warning_row() -> None:
    assert INTERRUPTED_NOTE not in rendered(plain_result())
    assert INTERRUPTED_NOTE in rendered(plain_result() | {"status": "interrupted"})


def test_every_registered_metric_has_a_row_when_present() -> None:
    result: dict[str, Any] = {}
    for spec in METRICS:
        if spec.distribution:
            result |= latency(spec.name, 1.0)
        elif spec.name == "spec_acceptance_per_position":
            result[spec.name] = [0.5]
        else:
            result[spec.name] = 1
    text = rendered(result)
    missing = [spec.label for spec in METRICS if spec.label not in text]
    assert missing == []

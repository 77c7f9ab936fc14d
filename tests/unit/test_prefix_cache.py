"""Prompts served from the prefix cache without shared prefixes: a warning in the run and in compare."""

from __future__ import annotations

import pytest

from specbench.compare import compare_runs
from specbench.engines.openai.prometheus import parse_families
from specbench.engines.vllm.metrics import MetricsSnapshot, run_stats
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.results.prefix_cache import prefix_cache_warning
from specbench.results.readers import LoadedRun


def test_hits_on_a_workload_without_shared_prefixes_are_warned_about_with_their_rate():
    warning = prefix_cache_warning(
        {"prefix_cache_hits": 15360, "prefix_cache_queries": 16384}, {"shared_prefixes": False}
    )
    assert warning is not None and "15,360 of 16,384" in warning and "93.8%" in warning


def test_no_hits_no_counters_or_a_shared_prefix_workload_give_no_warning():
    assert prefix_cache_warning({"prefix_cache_hits": 0, "prefix_cache_queries": 16384}, {}) is None
    assert prefix_cache_warning({}, {}) is None  # an engine without a prefix cache (echo, Transformers)
    shared = {"shared_prefixes": True}
    assert prefix_cache_warning({"prefix_cache_hits": 900, "prefix_cache_queries": 1000}, shared) is None


def test_compare_warns_about_a_result_whose_prompts_the_cache_served(tmp_path):
    def result(hits: int) -> BenchmarkResult:
        return BenchmarkResult(
            run=RunSection(id="r", status="completed"),
            engine=EngineSection(name="vllm", model="m", method="target-ar"),
            workload={"shared_prefixes": False},
            metrics={"prefix_cache_hits": hits, "prefix_cache_queries": 1000, "completed": 10},
        )

    runs = [
        LoadedRun(tmp_path / "a.json", result(0), label="first"),
        LoadedRun(tmp_path / "b.json", result(940), label="second"),
    ]
    warnings = compare_runs(runs).warnings
    cached = [warning for warning in warnings if "prefix cache served" in warning]
    assert len(cached) == 1 and "second: the prefix cache" in cached[0] and "94.0%" in cached[0]


def test_a_served_vllms_prefix_cache_counters_are_read_from_its_metrics_text():
    """The openai engine reads /metrics through the same snapshot code as the in-process engine."""

    def snapshot(queries: int, hits: int) -> MetricsSnapshot:
        text = "\n".join(
            [
                "# TYPE vllm:prefix_cache_queries_total counter",
                f'vllm:prefix_cache_queries_total{{model_name="m",engine="0"}} {queries}.0',
                "# TYPE vllm:prefix_cache_hits_total counter",
                f'vllm:prefix_cache_hits_total{{model_name="m",engine="0"}} {hits}.0',
                "",
            ]
        )
        return MetricsSnapshot.from_families(parse_families(text), labels={"model_name": "m"})

    stats = run_stats(snapshot(1000, 100), snapshot(17384, 15460), None)
    assert (stats["prefix_cache_queries"], stats["prefix_cache_hits"]) == (16384, 15360)
    assert stats["prefix_cache_hit_rate"] == pytest.approx(0.9375)

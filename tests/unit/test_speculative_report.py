"""The speculative report's arithmetic against figures worked out by hand: speed-up, ratios, break-even load,
best variant per load, and where a step's time goes."""

from __future__ import annotations

import pytest
from results_factory import make_result

from specbench.results.model import BenchmarkResult
from specbench.results.speculative import NEVER_WINS, NOT_REACHED, speculative_report


def point(
    method: str,
    concurrency: int,
    throughput: float,
    *,
    tpot_ms: float = 10.0,
    k: int = 3,
    length: float | None = None,
    acceptance_length: float | None = None,
    engine: str = "vllm",
) -> tuple[str, BenchmarkResult]:
    metrics = {}
    if acceptance_length is not None:
        metrics = {
            "spec_mean_acceptance_length": acceptance_length,
            "spec_acceptance_rate": (acceptance_length - 1) / k,
            "spec_acceptance_per_position": [1.0, 0.5, 0.0],
        }
    result = make_result(
        engine=engine, method=method, output_throughput=throughput, tpot_ms=tpot_ms, metrics=metrics
    )
    config = {
        "engine": engine,
        "workload": {"rate": "inf", "max_concurrency": concurrency},
        "speculative": {
            "spec_method": "draft_model",
            "num_speculative_tokens": k,
            "synthetic_acceptance_length": length,
        },
    }
    label = f"{method} c{concurrency} K{k} L{length}"
    return label, result.model_copy(update={"config": config})


def test_speedup_and_ratios_are_speculative_over_ar_at_the_same_load():
    report = speculative_report(
        [
            point("target-ar", 1, 100.0, tpot_ms=10.0),
            point("speculative", 1, 150.0, tpot_ms=8.0, length=2.5, acceptance_length=2.5),
        ]
    )
    assert report is not None
    (row,) = report.rows
    assert row.speedup == pytest.approx(1.5)
    assert row.tpot_ratio == pytest.approx(0.8)
    assert row.ttft_ratio == pytest.approx(1.0)
    assert row.synthetic and report.synthetic
    assert row.variant == "K 3 · acceptance 2.5"


def test_where_the_time_goes_step_time_is_tpot_times_acceptance_length():
    # 2.5 tokens per step at 8 ms each: a step takes 20 ms; AR makes a token in 10 ms, so a step
    # breaks even at 20 / 10 = 2 tokens.
    report = speculative_report(
        [
            point("target-ar", 1, 100.0, tpot_ms=10.0),
            point("speculative", 1, 125.0, tpot_ms=8.0, length=2.5, acceptance_length=2.5),
        ]
    )
    assert report is not None
    (row,) = report.rows
    assert row.step_ms == pytest.approx(20.0)
    assert row.ar_token_ms == pytest.approx(10.0)
    assert row.break_even_length == pytest.approx(2.0)


def test_break_even_is_the_highest_load_where_speculation_still_wins():
    runs = [point("target-ar", c, 100.0 * c) for c in (1, 8, 32)]
    runs += [point("speculative", 1, 150.0, length=3.5), point("speculative", 8, 900.0, length=3.5)]
    runs += [point("speculative", 32, 2400.0, length=3.5)]
    report = speculative_report(runs)
    assert report is not None
    (variant,) = report.variants
    assert variant.speedups == pytest.approx([1.5, 1.125, 0.75])
    assert variant.break_even == "concurrency 8"
    assert variant.first_loss == "concurrency 32"


def test_break_even_not_reached_when_speculation_wins_everywhere_and_never_when_it_wins_nowhere():
    runs = [point("target-ar", c, 100.0 * c) for c in (1, 8)]
    runs += [point("speculative", c, 120.0 * c, length=3.5) for c in (1, 8)]
    runs += [point("speculative", c, 80.0 * c, length=1.5) for c in (1, 8)]
    report = speculative_report(runs)
    assert report is not None
    verdicts = {v.variant: v.break_even for v in report.variants}
    assert verdicts == {"K 3 · acceptance 1.5": NEVER_WINS, "K 3 · acceptance 3.5": NOT_REACHED}


def test_best_per_load_picks_the_fastest_variant_or_ar_when_none_wins():
    runs = [point("target-ar", c, 100.0) for c in (1, 8, 32)]
    # K 5 wins at batch 1, K 1 under load, nothing at 32.
    runs += [point("speculative", 1, 180.0, k=5), point("speculative", 8, 105.0, k=5)]
    runs += [point("speculative", 32, 60.0, k=5)]
    runs += [point("speculative", 1, 130.0, k=1), point("speculative", 8, 115.0, k=1)]
    runs += [point("speculative", 32, 90.0, k=1)]
    report = speculative_report(runs)
    assert report is not None
    best = [(b.load_label, b.best, round(b.speedup, 2)) for b in report.best]
    assert best == [
        ("concurrency 1", "K 5", 1.8),
        ("concurrency 8", "K 1", 1.15),
        ("concurrency 32", "AR", 0.9),
    ]


def test_one_ar_run_serves_every_variant_at_its_load():
    runs = [point("target-ar", 1, 100.0)]
    runs += [point("speculative", 1, 100.0 * s, length=length) for s, length in ((1.1, 1.5), (1.3, 2.5))]
    report = speculative_report(runs)
    assert report is not None
    assert {row.ar_label for row in report.rows} == {runs[0][0]}
    assert [row.speedup for row in report.rows] == pytest.approx([1.1, 1.3])


def test_no_report_without_an_ar_run_at_the_same_engine_and_load():
    assert speculative_report([point("speculative", 1, 100.0)]) is None
    assert speculative_report([point("target-ar", 1, 100.0), point("speculative", 8, 100.0)]) is None
    assert (
        speculative_report(
            [point("target-ar", 1, 100.0, engine="transformers"), point("speculative", 1, 100.0)]
        )
        is None
    )


def test_a_variant_that_still_wins_at_the_highest_load_has_not_reached_break_even():
    runs = [point("target-ar", c, 100.0) for c in (1, 8)]
    runs += [point("speculative", 1, 90.0), point("speculative", 8, 110.0)]
    report = speculative_report(runs)
    assert report is not None
    assert (report.variants[0].break_even, report.variants[0].first_loss) == (NOT_REACHED, None)

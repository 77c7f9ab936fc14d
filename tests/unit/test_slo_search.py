"""The SLO search's logic: probe length, the verdict on a probe, and bracketing then bisection.

Probes here are made of hand-built records (a fake engine whose knee is known exactly); the search against a
real engine is in tests/integration/test_sweep_cli.py.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest

from specbench.records import RequestRecord
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.results.sweep import SessionSummary
from specbench.session.points import PointGenerator, PointReport, PointSpec
from specbench.session.slo_search import (
    CONFIRMATION,
    MAX_HALVINGS,
    MAX_STEP_DOWNS,
    MaxRateSearch,
    judge,
    latency_bound_s,
    probe_rules,
    probe_window_s,
)
from specbench.settings import ResolvedConfig, resolve_plan
from tests.queue_reports import overloaded

SLO = {"slo.ttft_ms": 100.0, "slo.tpot_ms": 10.0, "workload.output_len": 11}


def resolved(**flags: object) -> ResolvedConfig:
    flags = {"engine": "echo", "sweep.find_max_rate": True, **SLO, **flags}
    return resolve_plan(profile=None, flags=flags, flag_names={}, environ={}).sessions[0].points[0]


def record(request_id: int, scheduled_s: float, ttft_ms: float, tpot_ms: float = 5.0) -> RequestRecord:
    sent = scheduled_s
    first = sent + ttft_ms / 1000
    times = [first + i * tpot_ms / 1000 for i in range(11)]
    return RequestRecord(
        request_id=request_id,
        scheduled_s=scheduled_s,
        ready_s=sent,
        sent_s=sent,
        prompt_tokens=4,
        expected_output_tokens=11,
        chunk_times_s=times,
        chunk_tokens=[1] * 11,
        end_s=times[-1],
        output_tokens=11,
    )


def report(
    spec: PointSpec,
    records: list[RequestRecord],
    *,
    entry: int = 0,
    status: str = "completed",
    **extra: object,
) -> PointReport:
    result = BenchmarkResult(
        run=RunSection(id="run", status=status),
        engine=EngineSection(name="echo", model="none", method="target-ar"),
        metrics={"request_throughput": 50.0, "duration": 10.0},
    )
    return PointReport(spec, entry=entry, result=result, records=records, **extra)


def probe_of(spec: PointSpec, *, meets: bool, count: int = 100, entry: int = 0) -> PointReport:
    """A probe whose requests all meet (or all miss) the TTFT SLO."""
    ttft = 50.0 if meets else 500.0
    return report(spec, [record(i, 1.0 + i * 0.05, ttft) for i in range(count)], entry=entry)


def drive(
    search: MaxRateSearch,
    knee: float,
    *,
    first_throughput: float | None = None,
    sustained_knee: float | None = None,
) -> list[float]:
    """Answer every probe as an engine whose requests meet the SLOs exactly up to `knee` req/s, and in a
    confirmation probe up to `sustained_knee` (default: the same knee)."""
    points: PointGenerator = search.points()
    spec = next(points)
    rates = []
    entry = 0
    try:
        if math.isinf(spec.config.workload.rate):
            saturation = report(spec, [], entry=entry)
            assert saturation.result is not None
            saturation.result.metrics["request_throughput"] = first_throughput
            assert first_throughput is not None
            spec = points.send(overloaded(points.send(saturation), first_throughput))
        while True:
            entry += 1
            rate = spec.config.workload.rate
            rates.append(rate)
            confirming = spec.resolved.sources["workload.rate"] == CONFIRMATION
            limit = sustained_knee if confirming and sustained_knee is not None else knee
            spec = points.send(probe_of(spec, meets=rate <= limit, entry=entry))
    except StopIteration:
        return rates


def outcome(search: MaxRateSearch) -> SessionSummary:
    summary = SessionSummary(kind="slo-search")
    search.summarize(summary)
    return summary


def test_latency_bound_is_what_the_slos_allow_end_to_end():
    assert latency_bound_s(resolved().config) == pytest.approx(0.1 + 0.01 * 10)
    assert latency_bound_s(resolved(**{"slo.e2el_ms": 150.0}).config) == pytest.approx(0.15)
    assert latency_bound_s(resolved(**{"slo.tpot_ms": None}).config) is None  # TTFT alone bounds no E2EL


def test_a_probe_sends_for_its_minimum_plus_the_transient_and_the_tail():
    config = resolved(**{"sweep.probe_seconds": 10.0, "sweep.probe_requests": 200}).config
    # The SLOs bound a request's latency at 0.2 s: that long a transient before the judged part, a tail after.
    assert probe_window_s(config, 5.0) == pytest.approx(200 / 5.0 + 0.4)  # the count decides at low rates
    assert probe_window_s(config, 100.0) == pytest.approx(10.0 + 0.4)  # the time at high rates
    assert probe_window_s(config, 100.0, 4.0) == pytest.approx(40.0 + 0.4)  # a confirmation: 4 × as long


def test_verdict_counts_only_requests_sent_after_the_transient():
    base = resolved()
    spec = PointSpec(base)
    rules = probe_rules(base.config, 10.0, math.inf)
    # The first 10 requests arrive in the transient (before 0.2 s) and all miss; the 90 after all meet.
    records = [record(i, 0.01 * i, 500.0) for i in range(10)]
    records += [record(10 + i, 0.3 + 0.01 * i, 50.0) for i in range(90)]
    verdict = judge(report(spec, records), rules)
    assert verdict.verdict == "pass"
    assert verdict.counted_requests == 90 and verdict.goodput_fraction == 1.0
    assert verdict.transient_s == pytest.approx(0.2)


def test_requests_sent_in_the_tail_keep_the_load_up_but_are_not_judged():
    # Once sending stops the engine drains and the last requests run faster than under the load: the
    # window's last latency bound (0.2 s) sends on, unjudged, so every judged request finishes under load.
    base = resolved(**{"workload.duration": 3.0})
    spec = PointSpec(base)
    rules = probe_rules(base.config, 40.0, 3.0)
    judged = [record(i, 0.25 + 0.025 * i, 500.0) for i in range(100)]  # 0.25 … 2.725 s: all miss
    drained = [record(100 + i, 2.8 + 0.025 * i, 50.0) for i in range(8)]  # 2.8 … 2.975 s: the tail meets
    verdict = judge(report(spec, judged + drained), rules)
    assert verdict.tail_s == pytest.approx(0.2)
    assert verdict.transient_s is not None
    after_transient = sum(r.scheduled_s >= verdict.transient_s for r in judged)
    assert verdict.counted_requests == after_transient and verdict.goodput_fraction == 0.0
    assert verdict.verdict == "fail"


def test_verdict_fails_below_the_target_and_counts_failed_requests_as_misses():
    base = resolved()
    spec = PointSpec(base)
    rules = probe_rules(base.config, 10.0, math.inf)
    records = [record(i, 1.0 + 0.01 * i, 50.0) for i in range(94)]
    broken = record(94, 2.0, 50.0)
    broken.error = "RuntimeError: engine fell over"
    records += [broken] + [record(95 + i, 2.0, 500.0) for i in range(5)]
    verdict = judge(report(spec, records), rules)
    assert verdict.goodput_fraction == pytest.approx(0.94)
    assert verdict.verdict == "fail"


def test_without_a_latency_bound_the_transient_is_the_probes_own_p95_latency():
    base = resolved(**{"slo.tpot_ms": None})
    spec = PointSpec(base)
    records = [record(i, 0.05 + 0.1 * i, 50.0) for i in range(100)]  # E2EL = 50 + 10 × 5 = 100 ms each
    verdict = judge(report(spec, records), probe_rules(base.config, 10.0, math.inf))
    assert verdict.transient_s == pytest.approx(0.1)
    assert verdict.counted_requests == 99


def test_without_a_latency_bound_the_tail_is_the_probes_own_p95_latency_too():
    base = resolved(**{"slo.tpot_ms": None, "workload.duration": 10.0})
    spec = PointSpec(base)
    records = [record(i, 0.05 + 0.1 * i, 50.0) for i in range(100)]  # 0.05 … 9.95 s, 100 ms each
    verdict = judge(report(spec, records), probe_rules(base.config, 10.0, 10.0))
    assert verdict.transient_s == pytest.approx(0.1) and verdict.tail_s == pytest.approx(0.1)
    assert verdict.counted_requests == 98  # 0.15 … 9.85 s


def test_a_stopped_or_broken_probe_never_passes():
    base = resolved()
    spec = PointSpec(base)
    rules = probe_rules(base.config, 10.0, math.inf)
    good = [record(i, 1.0 + 0.01 * i, 50.0) for i in range(50)]
    stopped = judge(report(spec, good, status="interrupted", stopped_early="the queue kept growing"), rules)
    assert stopped.verdict == "fail" and "stopped early" in stopped.reason
    broken = judge(PointReport(spec, entry=3, error="RuntimeError: CUDA out of memory"), rules)
    assert broken.verdict == "error" and "out of memory" in broken.reason


@pytest.mark.parametrize("knee", [3.3, 17.0, 41.0])
def test_search_from_the_saturation_throughput_lands_within_the_precision_below_the_knee(knee):
    search = MaxRateSearch(resolved(**{"sweep.rate_precision": 0.05}))
    rates = drive(search, knee, first_throughput=50.0)
    assert rates[0] == pytest.approx(50.0, rel=0.01)  # the first probe checks the saturation throughput
    found = outcome(search).search
    assert found is not None and found.max_rate is not None
    low, high = found.bracket
    assert low == found.max_rate <= knee < high <= low * 1.05 + 1e-9
    assert found.stop_reason.startswith("converged")
    # One probe at saturation, halvings down to a pass, then bisections of a factor-2 bracket down to 5 %.
    halvings = math.ceil(math.log2(50 / knee))
    bisections = math.ceil(math.log2(math.log(2) / math.log(1.05)))
    assert len(rates) <= 1 + halvings + bisections + 1  # one more where rounding to 3 digits costs a step


def test_search_from_a_start_rate_doubles_while_every_probe_passes():
    search = MaxRateSearch(resolved(**{"workload.rate": 2.0}))
    rates = drive(search, 20.0)
    assert rates[:5] == [2.0, 4.0, 8.0, 16.0, 32.0]
    summary = outcome(search)
    assert summary.saturation_throughput is None
    assert summary.search is not None and summary.search.max_rate is not None
    assert summary.search.max_rate <= 20.0 < summary.search.max_rate * 1.05


def test_search_gives_up_when_no_rate_meets_the_slos():
    search = MaxRateSearch(resolved(**{"workload.rate": 64.0}))
    rates = drive(search, 0.0)
    assert rates == [64.0 / 2**i for i in range(MAX_HALVINGS + 1)]
    found = outcome(search).search
    assert found is not None and found.max_rate is None
    assert "out of this setup's reach" in found.stop_reason


def test_search_stops_after_its_probe_budget():
    search = MaxRateSearch(resolved(**{"workload.rate": 1.0, "sweep.max_probes": 3}))
    assert drive(search, 1000.0) == [1.0, 2.0, 4.0, 4.0]  # three probes, then 4.0 confirmed
    found = outcome(search).search
    assert found is not None and found.max_rate == 4.0 and found.bracket == [4.0, None]
    assert "--max-probes" in found.stop_reason


def test_search_stops_at_a_probe_that_broke_and_says_why():
    search = MaxRateSearch(resolved(**{"workload.rate": 8.0}))
    points = search.points()
    spec = next(points)
    with pytest.raises(StopIteration):
        points.send(PointReport(spec, entry=0, error="EngineDeadError"))
    found = outcome(search).search
    assert found is not None and found.probes[0].verdict == "error"
    assert "EngineDeadError" in found.stop_reason


def test_probes_are_rate_mode_windows_with_their_rules():
    search = MaxRateSearch(resolved(**{"workload.rate": 8.0, "sweep.probe_seconds": 5.0}))
    spec = next(search.points())
    workload = spec.config.workload
    assert workload.num_requests is None and workload.rate == 8.0
    assert workload.duration == pytest.approx(max(5.0, 200 / 8.0) + 0.4)
    assert spec.watch is not None and spec.watch.latency_bound_s == pytest.approx(0.2)


def test_the_rate_found_is_confirmed_by_one_probe_several_times_as_long():
    base = resolved(**{"workload.rate": 40.0, "sweep.confirm_factor": 3.0})
    search = MaxRateSearch(base)
    rates = drive(search, 17.0)
    found = outcome(search).search
    assert found is not None and found.confirmation is not None
    assert rates[-1] == found.max_rate == found.bracket[0]
    assert found.confirmation.confirmation and found.confirmation.verdict == "pass"
    assert found.confirmation.planned_s == pytest.approx(probe_window_s(base.config, rates[-1], 3.0))
    assert found.chosen_entry == found.confirmation.entry == len(rates)
    assert [probe.confirmation for probe in found.probes].count(True) == 1
    assert "confirmed by a" in found.stop_reason


def test_a_failed_confirmation_steps_down_by_the_precision_and_says_so():
    search = MaxRateSearch(resolved(**{"workload.rate": 40.0, "sweep.rate_precision": 0.05}))
    # Short probes pass up to 20 req/s; sustained, the engine holds only up to 18.5.
    rates = drive(search, 20.0, sustained_knee=18.5)
    found = outcome(search).search
    assert found is not None and found.max_rate is not None
    low = found.bracket[0]
    assert low is not None and 18.5 < low <= 20.0
    confirmations = [probe for probe in found.probes if probe.confirmation]
    assert [probe.verdict for probe in confirmations][-1] == "pass"
    assert all(probe.verdict == "fail" for probe in confirmations[:-1])
    assert confirmations[0].rate == low
    for before, after in itertools.pairwise(confirmations):
        assert after.rate == pytest.approx(before.rate / 1.05, rel=0.01)
    assert found.max_rate == confirmations[-1].rate == rates[-1] <= 18.5
    assert "stepped down" in found.stop_reason and f"{low:g}" in found.stop_reason


def test_when_every_step_down_fails_no_rate_is_named():
    search = MaxRateSearch(resolved(**{"workload.rate": 40.0}))
    drive(search, 20.0, sustained_knee=1.0)
    found = outcome(search).search
    assert found is not None and found.max_rate is None and found.chosen_entry is None
    assert [probe.confirmation for probe in found.probes].count(True) == MAX_STEP_DOWNS + 1
    assert "no rate found held its SLOs" in found.stop_reason


def test_confirm_factor_zero_names_the_bisections_rate_without_confirming():
    search = MaxRateSearch(resolved(**{"workload.rate": 40.0, "sweep.confirm_factor": 0.0}))
    drive(search, 17.0)
    found = outcome(search).search
    assert found is not None and found.confirmation is None and found.max_rate == found.bracket[0]
    assert not any(probe.confirmation for probe in found.probes)


def steady_probe(
    ttft_ms: Callable[[float], float], *, rate: float = 20.0, window_s: float = 20.0
) -> PointReport:
    """A probe of `window_s` at `rate` (evenly spaced) whose TTFT depends on the send time."""
    base = resolved(**{"workload.rate": rate, "sweep.probe_seconds": window_s, "sweep.probe_requests": 1})
    spec = next(MaxRateSearch(base).points())
    count = int(rate * window_s)
    return report(spec, [record(i, i / rate, ttft_ms(i / rate)) for i in range(count)])


def test_a_probe_whose_latency_still_rises_at_its_end_does_not_pass():
    # Every request meets TTFT <= 100 ms, but TTFT climbs steadily: the queue has not settled.
    probe = steady_probe(lambda t: 10.0 + 4.0 * t)
    assert probe.spec.watch is not None
    outcome = judge(probe, probe.spec.watch)
    assert outcome.goodput_fraction == 1.0
    assert outcome.verdict == "fail" and "trends upward" in outcome.reason and outcome.trend is not None
    assert outcome.latency_halves_ms is not None
    first, second = outcome.latency_halves_ms["ttft_ms"]
    assert first is not None and second is not None and second > first


def test_a_stationary_probe_with_noisy_latency_passes():
    rng = np.random.default_rng(1)
    probe = steady_probe(lambda t: float(rng.uniform(10.0, 90.0)))
    assert probe.spec.watch is not None
    outcome = judge(probe, probe.spec.watch)
    assert outcome.verdict == "pass" and outcome.trend is None
    assert outcome.in_flight_halves is not None and None not in outcome.in_flight_halves

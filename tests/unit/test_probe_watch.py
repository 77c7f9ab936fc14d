"""Early stop of SLO probes: the tally of misses, and real probes against the echo engine of known capacity.

Echo with 2 slots and 10 tokens 10 ms apart serves one request in 90 ms, so at most 2 / 0.09 ≈ 22 req/s.
Timing tolerances are loose (a shared 2-core machine).
"""

from __future__ import annotations

import asyncio
import math

import numpy as np

from specbench.config import EchoConfig, EngineName, RunConfig, SloConfig
from specbench.engines.echo import EchoEngine
from specbench.records import RequestRecord
from specbench.runner.dispatcher import RunOutcome, RunProgress, run_workload
from specbench.session.probe_watch import ProbeRules, ProbeWatch
from specbench.workload.arrivals import arrival_times
from specbench.workload.types import PlannedRequest, Workload
from tests.queue_reports import one_token_record

SLOTS, TOKENS, TOKEN_DELAY_MS = 2, 10, 10.0
CAPACITY = SLOTS / ((TOKENS - 1) * TOKEN_DELAY_MS / 1000)


def poisson_workload(rate: float, window_s: float) -> Workload:
    times = arrival_times(
        rate=rate,
        count=None,
        window_s=window_s,
        arrival="poisson",
        burstiness=1.0,
        rng=np.random.default_rng(3),
    )
    requests = [
        PlannedRequest(request_id=i, scheduled_s=float(t), prompt_token_ids=[1, 2], max_tokens=TOKENS)
        for i, t in enumerate(times)
    ]
    return Workload(warmup=[], requests=requests, send_window_s=window_s)


def rules(rate: float, slo: SloConfig, bound_s: float | None, target: float = 0.95) -> ProbeRules:
    return ProbeRules(
        slo=slo,
        target=target,
        rate=rate,
        transient_s=bound_s or 0.0,
        judged_end_s=math.inf,
        latency_bound_s=bound_s,
    )


def probe(rate: float, window_s: float, probe_rules: ProbeRules) -> tuple[RunOutcome, ProbeWatch]:
    """Send `rate` req/s for `window_s` to the echo engine, watched as an SLO probe."""
    engine = EchoEngine(
        RunConfig(engine=EngineName.echo, echo=EchoConfig(token_delay_ms=TOKEN_DELAY_MS, slots=SLOTS))
    )
    load = poisson_workload(rate, window_s)
    watch = ProbeWatch(probe_rules, load, inner=None)

    async def measure() -> RunOutcome:
        progress = RunProgress(planned=None, send_window_s=window_s)
        watcher = asyncio.create_task(watch.watch(progress))
        try:
            return await run_workload(
                engine, load, sink=watch, progress=progress, stop=watch.stop, abort=watch.abort
            )
        finally:
            watcher.cancel()

    return asyncio.run(measure()), watch


def finished(request_id: int, scheduled_s: float, ttft_ms: float) -> RequestRecord:
    return one_token_record(request_id, scheduled_s, scheduled_s + ttft_ms / 1000, prompt_tokens=2)


def test_the_probe_ends_once_misses_exceed_what_the_target_allows():
    load = Workload(
        warmup=[],
        requests=[PlannedRequest(i, 1.0 + i, [1], 1) for i in range(20)],
        send_window_s=30.0,
    )
    watch = ProbeWatch(rules(1.0, SloConfig(ttft_ms=100.0), 0.5, target=0.9), load, inner=None)
    for i in range(2):  # 10 % of 20 requests may miss
        watch.write(finished(i, 1.0 + i, 500.0))
    assert not watch.stop.is_set()
    watch.write(finished(2, 3.0, 500.0))
    assert watch.stop.is_set() and watch.abort.is_set()
    assert watch.reason is not None and "3 requests already missed" in watch.reason


def test_misses_during_the_transient_do_not_count_and_records_are_passed_on():
    load = Workload(
        warmup=[], requests=[PlannedRequest(i, 0.1 * i, [1], 1) for i in range(20)], send_window_s=5.0
    )
    kept: list[RequestRecord] = []

    class Keep:
        def write(self, record: RequestRecord) -> None:
            kept.append(record)

    watch = ProbeWatch(rules(10.0, SloConfig(ttft_ms=100.0), 1.0), load, inner=Keep())
    for i in range(10):  # all scheduled before the 1 s transient
        watch.write(finished(i, 0.1 * i, 500.0))
    assert not watch.stop.is_set()
    assert len(kept) == 10


def test_an_over_saturated_probe_stops_long_before_its_window_when_slo_misses_pile_up():
    slo = SloConfig(ttft_ms=50.0, tpot_ms=20.0)
    bound = (50.0 + 20.0 * (TOKENS - 1)) / 1000
    window = 6.0
    outcome, watch = probe(4 * CAPACITY, window, rules(4 * CAPACITY, slo, bound))
    assert watch.reason is not None and "missed the SLOs" in watch.reason
    assert outcome.interrupted and outcome.not_sent > 0
    assert outcome.duration_s < window / 2


def test_a_probe_whose_slos_no_request_can_miss_runs_its_whole_window_however_full_its_queue():
    # With no latency bound a growing queue decides nothing: the verdict is the SLOs', and they are met.
    slo = SloConfig(ttft_ms=100_000.0)
    window = 3.0
    outcome, watch = probe(4 * CAPACITY, window, rules(4 * CAPACITY, slo, None))
    assert watch.reason is None
    assert outcome.not_sent == 0


def test_a_probe_the_engine_keeps_up_with_runs_its_whole_window():
    slo = SloConfig(ttft_ms=2_000.0, tpot_ms=50.0)
    window = 3.0
    outcome, watch = probe(CAPACITY / 3, window, rules(CAPACITY / 3, slo, 2.0 + 0.05 * 9))
    assert watch.reason is None
    assert not outcome.interrupted and outcome.not_sent == 0
    assert outcome.duration_s >= window * 0.9

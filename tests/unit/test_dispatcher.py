"""The open-loop dispatcher, run against the echo engine; small fakes only where an engine must fail.

Timing tolerances are loose (a shared 2-core machine): the tight figures belong to
benchmarks/harness_overhead.py, not to tests.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from specbench.config import EchoConfig, EngineName, RunConfig
from specbench.engines.base import EngineRequest, StreamEvent, TokenChunk
from specbench.engines.echo import EchoEngine
from specbench.records import RequestRecord
from specbench.runner.dispatcher import (
    CANCELLED,
    ResetFiguresAfterWarmup,
    RunOutcome,
    RunProgress,
    run_workload,
)
from specbench.workload.types import PlannedRequest, Workload

SLACK_MS = 50.0


def echo(ttft_ms: float = 0.0, token_delay_ms: float = 0.0) -> EchoEngine:
    return EchoEngine(
        RunConfig(engine=EngineName.echo, echo=EchoConfig(ttft_ms=ttft_ms, token_delay_ms=token_delay_ms))
    )


def planned(request_id: int, at_s: float = 0.0, tokens: int = 3) -> PlannedRequest:
    return PlannedRequest(
        request_id=request_id, scheduled_s=at_s, prompt_token_ids=[1, 2, 3], max_tokens=tokens
    )


def workload(
    requests: list[PlannedRequest], warmup: list[PlannedRequest] | None = None, window_s: float | None = None
) -> Workload:
    return Workload(warmup=warmup or [], requests=requests, send_window_s=window_s)


def run(engine: Any, load: Workload, **kwargs: Any) -> RunOutcome:
    return asyncio.run(run_workload(engine, load, **kwargs))


class ListSink:
    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def write(self, record: RequestRecord) -> None:
        self.records.append(record)


class FailingEngine(EchoEngine):
    """Echo, except that the chosen requests raise after their first token."""

    def __init__(self, failing: set[int]) -> None:
        super().__init__(RunConfig(engine=EngineName.echo))
        self.failing = failing

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        async for event in super().generate(request):
            yield event
            if request.request_id in self.failing:
                raise RuntimeError("engine fell over")


class NoCompletionEngine(EchoEngine):
    """A broken engine whose stream stops after the tokens, without the Completion."""

    async def generate(self, request: EngineRequest) -> AsyncIterator[StreamEvent]:
        async for event in super().generate(request):
            if isinstance(event, TokenChunk):
                yield event


def test_requests_are_sent_at_their_scheduled_times_even_when_the_engine_is_slow() -> None:
    # Every request takes 300 ms, far longer than the 50 ms gaps: an open loop still sends on time.
    load = workload([planned(i, at_s=0.05 * i) for i in range(6)])
    outcome = run(echo(ttft_ms=300), load)
    records = outcome.records
    assert [r.request_id for r in records] == list(range(6))
    assert all(r.success and r.ttft_ms is not None and r.ttft_ms >= 300 - 1 for r in records)
    # The margin comes from the run, not from the machine being idle: a closed loop would send each request
    # only after the one before it ended, a full service time late; open, none waits for another.
    service_ms = min(r.ttft_ms for r in records)
    for record in records:
        lateness_ms = (record.sent_s - record.scheduled_s) * 1000
        assert 0 <= record.dispatch_lag_ms <= lateness_ms < service_ms / 2
        assert record.client_queue_ms == 0  # no --max-concurrency: all lateness is dispatch lag
    for earlier, later in itertools.pairwise(records):
        assert later.sent_s < earlier.end_s  # sent while the one before was still being served


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_no_request_is_ever_sent_early(loop: str) -> None:
    # uvloop's timers round to the nearest millisecond and would fire early without the dispatcher's care.
    factory = asyncio.new_event_loop if loop == "asyncio" else pytest.importorskip("uvloop").new_event_loop
    load = workload([planned(i, at_s=0.0017 * i) for i in range(100)])
    with asyncio.Runner(loop_factory=factory) as runner:
        outcome = runner.run(run_workload(echo(), load))
    assert min(r.dispatch_lag_ms for r in outcome.records) >= 0


def test_max_concurrency_caps_requests_in_flight() -> None:
    limit = 2
    load = workload([planned(i) for i in range(6)])
    outcome = run(echo(ttft_ms=60), load, max_concurrency=limit)
    records = outcome.records
    assert all(r.success for r in records)
    for record in records:
        in_flight = [r for r in records if r.sent_s <= record.sent_s < r.end_s]
        assert len(in_flight) <= limit


def test_waiting_for_a_slot_shows_as_client_queue_not_ttft() -> None:
    ttft_ms = 80.0
    load = workload([planned(i) for i in range(4)])
    outcome = run(echo(ttft_ms=ttft_ms), load, max_concurrency=1)
    records = sorted(outcome.records, key=lambda r: r.sent_s)
    for position, record in enumerate(records):
        # The n-th request waits for the n before it, in the client; its TTFT starts when it is sent.
        # From due to sent is lag + queue; the requests ahead take at least their TTFT each.
        assert record.dispatch_lag_ms + record.client_queue_ms >= position * ttft_ms - 1
        assert record.client_queue_ms < position * ttft_ms + (position + 1) * SLACK_MS
        assert record.ttft_ms is not None and ttft_ms - 1 <= record.ttft_ms < ttft_ms + SLACK_MS
        assert record.dispatch_lag_ms < SLACK_MS


def test_a_request_due_while_the_client_waits_for_a_slot_queues_from_its_due_time() -> None:
    # One slot, 100 ms requests: #1 (due 20 ms) waits until 100 ms, #2 (due 30 ms) until 200 ms.
    load = workload([planned(0, 0.0), planned(1, 0.02), planned(2, 0.03)])
    outcome = run(echo(ttft_ms=100), load, max_concurrency=1)
    queue = [r.client_queue_ms for r in outcome.records]
    for record, expected_ms in zip(outcome.records, [0, 80, 170], strict=True):
        assert record.dispatch_lag_ms + record.client_queue_ms >= expected_ms - 1, queue
        assert record.client_queue_ms < expected_ms + SLACK_MS, queue
        assert 0 <= record.dispatch_lag_ms < SLACK_MS


def test_a_request_whose_stream_raises_is_recorded_and_the_run_goes_on() -> None:
    load = workload([planned(i, at_s=0.01 * i) for i in range(5)])
    outcome = run(FailingEngine(failing={1, 3}), load)
    by_id = {r.request_id: r for r in outcome.records}
    assert sorted(by_id) == list(range(5))
    for request_id in (1, 3):
        assert by_id[request_id].error == "RuntimeError: engine fell over"
        assert not by_id[request_id].success
        assert by_id[request_id].output_tokens == 1  # the token that did arrive is counted
    assert all(by_id[i].success and by_id[i].output_tokens == 3 for i in (0, 2, 4))
    assert not outcome.interrupted


def test_a_stream_without_completion_is_an_error() -> None:
    outcome = run(NoCompletionEngine(RunConfig(engine=EngineName.echo)), workload([planned(0)]))
    (record,) = outcome.records
    assert record.error is not None and "without a completion" in record.error


def stop_after(delay_s: float) -> tuple[asyncio.Event, Callable[[], Awaitable[None]]]:
    stop = asyncio.Event()

    async def setter() -> None:
        await asyncio.sleep(delay_s)
        stop.set()

    return stop, setter


async def run_with_stop(engine: Any, load: Workload, stop_at_s: float, **kwargs: Any) -> RunOutcome:
    stop, setter = stop_after(stop_at_s)
    stopping = asyncio.create_task(setter())
    outcome = await run_workload(engine, load, stop=stop, **kwargs)
    await stopping
    return outcome


def test_stop_ends_sending_and_cancels_in_flight_requests_after_the_grace_period() -> None:
    # Two requests are in flight (they would take 10 s) when stop comes at 0.2 s; the third is due later.
    load = workload([planned(0, 0.0), planned(1, 0.05), planned(2, 5.0)])
    sink = ListSink()
    progress = RunProgress(planned=3, send_window_s=None)
    outcome = asyncio.run(
        run_with_stop(echo(ttft_ms=10_000), load, 0.2, grace_s=0.1, sink=sink, progress=progress)
    )
    assert outcome.interrupted
    assert outcome.not_sent == 1
    assert [r.request_id for r in outcome.records] == [0, 1]
    assert all(r.error == CANCELLED for r in outcome.records)
    assert sorted(r.request_id for r in sink.records) == [0, 1]
    assert outcome.duration_s < 2.0  # stop at 0.2 s + grace 0.1 s, not the 10 s requests
    assert progress.stopping and progress.sent == 2 and progress.failed == 2 and progress.in_flight == 0


def test_requests_that_finish_within_the_grace_period_complete_normally() -> None:
    load = workload([planned(0, 0.0), planned(1, 0.02)])
    outcome = asyncio.run(run_with_stop(echo(ttft_ms=300), load, 0.1, grace_s=5.0))
    assert outcome.interrupted
    assert [r.request_id for r in outcome.records] == [0, 1]
    assert all(r.success for r in outcome.records)


def test_stop_while_waiting_for_a_slot_sends_nothing_more() -> None:
    load = workload([planned(i) for i in range(5)])
    outcome = asyncio.run(run_with_stop(echo(ttft_ms=10_000), load, 0.1, grace_s=0.0, max_concurrency=2))
    assert outcome.not_sent == 3
    assert [r.request_id for r in outcome.records] == [0, 1]
    assert all(r.error == CANCELLED for r in outcome.records)


def test_stop_during_warmup_skips_the_measured_requests() -> None:
    load = workload([planned(0)], warmup=[planned(-1)])
    outcome = asyncio.run(run_with_stop(echo(ttft_ms=10_000), load, 0.1, grace_s=0.0))
    assert outcome.interrupted
    assert outcome.records == [] and outcome.not_sent == 1
    assert [r.error for r in outcome.warmup_records] == [CANCELLED]


def test_every_sent_request_ends_in_exactly_one_record_sorted_by_id() -> None:
    # Longer requests first, so requests finish in a different order than their ids.
    ids = [7, 3, 9, 0, 5, 1]
    load = workload([planned(request_id, at_s=0.0, tokens=20 - 3 * n) for n, request_id in enumerate(ids)])
    sink = ListSink()
    progress = RunProgress(planned=len(ids), send_window_s=None)
    outcome = run(echo(token_delay_ms=5), load, sink=sink, progress=progress)
    assert [r.request_id for r in outcome.records] == sorted(ids)
    assert sorted(r.request_id for r in sink.records) == sorted(ids)
    assert [r.request_id for r in sink.records] != sorted(ids)  # the sink got them as they finished
    assert (progress.sent, progress.finished, progress.failed) == (len(ids), len(ids), 0)
    assert progress.output_tokens == sum(r.output_tokens for r in outcome.records)


def test_every_token_is_recorded_with_its_arrival_time() -> None:
    outcome = run(echo(token_delay_ms=2), workload([planned(0, tokens=10)]))
    (record,) = outcome.records
    assert record.chunk_tokens == [1] * 10
    assert record.output_tokens == 10
    assert record.sent_s <= record.chunk_times_s[0]
    assert record.chunk_times_s == sorted(record.chunk_times_s)
    assert record.end_s is not None and record.end_s >= record.chunk_times_s[-1]


def test_warmup_records_are_separate_and_engine_stats_are_reset_after_warmup() -> None:
    engine = echo(token_delay_ms=1)
    load = workload(
        [planned(i, at_s=0.01 * i) for i in range(3)], warmup=[planned(-1, tokens=8), planned(-2)]
    )

    async def scenario() -> tuple[RunOutcome, dict[str, Any]]:
        outcome = await run_workload(engine, load, listeners=[ResetFiguresAfterWarmup(engine)])
        return outcome, await engine.figures()

    outcome, stats = asyncio.run(scenario())
    assert [r.request_id for r in outcome.warmup_records] == [-2, -1]
    assert [r.request_id for r in outcome.records] == [0, 1, 2]
    # Only the measured requests are counted: the reset came after the warm-up had finished.
    assert stats == {"echo_requests": 3, "echo_output_tokens": 9}


def test_requests_due_after_the_send_window_are_not_sent() -> None:
    load = workload([planned(0, 0.0), planned(1, 0.05), planned(2, 0.3)], window_s=0.2)
    outcome = run(echo(), load)
    assert [r.request_id for r in outcome.records] == [0, 1]
    assert outcome.not_sent == 0 and not outcome.interrupted


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_workloads_run(count: int) -> None:
    outcome = run(echo(), workload([planned(i) for i in range(count)]))
    assert len(outcome.records) == count
    assert not outcome.interrupted


@pytest.mark.parametrize("frozen_before", [False, True])
def test_run_leaves_the_garbage_collector_as_it_found_it(frozen_before: bool) -> None:
    if frozen_before:
        gc.freeze()
    try:
        before = gc.get_freeze_count()
        run(echo(), workload([planned(0), planned(1)]))
        after = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    if frozen_before:
        assert after >= before > 0  # someone else's freeze is not undone
    else:
        assert after == 0

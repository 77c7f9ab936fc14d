"""Send each planned request at its scheduled time and record what the engine streams back.

Requests are dispatched on the schedule, never when the previous one finishes (an open-loop
client), so the engine's queueing shows up in its latencies instead of silently lowering the load.

The harness must cost nothing the user can see (docs/HOW_SPECBENCH_MEASURES.md): one dispatcher
coroutine walks the precomputed schedule and sleeps on a single reusable alarm between due times, every
request already due is sent in the same pass, and each request costs one task. The dispatcher never
spins: between due times the event loop is idle or serving the engine.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Sequence

from specbench.engines.base import Completion, Engine, EngineRequest, TokenChunk
from specbench.records import RequestRecord
from specbench.runner.alarm import Alarm, static_heap
from specbench.runner.conversation import Conversations
from specbench.runner.progress import (
    Phase,
    PhaseListener,
    RecordSink,
    ResetFiguresAfterWarmup,
    RunOutcome,
    RunProgress,
)
from specbench.workload.types import PlannedRequest, Workload

__all__ = [
    "CANCELLED",
    "Phase",
    "PhaseListener",
    "RecordSink",
    "ResetFiguresAfterWarmup",
    "RunOutcome",
    "RunProgress",
    "run_workload",
]

CANCELLED = "cancelled: the run was interrupted before this request finished"

# Requests sent back to back before the dispatcher lets the loop run the engine: bounds how long a
# burst (rate inf, or a backlog) keeps already-sent requests from starting.
_BURST = 64
# Finished records stay alive until the run ends; freezing them every so many (an O(1) call) keeps the
# collector's full passes from walking them all again, which takes tens of ms after ~100k requests.
_FREEZE_EVERY = 1024


class _RequestBatch:
    """One batch of requests in flight against the engine (the warm-up, or the measured run)."""

    def __init__(
        self,
        engine: Engine,
        *,
        start: float,
        progress: RunProgress,
        sink: RecordSink | None,
        max_concurrency: int | None,
        alarm: Alarm,
        stop: asyncio.Event,
        abort: asyncio.Event,
        clock: Callable[[], float],
        freeze_records: bool = False,
        keep_output_ids: bool = True,
    ) -> None:
        self.engine = engine
        self.start = start
        self.progress = progress
        self.sink = sink
        self.max_concurrency = max_concurrency
        self.alarm = alarm
        self.stop = stop
        self.abort = abort
        self.clock = clock
        self.records: list[RequestRecord] = []
        self.in_flight: dict[asyncio.Task[None], RequestRecord] = {}
        self.waiting = False  # the dispatcher sleeps until a request finishes
        self.freeze_records = freeze_records  # only inside static_heap(), which unfreezes at the end
        self.keep_output_ids = keep_output_ids
        self.conversations = Conversations(self)

    async def send_all(self, requests: Sequence[PlannedRequest], window_s: float | None) -> int:
        """Send each request at start + scheduled_s; returns how many were not sent because of stop.

        A request that comes due while the dispatcher waits for a --max-concurrency slot is queued in
        the client from its due time on: that wait is client queue (sent − ready), not dispatch lag.
        Without a wait for a slot, client queue is exactly zero and all lateness is dispatch lag.
        """
        clock, stop, alarm, start = self.clock, self.stop, self.alarm, self.start
        limit = self.max_concurrency
        backlog_since: float | None = None  # when the current wait for slots began
        burst = 0
        for index, planned in enumerate(requests):
            if window_s is not None and planned.scheduled_s >= window_s:
                break
            due = start + planned.scheduled_s
            now = clock()
            if due > now:
                await alarm.sleep_until(due)
                ready = clock()
                backlog_since = None
                burst = 0
            else:
                ready = now if backlog_since is None else max(due, backlog_since)
            if limit is not None and len(self.in_flight) >= limit:
                if backlog_since is None:
                    backlog_since = ready
                await self._wait_for_slot(limit)
                burst = 0
            if stop.is_set():
                return len(requests) - index
            queued_s = 0.0 if backlog_since is None else clock() - ready
            self._send(planned, ready, queued_s)
            burst += 1
            if burst >= _BURST:
                await asyncio.sleep(0)
                burst = 0
        return 0

    async def _wait_for_slot(self, limit: int) -> None:
        self.waiting = True
        try:
            while len(self.in_flight) >= limit and not self.stop.is_set():
                await self.alarm.sleep(None)
        finally:
            self.waiting = False

    def _send(self, planned: PlannedRequest, ready: float, queued_s: float) -> None:
        ready_s = ready - self.start
        record = RequestRecord(
            request_id=planned.request_id,
            scheduled_s=planned.scheduled_s,
            ready_s=ready_s,
            sent_s=ready_s + queued_s,  # both replaced when the engine really gets the request
            prompt_tokens=len(planned.prompt_token_ids),
            expected_output_tokens=planned.max_tokens,
            category=planned.category,
        )
        request = EngineRequest(
            request_id=planned.request_id,
            prompt_token_ids=planned.prompt_token_ids,
            max_tokens=planned.max_tokens,
            prompt_text=planned.prompt_text,
            keep_output=bool(planned.later_turns),
        )
        if planned.later_turns:
            record.session_id, record.turn = planned.request_id, 1
            serve = self.conversations.converse(planned, request, record, queued_s)
        else:
            serve = self.serve(request, record, queued_s)
        task = asyncio.create_task(serve)
        self.in_flight[task] = record
        self.progress.sent += 1

    async def serve(
        self, request: EngineRequest, record: RequestRecord, queued_s: float
    ) -> Completion | None:
        """One request to the engine; its record is finished (success or error) before this returns."""
        start = self.start
        times, counts = record.chunk_times_s, record.chunk_tokens
        completion: Completion | None = None
        # Taken as the engine gets the request, so TTFT never includes the harness's own delay; the
        # time this task took to start is the harness's too, so it goes to dispatch lag.
        record.sent_s = self.clock() - start
        record.ready_s = record.sent_s - queued_s
        try:
            async for event in self.engine.generate(request):
                if type(event) is TokenChunk:
                    times.append(event.time - start)
                    counts.append(event.num_tokens)
                else:
                    completion = event
            # As in vLLM's `bench serve`, a request ends when its last token arrives, not when the
            # engine's stream finishes its own bookkeeping.
            record.end_s = times[-1] if times else self.clock() - start
            if completion is None:
                raise RuntimeError("the engine's stream ended without a completion")
            record.prompt_tokens = completion.prompt_tokens
            record.output_tokens = completion.output_tokens
            record.drafted_tokens = completion.drafted_tokens
            record.accepted_tokens = completion.accepted_tokens
            record.target_forward_passes = completion.target_forward_passes
            record.finish_reason = completion.finish_reason
            record.drafts = completion.drafts
            if self.keep_output_ids:
                record.output_token_ids = completion.output_token_ids
            if request.keep_output and completion.output_token_ids is None and completion.output_text is None:
                raise RuntimeError(
                    "the engine did not return the answer, which the next turn's history needs"
                )
            record.cached_prompt_tokens = completion.cached_prompt_tokens
            record.reasoning_tokens = completion.reasoning_tokens
            if completion.first_answer_time is not None:
                record.first_answer_s = completion.first_answer_time - start
        except asyncio.CancelledError:
            record.error = CANCELLED
            raise
        except Exception as exc:  # a failed request is recorded and the run goes on
            record.error = f"{type(exc).__name__}: {exc}"
        finally:
            task = asyncio.current_task()
            # A conversation's task stays in flight between its turns; Conversations.converse takes it out.
            if task is not None and not request.keep_output:
                self.in_flight.pop(task, None)
            self._finish(record)
        return completion

    def _finish(self, record: RequestRecord) -> None:
        progress = self.progress
        if record.error is not None:
            record.output_tokens = sum(record.chunk_tokens)
            progress.failed += 1
        else:
            progress.finished += 1
        progress.output_tokens += record.output_tokens
        self.records.append(record)
        if self.freeze_records and len(self.records) % _FREEZE_EVERY == 0:
            gc.freeze()
        if self.sink is not None:
            self.sink.write(record)
        if self.waiting:
            self.alarm.wake()

    async def drain(self, grace_s: float) -> bool:
        """Wait for every request in flight; after stop, give them `grace_s` (none after abort), then cancel.

        Returns whether the stop event cut the run short.
        """
        self.waiting = True
        try:
            while self.in_flight and not self.stop.is_set():
                await self.alarm.sleep(None)
            interrupted = self.stop.is_set()
            self.conversations.wake_all()  # sessions between turns send nothing more
            if self.in_flight:
                self.progress.stopping = True
                deadline = self.clock() + grace_s
                while (
                    self.in_flight and not self.abort.is_set() and (remaining := deadline - self.clock()) > 0
                ):
                    await self.alarm.sleep(remaining)
        finally:
            self.waiting = False
        await self.cancel()
        return interrupted

    async def cancel(self) -> None:
        """Cancel whatever is still in flight; each request still leaves its one record."""
        tasks = list(self.in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # A task cancelled before its first step never ran serve's cleanup; a session cancelled during a
        # think time has already finished its last turn's record.
        for task, record in list(self.in_flight.items()):
            del self.in_flight[task]
            if record.end_s is None and record.error is None:
                record.error = CANCELLED
                self._finish(record)


async def _notify(listeners: Sequence[PhaseListener], phase: Phase, at: float) -> None:
    for listener in listeners:
        await listener.on_phase(phase, at)


def _by_id(records: list[RequestRecord]) -> list[RequestRecord]:
    return sorted(records, key=lambda r: r.request_id)


async def _run_batch(
    batch: _RequestBatch, requests: Sequence[PlannedRequest], window_s: float | None, grace_s: float
) -> tuple[int, bool]:
    """Send, then drain; returns (requests not sent, interrupted). Nothing is left running on any exit."""
    try:
        not_sent = await batch.send_all(requests, window_s)
        interrupted = await batch.drain(grace_s)
    finally:
        await batch.cancel()
    return not_sent, interrupted


async def run_workload(
    engine: Engine,
    workload: Workload,
    *,
    max_concurrency: int | None = None,
    sink: RecordSink | None = None,
    progress: RunProgress | None = None,
    stop: asyncio.Event | None = None,
    grace_s: float = 5.0,
    listeners: Sequence[PhaseListener] = (),
    abort: asyncio.Event | None = None,
    keep_output_ids: bool = True,
) -> RunOutcome:
    """Run warm-up, tell the listeners, then dispatch the measured requests on schedule.

    Setting `stop` ends sending; in-flight requests get `grace_s` to finish and are then cancelled, at once
    when `abort` is set too (a second Ctrl-C).
    Every request that was sent ends in exactly one record; requests are in request-id order.
    `keep_output_ids` False leaves the records without the output token ids engines report.
    """
    stop = stop or asyncio.Event()
    abort = abort or asyncio.Event()
    progress = progress or RunProgress(planned=len(workload.requests), send_window_s=workload.send_window_s)
    clock = time.perf_counter
    alarm = Alarm(asyncio.get_running_loop(), stop, clock, abort)

    def batch(start: float, progress: RunProgress, sink: RecordSink | None, measured: bool) -> _RequestBatch:
        return _RequestBatch(
            engine,
            start=start,
            progress=progress,
            sink=sink,
            max_concurrency=max_concurrency,
            alarm=alarm,
            stop=stop,
            abort=abort,
            clock=clock,
            freeze_records=measured,
            keep_output_ids=keep_output_ids,
        )

    try:
        warmup = batch(clock(), RunProgress(planned=len(workload.warmup), send_window_s=None), None, False)
        await _run_batch(warmup, workload.warmup, None, grace_s)
        if stop.is_set():
            return RunOutcome(
                records=[],
                warmup_records=_by_id(warmup.records),
                duration_s=0.0,
                interrupted=True,
                started_at_unix=time.time(),
                not_sent=len(workload.requests),
            )
        await _notify(listeners, Phase.WARMUP_DONE, clock())
        with static_heap():
            started_at_unix = time.time()
            start = progress.start = clock()
            await _notify(listeners, Phase.MEASURE_START, start)
            measured = batch(start, progress, sink, True)
            not_sent, interrupted = await _run_batch(
                measured, workload.requests, workload.send_window_s, grace_s
            )
            not_sent += measured.conversations.turns_not_sent
            end = clock()
            duration = end - start
            await _notify(listeners, Phase.MEASURE_END, end)
    finally:
        alarm.close()
    return RunOutcome(
        records=_by_id(measured.records),
        warmup_records=_by_id(warmup.records),
        duration_s=duration,
        interrupted=interrupted,
        started_at_unix=started_at_unix,
        not_sent=not_sent,
    )

"""Ends an SLO-search probe as soon as its verdict can only be a fail, instead of running its whole window.

The rule (docs/SWEEPS.md, "Early stop"): the SLO misses already make the target impossible — requests that
finished outside an SLO, plus requests still in flight that are older than the latency the SLOs allow (they
can only finish outside it), exceed the misses the target permits over the whole probe. A rising number of
requests in flight is no verdict by itself (every probe ramps up to its steady backlog, and Poisson bursts
raise it for seconds): on an H200 a rule on it stopped probes the engine kept up with.
It sets `stop` and `abort`: no more requests are sent and those in flight are cancelled at once (their
outcome no longer matters). Every request still leaves its record.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from dataclasses import dataclass

from specbench.config import SloConfig
from specbench.metrics import meets_slo
from specbench.records import RequestRecord
from specbench.runner.dispatcher import RecordSink, RunProgress
from specbench.workload.types import Workload

SAMPLE_S = 0.1
# In flight counts are sampled on the client: allow for the time a sent request takes to reach the engine.
_SENT_MARGIN_S = 2 * SAMPLE_S


@dataclass(frozen=True, slots=True)
class ProbeRules:
    """What a probe is judged on, known before it starts."""

    slo: SloConfig
    target: float  # share of requests that must meet every SLO
    rate: float  # requested req/s
    # Requests scheduled before this are the engine filling up: sent, but not judged.
    transient_s: float
    # … and those scheduled from this on keep the load up while the judged ones finish: sent, not judged.
    judged_end_s: float
    # The longest end-to-end latency a request can have and still meet every SLO, when the SLOs bound it.
    latency_bound_s: float | None

    def judged(self, scheduled_s: float) -> bool:
        """Whether a request due then counts in the verdict: sent after the transient, before the tail."""
        return self.transient_s <= scheduled_s < self.judged_end_s

    def met(self, record: RequestRecord) -> bool:
        return record.success and meets_slo(record, self.slo)


class ProbeWatch:
    """A RecordSink (tallies finished requests, passes them on) plus a task that watches the queue."""

    def __init__(self, rules: ProbeRules, workload: Workload, inner: RecordSink | None) -> None:
        self.rules = rules
        self.stop = asyncio.Event()
        self.abort = asyncio.Event()
        self.reason: str | None = None
        self._inner = inner
        judged = sum(1 for r in workload.requests if rules.judged(r.scheduled_s))
        self._transient_planned = sum(1 for r in workload.requests if r.scheduled_s < rules.transient_s)
        self._allowed_misses = math.floor((1 - rules.target) * judged + 1e-9)
        self._misses = 0
        self._transient_finished = 0
        # Sampled counters: seconds since the start, and requests sent by then.
        self._times: list[float] = []
        self._sent: list[int] = []

    def write(self, record: RequestRecord) -> None:
        if self._inner is not None:
            self._inner.write(record)
        if record.scheduled_s < self.rules.transient_s:
            self._transient_finished += 1
        elif self.rules.judged(record.scheduled_s) and not self.rules.met(record):
            self._misses += 1
            if self._misses > self._allowed_misses:
                self._end(self._impossible(self._misses))

    async def watch(self, progress: RunProgress) -> None:
        """Sample the counters until cancelled; end the probe when its verdict can only be a fail."""
        while progress.start is None:
            await asyncio.sleep(SAMPLE_S)
        while not self.stop.is_set():
            now = time.perf_counter() - progress.start
            self._times.append(now)
            self._sent.append(progress.sent)
            reason = self._late_in_flight(now, progress)
            if reason is not None:
                self._end(reason)
                return
            await asyncio.sleep(SAMPLE_S)

    def _end(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.stop.set()
        self.abort.set()

    def _impossible(self, misses: int) -> str:
        return (
            f"{misses} requests already missed the SLOs, more than the {self._allowed_misses} that a "
            f"{self.rules.target:.0%} goodput target allows"
        )

    def _late_in_flight(self, now: float, progress: RunProgress) -> str | None:
        """Judged requests in flight for longer than any request meeting the SLOs takes are misses already."""
        bound = self.rules.latency_bound_s
        if bound is None or now < self.rules.transient_s + bound + _SENT_MARGIN_S:
            return None
        if now > self.rules.judged_end_s + bound:  # the old ones in flight now include the tail's
            return None
        if progress.sent < self._transient_planned:
            return None
        last_before = bisect.bisect_right(self._times, now - bound - _SENT_MARGIN_S) - 1
        sent_by_cutoff = self._sent[last_before] if last_before >= 0 else 0
        old_in_flight = progress.in_flight - (progress.sent - sent_by_cutoff)
        transient_in_flight = self._transient_planned - self._transient_finished
        late = max(0, old_in_flight - transient_in_flight)
        if self._misses + late > self._allowed_misses:
            return self._impossible(self._misses + late)
        return None

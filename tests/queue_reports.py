"""Sustained points against a model queue of known capacity, for the sweep's and the search's tests."""

from __future__ import annotations

from specbench.records import RequestRecord
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.session.points import PointReport, PointSpec


def one_token_record(
    request_id: int, sent_s: float, end_s: float, *, prompt_tokens: int = 4
) -> RequestRecord:
    """A request sent at `sent_s` (on schedule) whose one output token arrives at `end_s` (TTFT = E2EL)."""
    return RequestRecord(
        request_id=request_id,
        scheduled_s=sent_s,
        ready_s=sent_s,
        sent_s=sent_s,
        prompt_tokens=prompt_tokens,
        expected_output_tokens=1,
        chunk_times_s=[end_s],
        chunk_tokens=[1],
        end_s=end_s,
        output_tokens=1,
    )


def overloaded(spec: PointSpec, capacity: float, entry: int = 1) -> PointReport:
    """A sustained point against an engine that serves `capacity` req/s, one at a time, first come first
    served: it keeps up below that rate and builds a queue above it."""
    workload = spec.config.workload
    assert workload.duration is not None
    free, records = 0.0, []
    for i in range(int(workload.rate * workload.duration)):
        sent = i / workload.rate
        free = max(free, sent) + 1 / capacity
        records.append(one_token_record(i, sent, free))
    result = BenchmarkResult(
        run=RunSection(id="run", status="completed"),
        engine=EngineSection(name="echo", model="none", method="target-ar"),
        metrics={},
    )
    return PointReport(spec, entry=entry, result=result, records=records)

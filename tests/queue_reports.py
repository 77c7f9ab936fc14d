"""Sustained points against a model queue of known capacity, for the sweep's and the search's tests."""

from __future__ import annotations

from specbench.records import RequestRecord
from specbench.results.model import BenchmarkResult, EngineSection, RunSection
from specbench.session.points import PointReport, PointSpec


def overloaded(spec: PointSpec, capacity: float, entry: int = 1) -> PointReport:
    """A sustained point against an engine that serves `capacity` req/s, one at a time, first come first
    served: it keeps up below that rate and builds a queue above it."""
    workload = spec.config.workload
    assert workload.duration is not None
    free, records = 0.0, []
    for i in range(int(workload.rate * workload.duration)):
        sent = i / workload.rate
        free = max(free, sent) + 1 / capacity
        records.append(
            RequestRecord(
                request_id=i,
                scheduled_s=sent,
                ready_s=sent,
                sent_s=sent,
                prompt_tokens=4,
                expected_output_tokens=1,
                chunk_times_s=[free],
                chunk_tokens=[1],
                end_s=free,
                output_tokens=1,
            )
        )
    result = BenchmarkResult(
        run=RunSection(id="run", status="completed"),
        engine=EngineSection(name="echo", model="none", method="target-ar"),
        metrics={},
    )
    return PointReport(spec, entry=entry, result=result, records=records)

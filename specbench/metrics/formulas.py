"""The formulas of the figures computed from per-request records, with vLLM's `vllm bench serve`
definitions. Each registry entry names its own: a per-request extractor for a distribution, or an
aggregation for a single figure (see registry.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from specbench.config import SloConfig
from specbench.records import RequestRecord
from specbench.speculative import spec_stats

MetricValue = float | int | list[float] | str | None


@dataclass(frozen=True, slots=True)
class RunRecords:
    """What a run's figures are computed from: every request sent, the completed ones, and the run's own
    numbers (the measured window, the SLOs, the rate the schedule asked for)."""

    sent: Sequence[RequestRecord]
    done: Sequence[RequestRecord]
    duration_s: float = 0.0
    slo: SloConfig | None = None
    requested_rate: float | None = None

    @classmethod
    def of(cls, records: Sequence[RequestRecord], **run: Any) -> RunRecords:
        return cls(records, [r for r in records if r.success], **run)

    @property
    def input_tokens(self) -> int:
        return sum(r.prompt_tokens for r in self.done)

    @property
    def output_tokens(self) -> int:
        return sum(r.output_tokens for r in self.done)


def per_second(amount: int, duration_s: float) -> float | None:
    if amount == 0:
        return 0.0
    # Something finished in no time at all: no meaningful rate.
    return amount / duration_s if duration_s > 0 else None


def achieved_rate(records: Sequence[RequestRecord]) -> float | None:
    """Requests per second the client really sent at: (n − 1) gaps over the span of send times.

    Counting gaps rather than requests makes a perfectly kept constant-rate schedule read exactly its
    requested rate. None with fewer than two requests or when all were sent at the same instant.
    """
    sent = [r.sent_s for r in records]
    if len(sent) < 2:
        return None
    span = max(sent) - min(sent)
    return (len(sent) - 1) / span if span > 0 else None


def meets_slo(record: RequestRecord, slo: SloConfig) -> bool:
    """True when the request is within every SLO that is set (limits inclusive, as vLLM)."""
    # vLLM counts a 1-token output's TPOT as 0 for goodput, though TPOT statistics leave it out.
    tpot = 0.0 if record.output_tokens < 2 else record.tpot_ms
    checks = ((slo.ttft_ms, record.ttft_ms), (slo.tpot_ms, tpot), (slo.e2el_ms, record.e2el_ms))
    return all(value is not None and value <= limit for limit, value in checks if limit is not None)


def goodput(run: RunRecords) -> float | None:
    """Requests per second that met every SLO; None when no SLO is set."""
    slo = run.slo
    if slo is None or not slo.any:
        return None
    return per_second(sum(meets_slo(r, slo) for r in run.done), run.duration_s)


def chunk_sizes(run: RunRecords) -> list[int]:
    """Output tokens of every streamed chunk of the completed requests: 1 each unless the engine speculates
    or a busy server coalesces."""
    return [n for r in run.done for n in r.chunk_tokens]


def streamed(run: RunRecords) -> bool:
    return any(r.chunk_tokens for r in run.done)


def told_reasoning(run: RunRecords) -> list[RequestRecord]:
    """Completed requests whose engine told how many of their output tokens were reasoning."""
    return [r for r in run.done if r.reasoning_tokens is not None]


def reasoned(run: RunRecords) -> bool:
    """A reasoning model's run: its engine told reasoning tokens (only then are there ttfat and the split)."""
    return bool(told_reasoning(run)) or any(r.ttfat_ms is not None for r in run.done)


def drafting(run: RunRecords) -> bool:
    """Some completed request reports drafting: a speculative run, whose spec_* figures are computed."""
    return any(r.drafted_tokens is not None or r.accepted_tokens is not None for r in run.done)


def speculative_metrics(done: Sequence[RequestRecord]) -> dict[str, MetricValue]:
    """spec_* sums over requests that report drafting; empty when none does (not a speculative run)."""
    drafting_records = [r for r in done if r.drafted_tokens is not None or r.accepted_tokens is not None]
    if not drafting_records:
        return {}
    drafted = sum(r.drafted_tokens or 0 for r in drafting_records)
    accepted = sum(r.accepted_tokens or 0 for r in drafting_records)
    # An engine's per-request draft count where it reports one; else each target pass of a drafting request
    # stands for one draft; unknown if any request lacks both.
    passes = [
        r.drafts if r.drafts is not None else r.target_forward_passes
        for r in drafting_records
        if (r.drafted_tokens or 0) > 0
    ]
    drafts = None if any(p is None for p in passes) else sum(p for p in passes if p is not None)
    return spec_stats(drafts, drafted, accepted)


def speculative(key: str) -> Callable[[RunRecords], MetricValue]:
    """The spec_* figure `key` from the records' sums."""

    def formula(run: RunRecords) -> MetricValue:
        return speculative_metrics(run.done).get(key)

    return formula

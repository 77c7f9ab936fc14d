"""`--find-max-rate`: the highest request rate at which at least --goodput-target of the requests meet every
SLO, found in one engine session (docs/SWEEPS.md).

Bracket, then bisect. The bracket starts from the measured saturation throughput (a rate-inf point; no open-
loop rate above it can be served for long) or, with --rate R, from R. Its upper end is a rate that failed,
its lower end one that passed: while no probe failed the rate doubles, while none passed it halves. Then the
geometric midpoint of the bracket is probed until the bracket is narrower than --rate-precision of its lower
end; the rate found is that lower end, so the true limit lies in [found, found × (1 + precision)).

Each probe sends at its rate for max(--probe-seconds, --probe-requests / rate) plus its transient: the
engine starts a probe empty, and reaches the backlog it holds at that rate after about one end-to-end
latency (the time it takes to serve that backlog). Requests sent during the transient are measured but not
judged. Where the SLOs bound the end-to-end latency (an E2EL SLO, or TTFT and TPOT SLOs with a fixed
output length), that bound is the transient: a probe that passes has its requests finish within it;
otherwise the transient is the probe's own 95th-percentile E2EL.
"""

from __future__ import annotations

import math

import numpy as np

from specbench.config import RunConfig
from specbench.results.sweep import ProbeOutcome, SearchSummary, SessionKind, SessionSummary
from specbench.session.points import PointGenerator, PointReport, PointSpec, with_rate
from specbench.session.probe_watch import ProbeRules
from specbench.session.sweep import round_rate, saturation_figures, saturation_point
from specbench.settings import ResolvedConfig

PROBE = "slo search probe"
# While no probe passes, the rate halves; after this many halvings the SLOs are out of reach.
MAX_HALVINGS = 6


def latency_bound_s(config: RunConfig) -> float | None:
    """The longest end-to-end latency a request can have and still meet every SLO, when the SLOs bound it."""
    slo, output_len = config.slo, config.workload.output_len
    bounds = [slo.e2el_ms] if slo.e2el_ms is not None else []
    if slo.ttft_ms is not None and slo.tpot_ms is not None and output_len is not None:
        bounds.append(slo.ttft_ms + slo.tpot_ms * max(output_len - 1, 0))
    return min(bounds) / 1000 if bounds else None


def probe_window_s(config: RunConfig, rate: float) -> float:
    """How long a probe at `rate` sends: its minimum length, plus the transient when it is known up front."""
    sweep = config.sweep
    return max(sweep.probe_seconds, sweep.probe_requests / rate) + (latency_bound_s(config) or 0.0)


def probe_rules(config: RunConfig, rate: float) -> ProbeRules:
    bound = latency_bound_s(config)
    return ProbeRules(
        slo=config.slo,
        target=config.sweep.goodput_target,
        rate=rate,
        transient_s=bound or 0.0,
        latency_bound_s=bound,
    )


def judge(report: PointReport, rules: ProbeRules) -> ProbeOutcome:
    """Pass when at least the target share of the requests sent after the transient met every SLO."""
    config = report.spec.config
    metrics = report.result.metrics if report.result is not None else {}
    duration, sent = metrics.get("duration"), metrics.get("achieved_rate")
    outcome = ProbeOutcome(
        entry=report.entry,
        rate=config.workload.rate,
        sent_rate=sent if isinstance(sent, float) else None,
        verdict="fail",
        planned_s=config.workload.duration or 0.0,
        duration_s=duration if isinstance(duration, float) else None,
        stopped_early=report.stopped_early,
    )
    if report.error is not None or report.result is None:
        outcome.verdict, outcome.reason = "error", report.error or "no result"
        return outcome
    transient = rules.latency_bound_s
    if transient is None:
        latencies = [r.e2el_ms for r in report.records if r.success and r.e2el_ms is not None]
        transient = float(np.percentile(latencies, 95)) / 1000 if latencies else math.inf
    judged = [r for r in report.records if r.scheduled_s >= transient]
    outcome.transient_s = transient if math.isfinite(transient) else None
    outcome.counted_requests = len(judged)
    if judged:
        outcome.goodput_fraction = sum(rules.met(r) for r in judged) / len(judged)
    if report.stopped_early is not None:
        outcome.reason = f"stopped early: {report.stopped_early}"
    elif report.result.run.status != "completed":
        outcome.verdict, outcome.reason = "interrupted", "interrupted before its window ended"
    elif outcome.goodput_fraction is None:
        outcome.reason = "no request was sent after the transient: the probe never reached a steady state"
    else:
        passed = outcome.goodput_fraction >= rules.target
        outcome.verdict = "pass" if passed else "fail"
        outcome.reason = (
            f"{outcome.goodput_fraction:.1%} of {len(judged)} requests met every SLO "
            f"({'at least' if passed else 'below'} the {rules.target:.0%} target)"
        )
    return outcome


class MaxRateSearch:
    kind: SessionKind = "slo-search"

    def __init__(self, base: ResolvedConfig) -> None:
        self._base = base
        self._config = base.config
        self._probes: list[ProbeOutcome] = []
        self._passing: ProbeOutcome | None = None  # the highest rate that passed
        self._failing: float | None = None  # the lowest rate that failed
        self._halvings = 0
        self._saturation: PointReport | None = None
        # Every way the search ends sets its reason; a search cut short keeps this one.
        self._stop_reason = "interrupted before the search finished"

    def points(self) -> PointGenerator:
        rate = self._config.workload.rate
        if math.isinf(rate):
            self._saturation = yield saturation_point(self._base)
            throughput, _ = saturation_figures(self._saturation)
            if throughput is None:
                self._stop_reason = (
                    "the saturation point measured no throughput: there is no rate to start from"
                )
                return
            rate = round_rate(throughput)
        next_rate: float | None = rate
        while next_rate is not None:
            if len(self._probes) >= self._config.sweep.max_probes:
                self._stop_reason = f"stopped after {len(self._probes)} probes (--max-probes)"
                return
            rules = probe_rules(self._config, next_rate)
            window = probe_window_s(self._config, next_rate)
            resolved = with_rate(self._base, next_rate, PROBE, num_prompts=0, duration=window)
            report = yield PointSpec(resolved, watch=rules)
            outcome = judge(report, rules)
            self._probes.append(outcome)
            if outcome.verdict == "error":
                self._stop_reason = f"the probe at {next_rate:g} req/s failed: {outcome.reason}"
                return
            if outcome.verdict == "interrupted":
                return  # decides nothing: the search ends with what it had
            if outcome.verdict == "pass":
                if self._passing is None or outcome.rate > self._passing.rate:
                    self._passing = outcome
            elif self._failing is None or outcome.rate < self._failing:
                self._failing = outcome.rate
            next_rate = self._next_rate(next_rate)

    def _next_rate(self, rate: float) -> float | None:
        """Double while nothing failed, halve while nothing passed, then bisect the bracket."""
        low = self._passing.rate if self._passing is not None else None
        high = self._failing
        if high is None:
            return round_rate(rate * 2)
        if low is None:
            self._halvings += 1
            if self._halvings > MAX_HALVINGS:
                self._stop_reason = (
                    f"no rate down to {rate:g} req/s met the target: the SLOs are out of this setup's reach"
                )
                return None
            return round_rate(high / 2)
        if high - low <= self._config.sweep.rate_precision * low:
            self._stop_reason = f"converged: the bracket is within {self._config.sweep.rate_precision:.0%}"
            return None
        middle = round_rate(math.sqrt(low * high))
        if not low < middle < high:
            self._stop_reason = "converged: no rate left between the bracket's ends at three digits"
            return None
        return middle

    def summarize(self, summary: SessionSummary) -> None:
        summary.saturation_throughput, summary.saturation_output_throughput = saturation_figures(
            self._saturation
        )
        slo = self._config.slo
        summary.search = SearchSummary(
            slo={key: value for key, value in slo.model_dump().items() if value is not None},
            goodput_target=self._config.sweep.goodput_target,
            rate_precision=self._config.sweep.rate_precision,
            max_rate=self._passing.rate if self._passing is not None else None,
            bracket=[self._passing.rate if self._passing is not None else None, self._failing],
            chosen_entry=self._passing.entry if self._passing is not None else None,
            stop_reason=self._stop_reason,
            probes=list(self._probes),
        )

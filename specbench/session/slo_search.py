"""`--find-max-rate`: the highest request rate at which at least --goodput-target of the requests meet every
SLO, found in one engine session (docs/SWEEPS.md).

Bracket, then bisect. The bracket starts from the measured saturation throughput (a rate-inf point; no open-
loop rate above it can be served for long) or, with --rate R, from R. Its upper end is a rate that failed,
its lower end one that passed: while no probe failed the rate doubles, while none passed it halves. Then the
geometric midpoint of the bracket is probed until the bracket is narrower than --rate-precision of its lower
end; the rate found is that lower end, so the true limit lies in [found, found × (1 + precision)).

Each probe sends at its rate for max(--probe-seconds, --probe-requests / rate) plus a transient before and
a tail after the part that is judged. The transient: the engine starts a probe empty, and reaches the backlog
it holds at that rate after about one end-to-end latency. The tail: once sending stops the engine drains, and
a request still being served then runs faster than it would under the load (continuous batching shares each
step among the requests in flight), so the requests judged are those that finish while the load still
arrives. Where the SLOs bound the end-to-end latency (an E2EL SLO, or TTFT and TPOT SLOs with a fixed output
length), that bound is both: a judged request that meets the SLOs has finished within it. Otherwise both are
the probe's own 95th-percentile E2EL. The transient is the least that is left out: it lasts until the number
of requests in flight reached its steady level (session/steady_state.py), and a probe whose latency still
trends upward at the end of its judged part does not pass.

Short probes judge one draw of a few hundred requests near the knee, where a queue's slow swings decide the
verdict: the rate found is confirmed by one probe --confirm-factor times as long before it is named, and the
search steps down by the precision while that confirmation fails (docs/SWEEPS.md, "Confirmation").
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np

from specbench.config import RunConfig
from specbench.results.sweep import ProbeOutcome, SearchSummary, SessionKind, SessionSummary
from specbench.session.points import PointGenerator, PointReport, PointSpec, with_rate
from specbench.session.probe_watch import ProbeRules
from specbench.session.steady_state import steady_state
from specbench.session.sweep import Saturation, round_rate, saturation_points, summarize_saturation
from specbench.settings import ResolvedConfig

PROBE = "slo search probe"
CONFIRMATION = "slo search confirmation"
# While no probe passes, the rate halves; after this many halvings the SLOs are out of reach.
MAX_HALVINGS = 6
# A failed confirmation steps the rate down by the precision, at most this many times.
MAX_STEP_DOWNS = 3


def latency_bound_s(config: RunConfig) -> float | None:
    """The longest end-to-end latency a request can have and still meet every SLO, when the SLOs bound it."""
    slo, output_len = config.slo, config.workload.output_len
    bounds = [slo.e2el_ms] if slo.e2el_ms is not None else []
    if slo.ttft_ms is not None and slo.tpot_ms is not None and output_len is not None:
        bounds.append(slo.ttft_ms + slo.tpot_ms * max(output_len - 1, 0))
    return min(bounds) / 1000 if bounds else None


def probe_window_s(config: RunConfig, rate: float, factor: float = 1.0) -> float:
    """How long a probe at `rate` sends: `factor` × its minimum judged length, plus the transient before and
    the tail after it where they are known up front."""
    sweep = config.sweep
    judged = factor * max(sweep.probe_seconds, sweep.probe_requests / rate)
    return judged + 2 * (latency_bound_s(config) or 0.0)


def probe_rules(config: RunConfig, rate: float, window_s: float) -> ProbeRules:
    bound = latency_bound_s(config)
    return ProbeRules(
        slo=config.slo,
        target=config.sweep.goodput_target,
        rate=rate,
        transient_s=bound or 0.0,
        judged_end_s=window_s - (bound or 0.0),
        latency_bound_s=bound,
    )


def judge(report: PointReport, rules: ProbeRules) -> ProbeOutcome:
    """Pass when at least the target share of the requests sent between the transient and the tail met every
    SLO."""
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
    window = config.workload.duration or math.inf  # a point without a window is judged to its end
    transient, end = rules.transient_s, rules.judged_end_s
    if rules.latency_bound_s is None:
        latencies = [r.e2el_ms for r in report.records if r.success and r.e2el_ms is not None]
        tail = float(np.percentile(latencies, 95)) / 1000 if latencies else math.inf
        transient, end = tail, window - tail
    steady = None
    if math.isfinite(transient) and math.isfinite(window) and end > transient:
        # The least transient known in advance, lengthened until the queue reached its steady level.
        steady = steady_state(
            report.records, window_s=window, slo=rules.slo, at_least_s=transient, judged_end_s=end
        )
        transient = steady.transient_s
        outcome.in_flight_halves = [steady.first.in_flight, steady.second.in_flight]
        outcome.latency_halves_ms = {
            key: [steady.first.latency_ms.get(key), steady.second.latency_ms.get(key)]
            for key in steady.second.latency_ms.keys() | steady.first.latency_ms.keys()
        }
        outcome.trend = "; ".join(steady.trends) or None
    judged = [r for r in report.records if transient <= r.scheduled_s < end]
    outcome.transient_s = transient if math.isfinite(transient) else None
    outcome.tail_s = window - end if math.isfinite(window) and math.isfinite(end) else None
    outcome.counted_requests = len(judged)
    if judged:
        outcome.goodput_fraction = sum(rules.met(r) for r in judged) / len(judged)
    if report.stopped_early is not None:
        outcome.reason = f"stopped early: {report.stopped_early}"
    elif report.result.run.status != "completed":
        outcome.verdict, outcome.reason = "interrupted", "interrupted before its window ended"
    elif outcome.goodput_fraction is None:
        outcome.reason = (
            "no request was sent between the transient and the tail: the probe never reached a steady state"
        )
    else:
        passed = outcome.goodput_fraction >= rules.target
        outcome.reason = (
            f"{outcome.goodput_fraction:.1%} of {len(judged)} requests met every SLO "
            f"({'at least' if passed else 'below'} the {rules.target:.0%} target)"
        )
        if passed and steady is not None and not steady.stationary:
            passed = False
            outcome.reason += f", but latency still trends upward at its end: {outcome.trend}"
        outcome.verdict = "pass" if passed else "fail"
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
        self._saturation = Saturation()
        self._confirmation: ProbeOutcome | None = None  # the last confirmation probe
        self._confirmed: ProbeOutcome | None = None  # the confirmation that passed: the rate named
        # Every way the search ends sets its reason; a search cut short keeps this one.
        self._stop_reason = "interrupted before the search finished"

    def points(self) -> PointGenerator:
        rate = self._config.workload.rate
        if math.isinf(rate):
            self._saturation = yield from saturation_points(self._base)
            throughput = self._saturation.throughput
            if throughput is None:
                self._stop_reason = (
                    "the saturation point measured no throughput: there is no rate to start from"
                )
                return
            rate = round_rate(throughput)
        if (yield from self._bracket(rate)):
            yield from self._confirm()

    def _bracket(self, rate: float) -> Generator[PointSpec, PointReport, bool]:
        """Bracket, then bisect; True when the search ended on its own (converged, out of reach, budget)."""
        next_rate: float | None = rate
        while next_rate is not None:
            if len(self._probes) >= self._config.sweep.max_probes:
                self._stop_reason = f"stopped after {len(self._probes)} probes (--max-probes)"
                return True
            window = probe_window_s(self._config, next_rate)
            rules = probe_rules(self._config, next_rate, window)
            resolved = with_rate(self._base, next_rate, PROBE, num_prompts=0, duration=window)
            report = yield PointSpec(resolved, watch=rules)
            outcome = judge(report, rules)
            self._probes.append(outcome)
            if outcome.verdict == "error":
                self._stop_reason = f"the probe at {next_rate:g} req/s failed: {outcome.reason}"
                return False
            if outcome.verdict == "interrupted":
                return False  # decides nothing: the search ends with what it had
            if outcome.verdict == "pass":
                if self._passing is None or outcome.rate > self._passing.rate:
                    self._passing = outcome
            elif self._failing is None or outcome.rate < self._failing:
                self._failing = outcome.rate
            next_rate = self._next_rate(next_rate)
        return True

    def _confirm(self) -> PointGenerator:
        """One probe --confirm-factor times as long at the rate found; while it fails, step down by the
        precision."""
        sweep = self._config.sweep
        if sweep.confirm_factor <= 0 or self._passing is None:
            return
        rate = self._passing.rate
        failed: list[str] = []
        for _ in range(MAX_STEP_DOWNS + 1):
            window = probe_window_s(self._config, rate, sweep.confirm_factor)
            rules = probe_rules(self._config, rate, window)
            resolved = with_rate(self._base, rate, CONFIRMATION, num_prompts=0, duration=window)
            report = yield PointSpec(resolved, watch=rules)
            outcome = judge(report, rules)
            outcome.confirmation = True
            self._probes.append(outcome)
            self._confirmation = outcome
            if outcome.verdict == "pass":
                self._confirmed = outcome
                if failed:
                    self._stop_reason += (
                        f"; the confirmation failed at {', '.join(failed)} req/s: stepped down to {rate:g}"
                    )
                else:
                    self._stop_reason += f"; confirmed by a {outcome.planned_s:.0f} s probe"
                return
            if outcome.verdict in ("error", "interrupted"):
                self._stop_reason = f"the confirmation at {rate:g} req/s ended: {outcome.reason}"
                return
            failed.append(f"{rate:g}")
            rate = round_rate(rate / (1 + sweep.rate_precision))
        self._stop_reason += (
            f"; the confirmation failed at {', '.join(failed)} req/s: no rate found held its SLOs for long"
        )

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
        summarize_saturation(self._saturation, summary)
        slo = self._config.slo
        # With a confirmation, the rate named is the one it confirmed (none if every step down failed).
        named = self._confirmed or self._passing
        if self._confirmation is not None and self._confirmed is None:
            # Every confirmation failed: nothing is named. One cut short by you or an error decides nothing.
            named = self._passing if self._confirmation.verdict in ("error", "interrupted") else None
        summary.search = SearchSummary(
            slo={key: value for key, value in slo.model_dump().items() if value is not None},
            goodput_target=self._config.sweep.goodput_target,
            rate_precision=self._config.sweep.rate_precision,
            max_rate=named.rate if named is not None else None,
            bracket=[self._passing.rate if self._passing is not None else None, self._failing],
            chosen_entry=named.entry if named is not None else None,
            confirmation=self._confirmation,
            stop_reason=self._stop_reason,
            probes=list(self._probes),
        )

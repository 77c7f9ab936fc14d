"""What index.json's `summary` says about each engine session of a sweep or an SLO search.

`ResultIndex.summary` is `{"sessions": [SessionSummary, …]}`: one per engine session, pointing at its points
in `ResultIndex.entries` by position. A plot reads the requested rate of each point from the entry's settings,
its figures from the result file, and the saturation throughput and the search's outcome from here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

SessionKind = Literal["points", "sweep", "slo-search"]
Verdict = Literal["pass", "fail", "error", "interrupted"]


class ProbeOutcome(BaseModel):
    """One probe of the SLO search and what it decided."""

    entry: int | None = Field(description="Position of the probe's result in the index entries.")
    rate: float = Field(description="Requested rate (req/s).")
    sent_rate: float | None = Field(
        None, description="The rate the probe's requests really went out at (its achieved_rate, req/s)."
    )
    verdict: Verdict
    goodput_fraction: float | None = Field(
        None,
        description="Share of the counted requests that met every SLO (failed requests count as misses).",
    )
    counted_requests: int = Field(
        0, description="Requests sent between the transient and the tail: the ones judged."
    )
    transient_s: float | None = Field(
        None, description="Requests scheduled before this many seconds were sent but left out of the verdict."
    )
    tail_s: float | None = Field(
        None,
        description=(
            "Requests scheduled in the window's last this many seconds were sent to keep the load up while "
            "the judged ones finished, and left out of the verdict."
        ),
    )
    planned_s: float = Field(description="The probe's sending window.")
    duration_s: float | None = Field(None, description="How long the measured window really lasted.")
    stopped_early: str | None = Field(None, description="Why the probe was stopped before its window ended.")
    reason: str = Field("", description="The verdict in words.")
    confirmation: bool = Field(
        False,
        description="A confirmation probe: --confirm-factor times as long, at the rate the bisection found.",
    )
    in_flight_halves: list[float | None] | None = Field(
        None, description="Mean requests in flight over the first and second half of the judged part."
    )
    latency_halves_ms: dict[str, list[float | None]] | None = Field(
        None, description="Mean TTFT / TPOT / E2EL (ms) of the judged part's two halves, by SLO name."
    )
    trend: str | None = Field(
        None, description="The SLO latencies still trending upward at the probe's end (then it cannot pass)."
    )


class SearchSummary(BaseModel):
    """The SLO search: the highest rate that met the goodput target, and how it was found."""

    slo: dict[str, float] = Field(description="The SLOs set, e.g. {'ttft_ms': 500, 'tpot_ms': 50}.")
    goodput_target: float
    rate_precision: float
    max_rate: float | None = Field(None, description="Highest rate that passed; None if none did.")
    bracket: list[float | None] = Field(
        description="[highest passing rate, lowest failing rate] when the search stopped."
    )
    chosen_entry: int | None = Field(
        None, description="The entry of the probe at max_rate (its confirmation, when there is one)."
    )
    confirmation: ProbeOutcome | None = Field(
        None, description="The last confirmation probe: its verdict and figures are what max_rate rests on."
    )
    stop_reason: str
    probes: list[ProbeOutcome] = []


class SessionSummary(BaseModel):
    """One engine session: its points, the time they took, and what a sweep or search made of them."""

    label: str | None = Field(None, description="The session within a head-to-head, e.g. 'vllm · target-ar'.")
    kind: SessionKind
    engine_start_s: float | None = Field(None, description="How long the engine took to start (once).")
    entries: list[int] = Field([], description="Positions of this session's points in the index entries.")
    point_wall_s: list[float] = Field(
        [], description="Wall time of each point: drain, warm-up, measurement and saving."
    )
    saturation_throughput: float | None = Field(
        None,
        description="The most this setup serves (req/s): what it finished per second under a sustained "
        "overload, its queue never empty (docs/SWEEPS.md).",
    )
    saturation_output_throughput: float | None = Field(
        None, description="Output tok/s at saturation_throughput."
    )
    saturation_burst_throughput: float | None = Field(
        None, description="Request throughput of the rate-inf burst: a first estimate, ramp and tail in it."
    )
    saturation_sustained: bool = Field(
        False,
        description="A sustained overload saturated the engine, so saturation_throughput is its steady "
        "capacity (else the highest rate measured: a lower bound).",
    )
    search: SearchSummary | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def restart_cost_s(self) -> float | None:
        """What starting the engine afresh for every point would have added: start time × (points − 1)."""
        if self.engine_start_s is None or not self.entries:
            return None
        return self.engine_start_s * (len(self.entries) - 1)


def sessions_summary(sessions: list[SessionSummary]) -> dict[str, Any]:
    """The value of ResultIndex.summary for these sessions."""
    return {"sessions": [session.model_dump() for session in sessions]}

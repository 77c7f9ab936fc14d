"""Does speculation pay off, and where? AR and speculative results of the same engine and workload, paired
by load point: the speed-up at each load, the load where it stops winning (break-even), the best K or
acceptance length per load, and where the time of a speculative step goes.

Pure arithmetic on finished results, so the run's closing table, index.json, `compare` of a directory and
the speed-up plot all say the same thing. The definitions are in docs/METRICS.md ("The speculative report").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from specbench.results.model import BenchmarkResult

_SPECULATIVE = ("speculative", "prompt-lookup")
NOT_REACHED = "not reached"
NEVER_WINS = "never wins"


class LoadPoint(BaseModel):
    """One load: a request rate (inf = all at once) and a cap on requests in flight."""

    rate: float
    max_concurrency: int | None

    @property
    def label(self) -> str:
        parts = [f"concurrency {self.max_concurrency}"] if self.max_concurrency is not None else []
        if not math.isinf(self.rate):
            parts.append(f"rate {self.rate:g}")
        return " · ".join(parts) or "all at once"

    @property
    def order(self) -> tuple[float, float]:
        # Concurrency first (a concurrency list), then rate (a rate list or sweep); inf is the most load.
        cap = math.inf if self.max_concurrency is None else float(self.max_concurrency)
        return cap, self.rate


class SpeculativeRow(BaseModel):
    """One speculative variant at one load beside the AR run at the same load."""

    load: LoadPoint
    load_label: str
    variant: str = Field(description="What sets this speculative run apart: K, acceptance length, method.")
    num_speculative_tokens: int | None = None
    synthetic_acceptance_length: float | None = None
    synthetic: bool = Field(False, description="Acceptance set by --synthetic-acceptance, not measured.")
    ar_label: str
    spec_label: str
    ar_output_throughput: float | None
    spec_output_throughput: float | None
    speedup: float | None = Field(description="Speculative output throughput / AR output throughput.")
    tpot_ratio: float | None = Field(description="Speculative mean TPOT / AR mean TPOT (below 1 is faster).")
    ttft_ratio: float | None = Field(description="Speculative mean TTFT / AR mean TTFT.")
    acceptance_rate: float | None
    mean_acceptance_length: float | None
    acceptance_per_position: list[float] | None = None
    step_ms: float | None = Field(
        None,
        description="Wall time of one speculative step (draft + verification) per request: TPOT × length.",
    )
    ar_token_ms: float | None = Field(None, description="AR time per output token at this load (mean TPOT).")
    break_even_length: float | None = Field(
        None,
        description="The mean acceptance length at which a step of step_ms would match AR: step / AR token.",
    )


class VariantSummary(BaseModel):
    """One speculative variant over every load: where it stops paying off."""

    variant: str
    loads: list[str]
    speedups: list[float | None]
    break_even: str = Field(
        description="The highest load measured at which it still wins, when it loses at a higher one; "
        f"'{NOT_REACHED}' when it still wins at the highest load, '{NEVER_WINS}' when it wins at none."
    )
    first_loss: str | None = Field(None, description="The lowest load above break-even where it loses.")


class BestAtLoad(BaseModel):
    load_label: str
    best: str = Field(description="The variant with the highest speed-up, or 'AR' when none is above 1.")
    speedup: float | None


class SpeculativeReport(BaseModel):
    rows: list[SpeculativeRow]
    variants: list[VariantSummary]
    best: list[BestAtLoad]
    synthetic: bool = Field(description="Some acceptance figures were set with --synthetic-acceptance.")


def speculative_report(runs: Sequence[tuple[str, BenchmarkResult]]) -> SpeculativeReport | None:
    """Pair every speculative result with the AR result of the same engine and load; None without a pair."""
    ar: dict[tuple[str, tuple[float, int | None]], tuple[str, BenchmarkResult]] = {}
    speculative: list[tuple[str, BenchmarkResult, LoadPoint]] = []
    for label, result in runs:
        load = _load(result)
        if load is None:
            continue
        if result.engine.method == "target-ar":
            ar.setdefault((_engine(result), _key(load)), (label, result))
        elif result.engine.method in _SPECULATIVE:
            speculative.append((label, result, load))
    rows = [
        _row(load, ar[(_engine(result), _key(load))], (label, result))
        for label, result, load in speculative
        if (_engine(result), _key(load)) in ar
    ]
    if not rows:
        return None
    rows.sort(key=lambda row: (row.load.order, row.variant))
    return SpeculativeReport(
        rows=rows,
        variants=_variants(rows),
        best=_best(rows),
        synthetic=any(row.synthetic for row in rows),
    )


def _row(
    load: LoadPoint, ar_run: tuple[str, BenchmarkResult], spec_run: tuple[str, BenchmarkResult]
) -> SpeculativeRow:
    (ar_label, ar), (spec_label, spec) = ar_run, spec_run
    a, s = ar.metrics, spec.metrics
    settings = spec.config.get("speculative") or {}
    length = _number(s.get("spec_mean_acceptance_length"))
    spec_tpot, ar_tpot = _number(s.get("mean_tpot_ms")), _number(a.get("mean_tpot_ms"))
    step = spec_tpot * length if spec_tpot is not None and length is not None else None
    per_position = s.get("spec_acceptance_per_position")
    return SpeculativeRow(
        load=load,
        load_label=load.label,
        variant=_variant(spec),
        num_speculative_tokens=settings.get("num_speculative_tokens"),
        synthetic_acceptance_length=settings.get("synthetic_acceptance_length"),
        synthetic=_synthetic(spec),
        ar_label=ar_label,
        spec_label=spec_label,
        ar_output_throughput=_number(a.get("output_throughput")),
        spec_output_throughput=_number(s.get("output_throughput")),
        speedup=_ratio(s.get("output_throughput"), a.get("output_throughput")),
        tpot_ratio=_ratio(s.get("mean_tpot_ms"), a.get("mean_tpot_ms")),
        ttft_ratio=_ratio(s.get("mean_ttft_ms"), a.get("mean_ttft_ms")),
        acceptance_rate=_number(s.get("spec_acceptance_rate")),
        mean_acceptance_length=length,
        acceptance_per_position=list(per_position) if isinstance(per_position, list) else None,
        step_ms=step,
        ar_token_ms=ar_tpot,
        break_even_length=_ratio(step, ar_tpot),
    )


def _variants(rows: Sequence[SpeculativeRow]) -> list[VariantSummary]:
    out = []
    for variant in dict.fromkeys(row.variant for row in rows):
        mine = sorted((row for row in rows if row.variant == variant), key=lambda row: row.load.order)
        speedups = [row.speedup for row in mine]
        wins = [speedup is not None and speedup > 1 for speedup in speedups]
        break_even, first_loss = NEVER_WINS, None
        if wins and wins[-1]:
            break_even = NOT_REACHED  # it still wins at the highest load measured
        elif any(wins):
            last_win = max(i for i, won in enumerate(wins) if won)
            break_even = mine[last_win].load_label
            first_loss = mine[last_win + 1].load_label
        out.append(
            VariantSummary(
                variant=variant,
                loads=[row.load_label for row in mine],
                speedups=speedups,
                break_even=break_even,
                first_loss=first_loss,
            )
        )
    return out


def _best(rows: Sequence[SpeculativeRow]) -> list[BestAtLoad]:
    loads: dict[str, list[SpeculativeRow]] = {}
    for row in sorted(rows, key=lambda row: row.load.order):
        loads.setdefault(row.load_label, []).append(row)
    best = []
    for label, mine in loads.items():
        measured = [row for row in mine if row.speedup is not None]
        top = max(measured, key=lambda row: row.speedup or 0.0, default=None)
        if top is None or (top.speedup or 0.0) <= 1:
            best.append(BestAtLoad(load_label=label, best="AR", speedup=top.speedup if top else None))
        else:
            best.append(BestAtLoad(load_label=label, best=top.variant, speedup=top.speedup))
    return best


def _load(result: BenchmarkResult) -> LoadPoint | None:
    workload = result.config.get("workload")
    if not isinstance(workload, dict):
        return None
    rate = workload.get("rate")
    try:
        rate = math.inf if rate is None else float(rate)
    except (TypeError, ValueError):
        return None
    cap = workload.get("max_concurrency")
    return LoadPoint(rate=rate, max_concurrency=cap if isinstance(cap, int) else None)


def _key(load: LoadPoint) -> tuple[float, int | None]:
    return load.rate, load.max_concurrency


def _engine(result: BenchmarkResult) -> str:
    return str(result.config.get("engine") or result.engine.name)


def _variant(result: BenchmarkResult) -> str:
    spec: dict[str, Any] = result.config.get("speculative") or {}
    method = result.engine.method
    parts = (
        []
        if method == "speculative" and spec.get("spec_method", "draft_model") == "draft_model"
        else [method if method != "speculative" else str(spec.get("spec_method"))]
    )
    parts.append(f"K {spec.get('num_speculative_tokens')}")
    if spec.get("synthetic_acceptance_length") is not None:
        parts.append(f"acceptance {spec['synthetic_acceptance_length']:g}")
    elif spec.get("synthetic_acceptance_rates"):
        parts.append("rates " + ",".join(f"{r:g}" for r in spec["synthetic_acceptance_rates"]))
    return " · ".join(parts)


def _synthetic(result: BenchmarkResult) -> bool:
    spec = result.config.get("speculative") or {}
    return spec.get("synthetic_acceptance_length") is not None or bool(spec.get("synthetic_acceptance_rates"))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ratio(num: Any, den: Any) -> float | None:
    n, d = _number(num), _number(den)
    return n / d if n is not None and d else None

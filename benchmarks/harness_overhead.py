"""What the specbench harness itself costs: schedule keeping, dispatch lateness and CPU per request.

Runs the real dispatcher and record writer against the echo engine (no model), so every figure is the
harness's own. Prints, per Poisson rate: achieved vs requested rate, dispatch lag (ready − scheduled) and
lateness (sent − scheduled, what the engine sees), and process CPU time per request; then CPU time per
request and per streamed token from runs that differ only in tokens per request; then the targets.

    python3 benchmarks/harness_overhead.py                 # every installed event loop
    python3 benchmarks/harness_overhead.py --loop asyncio --duration 10

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Runnable from a plain checkout (python3 benchmarks/harness_overhead.py) as well as when installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from specbench.config import EchoConfig, EngineName, RunConfig
from specbench.engines.echo import EchoEngine
from specbench.metrics import achieved_rate
from specbench.runner.dispatcher import RunOutcome, run_workload
from specbench.runner.record_writer import JsonlRecordWriter
from specbench.workload.types import PlannedRequest, Workload

PROMPT = list(range(16))

# Targets on a 2-core machine (docs/HOW_SPECBENCH_MEASURES.md).
RATE_TOLERANCE = 0.01
P99_LATENESS_MS_AT_1000 = 2.0
CPU_US_PER_REQUEST = 50.0
CPU_US_PER_TOKEN = 2.0


@dataclass(frozen=True, slots=True)
class Scenario:
    rate: float  # req/s; inf sends every request at t = 0
    requests: int
    tokens: int  # output tokens per request, each streamed as its own chunk


@dataclass(frozen=True, slots=True)
class Measurement:
    scenario: Scenario
    achieved_rate: float | None
    lag_ms: np.ndarray  # ready − scheduled
    lateness_ms: np.ndarray  # sent − scheduled
    cpu_s: float
    wall_s: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / self.scenario.requests * 1e6


def poisson_schedule(rate: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """Send times of a Poisson process, rescaled so that its own rate is exactly `rate`.

    Without the rescale a finite sample is off its nominal rate by about 1/√count (1.4% for 5 000
    requests), which would hide the harness's error in sampling noise.
    """
    if math.isinf(rate) or count < 2:
        return np.zeros(count)
    gaps = rng.exponential(1.0 / rate, count - 1)
    gaps *= (count - 1) / rate / gaps.sum()
    return np.concatenate(([0.0], np.cumsum(gaps)))


def build_workload(scenario: Scenario, rng: np.random.Generator) -> Workload:
    times = poisson_schedule(scenario.rate, scenario.requests, rng)
    requests = [
        PlannedRequest(
            request_id=i, scheduled_s=float(t), prompt_token_ids=PROMPT, max_tokens=scenario.tokens
        )
        for i, t in enumerate(times)
    ]
    return Workload(warmup=[], requests=requests, send_window_s=None)


async def measure(scenario: Scenario, workload: Workload, records_file: Path) -> Measurement:
    engine = EchoEngine(RunConfig(engine=EngineName.echo, echo=EchoConfig()))
    await engine.start()
    with JsonlRecordWriter(records_file) as writer:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        outcome: RunOutcome = await run_workload(engine, workload, sink=writer)
        cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    await engine.shutdown()
    records = outcome.records
    failed = [r for r in records if not r.success]
    if failed or len(records) != scenario.requests:
        raise RuntimeError(f"{len(failed)} failed, {len(records)}/{scenario.requests} records: {failed[:1]}")
    return Measurement(
        scenario=scenario,
        achieved_rate=achieved_rate(records),
        lag_ms=np.array([r.dispatch_lag_ms for r in records]),
        lateness_ms=np.array([(r.sent_s - r.scheduled_s) * 1000 for r in records]),
        cpu_s=cpu_s,
        wall_s=wall_s,
    )


def loop_factories() -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop
    except ImportError:
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories


def run_scenario(
    scenario: Scenario, factory: Callable[[], asyncio.AbstractEventLoop], workdir: Path, seed: int
) -> Measurement:
    workload = build_workload(scenario, np.random.default_rng(seed))
    gc.collect()  # garbage from the previous scenario is not this one's cost
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(measure(scenario, workload, workdir / "requests.jsonl"))


def _stats(values: np.ndarray) -> str:
    mean, p99, peak = values.mean(), np.percentile(values, 99), values.max()
    return f"{mean:7.3f} {p99:7.3f} {peak:8.3f}"


def print_rate_table(results: Sequence[Measurement]) -> None:
    print(
        f"{'rate':>6} {'reqs':>6} {'tok':>4} {'achieved':>9} {'vs req':>7} │ {'dispatch lag ms':^24} │"
        f" {'lateness ms (sent)':^24} │ {'CPU µs/req':>10}"
    )
    print(f"{'':>36} │ {'mean':>7} {'p99':>7} {'max':>8} │ {'mean':>7} {'p99':>7} {'max':>8} │")
    for m in results:
        s = m.scenario
        achieved = f"{m.achieved_rate:9.1f}" if m.achieved_rate is not None else f"{'-':>9}"
        ratio = (
            f"{m.achieved_rate / s.rate - 1:+7.2%}"
            if m.achieved_rate and math.isfinite(s.rate)
            else f"{'-':>7}"
        )
        print(
            f"{s.rate:>6g} {s.requests:>6} {s.tokens:>4} {achieved} {ratio} │ {_stats(m.lag_ms)} │"
            f" {_stats(m.lateness_ms)} │ {m.cpu_us_per_request:10.1f}"
        )


def cpu_model(results: Sequence[Measurement]) -> tuple[float, float]:
    """Least-squares fit of CPU µs per request = a + b · tokens per request; returns (a, b)."""
    tokens = np.array([m.scenario.tokens for m in results], dtype=float)
    cpu_us = np.array([m.cpu_us_per_request for m in results])
    slope, intercept = np.polyfit(tokens, cpu_us, 1)
    return float(intercept), float(slope)


def check_targets(rates: Sequence[Measurement], per_request_us: float, per_token_us: float) -> list[str]:
    """One line per target, starting with ok or MISS."""
    lines = []
    for m in rates:
        rate = m.scenario.rate
        if rate in (1000, 5000) and m.achieved_rate is not None:
            error = abs(m.achieved_rate / rate - 1)
            lines.append(
                _verdict(error < RATE_TOLERANCE, f"{rate:g} req/s achieved within 1%: {error:.2%} off")
            )
        if rate == 1000:
            p99 = float(np.percentile(m.lateness_ms, 99))
            lines.append(
                _verdict(p99 < P99_LATENESS_MS_AT_1000, f"1000 req/s p99 lateness < 2 ms: {p99:.3f} ms")
            )
    lines.append(
        _verdict(per_request_us < CPU_US_PER_REQUEST, f"CPU per request < 50 µs: {per_request_us:.1f} µs")
    )
    lines.append(
        _verdict(per_token_us < CPU_US_PER_TOKEN, f"CPU per streamed token < 2 µs: {per_token_us:.2f} µs")
    )
    return lines


def _verdict(ok: bool, text: str) -> str:
    return f"{'ok  ' if ok else 'MISS'} {text}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates", default="100,1000,5000,inf", help="Poisson rates in req/s; inf = all at once"
    )
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of sending per finite rate")
    parser.add_argument("--inf-requests", type=int, default=5000, help="requests sent at once for rate inf")
    parser.add_argument("--tokens", type=int, default=16, help="output tokens per request in the rate table")
    parser.add_argument(
        "--token-series",
        default="1,64,256",
        help="tokens per request of the CPU runs (fit per request/token)",
    )
    parser.add_argument("--cpu-rate", type=float, default=1000.0, help="Poisson rate of the CPU runs")
    parser.add_argument("--loop", choices=["all", "asyncio", "uvloop"], default="all", help="event loop(s)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    factories = loop_factories()
    if args.loop != "all":
        if args.loop not in factories:
            sys.exit(f"--loop {args.loop}: not installed (pip install uvloop)")
        factories = {args.loop: factories[args.loop]}
    rates = [float(r) for r in args.rates.split(",")]
    series = [int(t) for t in args.token_series.split(",")]
    cpu_requests = max(2, round(args.cpu_rate * args.duration))
    print(
        f"specbench harness overhead · echo engine · Python {sys.version.split()[0]} · {args.duration:g} s/rate"
    )
    missed = False
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name, factory in factories.items():
            print(f"\n== event loop: {name}  (records written to JSONL, as in a real run)")
            sweep = [
                run_scenario(
                    Scenario(
                        rate,
                        args.inf_requests if math.isinf(rate) else round(rate * args.duration),
                        args.tokens,
                    ),
                    factory,
                    workdir,
                    args.seed,
                )
                for rate in rates
            ]
            print_rate_table(sweep)
            print(
                f"\nCPU per request vs streamed tokens (Poisson {args.cpu_rate:g} req/s, {cpu_requests} requests):"
            )
            cpu_runs = [
                run_scenario(Scenario(args.cpu_rate, cpu_requests, t), factory, workdir, args.seed)
                for t in series
            ]
            for m in cpu_runs:
                print(
                    f"  {m.scenario.tokens:>4} tokens/request: {m.cpu_us_per_request:8.1f} µs CPU per request"
                )
            per_request, per_token = cpu_model(cpu_runs)
            print(f"  fit: {per_request:.1f} µs per request + {per_token:.2f} µs per streamed token")
            print("\ntargets:")
            for line in check_targets(sweep, per_request, per_token):
                missed |= line.startswith("MISS")
                print(f"  {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

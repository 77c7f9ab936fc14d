"""What the specbench harness itself costs: schedule keeping, dispatch lateness and CPU per request.

Runs the real dispatcher and record writer (per-request JSONL, as in a real run) against the echo engine,
which has no model, so every figure is the harness's own. For each Poisson rate it prints the rate the
schedule planned and the rate achieved; lateness, sent − scheduled (when the engine really got the
request; without --max-concurrency it is exactly the result file's dispatch lag, ready − scheduled);
process CPU time per request; and the longest garbage-collector pause. Then CPU time per request and
per streamed token, fitted over runs that differ only in tokens per request; then the targets.

    python3 benchmarks/harness_overhead.py                  # every installed event loop
    python3 benchmarks/harness_overhead.py --loop asyncio --duration 10

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Runnable from a plain checkout (python3 benchmarks/harness_overhead.py) as well as when installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from specbench.config import EchoConfig, EngineName, RunConfig
from specbench.engines.echo import EchoEngine
from specbench.metrics import achieved_rate
from specbench.runner import record_writer
from specbench.runner.dispatcher import RunProgress, run_workload
from specbench.runner.record_writer import JsonlRecordWriter
from specbench.workload.arrivals import arrival_times
from specbench.workload.types import PlannedRequest, Workload

PROMPT = list(range(16))
LoopFactory = Callable[[], asyncio.AbstractEventLoop]

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
    planned_rate: float | None  # the schedule's own rate: (n − 1) / (last due − first due)
    achieved_rate: float | None  # the same over send times (metrics.achieved_rate)
    lateness_ms: (
        np.ndarray
    )  # sent − scheduled = dispatch lag (ready − scheduled), as nothing waits for a slot
    cpu_s: float
    longest_gc_pause_ms: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / self.scenario.requests * 1e6

    @property
    def rate_error(self) -> float | None:
        """Achieved vs planned: the harness's own error, free of the schedule's sampling noise."""
        if self.planned_rate is None or self.achieved_rate is None:
            return None
        return self.achieved_rate / self.planned_rate - 1


def build_workload(scenario: Scenario, seed: int) -> Workload:
    times = arrival_times(
        rate=scenario.rate,
        count=scenario.requests,
        window_s=None,
        arrival="poisson",
        burstiness=1.0,
        rng=np.random.default_rng(seed),
    )
    requests = [
        PlannedRequest(
            request_id=i, scheduled_s=float(t), prompt_token_ids=PROMPT, max_tokens=scenario.tokens
        )
        for i, t in enumerate(times)
    ]
    return Workload(warmup=[], requests=requests, send_window_s=None)


@contextmanager
def gc_pauses() -> Iterator[list[tuple[float, float]]]:
    """Collects (perf_counter at start, duration in ms) of every garbage collection while active."""
    pauses: list[tuple[float, float]] = []
    started = [0.0]

    def on_gc(phase: str, _: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((started[0], (time.perf_counter() - started[0]) * 1000))

    gc.callbacks.append(on_gc)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(on_gc)


async def measure(
    scenario: Scenario, workload: Workload, records_file: Path, echo: EchoConfig
) -> Measurement:
    engine = EchoEngine(RunConfig(engine=EngineName.echo, echo=echo))
    await engine.start()
    progress = RunProgress(planned=scenario.requests, send_window_s=None)
    with JsonlRecordWriter(records_file) as writer, gc_pauses() as pauses:
        cpu0 = time.process_time()
        outcome = await run_workload(engine, workload, sink=writer, progress=progress)
        cpu_s = time.process_time() - cpu0
    # The dispatcher's own full collection before t=0 is not a pause of the run.
    t0 = progress.start or 0.0
    run_pauses = [duration for at, duration in pauses if at >= t0]
    await engine.shutdown()
    records = outcome.records
    failed = [r for r in records if not r.success]
    if failed or len(records) != scenario.requests:
        raise RuntimeError(f"{len(failed)} failed, {len(records)}/{scenario.requests} records: {failed[:1]}")
    if any(r.client_queue_ms for r in records):
        raise RuntimeError("client queue without --max-concurrency: dispatch lag would understate lateness")
    due = [r.scheduled_s for r in records]
    span = max(due) - min(due)
    return Measurement(
        scenario=scenario,
        planned_rate=(len(due) - 1) / span if span > 0 else None,
        achieved_rate=achieved_rate(records),
        lateness_ms=np.array([r.dispatch_lag_ms for r in records]),
        cpu_s=cpu_s,
        longest_gc_pause_ms=max(run_pauses, default=0.0),
    )


def loop_factories() -> dict[str, LoopFactory]:
    factories: dict[str, LoopFactory] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop
    except ImportError:
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories


def run_scenario(
    scenario: Scenario, factory: LoopFactory, workdir: Path, seed: int, echo: EchoConfig
) -> Measurement:
    workload = build_workload(scenario, seed)
    gc.collect()  # garbage from the previous scenario is not this one's cost
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(measure(scenario, workload, workdir / "requests.jsonl", echo))


def _dist(values: np.ndarray) -> str:
    return f"{values.mean():7.3f} {np.percentile(values, 99):7.3f} {values.max():8.3f}"


def _rate(value: float | None) -> str:
    return f"{value:9.1f}" if value is not None else f"{'-':>9}"


def print_rate_table(results: Sequence[Measurement]) -> None:
    print(
        f"{'rate':>6} {'reqs':>6} {'planned':>9} {'achieved':>9} {'error':>7} │"
        f" {'lateness = dispatch lag':^24} │ {'CPU µs':>7} {'GC ms':>6}"
    )
    print(
        f"{'req/s':>6} {'':>6} {'req/s':>9} {'req/s':>9} {'':>7} │ {'mean ms':>7} {'p99':>7} {'max':>8} │"
        f" {'/req':>7} {'max':>6}"
    )
    for m in results:
        s = m.scenario
        error = f"{m.rate_error:+7.2%}" if m.rate_error is not None else f"{'-':>7}"
        print(
            f"{s.rate:>6g} {s.requests:>6} {_rate(m.planned_rate)} {_rate(m.achieved_rate)} {error} │"
            f" {_dist(m.lateness_ms)} │"
            f" {m.cpu_us_per_request:7.1f} {m.longest_gc_pause_ms:6.2f}"
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
        if rate in (1000, 5000) and m.rate_error is not None:
            error = abs(m.rate_error)
            lines.append(
                verdict(error < RATE_TOLERANCE, f"{rate:g} req/s achieved within 1%: {error:.3%} off")
            )
        if rate == 1000:
            p99 = float(np.percentile(m.lateness_ms, 99))
            lines.append(
                verdict(p99 < P99_LATENESS_MS_AT_1000, f"1000 req/s p99 lateness < 2 ms: {p99:.3f} ms")
            )
    lines.append(
        verdict(per_request_us < CPU_US_PER_REQUEST, f"CPU per request < 50 µs: {per_request_us:.1f} µs")
    )
    lines.append(
        verdict(per_token_us < CPU_US_PER_TOKEN, f"CPU per streamed token < 2 µs: {per_token_us:.2f} µs")
    )
    return lines


def verdict(ok: bool, text: str) -> str:
    return f"{'ok  ' if ok else 'MISS'} {text}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="100,1000,5000,inf", help="Poisson rates, req/s; inf = all at t=0")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of sending per finite rate")
    parser.add_argument("--inf-requests", type=int, default=5000, help="requests sent at once for rate inf")
    parser.add_argument("--tokens", type=int, default=16, help="output tokens per request in the rate table")
    parser.add_argument("--token-series", default="1,64,256", help="tokens per request of the CPU-fit runs")
    parser.add_argument("--cpu-rate", type=float, default=1000.0, help="Poisson rate of the CPU-fit runs")
    parser.add_argument("--loop", choices=["all", "asyncio", "uvloop"], default="all", help="event loop(s)")
    parser.add_argument("--echo-ttft-ms", type=float, default=0.0, help="echo engine delay to first token")
    parser.add_argument("--echo-token-delay-ms", type=float, default=0.0, help="echo engine delay per token")
    parser.add_argument(
        "--preload",
        default="",
        help="modules to import first, e.g. torch,transformers: a real run's heap, for the GC column",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def requests_for(rate: float, args: argparse.Namespace) -> int:
    return args.inf_requests if math.isinf(rate) else max(2, round(rate * args.duration))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    factories = loop_factories()
    if args.loop != "all":
        if args.loop not in factories:
            sys.exit(f"--loop {args.loop}: not installed (pip install uvloop)")
        factories = {args.loop: factories[args.loop]}
    preloaded = [importlib.import_module(name).__name__ for name in args.preload.split(",") if name]
    rates = [float(r) for r in args.rates.split(",")]
    series = [int(t) for t in args.token_series.split(",")]
    echo = EchoConfig(ttft_ms=args.echo_ttft_ms, token_delay_ms=args.echo_token_delay_ms)
    json_library = "orjson" if record_writer.orjson is not None else "json"
    print(
        f"specbench harness overhead: echo engine (ttft {echo.ttft_ms:g} ms, "
        f"token delay {echo.token_delay_ms:g} ms) · Python {sys.version.split()[0]} · "
        f"{os.cpu_count()} CPUs · records via {json_library}"
    )
    print(
        f"preloaded: {', '.join(preloaded) or 'nothing'} ({len(gc.get_objects())} objects tracked by the GC)"
    )
    # Other processes on the machine show up as lateness and CPU time: say how busy it was.
    print(f"load average at start (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    missed = False
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name, factory in factories.items():
            print(f"\n== event loop: {name} · Poisson arrivals · {args.tokens} tokens per request")
            sweep = [
                run_scenario(
                    Scenario(rate, requests_for(rate, args), args.tokens), factory, workdir, args.seed, echo
                )
                for rate in rates
            ]
            print_rate_table(sweep)
            count = requests_for(args.cpu_rate, args)
            print(
                f"\nCPU time vs tokens per request (Poisson {args.cpu_rate:g} req/s, {count} requests each):"
            )
            fit_runs = [
                run_scenario(Scenario(args.cpu_rate, count, tokens), factory, workdir, args.seed, echo)
                for tokens in series
            ]
            for m in fit_runs:
                print(f"  {m.scenario.tokens:>5} tokens/request: {m.cpu_us_per_request:7.1f} µs per request")
            per_request, per_token = cpu_model(fit_runs)
            print(f"  fit: {per_request:.1f} µs per request + {per_token:.2f} µs per streamed token")
            print("\ntargets:")
            for line in check_targets(sweep, per_request, per_token):
                missed |= line.startswith("MISS")
                print(f"  {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

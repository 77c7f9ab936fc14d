"""What GPU telemetry costs: one sampling round, each NVML query, and what the sampler thread does to the
harness's own timing.

1. Sampling: how long one round over the GPUs takes (every counter of every GPU, as the run's sampler
   reads them), and each NVML query on its own.
2. The harness with and without the sampler: the echo engine at a Poisson rate (the scenario of
   benchmarks/harness_overhead.py), without telemetry, with the sampler at the default 0.25 s, and at 0.01 s
   (25× as often, to make any contention visible): achieved vs planned rate, lateness (dispatch lag) and
   process CPU per request — the sampler thread's own CPU included.

    python3 benchmarks/telemetry_overhead.py                 # real NVML (nvidia-ml-py and a GPU)
    python3 benchmarks/telemetry_overhead.py --nvml fake     # no GPU: a fake NVML, Python's own cost only

With --nvml fake the NVML calls are Python functions (tests/fake_nvml.py), so the round times measure the
sampler's Python work, not the driver; the harness comparison still shows the thread's share of the GIL.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import harness_overhead as harness  # noqa: E402  (benchmarks/ is not a package)

from specbench.config import EchoConfig, EngineName, RunConfig  # noqa: E402
from specbench.engines.echo import EchoEngine  # noqa: E402
from specbench.metrics import achieved_rate  # noqa: E402
from specbench.runner.dispatcher import RunProgress, run_workload  # noqa: E402
from specbench.telemetry import GpuSampler, TelemetryUnavailable  # noqa: E402
from specbench.telemetry.devices import nvml_gpus  # noqa: E402
from specbench.telemetry.nvml import Nvml  # noqa: E402
from specbench.telemetry.readings import _COUNTERS, DeviceReader  # noqa: E402

# A round must cost little beside its interval; the harness must keep its own lateness target with the sampler
# running (judged only where it keeps it without: a busy machine says nothing about the sampler).
ROUND_MS_PER_GPU = 1.0


def install_nvml(kind: str, gpus: int) -> str:
    """Make `import pynvml` give the real library or the fake one; returns what was installed."""
    if kind in ("real", "auto"):
        try:
            nvml = Nvml.open()
        except TelemetryUnavailable as exc:
            if kind == "real":
                sys.exit(f"--nvml real: {exc}")
        else:
            nvml.close()
            return "real NVML"
    from tests.fake_nvml import FakeNvml, h200s

    sys.modules["pynvml"] = FakeNvml(h200s(gpus)).module
    return f"fake NVML ({gpus} GPUs; Python functions, not the driver)"


def percentiles_us(samples_s: Sequence[float]) -> str:
    values = np.array(samples_s) * 1e6
    p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
    return f"mean {values.mean():8.1f}  p50 {p50:8.1f}  p99 {p99:8.1f}"


def time_calls(call: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def measure_rounds(gpus: Sequence[int] | None, repeats: int) -> tuple[int, float]:
    """Print a round's cost and each query's; returns (GPUs, mean round seconds)."""
    nvml = Nvml.open()
    try:
        found = nvml_gpus(nvml)
        chosen = [gpu for gpu in found if gpus is None or gpu.index in gpus]
        readers = [DeviceReader(nvml, gpu.handle) for gpu in chosen]
        for reader in readers:  # the first read finds what each GPU does not support
            reader.read()
        rounds = time_calls(lambda: [reader.read() for reader in readers], repeats)
        print(f"one round, {len(chosen)} GPU(s), µs: {percentiles_us(rounds)}")
        print("each query on its own (first GPU), µs:")
        handle = chosen[0].handle
        for name, read in _COUNTERS.items():
            if name in readers[0].unsupported:
                print(f"  {name:<13} not supported")
                continue
            calls = time_calls(lambda read=read: read(nvml.lib, handle), repeats)
            print(f"  {name:<13} {percentiles_us(calls)}")
        return len(chosen), float(np.mean(rounds))
    finally:
        nvml.close()


async def run_echo(
    scenario: harness.Scenario, interval_s: float | None, gpus: int
) -> tuple[float, np.ndarray, float]:
    """(rate error, lateness ms, CPU µs per request) of one echo run, sampled when interval_s is set."""
    engine = EchoEngine(RunConfig(engine=EngineName.echo, echo=EchoConfig()))
    await engine.start()
    workload = harness.build_workload(scenario, seed=0)
    sampler = None
    if interval_s is not None:
        sampler = GpuSampler.open(list(range(gpus)), interval_s=interval_s, environ={})
        sampler.start()
    gc.collect()
    cpu0 = time.process_time()
    try:
        outcome = await run_workload(
            engine,
            workload,
            progress=RunProgress(planned=scenario.requests, send_window_s=None),
            listeners=[sampler] if sampler is not None else [],
        )
    finally:
        if sampler is not None:
            sampler.stop()
    cpu_s = time.process_time() - cpu0
    records = outcome.records
    due = [r.scheduled_s for r in records]
    planned = (len(due) - 1) / (max(due) - min(due))
    achieved = achieved_rate(records) or 0.0
    lateness = np.array([r.dispatch_lag_ms for r in records])
    return achieved / planned - 1, lateness, cpu_s / scenario.requests * 1e6


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nvml", choices=["auto", "real", "fake"], default="auto")
    parser.add_argument("--gpus", default=None, help="NVML indices to sample, e.g. 0,1 (default: every GPU)")
    parser.add_argument("--fake-gpus", type=int, default=8, help="GPUs of the fake NVML")
    parser.add_argument("--repeats", type=int, default=2000, help="rounds (and queries) timed")
    parser.add_argument("--rate", type=float, default=1000.0, help="Poisson rate of the harness runs, req/s")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of sending per harness run")
    parser.add_argument("--tokens", type=int, default=16, help="output tokens per request")
    parser.add_argument("--runs", type=int, default=3, help="harness runs per setting (interleaved)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    gpus = [int(part) for part in args.gpus.split(",")] if args.gpus else None
    installed = install_nvml(args.nvml, args.fake_gpus)
    python = sys.version.split()[0]
    print(f"specbench telemetry overhead · {installed} · Python {python} · {os.cpu_count()} CPUs")
    print(f"load average at start (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    count, round_s = measure_rounds(gpus, args.repeats)

    scenario = harness.Scenario(args.rate, max(2, round(args.rate * args.duration)), args.tokens)
    settings: list[tuple[str, float | None]] = [
        ("no telemetry", None),
        ("sampler 0.25 s", 0.25),
        ("sampler 0.01 s", 0.01),
    ]
    results: dict[str, list[tuple[float, np.ndarray, float]]] = {name: [] for name, _ in settings}
    for _ in range(args.runs):  # interleaved, so drift in the machine's load hits every setting alike
        for name, interval in settings:
            results[name].append(asyncio.run(run_echo(scenario, interval, count)))
    print(
        f"\nharness: echo engine, Poisson {args.rate:g} req/s, {scenario.requests} requests × {args.tokens} "
        f"tokens, {args.runs} runs each (median of runs)"
    )
    print(f"{'setting':<16} {'rate error':>10} {'lateness p50 ms':>16} {'p99 ms':>8} {'CPU µs/req':>11}")
    p99: dict[str, float] = {}
    for name, runs in results.items():
        error = float(np.median([r[0] for r in runs]))
        p50 = float(np.median([np.percentile(r[1], 50) for r in runs]))
        p99[name] = float(np.median([np.percentile(r[1], 99) for r in runs]))
        cpu = float(np.median([r[2] for r in runs]))
        print(f"{name:<16} {error:>+10.2%} {p50:>16.3f} {p99[name]:>8.3f} {cpu:>11.1f}")

    per_gpu_ms = round_s * 1000 / count
    print("\ntargets:")
    checks = [
        (per_gpu_ms < ROUND_MS_PER_GPU, f"one round < {ROUND_MS_PER_GPU:g} ms per GPU: {per_gpu_ms:.3f} ms")
    ]
    baseline, sampled = p99["no telemetry"], p99["sampler 0.25 s"]
    if baseline < harness.P99_LATENESS_MS_AT_1000:
        checks.append(
            (
                sampled < harness.P99_LATENESS_MS_AT_1000,
                f"with the sampler at 0.25 s the harness keeps p99 lateness < "
                f"{harness.P99_LATENESS_MS_AT_1000:g} ms: {sampled:.3f} ms (without: {baseline:.3f} ms)",
            )
        )
    else:
        print(
            f"  n/a  this machine misses the harness's own p99 target without telemetry ({baseline:.3f} ms): "
            "too busy to tell the sampler's share"
        )
    for ok, text in checks:
        print(f"  {harness.verdict(ok, text)}")
    print(f"  (at the default 0.25 s the sampler spends {round_s / 0.25:.3%} of one core reading NVML)")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

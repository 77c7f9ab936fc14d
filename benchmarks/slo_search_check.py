"""Does the rate `--find-max-rate` names hold its SLOs when sustained? Checked against a queue of known knee.

The echo engine with 4 slots, 20 ms to the first token and 10 tokens 10 ms apart (output 10) serves each
request for exactly S = 20 + 9 × 10 = 110 ms once it has a slot: an M/D/4 queue with Poisson arrivals,
capacity 4 / S = 36.4 req/s. A request's TTFT is its wait for a slot + 20 ms, so the SLO TTFT ≤ 130 ms says
"waits at most 110 ms". The knee — the highest Poisson rate at which 95 % of requests wait at most that long —
has no closed form for M/D/c waiting-time quantiles, so it is found here by simulating the queue exactly
(equal service times: a request's slot is the one taken `slots` requests earlier, so its service starts at
max(arrival, start of request n − slots + S)) over 400,000 arrivals and bisecting the rate. The same
simulation gives the sampling noise of a 60 s run: the spread of the attainment over many 60 s windows (a
queue's swings are slow, so this is wider than √(p(1−p)/n)).

Then it runs the real CLI: the search (with its confirmation probe), and runs of --sustain-s seconds at the
rate found (each with another --seed, so each draws its own arrivals), and prints the share of requests that
met the SLO, against the target less twice the simulated noise, and the rate found against the knee.

    python3 benchmarks/slo_search_check.py                  # the echo queue: search, then 60 s × 3 seeds
    python3 benchmarks/slo_search_check.py --unconfirmed    # also the search without confirmation
    python3 benchmarks/slo_search_check.py --from-index DIR/index.json --engine-args "--engine vllm …"
                                                                   # sustain a finished search's rates (GPU)

The slots queue serves first come, first served: a request's wait depends only on those before it, so it
cannot show what continuous batching does when a probe stops sending (the last requests speed up as the
engine drains). The echo engine's load-dependent step models that; its knee (≈ 45 req/s: 44 → 98.4 %,
46 → 88.8 % of requests within TPOT ≤ 30 ms, simulated) is not computed here, the 60 s runs judge it:

    python3 benchmarks/slo_search_check.py --seeds 1 --upper --slo "--slo-ttft-ms 100 --slo-tpot-ms 30" \
        --engine-args "--engine echo --echo-ttft-ms 20 --echo-token-delay-ms 20 --echo-load-ms-per-token 0.1 \
        --input-len 16 --output-len 64" --search-args "--probe-seconds 10 --probe-requests 200"

Exit status 1 when the sustained check or the knee check fails.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# Runnable from a plain checkout (python3 benchmarks/slo_search_check.py) as well as when installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from specbench.config import SloConfig
from specbench.metrics import meets_slo
from specbench.results.load import load_index, load_result
from specbench.results.sweep import SessionSummary
from specbench.runner.record_writer import read_records

SLOTS, TTFT_MS, TOKEN_DELAY_MS, OUTPUT_LEN = 4, 20.0, 10.0, 10
SERVICE_S = (TTFT_MS + (OUTPUT_LEN - 1) * TOKEN_DELAY_MS) / 1000
SLO_TTFT_MS = TTFT_MS + SERVICE_S * 1000  # wait for a slot at most one service time
ECHO = (
    f"--engine echo --echo-slots {SLOTS} --echo-ttft-ms {TTFT_MS:g} --echo-token-delay-ms {TOKEN_DELAY_MS:g} "
    f"--output-len {OUTPUT_LEN} --input-len 16"
)


def waits(rate: float, *, arrivals: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times and waits for a slot of an M/D/SLOTS queue at `rate`, simulated exactly."""
    arrival = np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate, arrivals))
    start = np.empty(arrivals)
    start[:SLOTS] = arrival[:SLOTS]
    for n in range(SLOTS, arrivals):
        start[n] = max(arrival[n], start[n - SLOTS] + SERVICE_S)
    return arrival, start - arrival


def attainment(rate: float, *, arrivals: int = 400_000) -> float:
    _, wait = waits(rate, arrivals=arrivals)
    return float(np.mean(wait <= SERVICE_S + 1e-12))


def knee(target: float) -> float:
    """The highest Poisson rate at which `target` of the requests wait at most one service time."""
    low, high = 0.0, SLOTS / SERVICE_S
    while high - low > 0.01:
        middle = (low + high) / 2
        low, high = (middle, high) if attainment(middle) >= target else (low, middle)
    return low


def window_noise(rate: float, window_s: float) -> float:
    """Standard deviation of the attainment measured over one window of `window_s` at `rate`."""
    arrival, wait = waits(rate, arrivals=int(rate * window_s * 200), seed=1)
    window = (arrival // window_s).astype(int)
    met = wait <= SERVICE_S + 1e-12
    shares = [met[window == w].mean() for w in range(1, int(window.max()))]  # whole windows, not the first
    return float(np.std(shares))


def specbench(*args: str) -> None:
    command = [sys.executable, "-m", "specbench", "run", *args]
    print("$", shlex.join(command[1:]), flush=True)
    completed = subprocess.run(command, stdout=subprocess.DEVNULL, env=os.environ, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"specbench exited with {completed.returncode}")


def search(engine_args: list[str], slo_args: list[str], out: Path, extra: list[str]) -> SessionSummary:
    specbench(*engine_args, *slo_args, "--find-max-rate", *extra, "--output-dir", str(out))
    (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
    return session_of(run_dir / "index.json")


def session_of(index_file: Path) -> SessionSummary:
    (session,) = load_index(index_file).summary["sessions"]
    return SessionSummary.model_validate(session)


def sustained(
    engine_args: list[str], slo_args: list[str], rates: list[float], seconds: float, seed: int, out: Path
) -> list[tuple[float, float, int, float | None]]:
    """(rate, share meeting every SLO, requests, sent rate) of a --sustain-s run at each rate, one session."""
    # One rate is a single run (one file); several are points of one engine session (a directory).
    where = ["--output", str(out / "single.json")] if len(rates) == 1 else ["--output-dir", str(out)]
    specbench(
        *engine_args, *slo_args, "--rate", ",".join(f"{rate:g}" for rate in rates), "--num-prompts", "0",
        "--duration", f"{seconds:g}", "--seed", str(seed), *where,
    )  # fmt: skip
    if len(rates) == 1:
        files = [out / "single.json"]
    else:
        (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
        entries = load_index(run_dir / "index.json").entries
        files = [run_dir / str(entry.result_file) for entry in entries]
    slo = slo_config(slo_args)
    figures = []
    for rate, file in zip(rates, files, strict=True):
        result = load_result(file)
        records = read_records(file.with_name(file.stem + "_requests.jsonl"))
        met = sum(record.success and meets_slo(record, slo) for record in records)
        figures.append((rate, met / len(records), len(records), result.metrics.get("achieved_rate")))
    return figures


def slo_config(slo_args: list[str]) -> SloConfig:
    values = dict(zip(slo_args[::2], slo_args[1::2], strict=True))
    return SloConfig(
        ttft_ms=_float(values.get("--slo-ttft-ms")),
        tpot_ms=_float(values.get("--slo-tpot-ms")),
        e2el_ms=_float(values.get("--slo-e2el-ms")),
    )


def _float(value: str | None) -> float | None:
    return float(value) if value is not None else None


def describe(session: SessionSummary) -> str:
    found = session.search
    assert found is not None
    lines = [f"  rate found {found.max_rate} req/s, bracket {found.bracket}; {found.stop_reason}"]
    for probe in found.probes:
        kind = "confirm" if probe.confirmation else "probe"
        share = f"{probe.goodput_fraction:.1%}" if probe.goodput_fraction is not None else "—"
        lines.append(
            f"    {kind:<7} {probe.rate:>7g} req/s sent {probe.sent_rate or 0:6.2f}  {probe.verdict:<5} "
            f"{share:>6} of {probe.counted_requests:>5}  "
            f"ran {probe.duration_s or 0:6.1f}/{probe.planned_s:.1f} s"
            + (f"  trend: {probe.trend}" if probe.trend else "")
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engine-args", default=ECHO, help="engine and workload flags (default: the echo queue)"
    )
    parser.add_argument("--slo", default=f"--slo-ttft-ms {SLO_TTFT_MS:g}", help="the --slo-*-ms flags")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--search-args", default="", help="more flags for the search (--probe-seconds 15 …)")
    parser.add_argument("--sustain-s", type=float, default=60.0)
    parser.add_argument("--seeds", default="1,2,3", help="one sustained run per seed (each its own arrivals)")
    parser.add_argument(
        "--unconfirmed", action="store_true", help="also run the search with --confirm-factor 0"
    )
    parser.add_argument(
        "--from-index", type=Path, help="sustain this finished search's rates instead of searching"
    )
    parser.add_argument("--upper", action="store_true", help="sustain the bracket's upper end too")
    parser.add_argument("--also", default="", help="sustain these rates too, e.g. an earlier answer: 27.9")
    args = parser.parse_args()
    engine_args, slo_args = shlex.split(args.engine_args), shlex.split(args.slo)
    goodput = ["--goodput-target", f"{args.target:g}"]
    echo = args.engine_args == ECHO
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if echo:
            computed = knee(args.target)
            print(
                f"M/D/{SLOTS} queue: service {SERVICE_S * 1000:g} ms, capacity {SLOTS / SERVICE_S:.2f} req/s"
            )
            print(f"knee for TTFT ≤ {SLO_TTFT_MS:g} ms at {args.target:.0%} (simulated, 400k arrivals): "
                  f"{computed:.2f} req/s")  # fmt: skip
        if args.unconfirmed and args.from_index is None:
            print("\nsearch without confirmation (--confirm-factor 0), as before issue 24:")
            before = search(engine_args, slo_args, out / "unconfirmed", [*goodput, "--confirm-factor", "0",
                            *shlex.split(args.search_args)])  # fmt: skip
            print(describe(before))
            assert before.search is not None
            if before.search.max_rate is not None and echo:
                print(f"  simulated steady attainment there: {attainment(before.search.max_rate):.1%}")
        if args.from_index is not None:
            session = session_of(args.from_index)
        else:
            print("\nsearch with steady-state judging and confirmation:")
            session = search(
                engine_args, slo_args, out / "search", [*goodput, *shlex.split(args.search_args)]
            )
        print(describe(session))
        found = session.search
        assert found is not None
        if found.max_rate is None:
            print("no rate found: nothing to sustain")
            return 1
        rates = [found.max_rate]
        if args.upper and found.bracket[1] is not None:
            rates.append(found.bracket[1])
        rates += [float(rate) for rate in args.also.split(",") if rate]
        confirmation = found.confirmation
        if confirmation is not None:
            print(
                f"  confirmation: {confirmation.verdict} at {confirmation.rate:g} req/s, "
                f"{confirmation.goodput_fraction or 0:.1%} of {confirmation.counted_requests} requests, "
                f"sent at {confirmation.sent_rate} req/s, transient {confirmation.transient_s} s"
            )
        print(f"\n{args.sustain_s:g} s sustained at {', '.join(f'{rate:g}' for rate in rates)} req/s:")
        shares: dict[float, list[tuple[float, int]]] = {rate: [] for rate in rates}
        for seed in (int(seed) for seed in args.seeds.split(",")):
            for rate, share, count, sent in sustained(
                engine_args, slo_args, rates, args.sustain_s, seed, out / f"sustain{seed}"
            ):
                shares[rate].append((share, count))
                print(f"  seed {seed}: {rate:g} req/s (sent {sent:.2f}): {share:.1%} of {count} met the SLOs")
        met = shares[found.max_rate]
        pooled = sum(share * count for share, count in met) / sum(count for _, count in met)
        if echo:
            noise = window_noise(found.max_rate, args.sustain_s) / math.sqrt(len(met))
            floor = args.target - 2 * noise
            verdict = pooled >= floor
            steady = attainment(found.max_rate)
            print(
                f"pooled at {found.max_rate:g} req/s: {pooled:.1%} (simulated steady state {steady:.1%}); "
                f"target {args.target:.0%} less 2 × noise {noise:.2%} = {floor:.1%}: "
                f"{'PASS' if verdict else 'FAIL'}"
            )
            failed |= not verdict
            gap = (computed - found.max_rate) / computed
            within = found.max_rate <= computed * (1 + found.rate_precision) and gap <= found.rate_precision
            where = f"{abs(gap):.1%} {'below' if gap >= 0 else 'above'} it"
            print(
                f"rate found {found.max_rate:g} vs knee {computed:.2f} req/s: {where}, precision "
                f"{found.rate_precision:.0%}: {'PASS' if within else 'FAIL'}"
            )
            failed |= not within
        else:
            print(f"pooled at {found.max_rate:g} req/s: {pooled:.1%} against the {args.target:.0%} target")
        for rate in rates[1:]:
            other = shares[rate]
            share = sum(s * c for s, c in other) / sum(c for _, c in other)
            model = f" (simulated steady state {attainment(rate):.1%})" if echo else ""
            print(f"pooled at {rate:g} req/s: {share:.1%}{model}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

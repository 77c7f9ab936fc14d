"""What the new workload kinds cost the harness: trace replay keeps its timestamps, a conversation's history
costs the client no more CPU per turn than a plain request of the same length.

Runs the real workload builder, dispatcher and record writer against the echo engine (no model, so every
figure is the harness's own):

1. Trace replay: a plain-JSONL trace of Poisson arrivals at --rate req/s (written to a temporary file, then
   read back by --trace as a user's would be) against a Poisson workload of the same rate built from
   --rate: achieved vs planned rate and dispatch lag (ready − scheduled) of each.
2. Conversations: --sessions sessions of --turns turns (think time 0), each turn's history before it, and
   then plain requests with exactly the prompt lengths those turns had; process CPU time per request of each.

    python3 benchmarks/workload_overhead.py
    python3 benchmarks/workload_overhead.py --rate 1000 --duration 5 --turns 8

Exit status 1 when a target is missed (p99 dispatch lag < 2 ms at 1000 req/s for the trace; CPU per turn
within 10% + 5 µs of a plain request of the same length).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from specbench.config import EngineName, RunConfig
from specbench.engines.echo import EchoEngine
from specbench.metrics import achieved_rate
from specbench.records import RequestRecord
from specbench.runner.dispatcher import run_workload
from specbench.runner.record_writer import JsonlRecordWriter
from specbench.workload.arrivals import arrival_times
from specbench.workload.builder import build_workload
from specbench.workload.tokenizer import SyntheticTokenizer
from specbench.workload.types import PlannedRequest, Workload

P99_LAG_MS = 2.0
CPU_RATIO = 1.10
CPU_SLACK_US = 5.0


async def _run(workload: Workload, records_file: Path) -> tuple[list[RequestRecord], float]:
    engine = EchoEngine(RunConfig(engine=EngineName.echo))
    await engine.start()
    with JsonlRecordWriter(records_file) as writer:
        cpu0 = time.process_time()
        outcome = await run_workload(engine, workload, sink=writer)
        cpu = time.process_time() - cpu0
    await engine.shutdown()
    failed = [r for r in outcome.records if not r.success]
    if failed:
        raise RuntimeError(f"{len(failed)} requests failed: {failed[0].error}")
    return outcome.records, cpu


def run(workload: Workload, records_file: Path) -> tuple[list[RequestRecord], float]:
    gc.collect()
    return asyncio.run(_run(workload, records_file))


def lag_row(name: str, records: Sequence[RequestRecord]) -> tuple[str, float]:
    due = [r.scheduled_s for r in records]
    planned = (len(due) - 1) / (max(due) - min(due))
    achieved = achieved_rate(records) or 0.0
    lag = np.array([r.dispatch_lag_ms for r in records])
    p99 = float(np.percentile(lag, 99))
    line = (
        f"{name:<16} {len(records):>6} {planned:>9.1f} {achieved:>9.1f} {achieved / planned - 1:>+7.2%} │"
        f" {lag.mean():7.3f} {p99:7.3f} {lag.max():8.3f}"
    )
    return line, p99


def trace_replay(args: argparse.Namespace, workdir: Path) -> list[str]:
    rng = np.random.default_rng(args.seed)
    times = arrival_times(
        rate=args.rate, count=None, window_s=args.duration, arrival="poisson", burstiness=1.0, rng=rng
    )
    trace = workdir / "trace.jsonl"
    trace.write_text(
        "".join(
            json.dumps({"timestamp_s": float(t), "input_len": 16, "output_len": args.tokens}) + "\n"
            for t in times
        )
    )
    tokenizer = SyntheticTokenizer()
    replay = build_workload(
        RunConfig(engine=EngineName.echo, seed=args.seed, workload={"trace": str(trace), "warmup": 0}),
        tokenizer,
    )
    poisson = build_workload(
        RunConfig(
            engine=EngineName.echo,
            seed=args.seed,
            workload={
                "rate": args.rate,
                "num_prompts": 0,
                "duration": args.duration,
                "input_len": 16,
                "output_len": args.tokens,
                "warmup": 0,
            },
        ),
        tokenizer,
    )
    print(
        f"Trace replay vs Poisson at {args.rate:g} req/s for {args.duration:g} s "
        f"(echo engine, {args.tokens} tokens)"
    )
    print(
        f"{'workload':<16} {'reqs':>6} {'planned':>9} {'achieved':>9} {'error':>7} │"
        f" {'lag mean':>7} {'p99':>7} {'max ms':>8}"
    )
    lines = []
    for name, workload in (("trace replay", replay), ("poisson (--rate)", poisson)):
        records, _ = run(workload, workdir / "requests.jsonl")
        line, p99 = lag_row(name, records)
        print(line)
        if name == "trace replay":
            kept = all(abs(r.scheduled_s - t) < 1e-9 for r, t in zip(records, times - times[0], strict=True))
            lines.append(verdict(kept, "trace requests were scheduled at the file's timestamps"))
            lines.append(verdict(p99 < P99_LAG_MS, f"trace replay p99 dispatch lag < 2 ms: {p99:.3f} ms"))
    return lines


def conversations(args: argparse.Namespace, workdir: Path) -> list[str]:
    config = RunConfig(
        engine=EngineName.echo,
        seed=args.seed,
        workload={
            "num_prompts": args.sessions,
            "rate": args.session_rate,
            "turns": args.turns,
            "input_len": args.input_len,
            "turn_input_len": args.turn_input_len,
            "output_len": args.tokens,
            "warmup": 0,
        },
    )
    sessions = build_workload(config, SyntheticTokenizer())
    records, cpu = run(sessions, workdir / "requests.jsonl")
    turns = len(records)
    # The same prompt lengths as plain requests, each at the moment its turn was sent.
    by_id = sorted(records, key=lambda r: r.sent_s)
    plain = Workload(
        warmup=[],
        requests=[
            PlannedRequest(i, r.sent_s, list(range(1000, 1000 + r.prompt_tokens)), args.tokens)
            for i, r in enumerate(by_id)
        ],
        send_window_s=None,
    )
    plain_records, plain_cpu = run(plain, workdir / "requests.jsonl")
    per_turn, per_plain = cpu / turns * 1e6, plain_cpu / len(plain_records) * 1e6
    mean_prompt = np.mean([r.prompt_tokens for r in records])
    print(
        f"\nConversations: {args.sessions} sessions × {args.turns} turns, mean prompt {mean_prompt:.0f} "
        f"tokens (history included), {args.tokens} output tokens"
    )
    print(f"  CPU per conversation turn (history built per turn): {per_turn:7.1f} µs")
    print(f"  CPU per plain request of the same length:           {per_plain:7.1f} µs")
    ok = per_turn <= per_plain * CPU_RATIO + CPU_SLACK_US
    return [verdict(ok, f"history costs no more CPU per turn: {per_turn:.1f} µs vs {per_plain:.1f} µs plain")]


def verdict(ok: bool, text: str) -> str:
    return f"{'ok  ' if ok else 'MISS'} {text}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="trace replay: req/s of the trace")
    parser.add_argument("--duration", type=float, default=3.0, help="trace replay: seconds of trace")
    parser.add_argument("--tokens", type=int, default=16, help="output tokens per request")
    parser.add_argument("--sessions", type=int, default=300, help="conversations: sessions")
    parser.add_argument(
        "--session-rate", type=float, default=200.0, help="conversations: sessions per second"
    )
    parser.add_argument("--turns", type=int, default=6, help="conversations: turns per session")
    parser.add_argument("--input-len", type=int, default=512, help="conversations: first turn's tokens")
    parser.add_argument(
        "--turn-input-len", type=int, default=128, help="conversations: later turns' new tokens"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        lines = trace_replay(args, Path(tmp)) + conversations(args, Path(tmp))
    print("\nTargets")
    for line in lines:
        print(" ", line)
    return 1 if any(line.startswith("MISS") for line in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())

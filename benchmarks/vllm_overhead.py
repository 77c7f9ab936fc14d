"""Does specbench cost vLLM throughput? One offline workload, several ways, same engine arguments.

Every request is sent at once (fixed input and output lengths, EOS ignored, greedy) through
- `vllm`: vLLM's own offline API, `LLM.generate`, and
- `specbench`: VllmEngine driven by specbench's dispatcher (streamed, one asyncio task per request);
`--sides` adds diagnostics: vLLM's AsyncLLM driven directly (`asyncllm-delta` streams every token,
`asyncllm-final` collects finished outputs) and `same-engine`, where specbench and asyncllm-final take
turns on one engine start. Each side runs in a fresh process, one after the other, so each gets the
whole GPU; within it the workload is measured `--repeats` times with fresh prompts (no prefix-cache hits
across repeats). Rounds alternate the order of the sides.

Per run the script prints the throughput, the preemptions vLLM made (more preemption means more
recomputation: engine-side variance, not harness cost), the front end's CPU per token, and the engine's
own span (first request queued -> last token made, from vLLM's per-request stats) with the front end's
lag before and after it. Then specbench's ratio to `LLM.generate` (target: at least 0.98), the median
over pairs of runs with the same round and repeat.

    python3 benchmarks/vllm_overhead.py                       # built-in tiny model (CPU or GPU)
    python3 benchmarks/vllm_overhead.py --model /root/models/qwen3-8b --dummy-weights --repeats 3 \\
        --num-prompts 1000 --input-len 512 --output-len 256 --max-num-seqs 1024 --max-num-batched-tokens 8192
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specbench.config import RunConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
SIDES = ("vllm", "specbench", "asyncllm-delta", "asyncllm-final", "same-engine")
TARGET_RATIO = 0.98


@dataclass(slots=True)
class SideResult:
    side: str
    repeat: int
    requests: int
    prompt_tokens: int
    output_tokens: int
    elapsed_s: float
    # CPU time of the benchmark's own process (all its threads) over the measured part: what the
    # front end spends per token, which competes with the engine for cores on a CPU-only machine.
    frontend_cpu_s: float
    preemptions: int
    # From vLLM's per-request stats (engine-process monotonic clock, the same clock as perf_counter on
    # Linux): first request queued in the engine -> last token made there. elapsed_s minus this span is
    # what the front end adds before the first request reaches the engine and after the last token.
    engine_span_s: float | None
    submit_lag_s: float | None
    tail_lag_s: float | None
    submit_spread_s: float | None  # first to last request queued in the engine

    @property
    def output_throughput(self) -> float:
        return self.output_tokens / self.elapsed_s

    @property
    def total_throughput(self) -> float:
        return (self.prompt_tokens + self.output_tokens) / self.elapsed_s

    @property
    def frontend_cpu_us_per_token(self) -> float:
        return self.frontend_cpu_s / self.output_tokens * 1e6


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="model directory (default: the built-in tiny model)")
    parser.add_argument("--dummy-weights", action="store_true", help="random weights from config.json alone")
    parser.add_argument("--num-prompts", type=int, default=200)
    parser.add_argument("--input-len", type=int, default=128)
    parser.add_argument("--output-len", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=8, help="untimed requests first, on both sides")
    parser.add_argument(
        "--rounds", type=int, default=1, help="pairs of engine starts, alternating which side goes first"
    )
    parser.add_argument("--repeats", type=int, default=1, help="measured runs per engine start")
    parser.add_argument(
        "--sides",
        default="vllm,specbench",
        help=f"comma-separated, in round 1's order (later rounds alternate): {', '.join(SIDES)}",
    )
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tensor-parallel-size", type=int)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    parser.add_argument("--max-model-len", type=int)
    # Pinned on both sides: LLM and the API server otherwise pick different batch-size defaults.
    parser.add_argument("--max-num-seqs", type=int, default=256)
    parser.add_argument("--max-num-batched-tokens", type=int, default=8192)
    parser.add_argument("--enforce-eager", action="store_true")
    parser.add_argument(
        "--disable-log-stats",
        action="store_true",
        help="turn vLLM stat logging off on both sides (default: on, as in specbench runs)",
    )
    parser.add_argument("--kv-cache-space", type=float, help="CPU backend: KV cache GiB")
    parser.add_argument("--verbose", action="store_true", help="keep vLLM's INFO logging")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sides = [side.strip() for side in args.sides.split(",") if side.strip()]
    if not args.sides or any(side not in SIDES for side in args.sides):
        parser.error(f"--sides takes a comma-separated list of {', '.join(SIDES)}")
    if min(args.num_prompts, args.input_len, args.output_len, args.rounds, args.repeats) < 1:
        parser.error("--num-prompts, --input-len, --output-len, --rounds and --repeats must be at least 1")
    return args


def build_config(args: argparse.Namespace) -> RunConfig:
    from specbench.config import RunConfig
    from specbench.tiny_model import ensure_tiny_models

    model = args.model or ensure_tiny_models().target
    vllm_settings = {
        "tensor_parallel_size": args.tensor_parallel_size,
        "gpu_memory_utilization": args.gpu_memory_utilization,
        "max_model_len": args.max_model_len,
        "max_num_seqs": args.max_num_seqs,
        "max_num_batched_tokens": args.max_num_batched_tokens,
        "enforce_eager": args.enforce_eager,
        "disable_log_stats": args.disable_log_stats,
        "kv_cache_space_gb": args.kv_cache_space,
    }
    return RunConfig(
        engine="vllm",
        model=model,
        dummy_weights=args.dummy_weights,
        dtype=args.dtype,
        seed=args.seed,
        vllm=vllm_settings,
    )


def make_prompts(args: argparse.Namespace, model_dir: Path) -> tuple[list[list[int]], list[list[list[int]]]]:
    """Random token ids, the same on both sides (seeded): the warm-up prompts, then one set per repeat."""
    import numpy as np

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    vocab_size = config.get("vocab_size") or config["text_config"]["vocab_size"]
    rng = np.random.default_rng(args.seed)
    count = args.warmup + args.repeats * args.num_prompts
    ids = rng.integers(0, vocab_size, size=(count, args.input_len)).tolist()
    measured = ids[args.warmup :]
    return ids[: args.warmup], [measured[r :: args.repeats] for r in range(args.repeats)]


class EngineTimeline:
    """Earliest engine-side queue time and latest engine-side token time over finished requests."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.first_queued: float | None = None
        self.last_queued: float | None = None
        self.last_token: float | None = None

    def add(self, metrics: Any) -> None:
        queued, last = getattr(metrics, "queued_ts", 0.0), getattr(metrics, "last_token_ts", 0.0)
        if queued and (self.first_queued is None or queued < self.first_queued):
            self.first_queued = queued
        if queued and (self.last_queued is None or queued > self.last_queued):
            self.last_queued = queued
        if last and (self.last_token is None or last > self.last_token):
            self.last_token = last

    def span(self) -> float | None:
        if self.first_queued is None or self.last_token is None:
            return None
        return self.last_token - self.first_queued

    def spread(self) -> float | None:
        if self.first_queued is None or self.last_queued is None:
            return None
        return self.last_queued - self.first_queued

    def lag_from(self, start: float) -> float | None:
        return None if self.first_queued is None else self.first_queued - start

    def lag_until(self, end: float) -> float | None:
        return None if self.last_token is None else end - self.last_token


def side_result(
    side: str,
    repeat: int,
    counts: tuple[int, int, int],
    elapsed_s: float,
    cpu_s: float,
    preemptions_before: int,
    timeline: EngineTimeline,
    wall: tuple[float, float],
) -> SideResult:
    """One measured run; `counts` is (requests, prompt tokens, output tokens), `wall` its (start, end)."""
    requests, prompt_tokens, output_tokens = counts
    return SideResult(
        side=side,
        repeat=repeat,
        requests=requests,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        elapsed_s=elapsed_s,
        frontend_cpu_s=cpu_s,
        preemptions=preemptions() - preemptions_before,
        engine_span_s=timeline.span(),
        submit_lag_s=timeline.lag_from(wall[0]),
        tail_lag_s=timeline.lag_until(wall[1]),
        submit_spread_s=timeline.spread(),
    )


def preemptions() -> int:
    """vLLM's preemption counter in this process (0 with stat logging off)."""
    from specbench.engines.vllm.metrics import MetricsSnapshot

    return MetricsSnapshot.capture().counters.get("vllm:num_preemptions", 0)


def run_vllm(args: argparse.Namespace) -> list[SideResult]:
    from specbench.engines.vllm.args import detect_platform, plan_engine

    config = build_config(args)
    plan = plan_engine(config, detect_platform(), dict(os.environ))
    os.environ.update(plan.env)
    from vllm import LLM, SamplingParams

    llm = LLM(**plan.engine_kwargs)
    params = SamplingParams(
        max_tokens=args.output_len, ignore_eos=True, temperature=0.0, detokenize=plan.detokenize
    )
    warmup, repeats = make_prompts(args, Path(plan.engine_kwargs["model"]))
    if warmup:
        llm.generate([{"prompt_token_ids": ids} for ids in warmup], params, use_tqdm=False)
    results = []
    for repeat, prompt_ids in enumerate(repeats):
        prompts: list[Any] = [{"prompt_token_ids": ids} for ids in prompt_ids]
        preempted = preemptions()
        cpu_start, start = time.process_time(), time.perf_counter()
        outputs = llm.generate(prompts, params, use_tqdm=False)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        timeline = EngineTimeline()
        for out in outputs:
            timeline.add(out.metrics)
        counts = (
            len(outputs),
            sum(len(out.prompt_token_ids) for out in outputs),
            sum(len(out.outputs[0].token_ids) for out in outputs),
        )
        wall = (start, start + elapsed)
        results.append(side_result("vllm", repeat, counts, elapsed, cpu, preempted, timeline, wall))
    return results


# A way of serving one set of prompts: returns (requests, prompt tokens, output tokens) and, where it
# measures its own duration (specbench's dispatcher does), that duration.
Serve = Callable[[list[list[int]]], Awaitable[tuple[tuple[int, int, int], float | None]]]


def serve_with_specbench(engine: Any, output_len: int) -> Serve:
    from specbench.runner.dispatcher import run_workload
    from specbench.workload.types import PlannedRequest, Workload

    async def serve(prompts: list[list[int]]) -> tuple[tuple[int, int, int], float | None]:
        planned = [PlannedRequest(i, 0.0, ids, output_len) for i, ids in enumerate(prompts)]
        outcome = await run_workload(engine, Workload(warmup=[], requests=planned, send_window_s=None))
        records = outcome.records
        failed = [r for r in records if not r.success]
        if failed:
            raise RuntimeError(f"{len(failed)} specbench requests failed, e.g. {failed[0].error}")
        counts = (len(records), sum(r.prompt_tokens for r in records), sum(r.output_tokens for r in records))
        return counts, outcome.duration_s

    return serve


def serve_with_asyncllm(llm: Any, params: Any) -> Serve:
    """One task per request straight on vLLM's AsyncLLM, as a user of its async API would write it."""
    ids = itertools.count()

    async def one(prompt: list[int]) -> tuple[int, int]:
        prompt_len, tokens = 0, 0
        async for out in llm.generate({"prompt_token_ids": prompt}, params, f"raw-{next(ids)}"):
            prompt_len = len(out.prompt_token_ids)
            tokens += len(out.outputs[0].token_ids)
        return prompt_len, tokens

    async def serve(prompts: list[list[int]]) -> tuple[tuple[int, int, int], float | None]:
        per_request = await asyncio.gather(*(one(p) for p in prompts))
        return (len(per_request), sum(c[0] for c in per_request), sum(c[1] for c in per_request)), None

    return serve


async def measure(
    side: str, repeat: int, serve: Serve, prompts: list[list[int]], timeline: EngineTimeline
) -> SideResult:
    # The dispatcher collects and freezes the heap before its t=0 (outside its duration); doing it here
    # first, for every side alike, keeps that one-off collection out of the CPU-time window too.
    gc.collect()
    gc.freeze()
    try:
        preempted = preemptions()
        timeline.reset()
        cpu_start, start = time.process_time(), time.perf_counter()
        counts, elapsed = await serve(prompts)
        cpu, end = time.process_time() - cpu_start, time.perf_counter()
    finally:
        gc.unfreeze()
    elapsed = elapsed if elapsed is not None else end - start
    return side_result(side, repeat, counts, elapsed, cpu, preempted, timeline, (start, end))


def sampling_params(args: argparse.Namespace, detokenize: bool, *, stream: bool) -> Any:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    return SamplingParams(
        max_tokens=args.output_len,
        ignore_eos=True,
        temperature=0.0,
        detokenize=detokenize,
        output_kind=RequestOutputKind.DELTA if stream else RequestOutputKind.FINAL_ONLY,
    )


async def run_specbench(args: argparse.Namespace) -> list[SideResult]:
    from specbench.engines.vllm import VllmEngine
    from specbench.engines.vllm.args import served_model

    config = build_config(args)
    warmup, repeats = make_prompts(args, served_model(config))
    engine = VllmEngine(config)
    await engine.start()
    timeline = watch_final_outputs(engine._running.llm)
    serve = serve_with_specbench(engine, args.output_len)
    try:
        # Warm up in a run of its own, so the CPU-time window covers the measured requests only.
        await serve(warmup)
        return [
            await measure("specbench", repeat, serve, prompts, timeline)
            for repeat, prompts in enumerate(repeats)
        ]
    finally:
        await engine.shutdown()


async def run_asyncllm(args: argparse.Namespace, *, stream: bool) -> list[SideResult]:
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.usage.usage_lib import UsageContext
    from vllm.v1.engine.async_llm import AsyncLLM

    from specbench.engines.vllm.args import detect_platform, plan_engine

    plan = plan_engine(build_config(args), detect_platform(), dict(os.environ))
    os.environ.update(plan.env)
    llm = AsyncLLM.from_engine_args(
        AsyncEngineArgs(**plan.engine_kwargs), usage_context=UsageContext.OPENAI_API_SERVER
    )
    warmup, repeats = make_prompts(args, Path(plan.engine_kwargs["model"]))
    timeline = watch_final_outputs(llm)
    serve = serve_with_asyncllm(llm, sampling_params(args, plan.detokenize, stream=stream))
    side = "asyncllm-delta" if stream else "asyncllm-final"
    try:
        await serve(warmup)
        return [
            await measure(side, repeat, serve, prompts, timeline) for repeat, prompts in enumerate(repeats)
        ]
    finally:
        llm.shutdown()


async def run_same_engine(args: argparse.Namespace) -> list[SideResult]:
    from specbench.engines.vllm import VllmEngine
    from specbench.engines.vllm.args import served_model

    config = build_config(args)
    doubled = argparse.Namespace(**{**vars(args), "repeats": 2 * args.repeats})
    warmup, sets = make_prompts(doubled, served_model(config))
    engine = VllmEngine(config)
    await engine.start()
    llm = engine._running.llm  # diagnostics: the very AsyncLLM specbench drives
    timeline = watch_final_outputs(llm)
    turns = [
        (
            "asyncllm-final@same",
            serve_with_asyncllm(llm, sampling_params(args, engine._plan.detokenize, stream=False)),
        ),
        ("specbench@same", serve_with_specbench(engine, args.output_len)),
    ]
    results = []
    try:
        for _, serve in turns:
            await serve(warmup)
        for repeat in range(args.repeats):
            order = turns if repeat % 2 == 0 else turns[::-1]
            for (side, serve), prompts in zip(order, sets[2 * repeat : 2 * repeat + 2], strict=True):
                results.append(await measure(side, repeat, serve, prompts, timeline))
    finally:
        await engine.shutdown()
    return results


def watch_final_outputs(llm: Any) -> EngineTimeline:
    """Diagnostics: a timeline fed each finished request's vLLM stats (wraps the AsyncLLM's generate)."""
    timeline = EngineTimeline()
    stream = llm.generate

    async def generate(*args: Any, **kwargs: Any) -> Any:
        async for output in stream(*args, **kwargs):
            if output.finished:
                timeline.add(output.metrics)
            yield output

    llm.generate = generate
    return timeline


def run_side_in_subprocess(side: str, argv: list[str], verbose: bool) -> list[SideResult]:
    env = dict(os.environ)
    if not verbose:
        env.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            *argv,
            "--side",
            side,
            "--result",
            str(result),
        ]
        completed = subprocess.run(command, env=env, check=False)
        if completed.returncode != 0 or not result.is_file():
            raise SystemExit(
                f"the {side} run failed (exit code {completed.returncode}); see its output above"
            )
        return [SideResult(**fields) for fields in json.loads(result.read_text(encoding="utf-8"))]


def _fmt(value: float | None, scale: float) -> str:
    return "-" if value is None else f"{value * scale:.3f}" if scale == 1 else f"{value * scale:.1f}"


def report(args: argparse.Namespace, rounds: list[list[SideResult]]) -> None:
    print()
    print(
        f"offline workload: {args.num_prompts} prompts x {args.input_len} input / {args.output_len} output "
        f"tokens, all sent at once, greedy, EOS ignored; model {args.model or 'built-in tiny'}"
        + (" (dummy weights)" if args.dummy_weights else "")
    )
    print(
        f"{'round':>5} {'side':>10} {'repeat':>6} {'requests':>8} {'seconds':>9} {'output tok/s':>13} "
        f"{'total tok/s':>12} {'preemptions':>11} {'front-end CPU µs/token':>23} "
        f"{'engine span s':>13} {'submit lag ms':>13} {'submit spread ms':>16} {'tail lag ms':>11}"
    )
    ratios: list[float | None] = []
    same_engine: list[float | None] = []
    for index, results in enumerate(rounds):
        for result in results:
            print(
                f"{index + 1:>5} {result.side:>10} {result.repeat + 1:>6} {result.requests:>8} "
                f"{result.elapsed_s:>9.3f} {result.output_throughput:>13.1f} "
                f"{result.total_throughput:>12.1f} {result.preemptions:>11} "
                f"{result.frontend_cpu_us_per_token:>23.1f} {_fmt(result.engine_span_s, 1):>13} "
                f"{_fmt(result.submit_lag_s, 1000):>13} {_fmt(result.submit_spread_s, 1000):>16} "
                f"{_fmt(result.tail_lag_s, 1000):>11}"
            )
        by_repeat: dict[int, dict[str, SideResult]] = {}
        for result in results:
            by_repeat.setdefault(result.repeat, {})[result.side] = result
        ratios += [pair_ratio(p, "specbench", "vllm") for p in by_repeat.values()]
        same_engine += [pair_ratio(p, "specbench@same", "asyncllm-final@same") for p in by_repeat.values()]
    every = [r for results in rounds for r in results]
    medians = {
        side: statistics.median(r.output_throughput for r in every if r.side == side)
        for side in {r.side for r in every}
    }
    if "specbench" in medians and "vllm" in medians:
        print(f"ratio of median throughputs: {medians['specbench'] / medians['vllm']:.3f}")
    print_ratio("specbench / vLLM LLM.generate output throughput", ratios)
    print_ratio("same engine start, specbench / AsyncLLM collecting finished outputs", same_engine)


def pair_ratio(pair: dict[str, SideResult], numerator: str, denominator: str) -> float | None:
    if numerator not in pair or denominator not in pair:
        return None
    return pair[numerator].output_throughput / pair[denominator].output_throughput


def print_ratio(label: str, ratios: list[float | None]) -> None:
    known = [r for r in ratios if r is not None]
    if not known:
        return
    ratio = statistics.median(known)
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    per_pair = ", ".join(f"{r:.3f}" for r in known)
    print(f"{label}: {ratio:.3f} (median of pairs: {per_pair}); {verdict} the {TARGET_RATIO} target")


def main(argv: list[str]) -> int:
    # Run from a checkout without installing: make `import specbench` find the repository.
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    args = parse_args(argv)
    if args.side is not None:
        from specbench.runner import event_loop

        if args.side == "vllm":
            results = run_vllm(args)
        elif args.side == "specbench":
            results = event_loop.run(run_specbench(args))
        elif args.side == "same-engine":
            results = event_loop.run(run_same_engine(args))
        else:
            results = event_loop.run(run_asyncllm(args, stream=args.side == "asyncllm-delta"))
        args.result.write_text(json.dumps([asdict(r) for r in results]), encoding="utf-8")
        return 0
    if args.model is None:
        build_config(args)  # build the tiny model once, before two processes race to
    rounds = []
    for round_index in range(args.rounds):
        order = args.sides
        if round_index % 2:
            order = order[::-1]
        results = []
        for side in order:
            for result in run_side_in_subprocess(side, argv, args.verbose):
                # As they come, so a run cut short still shows what it measured.
                print(
                    f"round {round_index + 1} {side} repeat {result.repeat + 1}: "
                    f"{result.output_throughput:.1f} output tok/s, {result.preemptions} preemptions",
                    flush=True,
                )
                results.append(result)
        rounds.append(results)
    report(args, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

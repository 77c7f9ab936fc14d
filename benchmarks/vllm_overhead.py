"""Does specbench cost vLLM throughput? One offline workload, two ways, same engine arguments.

Every request is sent at once (fixed input and output lengths, EOS ignored, greedy) through
- vLLM's own offline API, `LLM.generate`, and
- specbench: VllmEngine driven by specbench's dispatcher (streamed, one asyncio task per request).
Each side runs in a fresh process, one after the other, so both get the whole GPU. The script prints
both throughputs and specbench's ratio to vLLM (target: at least 0.98).

    python3 benchmarks/vllm_overhead.py                       # built-in tiny model (CPU or GPU)
    python3 benchmarks/vllm_overhead.py --model /root/models/qwen3-8b --dummy-weights \\
        --num-prompts 1000 --input-len 512 --output-len 256 --max-num-seqs 1024 --max-num-batched-tokens 8192
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specbench.config import RunConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
SIDES = ("vllm", "specbench")
TARGET_RATIO = 0.98


@dataclass(slots=True)
class SideResult:
    side: str
    requests: int
    prompt_tokens: int
    output_tokens: int
    elapsed_s: float
    # CPU time of the benchmark's own process (all its threads) over the measured part: what the
    # front end spends per token, which competes with the engine for cores on a CPU-only machine.
    frontend_cpu_s: float

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
        "--rounds", type=int, default=1, help="pairs of runs, alternating which side goes first"
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
    if args.num_prompts < 1 or args.input_len < 1 or args.output_len < 1 or args.rounds < 1:
        parser.error("--num-prompts, --input-len, --output-len and --rounds must be at least 1")
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


def make_prompts(args: argparse.Namespace, model_dir: Path) -> list[list[int]]:
    """Random token ids, the same on both sides (seeded)."""
    import numpy as np

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    vocab_size = config.get("vocab_size") or config["text_config"]["vocab_size"]
    rng = np.random.default_rng(args.seed)
    return rng.integers(0, vocab_size, size=(args.num_prompts + args.warmup, args.input_len)).tolist()


def run_vllm(args: argparse.Namespace) -> SideResult:
    from specbench.engines.vllm.args import detect_platform, plan_engine

    config = build_config(args)
    plan = plan_engine(config, detect_platform(), dict(os.environ))
    os.environ.update(plan.env)
    from vllm import LLM, SamplingParams

    llm = LLM(**plan.engine_kwargs)
    params = SamplingParams(
        max_tokens=args.output_len, ignore_eos=True, temperature=0.0, detokenize=plan.detokenize
    )
    prompts: list[Any] = [
        {"prompt_token_ids": ids} for ids in make_prompts(args, Path(plan.engine_kwargs["model"]))
    ]
    if args.warmup:
        llm.generate(prompts[: args.warmup], params, use_tqdm=False)
    measured = prompts[args.warmup :]
    cpu_start, start = time.process_time(), time.perf_counter()
    outputs = llm.generate(measured, params, use_tqdm=False)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return SideResult(
        side="vllm",
        requests=len(outputs),
        prompt_tokens=sum(len(out.prompt_token_ids) for out in outputs),
        output_tokens=sum(len(out.outputs[0].token_ids) for out in outputs),
        elapsed_s=elapsed,
        frontend_cpu_s=cpu,
    )


async def run_specbench(args: argparse.Namespace) -> SideResult:
    from specbench.engines.vllm import VllmEngine
    from specbench.engines.vllm.args import served_model
    from specbench.runner.dispatcher import run_workload
    from specbench.workload.types import PlannedRequest, Workload

    config = build_config(args)
    ids = make_prompts(args, served_model(config))
    planned = [PlannedRequest(i, 0.0, prompt, args.output_len) for i, prompt in enumerate(ids)]
    engine = VllmEngine(config)
    await engine.start()
    try:
        # Warm up in a run of its own, so the CPU-time window below covers the measured requests only.
        await run_workload(engine, Workload(warmup=[], requests=planned[: args.warmup], send_window_s=None))
        measured = Workload(warmup=[], requests=planned[args.warmup :], send_window_s=None)
        # The dispatcher collects and freezes the heap before its t=0 (outside its duration); doing it
        # here first keeps that one-off collection out of the CPU-time window too.
        gc.collect()
        gc.freeze()
        cpu_start = time.process_time()
        outcome = await run_workload(engine, measured)
        cpu = time.process_time() - cpu_start
        gc.unfreeze()
    finally:
        await engine.shutdown()
    failed = [r for r in outcome.records if not r.success]
    if failed:
        raise RuntimeError(f"{len(failed)} specbench requests failed, e.g. {failed[0].error}")
    return SideResult(
        side="specbench",
        requests=len(outcome.records),
        prompt_tokens=sum(r.prompt_tokens for r in outcome.records),
        output_tokens=sum(r.output_tokens for r in outcome.records),
        elapsed_s=outcome.duration_s,
        frontend_cpu_s=cpu,
    )


def run_side_in_subprocess(side: str, argv: list[str], verbose: bool) -> SideResult:
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
        return SideResult(**json.loads(result.read_text(encoding="utf-8")))


def report(args: argparse.Namespace, results: list[SideResult]) -> None:
    print()
    print(
        f"offline workload: {args.num_prompts} prompts x {args.input_len} input / {args.output_len} output "
        f"tokens, all sent at once, greedy, EOS ignored; model {args.model or 'built-in tiny'}"
        + (" (dummy weights)" if args.dummy_weights else "")
    )
    print(
        f"{'round':>5} {'side':>10} {'requests':>8} {'seconds':>9} {'output tok/s':>13} {'total tok/s':>12} "
        f"{'front-end CPU µs/token':>23}"
    )
    for index, result in enumerate(results):
        print(
            f"{index // 2 + 1:>5} {result.side:>10} {result.requests:>8} {result.elapsed_s:>9.3f} "
            f"{result.output_throughput:>13.1f} {result.total_throughput:>12.1f} "
            f"{result.frontend_cpu_us_per_token:>23.1f}"
        )
    ratios = []
    for pair in zip(results[::2], results[1::2], strict=True):
        by_side = {r.side: r for r in pair}
        ratios.append(by_side["specbench"].output_throughput / by_side["vllm"].output_throughput)
    ratio = statistics.median(ratios)
    per_round = ", ".join(f"{r:.3f}" for r in ratios)
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"specbench / vLLM output throughput: {ratio:.3f} (per round: {per_round}); "
        f"{verdict} the {TARGET_RATIO} target"
    )


def main(argv: list[str]) -> int:
    # Run from a checkout without installing: make `import specbench` find the repository.
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    args = parse_args(argv)
    if args.side is not None:
        from specbench.runner import event_loop

        result = run_vllm(args) if args.side == "vllm" else event_loop.run(run_specbench(args))
        args.result.write_text(json.dumps(asdict(result)), encoding="utf-8")
        return 0
    if args.model is None:
        build_config(args)  # build the tiny model once, before two processes race to
    results = []
    for round_index in range(args.rounds):
        order = SIDES if round_index % 2 == 0 else SIDES[::-1]
        results.extend(run_side_in_subprocess(side, argv, args.verbose) for side in order)
    report(args, results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

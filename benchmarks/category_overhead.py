"""Does the category path cost anything per request? The same workload with and without prompt categories.

Two workloads that differ only in their requests' category labels (Spec-Bench's 13 categories, round robin)
run in turns on one started engine, through the real dispatcher, with the per-request records written to
JSONL as in a real run; then the per-category figures are computed from the records, as `build_result`
does. Printed per round: output throughput and process CPU per request on each side; then the median ratio
of throughputs (target: categories cost at most 1 %, ratio ≥ 0.99), the extra CPU per request, and the time
the per-category figures take per request.

    python3 benchmarks/category_overhead.py                              # echo engine: the harness alone
    python3 benchmarks/category_overhead.py --engine vllm --model /models/qwen3-8b --dummy-weights \\
        --num-prompts 2000 --input-len 512 --output-len 256 --method speculative --spec-method ngram
    python3 benchmarks/category_overhead.py --engine vllm --model /root/models/qwen3-8b --dummy-weights \
        --method speculative --spec-method draft_model --draft-model /root/models/qwen3-0.6b \
        --synthetic-acceptance 2.5 --num-prompts 500 --input-len 256 --output-len 128 --rounds 3

With dummy weights every acceptance figure is meaningless; this measures speed only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

# Runnable from a plain checkout (python3 benchmarks/category_overhead.py) as well as when installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from specbench.config import RunConfig
from specbench.engines.base import Engine
from specbench.engines.registry import create_engine
from specbench.metrics.categories import category_figures
from specbench.runner.dispatcher import RunOutcome, run_workload
from specbench.runner.record_writer import JsonlRecordWriter
from specbench.workload.types import PlannedRequest, Workload

# Spec-Bench's categories (data/spec_bench/question.jsonl): its six tasks plus MT-bench's eight.
CATEGORIES = [
    "writing",
    "roleplay",
    "reasoning",
    "math",
    "coding",
    "extraction",
    "stem",
    "humanities",
    "translation",
    "summarization",
    "qa",
    "math_reasoning",
    "rag",
]
TARGET_RATIO = 0.99


@dataclass(frozen=True, slots=True)
class Side:
    throughput: float  # output tokens / s over the measured window
    cpu_us_per_request: float
    figures_us_per_request: float  # category_figures() over the records (0 without categories)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("echo", "vllm", "transformers"), default="echo")
    parser.add_argument("--model", type=Path, help="model directory (default: the built-in tiny model)")
    parser.add_argument("--dummy-weights", action="store_true")
    parser.add_argument("--method", default="target-ar")
    parser.add_argument("--spec-method", default="ngram")
    parser.add_argument("--draft-model", type=Path, help="with --spec-method draft_model")
    parser.add_argument("--num-speculative-tokens", type=int, default=3)
    parser.add_argument("--synthetic-acceptance", type=float, help="vLLM, GPU only: mean acceptance length")
    parser.add_argument("--num-prompts", type=int, help="default: 20000 (echo), 500 (a model)")
    parser.add_argument("--input-len", type=int, default=64)
    parser.add_argument("--output-len", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5, help="pairs of runs, the order alternating")
    parser.add_argument("--kv-cache-space", type=float, help="vLLM CPU backend: KV cache GiB")
    parser.add_argument("--enforce-eager", action="store_true")
    parser.add_argument("--max-model-len", type=int)
    parser.add_argument("--max-num-seqs", type=int)
    parser.add_argument("--max-num-batched-tokens", type=int)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> RunConfig:
    settings: dict = {"engine": args.engine, "method": args.method, "dummy_weights": args.dummy_weights}
    settings["speculative"] = {
        "spec_method": args.spec_method,
        "num_speculative_tokens": args.num_speculative_tokens,
        "synthetic_acceptance_length": args.synthetic_acceptance,
    }
    if args.model is not None:
        settings["model"] = args.model
    if args.draft_model is not None:
        settings["draft_model"] = args.draft_model
    elif args.engine != "echo":
        from specbench.tiny_model import ensure_tiny_models

        models = ensure_tiny_models()
        settings.update(model=models.target, draft_model=models.draft)
    if args.engine == "vllm":
        settings["vllm"] = {
            "enforce_eager": args.enforce_eager,
            "kv_cache_space_gb": args.kv_cache_space,
            "max_model_len": args.max_model_len,
            "max_num_seqs": args.max_num_seqs,
            "max_num_batched_tokens": args.max_num_batched_tokens,
        }
    return RunConfig.model_validate(settings)


def workloads(args: argparse.Namespace, vocab: int) -> tuple[Workload, Workload]:
    """The same prompts twice: without categories, then with them."""
    count = args.num_prompts or (20000 if args.engine == "echo" else 500)
    rng = np.random.default_rng(0)
    prompts = rng.integers(10, vocab - 10, size=(count, args.input_len)).tolist()
    plain = [PlannedRequest(i, 0.0, ids, max_tokens=args.output_len) for i, ids in enumerate(prompts)]
    labelled = [replace(r, category=CATEGORIES[r.request_id % len(CATEGORIES)]) for r in plain]
    return (
        Workload(warmup=plain[:8], requests=plain, send_window_s=None),
        Workload(warmup=plain[:8], requests=labelled, send_window_s=None),
    )


async def measure(engine: Engine, workload: Workload, directory: Path) -> Side:
    with JsonlRecordWriter(directory / "records.jsonl") as writer:
        cpu = time.process_time()
        outcome: RunOutcome = await run_workload(engine, workload, sink=writer)
        cpu = time.process_time() - cpu
    requests = len(outcome.records)
    started = time.perf_counter()
    figures = category_figures(outcome.records, duration_s=outcome.duration_s)
    figures_s = time.perf_counter() - started if figures else 0.0
    tokens = sum(r.output_tokens for r in outcome.records if r.success)
    return Side(
        throughput=tokens / outcome.duration_s,
        cpu_us_per_request=cpu / requests * 1e6,
        figures_us_per_request=figures_s / requests * 1e6,
    )


async def main_async(args: argparse.Namespace) -> int:
    config = build_config(args)
    engine = create_engine(config)
    await engine.start()
    try:
        vocab = 32000 if args.engine == "echo" else _vocab_size(config)
        plain, labelled = workloads(args, vocab)
        print(
            f"{config.engine.value} · {config.method.value} · {len(plain.requests)} requests × "
            f"{args.input_len} in / {args.output_len} out, all at once"
        )
        ratios, extra_cpu, figures_us = [], [], []
        with tempfile.TemporaryDirectory() as tmp:
            for round_no in range(args.rounds):
                order = [("without", plain), ("with", labelled)]
                if round_no % 2:
                    order.reverse()
                sides = {}
                for name, workload in order:
                    sides[name] = await measure(engine, workload, Path(tmp))
                    await engine.wait_idle()
                without, with_ = sides["without"], sides["with"]
                ratios.append(with_.throughput / without.throughput)
                extra_cpu.append(with_.cpu_us_per_request - without.cpu_us_per_request)
                figures_us.append(with_.figures_us_per_request)
                print(
                    f"round {round_no + 1}: without {without.throughput:,.0f} tok/s "
                    f"({without.cpu_us_per_request:.1f} µs CPU/req) · with {with_.throughput:,.0f} tok/s "
                    f"({with_.cpu_us_per_request:.1f} µs CPU/req) · ratio {ratios[-1]:.4f}"
                )
    finally:
        await engine.shutdown()
    ratio = statistics.median(ratios)
    print(f"median throughput ratio, with ÷ without categories: {ratio:.4f} (target ≥ {TARGET_RATIO})")
    print(f"median extra process CPU per request during the run: {statistics.median(extra_cpu):+.2f} µs")
    print(f"per-category figures after the run: {statistics.median(figures_us):.2f} µs per request")
    return 0 if ratio >= TARGET_RATIO else 1


def _vocab_size(config: RunConfig) -> int:
    from specbench.model_dir import read_model_config, setting

    assert config.model is not None
    size = setting(read_model_config(Path(config.model)), "vocab_size")
    return int(size) if isinstance(size, int) else 32000


def main(argv: list[str]) -> int:
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

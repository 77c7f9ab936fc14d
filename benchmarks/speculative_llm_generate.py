"""vLLM's own front ends at batch 1, AR or speculative: the reference that specbench's concurrency-1 output
throughput is checked against (same engine settings, same lengths).

`--api llm` times `LLM.generate`, one prompt per call; `--api asyncllm` times `AsyncLLM.generate`, one request
at a time, final output only (specbench streams through the same AsyncLLM). One configuration per process,
so each engine's GPU memory is gone before the next starts:

    python3 benchmarks/speculative_llm_generate.py --model /root/models/qwen3-8b \
        [--draft-model /root/models/qwen3-0.6b --k 3 --synthetic-acceptance 2.5] [--api asyncllm]

Prints one JSON line: output tokens/s over the timed requests (sent one after the other), the engine's own
per-request timings (scheduled → first token, first → last token per token, from vLLM's request stats) and
the spec-decode counters where speculating.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--api", choices=("llm", "asyncllm"), default="llm")
    parser.add_argument("--draft-model")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--synthetic-acceptance", type=float)
    parser.add_argument("--num-prompts", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--input-len", type=int, default=256)
    parser.add_argument("--output-len", type=int, default=128)
    parser.add_argument("--max-num-seqs", type=int, default=128)
    parser.add_argument("--max-num-batched-tokens", type=int, default=8192)
    parser.add_argument("--max-model-len", type=int, default=2048)
    parser.add_argument("--cpu", action="store_true", help="vLLM's CPU build: eager, real weights")
    args = parser.parse_args()

    speculative = None
    if args.draft_model:
        speculative = {"method": "draft_model", "model": args.draft_model, "num_speculative_tokens": args.k}
        if args.synthetic_acceptance is not None:
            speculative |= {
                "rejection_sample_method": "synthetic",
                "synthetic_acceptance_length": args.synthetic_acceptance,
            }
    engine_kwargs: dict[str, Any] = {
        "model": args.model,
        "load_format": "auto" if args.cpu else "dummy",
        "skip_tokenizer_init": True,
        "dtype": "bfloat16",
        "seed": 0,
        "max_num_seqs": args.max_num_seqs,
        "max_num_batched_tokens": args.max_num_batched_tokens,
        "max_model_len": args.max_model_len,
        "speculative_config": speculative,
        "disable_log_stats": False,
        "enforce_eager": args.cpu,
    }
    rng = random.Random(0)

    top = 300 if args.cpu else 30000  # the tiny model's vocabulary, or well inside Qwen3's

    def prompt() -> dict:
        return {"prompt_token_ids": [rng.randrange(100, top) for _ in range(args.input_len)]}

    prompts = [prompt() for _ in range(args.warmup + args.num_prompts)]
    run = _run_llm if args.api == "llm" else _run_asyncllm
    outputs, elapsed, counters = run(engine_kwargs, prompts, args)
    tokens = sum(len(out.outputs[0].token_ids) for out in outputs)
    per_token_ms = [_decode_ms_per_token(out) for out in outputs]
    print(
        json.dumps(
            {
                "what": f"{'LLM.generate' if args.api == 'llm' else 'AsyncLLM.generate'} batch 1",
                "speculative": speculative,
                "requests": args.num_prompts,
                "output_tokens": tokens,
                "seconds": elapsed,
                "output_throughput": tokens / elapsed,
                "engine_ms_per_output_token": statistics.median(per_token_ms) if per_token_ms else None,
                "engine_ms_to_first_token": statistics.median(_first_token_ms(out) for out in outputs),
                "spec_counters": counters,
            }
        ),
        flush=True,
    )


def _sampling_params(args: argparse.Namespace, final_only: bool) -> Any:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    kind = RequestOutputKind.FINAL_ONLY if final_only else RequestOutputKind.CUMULATIVE
    return SamplingParams(
        max_tokens=args.output_len, ignore_eos=True, temperature=0.0, detokenize=False, output_kind=kind
    )


Timed = tuple[list, float, dict]  # the timed outputs, their seconds, the spec-decode counters they added


def _run_llm(engine_kwargs: dict, prompts: list[dict], args: argparse.Namespace) -> Timed:
    from vllm import LLM

    llm = LLM(**engine_kwargs)
    params = _sampling_params(args, final_only=False)
    for warm in prompts[: args.warmup]:
        llm.generate([warm], params, use_tqdm=False)
    before = _spec_counters(llm.get_metrics())
    outputs = []
    start = time.perf_counter()
    for timed in prompts[args.warmup :]:
        outputs += llm.generate([timed], params, use_tqdm=False)
    elapsed = time.perf_counter() - start
    return outputs, elapsed, _difference(_spec_counters(llm.get_metrics()), before)


def _run_asyncllm(engine_kwargs: dict, prompts: list[dict], args: argparse.Namespace) -> Timed:
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.usage.usage_lib import UsageContext
    from vllm.v1.engine.async_llm import AsyncLLM
    from vllm.v1.metrics.reader import get_metrics_snapshot

    async def go() -> Timed:
        engine = AsyncLLM.from_engine_args(
            AsyncEngineArgs(**engine_kwargs), usage_context=UsageContext.OPENAI_API_SERVER
        )
        params = _sampling_params(args, final_only=True)

        async def one(number: int, request: dict) -> Any:
            final = None
            async for out in engine.generate(request, params, request_id=f"r{number}"):
                final = out
            return final

        try:
            for number, warm in enumerate(prompts[: args.warmup]):
                await one(number, warm)
            before = _spec_counters(get_metrics_snapshot())
            outputs = []
            start = time.perf_counter()
            for number, timed in enumerate(prompts[args.warmup :], args.warmup):
                outputs.append(await one(number, timed))
            elapsed = time.perf_counter() - start
            return outputs, elapsed, _difference(_spec_counters(get_metrics_snapshot()), before)
        finally:
            engine.shutdown()

    return asyncio.run(go())


def _decode_ms_per_token(out: Any) -> float:
    stats = out.metrics
    return 1000 * (stats.last_token_ts - stats.first_token_ts) / max(1, len(out.outputs[0].token_ids) - 1)


def _first_token_ms(out: Any) -> float:
    return 1000 * (out.metrics.first_token_ts - out.metrics.scheduled_ts)


def _spec_counters(metrics: list) -> dict[str, float]:
    """vLLM's spec-decode counters (needs disable_log_stats=False)."""
    counters: dict[str, float] = {}
    for metric in metrics:
        if metric.name.startswith("vllm:spec_decode") and hasattr(metric, "value"):
            counters[metric.name] = counters.get(metric.name, 0) + metric.value
    return counters


def _difference(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0) for name in after}


if __name__ == "__main__":
    main()

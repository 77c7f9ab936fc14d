"""vLLM's own `LLM.generate` at batch 1, AR or speculative with synthetic acceptance: the reference that
specbench's concurrency-1 output throughput is checked against (same engine settings, same lengths).

One configuration per process, so each engine's GPU memory is gone before the next starts:

    python3 benchmarks/speculative_llm_generate.py --model /root/models/qwen3-8b \
        [--draft-model /root/models/qwen3-0.6b --k 3 --synthetic-acceptance 2.5] --num-prompts 8

Prints one JSON line: output tokens/s over the timed requests (sent one after the other), and the
spec-decode counters where speculating.
"""

from __future__ import annotations

import argparse
import json
import random
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
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
    args = parser.parse_args()

    from vllm import LLM, SamplingParams

    speculative = None
    if args.draft_model:
        speculative = {"method": "draft_model", "model": args.draft_model, "num_speculative_tokens": args.k}
        if args.synthetic_acceptance is not None:
            speculative |= {
                "rejection_sample_method": "synthetic",
                "synthetic_acceptance_length": args.synthetic_acceptance,
            }
    llm = LLM(
        model=args.model,
        load_format="dummy",
        skip_tokenizer_init=True,
        dtype="bfloat16",
        seed=0,
        max_num_seqs=args.max_num_seqs,
        max_num_batched_tokens=args.max_num_batched_tokens,
        max_model_len=args.max_model_len,
        speculative_config=speculative,
        disable_log_stats=False,
    )
    params = SamplingParams(max_tokens=args.output_len, ignore_eos=True, temperature=0.0, detokenize=False)
    rng = random.Random(0)

    def prompt() -> dict:
        return {"prompt_token_ids": [rng.randrange(1000, 30000) for _ in range(args.input_len)]}

    for _ in range(args.warmup):
        llm.generate([prompt()], params, use_tqdm=False)
    before = _spec_counters(llm)
    tokens = 0
    start = time.perf_counter()
    for _ in range(args.num_prompts):
        (out,) = llm.generate([prompt()], params, use_tqdm=False)
        tokens += len(out.outputs[0].token_ids)
    elapsed = time.perf_counter() - start
    after = _spec_counters(llm)
    counters = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    print(
        json.dumps(
            {
                "what": "LLM.generate batch 1",
                "speculative": speculative,
                "requests": args.num_prompts,
                "output_tokens": tokens,
                "seconds": elapsed,
                "output_throughput": tokens / elapsed,
                "spec_counters": counters,
            }
        ),
        flush=True,
    )


def _spec_counters(llm: object) -> dict[str, float]:
    """vLLM's spec-decode counters (needs disable_log_stats=False)."""
    counters: dict[str, float] = {}
    for metric in llm.get_metrics():  # type: ignore[attr-defined]
        if metric.name.startswith("vllm:spec_decode") and hasattr(metric, "value"):
            counters[metric.name] = counters.get(metric.name, 0) + metric.value
    return counters


if __name__ == "__main__":
    main()

"""What specbench's TransformersEngine costs over a bare `model.generate` loop.

All sides serve the same prompts one at a time (batch 1, fixed input/output lengths, greedy, EOS
ignored) with the same decoding settings, each warmed up first the way it runs:
- `generate`: `model.generate(...)` as a user writes it (Transformers' own `no_grad`);
- `generate+im`: the same call under `torch.inference_mode()`, which is how the engine calls it, so
  engine / generate+im is what the harness costs (target >= 0.97);
- `thread+im`: `generate+im` on a worker thread while the event loop waits, as the engine runs it but
  without the engine (tells the cost of the thread apart from the cost of the engine's streaming);
- `engine`: specbench's TransformersEngine, requests through its event stream.
The bare sides share one copy of the model, the engine has its own. Rounds rotate the order so drift
in clocks or machine load hits every side alike; ratios are medians of per-round ratios. `--sides`
picks a subset (generate+im and engine always run): fewer sides, more rounds in the same time.

    python3 benchmarks/transformers_overhead.py --cpu-threads 1       # built-in tiny model, busy CPU
    python3 benchmarks/transformers_overhead.py --model /root/models/qwen3-8b --dummy-weights \\
        --input-len 512 --output-len 128 --num-requests 1 --rounds 14 [--sides generate+im,engine] \\
        [--compile] [--method speculative ...]

Exit status 1 when the ratio is below the target.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Runnable from a plain checkout (python3 benchmarks/transformers_overhead.py) as well as when installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from transformers import AutoConfig, AutoModelForCausalLM, CompileConfig, PreTrainedModel

from specbench.config import RunConfig
from specbench.engines.base import Completion, EngineRequest
from specbench.engines.transformers import TransformersEngine
from specbench.runner import event_loop
from specbench.tiny_model import ensure_tiny_models

TARGET_RATIO = 0.97
SIDES = ("generate", "generate+im", "thread+im", "engine")


@dataclass(frozen=True, slots=True)
class Settings:
    model: Path
    draft_model: Path | None
    dummy_weights: bool
    method: str
    compile: bool
    k: int
    device: torch.device
    dtype: torch.dtype
    input_len: int
    output_len: int


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="model directory (default: the built-in tiny target)")
    parser.add_argument("--draft-model", type=Path, help="draft directory (default: the tiny draft)")
    parser.add_argument("--dummy-weights", action="store_true", help="random weights from config.json")
    parser.add_argument("--input-len", type=int, default=128)
    parser.add_argument("--output-len", type=int, default=128)
    parser.add_argument("--num-requests", type=int, default=5, help="measured requests per side per round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds; each runs every side once")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up requests per side")
    parser.add_argument(
        "--sides",
        default=",".join(SIDES),
        help="comma-separated subset of the sides; generate+im and engine are always run (the target)",
    )
    parser.add_argument("--compile", action="store_true", help="static KV cache + torch.compile")
    parser.add_argument(
        "--method", default="target-ar", choices=["target-ar", "draft-ar", "speculative", "prompt-lookup"]
    )
    parser.add_argument("--num-speculative-tokens", type=int, default=5)
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cpu-threads", type=int, help="torch intra-op threads (default: torch's); 1 steadies a busy CPU"
    )
    args = parser.parse_args(argv)
    chosen = {side.strip() for side in args.sides.split(",") if side.strip()}
    if not chosen <= set(SIDES):
        parser.error(f"--sides takes a comma-separated list of {', '.join(SIDES)}")
    args.sides = [side for side in SIDES if side in chosen | {"generate+im", "engine"}]
    return args


def resolve(args: argparse.Namespace) -> Settings:
    model, draft = args.model, args.draft_model
    if model is None or (draft is None and args.method in ("draft-ar", "speculative")):
        tiny = ensure_tiny_models()
        model, draft = model or tiny.target, draft or tiny.draft
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    dtype_name = args.dtype if args.dtype != "auto" else ("bfloat16" if device.type == "cuda" else "float32")
    return Settings(
        model=model,
        draft_model=draft,
        dummy_weights=args.dummy_weights,
        method=args.method,
        compile=args.compile,
        k=args.num_speculative_tokens,
        device=device,
        dtype=getattr(torch, dtype_name),
        input_len=args.input_len,
        output_len=args.output_len,
    )


def make_prompts(count: int, length: int, vocab: int, seed: int) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    # Avoid the first ids (special tokens in most vocabularies).
    return torch.randint(10, vocab, (count, length), generator=generator).tolist()


# -- the bare side: plain Transformers, written out as a user would ----------------------------------


def load_bare(path: Path, settings: Settings) -> PreTrainedModel:
    if settings.dummy_weights:
        with settings.device:
            model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path), dtype=settings.dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=settings.dtype, device_map=str(settings.device)
        )
    return model.eval()


def bare_generate_kwargs(settings: Settings, pad_id: int) -> dict[str, Any]:
    # No EOS token, as the engine does: every call makes exactly its max_new_tokens.
    kwargs: dict[str, Any] = {"do_sample": False, "pad_token_id": pad_id, "eos_token_id": None}
    if settings.method == "speculative":
        assert settings.draft_model is not None
        assistant = load_bare(settings.draft_model, settings)
        assistant.generation_config.num_assistant_tokens = settings.k
        assistant.generation_config.num_assistant_tokens_schedule = "constant"
        assistant.generation_config.assistant_confidence_threshold = 0.0
        kwargs["assistant_model"] = assistant
    elif settings.method == "prompt-lookup":
        kwargs["prompt_lookup_num_tokens"] = settings.k
        kwargs["max_matching_ngram_size"] = 4
    if settings.compile:
        kwargs["cache_implementation"] = "static"  # generate() then compiles its decode step on CUDA
        if settings.device.type != "cuda":
            compile_config = CompileConfig()
            compile_config._compile_all_devices = True  # ... and, told so, on CPU too
            kwargs["compile_config"] = compile_config
    return kwargs


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_bare(
    model: PreTrainedModel,
    kwargs: dict[str, Any],
    prompts: list[list[int]],
    n: int,
    *,
    inference_mode: bool = False,
) -> float:
    """Output tok/s of back-to-back generate() calls."""
    synchronize(model.device)
    started = time.perf_counter()
    with torch.inference_mode(inference_mode):
        for prompt in prompts:
            ids = torch.tensor([prompt], device=model.device)
            mask = torch.ones_like(ids)
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, **kwargs)
            assert out.shape[1] - ids.shape[1] == n
    synchronize(model.device)
    return len(prompts) * n / (time.perf_counter() - started)


def side_runners(
    engine: TransformersEngine, bare: PreTrainedModel, kwargs: dict[str, Any], n: int
) -> dict[str, Callable[[list[list[int]], int], Awaitable[float]]]:
    """Each side as `await run(prompts, first_request_id)` -> tok/s; the bare sides block the loop."""

    async def generate(prompts: list[list[int]], _: int) -> float:
        return run_bare(bare, kwargs, prompts, n)

    async def generate_im(prompts: list[list[int]], _: int) -> float:
        return run_bare(bare, kwargs, prompts, n, inference_mode=True)

    async def thread_im(prompts: list[list[int]], _: int) -> float:
        return await asyncio.to_thread(run_bare, bare, kwargs, prompts, n, inference_mode=True)

    async def engine_side(prompts: list[list[int]], first_id: int) -> float:
        return await run_engine(engine, prompts, n, first_id)

    return {"generate": generate, "generate+im": generate_im, "thread+im": thread_im, "engine": engine_side}


# -- the specbench side ------------------------------------------------------------------------------


async def run_engine(engine: TransformersEngine, prompts: list[list[int]], n: int, first_id: int) -> float:
    """Output tok/s of requests sent one after another through generate()'s event stream."""
    started = time.perf_counter()
    for offset, prompt in enumerate(prompts):
        completion = None
        async for event in engine.generate(EngineRequest(first_id + offset, prompt, n)):
            if isinstance(event, Completion):
                completion = event
        assert completion is not None and completion.output_tokens == n
    return len(prompts) * n / (time.perf_counter() - started)


def engine_config(settings: Settings, seed: int) -> RunConfig:
    return RunConfig(
        model=settings.model,
        draft_model=settings.draft_model if settings.method in ("draft-ar", "speculative") else None,
        method=settings.method,
        dummy_weights=settings.dummy_weights,
        device=settings.device.type,
        dtype=str(settings.dtype).removeprefix("torch."),
        seed=seed,
        speculative={"num_speculative_tokens": settings.k},
        transformers={"compile": settings.compile},
    )


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cpu_threads:
        torch.set_num_threads(args.cpu_threads)
    settings = resolve(args)
    engine = TransformersEngine(engine_config(settings, args.seed))
    await engine.start()
    try:
        served_path = settings.draft_model if settings.method == "draft-ar" else settings.model
        assert served_path is not None
        bare = load_bare(served_path, settings)
        pad_id = bare.generation_config.pad_token_id or bare.generation_config.eos_token_id or 0
        pad_id = pad_id[0] if isinstance(pad_id, list) else pad_id
        kwargs = bare_generate_kwargs(settings, int(pad_id))
        vocab = bare.get_input_embeddings().num_embeddings
        total = args.warmup + args.rounds * args.num_requests
        prompts = make_prompts(total, settings.input_len, vocab, args.seed)
        warm, measured = prompts[: args.warmup], prompts[args.warmup :]
        n = settings.output_len

        # Every side warms up the way it runs, the thread side on its worker thread: on the GPU the
        # first generate() on a new thread ran far slower, a one-off that is no harness cost.
        runners = side_runners(engine, bare, kwargs, n)
        warm_s: dict[str, float] = {}
        for side in args.sides:
            started = time.perf_counter()
            await runners[side](warm, -len(warm))
            warm_s[side] = time.perf_counter() - started
        await engine.reset_figures()

        rates: dict[str, list[float]] = {side: [] for side in args.sides}
        for round_index in range(args.rounds):
            chunk = measured[round_index * args.num_requests : (round_index + 1) * args.num_requests]
            shift = round_index % len(args.sides)
            for side in args.sides[shift:] + args.sides[:shift]:
                rates[side].append(await runners[side](chunk, round_index * len(chunk)))
            print(
                f"round {round_index + 1:>2}: "
                + "   ".join(f"{side} {rates[side][-1]:8.2f}" for side in args.sides)
                + " tok/s"
            )
        stats = await engine.figures()
        info = engine.describe()
    finally:
        await engine.shutdown()

    print()
    print(
        f"device {settings.device}, dtype {str(settings.dtype).removeprefix('torch.')}, model {served_path}"
    )
    print(
        f"method {settings.method}, compile {settings.compile}, input {settings.input_len}, output {n}, "
        f"{args.num_requests} requests x {args.rounds} rounds per side, batch 1"
    )
    print(f"warm-up ({args.warmup} requests each): " + ", ".join(f"{k} {v:.1f} s" for k, v in warm_s.items()))
    print(f"engine stats: {stats}")
    print(f"engine settings: {info.settings}")
    print(f"engine notes: {info.notes}")
    for side in args.sides:
        values = rates[side]
        print(
            f"{side:<12} median {statistics.median(values):9.2f} tok/s   "
            f"min {min(values):9.2f}   max {max(values):9.2f}"
        )

    def per_round_ratio(numerator: str, denominator: str) -> float:
        # Each round's sides ran back to back, so their ratio cancels slow drift in machine load.
        pairs = zip(rates[numerator], rates[denominator], strict=True)
        return statistics.median(a / b for a, b in pairs)

    diagnostics = (
        ("generate+im", "generate", "what inference_mode buys"),
        ("thread+im", "generate+im", "what the thread costs"),
        ("engine", "generate", "against the loop a user writes"),
    )
    for numerator, denominator, meaning in diagnostics:
        if numerator in rates and denominator in rates:
            label = f"{numerator} / {denominator}"
            print(f"{label:<23} {per_round_ratio(numerator, denominator):6.3f}   {meaning}")
    ratio = per_round_ratio("engine", "generate+im")
    verdict = "OK" if ratio >= TARGET_RATIO else "MISSED"
    print(
        f"engine / generate+im    {ratio:6.3f}   same generate() call: the harness's cost, "
        f"target >= {TARGET_RATIO} {verdict}"
    )
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(event_loop.run(main()))

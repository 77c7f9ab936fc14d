"""Build the whole workload from the config: prompts, output lengths and arrival times, all seeded."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from specbench.config import RunConfig, WorkloadConfig
from specbench.errors import ConfigError
from specbench.workload.arrivals import arrival_times
from specbench.workload.budget import check_fits
from specbench.workload.chat import question_encoder
from specbench.workload.prompts import Prompt, PromptSource, open_prompt_source, sample_prompts
from specbench.workload.questions import FieldNames
from specbench.workload.tokenizer import PromptTokenizer
from specbench.workload.types import PlannedRequest, Workload


def prompts_may_repeat(workload: WorkloadConfig) -> bool:
    """Whether this workload sends the same prompt beginnings on purpose (shared system prompts, multi-turn
    conversations): then the points of a session share prompts, and prefix-cache hits are part of what is
    measured. No workload does yet; a shared-prefix or conversation workload says so here (docs/SWEEPS.md)."""
    return False


def build_workload(config: RunConfig, tokenizer: PromptTokenizer, *, earlier: int = 0) -> Workload:
    """Warm-up requests (ids -1, -2, …, due at 0) and measured requests (ids 0…n-1) on their schedule.

    Prompts, warm-up prompts and arrivals each draw from their own stream of the run's seed, so
    changing the rate leaves the prompts alone and changing --warmup leaves the measured prompts alone.

    `earlier` is how many prompts the earlier points of the same engine session drew (warm-up included).
    A later point must not re-send them, or the engine's prefix cache serves their prefill (issue 24:
    94 % of a second point's prompt tokens): its synthetic prompts come from streams of their own, and a
    dataset is read on from where the earlier points stopped. Arrivals keep the run's stream, so a point
    at rate R still has the schedule `specbench run --rate R` has. The first point (earlier = 0) is exactly
    a single run's workload.
    """
    workload = config.workload
    check_fits(workload)  # before any of it is allocated: an absurd size is refused, not swapped to death
    prompt_seed, warmup_seed, arrival_seed = np.random.SeedSequence(config.seed).spawn(3)
    fresh = earlier > 0 and not prompts_may_repeat(workload)
    times = arrival_times(
        rate=workload.rate,
        count=workload.num_requests,
        window_s=workload.duration,
        arrival=workload.arrival,
        burstiness=workload.burstiness,
        rng=np.random.default_rng(arrival_seed),
    )
    if times.size == 0:
        raise ConfigError(
            f"no request arrives within --duration {workload.duration:g} s at --rate {workload.rate:g}: "
            "raise one of them"
        )
    fields = FieldNames(prompt=workload.prompt_field, category=workload.category_field)
    source = open_prompt_source(workload.dataset, workload.dataset_format, fields)
    questions = question_encoder(tokenizer, workload.chat_template)

    def prompts(count: int, seed: np.random.SeedSequence, skip: int = 0) -> list[Prompt]:
        return sample_prompts(
            source,
            count,
            input_len=workload.input_len,
            output_len=workload.output_len,
            tokenizer=tokenizer,
            rng=np.random.default_rng(seed),
            skip=skip,
            encode_question=questions.encode,
        )

    skip = 0
    if fresh and source.format == "random":
        prompt_seed, warmup_seed = (
            np.random.SeedSequence(config.seed, spawn_key=(*stream.spawn_key, earlier))
            for stream in (prompt_seed, warmup_seed)
        )
    elif fresh:
        # A dataset is one seeded order for the whole session: a later point reads on past the earlier ones'.
        skip = earlier

    drawn = prompts(times.size, prompt_seed, skip)
    measured = [
        _planned(request_id, float(due), prompt)
        for request_id, (due, prompt) in enumerate(zip(times, drawn, strict=True))
    ]
    warmup = [_planned(-1 - i, 0.0, prompt) for i, prompt in enumerate(prompts(workload.warmup, warmup_seed))]
    summary = {
        **summarize(workload, source, measured, warmup=len(warmup), seed=config.seed),
        **question_summary(source, measured, chat_template=questions.applied),
    }
    summary["shared_prefixes"] = prompts_may_repeat(workload)
    summary["prompts_drawn_before"] = earlier
    return Workload(warmup=warmup, requests=measured, send_window_s=workload.duration, summary=summary)


def question_summary(
    source: PromptSource, requests: list[PlannedRequest], *, chat_template: str
) -> dict[str, Any]:
    """Categories of the measured requests and whether questions went through a chat template; empty for
    datasets without either."""
    summary: dict[str, Any] = {}
    if any(entry.is_question for entry in source.entries):
        summary["chat_template"] = chat_template
    categories = Counter(r.category for r in requests if r.category is not None)
    if categories:
        summary["categories"] = dict(sorted(categories.items()))
    return summary


def summarize(
    workload: WorkloadConfig,
    source: PromptSource,
    requests: list[PlannedRequest],
    *,
    warmup: int,
    seed: int,
) -> dict[str, Any]:
    """Flat description of the planned workload for the result file."""
    input_lens = np.array([len(r.prompt_token_ids) for r in requests])
    output_lens = np.array([r.max_tokens for r in requests])
    rate: float | str = workload.rate if math.isfinite(workload.rate) else "inf"  # JSON has no inf
    return {
        "dataset": source.name,
        "dataset_format": source.format,
        "dataset_entries": len(source.entries) if source.format != "random" else None,
        "dataset_skipped": source.skipped,
        "mode": "rate" if workload.num_requests is None else "count",
        "num_requests": len(requests),
        "num_warmup": warmup,
        "request_rate": rate,
        "arrival": workload.arrival,
        "burstiness": workload.burstiness,
        "max_concurrency": workload.max_concurrency,
        "send_window_s": workload.duration,
        "last_arrival_s": float(requests[-1].scheduled_s),
        "output_len_source": "fixed" if workload.output_len is not None else "dataset",
        **_length_stats("input_len", input_lens),
        **_length_stats("output_len", output_lens),
        "total_input_tokens": int(input_lens.sum()),
        "total_output_tokens": int(output_lens.sum()),
        "seed": seed,
    }


def _planned(request_id: int, scheduled_s: float, prompt: Prompt) -> PlannedRequest:
    return PlannedRequest(
        request_id=request_id,
        scheduled_s=scheduled_s,
        prompt_token_ids=prompt.token_ids,
        max_tokens=prompt.output_len,
        prompt_text=prompt.text,
        category=prompt.category,
    )


def _length_stats(name: str, lengths: np.ndarray) -> dict[str, float | int]:
    return {
        f"{name}_mean": float(lengths.mean()),
        f"{name}_min": int(lengths.min()),
        f"{name}_max": int(lengths.max()),
    }

"""Build the whole workload from the config: prompts, output lengths and arrival times, all seeded."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from specbench.config import RunConfig, WorkloadConfig, parse_trace_window
from specbench.errors import ConfigError
from specbench.workload.arrivals import arrival_times
from specbench.workload.budget import check_fits
from specbench.workload.chat import question_encoder
from specbench.workload.conversations import dataset_sessions, plan_sessions, synthetic_sessions, think_times
from specbench.workload.prefixes import shared_prefix_prompts
from specbench.workload.prompts import (
    Prompt,
    PromptSource,
    open_prompt_source,
    resolve_format,
    sample_prompts,
)
from specbench.workload.questions import FieldNames
from specbench.workload.ramps import ramp_arrivals
from specbench.workload.tokenizer import PromptTokenizer
from specbench.workload.traces import read_trace, select, trace_prompts
from specbench.workload.types import PlannedRequest, Workload


def prompts_may_repeat(workload: WorkloadConfig) -> bool:
    """Whether this workload sends the same prompt beginnings on purpose (shared prefixes, conversations, a
    trace's shared blocks): then the points of a session share prompts, and prefix-cache hits are part of
    what is measured (docs/SWEEPS.md)."""
    return workload.shares_prefixes


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
    if workload.trace is not None:
        return _trace_workload(config, tokenizer)
    check_fits(workload)  # before any of it is allocated: an absurd size is refused, not swapped to death
    prompt_seed, warmup_seed, arrival_seed = np.random.SeedSequence(config.seed).spawn(3)
    fresh = earlier > 0 and not prompts_may_repeat(workload)
    times = _arrivals(workload, np.random.default_rng(arrival_seed))
    if times.size == 0:
        raise ConfigError(
            f"no request arrives within --duration {workload.duration:g} s at --rate {workload.rate:g}: "
            "raise one of them"
        )
    conversations = workload.turns > 1
    fields = FieldNames(prompt=workload.prompt_field, category=workload.category_field)
    # A conversation file (MT-bench questions) is no prompt file: its sessions are read by _sessions.
    source = (
        PromptSource(name=workload.dataset, format="random")
        if conversations
        else open_prompt_source(workload.dataset, workload.dataset_format, fields)
    )
    questions = question_encoder(tokenizer, workload.chat_template)

    def prompts(count: int, seed: np.random.SeedSequence, skip: int = 0) -> list[Prompt]:
        if conversations:  # warm-up: first turns of sessions of its own
            warm, _ = _sessions(config, tokenizer, np.zeros(count), seed)
            return [Prompt(r.prompt_token_ids, r.max_tokens, r.prompt_text) for r in warm]
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

    extra: dict[str, Any] = {}
    if conversations:
        measured, extra = _sessions(config, tokenizer, times, prompt_seed)
    elif workload.prefix_groups is not None:
        if source.format != "random":
            raise ConfigError("--prefix-groups builds synthetic prompts: use it with --dataset random")
        assert workload.output_len is not None  # random prompts need it; sample_prompts checks below
        shared, members = shared_prefix_prompts(
            times.size,
            groups=workload.prefix_groups,
            prefix_len=workload.prefix_len,
            input_len=workload.input_len,
            output_len=workload.output_len,
            tokenizer=tokenizer,
            rng=np.random.default_rng(prompt_seed),
        )
        measured = [
            _planned(i, float(due), prompt) for i, (due, prompt) in enumerate(zip(times, shared, strict=True))
        ]
        extra = {
            "prefix_groups": workload.prefix_groups,
            "prefix_len": workload.prefix_len,
            "prefix_groups_used": len(set(members)),
        }
    else:
        drawn = prompts(times.size, prompt_seed, skip)
        measured = [
            _planned(request_id, float(due), prompt)
            for request_id, (due, prompt) in enumerate(zip(times, drawn, strict=True))
        ]
    # Warm-up prompts are their own, never a measured group's prefix or session: a warm cache would hide
    # the first hits the measurement is about.
    warmup = [_planned(-1 - i, 0.0, prompt) for i, prompt in enumerate(prompts(workload.warmup, warmup_seed))]
    summary = {
        **summarize(workload, source, measured, warmup=len(warmup), seed=config.seed),
        **question_summary(source, measured, chat_template=questions.applied),
    }
    summary.update(_ramp_summary(workload), **extra)
    summary["shared_prefixes"] = prompts_may_repeat(workload)
    summary["prompts_drawn_before"] = earlier
    return Workload(
        warmup=warmup,
        requests=measured,
        send_window_s=workload.duration,
        summary=summary,
        shares_prefixes=workload.shares_prefixes,
    )


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


def _arrivals(workload: WorkloadConfig, rng: np.random.Generator) -> np.ndarray:
    if workload.ramp != "none":
        assert workload.ramp_to is not None and workload.duration is not None  # WorkloadConfig checks it
        return ramp_arrivals(
            shape=workload.ramp,
            start=workload.rate,
            end=workload.ramp_to,
            duration_s=workload.duration,
            count=workload.num_prompts or None,
            arrival=workload.arrival,
            burstiness=workload.burstiness,
            rng=rng,
        )
    return arrival_times(
        rate=workload.rate,
        count=workload.num_requests,
        window_s=workload.duration,
        arrival=workload.arrival,
        burstiness=workload.burstiness,
        rng=rng,
    )


def _ramp_summary(workload: WorkloadConfig) -> dict[str, Any]:
    if workload.ramp == "none":
        return {"kind": _kind(workload)}
    return {"kind": "ramp", "ramp": workload.ramp, "ramp_from": workload.rate, "ramp_to": workload.ramp_to}


def _kind(workload: WorkloadConfig) -> str:
    if workload.turns > 1:
        return "conversations"
    if workload.prefix_groups is not None:
        return "shared-prefix"
    return "requests"


def _sessions(
    config: RunConfig, tokenizer: PromptTokenizer, times: np.ndarray, seed: np.random.SeedSequence
) -> tuple[list[PlannedRequest], dict[str, Any]]:
    """Conversations: one session per arrival, synthetic or from the dataset's conversations."""
    workload = config.workload
    session_seed, think_seed = seed.spawn(2)
    rng = np.random.default_rng(session_seed)
    if workload.dataset == "random" and workload.dataset_format in ("auto", "random"):
        sessions = synthetic_sessions(
            times.size,
            turns=workload.turns,
            input_len=workload.input_len,
            turn_input_len=workload.turn_input_len,
            output_len=workload.output_len,
            tokenizer=tokenizer,
            rng=rng,
        )
        held = None
    else:
        sessions, held = dataset_sessions(
            workload.dataset,
            workload.dataset_format,
            times.size,
            turns=workload.turns,
            output_len=workload.output_len,
            tokenizer=tokenizer,
            rng=rng,
        )
    later = sum(len(session) - 1 for session in sessions)
    think = think_times(
        later,
        mean_s=workload.think_time_s,
        kind=workload.think_distribution,
        rng=np.random.default_rng(think_seed),
    )
    planned = plan_sessions(times, sessions, think)
    turns = [len(session) for session in sessions]
    return planned, {
        "num_sessions": len(sessions),
        "num_turns": sum(turns),
        "turns_per_session": workload.turns,
        "turns_per_session_mean": float(np.mean(turns)) if turns else None,
        "turn_input_len": workload.turn_input_len or workload.input_len,
        "think_time_s": workload.think_time_s,
        "think_distribution": workload.think_distribution,
        "dataset_format": "random"
        if held is None
        else resolve_format(workload.dataset, workload.dataset_format),
        "dataset_entries": held,
        "history": "each turn carries the earlier turns and the answers the engine gave",
    }


def _trace_workload(config: RunConfig, tokenizer: PromptTokenizer) -> Workload:
    """Requests at the trace's timestamps (sliced, sped up) with its lengths; Mooncake blocks shared."""
    workload = config.workload
    assert workload.trace is not None
    prompt_seed, warmup_seed = np.random.SeedSequence(config.seed).spawn(2)
    trace = read_trace(workload.trace, workload.trace_format)
    window = parse_trace_window(workload.trace_window) if workload.trace_window else (None, None)
    entries, speed = select(
        trace,
        window=window,
        speed=workload.trace_speed,
        rate=workload.rate,
        count=workload.num_prompts or None,
    )
    prompts = trace_prompts(entries, tokenizer=tokenizer, rng=np.random.default_rng(prompt_seed))
    measured = [
        _planned(i, entry.time_s, prompt)
        for i, (entry, prompt) in enumerate(zip(entries, prompts, strict=True))
    ]
    warm_entries = [replace(entry, hash_ids=()) for entry in entries[: workload.warmup]]
    warm_prompts = trace_prompts(warm_entries, tokenizer=tokenizer, rng=np.random.default_rng(warmup_seed))
    warmup = [_planned(-1 - i, 0.0, prompt) for i, prompt in enumerate(warm_prompts)]
    if workload.duration is not None:
        measured = [r for r in measured if r.scheduled_s < workload.duration]
    source = PromptSource(name="trace", format="random")
    summary = summarize(workload, source, measured, warmup=len(warmup), seed=config.seed)
    span = measured[-1].scheduled_s - measured[0].scheduled_s
    blocks = {h for entry in entries[: len(measured)] for h in entry.hash_ids}
    summary.update(
        kind="trace",
        dataset=workload.trace,
        dataset_format=f"trace ({trace.format})",
        dataset_entries=len(trace.entries),
        mode="trace",
        request_rate=(len(measured) - 1) / span if len(measured) > 1 and span > 0 else "inf",
        arrival="trace",
        output_len_source="trace",
        trace=workload.trace,
        trace_format=trace.format,
        trace_speed=speed,
        trace_window=workload.trace_window,
        trace_shared_blocks=len(blocks) if blocks else None,
        shares_prefixes=trace.shares_blocks,
        shared_prefixes=True,  # any trace may repeat blocks: a later point re-reads the same file
    )
    return Workload(
        warmup=warmup,
        requests=measured,
        send_window_s=workload.duration,
        summary=summary,
        shares_prefixes=trace.shares_blocks,
    )


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
        "shares_prefixes": workload.shares_prefixes,
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

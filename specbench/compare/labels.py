"""Column names: what tells one run from the others at a glance, unique within a comparison."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from specbench.compare.facts import TOOL_NAMES, facts_of, model_name
from specbench.results.model import BenchmarkResult
from specbench.results.readers import LoadedRun


def run_label(run: LoadedRun) -> str:
    """'vllm · speculative', plus what else set the run apart ('rate 4'); for other tools' files the tool
    and the model ('guidellm · qwen3-8b · constant 4 req/s')."""
    result = run.result
    if result is None:
        return run.label or run.path.name
    head = group_label(result).split(" · ")
    extra = [part for part in (run.label or result.run.label or "").split(" · ") if part and part not in head]
    return " · ".join([*head, *extra])


def group_label(result: BenchmarkResult) -> str:
    """What runs of one setup share, whatever their load: 'vllm · speculative', 'guidellm · qwen3-8b'."""
    if result.source_format == "specbench":
        return f"{result.engine.name} · {result.engine.method}"
    return f"{TOOL_NAMES.get(result.source_format, result.source_format)} · {model_name(result.engine.model)}"


def unique_labels(runs: Sequence[LoadedRun]) -> list[str]:
    """run_label of each run; where several coincide, what differs between them (rate, concurrency, K, model,
    date) tells them apart, never a file name; a number only where nothing differs."""
    labels = [run_label(run) for run in runs]
    for label, count in Counter(labels).items():
        if count < 2:
            continue
        same = [i for i, other in enumerate(labels) if other == label]
        for i, extra in zip(same, _differences([runs[i] for i in same]), strict=True):
            labels[i] = " · ".join([label, *extra])
    counts = Counter(labels)
    seen: Counter[str] = Counter()
    unique = []
    for label in labels:
        seen[label] += 1
        unique.append(f"{label} #{seen[label]}" if counts[label] > 1 else label)
    return unique


def _differences(runs: Sequence[LoadedRun]) -> list[list[str]]:
    """For runs that share a label: the facts whose values differ among them, in the order people tell runs
    apart, stopping as soon as every run is told apart."""
    facts = [facts_of(run.result) if run.result is not None else None for run in runs]
    aspects: list[Callable[[int], str | None]] = [
        lambda i: f"engine {runs[i].result.engine.name}" if runs[i].result is not None else None,
        lambda i: f"method {facts[i].method}" if facts[i] and facts[i].method else None,
        lambda i: _rate_text(facts[i].rate) if facts[i] and facts[i].rate is not None else None,
        lambda i: (
            f"concurrency {facts[i].max_concurrency}" if facts[i] and facts[i].max_concurrency else None
        ),
        lambda i: _k_text(runs[i].result),
        lambda i: model_name(facts[i].model) if facts[i] else None,
        lambda i: facts[i].date if facts[i] else None,
    ]
    parts: list[list[str]] = [[] for _ in runs]
    for aspect in aspects:
        values = [aspect(i) for i in range(len(runs))]
        if len(set(values)) < 2:
            continue
        for part, value in zip(parts, values, strict=True):
            part.append(value or "—")
        if len({tuple(part) for part in parts}) == len(runs):
            break
    return parts


def _rate_text(rate: float) -> str:
    return "rate inf" if math.isinf(rate) else f"rate {rate:g}"


def _k_text(result: BenchmarkResult | None) -> str | None:
    if result is None or result.engine.method not in ("speculative", "prompt-lookup"):
        return None
    k = (result.config.get("speculative") or {}).get("num_speculative_tokens")
    return f"K {k}" if k is not None else None

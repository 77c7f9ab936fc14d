"""Column names: what tells one run from the others at a glance, unique within a comparison."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from specbench.compare.facts import TOOL_NAMES, model_name
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
    """run_label of each run; where two coincide, the file name and then a number tell them apart."""
    labels = [run_label(run) for run in runs]
    counts = Counter(labels)
    labels = [
        f"{label} ({run.path.name})" if counts[label] > 1 else label
        for label, run in zip(labels, runs, strict=True)
    ]
    counts = Counter(labels)
    seen: Counter[str] = Counter()
    unique = []
    for label in labels:
        seen[label] += 1
        unique.append(f"{label} #{seen[label]}" if counts[label] > 1 else label)
    return unique

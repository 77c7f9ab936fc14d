"""Warnings for every difference between runs that makes their figures unfair to compare side by side."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass

from specbench.compare.facts import RunFacts, describe_load, model_name

# Mean tokens per request within this relative distance count as the same lengths.
LENGTH_TOLERANCE = 0.05


@dataclass(frozen=True, slots=True)
class _Fact:
    what: str  # "models", "hardware", …
    key: Callable[[RunFacts], Hashable | None]  # what must agree; None where the file does not say
    show: Callable[[RunFacts], str]


LOAD = "load"
_FACTS: tuple[_Fact, ...] = (
    _Fact("models", lambda f: model_name(f.model).lower(), lambda f: model_name(f.model)),
    _Fact("datasets", lambda f: f.dataset, lambda f: str(f.dataset)),
    _Fact(
        LOAD,
        lambda f: (f.rate, f.arrival, f.max_concurrency) if f.rate is not None or f.max_concurrency else None,
        lambda f: describe_load(f) or "?",
    ),
    _Fact("hardware", lambda f: f.gpu, lambda f: str(f.gpu)),
    _Fact("weights", lambda f: f.weights, lambda f: f"{f.weights} weights"),
    _Fact("token counts", lambda f: f.token_counts, lambda f: f"{f.token_counts} counts"),
    # A synthetic acceptance is what the user asked for, not what a drafter achieved on real text.
    _Fact(
        "acceptance (synthetic figures are set, not measured)",
        lambda f: f.acceptance,
        lambda f: f"{f.acceptance} acceptance",
    ),
)
_LENGTHS: tuple[tuple[str, Callable[[RunFacts], float | None]], ...] = (
    ("input lengths", lambda f: f.mean_input_tokens),
    ("output lengths", lambda f: f.mean_output_tokens),
)


def unfair_differences(
    labels: Sequence[str], facts: Sequence[RunFacts | None], *, intended: Collection[str] = ()
) -> list[str]:
    """One line per difference in model, dataset, load, hardware, weights or lengths among the runs; a run
    whose file does not say is left out of that check, and so is a fact in `intended` (a sweep's load)."""
    known = [(label, f) for label, f in zip(labels, facts, strict=True) if f is not None]
    warnings = []
    for fact in _FACTS:
        if fact.what in intended:
            continue
        said = [(label, f) for label, f in known if fact.key(f) is not None]
        if len({fact.key(f) for _, f in said}) > 1:
            warnings.append(f"different {fact.what}: {_listing(said, fact.show)}")
    for what, length in _LENGTHS:
        said = [(label, f) for label, f in known if length(f) is not None]
        values = [value for _, f in said if (value := length(f)) is not None]
        if values and max(values) > min(values) * (1 + LENGTH_TOLERANCE):
            warnings.append(f"different {what}: {_listing(said, _tokens_per_request(length))}")
    return warnings


def run_problems(label: str, facts: RunFacts | None, error: str | None, notes: Sequence[str]) -> list[str]:
    """Why one run's figures are not the whole story: no result, interrupted, failed or unsent requests,
    and the warnings recorded with the run."""
    if facts is None:
        return [f"{label}: no result ({error or 'unknown reason'})"]
    problems = []
    if facts.status == "interrupted":
        problems.append(f"{label} was interrupted: its figures cover only the requests that finished")
    if facts.status == "incomplete":
        problems.append(f"{label} is incomplete: some of its files were not written (see its warnings)")
    if facts.failed:
        total = (facts.completed or 0) + facts.failed
        problems.append(f"{label} had {facts.failed} failed requests of {total}")
    if facts.not_sent:
        problems.append(f"{label} left {facts.not_sent} scheduled requests unsent")
    return problems + [f"{label}: {note}" for note in notes]


def _tokens_per_request(length: Callable[[RunFacts], float | None]) -> Callable[[RunFacts], str]:
    return lambda f: f"{length(f):.4g} tokens/request"


def _listing(said: Sequence[tuple[str, RunFacts]], show: Callable[[RunFacts], str]) -> str:
    """'qwen3-8b (a, b) vs llama-3 (c)': the runs grouped by what they show."""
    groups: dict[str, list[str]] = {}
    for label, f in said:
        groups.setdefault(show(f), []).append(label)
    return " vs ".join(f"{shown} ({', '.join(names)})" for shown, names in groups.items())
